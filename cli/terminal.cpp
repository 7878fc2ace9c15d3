#include "cli/terminal.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sys/ioctl.h>
#include <unistd.h>

// term.h defines macros named after every capability (`lines`, `columns`,
// ...): it is included last and only here.
#include <curses.h>
#include <term.h>

namespace quiesce::cli {

namespace {

std::mutex terminfo_mtx; // libtinfo keeps the current terminal in a global
std::string* expanded = nullptr; // where put_char writes, under terminfo_mtx

int put_char(int c) {
  expanded->push_back(static_cast<char>(c));
  return c;
}

// Returns `text` as the terminal wants it written: tputs() drops the padding
// specifications ("$<5>") some descriptions carry.
std::string expand(const char* text) {
  std::string out;
  expanded = &out;
  ::tputs(text, 1, put_char);
  expanded = nullptr;
  return out;
}

// Returns the string capability `name` of the current terminal, or nothing
// when it is absent or not a string capability.
std::optional<std::string> string_cap(const char* name) {
  auto* text = ::tigetstr(const_cast<char*>(name));
  // terminfo's documented marker for "not a string capability" is (char*)-1.
  // NOLINTNEXTLINE(performance-no-int-to-ptr)
  if (text == nullptr || text == reinterpret_cast<char*>(-1))
    return std::nullopt;
  return std::string{text};
}

} // namespace

std::string redraw_sequences::up(int n) const {
  if (n <= 0)
    return carriage_return;
  std::lock_guard<std::mutex> guard{terminfo_mtx};
  auto* text = ::tiparm(up_format.c_str(), n);
  return carriage_return + (text != nullptr ? expand(text) : std::string{});
}

std::optional<redraw_sequences> redraw_capable_terminal(int fd) {
  if (::isatty(fd) != 1)
    return std::nullopt;
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{terminfo_mtx};
  int err = 0;
  if (::setupterm(term, fd, &err) != OK)
    return std::nullopt;
  auto cuu = string_cap("cuu");
  auto cr = string_cap("cr");
  auto el = string_cap("el");
  auto ed = string_cap("ed");
  if (!cuu || !cr || !el || !ed)
    return std::nullopt;
  return redraw_sequences{*cuu, expand(cr->c_str()), expand(el->c_str()),
                          expand(ed->c_str())};
}

terminal_size size_of_terminal(int fd) {
  terminal_size out;
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    out.width = ws.ws_col;
    out.height = ws.ws_row > 0 ? ws.ws_row : out.height;
  }
  return out;
}

} // namespace quiesce::cli
