#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace quiesce::config {

/// Returns the signal number named by `text`: a name with or without the
/// "SIG" prefix, in any case ("SIGTERM", "term"; one of HUP, INT, QUIT, KILL,
/// USR1, USR2, ALRM, TERM), or a decimal number from 1 to 31 ("15").
std::optional<int> parse_signal(std::string_view text);

/// Returns the name of signal `x` ("SIGTERM"), or its number as text when
/// `parse_signal` knows no name for it.
std::string signal_name(int x);

} // namespace quiesce::config
