#pragma once

// What an actor writes to stderr when it ignores a message: a report that is
// not about its live attempt, or that comes from an actor that may not send
// it (docs/security.md, "Forged reports"). A peer that sends such messages
// in a loop must not turn stderr into its channel: the lines are rate
// limited, and what is held back is counted and said.

#include "messages/internal.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>

namespace quiesce {

/// "job J task T attempt A".
std::string attempt_name(const attempt_key& key);

/// How `from` is named in such a line: its address, or "nobody" for a
/// message without a sender.
std::string sender_name(const caf::strong_actor_ptr& from);

/// Writes lines to a stream, at most `burst` in each `window`. The lines of
/// a window past its `burst` are counted, not written; the first line
/// written after that window is preceded by one that says how many were
/// held back. Safe to call from any thread.
class rate_limited_log {
public:
  using clock = std::chrono::steady_clock;

  rate_limited_log(std::ostream& out, uint32_t burst, clock::duration window);

  /// Writes `line` (without its newline) unless this window is spent.
  /// Returns whether it was written.
  bool write(const std::string& line, clock::time_point now = clock::now());

  /// Lines held back so far, over all windows.
  uint64_t held_back() const;

private:
  mutable std::mutex mtx_;
  std::ostream& out_;
  uint32_t burst_;
  clock::duration window_;
  clock::time_point start_{};
  bool started_ = false;
  uint32_t written_ = 0;
  uint64_t pending_ = 0;
  uint64_t held_back_ = 0;
};

/// The log of this process's ignored messages, on stderr: 20 lines a
/// second at most.
rate_limited_log& ignored_log();

/// Writes "quiesce: " + `line` to `ignored_log()`.
void log_ignored(const std::string& line);

} // namespace quiesce
