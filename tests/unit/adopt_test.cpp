// keysafe adopt's readers of server configuration: nginx's, Apache's and HAProxy's syntax,
// includes and sites.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "keysafe/adopt/apache_config.hpp"
#include "keysafe/adopt/haproxy_config.hpp"
#include "keysafe/adopt/nginx_config.hpp"
#include "keysafe/error.hpp"

namespace fs = std::filesystem;
using keysafe::Errc;
using keysafe::Error;
using namespace keysafe::adopt;

namespace {

Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::Internal;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/keysafe-adopt-test.XXXXXX";
    m_path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories((m_path / name).parent_path());
    std::ofstream(m_path / name) << text;
  }

 private:
  fs::path m_path;
};

}  // namespace

TEST(NginxSyntax, DirectivesBlocksQuotesEscapesComments) {
  const auto d = parse_nginx(
      "a 1 '2 3';# comment ; {\n"
      "b \"x\\\"y\" z\\;w { c; d \"t\\tn\" ; }\n"
      "set $v \"${host}x\"; e a#b;",
      "t.conf");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].name, "a");
  EXPECT_EQ(d[0].args, (std::vector<std::string>{"1", "2 3"}));
  EXPECT_EQ(d[1].name, "b");
  EXPECT_EQ(d[1].line, 2);
  // As nginx: only \" \' \\ \t \r \n are unescaped; "\;" keeps its backslash but ends no directive.
  EXPECT_EQ(d[1].args, (std::vector<std::string>{"x\"y", "z\\;w"}));
  ASSERT_TRUE(d[1].has_block);
  ASSERT_EQ(d[1].block.size(), 2u);
  EXPECT_EQ(d[1].block[1].args[0], "t\tn");
  EXPECT_EQ(d[2].args, (std::vector<std::string>{"$v", "${host}x"}));
  EXPECT_EQ(d[3].args, (std::vector<std::string>{"a#b"}));
}

TEST(NginxSyntax, VariableBracesAreNotBlocks) {
  const auto d = parse_nginx("ssl_certificate /c/${ssl_server_name}.crt;", "t.conf");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].has_block);
  EXPECT_EQ(d[0].args[0], "/c/${ssl_server_name}.crt");
}

TEST(NginxSyntax, ErrorsNameFileAndLine) {
  for (const char* bad : {"a", "a {", "}", "a \"b;", "a \"b\"c;", ";", "{ }", "a ${x;"})
    EXPECT_EQ(code_of([&] { parse_nginx(bad, "t.conf"); }), Errc::BadInput) << bad;
  try {
    parse_nginx("a;\nb {\n c;\n", "/etc/nginx/x.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.summary().find("\"/etc/nginx/x.conf\" line 2"), std::string::npos) << e.summary();
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "a {";
  EXPECT_EQ(code_of([&] { parse_nginx(deep, "t.conf"); }), Errc::BadInput);
}

TEST(NginxInclude, GlobsRelativePathsInOrder) {
  TempDir t;
  t.write("nginx.conf", "http { include sites/*.conf; include extra.conf; }\n");
  t.write("sites/b.conf", "server { server_name b; }\n");
  t.write("sites/a.conf", "server { server_name a; }\n");
  t.write("extra.conf", "server { server_name e; }\n");
  t.write("sites/ignored.txt", "server { server_name x; }\n");
  const auto d = load_nginx_config(t.path() / "nginx.conf");
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].block.size(), 3u);
  EXPECT_EQ(d[0].block[0].block[0].args[0], "a");
  EXPECT_EQ(d[0].block[1].block[0].args[0], "b");
  EXPECT_EQ(d[0].block[2].block[0].args[0], "e");
  EXPECT_EQ(d[0].block[0].file, (t.path() / "sites/a.conf").string());
}

TEST(NginxInclude, EmptyGlobAllowedMissingFileNot) {
  TempDir t;
  t.write("nginx.conf", "include none/*.conf; a;\n");
  EXPECT_EQ(load_nginx_config(t.path() / "nginx.conf").size(), 1u);
  t.write("nginx.conf", "include missing.conf;\n");
  EXPECT_EQ(code_of([&] { load_nginx_config(t.path() / "nginx.conf"); }), Errc::Io);
}

