#include "config/signal.hpp"

#include <array>
#include <csignal>

namespace quiesce::config {

namespace {

struct named_signal {
  std::string_view name;
  int number;
};

constexpr std::array<named_signal, 8> known_signals{{
    {"HUP", SIGHUP},
    {"INT", SIGINT},
    {"QUIT", SIGQUIT},
    {"KILL", SIGKILL},
    {"USR1", SIGUSR1},
    {"USR2", SIGUSR2},
    {"ALRM", SIGALRM},
    {"TERM", SIGTERM},
}};

constexpr int max_signal_number = 31;

char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

} // namespace

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  if (text[0] >= '0' && text[0] <= '9') {
    if (text.size() > 2)
      return std::nullopt;
    int number = 0;
    for (auto c : text) {
      if (c < '0' || c > '9')
        return std::nullopt;
      number = number * 10 + (c - '0');
    }
    if (number < 1 || number > max_signal_number)
      return std::nullopt;
    return number;
  }
  std::string upper;
  upper.reserve(text.size());
  for (auto c : text)
    upper += to_upper(c);
  std::string_view name = upper;
  if (name.substr(0, 3) == "SIG")
    name.remove_prefix(3);
  for (const auto& known : known_signals)
    if (known.name == name)
      return known.number;
  return std::nullopt;
}

std::string signal_name(int x) {
  for (const auto& known : known_signals)
    if (known.number == x)
      return "SIG" + std::string{known.name};
  return std::to_string(x);
}

} // namespace quiesce::config
