// ACME accounts and issuance on top of the protocol client (src/acme) and the lifecycle
// operations create and install: an issued certificate enters the store as a CA's file does.
#include "keysafe/ops/acme.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <openssl/crypto.h>

#include "keysafe/acme/client.hpp"
#include "keysafe/acme/dns01.hpp"
#include "keysafe/acme/http01.hpp"
#include "keysafe/deploy/command.hpp"
#include "keysafe/acme/jws.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/names.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

AcmeAccountView view_of(const store::AcmeAccountRecord& a) {
  AcmeAccountView v;
  v.name = a.name;
  v.directory_url = a.directory_url;
  v.account_url = a.account_url;
  const auto contact = nlohmann::json::parse(a.contact, nullptr, false);
  if (contact.is_array())
    for (const auto& c : contact)
      if (c.is_string()) v.contact.push_back(c.get<std::string>());
  v.status = a.status;
  v.key_algorithm = a.key_algorithm;
  v.jwk_thumbprint = a.jwk_thumbprint;
  v.has_directory_ca = a.directory_ca_pem.has_value();
  v.created_at = a.created_at;
  return v;
}

// The CA file as PEM text holding at least one certificate (checked now, so a wrong file is a
// clear error before any network traffic and never stored).
std::string read_ca_pem(const std::filesystem::path& file) {
  const Bytes data = files::read_input_file(file);
  const auto parsed = formats::read_input(data, file.string());
  if (parsed.certificates.empty())
    throw Error(Errc::BadInput, "\"" + file.string() + "\" holds no certificate",
                "--directory-ca-file (KEYSAFE_ACME_CA_FILE) names the PEM certificate of the CA "
                "that issued the ACME server's HTTPS certificate",
                "give that CA's certificate, e.g. Pebble's test CA");
  std::string pem;
  for (const auto& c : parsed.certificates) pem += x509::certificate_pem(c.get());
  return pem;
}

// The EAB MAC key from its file: base64url (padding and surrounding white space allowed),
// checked before any network traffic.
acme::Client::ExternalAccount read_eab(const std::string& kid, const std::filesystem::path& file) {
  const SecureBytes raw = files::read_secret_file(file);
  std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  acme::Client::ExternalAccount eab;
  eab.kid = kid;
  try {
    Bytes key = acme::from_base64url(text);
    eab.mac_key.assign(key.begin(), key.end());
    OPENSSL_cleanse(key.data(), key.size());
  } catch (const Error&) {
    eab.mac_key.clear();
  }
  if (eab.mac_key.empty())
    throw Error(Errc::BadInput, "\"" + file.string() + "\" holds no base64url HMAC key",
                "--eab-hmac-key-file names a file with the MAC key the CA gave with the EAB key id "
                "(base64url, e.g. zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG4...)",
                "copy the CA's HMAC key into the file as it was given");
  return eab;
}

acme::ClientOptions client_options(const std::optional<std::string>& ca_pem,
                                   std::string ca_description, std::int64_t poll_timeout) {
  acme::ClientOptions o;
  o.http.ca_pem = ca_pem;
  o.http.ca_description = std::move(ca_description);
  o.poll_timeout = std::chrono::seconds(poll_timeout);
  return o;
}

void validate_account_name(std::string_view name) {
  if (!is_simple_name(name, 64))
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" is not a valid ACME account name",
                "names have 1-64 letters, digits, '.', '_' or '-', and do not start with '-' or '.'",
                "for example: keysafe acme account create letsencrypt --directory letsencrypt ...");
}

void require_account_algorithm(x509::KeyAlgorithm algorithm) {
  if (algorithm != x509::KeyAlgorithm::EcP256 && algorithm != x509::KeyAlgorithm::EcP384 &&
      algorithm != x509::KeyAlgorithm::Rsa2048)
    throw Error(Errc::Usage, "an ACME account key is ec-p256, ec-p384 or rsa-2048",
                "JWS signs with ES256, ES384 or RS256", "use --key ec-p256 (the default)");
}

store::AcmeAccountRecord account_by_name(store::Keystore& store, std::string_view name) {
  auto a = store::acme_account_by_name(store.database(), name);
  if (!a)
    throw Error(Errc::NotFound, "no ACME account \"" + std::string(name) + "\" in this store",
                "accounts are listed by: keysafe acme account list", "check the name");
  return *a;
}

// Orders, revocations: only with an account the CA still holds valid.
const store::AcmeAccountRecord& require_usable(const store::AcmeAccountRecord& a) {
  if (a.status != "valid")
    throw Error(Errc::Refused, "the ACME account \"" + a.name + "\" is " + a.status,
                "the CA no longer accepts requests signed by a " + a.status + " account",
                "create another account (keysafe acme account create NEW --directory " +
                    a.directory_url + " ...) and use --account NEW");
  return a;
}

