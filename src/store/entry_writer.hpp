// The statements that write an entry's rows (key, request, certificate and its chain), shared
// by every path that adds entries: one entry at a time (create, install), a merge (import,
// restore) and a bulk issuance. Each statement is prepared on first use and kept, because the
// last two run them thousands of times in one transaction. Writes whose result nothing waits
// for (every one but an insert that must return its new id) are queued (Statement::queue).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keysafe/store/keystore.hpp"
#include "keysafe/store/database.hpp"

namespace keysafe::store {

class EntryWriter final {
 public:
  explicit EntryWriter(Database& db) : m_db(db) {}

  // Throws AlreadyExists when an entry has this name or this public key.
  void refuse_existing(std::string_view name, std::string_view spki_sha256);

  // A key row. `id` when reserved in advance (bulk issuance), else SQLite's next row id;
  // `sealed` empty for a key without its private key (or one sealed later: the row id is part
  // of the sealed key's associated data). Returns the row id.
  std::int64_t key(const NewKey& key, std::string_view spki_sha256,
                   std::optional<std::int64_t> id = std::nullopt,
                   std::span<const std::uint8_t> sealed = {},
                   std::optional<std::int64_t> current_certificate_id = std::nullopt);
  void sealed_key(std::int64_t key_id, std::span<const std::uint8_t> sealed);
  void request(std::int64_t key_id, std::span<const std::uint8_t> der, std::int64_t created_at);
  // A certificate row and its chain rows; `id` as for key(). Returns the row id.
  std::int64_t certificate(std::int64_t key_id, const NewCertificate& cert,
                           std::optional<std::int64_t> id = std::nullopt);
  void current_certificate(std::int64_t key_id, std::int64_t certificate_id);

 private:
  Statement& prepared(std::optional<Statement>& slot, const char* sql);

  Database& m_db;
  std::optional<Statement> m_existing;
  std::optional<Statement> m_key;
  std::optional<Statement> m_sealed;
  std::optional<Statement> m_request;
  std::optional<Statement> m_certificate;
  std::optional<Statement> m_chain;
  std::optional<Statement> m_current;
};

}  // namespace keysafe::store
