// Shared by the unit tests that need a keystore (ca_test, ops_test, deploy_test): a fresh,
// unlocked store in its own temporary directory, and the keysafe::Error a call raises.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::testing {

// The keysafe::Error that `f` raises; a test failure when it raises none.
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no keysafe::Error thrown";
  return Error(Errc::Internal, "<none>");
}

// A store created at `m_now` (KDF cost 2^10, for tests only) in a new temporary directory
// `m_dir`, opened and unlocked as `m_store`; the directory is removed after each test.
class StoreFixture : public ::testing::Test {
 protected:
  static constexpr std::string_view k_passphrase = "unit test passphrase";

  explicit StoreFixture(std::int64_t now) : m_now(now) {}

  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "keysafe-unit-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
    const std::filesystem::path path = m_dir / "store.db";
    store::Keystore::create(path, as_span(k_passphrase), crypto::KdfParams{10, 8, 1}, m_now);
    m_store.emplace(store::Keystore::open(path));
    m_store->unlock(as_span(k_passphrase));
  }
  void TearDown() override {
    m_store.reset();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  std::int64_t m_now;
  std::filesystem::path m_dir;
  std::optional<store::Keystore> m_store;
};

}  // namespace keysafe::testing
