// The doctor: SQLite integrity, sealed keys, key/certificate pairing, chains, expiry, backups.
#include "keysafe/ops/check.hpp"

#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/renew.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {

bool CheckReport::damaged() const {
  for (const auto& f : findings)
    if (f.severity == "damaged" || f.severity == "tampered") return true;
  return false;
}

bool CheckReport::has_warnings() const {
  for (const auto& f : findings)
    if (f.severity == "warning") return true;
  return false;
}

namespace {

// The first column of a certificate row that disagrees with its DER, if any: listing shows
// these columns without decoding the certificate, so check compares them.
std::optional<std::string> first_differing_field(const x509::CertificateInfo& info,
                                                 const store::CertificateRecord& row) {
  if (info.subject != row.subject) return "subject";
  if (info.issuer != row.issuer) return "issuer";
  if (info.serial_hex != row.serial) return "serial";
  if (info.not_before != row.not_before) return "notBefore";
  if (info.not_after != row.not_after) return "notAfter";
  if (info.dns != row.dns) return "DNS names";
  if (info.ip != row.ip) return "IP addresses";
  if (info.is_ca != row.is_ca) return "CA flag";
  return std::nullopt;
}

}  // namespace

CheckReport check_store(store::Keystore& store, const std::optional<std::string>& name,
                        std::int64_t now,
                        const std::function<void(std::size_t, std::size_t)>& progress) {
  CheckReport report;
  const auto add = [&](std::string severity, std::string entry, std::string message,
                       std::string fix) {
    report.findings.push_back(
        {std::move(severity), std::move(entry), std::move(message), std::move(fix)});
  };
  const std::string restore_store_fix =
      "restore the store from a backup: keysafe init --store NEW && keysafe --store NEW "
      "restore BACKUP-FILE";
  for (const auto& problem : store.integrity_problems())
    add("damaged", "", "SQLite integrity check: " + problem, restore_store_fix);
  try {
    store.verify_header();
  } catch (const Error& e) {
    add("damaged", "", e.summary() + ": " + e.cause(), restore_store_fix);
  }
  for (const auto& m : store.checksum_mismatches())
    add("damaged", m.entry,
        "the stored fields of its " + m.row +
            " do not match their row checksum (a changed byte in names, dates or verdicts)",
        m.entry.empty() ? restore_store_fix
                        : "restore this entry from a backup: keysafe restore BACKUP-FILE");

  // With the passphrase: every integrity MAC (the unlock reported instead of refusing).
  if (store.unlocked())
    for (const auto& t : store.tampering())
      add("tampered", "",
          t.table + " row " + t.row + ": " + t.what +
              " (its MAC, keyed from the data key, does not verify: changed without the "
              "passphrase; keysafe uses nothing from this store until it is restored)",
          "restore the store from a backup into a new store (keysafe restore BACKUP-FILE) and "
          "find out who can write the store file");

  std::vector<store::KeyRecord> keys;
  if (name) {
    auto k = store.key_by_name(*name);
    if (!k)
      throw Error(Errc::NotFound, "no entry named \"" + *name + "\"",
                  "the store has no entry of that name", "see every entry with: keysafe list");
    keys.push_back(*k);
  } else {
    keys = store.all_keys();
  }
  report.entries = keys.size();
  const auto superseded = store::superseded_entries(store.database());
  report.keys_checked = store.unlocked();

  std::size_t checked = 0;
  for (const auto& k : keys) {
    if (progress) progress(checked++, keys.size());
    const std::string restore_fix =
        "restore this key from a backup: keysafe restore BACKUP-FILE (keysafe list shows when "
        "it was last backed up)";
    if (k.has_private_key && store.unlocked()) {
      try {
        const SecureBytes pkcs8 = store.open_private_key(k);
        const auto key = x509::private_key_from_pkcs8(pkcs8);
        if (x509::spki_sha256_hex(x509::spki_der(key.get())) != k.spki_sha256)
          add("damaged", k.name, "the sealed private key does not match the stored public key",
              restore_fix);
        else
          ++report.keys_opened;
      } catch (const Error& e) {
        add("damaged", k.name, e.summary() + (e.cause().empty() ? "" : ": " + e.cause()),
            restore_fix);
      }
    }
    if (x509::spki_sha256_hex(k.spki_der) != k.spki_sha256)
      add("damaged", k.name, "the stored public key does not match its recorded hash",
          restore_fix);

    std::optional<store::CertificateRecord> current;
    std::int64_t newest_install = 0;
    for (const auto& c : store.certificates_of(k.id)) {
      ++report.certificates;
      newest_install = std::max(newest_install, c.installed_at);
      if (k.current_certificate_id && *k.current_certificate_id == c.id) current = c;
      try {
        const auto cert = x509::certificate_from_der(store.certificate_der(c.id));
        const auto info = x509::inspect_certificate(cert.get());
        if (info.fingerprint_sha256 != c.fingerprint_sha256)
          add("damaged", k.name, "certificate " + c.serial + " does not match its fingerprint",
              restore_fix);
        else if (info.spki_sha256 != k.spki_sha256)
          add("damaged", k.name,
              "certificate " + c.serial + " does not carry this entry's public key",
              restore_fix);
        else if (const auto field = first_differing_field(info, c))
          add("damaged", k.name,
              "certificate " + c.serial + ": the stored " + *field +
                  " differs from the certificate itself",
              restore_fix);
      } catch (const Error&) {
        add("damaged", k.name, "certificate " + c.serial + " does not decode", restore_fix);
      }
      for (const auto& der : store.chain_of(c.id)) {
        try {
          (void)x509::certificate_from_der(der);
        } catch (const Error&) {
          add("damaged", k.name, "a chain certificate of " + c.serial + " does not decode",
              "install the CA's chain again: keysafe install FULLCHAIN-FILE");
        }
      }
    }

    if (!k.has_private_key) continue;  // certificate-only entries: no key to lose
    // Replaced by a renewal: kept for its key and history, nothing to renew or back up again.
    if (superseded.count(k.id) != 0) continue;
    if (current) {
      const auto days = days_left(now, current->not_after);
      // keysafe renews no CA: a new one is made and issues again.
      const std::string renew_fix =
          store::authority(store.database(), k.id)
              ? "make a new CA (keysafe ca init NEW-CA-NAME) and issue again from it"
              : "renew it: keysafe renew " + k.name;
      if (current->not_after < now)
        add("warning", k.name, "the certificate expired on " + format_rfc3339(current->not_after),
            renew_fix);
      // Due as renew --all --due 30 counts it: a short-lived certificate only with less than a
      // third of its validity left, or check would ask to renew it again right after renewing.
      else if (renewal_due(current->not_before, current->not_after, 30, now))
        add("warning", k.name, "the certificate expires in " + std::to_string(days) + " days",
            renew_fix + " (before " + format_rfc3339(current->not_after) + ")");
      if (!current->chain_trusted)
        add("warning", k.name,
            "the chain was not verified to a trusted root" +
                (current->chain_problem.empty() ? std::string() : ": " + current->chain_problem),
            "install the full chain: keysafe install FULLCHAIN-FILE --ca-file ROOT.pem");
    } else if (now - k.created_at > 30 * 86400) {
      add("warning", k.name,
          "the request has been pending for " + std::to_string((now - k.created_at) / 86400) +
              " days",
          "install the CA's answer (keysafe install CERT-FILE), or delete the key: keysafe "
          "delete " + k.name + " --force");
    }
    if (!k.last_backup_at)
      add("warning", k.name, "the private key was never backed up",
          "keysafe backup " + k.name + " -o " + k.name + ".kbk");
    else if (*k.last_backup_at < newest_install)
      add("warning", k.name, "the last backup is older than the newest certificate",
          "keysafe backup " + k.name + " -o " + k.name + ".kbk");
  }
  return report;
}

}  // namespace keysafe::ops
