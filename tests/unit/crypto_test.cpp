// keysafe_crypto: the bounds every key-derivation parameter read from a file must meet.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "keysafe/crypto/kdf.hpp"
#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/error.hpp"

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

}  // namespace
}  // namespace keysafe::crypto
