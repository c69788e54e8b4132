// Unit tests of keysafe::store: sealing, store creation and validation, keys and certificates.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "keysafe/crypto/aead.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/error.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/store/schema.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/public_key.hpp"
#include "key_test_support.hpp"
#include "store_fixture.hpp"
#include "../../src/store/pg_placeholders.hpp"

namespace keysafe::store {
namespace {

namespace fs = std::filesystem;
using keysafe::testing::add_ext;
using keysafe::testing::error_of;
// The store seals with keysafe_crypto; its sealing tests stay beside the store that relies on it.
using crypto::aead_open;
using crypto::aead_seal;
using crypto::derive_kek;
using crypto::k_default_log2_n;
using crypto::k_key_size;
using crypto::k_nonce_size;
using crypto::k_tag_size;
using crypto::KdfParams;

constexpr KdfParams k_fast{10, 8, 1};
constexpr std::string_view k_passphrase = "correct horse battery staple";
constexpr std::int64_t k_now = 1'760'000'000;  // 2025-10-09

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

// ---------------------------------------------------------------------------------------------
// Direct SQLite access, to inspect and damage stores the way a disk or an attacker would.

class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              nullptr),
              SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(m_db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* msg = nullptr;
    EXPECT_EQ(sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &msg), SQLITE_OK)
        << sql << ": " << (msg != nullptr ? msg : "");
    sqlite3_free(msg);
  }

  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }

  Bytes blob(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    Bytes out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
      out.assign(p, p + sqlite3_column_bytes(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

  // EXPLAIN QUERY PLAN's details, one per line: which tables and indexes a query reads.
  std::string plan(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    const std::string explain = "EXPLAIN QUERY PLAN " + sql;
    EXPECT_EQ(sqlite3_prepare_v2(m_db, explain.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW)
      out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
    sqlite3_finalize(st);
    return out;
  }

  void set_blob(const std::string& sql, const Bytes& value) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    sqlite3_bind_blob(st, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sql;
    sqlite3_finalize(st);
  }

 private:
  sqlite3* m_db = nullptr;
};

void flip_header_byte(const fs::path& store, const std::string& column) {
  RawDb db(store);
  Bytes value = db.blob("SELECT " + column + " FROM store_header WHERE id = 1");
  ASSERT_FALSE(value.empty());
  value[value.size() / 2] ^= 0x01;
  db.set_blob("UPDATE store_header SET " + column + " = ? WHERE id = 1", value);
}

// ---------------------------------------------------------------------------------------------
// Test material: keys and certificates made with OpenSSL directly.

struct MadeKey {
  ossl::PKey key;
  NewKey row;
  SecureBytes pkcs8;
};

MadeKey make_key(const std::string& name, x509::KeyAlgorithm alg = x509::KeyAlgorithm::EcP256) {
  MadeKey k;
  k.key = x509::generate_key(alg);
  k.row.name = name;
  k.row.algorithm = std::string(x509::key_algorithm_name(alg));
  k.row.spki_der = x509::spki_der(k.key.get());
  k.row.subject = "CN=" + name;
  k.row.dns = {name, "www." + name};
  k.row.ip = {"192.0.2.1"};
  k.row.request_der = {};
  k.row.now = k_now;
  k.pkcs8 = x509::private_key_to_pkcs8(k.key.get());
  return k;
}

// A certificate for `key`, self-issued by an unrelated CA key.
ossl::Cert make_certificate(EVP_PKEY* key, const std::string& cn, std::int64_t not_before,
                            std::int64_t not_after, long serial) {
  static const ossl::PKey ca_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl::Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME* issuer = X509_get_issuer_name(cert.get());
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Store Test CA"), -1, -1, 0);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  X509_set_pubkey(cert.get(), key);
  add_ext(cert.get(), nullptr, NID_subject_alt_name, ("DNS:" + cn + ",IP:192.0.2.1").c_str());
  EXPECT_GT(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), 0);
  return cert;
}

NewCertificate new_certificate(X509* cert, std::int64_t now) {
  NewCertificate c;
  c.der = x509::certificate_der(cert);
  c.info = x509::inspect_certificate(cert);
  c.chain_trusted = false;
  c.chain_problem = "unable to get local issuer certificate";
  c.now = now;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Sealing

TEST(Sealing, SealOpenRoundTrip) {
  const SecureBytes key = random_secret(k_key_size);
  const Bytes plaintext = bytes_of("the private key");
  const Bytes aad = bytes_of("row 7");
  const Bytes sealed = aead_seal(key, plaintext, aad);
  EXPECT_EQ(sealed.size(), k_nonce_size + plaintext.size() + k_tag_size);
  SecureBytes out;
  ASSERT_TRUE(aead_open(key, sealed, aad, out));
  EXPECT_EQ(Bytes(out.begin(), out.end()), plaintext);
  // Fresh nonces: sealing twice gives different bytes.
  EXPECT_NE(aead_seal(key, plaintext, aad), sealed);
}

TEST(Sealing, EmptyPlaintext) {
  const SecureBytes key = random_secret(k_key_size);
  const Bytes sealed = aead_seal(key, Bytes{}, bytes_of("aad"));
  EXPECT_EQ(sealed.size(), k_nonce_size + k_tag_size);
  SecureBytes out = {1, 2, 3};
  EXPECT_TRUE(aead_open(key, sealed, bytes_of("aad"), out));
  EXPECT_TRUE(out.empty());
}

TEST(Sealing, LayoutIsNonceCiphertextTagOfAes256Gcm) {
  // Decrypt with OpenSSL directly: nonce || ciphertext || tag, AAD authenticated.
  const SecureBytes key = random_secret(k_key_size);
  const Bytes plaintext = bytes_of("independently checked");
  const Bytes aad = bytes_of("associated");
  const Bytes sealed = aead_seal(key, plaintext, aad);
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  ASSERT_EQ(EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr), 1);
  ASSERT_EQ(EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), sealed.data()), 1);
  int len = 0;
  ASSERT_EQ(EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())),
            1);
  Bytes out(plaintext.size() + 16);
  const auto body = static_cast<int>(sealed.size() - k_nonce_size - k_tag_size);
  ASSERT_EQ(EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data() + k_nonce_size, body), 1);
  int total = len;
  Bytes tag(sealed.end() - static_cast<long>(k_tag_size), sealed.end());
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()), 1);
  ASSERT_EQ(EVP_DecryptFinal_ex(ctx.get(), out.data() + total, &len), 1);
  total += len;
  out.resize(static_cast<std::size_t>(total));
  EXPECT_EQ(out, plaintext);
}

