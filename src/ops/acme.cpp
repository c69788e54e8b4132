// ACME accounts and issuance on top of the protocol client (src/acme) and the lifecycle
// operations create and install: an issued certificate enters the store as a CA's file does.
#include "keysafe/ops/acme.hpp"

#include <algorithm>
#include <cctype>

#include "keysafe/acme/client.hpp"
#include "keysafe/acme/http01.hpp"
#include "keysafe/acme/jws.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/formats/input.hpp"
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

acme::ClientOptions client_options(const std::optional<std::string>& ca_pem,
                                   std::string ca_description, std::int64_t poll_timeout) {
  acme::ClientOptions o;
  o.http.ca_pem = ca_pem;
  o.http.ca_description = std::move(ca_description);
  o.poll_timeout = std::chrono::seconds(poll_timeout);
  return o;
}

void validate_account_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 && name.front() != '-' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' ||
                           c == '_' || c == '-';
                  });
  if (!ok)
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" is not a valid ACME account name",
                "names have 1-64 letters, digits, '.', '_' or '-', and do not start with '-'",
                "for example: keysafe acme account create letsencrypt --directory letsencrypt ...");
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
  return all.front();
}

}  // namespace

std::string_view acme_challenge_name(AcmeChallenge c) noexcept {
  return c == AcmeChallenge::HttpListen ? "http-01-listen" : "http-01-webroot";
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
  if (params.algorithm != x509::KeyAlgorithm::EcP256 && params.algorithm != x509::KeyAlgorithm::EcP384 &&
      params.algorithm != x509::KeyAlgorithm::Rsa2048)
    throw Error(Errc::Usage, "an ACME account key is ec-p256, ec-p384 or rsa-2048",
                "JWS signs with ES256, ES384 or RS256", "use --key ec-p256 (the default)");
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
  const auto key = x509::generate_key(params.algorithm);
  acme::Client client(params.directory, client_options(ca_pem, ca_description, 120));
  client.use_key(key.get());
  std::vector<std::string> contact;
  for (const auto& e : params.emails) contact.push_back("mailto:" + e);
  const auto account = client.new_account(contact, params.agree_tos);

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
               "account \"" + params.name + "\" at " + params.directory + " (" + account.url + ")");
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

void prepare_acme_issue(store::Keystore& store, AcmeIssueParams& params) {
  validate_entry_name(params.name);
  std::vector<std::string> dns;
  for (const auto& d : params.dns) {
    auto n = x509::normalize_dns_name(d);
    if (std::find(dns.begin(), dns.end(), n) == dns.end()) dns.push_back(std::move(n));
  }
  params.dns = std::move(dns);
  if (params.challenge_param.empty())
    throw Error(Errc::Usage, "acme issue needs a way to answer the CA's challenge",
                "HTTP-01 is answered by keysafe itself (--http-listen ADDR:PORT) or by files in the "
                "web server's document root (--webroot DIR)",
                "add --http-listen 0.0.0.0:80, or --webroot /var/www/html");
  if (const auto key = store.key_by_name(params.name)) {
    if (key->current_certificate_id)
      throw Error(Errc::AlreadyExists, "the entry \"" + params.name + "\" has a certificate already",
                  "acme issue orders the first certificate of a new or pending entry",
                  "choose another NAME (renewal of ACME entries comes with keysafe renew)");
    if (!key->has_private_key)
      throw Error(Errc::Refused, "the entry \"" + params.name + "\" has no private key in the store",
                  "its request cannot be finalized with a key keysafe does not hold",
                  "choose another NAME");
    if (!params.dns.empty()) {
      auto want = params.dns;
      auto have = key->dns;
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
      if (want != have)
        throw Error(Errc::Usage, "the pending entry \"" + params.name + "\" has other names",
                    "its request is for " + nlohmann::json(key->dns).dump() + ", --dns gave " +
                        nlohmann::json(params.dns).dump(),
                    "leave out --dns to use the entry's own request, or choose another NAME");
    }
    if (!key->ip.empty())
      throw Error(Errc::Unsupported, "the pending entry \"" + params.name + "\" has IP addresses",
                  "this keysafe answers HTTP-01 for DNS names only", "choose another NAME");
    params.dns = key->dns;
  } else if (params.dns.empty()) {
    throw Error(Errc::Usage, "acme issue needs at least one --dns name for a new entry",
                "no entry \"" + params.name + "\" exists, and no --dns was given",
                "add the site's names, e.g. --dns www.example.com --dns example.com");
  }
  account_for_issue(store, params.account);  // fails early when there is none
}

