// keysafe serve's parts without a network: the unlock body reader, sessions, the delay after
// wrong passphrases, loopback addresses.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "keysafe/crypto/kdf.hpp"
#include "keysafe/error.hpp"
#include "passphrase_body.hpp"
#include "sessions.hpp"
#include "web_server.hpp"

namespace keysafe::server {
namespace {

// A store to hand to a session (KDF cost 2^10, for tests only), in a new temporary directory.
store::Keystore temp_store() {
  std::string dir = (std::filesystem::temp_directory_path() / "keysafe-unit-serve-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  const auto path = std::filesystem::path(dir) / "store.db";
  store::Keystore::create(path, as_span("unit test passphrase"), crypto::KdfParams{10, 8, 1}, 0);
  auto store = store::Keystore::open(path);
  std::filesystem::remove_all(dir);  // the open connection keeps what it needs
  return store;
}

std::string text(const SecureBytes& b) { return std::string(b.begin(), b.end()); }

Errc code_of(const std::string& body) {
  try {
    passphrase_from_body(body);
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::Internal;
}

TEST(PassphraseBody, ReadsTheMemberAndUnescapes) {
  EXPECT_EQ(text(passphrase_from_body(R"({"passphrase": "correct horse"})")), "correct horse");
  EXPECT_EQ(text(passphrase_from_body(R"({"other": {"passphrase": "x"}, "passphrase": "a\"b\u00e9"})")),
            "a\"b\xc3\xa9");
}

TEST(PassphraseBody, RefusesEverythingElseAsBadInput) {
  for (const std::string& body : std::vector<std::string>{"", "null", "[]", "\"passphrase\"", "{", R"({"passphrase": 1})", R"({"passphrase": null})",
        R"({"passphrase": ["a"]})", R"({"passphrase": {"a": "b"}})", R"({"passphrase": ""})",
        R"({"x": "y"})", R"({"passphrase": "a"} trailing)", R"({"a": [[[[]]]]})",
        std::string(100000, '['), "{\"passphrase\": \"" + std::string(4097, 'a') + "\"}"})
    EXPECT_EQ(code_of(body), Errc::BadInput) << body.substr(0, 60);
}

TEST(Sessions, IdleSessionsAreDroppedAndUseKeepsThemAlive) {
  SessionTable table(60);
  const std::string id = table.create(temp_store(), 1000);
  EXPECT_EQ(id.size(), 64u);
  const auto s = table.find(id, 1059);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->csrf_token.size(), 64u);
  EXPECT_NE(s->csrf_token, id);
  EXPECT_NE(table.find(id, 1118), nullptr);  // 59 s after the last use
  EXPECT_EQ(table.find(id, 1178), nullptr);  // 60 s idle
  EXPECT_EQ(table.size(), 0u);
}

TEST(Sessions, UnknownOrMalformedIdsFindNothingAndRemoveLocks) {
  SessionTable table(60);
  const std::string id = table.create(temp_store(), 0);
  EXPECT_EQ(table.find("", 1), nullptr);
  EXPECT_EQ(table.find(id.substr(1), 1), nullptr);
  std::string other = id;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(table.find(other, 1), nullptr);
  EXPECT_NE(table.create(temp_store(), 0), id);
  table.remove(id);
  EXPECT_EQ(table.find(id, 1), nullptr);
}

TEST(UnlockThrottle, DelayGrowsAfterThreeFailuresUpToThirtySeconds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(UnlockThrottle::delay_after(0), milliseconds(0));
  EXPECT_EQ(UnlockThrottle::delay_after(2), milliseconds(0));
  EXPECT_EQ(UnlockThrottle::delay_after(3), milliseconds(1000));
  EXPECT_EQ(UnlockThrottle::delay_after(4), milliseconds(2000));
  EXPECT_EQ(UnlockThrottle::delay_after(5), milliseconds(4000));
  EXPECT_EQ(UnlockThrottle::delay_after(7), milliseconds(16000));
  EXPECT_EQ(UnlockThrottle::delay_after(8), milliseconds(30000));
  EXPECT_EQ(UnlockThrottle::delay_after(1000), milliseconds(30000));
}

TEST(Loopback, OnlyLoopbackAddressesAndLocalhost) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) EXPECT_TRUE(is_loopback(h)) << h;
  for (const char* h : {"0.0.0.0", "::", "192.0.2.1", "128.0.0.1", "localhost.example.com",
                        "::ffff:127.0.0.1", "", "127.0.0.1 "})
    EXPECT_FALSE(is_loopback(h)) << h;
}

}  // namespace
}  // namespace keysafe::server