store::AcmeAccountRecord account_for_issue(store::Keystore& store,
                                           const std::optional<std::string>& name) {
  auto& db = store.database();
  if (name) {
    auto a = store::acme_account_by_name(db, *name);
    if (!a)
      throw Error(Errc::NotFound, "no ACME account \"" + *name + "\" in this store",
                  "accounts are listed by: keysafe acme account list",
                  "create it: keysafe acme account create " + *name +
                      " --directory URL --email ADDR --agree-tos");
    require_usable(*a);
    return *a;
  }
  auto all = store::acme_accounts(db);
  if (all.empty())
    throw Error(Errc::NotFound, "this store has no ACME account",
                "acme issue orders with an account made by acme account create",
                "keysafe acme account create --directory letsencrypt --email ADDR --agree-tos");
  if (all.size() > 1) {
    std::string names;
    for (const auto& a : all) names += (names.empty() ? "" : ", ") + a.name;
    throw Error(Errc::Usage, "this store has several ACME accounts: say which with --account",
                "accounts: " + names, "add --account NAME");
  }
  require_usable(all.front());
  return all.front();
}

struct DnsHookSettings {
  std::string hook;
  std::optional<std::string> resolver;
};

DnsHookSettings parse_dns_hook_param(const std::string& param) {
  const auto j = nlohmann::json::parse(param, nullptr, false);
  DnsHookSettings s;
  if (j.is_object() && j.contains("hook") && j["hook"].is_string()) {
    s.hook = j["hook"].get<std::string>();
    if (const auto r = j.find("resolver"); r != j.end() && r->is_string()) s.resolver = r->get<std::string>();
  }
  if (s.hook.empty())
    throw Error(Errc::Usage, "DNS-01 needs a --dns-hook command",
                "the challenge parameter is " + param,
                "add --dns-hook CMD: a command that adds and removes the TXT record");
  return s;
}

// The last part of a command's output, for an error message.
std::string output_tail(const std::string& output) {
  constexpr std::size_t k_max = 2000;
  std::string t = output.size() > k_max ? "..." + output.substr(output.size() - k_max) : output;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

// DNS-01 answered by the administrator's --dns-hook: "add" for each record, "remove" for each
// added one afterwards, whatever the outcome.
class DnsHookAnswerer final {
 public:
  DnsHookAnswerer(DnsHookSettings settings, std::chrono::seconds timeout)
      : m_settings(std::move(settings)), m_timeout(timeout) {}
  DnsHookAnswerer(const DnsHookAnswerer&) = delete;
  DnsHookAnswerer& operator=(const DnsHookAnswerer&) = delete;

  struct Record {
    std::string domain;  // as ordered, *.NAME for a wildcard
    std::string name;    // _acme-challenge.NAME
    std::string value;
  };

  void add(Record r) {
    const auto o = run("add", r);
    // Removed afterwards even when add failed half-way (the hook may have added it).
    m_added.push_back(r);
    if (!o.ok())
      throw Error(Errc::DeployFailed,
                  "the --dns-hook command failed to add the TXT record " + r.name + " for " + r.domain,
                  "`" + m_settings.hook + "` with KEYSAFE_ACME_ACTION=add: " + o.describe() +
                      (o.output.empty() ? std::string() : "\n" + output_tail(o.output)),
                  "fix the hook: /bin/sh runs it with KEYSAFE_ACME_ACTION=add|remove, "
                  "KEYSAFE_ACME_DOMAIN, KEYSAFE_ACME_TXT_NAME and KEYSAFE_ACME_TXT_VALUE, and it "
                  "must exit 0; the pending entry is kept for the retry");
  }

  // Polls the --dns-resolver until every record added is visible there, or throws after
  // `timeout`. Without a resolver the hook's success is taken as the record being served.
  void wait_visible(std::chrono::seconds timeout, const std::function<void(const std::string&)>& say) {
    if (!m_settings.resolver) return;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(200);
    for (const auto& r : m_added) {
      for (;;) {
        const auto answer = acme::query_txt(*m_settings.resolver, r.name);
        if (std::find(answer.records.begin(), answer.records.end(), r.value) != answer.records.end())
          break;
        if (std::chrono::steady_clock::now() + pause > deadline)
          throw Error(Errc::AcmeUnreachable,
                      "the TXT record " + r.name + " did not appear at the DNS server " +
                          *m_settings.resolver + " within " + std::to_string(timeout.count()) + " s",
                      answer.answered ? "the server answers with " +
                                            std::to_string(answer.records.size()) +
                                            " TXT record(s) for the name, none with the value "
                                            "the --dns-hook added (" + r.value + ")"
                                      : "the server did not answer",
                      "check that the --dns-hook command adds the record to the zone that "
                      "server serves, and that --dns-resolver names a server of that zone; the "
                      "pending entry is kept for the retry");
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(2000));
      }
      say("the DNS server " + *m_settings.resolver + " serves " + r.name);
    }
  }

  // Runs "remove" for every record added; never throws, returns the failures.
  std::vector<std::string> clear() noexcept {
    std::vector<std::string> problems;
    for (const auto& r : m_added) {
      try {
        const auto o = run("remove", r);
        if (!o.ok())
          problems.push_back("the --dns-hook command failed to remove the TXT record " + r.name +
                             " (" + o.describe() + "): remove it by hand");
      } catch (const std::exception& e) {
        problems.push_back("removing the TXT record " + r.name + ": " + e.what());
      }
    }
    m_added.clear();
    return problems;
  }

  std::string describe() const { return "the TXT record added by --dns-hook"; }

 private:
  deploy::CommandOutcome run(const char* action, const Record& r) const {
    return deploy::run_shell(m_settings.hook,
                             {{"KEYSAFE_ACME_ACTION", action},
                              {"KEYSAFE_ACME_DOMAIN", r.domain},
                              {"KEYSAFE_ACME_TXT_NAME", r.name},
                              {"KEYSAFE_ACME_TXT_VALUE", r.value}},
                             m_timeout);
  }

  DnsHookSettings m_settings;
  std::chrono::milliseconds m_timeout;
  std::vector<Record> m_added;
};

