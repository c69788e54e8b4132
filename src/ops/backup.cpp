// Backup: collect, seal, write, read back and verify, record. Restore: verify, plan, merge.
#include "keysafe/ops/backup.hpp"

#include <algorithm>
#include <map>

#include "keysafe/backup/container.hpp"
#include "keysafe/backup/index.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/clock.hpp"
#include "acme_backup.hpp"
#include "fleet_backup.hpp"
#include "store_roles.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// A private key that decodes and carries the recorded public key, or Damaged.
void check_key(const backup::BackupEntry& e, std::string_view source) {
  if (!e.private_key_pkcs8) return;
  ossl::PKey key;
  try {
    key = x509::private_key_from_pkcs8(*e.private_key_pkcs8);
  } catch (const Error&) {
    throw Error(Errc::Damaged, "the key of " + quoted(e.name) + " in \"" + std::string(source) +
                                   "\" does not decode",
                "the backup is damaged", "use another copy of the backup");
  }
  const Bytes spki = x509::spki_der(key.get());
  if (x509::spki_sha256_hex(spki) != e.spki_sha256)
    throw Error(Errc::Damaged,
                "the key of " + quoted(e.name) + " in \"" + std::string(source) +
                    "\" does not match its recorded public key",
                "the backup is damaged or was altered", "use another copy of the backup");
}

}  // namespace

std::filesystem::path write_backup_index(const std::filesystem::path& backup_file,
                                         std::span<const std::uint8_t> backup_bytes,
                                         std::int64_t created,
                                         const std::vector<std::string>& names,
                                         const std::vector<std::string>& spki_sha256,
                                         const std::vector<bool>& private_key) {
  backup::BackupIndex index;
  index.backup = backup_file.filename().string();
  index.backup_sha256 = to_hex(sha256(backup_bytes));
  index.created = created;
  index.names = names;
  index.spki_sha256 = spki_sha256;
  index.private_key = private_key;
  std::filesystem::path index_file = backup_file;
  index_file += std::string(backup::k_index_suffix);
  // 0600 like the backup: entry names are not secret, but nobody else needs them. Replaced
  // when there is one: an index describes only the file beside it, which was just written.
  files::write_file_atomically(index_file, backup::encode_index(index), 0600,
                               files::Overwrite::Allow);
  return index_file;
}

std::vector<store::KeyRecord> select_entries(store::Keystore& store,
                                             const std::vector<std::string>& names, bool all) {
  if (all) {
    auto keys = store.all_keys();
    if (keys.empty())
      throw Error(Errc::NotFound, "the store is empty", "there is nothing to back up",
                  "create a key first: keysafe create NAME --dns NAME");
    return keys;
  }
  if (names.empty())
    throw Error(Errc::Usage, "name the entries to back up, or use --all", "",
                "keysafe backup www.example.com -o www.kbk, or keysafe backup --all -o all.kbk");
  std::vector<store::KeyRecord> keys;
  for (const auto& n : names) {
    auto k = store.key_by_name(n);
    if (!k)
      throw Error(Errc::NotFound, "no entry named " + quoted(n), "the store has no such entry",
                  "see every entry with: keysafe list");
    if (std::none_of(keys.begin(), keys.end(), [&](const auto& x) { return x.id == k->id; }))
      keys.push_back(std::move(*k));
  }
  return keys;
}

backup::BackupPayload collect_backup(store::Keystore& store,
                                     const std::vector<store::KeyRecord>& keys, std::int64_t now,
                                     bool whole_store) {
  backup::BackupPayload p;
  p.created = now;
  p.written_by = "keysafe 0.1.0";
  for (const auto& k : keys) {
    backup::BackupEntry e;
    e.name = k.name;
    e.algorithm = k.algorithm;
    e.spki_sha256 = k.spki_sha256;
    e.spki_der = k.spki_der;
    e.subject = k.subject;
    e.dns = k.dns;
    e.ip = k.ip;
    e.created_at = k.created_at;
    if (k.has_private_key) {
      e.private_key_pkcs8 = store.open_private_key(k);  // throws naming a tampered row
      check_key(e, store.path().string());
    }
    if (auto req = store.latest_request(k.id)) e.requests.emplace_back(*req, k.created_at);
    for (const auto& c : store.certificates_of(k.id)) {
      backup::BackupCertificate bc;
      bc.der = store.certificate_der(c.id);
      bc.chain = store.chain_of(c.id);
      bc.current = k.current_certificate_id && *k.current_certificate_id == c.id;
      bc.chain_trusted = c.chain_trusted;
      bc.chain_problem = c.chain_problem;
      bc.installed_at = c.installed_at;
      e.certificates.push_back(std::move(bc));
    }
    p.entries.push_back(std::move(e));
  }
  collect_store_roles(store, keys, whole_store, p);
  if (whole_store) collect_fleet(store, keys, p);
  collect_acme(store, keys, whole_store, p);
  return p;
}

