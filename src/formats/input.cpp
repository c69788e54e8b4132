// Content detection and decoding of certificate, request and PKCS#7 files.
#include "keysafe/formats/input.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::formats {
namespace {

constexpr std::string_view k_pem_marker = "-----BEGIN ";

[[noreturn]] void bad(std::string_view source, std::string summary, std::string cause,
                      std::string remedy = {}) {
  ossl::fail(Errc::BadInput, "\"" + std::string(source) + "\" " + summary, std::move(cause),
             std::move(remedy));
}

// OpenSSL 3.0 accepts any version number; RFC 5280 §4.1.2.1 allows v1..v3 only.
void check_certificate(X509* cert, std::string_view source) {
  const long version = X509_get_version(cert);
  if (version < 0 || version > 2)
    bad(source, "holds a certificate with an invalid version number",
        "the version field is " + std::to_string(version + 1) +
            "; RFC 5280 allows only versions 1, 2 and 3",
        "the file is damaged or was not made by a conforming CA; ask the issuer for it again");
}

void check_request(X509_REQ* req, std::string_view source) {
  if (X509_REQ_get_version(req) != X509_REQ_VERSION_1)
    bad(source, "holds a certificate request with an invalid version number",
        "RFC 2986 requests have version 1 (encoded 0)", "recreate the request");
  if (!x509::request_signature_valid(req))
    bad(source, "holds a certificate request whose signature does not verify",
        "the request was altered after it was signed, is damaged, or uses a signature "
        "algorithm this OpenSSL cannot check (such as MD4)",
        "recreate the request from its key: keysafe request NAME -o FILE");
}

void add_pkcs7(PKCS7* p7, ParsedInput& out, std::string_view source) {
  if (OBJ_obj2nid(p7->type) != NID_pkcs7_signed)
    bad(source, "is a PKCS#7 file but not a certificate bundle",
        std::string("its content type is ") + OBJ_nid2ln(OBJ_obj2nid(p7->type)) +
            "; certificate chains (.p7b/.p7c) are SignedData",
        "ask the CA for the certificate as PEM, DER or a .p7b chain");
  STACK_OF(X509)* certs = p7->d.sign != nullptr ? p7->d.sign->cert : nullptr;
  if (certs == nullptr || sk_X509_num(certs) == 0)
    bad(source, "is a PKCS#7 bundle with no certificates in it",
        "the SignedData structure carries an empty certificate set",
        "ask the CA for the file again; it should contain the certificate and its chain");
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    check_certificate(c, source);
    out.certificates.push_back(ossl::share(c));
  }
}

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "ENCRYPTED PRIVATE KEY" ||
         label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "DSA PRIVATE KEY" ||
         label == "ANY PRIVATE KEY";
}

void decode_pem_block(std::string_view label, const unsigned char* data, long len,
                      ParsedInput& out, std::string_view source, int index) {
  const unsigned char* p = data;
  const auto whole = [&](const void* obj) { return obj != nullptr && p == data + len; };
  const std::string where = "PEM block " + std::to_string(index) + " (" + std::string(label) + ")";
  if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
    ossl::Cert cert(d2i_X509(nullptr, &p, len));
    if (!whole(cert.get()))
      bad(source, "holds a damaged certificate", where + " does not decode as an X.509 certificate",
          "ask the issuer for the certificate again");
    check_certificate(cert.get(), source);
    out.certificates.push_back(std::move(cert));
  } else if (label == "TRUSTED CERTIFICATE") {
    // OpenSSL's certificate-plus-trust-settings form: the trust settings are ignored.
    ossl::Cert cert(d2i_X509_AUX(nullptr, &p, len));
    if (!whole(cert.get()))
      bad(source, "holds a damaged certificate", where + " does not decode");
    check_certificate(cert.get(), source);
    out.certificates.push_back(std::move(cert));
  } else if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") {
    ossl::Req req(d2i_X509_REQ(nullptr, &p, len));
    if (!whole(req.get()))
      bad(source, "holds a damaged certificate request", where + " does not decode as PKCS#10");
    check_request(req.get(), source);
    out.requests.push_back(std::move(req));
  } else if (label == "PKCS7") {
    ossl::Pkcs7 p7(d2i_PKCS7(nullptr, &p, len));
    if (!whole(p7.get())) bad(source, "holds a damaged PKCS#7 bundle", where + " does not decode");
    add_pkcs7(p7.get(), out, source);
  } else if (is_private_key_label(label)) {
    ++out.private_keys;
  } else {
    bad(source, "holds a PEM block keysafe does not read here",
        where + " is neither a certificate, a certificate request, a PKCS#7 bundle nor a "
                "private key");
  }
}

