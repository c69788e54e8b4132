// Shared by the unit tests: corpus rows, temp dirs, peer tools, test keys and certificates made
// with OpenSSL's own APIs (never by keysafe).
#pragma once

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::testing {

inline const std::filesystem::path k_corpus = std::filesystem::path(KEYSAFE_TEST_DATA) / "corpus";

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline SecureBytes secret(std::string_view s) { return SecureBytes(s.begin(), s.end()); }

// One MANIFEST.tsv row (columns: file kind password expected note format password_hex
// needs_legacy contents ...).
struct ManifestRow {
  std::string file;
  std::string password;  // "<none>", "<empty>" or the literal
  std::string expected;  // ok / error / weak / either / nocrash
  std::string note;
  std::string password_hex;
  std::string contents;

  // password_hex carries the exact bytes (ISO-8859-1 rows differ from the UTF-8 column).
  std::optional<SecureBytes> password_bytes() const {
    if (password == "<none>") return std::nullopt;
    SecureBytes out;
    for (std::size_t i = 0; i + 1 < password_hex.size(); i += 2)
      out.push_back(static_cast<std::uint8_t>(std::stoi(password_hex.substr(i, 2), nullptr, 16)));
    return out;
  }
  // "keys=1;certs=3" → the number after `what=`, or -1.
  int count(const std::string& what) const {
    const auto at = contents.find(what + "=");
    if (at == std::string::npos) return -1;
    return std::atoi(contents.c_str() + at + what.size() + 1);
  }
};

inline void PrintTo(const ManifestRow& row, std::ostream* os) {
  *os << row.file << " [" << row.password << "] " << row.expected;
}

inline std::vector<ManifestRow> manifest_rows(std::string_view prefix) {
  std::vector<ManifestRow> rows;
  std::ifstream in(k_corpus / "MANIFEST.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() < 9 || f[0].rfind(prefix, 0) != 0) continue;
    rows.push_back(ManifestRow{f[0], f[2], f[3], f[4], f[6], f[8]});
  }
  return rows;
}

inline std::string row_name(const ::testing::TestParamInfo<ManifestRow>& info) {
  std::string n = info.param.file;
  for (auto& c : n)
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  return n + "_" + std::to_string(info.index);
}

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The error codes an "error" row may raise, from what the row is about.
inline std::vector<Errc> expected_codes(const ManifestRow& row) {
  const std::string file = lower(row.file);
  if (file.find("pbmac1") != std::string::npos || file.find("gost") != std::string::npos ||
      file.find("bad-encryption-oid") != std::string::npos)
    return {Errc::Unsupported};
  // An unknown named curve: keysafe cannot use it (Unsupported).
  if (file.find("ec-with-domain-params") != std::string::npos) return {Errc::Unsupported};
  if (file.find("bad") != std::string::npos || file.find("garbage") != std::string::npos ||
      file.find("jks") != std::string::npos || file.find("pem-edge") != std::string::npos)
    return {Errc::Damaged, Errc::BadInput};
  return {Errc::FilePassword};  // wrong, missing, transliterated or mis-encoded passwords
}

// A corpus file the manifest lists as "error" was refused the way it says: one of its codes,
// a summary naming the file, a cause and a remedy, and OpenSSL's error queue left empty.
inline void expect_refused_as_listed(const ManifestRow& row, const std::optional<Error>& err) {
  ASSERT_TRUE(err.has_value()) << row.file << " was accepted";
  const auto codes = expected_codes(row);
  EXPECT_NE(std::find(codes.begin(), codes.end(), err->code()), codes.end())
      << "code " << errc_name(err->code()) << ": " << err->summary() << " / " << err->cause();
  EXPECT_NE(err->summary().find(row.file), std::string::npos) << "the summary names the file";
  EXPECT_FALSE(err->cause().empty());
  EXPECT_FALSE(err->remedy().empty());
  EXPECT_EQ(ERR_peek_error(), 0ul) << "the OpenSSL error queue was left non-empty";
}

inline std::vector<std::filesystem::path> fuzz_files() {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k_corpus / "fuzz"))
    if (entry.is_regular_file()) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "keysafe-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }
  std::string operator/(std::string_view name) const { return (m_path / name).string(); }

 private:
  std::filesystem::path m_path;
};

struct RunResult {
  int rc = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command (stdin from /dev/null so nothing can prompt), capturing its output.
inline RunResult run(const std::string& command) {
  RunResult result;
  const std::string full = "(" + command + ") </dev/null 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  result.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline bool have_tool(const std::string& name) {
  return run("command -v " + name).rc == 0;
}

#define KEYSAFE_REQUIRE_TOOL(name, package)                                                   \
  do {                                                                                        \
    if (!::keysafe::testing::have_tool(name))                                                 \
      GTEST_SKIP() << name << " is not installed (apt-get install -y " << package << ")";     \
  } while (0)

inline ossl::PKey ec_key() {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_TRUE(key);
  return key;
}

inline ossl::PKey rsa_key(std::size_t bits) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  EXPECT_TRUE(key);
  return key;
}

// A certificate for `key`, self-signed or signed by issuer/issuer_key.
inline ossl::Cert make_cert(const EVP_PKEY* key, const std::string& cn, bool ca,
                            const X509* issuer = nullptr, const EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1000;
  ossl::Cert cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, const_cast<EVP_PKEY*>(key));
  ossl::Extension bc(X509V3_EXT_nconf_nid(nullptr, nullptr, NID_basic_constraints,
                                          ca ? "critical,CA:TRUE" : "CA:FALSE"));
  X509_add_ext(x, bc.get(), -1);
  const EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : key;
  EXPECT_GT(X509_sign(x, const_cast<EVP_PKEY*>(signer), EVP_sha256()), 0);
  return cert;
}

// SHA-256 through EVP_Digest, independent of keysafe's sha256(), as lowercase hex.
inline std::string evp_sha256_hex(const unsigned char* data, std::size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EXPECT_EQ(EVP_Digest(data, len, md, &md_len, EVP_sha256(), nullptr), 1);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < md_len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

// A certificate's SHA-256 fingerprint, computed the same independent way.
inline std::string der_sha256_hex(const X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  EXPECT_GT(len, 0);
  std::string hex = evp_sha256_hex(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return hex;
}

// The SHA-256 of a certificate's DER SubjectPublicKeyInfo, computed the same independent way.
inline std::string independent_spki_sha256(const X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  EXPECT_GT(len, 0);
  std::string hex = evp_sha256_hex(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return hex;
}

// Adds the extension OpenSSL's config syntax `value` describes (e.g. "critical,CA:TRUE"), with
// `issuer` for authorityKeyIdentifier (null for a self-signed or issuer-less certificate).
inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline std::string pem_of(const X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509(bio.get(), cert), 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

inline std::string pem_of(const EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline ossl::Cert read_pem_cert(const std::string& path) {
  ossl::Bio bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return {};
  return ossl::Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace keysafe::testing
