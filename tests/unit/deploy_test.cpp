// Unit tests of keysafe::deploy on real files and processes: each layout written into a temp
// directory and read back with OpenSSL, atomic replacement and byte-exact rollback, the shell
// command runner, and the TLS probe against a loopback TLS server run in this process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "keysafe/deploy/command.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/deploy/layout.hpp"
#include "keysafe/deploy/probe.hpp"
#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ops/deploy.hpp"
#include "keysafe/ops/renew.hpp"
#include "keysafe/ossl/ssl_handles.hpp"
#include "keysafe/secret_variables.hpp"
#include "key_test_support.hpp"
#include "store_fixture.hpp"

namespace keysafe::deploy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using keysafe::testing::add_ext;
using keysafe::testing::error_of;
using keysafe::testing::TempDir;

// ---- certificates and keys made with OpenSSL's APIs (never by keysafe) --------------------

ossl::PKey new_ec_key() { return ossl::PKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

// A certificate for `key` named CN=`cn`, signed by `issuer`/`issuer_key` (self-signed when
// `issuer` is null).
ossl::Cert make_cert(EVP_PKEY* key, const std::string& cn, bool is_ca, X509* issuer,
                     EVP_PKEY* issuer_key, long serial) {
  ossl::Cert cert(X509_new());
  X509* c = cert.get();
  X509_set_version(c, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, X509_get_subject_name(issuer != nullptr ? issuer : c));
  X509_gmtime_adj(X509_getm_notBefore(c), -60);
  X509_gmtime_adj(X509_getm_notAfter(c), 30L * 86400);
  X509_set_pubkey(c, key);
  X509* signer = issuer != nullptr ? issuer : c;
  add_ext(c, signer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (!is_ca) add_ext(c, signer, NID_subject_alt_name, ("DNS:" + cn).c_str());
  EXPECT_GT(X509_sign(c, issuer_key != nullptr ? issuer_key : key, EVP_sha256()), 0);
  return cert;
}

std::string cert_pem(X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509(bio.get(), cert), 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

SecureBytes key_pem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return SecureBytes(p, p + n);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

std::string fingerprint(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  std::string out = sha256_hex({reinterpret_cast<const char*>(der), static_cast<std::size_t>(len)});
  OPENSSL_free(der);
  return out;
}

// A leaf signed by an intermediate signed by a root: what a server deploys.
struct Identity {
  ossl::PKey root_key = new_ec_key();
  ossl::Cert root = make_cert(root_key.get(), "Deploy Test Root", true, nullptr, nullptr, 1);
  ossl::PKey inter_key = new_ec_key();
  ossl::Cert inter =
      make_cert(inter_key.get(), "Deploy Test Intermediate", true, root.get(), root_key.get(), 2);
  ossl::PKey leaf_key = new_ec_key();
  ossl::Cert leaf =
      make_cert(leaf_key.get(), "www.deploy.test", false, inter.get(), inter_key.get(), 3);

  Material material() const {
    Material m;
    m.key_pem = key_pem(leaf_key.get());
    m.leaf_pem = cert_pem(leaf.get());
    m.chain_pem.push_back(cert_pem(inter.get()));
    return m;
  }
};

// ---- files -----------------------------------------------------------------------------------

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << p;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, std::string_view content, mode_t mode) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    ASSERT_TRUE(out.good()) << "cannot write " << p;
  }
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

unsigned mode_of(const fs::path& p) { return stat_of(p).st_mode & 07777; }

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// Every certificate of a PEM text, in order.
std::vector<ossl::Cert> certificates_in(const std::string& pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<ossl::Cert> out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the loop ends at "no start line"
  return out;
}

ossl::PKey private_key_in(const std::string& pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

std::vector<std::string> fingerprints(const std::vector<ossl::Cert>& certs) {
  std::vector<std::string> out;
  for (const auto& c : certs) out.push_back(fingerprint(c.get()));
  return out;
}

// Sets the umask for a scope: the modes keysafe writes must not depend on it.
class Umask final {
 public:
  explicit Umask(mode_t mask) : m_previous(::umask(mask)) {}
  ~Umask() { ::umask(m_previous); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t m_previous;
};

class LayoutFiles : public ::testing::Test {
 protected:
  FileSet write(Layout layout) { return FileSet::write(m_dir.path(), layout_files(layout, m_id.material())); }
  std::string file(const std::string& name) { return read_file(m_dir.path() / name); }
  unsigned mode(const std::string& name) { return mode_of(m_dir.path() / name); }
  // The key in `name` is the leaf's key, as OpenSSL judges it.
  void expect_leaf_key_in(const std::string& name) {
    const ossl::PKey key = private_key_in(file(name));
    ASSERT_TRUE(key) << name << " holds no private key OpenSSL can read";
    EXPECT_EQ(X509_check_private_key(m_id.leaf.get(), key.get()), 1) << name;
    ERR_clear_error();
  }

  Identity m_id;
  TempDir m_dir;
  Umask m_umask{077};  // certificates must still come out 0644
};

TEST_F(LayoutFiles, NginxIsFullchainAndKey) {
  (void)write(Layout::Nginx);
  EXPECT_EQ(names_in(m_dir.path()), (std::set<std::string>{"fullchain.pem", "privkey.pem"}));
  EXPECT_EQ(fingerprints(certificates_in(file("fullchain.pem"))),
            (std::vector<std::string>{fingerprint(m_id.leaf.get()), fingerprint(m_id.inter.get())}));
  expect_leaf_key_in("privkey.pem");
  EXPECT_EQ(file("privkey.pem").rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_EQ(mode("fullchain.pem"), 0644u);
  EXPECT_EQ(mode("privkey.pem"), 0600u);
  EXPECT_EQ(leaf_file(Layout::Nginx), "fullchain.pem");
}

TEST_F(LayoutFiles, ApacheIsCertChainAndKey) {
  (void)write(Layout::Apache);
  EXPECT_EQ(names_in(m_dir.path()),
            (std::set<std::string>{"cert.pem", "chain.pem", "privkey.pem"}));
  EXPECT_EQ(fingerprints(certificates_in(file("cert.pem"))),
            std::vector<std::string>{fingerprint(m_id.leaf.get())});
  EXPECT_EQ(fingerprints(certificates_in(file("chain.pem"))),
            std::vector<std::string>{fingerprint(m_id.inter.get())});
  expect_leaf_key_in("privkey.pem");
  EXPECT_EQ(mode("cert.pem"), 0644u);
  EXPECT_EQ(mode("chain.pem"), 0644u);
  EXPECT_EQ(mode("privkey.pem"), 0600u);
  EXPECT_EQ(leaf_file(Layout::Apache), "cert.pem");
}

TEST_F(LayoutFiles, ApacheChainIsEmptyWithoutIntermediates) {
  Material m = m_id.material();
  m.chain_pem.clear();
  (void)FileSet::write(m_dir.path(), layout_files(Layout::Apache, m));
  EXPECT_TRUE(fs::exists(m_dir.path() / "chain.pem"));
  EXPECT_EQ(file("chain.pem"), "");
  EXPECT_EQ(file("cert.pem"), m.leaf_pem);
}

TEST_F(LayoutFiles, HaproxyIsOneFileWithCertificateChainAndKey) {
  (void)write(Layout::Haproxy);
  EXPECT_EQ(names_in(m_dir.path()), std::set<std::string>{"haproxy.pem"});
  EXPECT_EQ(fingerprints(certificates_in(file("haproxy.pem"))),
            (std::vector<std::string>{fingerprint(m_id.leaf.get()), fingerprint(m_id.inter.get())}));
  expect_leaf_key_in("haproxy.pem");
  EXPECT_EQ(mode("haproxy.pem"), 0600u);  // it holds the key
  EXPECT_EQ(leaf_file(Layout::Haproxy), "haproxy.pem");
}

TEST_F(LayoutFiles, PemIsEveryFile) {
  (void)write(Layout::Pem);
  EXPECT_EQ(names_in(m_dir.path()),
            (std::set<std::string>{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}));
  const Material m = m_id.material();
  EXPECT_EQ(file("cert.pem"), m.leaf_pem);
  EXPECT_EQ(file("chain.pem"), m.chain_pem.front());
  EXPECT_EQ(file("fullchain.pem"), m.leaf_pem + m.chain_pem.front());
  expect_leaf_key_in("privkey.pem");
  EXPECT_EQ(mode("privkey.pem"), 0600u);
}

TEST(LayoutNames, ParseAndName) {
  for (const Layout l : {Layout::Nginx, Layout::Apache, Layout::Haproxy, Layout::Pem})
    EXPECT_EQ(parse_layout(layout_name(l)), l);
  const Error e = error_of([] { (void)parse_layout("iis"); });
  EXPECT_EQ(e.code(), Errc::Usage);
  EXPECT_NE(e.summary().find("iis"), std::string::npos);
}

// ---- FileSet: atomic replacement, refusal, rollback ----------------------------------------

DeployFile text(std::string name, std::string_view content, unsigned mode) {
  return DeployFile{std::move(name), SecureBytes(content.begin(), content.end()), mode, false, false};
}

TEST(FileSetTest, ReplacesByRenameAndRecordsWhatWasThere) {
  TempDir dir;
  const fs::path cert = dir.path() / "cert.pem";
  write_file(cert, "old certificate\n", 0640);
  const ino_t old_inode = stat_of(cert).st_ino;
  // A reader that opened the old file keeps reading the old file: it was never truncated.
  std::ifstream reader(cert, std::ios::binary);

  const FileSet set = FileSet::write(dir.path(), {text("cert.pem", "new certificate\n", 0644),
                                                  text("key.pem", "new key\n", 0600)});
  EXPECT_EQ(read_file(cert), "new certificate\n");
  EXPECT_NE(stat_of(cert).st_ino, old_inode);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reader), std::istreambuf_iterator<char>()),
            "old certificate\n");
  EXPECT_EQ(mode_of(cert), 0644u);
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"cert.pem", "key.pem"}))
      << "a temporary file was left behind";

  ASSERT_EQ(set.previous().size(), 2u);
  const PreviousFile& was_cert = set.previous()[0];
  EXPECT_TRUE(was_cert.existed);
  EXPECT_EQ(was_cert.path, cert);
  EXPECT_EQ(std::string(was_cert.content.begin(), was_cert.content.end()), "old certificate\n");
  EXPECT_EQ(was_cert.mode, 0640u);
  EXPECT_EQ(was_cert.sha256, sha256_hex("old certificate\n"));
  EXPECT_FALSE(set.previous()[1].existed);
}