// What PEM_read_bio allocates for one block.
struct PemBlockMemory {
  char* name;
  char* header;
  unsigned char* body;
  PemBlockMemory(char* n, char* h, unsigned char* b) : name(n), header(h), body(b) {}
  PemBlockMemory(const PemBlockMemory&) = delete;
  PemBlockMemory& operator=(const PemBlockMemory&) = delete;
  ~PemBlockMemory() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(body);
  }
};

ParsedInput read_pem(std::span<const std::uint8_t> data, std::string_view source) {
  ParsedInput out;
  out.format = "PEM";
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  for (int index = 1;; ++index) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* body = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &body, &len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      const bool clean_end =
          ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      if (clean_end && index > 1) break;
      const std::string detail = ossl::take_errors();
      bad(source, index == 1 ? "is damaged PEM" : "is damaged after its first PEM block",
          "PEM block " + std::to_string(index) + " cannot be read (" + detail +
              "): a truncated file, a missing END line, or bad base64",
          "copy the whole file again, from -----BEGIN to -----END");
    }
    const PemBlockMemory owned(name, header, body);
    const std::string label = name;
    const bool encrypted_header = header != nullptr && std::strstr(header, "ENCRYPTED") != nullptr;
    if (encrypted_header && is_private_key_label(label)) {
      ++out.private_keys;
    } else {
      decode_pem_block(label, body, len, out, source, index);
    }
  }
  ossl::clear_errors();
  return out;
}

ParsedInput read_der(std::span<const std::uint8_t> data, std::string_view source) {
  ParsedInput out;
  const long len = static_cast<long>(data.size());
  {
    const unsigned char* p = data.data();
    ossl::Cert cert(d2i_X509(nullptr, &p, len));
    if (cert && p == data.data() + data.size()) {
      check_certificate(cert.get(), source);
      out.format = "DER certificate";
      out.certificates.push_back(std::move(cert));
      ossl::clear_errors();
      return out;
    }
  }
  {
    const unsigned char* p = data.data();
    ossl::Req req(d2i_X509_REQ(nullptr, &p, len));
    if (req && p == data.data() + data.size()) {
      check_request(req.get(), source);
      out.format = "DER certificate request";
      out.requests.push_back(std::move(req));
      ossl::clear_errors();
      return out;
    }
  }
  {
    const unsigned char* p = data.data();
    ossl::Pkcs7 p7(d2i_PKCS7(nullptr, &p, len));
    if (p7 && p == data.data() + data.size()) {
      out.format = "DER PKCS#7";
      ossl::clear_errors();  // the failed certificate and request attempts above
      add_pkcs7(p7.get(), out, source);
      ossl::clear_errors();
      return out;
    }
  }
  ossl::clear_errors();
  if (data.size() >= 4 && data[0] == 0xFE && data[1] == 0xED && data[2] == 0xFE && data[3] == 0xED)
    bad(source, "is a Java keystore (JKS), not a certificate",
        "JKS files hold keys and certificates in Java's own format",
        "convert it with keytool -importkeystore ... -deststoretype PKCS12, then keysafe import");
  bad(source, "is not a certificate",
      "it is neither PEM nor a DER certificate, certificate request or PKCS#7 bundle"
      " (it may be truncated, or another kind of file)",
      "give the certificate file the CA sent (PEM, DER, or .p7b/.p7c)");
}

}  // namespace

ParsedInput read_input(std::span<const std::uint8_t> data, std::string_view source) {
  if (data.empty())
    bad(source, "is empty", "the file has no content", "check the path and the download");
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  ParsedInput out;
  // A DER structure may contain the PEM marker as text (in a name, say): DER first when the
  // file starts like one.
  if (data[0] == 0x30 || text.find(k_pem_marker) == std::string_view::npos) {
    try {
      out = read_der(data, source);
    } catch (const Error&) {
      if (text.find(k_pem_marker) == std::string_view::npos) throw;
      ossl::clear_errors();
      out = read_pem(data, source);
    }
  } else {
    out = read_pem(data, source);
  }
  // The same certificate twice (cat cert.pem fullchain.pem) is one certificate. X509_cmp is a
  // total order, so a set finds repeats in O(n log n): bundles hold tens of thousands.
  const auto less = [](const X509* a, const X509* b) { return X509_cmp(a, b) < 0; };
  std::set<const X509*, decltype(less)> seen(less);
  std::vector<ossl::Cert> unique;
  for (auto& c : out.certificates)
    if (seen.insert(c.get()).second) unique.push_back(std::move(c));
  out.certificates = std::move(unique);
  return out;
}

}  // namespace keysafe::formats