AcmeIssueResult acme_issue(store::Keystore& store, const AcmeIssueParams& params) {
  const auto say = [&](const std::string& line) {
    if (params.progress) params.progress(line);
  };
  AcmeIssueResult result;
  // The responder first: a port that cannot be listened on fails before anything is stored.
  std::unique_ptr<acme::Http01Responder> own_responder;
  if (!params.shared_responder)
    own_responder = params.challenge == AcmeChallenge::HttpListen
                        ? acme::listen_responder(params.challenge_param)
                        : acme::webroot_responder(params.challenge_param);
  acme::Http01Responder& responder =
      params.shared_responder ? *params.shared_responder : *own_responder;
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
    CreateParams create{params.name, params.dns, {}, "", params.algorithm, params.now};
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
  say("ordering from " + account.directory_url);
  const auto order = client.new_order(identifiers, params.replaces);
  result.order_url = order.url;

  try {
    for (const auto& authz_url : order.authorizations) {
      const auto authz = client.fetch_authorization(authz_url);
      std::string identifier;
      if (const auto id = authz.find("identifier"); id != authz.end() && id->is_object() &&
                                                    id->contains("value") && (*id)["value"].is_string())
        identifier = (*id)["value"].get<std::string>();
      if (authz.value("status", std::string()) == "valid") {
        say("the CA holds a valid authorization for " + identifier);
        continue;
      }
      std::string token, url;
      if (const auto cs = authz.find("challenges"); cs != authz.end() && cs->is_array())
        for (const auto& c : *cs)
          if (c.is_object() && c.value("type", std::string()) == "http-01" &&
              c.contains("token") && c["token"].is_string() && c.contains("url") && c["url"].is_string()) {
            token = c["token"].get<std::string>();
            url = c["url"].get<std::string>();
          }
      if (token.empty())
        throw Error(Errc::AcmeRefused, "the CA offers no http-01 challenge for " + identifier,
                    "its authorization " + authz_url + " lists other challenge types only",
                    "this keysafe answers HTTP-01 only");
      responder.add(token, client.key_authorization(token));
      client.respond(url);
      say("asked the CA to validate " + identifier + " (" + responder.describe() + ")");
      client.wait_authorization(authz_url, identifier);
      say("validated " + identifier);
    }
  } catch (...) {
    if (own_responder) own_responder->clear();
    throw;
  }
  if (own_responder) {
    for (auto& w : own_responder->clear()) result.warnings.push_back("HTTP-01 clean-up: " + w);
    own_responder.reset();
  }

  const auto valid = client.finalize(order, *csr);
  const auto chain = client.download_certificate(valid.certificate);
  say("downloaded the certificate from " + valid.certificate);

  if (params.store_mutex) store_lock.lock();
  const auto input = formats::read_input(as_span(chain.pem), valid.certificate);
  InstallOptions install;
  install.now = params.now;
  store::AcmeEntryRecord settings;
  settings.key_id = key->id;
  settings.account_id = account.id;
  settings.directory_url = account.directory_url;
  settings.challenge = result.challenge;
  settings.challenge_param = params.challenge_param;
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
  return AcmeEntryView{e->account, e->directory_url, e->challenge, e->challenge_param};
}

}  // namespace keysafe::ops