TEST(FileSetTest, RestorePutsBackBytesAndModeAndRemovesNewFiles) {
  TempDir dir;
  // Not text: NUL bytes, CR LF, no final newline. Restored byte for byte.
  const std::string old_bytes("-----BEGIN\0CERT\r\nx\xff", 19);
  write_file(dir.path() / "fullchain.pem", old_bytes, 0604);
  FileSet set = FileSet::write(dir.path(), layout_files(Layout::Nginx, Identity().material()));
  ASSERT_NE(read_file(dir.path() / "fullchain.pem"), old_bytes);
  ASSERT_TRUE(fs::exists(dir.path() / "privkey.pem"));

  set.restore();
  EXPECT_EQ(read_file(dir.path() / "fullchain.pem"), old_bytes);
  EXPECT_EQ(mode_of(dir.path() / "fullchain.pem"), 0604u);
  EXPECT_FALSE(fs::exists(dir.path() / "privkey.pem")) << "a file that did not exist stays away";
  EXPECT_EQ(names_in(dir.path()), std::set<std::string>{"fullchain.pem"});
}

TEST(FileSetTest, RestoreGivesFilesBackToTheirOwnerAndGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  TempDir dir;
  const fs::path key = dir.path() / "privkey.pem";
  // A key the server reads by group (e.g. root:ssl-cert 0640), owned by someone else.
  write_file(key, "old key\n", 0640);
  ASSERT_EQ(::chown(key.c_str(), 4321, 8765), 0);
  FileSet set = FileSet::write(dir.path(), layout_files(Layout::Nginx, Identity().material()));
  ASSERT_EQ(stat_of(key).st_uid, 0u) << "the deployed file should be keysafe's (root's)";

  set.restore();
  const struct stat st = stat_of(key);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 8765u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(read_file(key), "old key\n");
  ASSERT_EQ(set.previous().size(), 2u);
  EXPECT_EQ(set.previous()[1].uid, 4321u);
  EXPECT_EQ(set.previous()[1].gid, 8765u);
}

