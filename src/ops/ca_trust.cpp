// ca trust / untrust: a file and update-ca-certificates for the system store; certutil for NSS.
#include "keysafe/ops/ca_trust.hpp"

#include <unistd.h>

#include <chrono>
#include <system_error>

#include "keysafe/deploy/command.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::ops {
namespace {

// Debian's directory for locally added anchors; update-ca-certificates links them into
// /etc/ssl/certs and the bundle /etc/ssl/certs/ca-certificates.crt that curl and OpenSSL read.
constexpr const char* k_system_dir = "/usr/local/share/ca-certificates";
constexpr auto k_tool_timeout = std::chrono::seconds(60);

// One argument for /bin/sh -c, whatever it holds.
std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

deploy::CommandOutcome run_tool(const std::string& command) {
  return deploy::run_shell(command, {}, k_tool_timeout);
}

void require_root_for_system(const std::string& verb, std::string_view ca_name) {
  if (::geteuid() == 0) return;
  throw Error(Errc::Refused,
              "the system trust store can only be changed by root",
              std::string(k_system_dir) + " and update-ca-certificates belong to root",
              "run it as root: sudo keysafe ca " + verb + " " + std::string(ca_name) +
                  ", or change only an NSS database: keysafe ca " + verb + " " +
                  std::string(ca_name) + " --nss DIR --no-system");
}

void update_system_store(std::string_view ca_name) {
  const auto outcome = run_tool("update-ca-certificates");
  if (!outcome.ok())
    throw Error(Errc::Io, "update-ca-certificates failed (" + outcome.describe() + ")",
                outcome.output.empty() ? std::string("it printed nothing") : outcome.output,
                "install the ca-certificates package, then run: keysafe ca trust " +
                    std::string(ca_name));
}

void require_nss_db(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(Errc::NotFound, "\"" + dir.string() + "\" is not an NSS database directory",
                "the directory does not exist",
                "create one with: certutil -N -d " + dir.string() + " --empty-password");
}

bool nss_has(const std::filesystem::path& dir, std::string_view ca_name) {
  return run_tool("certutil -L -d " + sh_quote(dir.string()) + " -n " +
                  sh_quote(nss_nickname(ca_name)) + " >/dev/null 2>&1")
      .ok();
}

}  // namespace

std::filesystem::path system_trust_file(std::string_view ca_name) {
  return std::filesystem::path(k_system_dir) / ("keysafe-" + std::string(ca_name) + ".crt");
}

std::string nss_nickname(std::string_view ca_name) { return "keysafe " + std::string(ca_name); }

TrustChanges trust_ca(store::Keystore& store, std::string_view ca_name, const TrustTargets& to) {
  if (to.system) require_root_for_system("trust", ca_name);
  if (to.nss_db) require_nss_db(*to.nss_db);
  // The CA alone: a trust anchor is one certificate (an intermediate's issuers are not
  // anchored with it).
  const std::string pem =
      x509::certificate_pem(x509::certificate_from_der(ca_certificate_der(store, ca_name)).get());
  TrustChanges changes;
  if (to.system) {
    const auto file = system_trust_file(ca_name);
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    files::write_file_atomically(file, pem, 0644, files::Overwrite::Allow);
    update_system_store(ca_name);
    changes.push_back("added to the system trust store: " + file.string() +
                      " (update-ca-certificates ran)");
  }
  if (to.nss_db) {
    // certutil reads the certificate from a file; a certificate is public, /tmp will do.
    char temp[] = "/tmp/keysafe-ca-XXXXXX";
    const int fd = ::mkstemp(temp);
    if (fd < 0)
      throw Error(Errc::Io, "cannot create a temporary file for certutil",
                  std::generic_category().message(errno), "check /tmp");
    ::close(fd);
    const std::filesystem::path cert_file(temp);
    files::write_file_atomically(cert_file, pem, 0600, files::Overwrite::Allow);
    // C,, : a trusted CA for TLS servers (not for e-mail or code signing).
    const auto outcome = run_tool("certutil -A -d " + sh_quote(to.nss_db->string()) + " -n " +
                                  sh_quote(nss_nickname(ca_name)) + " -t C,, -i " +
                                  sh_quote(cert_file.string()));
    std::error_code removed;
    std::filesystem::remove(cert_file, removed);
    if (!outcome.ok())
      throw Error(Errc::Io, "certutil could not add the CA to \"" + to.nss_db->string() + "\"",
                  outcome.describe() + ": " + outcome.output,
                  "check that it is an NSS database (certutil -L -d " + to.nss_db->string() +
                      ") and that libnss3-tools is installed");
    changes.push_back("added to the NSS database " + to.nss_db->string() + " as \"" +
                      nss_nickname(ca_name) + "\"");
  }
  return changes;
}

TrustChanges untrust_ca(std::string_view ca_name, const TrustTargets& from) {
  validate_entry_name(ca_name);  // it names a file: no path separators, as every entry name
  if (from.system) require_root_for_system("untrust", ca_name);
  if (from.nss_db) require_nss_db(*from.nss_db);
  TrustChanges changes;
  if (from.system) {
    const auto file = system_trust_file(ca_name);
    std::error_code ec;
    if (std::filesystem::remove(file, ec)) {
      update_system_store(ca_name);
      changes.push_back("removed from the system trust store: " + file.string() +
                        " (update-ca-certificates ran)");
    } else if (ec) {
      throw Error(Errc::Io, "cannot remove " + file.string(), ec.message(),
                  "check the permissions of " + file.parent_path().string());
    } else {
      changes.push_back("not in the system trust store (no " + file.string() + ")");
    }
  }
  if (from.nss_db) {
    if (!nss_has(*from.nss_db, ca_name)) {
      changes.push_back("not in the NSS database " + from.nss_db->string());
    } else {
      const auto outcome = run_tool("certutil -D -d " + sh_quote(from.nss_db->string()) +
                                    " -n " + sh_quote(nss_nickname(ca_name)));
      if (!outcome.ok())
        throw Error(Errc::Io,
                    "certutil could not remove the CA from \"" + from.nss_db->string() + "\"",
                    outcome.describe() + ": " + outcome.output,
                    "remove it by hand: certutil -D -d " + from.nss_db->string() + " -n \"" +
                        nss_nickname(ca_name) + "\"");
      changes.push_back("removed from the NSS database " + from.nss_db->string());
    }
  }
  return changes;
}

}  // namespace keysafe::ops
