#include "config/toml_reader.hpp"

#include "config/duration.hpp"
#include "config/job_file.hpp"
#include "config/signal.hpp"
#include "messages/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <tuple>

namespace quiesce::config::detail {

namespace {

bool is_bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

struct text_position {
  uint32_t line = 1;
  uint32_t column = 1;
};

// Finds a run of more than `max_key_depth` dots joining key parts, outside
// strings and comments. Floats and dates have at most one dot per run, so
// only keys and table headers can trip it.
std::optional<text_position> find_deep_key(std::string_view text) {
  enum class state { normal, comment, basic, literal, ml_basic, ml_literal };
  auto st = state::normal;
  text_position pos;
  size_t dots = 0;
  auto starts_with = [&](size_t i, std::string_view what) {
    return text.substr(i, what.size()) == what;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    text_position here = pos;
    if (c == '\n') {
      ++pos.line;
      pos.column = 1;
    } else if (!is_utf8_continuation(c)) {
      ++pos.column;
    }
    switch (st) {
      case state::normal:
        if (c == '#') {
          st = state::comment;
          dots = 0;
        } else if (c == '"') {
          st = starts_with(i, R"(""")") ? state::ml_basic : state::basic;
        } else if (c == '\'') {
          st = starts_with(i, "'''") ? state::ml_literal : state::literal;
        } else if (c == '.') {
          if (++dots > max_key_depth)
            return here;
        } else if (c != ' ' && c != '\t' && !is_bare_key_char(c)) {
          dots = 0;
        }
        if (st == state::ml_basic || st == state::ml_literal) {
          i += 2;
          pos.column += 2;
        }
        break;
      case state::comment:
        if (c == '\n')
          st = state::normal;
        break;
      case state::basic:
      case state::ml_basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
          ++pos.column;
        } else if (st == state::basic && (c == '"' || c == '\n')) {
          st = state::normal;
        } else if (st == state::ml_basic && starts_with(i, R"(""")")) {
          st = state::normal;
          dots = 0;
          i += 2;
          pos.column += 2;
        }
        break;
      case state::literal:
        if (c == '\'' || c == '\n')
          st = state::normal;
        break;
      case state::ml_literal:
        if (starts_with(i, "'''")) {
          st = state::normal;
          dots = 0;
          i += 2;
          pos.column += 2;
        }
        break;
    }
  }
  return std::nullopt;
}

// Returns `text` cut to at most `n` code points.
std::string_view prefix_code_points(std::string_view text, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_utf8_continuation(text[i]) && count++ == n)
      return text.substr(0, i);
  }
  return text;
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

std::string key_label(std::string_view key) {
  std::string result = "'";
  for (auto c : prefix_code_points(key, 64)) {
    auto u = static_cast<unsigned char>(c);
    result += u < 0x20 || u == 0x7F ? '?' : c;
  }
  if (key.size() > result.size())
    result += "...";
  result += '\'';
  return result;
}

} // namespace

std::string_view describe_type(const toml::node& x) {
  switch (x.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string quote(std::string_view text) {
  static constexpr size_t max_shown = 40;
  auto shown = prefix_code_points(text, max_shown);
  std::string result = "\"";
  for (auto c : shown) {
    switch (c) {
      case '"':
        result += "\\\"";
        break;
      case '\\':
        result += "\\\\";
        break;
      case '\n':
        result += "\\n";
        break;
      case '\t':
        result += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
          result += '?';
        else
          result += c;
    }
  }
  if (shown.size() < text.size())
    result += "...";
  result += '"';
  return result;
}

parsed_document parse_document(std::string_view text,
                               const std::string& source_name) {
  parsed_document result;
  if (text.size() > max_file_size) {
    result.error = diagnostic{source_name, 0, 0,
                              "file too large: " + std::to_string(text.size())
                                  + " bytes (the limit is "
                                  + std::to_string(max_file_size) + ")"};
    return result;
  }
  if (auto deep = find_deep_key(text)) {
    result.error
        = diagnostic{source_name, deep->line, deep->column,
                     "key nested too deeply: more than "
                         + std::to_string(max_key_depth) + " dotted parts"};
    return result;
  }
  try {
    result.root = toml::parse(text, std::string_view{source_name});
  } catch (const toml::parse_error& e) {
    auto begin = e.source().begin;
    result.error = diagnostic{source_name, begin.line, begin.column,
                              "invalid TOML: " + std::string{e.description()}};
  }
  return result;
}

file_content read_file(const std::string& path) {
  file_content result;
  auto fail = [&](const std::string& why) {
    result.error = diagnostic{path, 0, 0, "cannot read file: " + why};
    return result;
  };
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec)
    return fail(ec.message());
  if (std::filesystem::is_directory(status))
    return fail("it is a directory");
  if (std::filesystem::is_regular_file(status)) {
    auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_file_size)
      return fail("file too large: " + std::to_string(size)
                  + " bytes (the limit is " + std::to_string(max_file_size)
                  + ")");
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return fail(std::strerror(errno));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    // Guards against special files that never end.
    if (text.size() > max_file_size)
      return fail("file too large (the limit is "
                  + std::to_string(max_file_size) + " bytes)");
  }
  if (in.bad())
    return fail(std::strerror(errno));
  result.text = std::move(text);
  return result;
}

