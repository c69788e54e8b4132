// Terminal progress lines, drawn with a carriage return and cleared when done.
#include "progress.hpp"

#include <unistd.h>

#include <iostream>
#include <ostream>

namespace keysafe::cli {

bool progress_wanted(const Context& ctx) {
  if (ctx.options.json) return false;
  if (auto off = ctx.env.getenv("KEYSAFE_NO_PROGRESS"); off && !off->empty()) return false;
  // Only the real stderr, and only a terminal: logs, pipes and tests get nothing.
  return &ctx.err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
}

Progress::Progress(const Context& ctx, std::string label)
    : m_ctx(ctx), m_label(std::move(label)), m_enabled(progress_wanted(ctx)) {}

Progress::~Progress() { finish(); }

void Progress::update(std::size_t done, std::size_t total) {
  if (!m_enabled) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && m_drawn && now - m_last < std::chrono::milliseconds(100)) return;
  m_last = now;
  m_drawn = true;
  const std::size_t pct = total == 0 ? 100 : done * 100 / total;
  m_ctx.err << '\r' << m_label << ": " << done << '/' << total << " (" << pct << "%)\x1b[K"
            << std::flush;
}

void Progress::finish() {
  if (!m_enabled || !m_drawn) return;
  m_ctx.err << "\r\x1b[K" << std::flush;
  m_drawn = false;
}

std::function<void(std::size_t, std::size_t)> Progress::callback() {
  if (!m_enabled) return {};
  return [this](std::size_t done, std::size_t total) { update(done, total); };
}

}  // namespace keysafe::cli
