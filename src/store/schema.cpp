// Schema migrations. Each column says what it holds; docs/FORMAT.md is the reference.
#include "keysafe/store/schema.hpp"

#include <array>
#include <string_view>

namespace keysafe::store {
namespace {

// v13: ACME (docs/ACME.md). Accounts at ACME CAs, each key sealed under the data key like any
// private key (purpose "acme account key NAME"), and per entry the account and challenge its
// orders and renewals use. Both tables carry MACs: a directory URL, CA file or challenge an
// attacker could change would send the account key's signatures or the entry's validation
// elsewhere. IF NOT EXISTS: a store whose user_version was set back by hand migrates again.
constexpr std::string_view k_acme_migration = R"sql(
CREATE TABLE IF NOT EXISTS acme_accounts (
  id                 INTEGER PRIMARY KEY,
  name               TEXT    NOT NULL UNIQUE,  -- the administrator's name for the account
  directory_url      TEXT    NOT NULL,         -- the CA's ACME directory (https)
  account_url        TEXT    NOT NULL,         -- the account's URL at the CA: the JWS "kid"
  contact            TEXT    NOT NULL,         -- JSON array of contact URLs ("mailto:...")
  status             TEXT    NOT NULL,         -- valid, deactivated, revoked: as the CA last said
  key_algorithm      TEXT    NOT NULL,         -- ec-p256, ec-p384, rsa-2048
  jwk_thumbprint     TEXT    NOT NULL,         -- RFC 7638 thumbprint of the account key
  sealed_private_key BLOB    NOT NULL,         -- PKCS#8 sealed under the data key (secret_aad "acme account key NAME")
  directory_ca_pem   TEXT,                     -- PEM trust anchors for the directory's HTTPS; NULL = the system store
  created_at         INTEGER NOT NULL,         -- Unix seconds
  mac                BLOB                      -- keysafe_row_mac('acme_accounts', id, name, directory_url, account_url, contact, status, key_algorithm, jwk_thumbprint, sealed_private_key, directory_ca_pem, created_at)
);
CREATE TABLE IF NOT EXISTS acme_entries (
  key_id          INTEGER PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE,  -- the entry
  account_id      INTEGER NOT NULL REFERENCES acme_accounts(id),  -- the account that orders for it
  directory_url   TEXT    NOT NULL,  -- the account's directory when the entry was ordered
  challenge       TEXT    NOT NULL,  -- http-01-listen, http-01-webroot
  challenge_param TEXT    NOT NULL,  -- ADDR:PORT to listen on, or the webroot directory
  order_url       TEXT,              -- the last order's URL; NULL = none yet
  updated_at      INTEGER NOT NULL,  -- Unix seconds
  mac             BLOB               -- keysafe_row_mac('acme_entries', key_id, account_id, directory_url, challenge, challenge_param, order_url, updated_at)
);
CREATE INDEX IF NOT EXISTS acme_entries_account ON acme_entries(account_id);
CREATE TRIGGER IF NOT EXISTS acme_accounts_mac_insert AFTER INSERT ON acme_accounts BEGIN
  UPDATE acme_accounts SET mac = keysafe_row_mac('acme_accounts', NEW.id, NEW.name, NEW.directory_url, NEW.account_url, NEW.contact, NEW.status, NEW.key_algorithm, NEW.jwk_thumbprint, NEW.sealed_private_key, NEW.directory_ca_pem, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS acme_accounts_mac_update AFTER UPDATE OF id, name, directory_url, account_url, contact, status, key_algorithm, jwk_thumbprint, sealed_private_key, directory_ca_pem, created_at ON acme_accounts BEGIN
  UPDATE acme_accounts SET mac = keysafe_row_mac('acme_accounts', NEW.id, NEW.name, NEW.directory_url, NEW.account_url, NEW.contact, NEW.status, NEW.key_algorithm, NEW.jwk_thumbprint, NEW.sealed_private_key, NEW.directory_ca_pem, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS acme_entries_mac_insert AFTER INSERT ON acme_entries BEGIN
  UPDATE acme_entries SET mac = keysafe_row_mac('acme_entries', NEW.key_id, NEW.account_id, NEW.directory_url, NEW.challenge, NEW.challenge_param, NEW.order_url, NEW.updated_at)
    WHERE key_id = NEW.key_id;
END;
CREATE TRIGGER IF NOT EXISTS acme_entries_mac_update AFTER UPDATE OF key_id, account_id, directory_url, challenge, challenge_param, order_url, updated_at ON acme_entries BEGIN
  UPDATE acme_entries SET mac = keysafe_row_mac('acme_entries', NEW.key_id, NEW.account_id, NEW.directory_url, NEW.challenge, NEW.challenge_param, NEW.order_url, NEW.updated_at)
    WHERE key_id = NEW.key_id;
END;
)sql";

// v14: keysafe serve's read-only bearer tokens (docs/API.md). Only the SHA-256 of a token is
// kept. No MAC: serve checks a token while the store is locked (no data key), and a token only
// reads what anyone who can read the store file reads already (no secret, no sealed key), so a
// row planted by someone who can write the file gains them nothing they lack.
constexpr std::string_view k_serve_tokens_migration = R"sql(
CREATE TABLE IF NOT EXISTS serve_tokens (
  name         TEXT    PRIMARY KEY,  -- the administrator's name for the token
  token_sha256 TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of the bare token (the token is never stored)
  created_at   INTEGER NOT NULL,     -- Unix seconds
  expires_at   INTEGER,              -- Unix seconds; NULL = until revoked
  revoked_at   INTEGER               -- Unix seconds; NULL = not revoked
);
)sql";

// Never edit a released migration: add a new one.
constexpr std::array<std::string_view, 14> k_migrations = {
    // v1: keys, requests, certificates and chains.
    R"sql(
CREATE TABLE store_header (
  id               INTEGER PRIMARY KEY CHECK (id = 1), -- exactly one row
  store_id         BLOB    NOT NULL,  -- 16 random bytes, bound into every AEAD's associated data
  kdf              TEXT    NOT NULL,  -- 'scrypt'
  kdf_log2_n       INTEGER NOT NULL,  -- scrypt cost: N = 2^kdf_log2_n
  kdf_r            INTEGER NOT NULL,  -- scrypt block size
  kdf_p            INTEGER NOT NULL,  -- scrypt parallelism
  kdf_salt         BLOB    NOT NULL,  -- 16 random bytes
  wrapped_data_key BLOB    NOT NULL,  -- AES-256-GCM(KEK, data key): nonce || ciphertext || tag
  checksum         BLOB    NOT NULL,  -- SHA-256 of the fields above: tells damage from a wrong passphrase
  created_at       INTEGER NOT NULL   -- Unix seconds
);

CREATE TABLE keys (
  id                     INTEGER PRIMARY KEY,
  name                   TEXT    NOT NULL UNIQUE,  -- the administrator's name for this entry
  algorithm              TEXT    NOT NULL,         -- ec-p256, rsa-2048, ed25519, ...
  spki_der               BLOB    NOT NULL,         -- SubjectPublicKeyInfo, DER
  spki_sha256            TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of spki_der: the match key
  sealed_private_key     BLOB,                     -- AES-256-GCM(data key, PKCS#8); NULL = certificate-only entry
  subject                TEXT    NOT NULL,         -- requested subject (RFC 2253), shown while pending
  dns                    TEXT    NOT NULL,         -- requested DNS names, JSON array
  ip                     TEXT    NOT NULL,         -- requested IP addresses, JSON array
  current_certificate_id INTEGER REFERENCES certificates(id),  -- NULL while pending
  created_at             INTEGER NOT NULL,         -- Unix seconds
  last_backup_at         INTEGER                   -- Unix seconds of the last verified backup; NULL = never
);

CREATE TABLE requests (
  id         INTEGER PRIMARY KEY,
  key_id     INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
  der        BLOB    NOT NULL,  -- PKCS#10 request, DER
  created_at INTEGER NOT NULL   -- Unix seconds
);
CREATE INDEX requests_key ON requests(key_id);

CREATE TABLE certificates (
  id                 INTEGER PRIMARY KEY,
  key_id             INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
  der                BLOB    NOT NULL,         -- the certificate, DER
  fingerprint_sha256 TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of der
  spki_sha256        TEXT    NOT NULL,         -- equals keys.spki_sha256 of key_id
  subject            TEXT    NOT NULL,         -- RFC 2253
  issuer             TEXT    NOT NULL,         -- RFC 2253
  serial             TEXT    NOT NULL,         -- uppercase hex
  not_before         INTEGER NOT NULL,         -- Unix seconds
  not_after          INTEGER NOT NULL,         -- Unix seconds
  dns                TEXT    NOT NULL,         -- subjectAltName DNS names, JSON array
  ip                 TEXT    NOT NULL,         -- subjectAltName IP addresses, JSON array
  is_ca              INTEGER NOT NULL,         -- 1 when basicConstraints CA is set
  chain_trusted      INTEGER NOT NULL,         -- 1 when the chain reached a trust anchor at install
  chain_problem      TEXT,                     -- the verifier's verdict otherwise
  installed_at       INTEGER NOT NULL          -- Unix seconds
);
CREATE INDEX certificates_key ON certificates(key_id);
CREATE INDEX certificates_spki ON certificates(spki_sha256);
CREATE INDEX certificates_not_after ON certificates(not_after);

CREATE TABLE chain_certificates (
  certificate_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,  -- 0 = the leaf's issuer, upwards
  der            BLOB    NOT NULL,  -- the chain certificate, DER
  PRIMARY KEY (certificate_id, position)
);
)sql",
    // v2: store-wide settings (recovery certificate and backup directory for automatic backups).
    R"sql(
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,  -- 'recovery_certificate' (DER), 'backup_dir' (UTF-8 path)
  value BLOB NOT NULL
);
)sql",
    // v3: the append-only audit log, each row chained to the previous by hash.
    R"sql(
CREATE TABLE audit (
  id        INTEGER PRIMARY KEY,  -- 1, 2, 3, ... without gaps
  at        INTEGER NOT NULL,     -- Unix seconds
  user      TEXT    NOT NULL,     -- effective user (and SUDO_USER)
  action    TEXT    NOT NULL,     -- created, installed, imported, exported, backed-up, restored, deleted, passphrase-changed
  entry     TEXT    NOT NULL,     -- entry name ('' for the store)
  detail    TEXT    NOT NULL,
  prev_hash BLOB    NOT NULL,     -- hash of the previous row (32 zero bytes for the first)
  hash      BLOB    NOT NULL      -- SHA-256 over prev_hash and this row's fields (docs/FORMAT.md)
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    // v4: key files for unattended unlocking (each a second wrapping of the same data key).
    R"sql(
CREATE TABLE key_slots (
  id               INTEGER PRIMARY KEY,
  kind             TEXT    NOT NULL,         -- 'key-file'
  secret_id        TEXT    NOT NULL UNIQUE,  -- hex SHA-256("keysafe-key-file-id-v1" || secret): which file
  wrapped_data_key BLOB    NOT NULL,         -- AES-256-GCM(KEK, data key), AAD as the header's
  created_at       INTEGER NOT NULL
);
)sql",
    // v5: local certificate authorities (their key and certificate are ordinary entries) and
    // what each has issued, for serial uniqueness, revocation and CRLs.
    R"sql(
CREATE TABLE authorities (
  key_id        INTEGER PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE,  -- the CA's own entry
  parent_key_id INTEGER REFERENCES keys(id),  -- the issuing CA of an intermediate; NULL = root
  crl_number    INTEGER NOT NULL DEFAULT 0,   -- the number of the last CRL published
  created_at    INTEGER NOT NULL              -- Unix seconds
);

CREATE TABLE issued_certificates (
  authority_key_id  INTEGER NOT NULL REFERENCES authorities(key_id) ON DELETE CASCADE,
  serial            TEXT    NOT NULL,  -- uppercase hex, as certificates.serial
  subject           TEXT    NOT NULL,  -- RFC 2253
  fingerprint_sha256 TEXT   NOT NULL,  -- hex SHA-256 of the issued certificate's DER
  key_name          TEXT,              -- the store entry it was installed into; NULL = written to a file
  not_after         INTEGER NOT NULL,  -- Unix seconds
  issued_at         INTEGER NOT NULL,  -- Unix seconds
  revoked_at        INTEGER,           -- Unix seconds; NULL while not revoked
  revocation_reason TEXT,              -- RFC 5280 reason name, e.g. 'keyCompromise'
  PRIMARY KEY (authority_key_id, serial)
);
)sql",
    // v6: where entries are deployed, so renew can redeploy and status can probe.
    R"sql(