reader::reader(std::string source_name) : source_name_(std::move(source_name)) {
  std::error_code ec;
  auto parent = std::filesystem::path{source_name_}.parent_path();
  base_dir_ = parent.empty() ? std::filesystem::current_path(ec)
                             : std::filesystem::absolute(parent, ec);
  if (ec)
    base_dir_ = parent;
}

void reader::error(const toml::source_region& where, std::string message) {
  errors_.push_back(diagnostic{source_name_, where.begin.line,
                               where.begin.column, std::move(message)});
}

void reader::error(const toml::node& where, std::string message) {
  error(where.source(), std::move(message));
}

std::vector<diagnostic> reader::sorted_errors() const {
  auto result = errors_;
  std::stable_sort(result.begin(), result.end(),
                   [](const diagnostic& x, const diagnostic& y) {
                     return std::tie(x.line, x.column)
                            < std::tie(y.line, y.column);
                   });
  return result;
}

void reader::check_keys(const toml::table& table,
                        const std::vector<std::string_view>& allowed,
                        std::string_view context) {
  for (auto&& [key, value] : table) {
    auto name = key.str();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end())
      continue;
    auto message
        = "unknown key " + key_label(name) + " in " + std::string{context};
    if (auto guess = closest_match(name, allowed); !guess.empty())
      message += " (did you mean '" + std::string{guess} + "'?)";
    error(key.source(), std::move(message));
  }
}