// Whether a certificate of the chain is issued by `issuer_cn` (as certbot's and lego's
// --preferred-chain match: the topmost certificate's issuer, or any below it).
bool issued_by(const formats::ParsedInput& chain, std::string_view issuer_cn) {
  for (const auto& c : chain.certificates)
    if (x509::common_name(X509_get_issuer_name(c.get())) == std::optional<std::string>(issuer_cn))
      return true;
  return false;
}

// One challenge of the order to answer.
struct PendingChallenge {
  std::string authz_url;
  std::string identifier;  // as the CA names it, *.NAME for a wildcard
  std::string url;
};

}  // namespace

std::string_view acme_challenge_name(AcmeChallenge c) noexcept {
  switch (c) {
    case AcmeChallenge::HttpListen: return "http-01-listen";
    case AcmeChallenge::HttpWebroot: return "http-01-webroot";
    case AcmeChallenge::DnsHook: return "dns-01-hook";
  }
  return "";
}

std::optional<AcmeChallenge> acme_challenge_from_name(std::string_view name) noexcept {
  for (const auto c : {AcmeChallenge::HttpListen, AcmeChallenge::HttpWebroot, AcmeChallenge::DnsHook})
    if (acme_challenge_name(c) == name) return c;
  return std::nullopt;
}

std::string dns_hook_param(const std::string& hook, const std::optional<std::string>& resolver) {
  return nlohmann::json{{"hook", hook},
                        {"resolver", resolver ? nlohmann::json(*resolver) : nlohmann::json(nullptr)}}
      .dump();
}

void prepare_acme_account(store::Keystore& store, AcmeAccountParams& params) {
  validate_account_name(params.name);
  if (!params.agree_tos)
    throw Error(Errc::Usage, "creating an ACME account needs --agree-tos",
                "the CA's terms of service must be agreed to (RFC 8555 §7.3)",
                "read the CA's terms, then add --agree-tos");
  if (params.directory.empty())
    throw Error(Errc::Usage, "no ACME directory given",
                "--directory names the CA: letsencrypt, letsencrypt-staging or an https URL",
                "add --directory letsencrypt");
  params.directory = acme::resolve_directory(params.directory);
  if (params.directory.rfind("https://", 0) != 0)
    throw Error(Errc::Usage, "the ACME directory \"" + params.directory + "\" is not an https URL",
                "ACME runs over HTTPS only (RFC 8555 §6.1)",
                "give letsencrypt, letsencrypt-staging or the CA's https:// directory URL");
  for (const auto& e : params.emails)
    if (e.empty() || e.find('@') == std::string::npos || e.find_first_of(" ,<>\r\n") != std::string::npos)
      throw Error(Errc::Usage, "\"" + e + "\" is not an e-mail address", "--email takes one address",
                  "for example: --email hostmaster@example.com");
  require_account_algorithm(params.algorithm);
  if (params.eab_kid.empty() != !params.eab_hmac_key_file)
    throw Error(Errc::Usage, "external account binding needs both --eab-kid and --eab-hmac-key-file",
                "the CA gives a key id and an HMAC key together", "give both, or neither");
  if (store::acme_account_by_name(store.database(), params.name))
    throw Error(Errc::AlreadyExists, "the ACME account \"" + params.name + "\" exists already",
                "account names are unique in a store", "choose another NAME");
}