TEST(Sealing, TamperingIsDetected) {
  const SecureBytes key = random_secret(k_key_size);
  const Bytes plaintext = bytes_of("a private key in PKCS#8");
  const Bytes aad = bytes_of("store id + row id");
  const Bytes sealed = aead_seal(key, plaintext, aad);
  SecureBytes out;

  SecureBytes wrong_key = key;
  wrong_key[0] ^= 0x01;
  EXPECT_FALSE(aead_open(wrong_key, sealed, aad, out));
  EXPECT_TRUE(out.empty()) << "no plaintext may be returned on failure";

  Bytes other_aad = aad;
  other_aad.back() ^= 0x01;
  EXPECT_FALSE(aead_open(key, sealed, other_aad, out));
  EXPECT_FALSE(aead_open(key, sealed, Bytes{}, out));

  for (std::size_t i : {std::size_t{0}, k_nonce_size - 1, k_nonce_size, k_nonce_size + 5,
                        sealed.size() - k_tag_size - 1, sealed.size() - k_tag_size,
                        sealed.size() - 1}) {
    Bytes damaged = sealed;
    damaged[i] ^= 0x80;
    EXPECT_FALSE(aead_open(key, damaged, aad, out)) << "byte " << i;
    EXPECT_TRUE(out.empty());
  }
  EXPECT_FALSE(aead_open(key, Bytes(sealed.begin(), sealed.end() - 1), aad, out));
  EXPECT_FALSE(aead_open(key, Bytes(sealed.begin(), sealed.begin() + 27), aad, out));
  EXPECT_FALSE(aead_open(key, Bytes{}, aad, out));
  EXPECT_TRUE(aead_open(key, sealed, aad, out));  // the original still opens
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

TEST(Sealing, DeriveKekIsDeterministicAndSaltDependent) {
  const Bytes salt1 = bytes_of("0123456789abcdef");
  const Bytes salt2 = bytes_of("0123456789abcdeF");
  const SecureBytes a = derive_kek(as_span(k_passphrase), salt1, k_fast);
  const SecureBytes b = derive_kek(as_span(k_passphrase), salt1, k_fast);
  const SecureBytes c = derive_kek(as_span(k_passphrase), salt2, k_fast);
  const SecureBytes d = derive_kek(as_span("another passphrase"), salt1, k_fast);
  const SecureBytes e = derive_kek(as_span(k_passphrase), salt1, KdfParams{11, 8, 1});
  EXPECT_EQ(a.size(), k_key_size);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_NE(a, e);
}

TEST(Sealing, DeriveKekIsScrypt) {
  // Judged by OpenSSL's own scrypt entry point.
  const Bytes salt = bytes_of("salt-of-16-bytes");
  const SecureBytes kek = derive_kek(as_span(k_passphrase), salt, k_fast);
  unsigned char expected[32];
  ASSERT_EQ(EVP_PBE_scrypt(k_passphrase.data(), k_passphrase.size(), salt.data(), salt.size(),
                           1024, 8, 1, 0, expected, sizeof expected),
            1);
  EXPECT_EQ(Bytes(kek.begin(), kek.end()), Bytes(expected, expected + 32));
}

TEST(Sealing, DeriveKekRfc7914Vector) {
  // RFC 7914 §12: scrypt("password", "NaCl", N=1024, r=8, p=16); the first 32 of 64 bytes.
  const SecureBytes kek = derive_kek(as_span("password"), bytes_of("NaCl"), KdfParams{10, 8, 16});
  const Bytes expected = {0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7,
                          0x19, 0x0d, 0x01, 0xe9, 0xfe, 0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23,
                          0x78, 0x30, 0xe7, 0x73, 0x76, 0x63, 0x4b, 0x37, 0x31, 0x62};
  EXPECT_EQ(Bytes(kek.begin(), kek.end()), expected);
}

// ---------------------------------------------------------------------------------------------
// Stores in a fresh temporary directory per test

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "keysafe-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
    m_store = m_dir / "keys.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  void create_store(const KdfParams& params = k_fast) {
    Keystore::create(m_store, as_span(k_passphrase), params, k_now);
  }

  Keystore open_unlocked() {
    Keystore ks = Keystore::open(m_store);
    ks.unlock(as_span(k_passphrase));
    return ks;
  }

  fs::path m_dir;
  fs::path m_store;
};

TEST_F(StoreTest, CreateMakesAPrivateFileEvenWithUmaskZero) {
  const mode_t old = ::umask(0);
  create_store();
  struct stat st {};
  ASSERT_EQ(::stat(m_store.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  {
    // The WAL and shared-memory files SQLite makes beside the store are private too.
    Keystore ks = open_unlocked();
    MadeKey k = make_key("umask.example");
    ks.add_key(k.row, k.pkcs8);
    for (const char* suffix : {"-wal", "-shm"}) {
      const std::string side = m_store.string() + suffix;
      if (::stat(side.c_str(), &st) == 0) {
        EXPECT_EQ(st.st_mode & 0777, 0600u) << side;
      }
    }
  }
  ::umask(old);
}

TEST_F(StoreTest, CreateMakesAMissingParentDirectoryPrivate) {
  const fs::path nested = m_dir / "a" / "b" / "keys.db";
  const mode_t old = ::umask(0);
  Keystore::create(nested, as_span(k_passphrase), k_fast, k_now);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(nested.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NO_THROW((void)Keystore::open(nested));
}

TEST_F(StoreTest, CreateWritesAKeysafeSqliteFile) {
  create_store();
  RawDb db(m_store);
  EXPECT_EQ(db.integer("PRAGMA application_id"), k_application_id);
  EXPECT_EQ(db.integer("PRAGMA user_version"), latest_schema_version());
  EXPECT_EQ(db.integer("SELECT count(*) FROM store_header"), 1);
  EXPECT_EQ(db.integer("SELECT kdf_log2_n FROM store_header"), 10);
  EXPECT_EQ(db.integer("SELECT created_at FROM store_header"), k_now);
  EXPECT_EQ(db.blob("SELECT kdf_salt FROM store_header").size(), 16u);
  EXPECT_EQ(db.blob("SELECT store_id FROM store_header").size(), 16u);
  EXPECT_EQ(db.blob("SELECT wrapped_data_key FROM store_header").size(),
            k_nonce_size + k_key_size + k_tag_size);
}

TEST_F(StoreTest, RenewalLinksAreIndexedAndAnOlderStoreGainsTheIndex) {
  create_store();
  const auto index_count = [](RawDb& db) {
    return db.integer("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                      "name = 'keys_renews'");
  };
  {
    RawDb db(m_store);
    EXPECT_EQ(index_count(db), 1);
    // The queries of superseded_entries and newest_renewal (src/store/authorities.cpp): with
    // the index, a few renewals read instead of every key (list over 100,000 entries).
    const std::string plan_1 =
        db.plan("SELECT renews_key_id, name FROM keys WHERE renews_key_id IS NOT NULL AND "
                "current_certificate_id IS NOT NULL ORDER BY renews_key_id, id");
    EXPECT_NE(plan_1.find("USING INDEX keys_renews"), std::string::npos) << plan_1;
    const std::string plan_2 = db.plan(
        "SELECT id FROM keys WHERE renews_key_id = 1 AND current_certificate_id IS NULL ORDER BY "
        "id DESC LIMIT 1");
    EXPECT_NE(plan_2.find("USING INDEX keys_renews"), std::string::npos) << plan_2;
    // A store of schema 9 (before the index).
    db.exec("DROP INDEX keys_renews");
    db.exec("PRAGMA user_version = 9");
  }
  (void)Keystore::open(m_store);
  RawDb db(m_store);
  EXPECT_EQ(db.integer("PRAGMA user_version"), latest_schema_version());
  EXPECT_EQ(index_count(db), 1);
}

TEST_F(StoreTest, CreateRefusesAnExistingFileAndLeavesItAlone) {
  write_text(m_store, "precious data\n");
  const Error e = error_of([&] { create_store(); });
  EXPECT_EQ(e.code(), Errc::AlreadyExists);
  EXPECT_EQ(read_text(m_store), "precious data\n");
  EXPECT_FALSE(fs::exists(m_store.string() + "-wal"));
}

TEST_F(StoreTest, CreateRefusesAnExistingStore) {
  create_store();
  const auto before = read_text(m_store);
  EXPECT_EQ(error_of([&] { create_store(); }).code(), Errc::AlreadyExists);
  EXPECT_EQ(read_text(m_store), before);
  EXPECT_NO_THROW(open_unlocked());
}

TEST_F(StoreTest, CreateNeverWritesThroughASymlink) {
  const fs::path target = m_dir / "target.db";
  fs::create_symlink(target, m_store);
  const Error e = error_of([&] { create_store(); });
  EXPECT_NE(e.code(), Errc::Internal);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(StoreTest, OpenAndUnlockWithTheRightPassphrase) {
  create_store();
  Keystore ks = Keystore::open(m_store);
  EXPECT_FALSE(ks.unlocked());
  EXPECT_EQ(ks.header().kdf, "scrypt");
  EXPECT_EQ(ks.header().kdf_params.log2_n, 10u);
  EXPECT_EQ(ks.header().created_at, k_now);
  ks.unlock(as_span(k_passphrase));
  EXPECT_TRUE(ks.unlocked());
  EXPECT_EQ(ks.path(), m_store);
}

TEST_F(StoreTest, WrongPassphrase) {
  create_store();
  Keystore ks = Keystore::open(m_store);
  for (std::string_view wrong : {"correct horse battery stapl", "Correct horse battery staple",
                                 "correct horse battery staple\n", ""}) {
    const Error e = error_of([&] { ks.unlock(as_span(wrong)); });
    EXPECT_EQ(e.code(), Errc::WrongPassphrase) << wrong;
    EXPECT_FALSE(ks.unlocked());
  }
}

TEST_F(StoreTest, DamagedSaltIsDamageNotAWrongPassphrase) {
  create_store();
  flip_header_byte(m_store, "kdf_salt");
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreDamaged);
  EXPECT_NE(e.summary().find("header"), std::string::npos) << e.summary();
}

TEST_F(StoreTest, DamagedChecksumIsDamage) {
  create_store();
  flip_header_byte(m_store, "checksum");
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreDamaged);
  EXPECT_NE(e.summary().find("header"), std::string::npos) << e.summary();
}

TEST_F(StoreTest, DamagedWrappedKeyOrCostIsDamage) {
  create_store();
  flip_header_byte(m_store, "wrapped_data_key");
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreDamaged);
  {
    RawDb db(m_store);
    db.exec("UPDATE store_header SET kdf_log2_n = 11");
  }
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreDamaged);
}

TEST_F(StoreTest, MissingHeaderRowIsDamage) {
  create_store();
  {
    RawDb db(m_store);
    db.exec("DELETE FROM store_header");
  }
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreDamaged);
}

