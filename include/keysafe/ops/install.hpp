// Installing what a CA returned: matching the certificate to a stored key by public key.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/formats/input.hpp"
#include "keysafe/ops/renew_hook.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::ops {

struct InstallOptions {
  std::optional<std::filesystem::path> ca_file;
  std::int64_t now = 0;
  // Run inside the transaction that stores the certificate (a local CA's record of issuing
  // it), so that both are committed or neither is; run alone when it was installed already.
  std::function<void()> in_same_transaction;
};

struct InstallResult {
  std::string name;
  x509::CertificateInfo certificate;
  bool already_installed = false;  // the same certificate was installed before
  // Installed before, and given again with chain certificates or --ca-file that changed the
  // stored chain or its verdict (chain_trusted/chain_problem/chain_length are the new ones).
  bool chain_rechecked = false;
  bool previous_chain_trusted = false;
  std::string previous_chain_problem;
  bool became_current = false;
  std::optional<std::string> replaced_fingerprint;  // the previous current certificate
  std::size_t chain_length = 0;
  bool chain_trusted = false;
  std::string chain_problem;
  std::vector<std::string> warnings;
  // Set when this certificate completed a renewal with a new key (docs/CA.md): the entry took
  // over the old entry's name, and the old entry was renamed to this.
  std::optional<std::string> replaced_entry;
  RenewalHookOutcome renewal_hook;  // what the after-renewal hook did then
  // Set when the entry had a name made up at import ("key-..."): it took the certificate's
  // name (`name`), and this was its name before.
  std::optional<std::string> renamed_from;
};

// Whether installing `input` would write rows that carry integrity MACs, so the store must be
// unlocked first: it completes a pending renewal, whose deployments move to the new entry.
bool install_needs_unlock(store::Keystore& store, const formats::ParsedInput& input);

// `input` is the parsed file named `source`. Throws KeyNotFound (with the seed's diagnosis)
// when no stored private key matches, RequestNotCertificate for a request.
InstallResult install_certificate(store::Keystore& store, const formats::ParsedInput& input,
                                  std::string_view source, const InstallOptions& options);

}  // namespace keysafe::ops