AcmeAccountView create_acme_account(store::Keystore& store, const AcmeAccountParams& params) {
  std::optional<std::string> ca_pem;
  std::string ca_description;
  if (params.directory_ca_file) {
    ca_pem = read_ca_pem(*params.directory_ca_file);
    ca_description = params.directory_ca_file->string();
  }
  std::optional<acme::Client::ExternalAccount> eab;
  if (params.eab_hmac_key_file) eab = read_eab(params.eab_kid, *params.eab_hmac_key_file);
  const auto key = x509::generate_key(params.algorithm);
  acme::Client client(params.directory, client_options(ca_pem, ca_description, 120));
  client.use_key(key.get());
  std::vector<std::string> contact;
  for (const auto& e : params.emails) contact.push_back("mailto:" + e);
  const auto account = client.new_account(contact, params.agree_tos, eab ? &*eab : nullptr);

  store::AcmeAccountRecord row;
  row.name = params.name;
  row.directory_url = params.directory;
  row.account_url = account.url;
  row.contact = nlohmann::json(contact).dump();
  row.status = account.status.empty() ? "valid" : account.status;
  row.key_algorithm = std::string(x509::key_algorithm_name(params.algorithm));
  row.jwk_thumbprint = acme::jwk_thumbprint(acme::public_jwk(key.get()));
  row.sealed_private_key =
      store.seal_secret(store::acme_account_purpose(params.name), x509::private_key_to_pkcs8(key.get()));
  row.directory_ca_pem = ca_pem;
  row.created_at = params.now;
  store.record("acme-account-created", "",
               "account \"" + params.name + "\" at " + params.directory + " (" + account.url + ")" +
                   (eab ? ", bound to the CA's external account " + eab->kid : std::string()));
  store.write([&](store::Database& db) { row.id = store::insert_acme_account(db, row); });
  return view_of(row);
}

std::string read_directory_ca_pem(const std::filesystem::path& file) { return read_ca_pem(file); }

AcmeAccountView import_acme_account(store::Keystore& store, const ExistingAcmeAccount& account) {
  validate_account_name(account.name);
  if (store::acme_account_by_name(store.database(), account.name))
    throw Error(Errc::AlreadyExists, "the ACME account \"" + account.name + "\" exists already",
                "account names are unique in a store", "remove or rename the other account");
  if (account.key == nullptr) throw Error(Errc::Internal, "an ACME account without its key");
  acme::Client client(account.directory,
                      client_options(account.directory_ca_pem, "the account's directory CA", 120));
  client.use_key(account.key);  // no kid: newAccount is signed with the JWK
  const auto r = client.post(client.directory().new_account, nlohmann::json{{"onlyReturnExisting", true}},
                             "looking up the account of the key");
  const auto location = r.header("location");
  if (!location || *location != account.account_url)
    throw Error(Errc::AcmeRefused, "the CA names another account for the key",
                "the CA answered with the account " + location.value_or("(none)") + "; " +
                    account.origin + " records " + account.account_url,
                "check that the account belongs to " + account.directory);
  const auto body = acme::parse_object(r);
  std::vector<std::string> contact;
  if (const auto c = body.find("contact"); c != body.end() && c->is_array())
    for (const auto& v : *c)
      if (v.is_string()) contact.push_back(v.get<std::string>());
  store::AcmeAccountRecord row;
  row.name = account.name;
  row.directory_url = account.directory;
  row.account_url = account.account_url;
  row.contact = nlohmann::json(contact).dump();
  row.status = body.value("status", std::string("valid"));
  if (row.status.empty()) row.status = "valid";
  row.key_algorithm = x509::describe_key(account.key);
  if (EVP_PKEY_is_a(account.key, "EC"))
    row.key_algorithm = acme::jws_algorithm(account.key) == "ES384" ? "ec-p384" : "ec-p256";
  else if (EVP_PKEY_is_a(account.key, "RSA"))
    row.key_algorithm = "rsa-" + std::to_string(EVP_PKEY_get_bits(account.key));
  row.jwk_thumbprint = acme::jwk_thumbprint(acme::public_jwk(account.key));
  row.sealed_private_key =
      store.seal_secret(store::acme_account_purpose(account.name), x509::private_key_to_pkcs8(account.key));
  row.directory_ca_pem = account.directory_ca_pem;
  row.created_at = account.now;
  store.record("acme-account-imported", "",
               "account \"" + account.name + "\" at " + account.directory + " (" + account.account_url +
                   "), its key from " + account.origin + "; the CA confirmed it (" + row.status + ")");
  store.write([&](store::Database& db) { row.id = store::insert_acme_account(db, row); });
  return view_of(row);
}

std::vector<AcmeAccountView> list_acme_accounts(store::Keystore& store) {
  std::vector<AcmeAccountView> out;
  for (const auto& a : store::acme_accounts(store.database())) out.push_back(view_of(a));
  return out;
}

