// The one error type of the library: a code, a summary, the cause and the remedy.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace keysafe {

enum class Errc {
  Usage,                  // the command line is wrong
  BadInput,               // a file is not what the command expects
  NotFound,               // no entry of that name
  AlreadyExists,          // a name or file is taken
  KeyNotFound,            // a certificate whose private key is in no stored key
  RequestNotCertificate,  // a certificate request where a certificate was expected
  KeyCertMismatch,        // a key and a certificate that do not belong together
  WrongPassphrase,        // the store header is intact but its data key does not open
  FilePassword,           // a file's password is wrong or missing (PKCS#12, encrypted key, backup)
  Unsupported,            // an algorithm or format this build cannot handle (named in the message)
  WeakKey,                // a key below policy (RSA < 2048, DSA): refused unless --allow-weak
  Damaged,                // a file (backup, PKCS#12) is damaged or truncated
  StoreMissing,           // no store at the path
  StoreInvalid,           // the file is not a keysafe store
  StoreDamaged,           // the store file or a row in it is damaged
  StoreTampered,          // a row fails its integrity MAC (changed without the passphrase)
  StoreNewer,             // written by a newer keysafe
  StoreLocked,            // another process holds the store
  StorePermission,        // the store file cannot be read or written (or the database role lacks rights)
  StoreUnreachable,       // the store's database server cannot be reached (refused, no such host, lost)
  StoreAuthentication,    // the database server refused the credentials libpq gave it
  StoreDatabaseMissing,   // the database named in the store URI does not exist
  StoreReadOnly,          // the database only reads here (a standby, a read-only transaction)
  Refused,                // a risky action that needs --yes or --force
  Io,                     // reading or writing a file failed
  Crypto,                 // an OpenSSL operation failed unexpectedly
  DeployFailed,           // a deployment's test, reload or probe failed (files restored or named)
  AcmeRefused,            // an ACME CA refused a request (a problem document; exit 15)
  AcmeUnreachable,        // an ACME server could not be reached or its TLS not verified
  Internal,               // a bug in keysafe
};

class Error final : public std::exception {
 public:
  Error(Errc code, std::string summary, std::string cause = {}, std::string remedy = {})
      : m_code(code),
        m_summary(std::move(summary)),
        m_cause(std::move(cause)),
        m_remedy(std::move(remedy)) {}

  Errc code() const noexcept { return m_code; }
  const std::string& summary() const noexcept { return m_summary; }
  const std::string& cause() const noexcept { return m_cause; }
  const std::string& remedy() const noexcept { return m_remedy; }
  // The OpenSSL error queue at the time of failure, for --verbose.
  const std::string& openssl_errors() const noexcept { return m_openssl; }
  Error& with_openssl_errors(std::string text) {
    m_openssl = std::move(text);
    return *this;
  }
  const char* what() const noexcept override { return m_summary.c_str(); }

 private:
  Errc m_code;
  std::string m_summary;
  std::string m_cause;
  std::string m_remedy;
  std::string m_openssl;
};

// Stable machine name of a code, used in JSON output (e.g. "key-not-found").
std::string_view errc_name(Errc code) noexcept;

// The process exit code for an error (the table is in docs/EXIT-CODES.md).
int exit_code_for(Errc code) noexcept;

}  // namespace keysafe