TEST_F(StoreTest, NotAnSqliteFile) {
  write_text(m_store, "-----BEGIN CERTIFICATE-----\nthis is not a store at all\n");
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreInvalid);
  EXPECT_FALSE(e.cause().empty());
  EXPECT_EQ(read_text(m_store), "-----BEGIN CERTIFICATE-----\nthis is not a store at all\n");
}

TEST_F(StoreTest, ShortFileIsNotAStore) {
  write_text(m_store, "SQLite");
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreInvalid);
}

TEST_F(StoreTest, EmptyFile) {
  write_text(m_store, "");
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreInvalid);
  EXPECT_NE(e.cause().find("empty"), std::string::npos) << e.cause();
  EXPECT_EQ(fs::file_size(m_store), 0u);
}

TEST_F(StoreTest, OtherApplicationsDatabase) {
  {
    RawDb db(m_store);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
    db.exec("INSERT INTO notes (text) VALUES ('hello')");
  }
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreInvalid);
  EXPECT_NE(e.cause().find("application_id 0"), std::string::npos) << e.cause();
  RawDb db(m_store);
  EXPECT_EQ(db.integer("SELECT count(*) FROM notes"), 1);
  EXPECT_EQ(db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'keys'"), 0);
}

TEST_F(StoreTest, GarbageAfterSqliteMagicIsDamage) {
  std::string text("SQLite format 3", 16);
  text += std::string(4096, '\x5a');
  write_text(m_store, text);
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreDamaged);
}

TEST_F(StoreTest, MissingFile) {
  const Error e = error_of([&] { (void)Keystore::open(m_dir / "nothing-here.db"); });
  EXPECT_EQ(e.code(), Errc::StoreMissing);
  EXPECT_FALSE(fs::exists(m_dir / "nothing-here.db"));
}

TEST_F(StoreTest, DirectoryIsNotAStore) {
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_dir); }).code(), Errc::StoreInvalid);
}

TEST_F(StoreTest, NewerSchemaIsRefusedUnchanged) {
  create_store();
  {
    RawDb db(m_store);
    db.exec("PRAGMA user_version = 99");
  }
  const Error e = error_of([&] { (void)Keystore::open(m_store); });
  EXPECT_EQ(e.code(), Errc::StoreNewer);
  EXPECT_NE(e.cause().find("99"), std::string::npos) << e.cause();
  RawDb db(m_store);
  EXPECT_EQ(db.integer("PRAGMA user_version"), 99);
}

TEST_F(StoreTest, AddKeyThenOpenPrivateKey) {
  create_store();
  MadeKey k = make_key("www.example.com");
  std::int64_t id = 0;
  {
    Keystore ks = open_unlocked();
    id = ks.add_key(k.row, k.pkcs8);
    EXPECT_GT(id, 0);
  }
  // A fresh open: the key comes back from disk.
  Keystore ks = open_unlocked();
  const auto rec = ks.key_by_name("www.example.com");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->id, id);
  EXPECT_EQ(rec->algorithm, "ec-p256");
  EXPECT_TRUE(rec->has_private_key);
  EXPECT_EQ(rec->spki_der, k.row.spki_der);
  EXPECT_EQ(rec->spki_sha256, x509::spki_sha256_hex(k.row.spki_der));
  EXPECT_EQ(rec->dns, k.row.dns);
  EXPECT_EQ(rec->ip, k.row.ip);
  EXPECT_EQ(rec->subject, "CN=www.example.com");
  EXPECT_EQ(rec->created_at, k_now);
  EXPECT_FALSE(rec->current_certificate_id.has_value());
  EXPECT_FALSE(rec->last_backup_at.has_value());

  const SecureBytes pkcs8 = ks.open_private_key(*rec);
  EXPECT_EQ(pkcs8, k.pkcs8);
  const unsigned char* p = pkcs8.data();
  ossl::PKey back(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8.size())));
  ASSERT_TRUE(back);
  EXPECT_EQ(EVP_PKEY_eq(back.get(), k.key.get()), 1);

  EXPECT_TRUE(ks.key_by_spki(rec->spki_sha256).has_value());
  EXPECT_FALSE(ks.key_by_name("other").has_value());
  EXPECT_FALSE(ks.key_by_spki(std::string(64, '0')).has_value());
}

TEST_F(StoreTest, PrivateKeyIsSealedOnDisk) {
  create_store();
  MadeKey k = make_key("sealed.example");
  {
    Keystore ks = open_unlocked();
    ks.add_key(k.row, k.pkcs8);
  }
  RawDb db(m_store);
  const Bytes sealed = db.blob("SELECT sealed_private_key FROM keys WHERE name = 'sealed.example'");
  EXPECT_EQ(sealed.size(), k_nonce_size + k.pkcs8.size() + k_tag_size);
  const std::string text(sealed.begin(), sealed.end());
  const std::string secret(k.pkcs8.begin() + 20, k.pkcs8.end());
  EXPECT_EQ(text.find(secret), std::string::npos);
}