AcmeAccountView show_acme_account(store::Keystore& store, std::string_view name) {
  const auto a = store::acme_account_by_name(store.database(), name);
  if (!a)
    throw Error(Errc::NotFound, "no ACME account \"" + std::string(name) + "\" in this store",
                "accounts are listed by: keysafe acme account list",
                "keysafe acme account create " + std::string(name) +
                    " --directory URL --email ADDR --agree-tos");
  return view_of(*a);
}

AcmeAccountView deactivate_acme_account(store::Keystore& store, std::string_view name) {
  auto a = store::acme_account_by_name(store.database(), name);
  if (!a)
    throw Error(Errc::NotFound, "no ACME account \"" + std::string(name) + "\" in this store",
                "accounts are listed by: keysafe acme account list", "check the name");
  if (a->status == "deactivated")
    throw Error(Errc::Refused, "the ACME account \"" + a->name + "\" is deactivated already",
                "deactivation cannot be undone", "nothing to do");
  const SecureBytes pkcs8 = store.open_secret(store::acme_account_purpose(a->name), a->sealed_private_key);
  const auto key = x509::private_key_from_pkcs8(pkcs8);
  acme::Client client(a->directory_url,
                      client_options(a->directory_ca_pem, "the account's directory CA", 120));
  client.use_key(key.get(), a->account_url);
  a->status = client.deactivate_account();
  store.record("acme-account-deactivated", "",
               "account \"" + a->name + "\" at " + a->directory_url + " (" + a->account_url +
                   "): " + a->status);
  store.write([&](store::Database& db) { store::set_acme_account_status(db, a->id, a->status); });
  return view_of(*a);
}

void prepare_acme_rollover(store::Keystore& store, std::string_view name, x509::KeyAlgorithm algorithm) {
  require_account_algorithm(algorithm);
  require_usable(account_by_name(store, name));
}

AcmeRolloverResult rollover_acme_account(store::Keystore& store, std::string_view name,
                                         x509::KeyAlgorithm algorithm) {
  auto a = account_by_name(store, name);
  require_usable(a);
  require_account_algorithm(algorithm);
  AcmeRolloverResult result;
  result.old_key_algorithm = a.key_algorithm;
  result.old_jwk_thumbprint = a.jwk_thumbprint;
  const SecureBytes old_pkcs8 = store.open_secret(store::acme_account_purpose(a.name), a.sealed_private_key);
  const auto old_key = x509::private_key_from_pkcs8(old_pkcs8);
  const auto new_key = x509::generate_key(algorithm);
  // Sealed before the CA is asked, so nothing can fail between its yes and the store's write
  // but the write itself.
  const Bytes sealed = store.seal_secret(store::acme_account_purpose(a.name),
                                         x509::private_key_to_pkcs8(new_key.get()));
  const std::string thumbprint = acme::jwk_thumbprint(acme::public_jwk(new_key.get()));
  acme::Client client(a.directory_url, client_options(a.directory_ca_pem, "the account's directory CA", 120));
  client.use_key(old_key.get(), a.account_url);
  client.change_key(new_key.get());
  a.key_algorithm = std::string(x509::key_algorithm_name(algorithm));
  a.jwk_thumbprint = thumbprint;
  a.sealed_private_key = sealed;
  store.record("acme-account-key-rolled-over", "",
               "account \"" + a.name + "\" at " + a.directory_url + " (" + a.account_url + "): " +
                   result.old_key_algorithm + " key " + result.old_jwk_thumbprint + " replaced by " +
                   a.key_algorithm + " key " + thumbprint);
  try {
    store.write([&](store::Database& db) {
      store::set_acme_account_key(db, a.id, a.key_algorithm, a.jwk_thumbprint, a.sealed_private_key);
    });
  } catch (const Error& e) {
    // The CA holds the new key now; the store still has the old one, which the CA refuses.
    throw Error(e.code(), "the CA accepted the new key of the ACME account \"" + a.name +
                              "\" but the store could not record it",
                e.summary() + (e.cause().empty() ? std::string() : ": " + e.cause()),
                "fix the store's problem, then create a new account (keysafe acme account create); "
                "the old key no longer signs for this one");
  }
  result.account = view_of(a);
  return result;
}

std::optional<int> acme_revocation_reason(std::string_view name) noexcept {
  static constexpr std::pair<std::string_view, int> k_reasons[] = {
      {"unspecified", 0}, {"keyCompromise", 1}, {"affiliationChanged", 3},
      {"superseded", 4}, {"cessationOfOperation", 5}};
  for (const auto& [n, code] : k_reasons)
    if (n == name) return code;
  return std::nullopt;
}