CREATE TABLE deployments (
  id                      INTEGER PRIMARY KEY,
  key_id                  INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
  target_dir              TEXT    NOT NULL UNIQUE,  -- absolute, canonical directory
  layout                  TEXT    NOT NULL,  -- nginx, apache, haproxy, pem
  files                   TEXT    NOT NULL,  -- JSON: [{"path": ..., "sha256": ...}] as written
  test_cmd                TEXT,              -- shell command run before reloading; NULL = none
  reload_cmd              TEXT,              -- shell command that reloads the server; NULL = none
  probe                   TEXT,              -- HOST:PORT to verify with TLS; NULL = none
  sni                     TEXT,              -- server name sent when probing
  certificate_fingerprint TEXT    NOT NULL,  -- hex SHA-256 of the leaf deployed last
  deployed_at             INTEGER NOT NULL   -- Unix seconds
);
CREATE INDEX deployments_key ON deployments(key_id);
)sql",
    // v7: renewal with a new key. The new key waits in its own pending entry; when its
    // certificate is installed it takes over the old entry's name and deployments.
    R"sql(
-- the entry this pending key replaces once its certificate is installed; NULL = none
ALTER TABLE keys ADD COLUMN renews_key_id INTEGER REFERENCES keys(id) ON DELETE SET NULL;
)sql",
    // v8: row checksums. A SHA-256 over every field of a row that keysafe shows or relies on,
    // kept by triggers through keysafe_row_sha256() (store/row_checksum.cpp, registered on every
    // keysafe connection), so check finds a changed byte that no other check covers. Sealed keys
    // are left out (their AEAD tag covers them).
    R"sql(
