// keysafe check: the doctor. Reads the whole store and reports what is damaged and what needs
// attention, each finding with the command that fixes it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct Finding {
  std::string severity;  // "damaged", "tampered" (an integrity MAC fails) or "warning"
  std::string entry;     // "" for the store as a whole
  std::string message;
  std::string fix;
};

struct CheckReport {
  std::vector<Finding> findings;
  std::size_t entries = 0;
  std::size_t keys_opened = 0;  // 0 when the store was not unlocked
  std::size_t certificates = 0;
  bool keys_checked = false;
  bool damaged() const;  // something damaged or tampered
  bool has_warnings() const;
};

// `name` limits the entry checks to one entry. With the store unlocked, every integrity MAC is
// verified, and every sealed key is opened and compared with its stored public key.
// `progress` (optional) is told (entries checked, total) as it goes.
CheckReport check_store(store::Keystore& store, const std::optional<std::string>& name,
                        std::int64_t now,
                        const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace keysafe::ops