BackupResult write_backup(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                          const BackupTarget& target, const std::filesystem::path& file,
                          bool force, std::int64_t now, bool whole_store) {
  const backup::BackupPayload payload = collect_backup(store, keys, now, whole_store);
  const SecureBytes plain = backup::encode_payload(payload);
  std::vector<std::string> names;
  std::vector<std::string> hashes;
  std::vector<bool> private_keys;
  for (const auto& e : payload.entries) {
    names.push_back(e.name);
    hashes.push_back(e.spki_sha256);
    private_keys.push_back(e.private_key_pkcs8.has_value());
  }
  const Bytes sealed =
      target.recipient != nullptr
          ? backup::seal_to_recipient(plain, target.recipient)
          : backup::seal_with_passphrase(plain, *target.passphrase, target.kdf, now, names, hashes,
                                            private_keys);
  const bool to_stream = target.stream != nullptr;
  // A stream named by `file` (keysafe serve: the HTTPS download) is audited under that name.
  const std::string where = to_stream && (file.empty() || file == "-") ? std::string("standard output")
                                                                      : file.string();
  if (!to_stream)
    files::write_file_atomically(
        file, std::string_view(reinterpret_cast<const char*>(sealed.data()), sealed.size()), 0600,
        force ? files::Overwrite::Allow : files::Overwrite::Refuse);

  // Read back what is on disk, not what is in memory (for a stream: verify before a byte leaves).
  BackupResult result;
  result.file = to_stream ? std::filesystem::path("standard output") : file;
  const auto fail = [&](const std::string& why) {
    std::error_code ec;
    if (!to_stream) std::filesystem::remove(file, ec);
    return Error(Errc::Io, "the backup written to \"" + where + "\" did not verify",
                 why + (to_stream ? "; nothing was written and no backup was recorded"
                                  : "; the file was removed and no backup was recorded"),
                 "check the disk, then run the backup again");
  };
  const Bytes on_disk = to_stream ? sealed : files::read_input_file(file);
  if (target.recipient != nullptr) {
    if (on_disk != sealed || !backup::addressed_to(on_disk, target.recipient))
      throw fail("the file read back differs from what was written");
    result.verification =
        std::string(to_stream ? "checked in memory before writing"
                              : "read back byte for byte") +
        "; CMS EnvelopedData addressed to the recovery certificate (opening it needs the "
        "recovery key)";
    // Opaque without the recovery key: the clear index beside it makes it findable (find-key).
    // A stream has no "beside": whoever stores it keeps its names (docs/FORMAT.md).
    if (!to_stream) try {
        result.index_file = write_backup_index(file, on_disk, now, names, hashes, private_keys);
      } catch (const Error& e) {
        throw fail("its index could not be written: " + e.summary() + " (" + e.cause() + ")");
      }
  } else {
    SecureBytes reopened;
    try {
      reopened = backup::open_with_passphrase(on_disk, *target.passphrase, where);
    } catch (const Error& e) {
      throw fail(e.summary());
    }
    const auto back = backup::decode_payload(reopened, where);
    if (back.entries.size() != payload.entries.size()) throw fail("entries are missing");
    for (std::size_t i = 0; i < back.entries.size(); ++i) {
      const auto& a = payload.entries[i];
      const auto& b = back.entries[i];
      check_key(b, where);
      if (a.spki_sha256 != b.spki_sha256 || a.private_key_pkcs8 != b.private_key_pkcs8 ||
          a.certificates.size() != b.certificates.size())
        throw fail("entry \"" + a.name + "\" differs after reading back");
    }
    if (back.authorities.size() != payload.authorities.size() ||
        back.deployments.size() != payload.deployments.size() ||
        back.settings.size() != payload.settings.size())
      throw fail("CA roles, deployments or settings are missing");
    if (back.hosts.size() != payload.hosts.size() ||
        back.assignments.size() != payload.assignments.size() ||
        back.fleet_signing_key.has_value() != payload.fleet_signing_key.has_value())
      throw fail("hosts, assignments or the fleet signing key are missing");
    if (back.acme_accounts.size() != payload.acme_accounts.size() ||
        back.acme_entries.size() != payload.acme_entries.size())
      throw fail("ACME accounts or settings are missing");
    for (std::size_t i = 0; i < back.acme_accounts.size(); ++i)
      if (back.acme_accounts[i].private_key_pkcs8 != payload.acme_accounts[i].private_key_pkcs8)
        throw fail("the key of the ACME account \"" + payload.acme_accounts[i].name +
                   "\" differs after reading back");
    result.verification =
        to_stream ? "decrypted in memory with the backup passphrase before writing, every key "
                    "opened and matched"
                  : "read back, decrypted with the backup passphrase, every key opened and matched";
  }
  if (to_stream) {
    // The verified bytes go out now; a failed write (a closed pipe, a full disk) is no backup.
    target.stream->write(reinterpret_cast<const char*>(sealed.data()),
                         static_cast<std::streamsize>(sealed.size()));
    target.stream->flush();
    if (!*target.stream)
      throw Error(Errc::Io, "writing the backup to standard output failed",
                  "the reader went away or its disk is full; no backup was recorded",
                  "check where the output goes, then run the backup again");
  }
  std::vector<std::int64_t> ids;
  for (const auto& k : keys) ids.push_back(k.id);
  for (const auto& k : keys)
    store.record("backed-up", k.name, "to " + where +
                                          (target.recipient != nullptr ? " (recipient)" : " (passphrase)"));
  store.mark_backed_up(ids, now);
  result.entries = payload.entries.size();
  for (const auto& e : payload.entries) {
    if (e.private_key_pkcs8) ++result.private_keys;
    result.certificates += e.certificates.size();
  }
  result.authorities = payload.authorities.size();
  for (const auto& a : payload.authorities) result.issued += a.issued.size();
  result.deployments = payload.deployments.size();
  result.settings = payload.settings.size();
  result.hosts = payload.hosts.size();
  result.assignments = payload.assignments.size();
  result.acme_accounts = payload.acme_accounts.size();
  result.acme_entries = payload.acme_entries.size();
  return result;
}