namespace {

struct RevokeTarget {
  store::EntryRecord entry;
  store::AcmeAccountRecord account;
};

RevokeTarget revoke_target(store::Keystore& store, const AcmeRevokeParams& params) {
  if (!acme_revocation_reason(params.reason))
    throw Error(Errc::Usage, "\"" + params.reason + "\" is not a revocation reason keysafe sends",
                "RFC 5280 reasons an ACME CA accepts from a subscriber",
                "choose keyCompromise, superseded, cessationOfOperation, affiliationChanged or "
                "unspecified");
  auto entry = store.entry(params.name);
  if (!entry)
    throw Error(Errc::NotFound, "no entry \"" + params.name + "\"", "keysafe list shows the entries",
                "check the name");
  if (!entry->current)
    throw Error(Errc::Usage, "the entry \"" + params.name + "\" has no certificate to revoke",
                "it is pending", "nothing to revoke");
  std::optional<std::string> account = params.account;
  if (!account) {
    const auto settings = store::acme_entry(store.database(), entry->key.id);
    if (!settings)
      throw Error(Errc::Usage, "the entry \"" + params.name + "\" was not ordered by ACME",
                  "keysafe revokes through the account that ordered the certificate",
                  "name an account of the CA that issued it with --account NAME");
    account = settings->account;
  }
  return {std::move(*entry), account_for_issue(store, account)};
}

}  // namespace

void prepare_acme_revoke(store::Keystore& store, const AcmeRevokeParams& params) {
  revoke_target(store, params);
}

AcmeRevokeResult acme_revoke(store::Keystore& store, const AcmeRevokeParams& params) {
  const auto target = revoke_target(store, params);
  const auto& cert = *target.entry.current;
  const SecureBytes pkcs8 =
      store.open_secret(store::acme_account_purpose(target.account.name), target.account.sealed_private_key);
  const auto key = x509::private_key_from_pkcs8(pkcs8);
  acme::Client client(target.account.directory_url,
                      client_options(target.account.directory_ca_pem, "the account's directory CA", 120));
  client.use_key(key.get(), target.account.account_url);
  const Bytes der = store.certificate_der(cert.id);
  client.revoke(der, *acme_revocation_reason(params.reason));
  store.record("acme-revoked", params.name,
               "serial " + cert.serial + " (" + cert.fingerprint_sha256 + "), reason " + params.reason +
                   ", account \"" + target.account.name + "\" at " + target.account.directory_url);
  store.flush_audit();
  return {params.name, cert.serial, cert.fingerprint_sha256, params.reason, target.account.name,
          target.account.directory_url};
}

void prepare_acme_issue(store::Keystore& store, AcmeIssueParams& params) {
  validate_entry_name(params.name);
  std::vector<std::string> dns;
  for (const auto& d : params.dns) {
    auto n = x509::normalize_dns_name(d);
    if (std::find(dns.begin(), dns.end(), n) == dns.end()) dns.push_back(std::move(n));
  }
  params.dns = std::move(dns);
  std::vector<std::string> ips;
  for (const auto& a : params.ip) {
    auto n = x509::normalize_ip(a);
    if (std::find(ips.begin(), ips.end(), n) == ips.end()) ips.push_back(std::move(n));
  }
  params.ip = std::move(ips);
  if (params.challenge_param.empty())
    throw Error(Errc::Usage, "acme issue needs a way to answer the CA's challenge",
                "HTTP-01 is answered by keysafe itself (--http-listen ADDR:PORT) or by files in the "
                "web server's document root (--webroot DIR); DNS-01 by a command that adds the TXT "
                "record (--dns-hook CMD)",
                "add --http-listen 0.0.0.0:80, --webroot /var/www/html or --dns-hook CMD");
  if (params.challenge == AcmeChallenge::DnsHook) {
    const auto hook = parse_dns_hook_param(params.challenge_param);
    if (hook.resolver) acme::require_resolver_address(*hook.resolver);
  }
  if (const auto key = store.key_by_name(params.name)) {
    if (key->current_certificate_id)
      throw Error(Errc::AlreadyExists, "the entry \"" + params.name + "\" has a certificate already",
                  "acme issue orders the first certificate of a new or pending entry",
                  "choose another NAME (renewal of ACME entries comes with keysafe renew)");
    if (!key->has_private_key)
      throw Error(Errc::Refused, "the entry \"" + params.name + "\" has no private key in the store",
                  "its request cannot be finalized with a key keysafe does not hold",
                  "choose another NAME");
    const auto differs = [](std::vector<std::string> want, std::vector<std::string> have) {
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
      return want != have;
    };
    if ((!params.dns.empty() || !params.ip.empty()) &&
        (differs(params.dns, key->dns) || differs(params.ip, key->ip)))
      throw Error(Errc::Usage, "the pending entry \"" + params.name + "\" has other names",
                  "its request is for " + nlohmann::json(key->dns).dump() + " and IP addresses " +
                      nlohmann::json(key->ip).dump() + "; --dns gave " +
                      nlohmann::json(params.dns).dump() + ", --ip " + nlohmann::json(params.ip).dump(),
                  "leave out --dns and --ip to use the entry's own request, or choose another NAME");
    params.dns = key->dns;
    params.ip = key->ip;
  } else if (params.dns.empty() && params.ip.empty()) {
    throw Error(Errc::Usage, "acme issue needs at least one --dns name or --ip address for a new entry",
                "no entry \"" + params.name + "\" exists, and no --dns or --ip was given",
                "add the site's names, e.g. --dns www.example.com --dns example.com");
  }
  if (params.challenge == AcmeChallenge::DnsHook && !params.ip.empty())
    throw Error(Errc::Usage, "IP addresses cannot be validated by DNS-01",
                "CAs validate an IP identifier by HTTP-01 or TLS-ALPN-01 only (RFC 8738 §7)",
                "order the addresses with --http-listen or --webroot, or leave out --ip");
  if (params.challenge != AcmeChallenge::DnsHook)
    for (const auto& d : params.dns)
      if (d.starts_with("*."))
        throw Error(Errc::Usage, "the wildcard name " + d + " needs DNS-01",
                    "CAs validate wildcard names only by DNS-01 (RFC 8555 §7.1.3)",
                    "answer with --dns-hook CMD instead of --http-listen or --webroot");
  account_for_issue(store, params.account);  // fails early when there is none
}