TEST(NginxInclude, CyclesAndDepthRefused) {
  TempDir t;
  t.write("nginx.conf", "include a.conf;\n");
  t.write("a.conf", "include b.conf;\n");
  t.write("b.conf", "include a.conf;\n");
  try {
    load_nginx_config(t.path() / "nginx.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::BadInput);
    EXPECT_NE(e.cause().find("cycle"), std::string::npos);
  }
  // The same file twice, not nested, is not a cycle.
  t.write("nginx.conf", "include c.conf; include c.conf;\n");
  t.write("c.conf", "x;\n");
  EXPECT_EQ(load_nginx_config(t.path() / "nginx.conf").size(), 2u);
  for (int i = 0; i < 20; ++i)
    t.write("d" + std::to_string(i) + ".conf", "include d" + std::to_string(i + 1) + ".conf;\n");
  t.write("d20.conf", "x;\n");
  EXPECT_EQ(code_of([&] { load_nginx_config(t.path() / "d0.conf"); }), Errc::BadInput);
  NginxLoadLimits small;
  small.max_total_bytes = 2;
  EXPECT_EQ(code_of([&] { load_nginx_config(t.path() / "c.conf", small); }), Errc::BadInput);
}

TEST(NginxSites, PairsInheritanceAndNames) {
  const auto d = parse_nginx(R"(
http {
  ssl_certificate /h/default.crt;
  ssl_certificate_key /h/default.key;
  server { listen 127.0.0.1:8443 ssl; server_name www.example.test w2; ssl_certificate w.crt; ssl_certificate_key w.key; }
  server { listen 8444 ssl; server_name inherited.test; }
  server { listen 80; server_name plain.test; }
  server { listen 8445 ssl; ssl_certificate /r.crt; ssl_certificate_key /r.key;
           ssl_certificate /e.crt; ssl_certificate_key /e.key; }
  server { listen 8446 ssl; ssl_certificate /c/$ssl_server_name.crt; ssl_certificate_key engine:pkcs11:x; }
}
stream { server { listen 9443 ssl; ssl_certificate /s.crt; ssl_certificate_key /s.key; } })",
                             "/etc/nginx/nginx.conf");
  const auto s = nginx_sites(d, "/etc/nginx");
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].certificate, "/etc/nginx/w.crt");
  EXPECT_EQ(s[0].key, "/etc/nginx/w.key");
  EXPECT_EQ(s[0].server_names, (std::vector<std::string>{"www.example.test", "w2"}));
  EXPECT_EQ(s[0].listens, (std::vector<std::string>{"127.0.0.1:8443"}));
  EXPECT_TRUE(s[0].tls);
  EXPECT_EQ(s[1].certificate, "/h/default.crt");
  EXPECT_TRUE(s[1].inherited);
  EXPECT_EQ(s[2].certificate, "/r.crt");
  EXPECT_EQ(s[3].key, "/e.key");
  EXPECT_EQ(s[4].certificate, "/c/$ssl_server_name.crt");
  EXPECT_EQ(s[4].key, "engine:pkcs11:x");
  EXPECT_EQ(s[5].certificate, "/s.crt");
}

// --- Apache ----------------------------------------------------------------------------------

TEST(ApacheSyntax, ContinuationsQuotesCommentsDefines) {
  const auto c = parse_apache(R"(# a comment <VirtualHost>
Define DIR /srv/tls
  Define   QUOTED "/with space"
<VirtualHost 127.0.0.1:8443 [::1]:8443>
    ServerName https://www.example.test:8443
    serveralias alias.test \
        other.test
    SSLEngine on
    # SSLCertificateFile /commented.crt
    SSLCertificateFile "${DIR}/w.crt"
    SSLCertificateKeyFile '${QUOTED}/w.key'
    SSLCertificateChainFile "/c/chain \"x\".pem"
</virtualhost>
)",
                              "/etc/apache2/apache2.conf");
  ASSERT_EQ(c.sites.size(), 1u);
  const auto& s = c.sites[0];
  EXPECT_EQ(s.line, 4);
  EXPECT_EQ(s.addresses, (std::vector<std::string>{"127.0.0.1:8443", "[::1]:8443"}));
  EXPECT_EQ(s.server_names, (std::vector<std::string>{"www.example.test", "alias.test", "other.test"}));
  EXPECT_EQ(s.certificate, "/srv/tls/w.crt");
  // httpd replaces ${VAR} in the whole line before splitting it, quotes or not.
  EXPECT_EQ(s.key, "/with space/w.key");
  EXPECT_EQ(s.chain, "/c/chain \"x\".pem");
  EXPECT_TRUE(s.problem.empty()) << s.problem;
}

