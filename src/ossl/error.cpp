// Names and exit codes of error codes (the exit-code table lives in docs/EXIT-CODES.md).
#include "keysafe/error.hpp"

namespace keysafe {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::Usage: return "usage";
    case Errc::BadInput: return "bad-input";
    case Errc::NotFound: return "not-found";
    case Errc::AlreadyExists: return "already-exists";
    case Errc::KeyNotFound: return "key-not-found";
    case Errc::RequestNotCertificate: return "request-not-certificate";
    case Errc::KeyCertMismatch: return "key-certificate-mismatch";
    case Errc::WrongPassphrase: return "wrong-passphrase";
    case Errc::FilePassword: return "wrong-password";
    case Errc::Unsupported: return "unsupported";
    case Errc::WeakKey: return "weak-key";
    case Errc::Damaged: return "damaged-file";
    case Errc::StoreMissing: return "store-missing";
    case Errc::StoreInvalid: return "not-a-store";
    case Errc::StoreDamaged: return "store-damaged";
    case Errc::StoreTampered: return "store-tampered";
    case Errc::StoreNewer: return "store-newer";
    case Errc::StoreLocked: return "store-locked";
    case Errc::StorePermission: return "store-permission";
    case Errc::StoreUnreachable: return "store-unreachable";
    case Errc::StoreAuthentication: return "store-authentication-failed";
    case Errc::StoreDatabaseMissing: return "store-database-missing";
    case Errc::StoreReadOnly: return "store-read-only";
    case Errc::Refused: return "refused";
    case Errc::Io: return "io";
    case Errc::Crypto: return "crypto";
    case Errc::DeployFailed: return "deploy-failed";
    case Errc::AcmeRefused: return "acme-refused";
    case Errc::AcmeUnreachable: return "acme-unreachable";
    case Errc::Internal: return "internal";
  }
  return "internal";
}

int exit_code_for(Errc code) noexcept {
  switch (code) {
    case Errc::Usage: return 2;
    case Errc::WrongPassphrase:
    case Errc::FilePassword: return 3;
    case Errc::StoreMissing:
    case Errc::StoreInvalid:
    case Errc::StoreDamaged:
    case Errc::StoreTampered:
    case Errc::StoreNewer:
    case Errc::StoreLocked:
    case Errc::StorePermission:
    case Errc::StoreUnreachable:
    case Errc::StoreAuthentication:
    case Errc::StoreDatabaseMissing:
    case Errc::StoreReadOnly: return 4;
    case Errc::KeyNotFound:
    case Errc::RequestNotCertificate: return 5;
    case Errc::Refused:
    case Errc::WeakKey:
    case Errc::AlreadyExists: return 6;
    case Errc::BadInput:
    case Errc::Unsupported:
    case Errc::Damaged:
    case Errc::NotFound:
    case Errc::KeyCertMismatch:
    case Errc::Io:
    case Errc::Crypto:
    case Errc::DeployFailed:
    case Errc::AcmeUnreachable:
    case Errc::Internal: return 1;
    case Errc::AcmeRefused: return 15;
  }
  return 1;
}

}  // namespace keysafe
