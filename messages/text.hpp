#pragma once

#include "messages/result_code.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace quiesce {

/// The longest error or cancel message, in Unicode code points.
inline constexpr size_t max_message_code_points = 320;

/// Returns the number of code points in `text`, or nothing if `text` is not
/// valid UTF-8 (overlong forms, surrogates and values past U+10FFFF are
/// invalid).
std::optional<size_t> count_code_points(std::string_view text) noexcept;

/// Returns `ok` if `text` is valid UTF-8 of at most 320 code points,
/// `invalid_utf8` if it is not UTF-8, and `message_too_long` otherwise.
result_code check_message(std::string_view text) noexcept;

/// Returns why `what` ("the cancel message", ...) holding `text` fails
/// `check_message`, with the limit and the length ("the cancel message is
/// 400 code points long; the limit is 320"), or where it stops being UTF-8
/// ("... is not valid UTF-8 at byte 12 of 40"); "" when it passes.
std::string describe_message_problem(std::string_view what,
                                     std::string_view text);

/// Returns `text` cut to at most `max_code_points` whole code points, for
/// runtime errors whose text Quiesce does not control (invalid UTF-8 bytes
/// are replaced by '?').
std::string clamp_message(std::string_view text,
                          size_t max_code_points = max_message_code_points);

/// Returns `text` safe to print on a terminal: C0 controls, DEL and C1
/// controls (U+0080..U+009F) become escapes (`\n`, `\r`, `\t`, `\e`,
/// `\xNN`, `\u{NN}`), bytes that are not UTF-8 become `\xNN`, and a
/// backslash becomes `\\`, so the printed text is unambiguous and no byte of
/// it can move the cursor or forge a line. Printable text is unchanged.
std::string escape_controls(std::string_view text);

} // namespace quiesce