AcmeIssueResult acme_issue(store::Keystore& store, const AcmeIssueParams& params) {
  const auto say = [&](const std::string& line) {
    if (params.progress) params.progress(line);
  };
  AcmeIssueResult result;
  // The responder first: a port that cannot be listened on fails before anything is stored.
  // Orders of one renew --all run may share one (params.shared_responder).
  std::unique_ptr<acme::Http01Responder> own_responder;
  acme::Http01Responder* responder = nullptr;
  std::optional<DnsHookAnswerer> dns_hook;
  if (params.challenge == AcmeChallenge::DnsHook) {
    dns_hook.emplace(parse_dns_hook_param(params.challenge_param),
                     std::chrono::seconds(params.dns_hook_timeout));
  } else if (params.shared_responder) {
    responder = params.shared_responder;
  } else {
    own_responder = params.challenge == AcmeChallenge::HttpListen
                        ? acme::listen_responder(params.challenge_param)
                        : acme::webroot_responder(params.challenge_param);
    responder = own_responder.get();
  }
  const std::string challenge_type = dns_hook ? "dns-01" : "http-01";
  // Orders on other threads share the store: it is used only with the mutex held, never
  // while this order waits for the CA.
  std::unique_lock<std::mutex> store_lock;
  if (params.store_mutex) store_lock = std::unique_lock<std::mutex>(*params.store_mutex);

  const auto account = account_for_issue(store, params.account);
  result.account = account.name;
  result.directory_url = account.directory_url;
  result.challenge = std::string(acme_challenge_name(params.challenge));
  result.challenge_param = params.challenge_param;
  const SecureBytes account_pkcs8 =
      store.open_secret(store::acme_account_purpose(account.name), account.sealed_private_key);
  const auto account_key = x509::private_key_from_pkcs8(account_pkcs8);

  auto key = store.key_by_name(params.name);
  if (!key) {
    CreateParams create{params.name, params.dns, params.ip, "", params.algorithm, params.now};
    prepare_create(store, create);
    create_key(store, create);
    key = store.key_by_name(params.name);
    result.entry_created = true;
    say("created the key \"" + params.name + "\" (" +
        std::string(x509::key_algorithm_name(params.algorithm)) + ") and its request");
  }
  const auto csr = store.latest_request(key->id);
  if (!csr) throw Error(Errc::StoreDamaged, "the entry \"" + params.name + "\" has no stored request");
  if (store_lock) store_lock.unlock();

  acme::Client client(account.directory_url,
                      client_options(account.directory_ca_pem, "the account's directory CA",
                                     params.poll_timeout));
  client.use_key(account_key.get(), account.account_url);
  std::vector<std::pair<std::string, std::string>> identifiers;
  for (const auto& d : key->dns) identifiers.emplace_back("dns", d);
  for (const auto& a : key->ip) identifiers.emplace_back("ip", a);
  say("ordering from " + account.directory_url);

  // Whatever happens from here, the token files, the listener and the TXT records go away.
  const auto clean_up = [&]() noexcept {
    std::vector<std::string> problems;
    if (own_responder)  // a shared one is cleared by its owner, after every order
      for (auto& w : own_responder->clear()) problems.push_back("HTTP-01 clean-up: " + w);
    if (dns_hook)
      for (auto& w : dns_hook->clear()) problems.push_back("DNS-01 clean-up: " + w);
    return problems;
  };
  acme::Order order;
  try {
    order = client.new_order(identifiers, params.replaces);
    result.order_url = order.url;
    // Every record or token first, then the CA is asked to validate them all: one wait for
    // DNS propagation, not one per name.
    std::vector<PendingChallenge> pending;
    for (const auto& authz_url : order.authorizations) {
      const auto authz = client.fetch_authorization(authz_url);
      std::string identifier;
      if (const auto id = authz.find("identifier"); id != authz.end() && id->is_object() &&
                                                    id->contains("value") && (*id)["value"].is_string())
        identifier = (*id)["value"].get<std::string>();
      if (const auto w = authz.find("wildcard"); w != authz.end() && w->is_boolean() && w->get<bool>())
        identifier = "*." + identifier;
      if (authz.value("status", std::string()) == "valid") {
        say("the CA holds a valid authorization for " + identifier);
        continue;
      }
      std::string token, url;
      if (const auto cs = authz.find("challenges"); cs != authz.end() && cs->is_array())
        for (const auto& c : *cs)
          if (c.is_object() && c.value("type", std::string()) == challenge_type &&
              c.contains("token") && c["token"].is_string() && c.contains("url") && c["url"].is_string()) {
            token = c["token"].get<std::string>();
            url = c["url"].get<std::string>();
          }
      if (token.empty())
        throw Error(Errc::AcmeRefused, "the CA offers no " + challenge_type + " challenge for " + identifier,
                    "its authorization " + authz_url + " lists other challenge types only",
                    challenge_type == "http-01"
                        ? "answer by DNS-01 instead (--dns-hook CMD)"
                        : "answer by HTTP-01 instead (--http-listen ADDR:PORT or --webroot DIR)");
      acme::require_token(token);
      const auto key_authorization = client.key_authorization(token);
      if (dns_hook) {
        DnsHookAnswerer::Record record{identifier, acme::dns01_record_name(identifier),
                                       acme::dns01_record_value(key_authorization)};
        say("adding the TXT record " + record.name + " (--dns-hook)");
        dns_hook->add(std::move(record));
      } else {
        responder->add(token, key_authorization);
      }
      pending.push_back({authz_url, identifier, url});
    }
    if (dns_hook) dns_hook->wait_visible(std::chrono::seconds(params.dns_wait_timeout), say);
    for (const auto& p : pending) {
      client.respond(p.url);
      say("asked the CA to validate " + p.identifier + " (" +
          (dns_hook ? dns_hook->describe() : responder->describe()) + ")");
    }
    for (const auto& p : pending) {
      client.wait_authorization(p.authz_url, p.identifier);
      say("validated " + p.identifier);
    }
  } catch (...) {
    clean_up();
    throw;
  }
  for (auto& w : clean_up()) result.warnings.push_back(std::move(w));
  own_responder.reset();

  const auto valid = client.finalize(order, *csr);
  auto chain = client.download_certificate(valid.certificate);
  say("downloaded the certificate from " + valid.certificate);
  result.chains_offered = 1 + static_cast<int>(chain.alternates.size());
  auto input = formats::read_input(as_span(chain.pem), valid.certificate);
  if (params.preferred_chain && !issued_by(input, *params.preferred_chain)) {
    bool found = false;
    for (const auto& url : chain.alternates) {
      auto alternate = client.download_alternate(url);
      auto parsed = formats::read_input(as_span(alternate.pem), url);
      if (!issued_by(parsed, *params.preferred_chain)) continue;
      say("using the alternate chain " + url + " (--preferred-chain)");
      input = std::move(parsed);
      found = true;
      break;
    }
    if (!found)
      result.warnings.push_back("none of the " + std::to_string(result.chains_offered) +
                                " chain(s) the CA offers has a certificate issued by \"" +
                                *params.preferred_chain + "\" (--preferred-chain): installed the "
                                "CA's default chain");
  }
  if (!input.certificates.empty())
    result.chain_top_issuer =
        x509::common_name(X509_get_issuer_name(input.certificates.back().get())).value_or("");

  if (params.store_mutex) store_lock.lock();
  InstallOptions install;
  install.now = params.now;
  store::AcmeEntryRecord settings;
  settings.key_id = key->id;
  settings.account_id = account.id;
  settings.directory_url = account.directory_url;
  settings.challenge = result.challenge;
  settings.challenge_param = params.challenge_param;
  settings.preferred_chain = params.preferred_chain;
  settings.order_url = order.url;
  settings.updated_at = params.now;
  install.in_same_transaction = [&] { store::put_acme_entry(store.database(), settings); };
  store.record("acme-issued", params.name, "order " + order.url + " from " + account.directory_url);
  result.install = install_certificate(store, input, valid.certificate, install);
  return result;
}

std::optional<AcmeEntryView> acme_entry_view(store::Keystore& store, std::int64_t key_id) {
  const auto e = store::acme_entry(store.database(), key_id);
  if (!e) return std::nullopt;
  return AcmeEntryView{e->account, e->directory_url, e->challenge, e->challenge_param,
                       e->preferred_chain};
}

}  // namespace keysafe::ops