namespace {

// `store` is null for a store that does not exist yet.
RestorePlan plan_restore_into(store::Keystore* store, const backup::BackupPayload& payload,
                              std::string_view source, bool rename) {
  RestorePlan plan;
  std::vector<std::string> taken;
  for (const auto& e : payload.entries) {
    check_key(e, source);
    for (const auto& c : e.certificates) {
      const auto cert = x509::certificate_from_der(c.der);
      if (x509::spki_sha256_hex(x509::spki_der(cert.get())) != e.spki_sha256)
        throw Error(Errc::Damaged,
                    "a certificate of " + quoted(e.name) + " in \"" + std::string(source) +
                        "\" does not pair with its key",
                    "the backup is damaged or was altered", "use another copy of the backup");
    }
    RestoreAction a;
    a.backup_name = e.name;
    a.name = e.name;
    if (auto same_key = store ? store->key_by_spki(e.spki_sha256) : std::optional<store::KeyRecord>()) {
      a.name = same_key->name;
      std::size_t new_certs = 0;
      for (const auto& c : e.certificates)
        if (!store->certificate_by_fingerprint(x509::inspect_certificate(
                                                  x509::certificate_from_der(c.der).get())
                                                  .fingerprint_sha256))
          ++new_certs;
      const bool adds_key = e.private_key_pkcs8 && !same_key->has_private_key;
      a.action = (new_certs > 0 || adds_key) ? "merge" : "unchanged";
      a.detail = "the store already holds this key as \"" + same_key->name + "\"" +
                 (adds_key ? "; its private key will be added" : "") +
                 (new_certs > 0 ? "; " + std::to_string(new_certs) + " certificate(s) to add"
                                : "");
    } else if ((store && store->key_by_name(e.name)) ||
               std::find(taken.begin(), taken.end(), e.name) != taken.end()) {
      if (!rename) {
        a.action = "conflict";
        a.detail = "the store has another key named \"" + e.name + "\"";
        plan.has_conflict = true;
      } else {
        int n = 2;
        std::string candidate;
        do {
          candidate = e.name + "-restored" + (n == 2 ? "" : "-" + std::to_string(n - 1));
          ++n;
        } while ((store && store->key_by_name(candidate)) ||
                 std::find(taken.begin(), taken.end(), candidate) != taken.end());
        a.name = candidate;
        a.action = "rename";
        a.detail = "restored as \"" + candidate + "\" (the store has another key named \"" +
                   e.name + "\")";
      }
    } else {
      a.action = "create";
      a.detail = e.private_key_pkcs8 ? "key, " + std::to_string(e.certificates.size()) +
                                           " certificate(s), " +
                                           std::to_string(e.requests.size()) + " request(s)"
                                     : "certificate only, no private key";
    }
    taken.push_back(a.name);
    plan.actions.push_back(std::move(a));
  }
  plan_store_roles(store, payload, plan);
  plan_fleet(store, payload, plan);
  plan_acme(store, payload, plan);
  return plan;
}

}  // namespace

