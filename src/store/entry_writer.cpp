#include "entry_writer.hpp"

#include <nlohmann/json.hpp>

#include "keysafe/error.hpp"

namespace keysafe::store {
namespace {

std::string to_json_array(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

}  // namespace

Statement& EntryWriter::prepared(std::optional<Statement>& slot, const char* sql) {
  if (!slot) slot.emplace(m_db.prepare(sql));
  slot->reset();
  return *slot;
}

namespace {
// The id an INSERT ... RETURNING id gave its row. Ids are max + 1 (SQLite's rowids; on
// PostgreSQL under the store's write lock), given by keysafe so that both backends agree.
std::int64_t inserted_id(Statement& q) {
  if (!q.step()) throw Error(Errc::Internal, "an insert returned no id");
  const std::int64_t id = q.int64(0);
  q.reset();
  return id;
}
}  // namespace

void EntryWriter::refuse_existing(std::string_view name, std::string_view spki_sha256) {
  auto& q = prepared(m_existing, "SELECT name FROM keys WHERE name = ? OR spki_sha256 = ?");
  q.bind(1, name).bind(2, spki_sha256);
  if (q.step())
    throw Error(Errc::AlreadyExists, "the name \"" + std::string(name) + "\" is already in use",
                "an entry called \"" + q.text(0) + "\" exists in \"" + m_db.path().string() + "\"",
                "choose another name, or see it with: keysafe show " + q.text(0));
}

std::int64_t EntryWriter::key(const NewKey& key, std::string_view spki_sha256,
                              std::optional<std::int64_t> id, std::span<const std::uint8_t> sealed,
                              std::optional<std::int64_t> current_certificate_id) {
  auto& q = prepared(
      m_key,
      "INSERT INTO keys (id, name, algorithm, spki_der, spki_sha256, sealed_private_key, subject, "
      "dns, ip, current_certificate_id, created_at) VALUES (coalesce(?, (SELECT coalesce(max(id), 0) "
      "+ 1 FROM keys)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  q.bind(1, id).bind(2, key.name).bind(3, key.algorithm).bind(4, key.spki_der).bind(5, spki_sha256);
  if (sealed.empty())
    q.bind_null(6);
  else
    q.bind(6, sealed);
  q.bind(7, key.subject)
      .bind(8, to_json_array(key.dns))
      .bind(9, to_json_array(key.ip))
      .bind(10, current_certificate_id)
      .bind(11, key.now);
  if (!id) return inserted_id(q);
  q.queue();  // the id is known: nothing to wait for
  return *id;
}

void EntryWriter::sealed_key(std::int64_t key_id, std::span<const std::uint8_t> sealed) {
  auto& q = prepared(m_sealed, "UPDATE keys SET sealed_private_key = ? WHERE id = ?");
  q.bind(1, sealed).bind(2, key_id);
  q.queue();
}

void EntryWriter::request(std::int64_t key_id, std::span<const std::uint8_t> der,
                          std::int64_t created_at) {
  auto& q = prepared(m_request, "INSERT INTO requests (key_id, der, created_at) VALUES (?, ?, ?)");
  q.bind(1, key_id).bind(2, der).bind(3, created_at);
  q.queue();
}

std::int64_t EntryWriter::certificate(std::int64_t key_id, const NewCertificate& cert,
                                      std::optional<std::int64_t> id) {
  auto& q = prepared(
      m_certificate,
      "INSERT INTO certificates (id, key_id, der, fingerprint_sha256, spki_sha256, subject, "
      "issuer, serial, not_before, not_after, dns, ip, is_ca, chain_trusted, chain_problem, "
      "installed_at) VALUES (coalesce(?, (SELECT coalesce(max(id), 0) + 1 FROM certificates)), ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  const auto& i = cert.info;
  q.bind(1, id)
      .bind(2, key_id)
      .bind(3, cert.der)
      .bind(4, i.fingerprint_sha256)
      .bind(5, i.spki_sha256)
      .bind(6, i.subject)
      .bind(7, i.issuer)
      .bind(8, i.serial_hex)
      .bind(9, i.not_before)
      .bind(10, i.not_after)
      .bind(11, to_json_array(i.dns))
      .bind(12, to_json_array(i.ip))
      .bind(13, std::int64_t{i.is_ca ? 1 : 0})
      .bind(14, std::int64_t{cert.chain_trusted ? 1 : 0});
  if (cert.chain_problem.empty())
    q.bind_null(15);
  else
    q.bind(15, cert.chain_problem);
  q.bind(16, cert.now);
  std::int64_t certificate_id = 0;
  if (id) {
    q.queue();
    certificate_id = *id;
  } else {
    certificate_id = inserted_id(q);
  }
  for (std::size_t pos = 0; pos < cert.chain.size(); ++pos) {
    auto& chain = prepared(
        m_chain, "INSERT INTO chain_certificates (certificate_id, position, der) VALUES (?, ?, ?)");
    chain.bind(1, certificate_id).bind(2, static_cast<std::int64_t>(pos)).bind(3, cert.chain[pos]);
    chain.queue();
  }
  return certificate_id;
}

void EntryWriter::current_certificate(std::int64_t key_id, std::int64_t certificate_id) {
  auto& q = prepared(m_current, "UPDATE keys SET current_certificate_id = ? WHERE id = ?");
  q.bind(1, certificate_id).bind(2, key_id);
  q.queue();
}

}  // namespace keysafe::store
