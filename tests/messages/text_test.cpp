#include "messages/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace quiesce;

namespace {

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

} // namespace

TEST_CASE("messages count Unicode code points, not bytes", "[messages][text]") {
  CHECK(count_code_points("") == size_t{0});
  CHECK(count_code_points("abc") == size_t{3});
  CHECK(count_code_points("\xC3\xA9t\xC3\xA9") == size_t{3}); // été
  CHECK(count_code_points("\xE2\x82\xAC") == size_t{1});      // €
  CHECK(count_code_points("\xF0\x9F\x98\x80") == size_t{1});  // 😀
}

TEST_CASE("a message of 320 code points is accepted, 321 is too long",
          "[messages][text]") {
  CHECK(check_message(repeat("a", 320)) == result_code::ok);
  CHECK(check_message(repeat("a", 321)) == result_code::message_too_long);
  // 320 four-byte code points are 1280 bytes and still acceptable.
  CHECK(check_message(repeat("\xF0\x9F\x98\x80", 320)) == result_code::ok);
  CHECK(check_message(repeat("\xF0\x9F\x98\x80", 321))
        == result_code::message_too_long);
  CHECK(check_message(repeat("\xC3\xA9", 321))
        == result_code::message_too_long);
}

TEST_CASE("invalid UTF-8 is refused with its own code", "[messages][text]") {
  CHECK(check_message("\xFF") == result_code::invalid_utf8);
  CHECK(check_message("\xC3") == result_code::invalid_utf8);     // truncated
  CHECK(check_message("\xC0\xAF") == result_code::invalid_utf8); // overlong
  CHECK(check_message("\xE0\x80\xAF") == result_code::invalid_utf8);
  CHECK(check_message("\xED\xA0\x80")
        == result_code::invalid_utf8); // surrogate
  CHECK(check_message("\xF4\x90\x80\x80") == result_code::invalid_utf8);
  CHECK(check_message("ok\x80") == result_code::invalid_utf8);
}

TEST_CASE("clamp_message cuts at whole code points and repairs bytes",
          "[messages][text]") {
  CHECK(clamp_message(repeat("\xC3\xA9", 400)) == repeat("\xC3\xA9", 320));
  CHECK(clamp_message("a\xFF"
                      "b")
        == "a?b");
  CHECK(clamp_message("short") == "short");
}

TEST_CASE("escape_controls leaves printable text and escapes every control",
          "[messages][text]") {
  CHECK(escape_controls("plain text, ünïcode ✓") == "plain text, ünïcode ✓");
  CHECK(escape_controls("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(escape_controls("\x1b[2J\x1b]0;title\x07") == "\\e[2J\\e]0;title\\x07");
  CHECK(escape_controls(std::string{"nul\0del\x7f", 8}) == "nul\\x00del\\x7f");
  // C1 controls: CSI (U+009B) moves a cursor like ESC [ does.
  CHECK(escape_controls("\xc2\x9b"
                        "2J\xc2\x85")
        == "\\u{9b}2J\\u{85}");
  // Bytes that are not UTF-8, and a backslash, so escapes are unambiguous.
  CHECK(escape_controls("bad\xff\xc2") == "bad\\xff\\xc2");
  CHECK(escape_controls("C:\\dir\\n") == "C:\\\\dir\\\\n");
  // No control byte survives.
  std::string all;
  for (int b = 0; b < 256; ++b)
    all += static_cast<char>(b);
  for (auto c : escape_controls(all)) {
    auto u = static_cast<unsigned char>(c);
    CHECK((u >= 0x20 && u != 0x7f));
  }
}
