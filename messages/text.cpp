#include "messages/text.hpp"

#include <string>

namespace quiesce {

namespace {

// Decodes one code point starting at `i`; returns its length in bytes, or 0
// if the bytes there are not a valid UTF-8 sequence.
size_t decode_one(std::string_view s, size_t i) noexcept {
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  auto cont = [&](size_t k) {
    return k < s.size() && (byte(k) & 0xC0u) == 0x80u;
  };
  auto b0 = byte(i);
  if (b0 < 0x80u)
    return 1;
  if (b0 >= 0xC2u && b0 <= 0xDFu)
    return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xE0u && b0 <= 0xEFu) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    auto b1 = byte(i + 1);
    if (b0 == 0xE0u && b1 < 0xA0u)
      return 0; // overlong
    if (b0 == 0xEDu && b1 >= 0xA0u)
      return 0; // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xF0u && b0 <= 0xF4u) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    auto b1 = byte(i + 1);
    if (b0 == 0xF0u && b1 < 0x90u)
      return 0; // overlong
    if (b0 == 0xF4u && b1 >= 0x90u)
      return 0; // past U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace

std::optional<size_t> count_code_points(std::string_view text) noexcept {
  size_t n = 0;
  for (size_t i = 0; i < text.size();) {
    auto len = decode_one(text, i);
    if (len == 0)
      return std::nullopt;
    i += len;
    ++n;
  }
  return n;
}

result_code check_message(std::string_view text) noexcept {
  auto n = count_code_points(text);
  if (!n)
    return result_code::invalid_utf8;
  if (*n > max_message_code_points)
    return result_code::message_too_long;
  return result_code::ok;
}

std::string describe_message_problem(std::string_view what,
                                     std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++n) {
    auto len = decode_one(text, i);
    if (len == 0)
      return std::string{what} + " is not valid UTF-8 at byte "
             + std::to_string(i + 1) + " of " + std::to_string(text.size());
    i += len;
  }
  if (n > max_message_code_points)
    return std::string{what} + " is " + std::to_string(n)
           + " code points long; the limit is "
           + std::to_string(max_message_code_points);
  return {};
}

std::string clamp_message(std::string_view text, size_t max_code_points) {
  std::string out;
  out.reserve(text.size() < 1024 ? text.size() : 1024);
  size_t n = 0;
  for (size_t i = 0; i < text.size() && n < max_code_points; ++n) {
    auto len = decode_one(text, i);
    if (len == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string escape_controls(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  auto hex2 = [](std::string& out, unsigned x) {
    out += hex[(x >> 4) & 0xFu];
    out += hex[x & 0xFu];
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto b = static_cast<unsigned char>(text[i]);
    auto len = decode_one(text, i);
    if (len == 0) {
      out += "\\x";
      hex2(out, b);
      ++i;
      continue;
    }
    if (len == 1) {
      switch (b) {
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case 0x1B:
          out += "\\e";
          break;
        default:
          if (b < 0x20u || b == 0x7Fu) {
            out += "\\x";
            hex2(out, b);
          } else {
            out += static_cast<char>(b);
          }
      }
    } else if (len == 2 && b == 0xC2u
               && static_cast<unsigned char>(text[i + 1]) < 0xA0u) {
      // U+0080..U+009F: C1 controls (CSI is U+009B).
      out += "\\u{";
      hex2(out, (static_cast<unsigned char>(text[i + 1]) & 0x3Fu) | 0x80u);
      out += '}';
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

} // namespace quiesce
