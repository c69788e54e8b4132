// Sessions of keysafe serve: who has unlocked the store from a browser, until when.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "keysafe/store/keystore.hpp"

namespace keysafe::server {

// One unlocked session: its own unlocked store (opened with the passphrase the user gave) and
// the token every state-changing request of the session must carry (X-CSRF-Token).
struct Session {
  std::string csrf_token;
  std::int64_t last_used = 0;
  std::mutex mutex;  // a Keystore is used by one request at a time
  store::Keystore store;

  explicit Session(store::Keystore unlocked) : store(std::move(unlocked)) {}
};

class SessionTable final {
 public:
  explicit SessionTable(std::int64_t idle_timeout_seconds) : m_idle_timeout(idle_timeout_seconds) {}

  // A new session; returns its id (the cookie value: 256 random bits as hex).
  std::string create(store::Keystore unlocked, std::int64_t now);
  // The session of `id` when it exists and has not been idle too long (it is then touched);
  // idle sessions are dropped (their store locked) on the way.
  std::shared_ptr<Session> find(std::string_view id, std::int64_t now);
  void remove(std::string_view id);
  std::size_t size();

 private:
  // Keyed by the SHA-256 of the id, so a lookup's timing says nothing about a valid id.
  static std::string key_of(std::string_view id);
  void drop_idle(std::int64_t now);

  std::int64_t m_idle_timeout;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<Session>> m_sessions;
};

// Wrong passphrases: attempts run one at a time, and after k_free_failures wrong ones in a row
// each further attempt first waits 1 s, 2 s, 4 s, ... up to k_max_delay (reset by a success).
class UnlockThrottle final {
 public:
  static constexpr int k_free_failures = 3;
  static constexpr std::chrono::seconds k_max_delay{30};

  // Held while one attempt runs; waits the delay the failures so far call for.
  std::unique_lock<std::mutex> begin_attempt();
  // Under the lock of begin_attempt.
  void failed() { ++m_failures; }
  void succeeded() { m_failures = 0; }
  static std::chrono::milliseconds delay_after(int failures);

 private:
  std::mutex m_mutex;
  int m_failures = 0;
};

}  // namespace keysafe::server