TEST(ApacheSites, KeyInCertificateFileRelativePathsInheritanceAndProblems) {
  const auto c = parse_apache(R"(
ServerRoot /opt/httpd
ServerName main.test
SSLCertificateFile conf/main.crt
SSLCertificateKeyFile conf/main.key
<VirtualHost *:443>
  ServerName combined.test
  SSLEngine on
  SSLCertificateFile certs/combined.pem
</VirtualHost>
<VirtualHost _default_:443>
  SSLEngine on
</VirtualHost>
<VirtualHost *:80>
  ServerName plain.test
</VirtualHost>
<VirtualHost *:443>
  SSLEngine off
  SSLCertificateFile /off.crt
</VirtualHost>
<VirtualHost *:443>
  ServerName two.test
  SSLCertificateFile /rsa.crt
  SSLCertificateKeyFile /rsa.key
  SSLCertificateFile /ec.crt
  SSLCertificateKeyFile /ec.key
</VirtualHost>
<VirtualHost *:443>
  ServerName var.test
  SSLCertificateFile ${NOT_DEFINED_ANYWHERE_KEYSAFE}/v.crt
</VirtualHost>
)",
                              "t.conf");
  ASSERT_EQ(c.sites.size(), 5u);
  EXPECT_EQ(c.sites[0].certificate, "/opt/httpd/certs/combined.pem");
  EXPECT_EQ(c.sites[0].key, "");  // the key is in the certificate file
  EXPECT_EQ(c.sites[1].certificate, "/opt/httpd/conf/main.crt");
  EXPECT_TRUE(c.sites[1].inherited);
  EXPECT_EQ(c.sites[1].server_names, (std::vector<std::string>{"main.test"}));  // the main server's name
  EXPECT_EQ(c.sites[2].key, "/rsa.key");
  EXPECT_EQ(c.sites[3].certificate, "/ec.crt");
  EXPECT_EQ(c.sites[3].key, "/ec.key");
  EXPECT_NE(c.sites[4].problem.find("not defined"), std::string::npos) << c.sites[4].problem;
}

TEST(ApacheSections, ConditionsFollowWhatWasRead) {
  const auto c = parse_apache(R"(
<IfModule ssl_module>
  <VirtualHost *:1>
    SSLCertificateFile /before-loadmodule.crt
  </VirtualHost>
</IfModule>
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
<IfModule mod_ssl.c>
  <VirtualHost *:2>
    SSLCertificateFile /loaded.crt
  </VirtualHost>
</IfModule>
<IfModule !ssl_module>
  <VirtualHost *:3>
    SSLCertificateFile /not-loaded.crt
  </VirtualHost>
</IfModule>
Define FLAG
<IfDefine FLAG>
  <IfDefine !OTHER>
    <VirtualHost *:4>
      SSLCertificateFile /flag.crt
    </VirtualHost>
  </IfDefine>
</IfDefine>
<Directory /var/www>
  SSLCertificateFile /directory.crt
</Directory>
)",
                              "t.conf");
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[0].certificate, "/loaded.crt");
  EXPECT_EQ(c.sites[1].certificate, "/flag.crt");
}

TEST(ApacheSyntax, ErrorsNameFileAndLine) {
  for (const char* bad : {"<VirtualHost *:443>\n", "</VirtualHost>\n", "<VirtualHost *:443\n</VirtualHost>\n",
                          "<IfModule x>\n</VirtualHost>\n", "<>\n",
                          "<VirtualHost *:1>\n<VirtualHost *:2>\n</VirtualHost>\n</VirtualHost>\n"})
    EXPECT_EQ(code_of([&] { parse_apache(bad, "t.conf"); }), Errc::BadInput) << bad;
  try {
    parse_apache("ServerName x\n<IfModule foo>\n", "/etc/apache2/x.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.summary().find("\"/etc/apache2/x.conf\" line 2"), std::string::npos) << e.summary();
  }
  // A chain of Defines doubling each other stays bounded.
  std::string doubling = "Define A xxxxxxxxxxxxxxxx\n";
  for (int i = 0; i < 40; ++i) doubling += "Define A ${A}${A}\n";
  EXPECT_EQ(code_of([&] { parse_apache(doubling, "t.conf"); }), Errc::BadInput);
}

