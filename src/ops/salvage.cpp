// Damaged stores: each entry read and verified on its own, and the good ones copied out.
#include "keysafe/ops/salvage.hpp"

#include "keysafe/store/damaged.hpp"
#include "keysafe/store/row_checksum.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string describe(const Error& e) {
  return e.summary() + (e.cause().empty() ? std::string() : ": " + e.cause());
}

// Everything of one entry, read and verified, ready for another store. Throws StoreDamaged
// naming the first row that does not read or verify.
store::IncomingEntry read_entry(store::Keystore& s, const store::KeyRecord& k) {
  const auto damaged = [&](const std::string& what) {
    return Error(Errc::StoreDamaged, "the entry " + quoted(k.name) + " is damaged", what);
  };
  for (const auto& m : store::entry_checksum_mismatches(s.database(), k.id))
    throw damaged("the stored fields of its " + m.row + " do not match their row checksum");
  if (x509::spki_sha256_hex(k.spki_der) != k.spki_sha256)
    throw damaged("its stored public key does not match its recorded hash");
  store::IncomingEntry in;
  in.key.name = k.name;
  in.key.algorithm = k.algorithm;
  in.key.spki_der = k.spki_der;
  in.key.subject = k.subject;
  in.key.dns = k.dns;
  in.key.ip = k.ip;
  in.key.now = k.created_at;
  in.last_backup_at = k.last_backup_at;
  if (k.has_private_key && s.unlocked()) {
    in.pkcs8 = s.open_private_key(k);  // AES-256-GCM: a damaged byte does not open
    const auto key = x509::private_key_from_pkcs8(*in.pkcs8);
    if (x509::spki_sha256_hex(x509::spki_der(key.get())) != k.spki_sha256)
      throw damaged("its sealed private key does not match its public key");
  }
  if (auto req = s.latest_request(k.id)) {
    const auto parsed = x509::request_from_der(*req);
    if (!x509::request_signature_valid(parsed.get()))
      throw damaged("its certificate request does not verify");
    in.requests.emplace_back(std::move(*req), k.created_at);
  }
  for (const auto& c : s.certificates_of(k.id)) {
    store::IncomingCertificate ic;
    ic.certificate.der = s.certificate_der(c.id);
    const auto cert = x509::certificate_from_der(ic.certificate.der);
    ic.certificate.info = x509::inspect_certificate(cert.get());
    if (ic.certificate.info.fingerprint_sha256 != c.fingerprint_sha256)
      throw damaged("certificate " + c.serial + " does not match its fingerprint");
    if (ic.certificate.info.spki_sha256 != k.spki_sha256)
      throw damaged("certificate " + c.serial + " does not carry the entry's public key");
    ic.certificate.chain = s.chain_of(c.id);
    for (const auto& der : ic.certificate.chain) (void)x509::certificate_from_der(der);
    ic.certificate.chain_trusted = c.chain_trusted;
    ic.certificate.chain_problem = c.chain_problem;
    ic.certificate.now = c.installed_at;
    ic.current = k.current_certificate_id && *k.current_certificate_id == c.id;
    in.certificates.push_back(std::move(ic));
  }
  return in;
}

std::optional<store::KeyRecord> key_row(store::Keystore& s, const store::SurvivingEntryId& id) {
  if (!id.name) return std::nullopt;
  auto k = s.key_by_name(*id.name);
  if (!k || k->id != id.key_id) return std::nullopt;
  return k;
}

}  // namespace

std::size_t DamageReport::readable() const {
  std::size_t n = 0;
  for (const auto& e : entries) n += e.readable ? 1 : 0;
  return n;
}

std::string DamageReport::label(const EntryCondition& e) {
  return e.name ? *e.name : "entry #" + std::to_string(e.key_id) + " (its name cannot be read)";
}

DamageReport assess_damage(store::Keystore& store, std::string cause) {
  DamageReport report;
  report.cause = std::move(cause);
  report.header_readable = store.header_readable();
  report.keys_checked = store.unlocked();
  report.integrity = store::damage_summary(store.database());
  for (const auto& id : store::surviving_entry_ids(store.database())) {
    EntryCondition c;
    c.key_id = id.key_id;
    c.name = id.name;
    try {
      const auto k = key_row(store, id);
      if (!k) throw Error(Errc::StoreDamaged, "its key row cannot be read");
      const auto entry = read_entry(store, *k);
      c.readable = true;
      c.key_opened = entry.pkcs8.has_value();
    } catch (const Error& e) {
      c.problem = describe(e);
    }
    report.entries.push_back(std::move(c));
  }
  return report;
}

SalvageResult salvage_store(store::Keystore& damaged, const DamageReport& report,
                            const std::filesystem::path& to,
                            std::span<const std::uint8_t> passphrase, std::int64_t now) {
  if (!damaged.unlocked())
    throw Error(Errc::Internal, "salvage needs the damaged store unlocked");
  SalvageResult result;
  result.to = to;
  std::vector<store::IncomingEntry> incoming;
  for (const auto& c : report.entries) {
    if (!c.readable) {
      result.lost.push_back(c);
      continue;
    }
    try {
      const auto k = key_row(damaged, {c.key_id, c.name});
      if (!k) throw Error(Errc::StoreDamaged, "its key row cannot be read");
      incoming.push_back(read_entry(damaged, *k));
      result.copied.push_back(*c.name);
    } catch (const Error& e) {
      EntryCondition lost = c;
      lost.readable = false;
      lost.problem = describe(e);
      result.lost.push_back(std::move(lost));
    }
  }
  store::Keystore::create(to, passphrase, damaged.header().kdf_params, now);
  auto fresh = store::Keystore::open(to);
  fresh.unlock(passphrase);
  for (const auto& name : result.copied)
    fresh.record("salvaged", name, "copied from the damaged store " + damaged.path().string());
  for (const auto& c : result.lost)
    fresh.record("salvage-lost", c.name.value_or(""),
                 "not copied from " + damaged.path().string() + ": " + c.problem);
  if (!incoming.empty()) fresh.merge_entries(incoming);
  else fresh.flush_audit();
  return result;
}

}  // namespace keysafe::ops
