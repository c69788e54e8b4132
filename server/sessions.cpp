// Session table and the delay after wrong passphrases.
#include "sessions.hpp"

#include <algorithm>
#include <thread>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::server {

std::string SessionTable::key_of(std::string_view id) { return to_hex(sha256(as_span(id))); }

std::string SessionTable::create(store::Keystore unlocked, std::int64_t now) {
  auto session = std::make_shared<Session>(std::move(unlocked));
  session->csrf_token = to_hex(random_bytes(32));
  session->last_used = now;
  std::string id = to_hex(random_bytes(32));
  const std::lock_guard lock(m_mutex);
  drop_idle(now);
  m_sessions[key_of(id)] = std::move(session);
  return id;
}

std::shared_ptr<Session> SessionTable::find(std::string_view id, std::int64_t now) {
  const std::lock_guard lock(m_mutex);
  drop_idle(now);
  if (id.size() != 64) return nullptr;
  const auto it = m_sessions.find(key_of(id));
  if (it == m_sessions.end()) return nullptr;
  it->second->last_used = now;
  return it->second;
}

void SessionTable::remove(std::string_view id) {
  const std::lock_guard lock(m_mutex);
  m_sessions.erase(key_of(id));
}

std::size_t SessionTable::size() {
  const std::lock_guard lock(m_mutex);
  return m_sessions.size();
}

void SessionTable::drop_idle(std::int64_t now) {
  std::erase_if(m_sessions,
                [&](const auto& s) { return now - s.second->last_used >= m_idle_timeout; });
}

std::chrono::milliseconds UnlockThrottle::delay_after(int failures) {
  if (failures < k_free_failures) return std::chrono::milliseconds(0);
  const int doublings = std::min(failures - k_free_failures, 5);
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(1) * (1 << doublings),
                                             k_max_delay);
}

std::unique_lock<std::mutex> UnlockThrottle::begin_attempt() {
  std::unique_lock lock(m_mutex);
  const auto delay = delay_after(m_failures);
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  return lock;
}

}  // namespace keysafe::server
