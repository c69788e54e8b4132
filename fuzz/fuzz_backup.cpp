// libFuzzer target: backup files as `restore` reads them — the container (magic line, clear
// header, AES-256-GCM with a passphrase-derived key) and, separately, the JSON payload that the
// container protects (the fuzzer cannot forge the AEAD tag, so the payload decoder gets the raw
// input too), and the clear index written beside recipient backups.
#include "fuzz_support.hpp"
#include "keysafe/backup/container.hpp"
#include "keysafe/backup/index.hpp"
#include "keysafe/backup/payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using keysafe::fuzz::expect_error_or_success;
  const auto bytes = keysafe::fuzz::input(data, size);
  expect_error_or_success([&] {
    const auto kind = keysafe::backup::detect_container(bytes, "fuzz input");
    if (kind != keysafe::backup::ContainerKind::Passphrase) return;
    const auto header = keysafe::backup::read_header(bytes, "fuzz input");
    // Opening derives the key with the header's scrypt cost: only cheap ones, so that each run
    // stays fast (the cost range itself is enforced by read_header).
    if (header.kdf.log2_n <= 12)
      (void)keysafe::backup::open_with_passphrase(bytes, keysafe::fuzz::password("backup pass"),
                                                  "fuzz input");
  });
  expect_error_or_success([&] { (void)keysafe::backup::decode_payload(bytes, "fuzz input"); });
  // The index beside a recipient backup is read by find-key from any directory.
  expect_error_or_success([&] { (void)keysafe::backup::decode_index(bytes, "fuzz input"); });
  return 0;
}
