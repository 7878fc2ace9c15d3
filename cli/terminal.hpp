#pragma once

// What the terminal on a file descriptor can do, from terminfo (ncurses'
// libtinfo): a live display redraws in place only on a terminal whose
// description has the capabilities it needs, with that terminal's own
// control sequences.

#include <cstddef>
#include <optional>
#include <string>

namespace quiesce::cli {

/// The control sequences a display needs to redraw lines in place.
struct redraw_sequences {
  /// Moves the cursor up `n` lines (terminfo `cuu`, with its parameter).
  std::string up_format;
  /// Moves the cursor to the start of the line (`cr`).
  std::string carriage_return;
  /// Clears to the end of the line (`el`).
  std::string clear_line;
  /// Clears to the end of the screen (`ed`).
  std::string clear_screen_below;

  /// Returns the sequence that moves the cursor `n` lines up, at column 0.
  std::string up(int n) const;
};

/// Returns the sequences of the terminal on `fd` when a live display can use
/// it: `fd` is a terminal, `$TERM` is set and is not "dumb", and its terminfo
/// entry has `cuu`, `cr`, `el` and `ed`. Returns nothing otherwise (not a
/// terminal, no or an unknown `$TERM`, a terminal that cannot move its
/// cursor): then a caller prints plain lines.
std::optional<redraw_sequences> redraw_capable_terminal(int fd);

/// The size of a terminal in character cells.
struct terminal_size {
  size_t width = 80;
  size_t height = 24;
};

/// Returns the size of the terminal on `fd`, or 80 x 24 when it says none.
terminal_size size_of_terminal(int fd);

} // namespace quiesce::cli