// Files larger than `bytes` cannot be written for a scope (RLIMIT_FSIZE binds root too): a
// write fails with EFBIG midway through a FileSet, and so may its rollback.
class FileSizeLimit final {
 public:
  explicit FileSizeLimit(rlim_t bytes) : m_signal(::signal(SIGXFSZ, SIG_IGN)) {
    ::getrlimit(RLIMIT_FSIZE, &m_previous);
    struct rlimit r = m_previous;
    r.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &r), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &m_previous);
    ::signal(SIGXFSZ, m_signal);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit m_previous {};
  sighandler_t m_signal;
};

TEST(FileSetTest, FailureMidwayRollsBackWhatWasWritten) {
  TempDir dir;
  write_file(dir.path() / "first.pem", "first, before\n", 0644);
  // The second file is over the size limit: its write fails after the first succeeded.
  const Error e = error_of([&] {
    const FileSizeLimit limit(4096);
    (void)FileSet::write(dir.path(), {text("first.pem", "first, after\n", 0600),
                                      text("second.pem", std::string(8192, 'x'), 0644)});
  });
  EXPECT_EQ(e.code(), Errc::Io);
  EXPECT_EQ(e.summary().find("FAILED"), std::string::npos) << e.summary();
  EXPECT_EQ(read_file(dir.path() / "first.pem"), "first, before\n");
  EXPECT_EQ(mode_of(dir.path() / "first.pem"), 0644u);
  EXPECT_EQ(names_in(dir.path()), std::set<std::string>{"first.pem"});
}