TEST(ApacheInclude, GlobsDirectoriesServerRootAndOptional) {
  TempDir t;
  t.write("httpd.conf", "ServerRoot " + t.path().string() + "\nInclude sites/*.conf\nIncludeOptional none/*.conf\n"
                            "IncludeOptional missing.conf\nInclude conf.d\n");
  t.write("sites/b.conf", "<VirtualHost *:2>\nSSLCertificateFile b.crt\n</VirtualHost>\n");
  t.write("sites/a.conf", "<VirtualHost *:1>\nSSLCertificateFile a.crt\n</VirtualHost>\n");
  t.write("sites/x.txt", "<VirtualHost *:9>\nSSLCertificateFile x.crt\n</VirtualHost>\n");
  t.write("conf.d/sub/c.conf", "<VirtualHost *:3>\nInclude vhost-body.inc\n</VirtualHost>\n");
  t.write("vhost-body.inc", "SSLCertificateFile c.crt\n");
  const auto c = load_apache_config(t.path() / "httpd.conf");
  ASSERT_EQ(c.sites.size(), 3u);
  EXPECT_EQ(c.sites[0].certificate, (t.path() / "a.crt").string());
  EXPECT_EQ(c.sites[1].certificate, (t.path() / "b.crt").string());
  EXPECT_EQ(c.sites[2].certificate, (t.path() / "c.crt").string());  // Include inside <VirtualHost>
  EXPECT_EQ(c.sites[0].file, (t.path() / "sites/a.conf").string());
  // Include (not IncludeOptional): a wildcard matching nothing and a missing file are errors.
  t.write("httpd.conf", "ServerRoot " + t.path().string() + "\nInclude none/*.conf\n");
  EXPECT_EQ(code_of([&] { load_apache_config(t.path() / "httpd.conf"); }), Errc::BadInput);
  t.write("httpd.conf", "ServerRoot " + t.path().string() + "\nInclude missing.conf\n");
  EXPECT_EQ(code_of([&] { load_apache_config(t.path() / "httpd.conf"); }), Errc::Io);
  // A section must close in the file that opens it.
  t.write("httpd.conf", "ServerRoot " + t.path().string() + "\n<VirtualHost *:1>\nInclude close.conf\n");
  t.write("close.conf", "</VirtualHost>\n");
  EXPECT_EQ(code_of([&] { load_apache_config(t.path() / "httpd.conf"); }), Errc::BadInput);
  t.write("httpd.conf", "ServerRoot " + t.path().string() + "\nInclude loop.conf\n");
  t.write("loop.conf", "Include httpd.conf\n");
  EXPECT_EQ(code_of([&] { load_apache_config(t.path() / "httpd.conf"); }), Errc::BadInput);
}

// --- HAProxy ---------------------------------------------------------------------------------