ALTER TABLE keys ADD COLUMN row_sha256 BLOB;
ALTER TABLE certificates ADD COLUMN row_sha256 BLOB;
ALTER TABLE chain_certificates ADD COLUMN row_sha256 BLOB;
CREATE TRIGGER keys_checksum_insert AFTER INSERT ON keys BEGIN
  UPDATE keys SET row_sha256 = keysafe_row_sha256(NEW.id, NEW.name, NEW.algorithm,
    NEW.spki_der, NEW.spki_sha256, NEW.subject, NEW.dns, NEW.ip, NEW.current_certificate_id,
    NEW.created_at, NEW.last_backup_at, NEW.renews_key_id) WHERE id = NEW.id;
END;
CREATE TRIGGER keys_checksum_update AFTER UPDATE OF id, name, algorithm, spki_der, spki_sha256, subject, dns, ip, current_certificate_id, created_at, last_backup_at, renews_key_id ON keys BEGIN
  UPDATE keys SET row_sha256 = keysafe_row_sha256(NEW.id, NEW.name, NEW.algorithm,
    NEW.spki_der, NEW.spki_sha256, NEW.subject, NEW.dns, NEW.ip, NEW.current_certificate_id,
    NEW.created_at, NEW.last_backup_at, NEW.renews_key_id) WHERE id = NEW.id;