std::optional<std::string> reader::read_string(const toml::table& table,
                                               std::string_view key) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  auto str = node->as_string();
  if (str == nullptr) {
    error(*node, key_label(key) + ": expected a string, found "
                     + std::string{describe_type(*node)});
    return std::nullopt;
  }
  const std::string& value = str->get();
  if (value.find('\0') != std::string::npos) {
    error(*node, key_label(key) + ": expected a string without NUL, found "
                     + quote(value));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> reader::read_name(const toml::table& table,
                                             std::string_view key) {
  auto node = table.get(key);
  auto value = read_string(table, key);
  if (!value)
    return std::nullopt;
  if (value->empty()) {
    error(*node, key_label(key)
                     + ": expected a non-empty string, found an empty string");
    return std::nullopt;
  }
  if (has_control_char(*value)) {
    error(*node, key_label(key)
                     + ": expected a string without control characters, found "
                     + quote(*value));
    return std::nullopt;
  }
  // Names follow the rule of every message the runtime stores (S1, S2).
  if (auto n = count_code_points(*value); n && *n > max_message_code_points) {
    error(*node, key_label(key) + ": expected at most "
                     + std::to_string(max_message_code_points)
                     + " characters, found " + std::to_string(*n));
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> reader::read_integer(const toml::table& table,
                                            std::string_view key, int64_t min,
                                            int64_t max) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  auto integer = node->as_integer();
  if (integer == nullptr) {
    error(*node, key_label(key) + ": expected an integer, found "
                     + std::string{describe_type(*node)});
    return std::nullopt;
  }
  auto value = integer->get();
  if (value < min || value > max) {
    error(*node, key_label(key) + ": expected an integer from "
                     + std::to_string(min) + " to " + std::to_string(max)
                     + ", found " + std::to_string(value));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> reader::read_bool(const toml::table& table,
                                      std::string_view key) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  auto boolean = node->as_boolean();
  if (boolean == nullptr) {
    error(*node, key_label(key) + ": expected a boolean (true or false), found "
                     + std::string{describe_type(*node)});
    return std::nullopt;
  }
  return boolean->get();
}

std::optional<caf::timespan> reader::read_duration(const toml::table& table,
                                                   std::string_view key,
                                                   bool positive) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  auto str = node->as_string();
  if (str == nullptr) {
    error(*node, key_label(key)
                     + ": expected a duration string such as \"30s\", found "
                     + std::string{describe_type(*node)});
    return std::nullopt;
  }
  auto value = parse_duration(str->get());
  if (!value) {
    error(*node, key_label(key)
                     + ": expected a duration such as \"250ms\", \"30s\", "
                       "\"5m\", \"1h\" or \"1m30s\", found "
                     + quote(str->get()));
    return std::nullopt;
  }
  if (positive && value->count() == 0) {
    error(*node, key_label(key) + ": expected a positive duration, found "
                     + quote(str->get()));
    return std::nullopt;
  }
  return value;
}

std::optional<int> reader::read_signal(const toml::table& table,
                                       std::string_view key) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  static const std::string expected
      = "expected a name such as \"SIGTERM\" or a number from 1 to 31";
  if (auto str = node->as_string()) {
    if (auto value = parse_signal(str->get()))
      return value;
    error(*node, key_label(key) + ": unknown signal " + quote(str->get()) + " ("
                     + expected + ")");
    return std::nullopt;
  }
  if (auto integer = node->as_integer()) {
    auto value = integer->get();
    if (value >= 1 && value <= 31)
      return static_cast<int>(value);
    error(*node, key_label(key) + ": unknown signal " + std::to_string(value)
                     + " (" + expected + ")");
    return std::nullopt;
  }
  error(*node, key_label(key) + ": " + expected + ", found "
                   + std::string{describe_type(*node)});
  return std::nullopt;
}

std::optional<std::string> reader::read_path(const toml::table& table,
                                             std::string_view key) {
  auto node = table.get(key);
  auto value = read_string(table, key);
  if (!value)
    return std::nullopt;
  if (value->empty()) {
    error(*node, key_label(key)
                     + ": expected a non-empty path, found an empty string");
    return std::nullopt;
  }
  return resolve(*value);
}

std::optional<std::vector<std::string>>
reader::read_string_array(const toml::table& table, std::string_view key) {
  auto node = table.get(key);
  if (node == nullptr)
    return std::nullopt;
  auto array = node->as_array();
  if (array == nullptr) {
    error(*node, key_label(key) + ": expected an array of strings, found "
                     + std::string{describe_type(*node)});
    return std::nullopt;
  }
  std::vector<std::string> result;
  bool good = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const auto& element = *array->get(i);
    auto label = key_label(key) + "[" + std::to_string(i) + "]";
    if (auto str = element.as_string()) {
      if (str->get().find('\0') == std::string::npos) {
        result.push_back(str->get());
        continue;
      }
      error(element, label + ": expected a string without NUL, found "
                         + quote(str->get()));
    } else {
      error(element, label + ": expected a string, found "
                         + std::string{describe_type(element)});
    }
    good = false;
  }
  if (!good)
    return std::nullopt;
  return result;
}

std::optional<std::string> reader::read_address(const toml::node& x,
                                                std::string_view what,
                                                bool allow_port_zero) {
  auto str = x.as_string();
  if (str == nullptr) {
    error(x, std::string{what} + ": expected an address \"HOST:PORT\", found "
                 + std::string{describe_type(x)});
    return std::nullopt;
  }
  const std::string& value = str->get();
  auto fail = [&](std::string_view why) {
    error(x, std::string{what} + ": expected an address \"HOST:PORT\" ("
                 + std::string{why} + "), found " + quote(value));
    return std::nullopt;
  };
  auto colon = value.rfind(':');
  if (colon == std::string::npos)
    return fail("no port");
  auto host = std::string_view{value}.substr(0, colon);
  auto port = std::string_view{value}.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return fail("an IPv6 host goes in brackets");
  } else if (host.find(':') != std::string_view::npos) {
    return fail("an IPv6 host goes in brackets");
  }
  if (host.empty() || has_control_char(host)
      || host.find(' ') != std::string_view::npos)
    return fail("bad host");
  if (port.empty() || port.size() > 5
      || !std::all_of(port.begin(), port.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return fail("the port is a number from 0 to 65535");
  auto number = std::stoi(std::string{port});
  if (number > 65535 || (number == 0 && !allow_port_zero))
    return fail(allow_port_zero ? "the port is a number from 0 to 65535"
                                : "the port is a number from 1 to 65535");
  return value;
}

std::string reader::resolve(const std::string& p) const {
  std::filesystem::path path{p};
  auto result = path.is_absolute() ? path.lexically_normal()
                                   : (base_dir_ / path).lexically_normal();
  // "dir/." normalizes to "dir/"; drop the trailing separator.
  if (result.has_relative_path() && result.filename().empty())
    result = result.parent_path();
  return result.string();
}

} // namespace quiesce::config::detail