TEST(FileSetTest, ARollbackThatFailsIsPartOfTheError) {
  TempDir dir;
  // first.pem's previous content is over the limit: putting it back fails as well.
  const std::string big(8192, 'b');
  write_file(dir.path() / "first.pem", big, 0644);
  const Error e = error_of([&] {
    const FileSizeLimit limit(4096);
    (void)FileSet::write(dir.path(), {text("first.pem", "first, after\n", 0600),
                                      text("second.pem", std::string(8192, 'x'), 0644)});
  });
  EXPECT_EQ(e.code(), Errc::Io);
  EXPECT_NE(e.summary().find("cannot write"), std::string::npos) << "the original error first";
  EXPECT_NE(e.summary().find("restoring the previous files FAILED"), std::string::npos)
      << e.summary();
  EXPECT_NE(e.cause().find((dir.path() / "first.pem").string()), std::string::npos) << e.cause();
  EXPECT_NE(e.remedy().find("by hand"), std::string::npos) << e.remedy();
  EXPECT_EQ(read_file(dir.path() / "first.pem"), "first, after\n") << "as the error says";
}

TEST(FileSetTest, RefusesSymlinksAndDirectoriesBeforeWritingAnything) {
  TempDir dir;
  fs::create_directory(dir.path() / "elsewhere");
  write_file(dir.path() / "elsewhere" / "target", "not ours\n", 0644);
  fs::create_symlink(dir.path() / "elsewhere" / "target", dir.path() / "privkey.pem");
  const auto files = layout_files(Layout::Nginx, Identity().material());
  const Error link = error_of([&] { (void)FileSet::write(dir.path(), files); });
  EXPECT_EQ(link.code(), Errc::Refused);
  EXPECT_NE(link.cause().find("symbolic link"), std::string::npos);
  EXPECT_EQ(read_file(dir.path() / "elsewhere" / "target"), "not ours\n");
  EXPECT_FALSE(fs::exists(dir.path() / "fullchain.pem")) << "written before the refusal";

  fs::remove(dir.path() / "privkey.pem");
  fs::create_directory(dir.path() / "privkey.pem");
  const Error directory = error_of([&] { (void)FileSet::write(dir.path(), files); });
  EXPECT_EQ(directory.code(), Errc::Refused);
  EXPECT_NE(directory.cause().find("not a regular file"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "fullchain.pem"));
}

TEST(FileSetTest, RollbackStaysInTheDirectoryEvenWhenItIsReplacedByASymlink) {
  TempDir dir;
  const fs::path site = dir.path() / "site";
  const fs::path outside = dir.path() / "outside";
  fs::create_directory(site);
  fs::create_directory(outside);
  write_file(site / "fullchain.pem", "old chain\n", 0644);
  // What a path-based rollback would overwrite and unlink through the link.
  write_file(outside / "fullchain.pem", "outside chain\n", 0640);
  write_file(outside / "privkey.pem", "outside key\n", 0600);
  FileSet set = FileSet::write(site, layout_files(Layout::Nginx, Identity().material()));

  fs::rename(site, dir.path() / "site.real");
  fs::create_directory_symlink(outside, site);
  set.restore();
  EXPECT_EQ(read_file(outside / "fullchain.pem"), "outside chain\n");
  EXPECT_EQ(mode_of(outside / "fullchain.pem"), 0640u);
  EXPECT_EQ(read_file(outside / "privkey.pem"), "outside key\n");
  EXPECT_EQ(read_file(dir.path() / "site.real" / "fullchain.pem"), "old chain\n");
  EXPECT_EQ(names_in(dir.path() / "site.real"), std::set<std::string>{"fullchain.pem"});
}