END;
CREATE TRIGGER certificates_checksum_insert AFTER INSERT ON certificates BEGIN
  UPDATE certificates SET row_sha256 = keysafe_row_sha256(NEW.id, NEW.key_id, NEW.der,
    NEW.fingerprint_sha256, NEW.spki_sha256, NEW.subject, NEW.issuer, NEW.serial,
    NEW.not_before, NEW.not_after, NEW.dns, NEW.ip, NEW.is_ca, NEW.chain_trusted,
    NEW.chain_problem, NEW.installed_at) WHERE id = NEW.id;
END;
CREATE TRIGGER certificates_checksum_update AFTER UPDATE OF id, key_id, der, fingerprint_sha256, spki_sha256, subject, issuer, serial, not_before, not_after, dns, ip, is_ca, chain_trusted, chain_problem, installed_at ON certificates BEGIN
  UPDATE certificates SET row_sha256 = keysafe_row_sha256(NEW.id, NEW.key_id, NEW.der,
    NEW.fingerprint_sha256, NEW.spki_sha256, NEW.subject, NEW.issuer, NEW.serial,
    NEW.not_before, NEW.not_after, NEW.dns, NEW.ip, NEW.is_ca, NEW.chain_trusted,
    NEW.chain_problem, NEW.installed_at) WHERE id = NEW.id;
