// Progress of long operations (bulk issuance, large imports) on the terminal: stderr only, only
// when stderr is a terminal, never with --json, and not when KEYSAFE_NO_PROGRESS is set.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "context.hpp"

namespace keysafe::cli {

// True when progress may be drawn for this context: the context writes to the process's stderr,
// that stderr is a terminal, the output is not --json, and KEYSAFE_NO_PROGRESS is unset.
bool progress_wanted(const Context& ctx);

class Progress final {
 public:
  Progress(const Context& ctx, std::string label);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Redraws "label: done/total (pct%)" at most ten times a second, and at the end.
  void update(std::size_t done, std::size_t total);
  // Clears the line (the command's own summary follows on stdout).
  void finish();
  bool enabled() const noexcept { return m_enabled; }
  // A callback for library operations that report (done, total).
  std::function<void(std::size_t, std::size_t)> callback();

 private:
  const Context& m_ctx;
  std::string m_label;
  bool m_enabled = false;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last{};
};

}  // namespace keysafe::cli
