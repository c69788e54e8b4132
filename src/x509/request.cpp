// PKCS#10 requests (RFC 2986) with a subjectAltName extension request.
#include "keysafe/x509/request.hpp"

#include <optional>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/issue.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::x509 {

ossl::Req build_request(const EVP_PKEY* key, const RequestSpec& spec) {
  ossl::Req req(X509_REQ_new());
  if (!req) ossl::fail(Errc::Crypto, "allocating a request failed");
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);

  ossl::Name subject = parse_subject(spec.subject);
  if (X509_NAME_get_index_by_NID(subject.get(), NID_commonName, -1) < 0) {
    // RFC 5280 ub-common-name: a CN has at most 64 characters, so take the first name that
    // fits; every name is in the subjectAltName anyway.
    std::optional<std::string> cn;
    for (const auto* names : {&spec.dns, &spec.ip})
      for (const auto& n : *names)
        if (!cn && n.size() <= 64) cn = n;
    if (!cn)
      throw Error(Errc::Usage, "no name fits in the certificate's common name",
                  "a CN has at most 64 characters (RFC 5280) and every --dns name is longer",
                  "add a shorter --dns name, or give a CN with --subject \"CN=...\"");
    // The CN goes last so that the RFC 2253 form reads "CN=...,O=...,C=...".
    if (X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn->c_str()),
                                   static_cast<int>(cn->size()), -1, 0) != 1)
      ossl::fail(Errc::Usage, "\"" + *cn + "\" cannot be the certificate's common name");
  }
  X509_REQ_set_subject_name(req.get(), subject.get());
  if (X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)) != 1)
    ossl::fail(Errc::Crypto, "setting the request's public key failed");

  // Built from GENERAL_NAME objects, never from "DNS:a,IP:b" text (see general_names).
  add_request_alt_names(req.get(), AltNames{spec.dns, spec.ip});
  if (X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(key), signing_digest(key)) <= 0)
    ossl::fail(Errc::Crypto, "signing the request failed");
  return req;
}

RequestInfo inspect_request(X509_REQ* req) {
  RequestInfo info;
  info.subject = name_to_string(X509_REQ_get_subject_name(req));
  const ossl::OwnedExtensionStack exts(X509_REQ_get_extensions(req));
  if (exts) {
    const ossl::GeneralNames sans(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    collect_alt_names(sans.get(), info.dns, info.ip);
  }
  ossl::clear_errors();
  info.spki = spki_der(req);
  info.spki_sha256 = spki_sha256_hex(info.spki);
  return info;
}

bool request_signature_valid(X509_REQ* req) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  const bool ok = key != nullptr && X509_REQ_verify(req, key) == 1;
  ossl::clear_errors();
  return ok;
}

Bytes request_der(X509_REQ* req) {
  unsigned char* out = nullptr;
  const int len = i2d_X509_REQ(req, &out);
  Bytes result = ossl::take_bytes(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a request failed");
  return result;
}

std::string request_pem(X509_REQ* req) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(bio.get(), req) != 1)
    ossl::fail(Errc::Crypto, "encoding a request as PEM failed");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

ossl::Req request_from_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  ossl::Req req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != der.data() + der.size())
    ossl::fail(Errc::StoreDamaged, "a stored certificate request does not decode");
  return req;
}

}  // namespace keysafe::x509