END;
CREATE TRIGGER chain_checksum_insert AFTER INSERT ON chain_certificates BEGIN
  UPDATE chain_certificates SET row_sha256 = keysafe_row_sha256(NEW.certificate_id,
    NEW.position, NEW.der) WHERE certificate_id = NEW.certificate_id AND position =
    NEW.position;
END;
CREATE TRIGGER chain_checksum_update AFTER UPDATE OF certificate_id, position, der ON chain_certificates BEGIN
  UPDATE chain_certificates SET row_sha256 = keysafe_row_sha256(NEW.certificate_id,
    NEW.position, NEW.der) WHERE certificate_id = NEW.certificate_id AND position =
    NEW.position;
END;
UPDATE keys SET row_sha256 = keysafe_row_sha256(id, name, algorithm, spki_der, spki_sha256,
  subject, dns, ip, current_certificate_id, created_at, last_backup_at, renews_key_id);
UPDATE certificates SET row_sha256 = keysafe_row_sha256(id, key_id, der, fingerprint_sha256,
  spki_sha256, subject, issuer, serial, not_before, not_after, dns, ip, is_ca, chain_trusted,
  chain_problem, installed_at);
UPDATE chain_certificates SET row_sha256 = keysafe_row_sha256(certificate_id, position, der);
)sql",
    // v9: integrity MACs. HMAC-SHA-256 under an HKDF subkey of the data key over every row an
    // attacker who can write the file could abuse, kept by triggers through keysafe_row_mac()
    // (store/integrity.cpp, keyed only while the store is unlocked, so a write to these tables
    // needs the passphrase), and over the audit log's head. Rows get their MACs when the store is
    // first unlocked after this migration (docs/FORMAT.md, "Integrity MACs").
    R"sql(
CREATE TABLE audit_head (
  id        INTEGER PRIMARY KEY CHECK (id = 1),  -- exactly one row once the store has MACs
  last_id   INTEGER NOT NULL,  -- id of the last audit row written by an unlocked keysafe (0 = none)
  last_hash BLOB    NOT NULL,  -- that row's hash (32 zero bytes when last_id = 0)
  mac       BLOB               -- keysafe_row_mac('audit_head', id, last_id, last_hash)
);
ALTER TABLE settings ADD COLUMN mac BLOB;  -- keysafe_row_mac('settings', key, value)
ALTER TABLE deployments ADD COLUMN mac BLOB;  -- keysafe_row_mac('deployments', id, key_id, target_dir, layout, files, test_cmd, reload_cmd, probe, sni, certificate_fingerprint, deployed_at)
ALTER TABLE key_slots ADD COLUMN mac BLOB;  -- keysafe_row_mac('key_slots', id, kind, secret_id, wrapped_data_key, created_at)
ALTER TABLE authorities ADD COLUMN mac BLOB;  -- keysafe_row_mac('authorities', key_id, parent_key_id, crl_number, created_at)
ALTER TABLE issued_certificates ADD COLUMN mac BLOB;  -- keysafe_row_mac('issued_certificates', authority_key_id, serial, subject, fingerprint_sha256, key_name, not_after, issued_at, revoked_at, revocation_reason)
CREATE TRIGGER settings_mac_insert AFTER INSERT ON settings BEGIN
  UPDATE settings SET mac = keysafe_row_mac('settings', NEW.key, NEW.value)
    WHERE key = NEW.key;
END;
CREATE TRIGGER settings_mac_update AFTER UPDATE OF key, value ON settings BEGIN
  UPDATE settings SET mac = keysafe_row_mac('settings', NEW.key, NEW.value)
    WHERE key = NEW.key;