void check_only_names(const std::vector<std::string>& in_backup,
                      const std::vector<std::string>& only, std::string_view source) {
  for (const auto& n : only)
    if (std::find(in_backup.begin(), in_backup.end(), n) == in_backup.end()) {
      std::string names;
      for (const auto& b : in_backup) names += (names.empty() ? "" : ", ") + quoted(b);
      throw Error(Errc::NotFound,
                  "the backup \"" + std::string(source) + "\" has no entry named " + quoted(n),
                  "it holds " + (names.empty() ? std::string("no entries") : names),
                  "name one of its entries with --only (keysafe find-key CERT --in DIR says "
                  "which backup and entry hold a key)");
    }
}

void keep_only_entries(backup::BackupPayload& payload, const std::vector<std::string>& only,
                       std::string_view source) {
  if (only.empty()) return;
  std::vector<std::string> names;
  for (const auto& e : payload.entries) names.push_back(e.name);
  check_only_names(names, only, source);
  const auto dropped = [&](const std::string& name) {
    return std::find(only.begin(), only.end(), name) == only.end();
  };
  std::erase_if(payload.entries, [&](const backup::BackupEntry& e) { return dropped(e.name); });
  // A kept CA keeps its role; the roles and deployments of dropped entries go with them, and
  // store-wide settings are not "one entry".
  std::erase_if(payload.authorities,
                [&](const backup::BackupAuthority& a) { return dropped(a.entry); });
  std::erase_if(payload.deployments,
                [&](const backup::BackupDeployment& d) { return dropped(d.entry); });
  payload.settings.clear();
  keep_fleet_of(payload, only);
  keep_acme_of(payload, only);
}

RestorePlan plan_restore(store::Keystore& store, const backup::BackupPayload& payload,
                         std::string_view source, bool rename) {
  return plan_restore_into(&store, payload, source, rename);
}

RestorePlan plan_restore(const backup::BackupPayload& payload, std::string_view source) {
  return plan_restore_into(nullptr, payload, source, false);
}

bool RestorePlan::needs_unlock(const backup::BackupPayload& payload) const {
  for (std::size_t i = 0; i < actions.size(); ++i)
    if (actions[i].action != "unchanged" && payload.entries[i].private_key_pkcs8) return true;
  for (const auto* items : {&authorities, &deployments, &settings, &fleet_signing_key, &hosts,
                            &assignments, &acme_accounts, &acme_entries})
    for (const auto& item : *items)
      if (item.action == "create" || item.action == "merge") return true;
  return false;
}

std::vector<store::MergeOutcome> apply_restore(store::Keystore& store,
                                               const backup::BackupPayload& payload,
                                               const RestorePlan& plan,
                                               const RestoreSource& source, std::int64_t now) {
  std::vector<store::IncomingEntry> incoming;
  for (std::size_t i = 0; i < payload.entries.size(); ++i) {
    const auto& e = payload.entries[i];
    const auto& a = plan.actions[i];
    if (a.action == "unchanged") continue;
    store::IncomingEntry in;
    in.key.name = a.name;
    in.key.algorithm = e.algorithm;
    in.key.spki_der = e.spki_der;
    in.key.subject = e.subject;
    in.key.dns = e.dns;
    in.key.ip = e.ip;
    in.key.now = e.created_at;
    in.pkcs8 = e.private_key_pkcs8;
    in.requests = e.requests;
    for (const auto& c : e.certificates) {
      store::IncomingCertificate ic;
      const auto cert = x509::certificate_from_der(c.der);
      ic.certificate.der = c.der;
      ic.certificate.info = x509::inspect_certificate(cert.get());
      ic.certificate.chain = c.chain;
      ic.certificate.chain_trusted = c.chain_trusted;
      ic.certificate.chain_problem = c.chain_problem;
      ic.certificate.now = c.installed_at != 0 ? c.installed_at : now;
      ic.current = c.current;
      in.certificates.push_back(std::move(ic));
    }
    // The file just restored from is a verified backup of these keys.
    in.last_backup_at = payload.created;
    incoming.push_back(std::move(in));
  }
  // One event for the whole restore: what the backup was and what changed. The backup's own
  // audit chain belongs to the lost store and is not replayed.
  std::map<std::string, std::size_t> counts;
  for (const auto& a : plan.actions) ++counts[a.action];
  std::string summary;
  for (const auto& [action, n] : counts)
    summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + action;
  store.record("restored", "",
               "restored from " + source.file + " (sha256 " + source.sha256 + ", made " +
                   format_rfc3339(payload.created) + "): entries: " +
                   (summary.empty() ? "none" : summary) + store_roles_summary(plan));
  std::vector<store::MergeOutcome> outcomes;
  store.write([&](store::Database&) {
    if (!incoming.empty()) outcomes = store.merge_entries(incoming);
    apply_store_roles(store, payload, plan);
    apply_fleet(store, payload, plan);
    apply_acme(store, payload, plan);
  });
  return outcomes;
}

}  // namespace keysafe::ops