// Files that may hold a private key (import, install, a recovery key) are read into memory
// that is cleansed when freed.
TEST(Files, ReadSecretFileIsCleansingMemory) {
  static_assert(std::is_same_v<decltype(files::read_secret_file("")), SecureBytes>);
  TempDir dir;
  write_file(dir.path() / "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
  const SecureBytes key = files::read_secret_file(dir.path() / "key.pem");
  EXPECT_EQ(std::string(key.begin(), key.end()), "-----BEGIN PRIVATE KEY-----\n");
  const Error e = error_of([&] { (void)files::read_secret_file(dir.path()); });
  EXPECT_EQ(e.code(), Errc::Io);
  EXPECT_NE(e.cause().find("directory"), std::string::npos);
}

TEST(FileSetTest, FileSha256) {
  TempDir dir;
  EXPECT_FALSE(file_sha256(dir.path() / "none"));
  write_file(dir.path() / "a", "abc", 0644);
  EXPECT_EQ(file_sha256(dir.path() / "a"), sha256_hex("abc"));
  fs::create_symlink(dir.path() / "a", dir.path() / "link");
  EXPECT_EQ(error_of([&] { (void)file_sha256(dir.path() / "link"); }).code(), Errc::Refused);
}

// ---- ops::deploy_entry: whose files may be replaced ----------------------------------------

// "www" with a certificate from the store's local CA, and an empty target directory.
class DeployEntry : public keysafe::testing::StoreFixture {
 protected:
  DeployEntry() : StoreFixture(static_cast<std::int64_t>(std::time(nullptr))) {}
  void SetUp() override {
    StoreFixture::SetUp();
    ops::CaInitParams ca;
    ca.name = "root";
    ca.now = m_now;
    (void)ops::ca_init(*m_store, ca);
    ops::CreateParams www;
    www.name = "www";
    www.dns = {"www.deploy.test"};
    www.now = m_now;
    ops::prepare_create(*m_store, www);
    (void)ops::create_key(*m_store, www);
    ops::IssueOptions o;
    o.now = m_now;
    (void)ops::ca_sign_key(*m_store, ops::Authority::open(*m_store, "root"), "www", o);
    m_site = m_dir / "site";
    fs::create_directory(m_site);
  }
  ops::DeployResult deploy(bool force = false) {
    ops::DeployRequest r;
    r.name = "www";
    r.target_dir = m_site;
    r.force = force;
    r.now = m_now;
    return ops::deploy_entry(*m_store, r);
  }
  fs::path m_site;
};

TEST_F(DeployEntry, RefusesFilesKeysafeDidNotWriteUnlessForced) {
  const fs::path key = m_site / "privkey.pem";
  write_file(key, "the administrator's own key\n", 0600);
  const Error e = error_of([&] { (void)deploy(); });
  EXPECT_EQ(e.code(), Errc::Refused);
  EXPECT_NE(e.cause().find(key.string()), std::string::npos) << e.cause();
  EXPECT_NE(e.remedy().find("--force"), std::string::npos);
  EXPECT_EQ(read_file(key), "the administrator's own key\n");
  EXPECT_FALSE(fs::exists(m_site / "fullchain.pem")) << "written although refused";

  const ops::DeployResult forced = deploy(true);
  EXPECT_TRUE(forced.forced);
  const ossl::PKey deployed = private_key_in(read_file(key));
  ASSERT_TRUE(deployed);
  const auto leaf = certificates_in(read_file(m_site / "fullchain.pem"));
  ASSERT_FALSE(leaf.empty());
  EXPECT_EQ(X509_check_private_key(leaf.front().get(), deployed.get()), 1);
}

TEST_F(DeployEntry, ReplacesItsOwnFilesButNotOnesChangedSince) {
  EXPECT_FALSE(deploy().replaced_own);  // an empty directory
  const ops::DeployResult again = deploy();
  EXPECT_TRUE(again.replaced_own);
  EXPECT_FALSE(again.forced);
  // Edited by hand after keysafe wrote it: no longer keysafe's file.
  write_file(m_site / "fullchain.pem", "edited by hand\n", 0644);
  EXPECT_EQ(error_of([&] { (void)deploy(); }).code(), Errc::Refused);
  EXPECT_EQ(read_file(m_site / "fullchain.pem"), "edited by hand\n");
}

// ---- run_shell ----------------------------------------------------------------------------

TEST(RunShell, ExitStatusAndBothOutputStreams) {
  const auto o = run_shell("echo to-out; echo to-err >&2; exit 3", {}, 10s);
  EXPECT_EQ(o.exit_status, 3);
  EXPECT_FALSE(o.ok());
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.output, "to-out\nto-err\n");
  EXPECT_EQ(o.describe(), "exit status 3");

  const auto good = run_shell("true", {}, 10s);
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(good.exit_status, 0);
  EXPECT_EQ(good.output, "");
}

TEST(RunShell, EnvironmentIsAddedAndOverrides) {
  ASSERT_EQ(::setenv("KEYSAFE_DEPLOY_TEST_VAR", "outer", 1), 0);
  const auto o = run_shell(
      "printf '%s|%s|' \"$KEYSAFE_DEPLOY_TEST_VAR\" \"$KEYSAFE_DEPLOY_DIR\"; "
      "env | grep -c '^KEYSAFE_DEPLOY_TEST_VAR='",
      {{"KEYSAFE_DEPLOY_TEST_VAR", "inner"}, {"KEYSAFE_DEPLOY_DIR", "/srv/a dir"}}, 10s);
  ::unsetenv("KEYSAFE_DEPLOY_TEST_VAR");
  EXPECT_EQ(o.output, "inner|/srv/a dir|1\n");
}