END;
CREATE TRIGGER deployments_mac_insert AFTER INSERT ON deployments BEGIN
  UPDATE deployments SET mac = keysafe_row_mac('deployments', NEW.id, NEW.key_id, NEW.target_dir, NEW.layout, NEW.files, NEW.test_cmd, NEW.reload_cmd, NEW.probe, NEW.sni, NEW.certificate_fingerprint, NEW.deployed_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER deployments_mac_update AFTER UPDATE OF id, key_id, target_dir, layout, files, test_cmd, reload_cmd, probe, sni, certificate_fingerprint, deployed_at ON deployments BEGIN
  UPDATE deployments SET mac = keysafe_row_mac('deployments', NEW.id, NEW.key_id, NEW.target_dir, NEW.layout, NEW.files, NEW.test_cmd, NEW.reload_cmd, NEW.probe, NEW.sni, NEW.certificate_fingerprint, NEW.deployed_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER key_slots_mac_insert AFTER INSERT ON key_slots BEGIN
  UPDATE key_slots SET mac = keysafe_row_mac('key_slots', NEW.id, NEW.kind, NEW.secret_id, NEW.wrapped_data_key, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER key_slots_mac_update AFTER UPDATE OF id, kind, secret_id, wrapped_data_key, created_at ON key_slots BEGIN
  UPDATE key_slots SET mac = keysafe_row_mac('key_slots', NEW.id, NEW.kind, NEW.secret_id, NEW.wrapped_data_key, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER authorities_mac_insert AFTER INSERT ON authorities BEGIN
  UPDATE authorities SET mac = keysafe_row_mac('authorities', NEW.key_id, NEW.parent_key_id, NEW.crl_number, NEW.created_at)
    WHERE key_id = NEW.key_id;
END;
CREATE TRIGGER authorities_mac_update AFTER UPDATE OF key_id, parent_key_id, crl_number, created_at ON authorities BEGIN
  UPDATE authorities SET mac = keysafe_row_mac('authorities', NEW.key_id, NEW.parent_key_id, NEW.crl_number, NEW.created_at)
    WHERE key_id = NEW.key_id;
END;
CREATE TRIGGER issued_certificates_mac_insert AFTER INSERT ON issued_certificates BEGIN
  UPDATE issued_certificates SET mac = keysafe_row_mac('issued_certificates', NEW.authority_key_id, NEW.serial, NEW.subject, NEW.fingerprint_sha256, NEW.key_name, NEW.not_after, NEW.issued_at, NEW.revoked_at, NEW.revocation_reason)
    WHERE authority_key_id = NEW.authority_key_id AND serial = NEW.serial;
END;
CREATE TRIGGER issued_certificates_mac_update AFTER UPDATE OF authority_key_id, serial, subject, fingerprint_sha256, key_name, not_after, issued_at, revoked_at, revocation_reason ON issued_certificates BEGIN
  UPDATE issued_certificates SET mac = keysafe_row_mac('issued_certificates', NEW.authority_key_id, NEW.serial, NEW.subject, NEW.fingerprint_sha256, NEW.key_name, NEW.not_after, NEW.issued_at, NEW.revoked_at, NEW.revocation_reason)
    WHERE authority_key_id = NEW.authority_key_id AND serial = NEW.serial;
END;
CREATE TRIGGER audit_head_mac_insert AFTER INSERT ON audit_head BEGIN
  UPDATE audit_head SET mac = keysafe_row_mac('audit_head', NEW.id, NEW.last_id, NEW.last_hash)
    WHERE id = NEW.id;
END;
CREATE TRIGGER audit_head_mac_update AFTER UPDATE OF id, last_id, last_hash ON audit_head BEGIN
  UPDATE audit_head SET mac = keysafe_row_mac('audit_head', NEW.id, NEW.last_id, NEW.last_hash)
    WHERE id = NEW.id;
END;
)sql",
    // v10: the renewal link indexed. Every list, check and calendar asks which entries a
    // renewal has replaced, and deleting a key clears the links pointing at it (ON DELETE SET
    // NULL); without an index each of those read the whole keys table (40 % of `list
    // --expiring` over 100,000 entries). Partial: only renewals have a link, and the lookups
    // (renews_key_id = ?, renews_key_id IS NOT NULL) all imply it is not NULL. IF NOT EXISTS:
    // a store whose user_version was set back by hand keeps its index.
    R"sql(
CREATE INDEX IF NOT EXISTS keys_renews ON keys(renews_key_id) WHERE renews_key_id IS NOT NULL;
)sql",
    // v11: fleets (docs/FLEET.md). Hosts with their X25519 public keys; assignments of entries
    // to hosts, each carrying the entry's private key sealed to the host's key and signed by
    // the store's Ed25519 fleet signing key (whose private half is sealed under the data key);
    // the agents' reports and events, written by hosts without the passphrase, so unkeyed.
    // Admin rows carry MACs like the other protected tables. IF NOT EXISTS: a store whose
    // user_version was set back by hand migrates again without failing.
    R"sql(
CREATE TABLE IF NOT EXISTS fleet_signing_key (
  id                 INTEGER PRIMARY KEY CHECK (id = 1),
  public_key         BLOB    NOT NULL,  -- Ed25519 SubjectPublicKeyInfo DER
  sealed_private_key BLOB    NOT NULL,  -- PKCS#8 sealed under the data key
  created_at         INTEGER NOT NULL,
  mac                BLOB               -- keysafe_row_mac('fleet_signing_key', id, public_key, sealed_private_key, created_at)
);
CREATE TABLE IF NOT EXISTS hosts (
  id                INTEGER PRIMARY KEY,
  name              TEXT    NOT NULL UNIQUE,
  algorithm         TEXT    NOT NULL,         -- x25519
  public_key        BLOB    NOT NULL,         -- SubjectPublicKeyInfo DER
  public_key_sha256 TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of public_key
  role              TEXT,                     -- its PostgreSQL login role, when it has one
  created_at        INTEGER NOT NULL,
  mac               BLOB  -- keysafe_row_mac('hosts', id, name, algorithm, public_key, public_key_sha256, role, created_at)
);
CREATE TABLE IF NOT EXISTS assignments (
  id                 INTEGER PRIMARY KEY,
  host_id            INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  key_id             INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
  target_dir         TEXT    NOT NULL,  -- absolute, on the host
  layout             TEXT    NOT NULL,
  test_cmd           TEXT,
  reload_cmd         TEXT,
  probe              TEXT,
  sni                TEXT,
  sealed_private_key BLOB    NOT NULL,  -- the key's PKCS#8 sealed to the host's public key
  signature          BLOB    NOT NULL,  -- Ed25519 by the fleet signing key (store/fleet.cpp)
  assigned_at        INTEGER NOT NULL,
  mac                BLOB,  -- keysafe_row_mac('assignments', id, host_id, key_id, target_dir, layout, test_cmd, reload_cmd, probe, sni, sealed_private_key, signature, assigned_at)
  UNIQUE (host_id, key_id),
  UNIQUE (host_id, target_dir)
);
CREATE INDEX IF NOT EXISTS assignments_key ON assignments(key_id);
CREATE TABLE IF NOT EXISTS host_reports (
  assignment_id        INTEGER PRIMARY KEY REFERENCES assignments(id) ON DELETE CASCADE,
  state                TEXT    NOT NULL,  -- current, stale, unreachable, failed
  deployed_fingerprint TEXT,              -- hex SHA-256 of the leaf the agent last wrote
  served_fingerprint   TEXT,              -- what the probe (or the files) showed
  files                TEXT,              -- JSON [{path, sha256}] the agent wrote
  error                TEXT,
  reported_at          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS host_events (
  id     INTEGER PRIMARY KEY,
  at     INTEGER NOT NULL,
  host   TEXT    NOT NULL,
  action TEXT    NOT NULL,  -- refused, deployed, deploy-failed
  entry  TEXT    NOT NULL,
  detail TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS host_events_no_update BEFORE UPDATE ON host_events BEGIN
  SELECT RAISE(ABORT, 'host events are append-only');
END;
CREATE TRIGGER IF NOT EXISTS fleet_signing_key_mac_insert AFTER INSERT ON fleet_signing_key BEGIN
  UPDATE fleet_signing_key SET mac = keysafe_row_mac('fleet_signing_key', NEW.id, NEW.public_key, NEW.sealed_private_key, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS fleet_signing_key_mac_update AFTER UPDATE OF id, public_key, sealed_private_key, created_at ON fleet_signing_key BEGIN
  UPDATE fleet_signing_key SET mac = keysafe_row_mac('fleet_signing_key', NEW.id, NEW.public_key, NEW.sealed_private_key, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS hosts_mac_insert AFTER INSERT ON hosts BEGIN
  UPDATE hosts SET mac = keysafe_row_mac('hosts', NEW.id, NEW.name, NEW.algorithm, NEW.public_key, NEW.public_key_sha256, NEW.role, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS hosts_mac_update AFTER UPDATE OF id, name, algorithm, public_key, public_key_sha256, role, created_at ON hosts BEGIN
  UPDATE hosts SET mac = keysafe_row_mac('hosts', NEW.id, NEW.name, NEW.algorithm, NEW.public_key, NEW.public_key_sha256, NEW.role, NEW.created_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS assignments_mac_insert AFTER INSERT ON assignments BEGIN
  UPDATE assignments SET mac = keysafe_row_mac('assignments', NEW.id, NEW.host_id, NEW.key_id, NEW.target_dir, NEW.layout, NEW.test_cmd, NEW.reload_cmd, NEW.probe, NEW.sni, NEW.sealed_private_key, NEW.signature, NEW.assigned_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS assignments_mac_update AFTER UPDATE OF id, host_id, key_id, target_dir, layout, test_cmd, reload_cmd, probe, sni, sealed_private_key, signature, assigned_at ON assignments BEGIN
  UPDATE assignments SET mac = keysafe_row_mac('assignments', NEW.id, NEW.host_id, NEW.key_id, NEW.target_dir, NEW.layout, NEW.test_cmd, NEW.reload_cmd, NEW.probe, NEW.sni, NEW.sealed_private_key, NEW.signature, NEW.assigned_at)
    WHERE id = NEW.id;
END;
)sql",
    // v12: nothing on SQLite. On PostgreSQL, host login roles and row-level security
    // (pg_schema.cpp); a SQLite file has no roles: whoever reads it reads every row.
    R"sql(
SELECT 1;
)sql",
    // v13: ACME accounts and per-entry ACME settings (k_acme_migration above).
    k_acme_migration,
    // v14: keysafe serve's bearer tokens (k_serve_tokens_migration above).
    k_serve_tokens_migration,
};

}  // namespace

int latest_schema_version() noexcept { return static_cast<int>(k_migrations.size()); }

void migrate(Database& db) {
  if (db.backend() == Backend::Postgresql) return migrate_postgresql(db);
  auto version_query = db.prepare("PRAGMA user_version");
  version_query.step();
  const auto current = static_cast<int>(version_query.int64(0));
  // A negative version is never written (found by tests/cli/corruption.sh: a flipped high byte
  // of the SQLite header's user_version made the loop below index before k_migrations).
  if (current < 0)
    throw Error(Errc::StoreDamaged, "the keystore \"" + db.path().string() + "\" is damaged",
                "its schema version (the SQLite header's user_version) is " +
                    std::to_string(current) + ", which keysafe never writes",
                "restore the store from a backup; the store was not changed");
  if (current > latest_schema_version())
    throw Error(Errc::StoreNewer,
                "the keystore \"" + db.path().string() + "\" was written by a newer keysafe",
                "its schema version is " + std::to_string(current) + "; this keysafe reads up to " +
                    std::to_string(latest_schema_version()),
                "upgrade keysafe; the store was not changed");
  for (int v = current + 1; v <= latest_schema_version(); ++v) {
    Transaction tx(db);
    db.exec(k_migrations[static_cast<std::size_t>(v - 1)]);
    db.exec("PRAGMA user_version = " + std::to_string(v));
    tx.commit();
  }
}

}  // namespace keysafe::store