TEST_F(StoreTest, AddKeyNeedsUnlock) {
  create_store();
  MadeKey k = make_key("locked.example");
  Keystore ks = Keystore::open(m_store);
  EXPECT_EQ(error_of([&] { ks.add_key(k.row, k.pkcs8); }).code(), Errc::Internal);
  EXPECT_TRUE(ks.all_keys().empty());
}

TEST_F(StoreTest, DuplicateNameOrKeyIsRefused) {
  create_store();
  Keystore ks = open_unlocked();
  MadeKey a = make_key("a.example");
  ks.add_key(a.row, a.pkcs8);
  MadeKey b = make_key("a.example");
  EXPECT_EQ(error_of([&] { ks.add_key(b.row, b.pkcs8); }).code(), Errc::AlreadyExists);
  NewKey same_key = a.row;
  same_key.name = "other.example";
  EXPECT_EQ(error_of([&] { ks.add_key(same_key, a.pkcs8); }).code(), Errc::AlreadyExists);
  EXPECT_EQ(ks.all_keys().size(), 1u);
}

TEST_F(StoreTest, SwappedSealedKeysAreDetected) {
  create_store();
  MadeKey a = make_key("alpha.example");
  MadeKey b = make_key("beta.example");
  {
    Keystore ks = open_unlocked();
    ks.add_key(a.row, a.pkcs8);
    ks.add_key(b.row, b.pkcs8);
  }
  {
    RawDb db(m_store);
    const Bytes sa = db.blob("SELECT sealed_private_key FROM keys WHERE name = 'alpha.example'");
    const Bytes sb = db.blob("SELECT sealed_private_key FROM keys WHERE name = 'beta.example'");
    ASSERT_FALSE(sa.empty());
    ASSERT_FALSE(sb.empty());
    db.set_blob("UPDATE keys SET sealed_private_key = ? WHERE name = 'alpha.example'", sb);
    db.set_blob("UPDATE keys SET sealed_private_key = ? WHERE name = 'beta.example'", sa);
  }
  Keystore ks = open_unlocked();
  for (const char* name : {"alpha.example", "beta.example"}) {
    const auto rec = ks.key_by_name(name);
    ASSERT_TRUE(rec.has_value());
    const Error e = error_of([&] { (void)ks.open_private_key(*rec); });
    EXPECT_EQ(e.code(), Errc::StoreDamaged) << name;
    EXPECT_NE(e.summary().find(std::string("\"") + name + "\""), std::string::npos)
        << e.summary();
  }
}

TEST_F(StoreTest, FlippedSealedKeyByteIsDetected) {
  create_store();
  MadeKey a = make_key("gamma.example");
  {
    Keystore ks = open_unlocked();
    ks.add_key(a.row, a.pkcs8);
  }
  {
    RawDb db(m_store);
    Bytes sealed = db.blob("SELECT sealed_private_key FROM keys");
    sealed[sealed.size() / 2] ^= 0x01;
    db.set_blob("UPDATE keys SET sealed_private_key = ?", sealed);
  }
  Keystore ks = open_unlocked();
  const auto rec = ks.key_by_name("gamma.example");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(error_of([&] { (void)ks.open_private_key(*rec); }).code(), Errc::StoreDamaged);
}

TEST_F(StoreTest, AddCertificateAndReadEntries) {
  create_store();
  Keystore ks = open_unlocked();
  MadeKey a = make_key("a.example");
  MadeKey b = make_key("b.example");
  const std::int64_t a_id = ks.add_key(a.row, a.pkcs8);
  ks.add_key(b.row, b.pkcs8);

  const std::int64_t not_before = k_now - 86400;
  const std::int64_t not_after = k_now + 90 * 86400;
  const ossl::Cert cert = make_certificate(a.key.get(), "a.example", not_before, not_after, 0x1234);
  NewCertificate nc = new_certificate(cert.get(), k_now);
  const ossl::Cert issuer = make_certificate(b.key.get(), "issuer", not_before, not_after, 7);
  nc.chain.push_back(x509::certificate_der(issuer.get()));
  const std::int64_t cert_id = ks.add_certificate(a_id, nc, true);

  const auto entries = ks.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].key.name, "a.example");  // name order
  EXPECT_EQ(entries[1].key.name, "b.example");
  EXPECT_FALSE(entries[1].current.has_value());
  EXPECT_EQ(entries[1].certificate_count, 0);

  const EntryRecord& e = entries[0];
  ASSERT_TRUE(e.current.has_value());
  EXPECT_EQ(e.certificate_count, 1);
  EXPECT_EQ(e.key.current_certificate_id, std::optional<std::int64_t>(cert_id));
  const CertificateRecord& c = *e.current;
  EXPECT_EQ(c.id, cert_id);
  EXPECT_EQ(c.key_id, a_id);
  EXPECT_EQ(c.subject, "CN=a.example");
  EXPECT_EQ(c.issuer, "CN=Store Test CA");
  EXPECT_EQ(c.serial, "1234");
  EXPECT_EQ(c.not_before, not_before);
  EXPECT_EQ(c.not_after, not_after);
  EXPECT_EQ(c.dns, std::vector<std::string>{"a.example"});
  EXPECT_EQ(c.ip, std::vector<std::string>{"192.0.2.1"});
  EXPECT_FALSE(c.is_ca);
  EXPECT_FALSE(c.chain_trusted);
  EXPECT_EQ(c.chain_problem, "unable to get local issuer certificate");
  EXPECT_EQ(c.installed_at, k_now);
  EXPECT_EQ(c.spki_sha256, e.key.spki_sha256);
  // The fingerprint is the SHA-256 of the DER, computed here with EVP_Digest.
  unsigned char md[32];
  unsigned int md_len = 0;
  EVP_Digest(nc.der.data(), nc.der.size(), md, &md_len, EVP_sha256(), nullptr);
  EXPECT_EQ(c.fingerprint_sha256, to_hex(Bytes(md, md + md_len)));

  const auto one = ks.entry("a.example");
  ASSERT_TRUE(one.has_value());
  ASSERT_TRUE(one->current.has_value());
  EXPECT_EQ(one->current->fingerprint_sha256, c.fingerprint_sha256);
  EXPECT_EQ(one->certificate_count, 1);
  EXPECT_FALSE(ks.entry("nope").has_value());

  EXPECT_TRUE(ks.certificate_by_fingerprint(c.fingerprint_sha256).has_value());
  EXPECT_EQ(ks.certificates_of(a_id).size(), 1u);
  const auto chain = ks.chain_of(cert_id);
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0], x509::certificate_der(issuer.get()));
}

TEST_F(StoreTest, CertificateHistoryAndCurrentPointer) {
  create_store();
  Keystore ks = open_unlocked();
  MadeKey a = make_key("h.example");
  const std::int64_t id = ks.add_key(a.row, a.pkcs8);
  const ossl::Cert first = make_certificate(a.key.get(), "h.example", k_now, k_now + 86400 * 30, 1);
  const ossl::Cert second =
      make_certificate(a.key.get(), "h.example", k_now + 100, k_now + 86400 * 60, 2);
  const std::int64_t first_id = ks.add_certificate(id, new_certificate(first.get(), k_now), true);
  const std::int64_t second_id =
      ks.add_certificate(id, new_certificate(second.get(), k_now), false);
  const auto e = ks.entry("h.example");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->certificate_count, 2);
  ASSERT_TRUE(e->current.has_value());
  EXPECT_EQ(e->current->id, first_id);  // make_current = false left the pointer alone
  const auto history = ks.certificates_of(id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].id, first_id);
  EXPECT_EQ(history[1].id, second_id);
}

