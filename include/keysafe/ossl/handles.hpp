// Owning handles for OpenSSL objects: the only place that names *_free functions.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ossl {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using PKey = Handle<EVP_PKEY, ::EVP_PKEY_free>;
using PKeyCtx = Handle<EVP_PKEY_CTX, ::EVP_PKEY_CTX_free>;
using Cert = Handle<X509, ::X509_free>;
using Req = Handle<X509_REQ, ::X509_REQ_free>;
using Bio = Handle<BIO, ::BIO_free_all>;
using Pkcs7 = Handle<PKCS7, ::PKCS7_free>;
using Name = Handle<X509_NAME, ::X509_NAME_free>;
using Extension = Handle<X509_EXTENSION, ::X509_EXTENSION_free>;
using TrustStore = Handle<X509_STORE, ::X509_STORE_free>;
using StoreCtx = Handle<X509_STORE_CTX, ::X509_STORE_CTX_free>;
using MdCtx = Handle<EVP_MD_CTX, ::EVP_MD_CTX_free>;
using CipherCtx = Handle<EVP_CIPHER_CTX, ::EVP_CIPHER_CTX_free>;
using Kdf = Handle<EVP_KDF, ::EVP_KDF_free>;
using KdfCtx = Handle<EVP_KDF_CTX, ::EVP_KDF_CTX_free>;
using Pkcs8Info = Handle<PKCS8_PRIV_KEY_INFO, ::PKCS8_PRIV_KEY_INFO_free>;
using Pkcs12 = Handle<PKCS12, ::PKCS12_free>;
using SafeBag = Handle<PKCS12_SAFEBAG, ::PKCS12_SAFEBAG_free>;
using X509Sig = Handle<X509_SIG, ::X509_SIG_free>;
using Algor = Handle<X509_ALGOR, ::X509_ALGOR_free>;
using Pbe2Param = Handle<PBE2PARAM, ::PBE2PARAM_free>;
using Pbkdf2Param = Handle<PBKDF2PARAM, ::PBKDF2PARAM_free>;
using BigNum = Handle<BIGNUM, ::BN_clear_free>;
using Cipher = Handle<EVP_CIPHER, ::EVP_CIPHER_free>;
using Md = Handle<EVP_MD, ::EVP_MD_free>;
using KeyMgmt = Handle<EVP_KEYMGMT, ::EVP_KEYMGMT_free>;
using EcGroup = Handle<EC_GROUP, ::EC_GROUP_free>;
// An ECDSA signature's (r, s): JWS ES256/ES384 want them raw, not DER (RFC 7518 §3.4).
using EcdsaSig = Handle<ECDSA_SIG, ::ECDSA_SIG_free>;
using ParamBld = Handle<OSSL_PARAM_BLD, ::OSSL_PARAM_BLD_free>;
using Params = Handle<OSSL_PARAM, ::OSSL_PARAM_free>;
// Certificate revocation lists (RFC 5280 §5) and the ASN.1 values they are made of.
using Crl = Handle<X509_CRL, ::X509_CRL_free>;
using Revoked = Handle<X509_REVOKED, ::X509_REVOKED_free>;
using Asn1Time = Handle<ASN1_TIME, ::ASN1_TIME_free>;
using Asn1Integer = Handle<ASN1_INTEGER, ::ASN1_INTEGER_free>;
using Asn1Enumerated = Handle<ASN1_ENUMERATED, ::ASN1_ENUMERATED_free>;
using Asn1Ia5String = Handle<ASN1_IA5STRING, ::ASN1_IA5STRING_free>;
using Asn1OctetString = Handle<ASN1_OCTET_STRING, ::ASN1_OCTET_STRING_free>;
using GeneralName = Handle<GENERAL_NAME, ::GENERAL_NAME_free>;
using AuthorityKeyId = Handle<AUTHORITY_KEYID, ::AUTHORITY_KEYID_free>;

// Memory OpenSSL allocated for the caller (i2d_* output, BN_bn2hex, ASN1_STRING_to_UTF8,
// PEM_read_bio's name, header and body). OPENSSL_free is a macro, hence a class.
struct AllocatedDeleter {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
template <class T>
using Allocated = std::unique_ptr<T, AllocatedDeleter>;

// Frees the stack's certificates too; a borrowed stack is a plain STACK_OF(X509)*.
struct CertStackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using OwnedCertStack = std::unique_ptr<STACK_OF(X509), CertStackDeleter>;

// PKCS#12 SafeContents (RFC 7292 §4.2): frees the bags too.
struct SafeBagStackDeleter {
  void operator()(STACK_OF(PKCS12_SAFEBAG) * s) const noexcept {
    sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);
  }
};
using OwnedSafeBagStack = std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), SafeBagStackDeleter>;

// PKCS#12 AuthenticatedSafe (RFC 7292 §4.1): a sequence of ContentInfo, freed with them.
struct Pkcs7StackDeleter {
  void operator()(STACK_OF(PKCS7) * s) const noexcept { sk_PKCS7_pop_free(s, PKCS7_free); }
};
using OwnedPkcs7Stack = std::unique_ptr<STACK_OF(PKCS7), Pkcs7StackDeleter>;

// A DER SEQUENCE decoded element by element (d2i_ASN1_SEQUENCE_ANY).
struct Asn1SequenceDeleter {
  void operator()(ASN1_SEQUENCE_ANY* s) const noexcept { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
};
using OwnedAsn1Sequence = std::unique_ptr<ASN1_SEQUENCE_ANY, Asn1SequenceDeleter>;

// A stack of extensions that owns them (X509_REQ_get_extensions returns one).
struct ExtensionStackDeleter {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using OwnedExtensionStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackDeleter>;

// A stack that borrows its certificates (they belong to someone else): frees the stack only.
// Distinct from OwnedCertStack so that the two cannot be mixed up.
struct BorrowedCertStackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
using BorrowedCertStack = std::unique_ptr<STACK_OF(X509), BorrowedCertStackDeleter>;

struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};
using GeneralNames = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

// CMS messages (RFC 5652, RFC 5083): recipient backups.
using Cms = Handle<CMS_ContentInfo, ::CMS_ContentInfo_free>;

// Shares ownership of a certificate the caller keeps (X509_up_ref).
Cert share(X509* cert);

// Copies `len` bytes OpenSSL allocated (an i2d_* result) and frees them, also when copying
// throws. A null `data` or a negative `len` gives an empty buffer.
Bytes take_bytes(unsigned char* data, int len);
// The same for secret bytes (a DER private key): cleansed before they are freed.
SecureBytes take_secret(unsigned char* data, int len);
// Copies a NUL-terminated string OpenSSL allocated (BN_bn2hex) and frees it; "" for null.
std::string take_string(char* text);

}  // namespace keysafe::ossl
