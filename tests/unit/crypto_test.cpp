// keysafe_crypto: the bounds every key-derivation parameter read from a file must meet.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "keysafe/crypto/host_seal.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/error.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::crypto {
namespace {

constexpr std::uint64_t k_max = std::numeric_limits<std::uint64_t>::max();

Error error_of_check(const KdfParams& params) {
  try {
    check_kdf_params(params, Errc::Damaged, "the backup \"b.kbk\"", "use another copy");
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no keysafe::Error thrown";
  return Error(Errc::Internal, "<none>");
}

TEST(KdfBounds, DefaultsAndTheLargestChoicesAreWithin) {
  EXPECT_EQ(scrypt_out_of_range(std::uint64_t{1} << 17, 8, 1), "");  // the default
  EXPECT_EQ(scrypt_out_of_range(std::uint64_t{1} << k_max_log2_n, 8, 1), "");  // --kdf-cost 20
  EXPECT_NO_THROW(check_kdf_params(KdfParams{}, Errc::Damaged, "x", "y"));
  EXPECT_NO_THROW(check_kdf_params(KdfParams{k_max_log2_n, 8, 1}, Errc::Damaged, "x", "y"));
  EXPECT_EQ(iterations_out_of_range("PBKDF2", 10'000'000), "");
  EXPECT_EQ(iterations_out_of_range("PBKDF2", 2048), "");
}

TEST(KdfBounds, MemoryBoundIs128RNAtMost1GiB) {
  // 128·8·2^20 = 1 GiB exactly is allowed; twice that is not.
  EXPECT_EQ(scrypt_out_of_range(std::uint64_t{1} << 20, 8, 1), "");
  const std::string problem = scrypt_out_of_range(std::uint64_t{1} << 21, 8, 1);
  EXPECT_NE(problem.find("N = 2097152, r = 8, p = 1"), std::string::npos) << problem;
  EXPECT_NE(problem.find("2 GiB of memory"), std::string::npos) << problem;
  EXPECT_EQ(problem.find("work"), std::string::npos) << problem;
  // The store header of the issue: r = 2^20 with N = 2^10 needs 128 GiB.
  EXPECT_NE(scrypt_out_of_range(1024, 1 << 20, 1).find("128 GiB of memory"), std::string::npos);
}

TEST(KdfBounds, WorkBoundIsNRPAtMost2To26) {
  // N·r·p = 2^10·8·2^13 = 2^26 is allowed; one more p is not (its memory is only 1 MiB).
  EXPECT_EQ(scrypt_out_of_range(1024, 8, 1 << 13), "");
  const std::string problem = scrypt_out_of_range(1024, 8, (1 << 13) + 1);
  EXPECT_NE(problem.find("units of work (N·r·p, at most 67108864)"), std::string::npos) << problem;
  EXPECT_EQ(problem.find("memory"), std::string::npos) << problem;
}

TEST(KdfBounds, HugeValuesSaturateInsteadOfWrapping) {
  // 128·r·N and N·r·p overflow 64 bits here; a wrapped product would look small.
  EXPECT_NE(scrypt_out_of_range(std::uint64_t{1} << 63, 2, 1), "");
  EXPECT_NE(scrypt_out_of_range(2, std::uint64_t{1} << 62, 4), "");
  EXPECT_NE(scrypt_out_of_range(k_max, k_max, k_max).find("more than 16 EiB"), std::string::npos);
  EXPECT_NE(iterations_out_of_range("PBKDF2", k_max).find("more than 2^64"), std::string::npos);
}

TEST(KdfBounds, IterationBoundIsTenMillion) {
  const std::string problem = iterations_out_of_range("PBKDF2", 2'147'483'647);
  EXPECT_EQ(problem, "PBKDF2 with 2147483647 iterations (at most 10000000)");
  EXPECT_NE(iterations_out_of_range("PBKDF2", 10'000'001), "");
}

TEST(KdfBounds, RefusalCarriesTheCallersCodeAndNamesTheParameters) {
  const Error e = error_of_check(KdfParams{0xffffffffu, 0xffffffffu, 0xffffffffu});
  EXPECT_EQ(e.code(), Errc::Damaged);
  EXPECT_EQ(e.summary(), "key derivation parameters out of range in the backup \"b.kbk\"");
  EXPECT_NE(e.cause().find("N = 2^4294967295"), std::string::npos) << e.cause();
  EXPECT_EQ(e.remedy(), "use another copy");
  const Error r = error_of_check(KdfParams{10, 1u << 20, 1});
  EXPECT_NE(r.cause().find("r = 1048576"), std::string::npos) << r.cause();
  EXPECT_NE(r.cause().find("128 GiB of memory"), std::string::npos) << r.cause();
  EXPECT_NE(error_of_check(KdfParams{64, 1, 1}).cause().find("2^64"), std::string::npos);
}

TEST(KdfBounds, DeriveRefusesUncheckedParametersWithoutDeriving) {
  const std::uint64_t before = kdf_derivations();
  try {
    derive_kek(as_span("pass"), as_span("salt-salt-salt-s"), KdfParams{10, 1u << 20, 1});
    ADD_FAILURE() << "derive_kek ran with r = 2^20";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Internal);
    EXPECT_NE(e.summary().find("key derivation parameters out of range"), std::string::npos);
  }
  EXPECT_EQ(kdf_derivations(), before);
  // Within the bounds it derives (N = 2^10 for speed).
  EXPECT_EQ(derive_kek(as_span("pass"), as_span("salt-salt-salt-s"), KdfParams{10, 8, 1}).size(),
            k_key_size);
  EXPECT_EQ(kdf_derivations(), before + 1);
}


// Host seals (fleets): a copy opens with its host's key and associated data only.
TEST(HostSeal, OpensWithTheHostKeyAndTheSameBindingOnly) {
  const auto host = generate_host_key();
  const auto other = generate_host_key();
  const Bytes spki = x509::spki_der(host.get());
  const Bytes secret{1, 2, 3, 4, 5};
  const Bytes aad{'h', 'o', 's', 't', '1'};
  const Bytes sealed = seal_to_host(spki, secret, aad);
  SecureBytes opened;
  ASSERT_TRUE(open_as_host(host.get(), sealed, aad, opened));
  EXPECT_EQ(Bytes(opened.begin(), opened.end()), secret);
  EXPECT_FALSE(open_as_host(other.get(), sealed, aad, opened)) << "another host's key";
  const Bytes moved{'h', 'o', 's', 't', '2'};
  EXPECT_FALSE(open_as_host(host.get(), sealed, moved, opened)) << "bound to other data";
  for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{33}, sealed.size() - 1}) {
    Bytes flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(open_as_host(host.get(), flipped, aad, opened)) << "byte " << i << " flipped";
  }
  EXPECT_FALSE(open_as_host(host.get(), Bytes(sealed.begin(), sealed.begin() + 40), aad, opened));
  EXPECT_FALSE(open_as_host(host.get(), Bytes{}, aad, opened));
  // An ephemeral key of all zeros is a low-order point: refused, never a zero shared secret.
  Bytes low_order = sealed;
  std::fill(low_order.begin() + 1, low_order.begin() + 33, std::uint8_t{0});
  EXPECT_FALSE(open_as_host(host.get(), low_order, aad, opened));
}