TEST_F(StoreTest, ExpiringFilter) {
  create_store();
  Keystore ks = open_unlocked();
  MadeKey soon = make_key("soon.example");
  MadeKey late = make_key("late.example");
  MadeKey gone = make_key("gone.example");
  MadeKey pending = make_key("pending.example");
  const auto soon_id = ks.add_key(soon.row, soon.pkcs8);
  const auto late_id = ks.add_key(late.row, late.pkcs8);
  const auto gone_id = ks.add_key(gone.row, gone.pkcs8);
  ks.add_key(pending.row, pending.pkcs8);
  const std::int64_t day = 86400;
  const ossl::Cert c1 = make_certificate(soon.key.get(), "soon", k_now - day, k_now + 10 * day, 1);
  const ossl::Cert c2 = make_certificate(late.key.get(), "late", k_now - day, k_now + 200 * day, 2);
  const ossl::Cert c3 = make_certificate(gone.key.get(), "gone", k_now - 90 * day, k_now - day, 3);
  ks.add_certificate(soon_id, new_certificate(c1.get(), k_now), true);
  ks.add_certificate(late_id, new_certificate(c2.get(), k_now), true);
  ks.add_certificate(gone_id, new_certificate(c3.get(), k_now), true);

  EXPECT_EQ(ks.entries().size(), 4u);
  const auto within_30 = ks.entries(k_now + 30 * day);
  ASSERT_EQ(within_30.size(), 2u);
  EXPECT_EQ(within_30[0].key.name, "gone.example");
  EXPECT_EQ(within_30[1].key.name, "soon.example");
  EXPECT_EQ(within_30[0].certificate_count, 1);
  // The bound is inclusive: notAfter exactly at the bound is listed.
  const auto exact = ks.entries(k_now + 10 * day);
  ASSERT_EQ(exact.size(), 2u);
  EXPECT_EQ(ks.entries(k_now + 10 * day - 1).size(), 1u);
  EXPECT_EQ(ks.entries(k_now + 365 * day).size(), 3u);  // never the pending entry
}

TEST_F(StoreTest, ReadsNeedNoPassphrase) {
  create_store();
  MadeKey a = make_key("r.example");
  {
    Keystore ks = open_unlocked();
    ks.add_key(a.row, a.pkcs8);
  }
  Keystore ks = Keystore::open(m_store);
  EXPECT_EQ(ks.all_keys().size(), 1u);
  EXPECT_EQ(ks.entries().size(), 1u);
  const auto rec = ks.key_by_name("r.example");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(error_of([&] { (void)ks.open_private_key(*rec); }).code(), Errc::Internal);
}

// docs/FORMAT.md, implemented here with OpenSSL and SQLite only: the store must be readable
// without keysafe.
void put_u32(Bytes& out, std::uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_field(Bytes& out, const Bytes& field) {
  put_u32(out, field.size());
  out.insert(out.end(), field.begin(), field.end());
}

bool gcm_open(const Bytes& key, const Bytes& sealed, const Bytes& aad, Bytes& out) {
  if (key.size() != 32 || sealed.size() < 28) return false;
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto body = static_cast<int>(sealed.size() - 28);
  out.assign(static_cast<std::size_t>(body) + 16, 0);
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data() + 12, body) == 1;
  Bytes tag(sealed.end() - 16, sealed.end());
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1;
  int final_len = 0;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &final_len) == 1;
  out.resize(static_cast<std::size_t>(len + final_len));
  ERR_clear_error();
  return ok;
}

TEST_F(StoreTest, StoreFollowsTheFormatDocument) {
  create_store();
  MadeKey k = make_key("doc.example", x509::KeyAlgorithm::Rsa2048);
  {
    Keystore ks = open_unlocked();
    ks.add_key(k.row, k.pkcs8);
    ks.set_setting("backup_dir", as_span("/var/backups/keysafe"));
  }
  RawDb db(m_store);
  EXPECT_EQ(db.integer("PRAGMA application_id"), 1802723686);
  const Bytes store_id = db.blob("SELECT store_id FROM store_header WHERE id = 1");
  const Bytes salt = db.blob("SELECT kdf_salt FROM store_header WHERE id = 1");
  const Bytes wrapped = db.blob("SELECT wrapped_data_key FROM store_header WHERE id = 1");
  const Bytes checksum = db.blob("SELECT checksum FROM store_header WHERE id = 1");
  const std::int64_t log2_n = db.integer("SELECT kdf_log2_n FROM store_header WHERE id = 1");
  const std::int64_t r = db.integer("SELECT kdf_r FROM store_header WHERE id = 1");
  const std::int64_t p = db.integer("SELECT kdf_p FROM store_header WHERE id = 1");
  const std::int64_t created = db.integer("SELECT created_at FROM store_header WHERE id = 1");

  // The checksum.
  Bytes h;
  put_field(h, bytes_of("keysafe-header-v1"));
  put_field(h, store_id);
  put_field(h, bytes_of("scrypt"));
  put_u32(h, static_cast<std::uint64_t>(log2_n));
  put_u32(h, static_cast<std::uint64_t>(r));
  put_u32(h, static_cast<std::uint64_t>(p));
  put_field(h, salt);
  put_field(h, wrapped);
  put_u64(h, static_cast<std::uint64_t>(created));
  unsigned char md[32];
  unsigned int md_len = 0;
  ASSERT_EQ(EVP_Digest(h.data(), h.size(), md, &md_len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(checksum, Bytes(md, md + md_len));

  // KEK, data key, private key.
  Bytes kek(32);
  ASSERT_EQ(EVP_PBE_scrypt(k_passphrase.data(), k_passphrase.size(), salt.data(), salt.size(),
                           std::uint64_t{1} << log2_n, static_cast<std::uint64_t>(r),
                           static_cast<std::uint64_t>(p), 256u << 20, kek.data(), kek.size()),
            1);
  Bytes dk_aad;
  put_field(dk_aad, bytes_of("keysafe-data-key-v1"));
  put_field(dk_aad, store_id);
  put_field(dk_aad, bytes_of("integrity-v1"));  // the store has integrity MACs
  Bytes data_key;
  ASSERT_TRUE(gcm_open(kek, wrapped, dk_aad, data_key));
  EXPECT_EQ(data_key.size(), 32u);

  // The integrity MACs: HKDF-SHA-256 subkey, HMAC-SHA-256 over the encoded row.
  Bytes mac_key(32);
  {
    ossl::Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    ossl::KdfCtx kctx(EVP_KDF_CTX_new(kdf.get()));
    char digest[] = "SHA256";
    std::string info = "keysafe-integrity-v1 row-mac";
    Bytes salt_id = store_id;
    OSSL_PARAM ps[] = {
        OSSL_PARAM_construct_utf8_string("digest", digest, 0),
        OSSL_PARAM_construct_octet_string("key", data_key.data(), data_key.size()),
        OSSL_PARAM_construct_octet_string("salt", salt_id.data(), salt_id.size()),
        OSSL_PARAM_construct_octet_string("info", info.data(), info.size()),
        OSSL_PARAM_construct_end()};
    ASSERT_EQ(EVP_KDF_derive(kctx.get(), mac_key.data(), mac_key.size(), ps), 1);
  }
  const auto enc = [](Bytes& out, int type, const Bytes& value) {
    out.push_back(static_cast<std::uint8_t>(type));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(value.size() >> shift));
    out.insert(out.end(), value.begin(), value.end());
  };
  const auto hmac = [&](const Bytes& input) {
    unsigned char mac[32];
    unsigned int len = 0;
    EXPECT_NE(HMAC(EVP_sha256(), mac_key.data(), static_cast<int>(mac_key.size()), input.data(),
                   input.size(), mac, &len),
              nullptr);
    return Bytes(mac, mac + len);
  };
  Bytes setting_input;
  enc(setting_input, SQLITE_TEXT, bytes_of("settings"));
  enc(setting_input, SQLITE_TEXT, bytes_of("backup_dir"));
  enc(setting_input, SQLITE_BLOB, bytes_of("/var/backups/keysafe"));
  EXPECT_EQ(db.blob("SELECT mac FROM settings WHERE key = 'backup_dir'"), hmac(setting_input));
  Bytes head_input;
  enc(head_input, SQLITE_TEXT, bytes_of("audit_head"));
  enc(head_input, SQLITE_INTEGER, Bytes{0, 0, 0, 0, 0, 0, 0, 1});
  const std::int64_t last_id = db.integer("SELECT last_id FROM audit_head");
  Bytes last_id_be;
  for (int shift = 56; shift >= 0; shift -= 8)
    last_id_be.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(last_id) >> shift));
  enc(head_input, SQLITE_INTEGER, last_id_be);
  enc(head_input, SQLITE_BLOB, db.blob("SELECT last_hash FROM audit_head"));
  EXPECT_EQ(db.blob("SELECT mac FROM audit_head"), hmac(head_input));

  const std::int64_t key_id = db.integer("SELECT id FROM keys WHERE name = 'doc.example'");
  const Bytes sealed = db.blob("SELECT sealed_private_key FROM keys WHERE name = 'doc.example'");
  Bytes pk_aad;
  put_field(pk_aad, bytes_of("keysafe-private-key-v1"));
  put_field(pk_aad, store_id);
  put_u64(pk_aad, static_cast<std::uint64_t>(key_id));
  put_field(pk_aad, bytes_of(x509::spki_sha256_hex(k.row.spki_der)));
  Bytes pkcs8;
  ASSERT_TRUE(gcm_open(data_key, sealed, pk_aad, pkcs8));
  EXPECT_EQ(pkcs8, Bytes(k.pkcs8.begin(), k.pkcs8.end()));
}