TEST(RunShell, SecretVariablesAreNotInherited) {
  // The declared ones, one a later version might add (matched by pattern), and a harmless one.
  const std::vector<std::string> secrets{"KEYSAFE_PASSPHRASE",     "KEYSAFE_IN_PASSPHRASE",
                                         "KEYSAFE_OUT_PASSPHRASE", "KEYSAFE_NEW_PASSPHRASE",
                                         "KEYSAFE_KEY_FILE",       "KEYSAFE_PKCS11_PASSPHRASE"};
  for (const auto& name : secrets) ASSERT_EQ(::setenv(name.c_str(), "s3cret-value", 1), 0);
  ASSERT_EQ(::setenv("KEYSAFE_DEPLOY_TEST_VAR", "kept", 1), 0);
  // A secret passed by the caller does not reach the child either.
  const auto o = run_shell("env; echo \"kept=$KEYSAFE_DEPLOY_TEST_VAR\"",
                           {{"KEYSAFE_PASSPHRASE", "from-the-caller"}}, 10s);
  for (const auto& name : secrets) ::unsetenv(name.c_str());
  ::unsetenv("KEYSAFE_DEPLOY_TEST_VAR");
  ASSERT_TRUE(o.ok()) << o.output;
  EXPECT_EQ(o.output.find("s3cret-value"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("from-the-caller"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("PASSPHRASE"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("KEYSAFE_KEY_FILE"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("kept=kept\n"), std::string::npos) << o.output;
}

TEST(RunShell, SecretVariableNames) {
  EXPECT_TRUE(keysafe::is_secret_variable("KEYSAFE_PASSPHRASE"));
  EXPECT_TRUE(keysafe::is_secret_variable("KEYSAFE_KEY_FILE"));
  EXPECT_TRUE(keysafe::is_secret_variable("KEYSAFE_ACME_TOKEN"));
  EXPECT_TRUE(keysafe::is_secret_variable("KEYSAFE_DB_PASSWORD"));
  EXPECT_FALSE(keysafe::is_secret_variable("KEYSAFE_STORE"));
  EXPECT_FALSE(keysafe::is_secret_variable("KEYSAFE_DEPLOY_DIR"));
  EXPECT_FALSE(keysafe::is_secret_variable("PATH"));
  EXPECT_FALSE(keysafe::is_secret_variable("MY_PASSPHRASE"));
}

TEST(RunShell, NoDescriptorButStandardOnes) {
  // A descriptor keysafe holds without close-on-exec (as --passphrase-fd's, or one it
  // inherited) and one with it: the child sees neither, only 0, 1 and 2 (the glob's own
  // directory descriptor is closed again by the time [ -e ] looks).
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int cloexec = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(cloexec, 0);
  const auto o = run_shell("for f in /proc/$$/fd/*; do [ -e \"$f\" ] && echo \"${f##*/}\"; done; :", {}, 10s);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ::close(cloexec);
  ASSERT_TRUE(o.ok()) << o.output;
  EXPECT_EQ(o.output, "0\n1\n2\n") << "descriptors open in the shell: " << o.output;
}

TEST(RunShell, StdinIsEmpty) {
  // `cat` would wait for input forever (until the timeout) if stdin were ours.
  const auto o = run_shell("cat; echo end", {}, 10s);
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.output, "end\n");
}

TEST(RunShell, KilledBySignal) {
  const auto o = run_shell("kill -SEGV $$", {}, 10s);
  EXPECT_EQ(o.exit_status, -1);
  EXPECT_EQ(o.signal, "SIGSEGV");
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.describe(), "killed by SIGSEGV");
}

// True when `pid` has exited (gone, or a zombie nobody has reaped yet).
bool exited(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(RunShell, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "child.pid";
  const auto o = run_shell("sleep 60 & echo $! >'" + pid_file.string() + "'; wait", {}, 300ms);
  EXPECT_TRUE(o.timed_out);
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.describe(), "timed out");
  const pid_t child = static_cast<pid_t>(std::stol(read_file(pid_file)));
  // SIGKILL is delivered at once, but the zombie may take a moment to appear.
  for (int i = 0; i < 100 && !exited(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(exited(child)) << "the shell's child " << child << " survived the timeout";
}

TEST(RunShell, DoesNotWaitForDaemonisedChildren) {
  // A reload that starts a server in the background returns when its shell exits.
  const auto o = run_shell("sleep 5 >/dev/null 2>&1 & echo started", {}, 3s);
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.output, "started\n");
}

TEST(RunShell, OutputIsCapped) {
  const auto o = run_shell("head -c 100000 /dev/zero | tr '\\0' a", {}, 10s);
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.output.size(), k_max_output);
  EXPECT_EQ(o.output.find_first_not_of('a'), std::string::npos);
}

// ---- TLS probe against a loopback server ---------------------------------------------------

// A TLS server on 127.0.0.1 (a port the kernel picks) that serves `cert` with `chain` to every
// connection until destroyed, in a thread of this process. With serve_other(), the connections
// it picks (numbered from 1) get another certificate, as from a server's old workers.
class LoopbackTlsServer final {
 public:
  LoopbackTlsServer(X509* cert, EVP_PKEY* key, X509* chain) {
    // A client that hangs up first must not end the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    m_ctx = context_for(cert, key, chain);
    m_listener = listen_on_loopback(m_port);
    m_thread = std::thread([this] { serve(); });
  }
  // Before the first connection.
  void serve_other(X509* cert, EVP_PKEY* key, std::function<bool(int)> on_connection) {
    m_other_ctx = context_for(cert, key, nullptr);
    m_other_on = std::move(on_connection);
  }
  ~LoopbackTlsServer() {
    m_stop = true;
    m_thread.join();
    ::close(m_listener);
  }
  LoopbackTlsServer(const LoopbackTlsServer&) = delete;
  LoopbackTlsServer& operator=(const LoopbackTlsServer&) = delete;

  Endpoint endpoint() const { return {"127.0.0.1", std::to_string(m_port)}; }
  // The client's handshake ends before the server has read its Finished message: wait (up to
  // 5 s) for the server's side of the `count`th handshake.
  int handshakes(int count) const {
    for (int i = 0; i < 500 && m_handshakes < count; ++i) std::this_thread::sleep_for(10ms);
    return m_handshakes;
  }
  std::string last_server_name() {
    const std::lock_guard lock(m_mutex);
    return m_server_name;
  }

  static ossl::SslCtx context_for(X509* cert, EVP_PKEY* key, X509* chain) {
    ossl::SslCtx ctx(SSL_CTX_new(TLS_server_method()));
    EXPECT_TRUE(ctx);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key), 1);
    if (chain != nullptr) {
      EXPECT_EQ(SSL_CTX_add1_chain_cert(ctx.get(), chain), 1);
    }
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    return ctx;
  }

  // A listening socket on 127.0.0.1 and its port.
  static int listen_on_loopback(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
  }

 private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_listener, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int conn = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      timeval tv{5, 0};  // a client that stalls cannot hang the test
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const bool other = m_other_on && m_other_on(++m_connections);
      ossl::Ssl ssl(SSL_new(other ? m_other_ctx.get() : m_ctx.get()));
      SSL_set_fd(ssl.get(), conn);
      if (SSL_accept(ssl.get()) == 1) {
        const char* name = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
        {
          const std::lock_guard lock(m_mutex);
          m_server_name = name != nullptr ? name : "";
        }
        ++m_handshakes;
        SSL_shutdown(ssl.get());
      }
      ERR_clear_error();
      ::close(conn);
    }
  }

  ossl::SslCtx m_ctx;
  ossl::SslCtx m_other_ctx;
  std::function<bool(int)> m_other_on;
  int m_connections = 0;  // the serving thread's
  int m_listener = -1;
  std::uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_handshakes{0};
  std::mutex m_mutex;
  std::string m_server_name;
  std::thread m_thread;
};

