// keysafe adopt's readers of server configuration: nginx's syntax, includes and sites.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