TEST_F(StoreTest, CertificateOnlyEntryHasNoPrivateKey) {
  create_store();
  MadeKey k = make_key("nokey.example");
  {
    Keystore ks = open_unlocked();
    ks.add_key(k.row, k.pkcs8);
  }
  {
    RawDb db(m_store);
    db.exec("UPDATE keys SET sealed_private_key = NULL");
  }
  Keystore ks = open_unlocked();
  const auto rec = ks.key_by_name("nokey.example");
  ASSERT_TRUE(rec.has_value());
  EXPECT_FALSE(rec->has_private_key);
  EXPECT_EQ(error_of([&] { (void)ks.open_private_key(*rec); }).code(), Errc::NotFound);
}

TEST_F(StoreTest, UnknownKdfWithValidChecksumIsNewer) {
  create_store();
  {
    RawDb db(m_store);
    db.exec("UPDATE store_header SET kdf = 'argon2id'");
    // Re-seal the checksum over the changed field so only the KDF is unknown.
    StoreHeader h;
    h.store_id = db.blob("SELECT store_id FROM store_header");
    h.kdf = "argon2id";
    h.kdf_params = KdfParams{static_cast<std::uint32_t>(db.integer("SELECT kdf_log2_n FROM store_header")),
                             8, 1};
    h.kdf_salt = db.blob("SELECT kdf_salt FROM store_header");
    h.wrapped_data_key = db.blob("SELECT wrapped_data_key FROM store_header");
    h.created_at = db.integer("SELECT created_at FROM store_header");
    db.set_blob("UPDATE store_header SET checksum = ?", header_checksum(h));
  }
  EXPECT_EQ(error_of([&] { (void)Keystore::open(m_store); }).code(), Errc::StoreNewer);
}

TEST_F(StoreTest, DefaultCostEndToEnd) {
  const KdfParams defaults;
  ASSERT_EQ(defaults.log2_n, k_default_log2_n);
  ASSERT_EQ(defaults.log2_n, 17u);
  create_store(defaults);
  {
    RawDb db(m_store);
    EXPECT_EQ(db.integer("SELECT kdf_log2_n FROM store_header"), 17);
    EXPECT_EQ(db.integer("SELECT kdf_r FROM store_header"), 8);
    EXPECT_EQ(db.integer("SELECT kdf_p FROM store_header"), 1);
  }
  MadeKey k = make_key("default.example", x509::KeyAlgorithm::Ed25519);
  {
    Keystore ks = Keystore::open(m_store);
    EXPECT_EQ(ks.header().kdf_params.log2_n, 17u);
    EXPECT_EQ(error_of([&] { ks.unlock(as_span("not the passphrase")); }).code(),
              Errc::WrongPassphrase);
    ks.unlock(as_span(k_passphrase));
    ks.add_key(k.row, k.pkcs8);
  }
  Keystore ks = open_unlocked();
  const auto rec = ks.key_by_name("default.example");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(ks.open_private_key(*rec), k.pkcs8);
}

}  // namespace
}  // namespace keysafe::store

// ---------------------------------------------------------------------------------------------
// Integrity MACs (schema v9, docs/FORMAT.md "Integrity MACs")

