// Owning handles for OpenSSL objects: the only place that names *_free functions.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

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

// Frees the stack's certificates too; a borrowed stack is a plain STACK_OF(X509)*.
struct CertStackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using OwnedCertStack = std::unique_ptr<STACK_OF(X509), CertStackDeleter>;

struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};
using GeneralNames = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

// Shares ownership of a certificate the caller keeps (X509_up_ref).
Cert share(X509* cert);

}  // namespace keysafe::ossl
