// Content detection and decoding of certificate, request and PKCS#7 files.
#include "keysafe/formats/input.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/request.hpp"
#include "pem_block.hpp"

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
  ++out.pkcs7_bundles;
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

bool is_certificate_label(std::string_view label) {
  return label == "CERTIFICATE" || label == "X509 CERTIFICATE";
}

// Decodes one certificate block in `context` (null: OpenSSL's default). Thread-safe: a failure
// is thrown from, and takes OpenSSL's errors of, the calling thread.
ossl::Cert decode_certificate(const unsigned char* data, long len, std::string_view source,
                              int index, std::string_view label, OSSL_LIB_CTX* context) {
  const unsigned char* p = data;
  ossl::Cert cert(reinterpret_cast<X509*>(
      ASN1_item_d2i_ex(nullptr, &p, len, ASN1_ITEM_rptr(X509), context, nullptr)));
  if (cert == nullptr || p != data + len)
    bad(source, "holds a damaged certificate",
        "PEM block " + std::to_string(index) + " (" + std::string(label) +
            ") does not decode as an X.509 certificate",
        "ask the issuer for the certificate again");
  check_certificate(cert.get(), source);
  return cert;
}

void decode_pem_block(std::string_view label, const unsigned char* data, long len,
                      ParsedInput& out, std::string_view source, int index) {
  const unsigned char* p = data;
  const auto whole = [&](const void* obj) { return obj != nullptr && p == data + len; };
  const std::string where = "PEM block " + std::to_string(index) + " (" + std::string(label) + ")";
  if (is_certificate_label(label)) {
    out.certificates.push_back(decode_certificate(data, len, source, index, label, nullptr));
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

using detail::PemBlock;

bool is_encrypted_key(const PemBlock& b) {
  return b.header != nullptr && std::strstr(b.header, "ENCRYPTED") != nullptr &&
         is_private_key_label(b.name);
}

// Decoding is the slow part of reading a large bundle: OpenSSL 3.0 builds a decoder for each
// certificate's public key (~0.1 ms), under locks of its library context, so threads sharing
// one context run slower than one thread. From this many certificates on, the calling thread
// decodes in the default context and each helper thread in a context of its own (no shared
// locks: half the time on two cores). Certificates from different contexts work together
// (issuer checks, chain verification and key matching take keys across contexts).
constexpr std::size_t k_parallel_certificates = 256;
constexpr unsigned k_max_decoder_threads = 8;

// The helper threads' contexts, made on first use and kept for the life of the process: a
// certificate refers to its context until it is freed, and certificates outlive this call.
OSSL_LIB_CTX* helper_context(unsigned helper) {
  static std::array<OSSL_LIB_CTX*, k_max_decoder_threads> contexts{};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (contexts[helper] == nullptr) contexts[helper] = OSSL_LIB_CTX_new();
  return contexts[helper];
}

// By block: the decoded certificates and failures, empty when decoding stays with the caller.
struct DecodedCertificates {
  std::vector<ossl::Cert> certs;
  std::vector<std::exception_ptr> failures;
};

DecodedCertificates decode_in_parallel(const std::vector<std::unique_ptr<PemBlock>>& blocks,
                                       std::string_view source) {
  DecodedCertificates out;
  std::size_t count = 0;
  for (const auto& b : blocks) count += is_certificate_label(b->name) ? 1 : 0;
  const unsigned threads = std::min(std::thread::hardware_concurrency(), k_max_decoder_threads);
  if (count < k_parallel_certificates || threads < 2) return out;
  std::vector<OSSL_LIB_CTX*> contexts{nullptr};
  for (unsigned t = 1; t < threads; ++t) {
    OSSL_LIB_CTX* context = helper_context(t);
    if (context == nullptr) break;  // out of memory: fewer helpers
    contexts.push_back(context);
  }
  if (contexts.size() < 2) return out;
  out.certs.resize(blocks.size());
  out.failures.resize(blocks.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&](OSSL_LIB_CTX* context) {
    for (std::size_t i; (i = next++) < blocks.size();) {
      const PemBlock& b = *blocks[i];
      if (!is_certificate_label(b.name)) continue;
      try {
        out.certs[i] =
            decode_certificate(b.body, b.len, source, static_cast<int>(i + 1), b.name, context);
      } catch (...) {
        out.failures[i] = std::current_exception();
      }
    }
    ossl::clear_errors();  // this thread's queue
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < contexts.size(); ++t) helpers.emplace_back(work, contexts[t]);
  work(nullptr);
  for (auto& h : helpers) h.join();
  return out;
}

ParsedInput read_pem(std::span<const std::uint8_t> data, std::string_view source) {
  ParsedInput out;
  out.format = "PEM";
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  // Every block first; a block that cannot be read ends the file, and is reported after the
  // blocks before it (whose own errors come first, as when reading in one pass).
  std::vector<std::unique_ptr<PemBlock>> blocks;
  std::exception_ptr unreadable;
  for (int index = 1;; ++index) {
    auto block = std::make_unique<PemBlock>();
    if (PEM_read_bio(bio.get(), &block->name, &block->header, &block->body, &block->len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      const bool clean_end =
          ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      if (clean_end && index > 1) break;
      try {
        const std::string detail = ossl::take_errors();
        bad(source, index == 1 ? "is damaged PEM" : "is damaged after its first PEM block",
            "PEM block " + std::to_string(index) + " cannot be read (" + detail +
                "): a truncated file, a missing END line, or bad base64",
            "copy the whole file again, from -----BEGIN to -----END");
      } catch (...) {
        unreadable = std::current_exception();
      }
      break;
    }
    blocks.push_back(std::move(block));
  }
  DecodedCertificates decoded = decode_in_parallel(blocks, source);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const PemBlock& b = *blocks[i];
    if (is_encrypted_key(b)) {
      ++out.private_keys;
    } else if (!decoded.certs.empty() && is_certificate_label(b.name)) {
      if (decoded.failures[i]) std::rethrow_exception(decoded.failures[i]);
      out.certificates.push_back(std::move(decoded.certs[i]));
    } else {
      decode_pem_block(b.name, b.body, b.len, out, source, static_cast<int>(i + 1));
    }
  }
  if (unreadable) std::rethrow_exception(unreadable);
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
