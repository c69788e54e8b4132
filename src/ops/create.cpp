// keysafe create: key generation, request building, sealing, one transaction.
#include "keysafe/ops/create.hpp"

#include <algorithm>

#include "keysafe/names.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {

void validate_entry_name(std::string_view name) {
  if (!is_simple_name(name, 64))
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" is not a valid entry name",
                "names have 1-64 letters, digits, '.', '_' or '-', and do not start with '-' or '.'",
                "for example: keysafe create www.example.com --dns www.example.com");
}

std::string entry_name_from(std::string_view text) {
  std::string n;
  for (char c : text)
    n += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-')
             ? c
             : '-';
  while (!n.empty() && (n.front() == '-' || n.front() == '.')) n.erase(n.begin());
  if (n.size() > 56) n.resize(56);  // room for "-NN" within the 64 characters
  return n;
}

std::string free_entry_name(store::Keystore& store, const std::string& base) {
  std::string name = base;
  for (int n = 2; store.key_by_name(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

void prepare_create(store::Keystore& store, CreateParams& params) {
  validate_entry_name(params.name);
  if (params.dns.empty() && params.ip.empty())
    throw Error(Errc::Usage, "a certificate request needs at least one name",
                "no --dns or --ip was given",
                "add the site's names, e.g. --dns www.example.com --dns example.com");
  std::vector<std::string> dns;
  for (const auto& d : params.dns) {
    auto n = x509::normalize_dns_name(d);
    if (std::find(dns.begin(), dns.end(), n) == dns.end()) dns.push_back(std::move(n));
  }
  std::vector<std::string> ip;
  for (const auto& a : params.ip) {
    auto n = x509::normalize_ip(a);
    if (std::find(ip.begin(), ip.end(), n) == ip.end()) ip.push_back(std::move(n));
  }
  params.dns = std::move(dns);
  params.ip = std::move(ip);
  (void)x509::parse_subject(params.subject);  // reject a bad subject before unlocking
  if (auto existing = store.key_by_name(params.name))
    throw Error(Errc::AlreadyExists, "the name \"" + params.name + "\" is already in use",
                "an entry of that name exists (state: " +
                    std::string(existing->current_certificate_id ? "installed" : "pending") + ")",
                "choose another name, or see the existing one with: keysafe show " + params.name);
}

CreateResult create_key(store::Keystore& store, const CreateParams& params) {
  const ossl::PKey key = x509::generate_key(params.algorithm);
  const x509::RequestSpec spec{params.subject, params.dns, params.ip};
  const ossl::Req req = x509::build_request(key.get(), spec);
  // A request that does not verify must never leave keysafe.
  if (!x509::request_signature_valid(req.get()))
    throw Error(Errc::Internal, "the new request's signature does not verify");
  const x509::RequestInfo info = x509::inspect_request(req.get());

  store::NewKey row;
  row.name = params.name;
  row.algorithm = std::string(x509::key_algorithm_name(params.algorithm));
  row.spki_der = info.spki;
  row.subject = info.subject;
  row.dns = params.dns;
  row.ip = params.ip;
  row.request_der = x509::request_der(req.get());
  row.now = params.now;
  store.record("created", params.name, row.algorithm + " key and request for " + info.subject);
  store.add_key(row, x509::private_key_to_pkcs8(key.get()));

  return CreateResult{params.name, row.algorithm,   info.subject,
                      params.dns,  params.ip,       info.spki_sha256,
                      x509::request_pem(req.get())};
}

}  // namespace keysafe::ops

namespace keysafe::ops {

std::string stored_request_pem(store::Keystore& store, std::string_view name) {
  const auto key = store.key_by_name(name);
  if (!key)
    throw Error(Errc::NotFound, "no entry named \"" + std::string(name) + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list");
  const auto der = store.latest_request(key->id);
  if (!der)
    throw Error(Errc::NotFound, "the entry \"" + key->name + "\" has no stored request",
                "it was imported with a certificate, not created by keysafe create",
                "make a new request for it with: keysafe renew " + key->name);
  return x509::request_pem(x509::request_from_der(*der).get());
}

}  // namespace keysafe::ops