TEST(HostSeal, EachSealUsesAFreshEphemeralKey) {
  const auto host = generate_host_key();
  const Bytes spki = x509::spki_der(host.get());
  const Bytes secret{9, 9, 9};
  EXPECT_NE(seal_to_host(spki, secret, {}), seal_to_host(spki, secret, {}));
}

TEST(HostSeal, RefusesAPublicKeyThatIsNotX25519) {
  const auto signing = generate_signing_key();
  EXPECT_THROW(seal_to_host(x509::spki_der(signing.get()), Bytes{1}, {}), Error);
  EXPECT_THROW(seal_to_host(Bytes{0x30, 0x00}, Bytes{1}, {}), Error);
}

TEST(FleetSignature, VerifiesTheSignedMessageOnly) {
  const auto key = generate_signing_key();
  const auto other = generate_signing_key();
  const Bytes message{'a', 's', 's', 'i', 'g', 'n'};
  const Bytes signature = sign_ed25519(key.get(), message);
  EXPECT_TRUE(verify_ed25519(key.get(), message, signature));
  EXPECT_FALSE(verify_ed25519(other.get(), message, signature));
  Bytes changed = message;
  changed[0] ^= 0x20;
  EXPECT_FALSE(verify_ed25519(key.get(), changed, signature));
  Bytes bad = signature;
  bad[5] ^= 0x01;
  EXPECT_FALSE(verify_ed25519(key.get(), message, bad));
  EXPECT_FALSE(verify_ed25519(key.get(), message, Bytes{}));
}

}  // namespace
}  // namespace keysafe::crypto