namespace keysafe::store {
namespace {

class IntegrityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "keysafe-integrity-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
    m_store = m_dir / "keys.db";
    Keystore::create(m_store, as_span(k_passphrase), k_fast, k_now);
    Keystore ks = open_unlocked();
    ks.set_setting("backup_dir", as_span("/var/backups/keysafe"));
    ks.record("created", "www");
    ks.flush_audit();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  Keystore open_unlocked() {
    Keystore ks = Keystore::open(m_store);
    ks.unlock(as_span(k_passphrase));
    return ks;
  }
  // What the unlock of this store throws (or Internal "<none>" with a test failure).
  Error unlock_error() {
    return error_of([&] { (void)open_unlocked(); });
  }
  // Strips every MAC and the audit head and rolls the schema back to v8, as an attacker
  // with the sqlite3 shell would; with `plain_wrap`, also rewraps the data key without the
  // integrity marker, which needs the passphrase (how a v8 keysafe left the store).
  void downgrade_to_v8(bool plain_wrap, const SecureBytes* key_file_secret = nullptr) {
    RawDb db(m_store);
    for (const char* t : {"settings", "deployments", "key_slots", "authorities",
                          "issued_certificates", "audit_head"}) {
      db.exec(std::string("DROP TRIGGER ") + t + "_mac_insert");
      db.exec(std::string("DROP TRIGGER ") + t + "_mac_update");
      if (std::string(t) != "audit_head") db.exec(std::string("ALTER TABLE ") + t + " DROP COLUMN mac");
    }
    db.exec("DROP TABLE audit_head");
    db.exec("PRAGMA user_version = 8");
    if (!plain_wrap) return;
    StoreHeader h;
    h.store_id = db.blob("SELECT store_id FROM store_header");
    h.kdf_params = k_fast;
    h.kdf_salt = db.blob("SELECT kdf_salt FROM store_header");
    h.created_at = db.integer("SELECT created_at FROM store_header");
    const SecureBytes kek = derive_kek(as_span(k_passphrase), h.kdf_salt, k_fast);
    SecureBytes data_key;
    ASSERT_TRUE(aead_open(kek, db.blob("SELECT wrapped_data_key FROM store_header"),
                          integrity_data_key_aad(h.store_id), data_key));
    h.wrapped_data_key = aead_seal(kek, data_key, data_key_aad(h.store_id));
    h.checksum = header_checksum(h);
    db.set_blob("UPDATE store_header SET wrapped_data_key = ?", h.wrapped_data_key);
    db.set_blob("UPDATE store_header SET checksum = ?", h.checksum);
    if (key_file_secret == nullptr) return;
    // The key slot's KEK (docs/FORMAT.md, "Key files").
    Bytes kek_input = bytes_of("keysafe-key-file-kek-v1");
    kek_input.insert(kek_input.end(), key_file_secret->begin(), key_file_secret->end());
    const Bytes slot_kek = sha256(kek_input);
    db.set_blob("UPDATE key_slots SET wrapped_data_key = ?",
                aead_seal(slot_kek, data_key, data_key_aad(h.store_id)));
  }
  fs::path m_dir;
  fs::path m_store;
};

TEST_F(IntegrityTest, AFreshStoreVerifies) {
  Keystore ks = open_unlocked();
  EXPECT_TRUE(ks.has_integrity());
  EXPECT_TRUE(ks.tampering().empty());
  EXPECT_EQ(ks.integrity_added(), std::nullopt);
}

TEST_F(IntegrityTest, AnEditedSettingIsTamperingNamedOnUnlock) {
  {
    RawDb db(m_store);
    db.exec("DROP TRIGGER settings_mac_update");
    db.exec("UPDATE settings SET value = CAST('/tmp/attacker' AS BLOB) WHERE key = 'backup_dir'");
  }
  const Error e = unlock_error();
  EXPECT_EQ(e.code(), Errc::StoreTampered);
  EXPECT_NE(e.summary().find("tampered"), std::string::npos) << e.summary();
  EXPECT_NE(e.cause().find("settings row key \"backup_dir\""), std::string::npos) << e.cause();
  // Reported, not refused, for check.
  Keystore ks = Keystore::open(m_store);
  ks.unlock(as_span(k_passphrase), OnTampering::Report);
  const auto found = ks.tampering();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].table, "settings");
  EXPECT_EQ(found[0].row, "key \"backup_dir\"");
}

// Schema v13: an ACME account's row carries a MAC (a changed directory URL is tampering named
// by the account), and its key, sealed under the data key for the account's name, opens only
// for that name and is re-sealed when the data key is rotated.
TEST_F(IntegrityTest, AcmeAccountsAreMacdAndTheirKeysSealed) {
  const Bytes secret = bytes_of("account key pkcs8 stand-in");
  {
    Keystore ks = open_unlocked();
    store::AcmeAccountRecord a;
    a.name = "pebble";
    a.directory_url = "https://127.0.0.1:14000/dir";
    a.account_url = "https://127.0.0.1:14000/my-account/1";
    a.contact = R"(["mailto:a@example.test"])";
    a.status = "valid";
    a.key_algorithm = "ec-p256";
    a.jwk_thumbprint = "t";
    a.sealed_private_key = ks.seal_secret(store::acme_account_purpose("pebble"), secret);
    a.created_at = k_now;
    ks.write([&](Database& db) { store::insert_acme_account(db, a); });
    EXPECT_TRUE(ks.tampering().empty());
    EXPECT_EQ(ks.rotate_data_key(), 0u);
  }
  {
    Keystore ks = open_unlocked();
    const auto a = store::acme_account_by_name(ks.database(), "pebble");
    ASSERT_TRUE(a);
    const auto opened = ks.open_secret(store::acme_account_purpose("pebble"), a->sealed_private_key);
    EXPECT_EQ(Bytes(opened.begin(), opened.end()), secret);
    EXPECT_THROW((void)ks.open_secret(store::acme_account_purpose("other"), a->sealed_private_key), Error);
  }
  {
    RawDb db(m_store);
    db.exec("DROP TRIGGER acme_accounts_mac_update");
    db.exec("UPDATE acme_accounts SET directory_url = 'https://attacker.example/dir'");
  }
  const Error e = unlock_error();
  EXPECT_EQ(e.code(), Errc::StoreTampered);
  EXPECT_NE(e.cause().find("acme_accounts row account \"pebble\""), std::string::npos) << e.cause();
}

TEST_F(IntegrityTest, AWriteToAProtectedTableNeedsTheUnlockedStore) {
  Keystore ks = Keystore::open(m_store);
  EXPECT_THROW(ks.set_setting("backup_dir", as_span("/elsewhere")), Error);
  RawDb db(m_store);
  EXPECT_EQ(db.blob("SELECT value FROM settings WHERE key = 'backup_dir'"),
            bytes_of("/var/backups/keysafe"));
}

TEST_F(IntegrityTest, TheLastAuditRowRemovedIsCaught) {
  {
    RawDb db(m_store);
    db.exec("DROP TRIGGER audit_no_delete");
    db.exec("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)");
  }
  const Error e = unlock_error();
  EXPECT_EQ(e.code(), Errc::StoreTampered);
  EXPECT_NE(e.cause().find("audit row 1: is missing"), std::string::npos) << e.cause();
}

TEST_F(IntegrityTest, RowsAppendedWhileLockedAreCoveredByTheNextUnlockedWrite) {
  {
    Keystore locked = Keystore::open(m_store);
    locked.record("deleted", "old");
    locked.flush_audit();
  }
  {
    Keystore ks = open_unlocked();  // the row past the head is fine
    ks.set_setting("backup_dir", as_span("/var/backups/other"));
  }
  RawDb db(m_store);
  EXPECT_EQ(db.integer("SELECT last_id FROM audit_head"), 2);
}

TEST_F(IntegrityTest, AnOlderStoreGetsItsMacsOnFirstUnlockAndLosesItsKeySlots) {
  const SecureBytes secret = random_secret(32);
  open_unlocked().add_key_file(secret, k_now);
  downgrade_to_v8(true, &secret);
  {
    // A key file of a v8 store still unlocks it (no keyed checks yet): the first passphrase
    // unlock adds the MACs.
    Keystore ks = Keystore::open(m_store);
    ks.unlock_with_key_file(secret);
    EXPECT_FALSE(ks.has_integrity());
  }
  {
    Keystore ks = open_unlocked();
    EXPECT_EQ(ks.integrity_added(), std::optional<std::size_t>(1));
    EXPECT_TRUE(ks.has_integrity());
    EXPECT_TRUE(ks.tampering().empty());
    EXPECT_EQ(ks.key_file_count(), 0);
  }
  Keystore again = open_unlocked();
  EXPECT_EQ(again.integrity_added(), std::nullopt);
  EXPECT_TRUE(again.has_integrity());
  EXPECT_EQ(error_of([&] { Keystore::open(m_store).unlock_with_key_file(secret); }).code(),
            Errc::WrongPassphrase);
}