TEST(HaproxySyntax, QuotesEscapesCommentsAndConditions) {
  ::setenv("KEYSAFE_ADOPT_TEST_DIR", "/env", 1);
  const auto c = parse_haproxy(R"(
global
  crt-base /base  # a comment
  pidfile "/run/haproxy.pid"
  master-worker
frontend www
  bind 127.0.0.1:443,[::1]:443 ssl crt "${KEYSAFE_ADOPT_TEST_DIR}/a.pem" crt '$KEYSAFE_ADOPT_TEST_DIR/b.pem' alpn h2
  bind :8443 ssl crt with\ space.pem crt x\#y.pem # crt not.pem
.if defined(KEYSAFE_ADOPT_TEST_UNDEFINED_VAR)
  bind :1 ssl crt /never.pem
.elif 1
  bind :2 ssl crt /elif.pem
.else
  bind :3 ssl crt /else.pem
.endif
backend b
  bind :9 ssl crt /backend-has-no-bind.pem
)",
                               "/etc/haproxy/haproxy.cfg", "/etc/haproxy");
  EXPECT_EQ(c.crt_base, "/base");
  EXPECT_EQ(c.pidfile, "/run/haproxy.pid");
  EXPECT_TRUE(c.master_worker);
  ASSERT_EQ(c.sites.size(), 5u);
  EXPECT_EQ(c.sites[0].addresses, (std::vector<std::string>{"127.0.0.1:443", "[::1]:443"}));
  EXPECT_EQ(c.sites[0].certificate, "/env/a.pem");
  EXPECT_EQ(c.sites[0].section, "frontend www");
  EXPECT_EQ(c.sites[1].certificate, "/base/$KEYSAFE_ADOPT_TEST_DIR/b.pem");  // no expansion in '...'
  EXPECT_EQ(c.sites[2].certificate, "/base/with space.pem");
  EXPECT_EQ(c.sites[3].certificate, "/base/x#y.pem");
  EXPECT_EQ(c.sites[4].certificate, "/elif.pem");
  EXPECT_EQ(code_of([&] { parse_haproxy(".if 1\n", "t.cfg", "/"); }), Errc::BadInput);
  EXPECT_EQ(code_of([&] { parse_haproxy(".endif\n", "t.cfg", "/"); }), Errc::BadInput);
}

TEST(HaproxyFiles, CrtDirectoryAndCrtList) {
  TempDir t;
  for (const char* f : {"certs/b.pem", "certs/a.pem", "certs/a.pem.key", "certs/a.pem.ocsp", "certs/a.pem.issuer",
                        "certs/a.pem.sctl", "certs/.hidden.pem", "certs/sub/x.pem"})
    t.write(f, "x");
  t.write("list.txt", "# comment\n\n  c.pem [alpn h2 ssl-min-ver TLSv1.2] c.test !www.c.test\n/abs/d.pem\n");
  t.write("haproxy.cfg", "frontend f\n  bind :443 ssl crt certs crt-list list.txt crt missing.pem\n"
                         "  bind :444 ssl crt-list missing-list.txt\n");
  const auto c = load_haproxy_config(t.path() / "haproxy.cfg");
  ASSERT_EQ(c.sites.size(), 6u);
  EXPECT_EQ(c.sites[0].certificate, (t.path() / "certs/a.pem").string());
  EXPECT_EQ(c.sites[1].certificate, (t.path() / "certs/b.pem").string());
  EXPECT_EQ(c.sites[2].certificate, (t.path() / "c.pem").string());
  EXPECT_EQ(c.sites[2].sni_filters, (std::vector<std::string>{"c.test", "!www.c.test"}));
  EXPECT_EQ(c.sites[2].source, "crt-list " + (t.path() / "list.txt").string() + " line 3");
  EXPECT_EQ(c.sites[3].certificate, "/abs/d.pem");
  EXPECT_EQ(c.sites[4].certificate, (t.path() / "missing.pem").string());  // its problem: when read
  EXPECT_NE(c.sites[5].problem.find("cannot read the crt-list"), std::string::npos);
}

TEST(HaproxyFiles, KeyCompanionFollowsTheGlobalSettings) {
  const auto c = parse_haproxy("frontend f\n  bind :443 ssl crt /c/site.crt\n", "t.cfg", "/");
  EXPECT_EQ(haproxy_key_companion(c, "/c/site.crt"), "/c/site.crt.key");
  const auto del = parse_haproxy("global\n  ssl-load-extra-del-ext\n", "t.cfg", "/");
  EXPECT_EQ(haproxy_key_companion(del, "/c/site.crt"), "/c/site.key");
  const auto none = parse_haproxy("global\n  ssl-load-extra-files ocsp issuer\n", "t.cfg", "/");
  EXPECT_EQ(haproxy_key_companion(none, "/c/site.crt"), "");
  const auto key = parse_haproxy("global\n  ssl-load-extra-files ocsp key\n", "t.cfg", "/");
  EXPECT_EQ(haproxy_key_companion(key, "/c/site.crt"), "/c/site.crt.key");
}