TEST(Probe, ReportsTheServedLeafAndSendsSni) {
  const Identity id;
  LoopbackTlsServer server(id.leaf.get(), id.leaf_key.get(), id.inter.get());
  const ProbeResult r = probe_once(server.endpoint(), "www.deploy.test", 5s);
  ASSERT_TRUE(r.reached) << r.error;
  EXPECT_EQ(r.fingerprint_sha256, fingerprint(id.leaf.get()));
  EXPECT_NE(r.subject.find("www.deploy.test"), std::string::npos) << r.subject;
  EXPECT_EQ(r.serial_hex, "03");
  ASSERT_EQ(server.handshakes(1), 1);
  EXPECT_EQ(server.last_server_name(), "www.deploy.test");

  const ProbeResult no_sni = probe_once(server.endpoint(), "", 5s);
  ASSERT_TRUE(no_sni.reached) << no_sni.error;
  ASSERT_EQ(server.handshakes(2), 2);
  EXPECT_EQ(server.last_server_name(), "");
}

TEST(Probe, UntilStopsAtTheExpectedCertificateOrGivesUp) {
  const Identity id;
  LoopbackTlsServer server(id.leaf.get(), id.leaf_key.get(), nullptr);
  const ProbeResult found = probe_until(server.endpoint(), "", fingerprint(id.leaf.get()), 10s);
  EXPECT_TRUE(found.reached);
  EXPECT_EQ(found.fingerprint_sha256, fingerprint(id.leaf.get()));
  EXPECT_EQ(server.handshakes(k_settled_probes), k_settled_probes);

  // Another certificate is served for the whole patience: the last result names it.
  const ProbeResult other = probe_until(server.endpoint(), "", fingerprint(id.inter.get()), 400ms);
  EXPECT_TRUE(other.reached);
  EXPECT_EQ(other.fingerprint_sha256, fingerprint(id.leaf.get()));
  EXPECT_GE(server.handshakes(k_settled_probes + 2), k_settled_probes + 2)
      << "gave up without probing again";
}