TEST_F(IntegrityTest, AnOldKeySlotPutBackIntoAStoreWithMacsIsTampering) {
  const SecureBytes secret = random_secret(32);
  open_unlocked().add_key_file(secret, k_now);
  // The slot rewrapped without the marker (as a copy kept from before v9 would be), the rest
  // of the store left as it is.
  {
    RawDb db(m_store);
    const Bytes store_id = db.blob("SELECT store_id FROM store_header");
    const SecureBytes kek = derive_kek(as_span(k_passphrase),
                                       db.blob("SELECT kdf_salt FROM store_header"), k_fast);
    SecureBytes data_key;
    ASSERT_TRUE(aead_open(kek, db.blob("SELECT wrapped_data_key FROM store_header"),
                          integrity_data_key_aad(store_id), data_key));
    Bytes kek_input = bytes_of("keysafe-key-file-kek-v1");
    kek_input.insert(kek_input.end(), secret.begin(), secret.end());
    db.exec("DROP TRIGGER key_slots_mac_update");
    db.set_blob("UPDATE key_slots SET wrapped_data_key = ?",
                aead_seal(sha256(kek_input), data_key, data_key_aad(store_id)));
  }
  const Error e = error_of([&] { Keystore::open(m_store).unlock_with_key_file(secret); });
  EXPECT_EQ(e.code(), Errc::StoreTampered);
  EXPECT_NE(e.cause().find("without the integrity marker"), std::string::npos) << e.cause();
}

TEST_F(IntegrityTest, StrippedMacsAndARolledBackSchemaAreTampering) {
  downgrade_to_v8(false);
  {
    RawDb db(m_store);
    db.exec("UPDATE settings SET value = CAST('/tmp/attacker' AS BLOB)");
  }
  EXPECT_EQ(Keystore::open_for_listing(m_store).all_keys().size(), 0u);  // reads still work
  const Error e = unlock_error();
  EXPECT_EQ(e.code(), Errc::StoreTampered);
  EXPECT_NE(e.cause().find("settings row key \"backup_dir\": it has no MAC"), std::string::npos)
      << e.cause();
  EXPECT_NE(e.cause().find("audit_head row 1: is missing"), std::string::npos) << e.cause();
  RawDb db(m_store);
  EXPECT_EQ(db.integer("SELECT count(*) FROM settings WHERE mac IS NOT NULL"), 0);
}

TEST_F(IntegrityTest, RotatingTheDataKeyResealsEveryKeyAndDropsKeySlots) {
  MadeKey k = make_key("rotate.example");
  Bytes old_sealed;
  Bytes old_wrapped;
  {
    Keystore ks = open_unlocked();
    ks.add_key(k.row, k.pkcs8);
    ks.add_key_file(random_secret(32), k_now);
    RawDb db(m_store);
    old_sealed = db.blob("SELECT sealed_private_key FROM keys");
    old_wrapped = db.blob("SELECT wrapped_data_key FROM store_header");
    EXPECT_EQ(ks.rotate_data_key(), 1u);
    EXPECT_TRUE(ks.tampering().empty());
  }
  Keystore ks = open_unlocked();
  EXPECT_TRUE(ks.tampering().empty());
  EXPECT_EQ(ks.key_file_count(), 0);
  EXPECT_EQ(ks.open_private_key(*ks.key_by_name("rotate.example")), k.pkcs8);
  // The old data key opens nothing sealed now.
  RawDb db(m_store);
  const Bytes store_id = db.blob("SELECT store_id FROM store_header");
  const SecureBytes kek = derive_kek(as_span(k_passphrase), db.blob("SELECT kdf_salt FROM store_header"), k_fast);
  SecureBytes old_key;
  ASSERT_TRUE(aead_open(kek, old_wrapped, integrity_data_key_aad(store_id), old_key));
  const Bytes sealed = db.blob("SELECT sealed_private_key FROM keys");
  EXPECT_NE(sealed, old_sealed);
  SecureBytes pkcs8;
  EXPECT_FALSE(aead_open(old_key, sealed,
                         private_key_aad(store_id, ks.key_by_name("rotate.example")->id,
                                         ks.key_by_name("rotate.example")->spki_sha256),
                         pkcs8));
  const std::vector<std::string> audit = [&] {
    std::vector<std::string> actions;
    for (const auto& r : ks.audit_log()) actions.push_back(r.action);
    return actions;
  }();
  EXPECT_EQ(audit.back(), "data-key-rotated");
}

TEST_F(IntegrityTest, RotationNeedsThePassphraseNotAKeyFile) {
  const SecureBytes secret = random_secret(32);
  open_unlocked().add_key_file(secret, k_now);
  Keystore ks = Keystore::open(m_store);
  ks.unlock_with_key_file(secret);
  EXPECT_EQ(error_of([&] { (void)ks.rotate_data_key(); }).code(), Errc::Usage);
}


// SQL is written with `?`; the PostgreSQL backend numbers them. What PostgreSQL does not read
// as tokens keeps its `?` and is copied byte for byte.
TEST(PgPlaceholders, NumbersEachPlaceholderInOrder) {
  const auto n = numbered_placeholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)");
  EXPECT_EQ(n.sql, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(n.parameters, 3);
  EXPECT_EQ(numbered_placeholders("SELECT 1").parameters, 0);
  EXPECT_EQ(numbered_placeholders("?").sql, "$1");
  EXPECT_EQ(numbered_placeholders("f(?,?)").sql, "f($1,$2)");
}

TEST(PgPlaceholders, LeavesQuotedTextAndIdentifiersAlone) {
  auto n = numbered_placeholders("SELECT '?', \"a?b\", ? FROM t WHERE x = 'it''s ?' AND y = ?");
  EXPECT_EQ(n.sql, "SELECT '?', \"a?b\", $1 FROM t WHERE x = 'it''s ?' AND y = $2");
  EXPECT_EQ(n.parameters, 2);
  n = numbered_placeholders("SELECT \"q\"\"?\" , ?");
  EXPECT_EQ(n.sql, "SELECT \"q\"\"?\" , $1");
  // An unterminated literal runs to the end (the server reports it).
  n = numbered_placeholders("SELECT ?, 'open ?");
  EXPECT_EQ(n.sql, "SELECT $1, 'open ?");
}

TEST(PgPlaceholders, LeavesDollarQuotedBodiesAlone) {
  auto n = numbered_placeholders("SELECT $$ a ? ' b $$, ?, $fn$ ? $$ ? $fn$, ?");
  EXPECT_EQ(n.sql, "SELECT $$ a ? ' b $$, $1, $fn$ ? $$ ? $fn$, $2");
  EXPECT_EQ(n.parameters, 2);
  // $1x$ is no tag (a digit first); a$b$ is an identifier, not a dollar quote.
  n = numbered_placeholders("SELECT $1x$ ?, a$b$ ?");
  EXPECT_EQ(n.sql, "SELECT $1x$ $1, a$b$ $2");
}

TEST(PgPlaceholders, LeavesCommentsAlone) {
  auto n = numbered_placeholders("SELECT ? -- why? 'x\nFROM t /* a ? /* nested ? */ still ? */ WHERE ?");
  EXPECT_EQ(n.sql, "SELECT $1 -- why? 'x\nFROM t /* a ? /* nested ? */ still ? */ WHERE $2");
  EXPECT_EQ(n.parameters, 2);
  // A lone minus or slash is an operator.
  n = numbered_placeholders("SELECT ? - ?, ? / ?");
  EXPECT_EQ(n.sql, "SELECT $1 - $2, $3 / $4");
}

}  // namespace
}  // namespace keysafe::store