TEST(Probe, UntilWaitsForTheExpectedCertificateOnConnectionsInARow) {
  const Identity id;
  const std::string expected = fingerprint(id.leaf.get());
  // Connection 2 reaches an "old worker": the probe does not stop at connection 1.
  LoopbackTlsServer server(id.leaf.get(), id.leaf_key.get(), nullptr);
  server.serve_other(id.inter.get(), id.inter_key.get(), [](int n) { return n == 2; });
  const ProbeResult found = probe_until(server.endpoint(), "", expected, 10s);
  EXPECT_TRUE(found.reached);
  EXPECT_EQ(found.fingerprint_sha256, expected);
  EXPECT_EQ(server.handshakes(2 + k_settled_probes), 2 + k_settled_probes)
      << "one match, the old certificate, then the settled run";
}

TEST(Probe, UntilReportsTheOldCertificateWhenTheServerNeverSettles) {
  const Identity id;
  // Every other connection gets the old certificate for the whole patience.
  LoopbackTlsServer server(id.leaf.get(), id.leaf_key.get(), nullptr);
  server.serve_other(id.inter.get(), id.inter_key.get(), [](int n) { return n % 2 == 0; });
  const ProbeResult r = probe_until(server.endpoint(), "", fingerprint(id.leaf.get()), 600ms);
  EXPECT_TRUE(r.reached);
  EXPECT_EQ(r.fingerprint_sha256, fingerprint(id.inter.get()));
}

TEST(Probe, NoListenerIsUnreachable) {
  std::uint16_t port = 0;
  ::close(LoopbackTlsServer::listen_on_loopback(port));  // the port is free again: refused
  const ProbeResult r = probe_once({"127.0.0.1", std::to_string(port)}, "", 2s);
  EXPECT_FALSE(r.reached);
  EXPECT_EQ(r.error.rfind("cannot connect to 127.0.0.1:" + std::to_string(port), 0), 0u) << r.error;
}

TEST(Probe, NotTlsIsAFailedHandshake) {
  std::uint16_t port = 0;
  const int listener = LoopbackTlsServer::listen_on_loopback(port);
  // Answers like a plain HTTP server, then hangs up.
  std::thread plain([listener] {
    const int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) return;
    char buf[512];
    (void)::recv(conn, buf, sizeof buf, 0);
    const char reply[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
    (void)::send(conn, reply, sizeof reply - 1, MSG_NOSIGNAL);
    ::close(conn);
  });
  const ProbeResult r = probe_once({"127.0.0.1", std::to_string(port)}, "", 5s);
  plain.join();
  ::close(listener);
  EXPECT_FALSE(r.reached);
  EXPECT_EQ(r.error.rfind("TLS handshake with 127.0.0.1:" + std::to_string(port) + " failed", 0), 0u)
      << r.error;
}

TEST(Probe, EndpointParsing) {
  const Endpoint v4 = parse_endpoint("127.0.0.1:8443");
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.port, "8443");
  const Endpoint v6 = parse_endpoint("[::1]:443");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, "443");
  EXPECT_EQ(parse_endpoint("www.example.test:443").host, "www.example.test");
  for (const char* bad : {"nocolon", "host:", ":443", "host:0", "host:65536", "host:44a",
                          "::1:443", "[::1]443", "[::1]:", "host:1234567"}) {
    const Error e = error_of([&] { (void)parse_endpoint(bad); });
    EXPECT_EQ(e.code(), Errc::Usage) << bad;
  }
}

}  // namespace
}  // namespace keysafe::deploy

namespace keysafe::deploy {
namespace {

// Redeploying after a renewal is the library's doing: no command-line parser was built here,
// and ops::renew still redeploys to the recorded target.
TEST_F(DeployEntry, ARenewalRedeploysWithoutAnyFrontEndSetUp) {
  (void)deploy();
  const std::string before = read_file(m_site / "fullchain.pem");
  ops::RenewParams r;
  r.name = "www";
  r.now = m_now + 60;
  ops::prepare_renew(*m_store, r);
  const ops::RenewResult renewed = ops::renew(*m_store, r);
  ASSERT_TRUE(renewed.completed);
  EXPECT_TRUE(renewed.hook.failures.empty());
  ASSERT_EQ(renewed.hook.notes.size(), 1u);
  EXPECT_NE(renewed.hook.notes.front().find("redeployed \"www\""), std::string::npos);
  const auto served = certificates_in(read_file(m_site / "fullchain.pem"));
  ASSERT_FALSE(served.empty());
  EXPECT_NE(read_file(m_site / "fullchain.pem"), before);
  EXPECT_EQ(fingerprint(served.front().get()), renewed.certificate->fingerprint_sha256);
  const ossl::PKey key = private_key_in(read_file(m_site / "privkey.pem"));
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(served.front().get(), key.get()), 1) << "the new key";
}

}  // namespace
}  // namespace keysafe::deploy
