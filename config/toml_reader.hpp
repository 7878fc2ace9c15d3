#pragma once

// Internal to quiesce_config: shared by the job and runtime file readers.

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "execution/command.hpp"

#include <caf/timespan.hpp>

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quiesce::config::detail {

/// Dotted keys and table headers with more parts than this are refused
/// before parsing: toml++ builds them recursively and overflows the stack
/// somewhere past 30,000 levels.
inline constexpr size_t max_key_depth = 64;

/// Returns "a string", "an integer", "a table", ... for the type of `x`.
std::string_view describe_type(const toml::node& x);

/// Returns `text` in double quotes, with control characters escaped.
std::string quote(std::string_view text);

/// The outcome of parsing a TOML document.
struct parsed_document {
  /// The document, when it parsed.
  std::optional<toml::table> root;
  /// Why it did not parse.
  std::optional<diagnostic> error;
};

/// Returns the TOML document `text`, or the first syntax error in it (also
/// for documents too large or too deeply nested to parse safely).
parsed_document parse_document(std::string_view text,
                               const std::string& source_name);

/// The outcome of reading a whole file.
struct file_content {
  /// The bytes, when the file could be read.
  std::optional<std::string> text;
  /// Why it could not.
  std::optional<diagnostic> error;
};

/// Returns the content of the file at `path`.
file_content read_file(const std::string& path);

/// Reads typed values out of TOML tables and collects a diagnostic for each
/// value that is missing, of the wrong type or out of range.
class reader {
public:
  /// Creates a reader for the document named `source_name`; relative paths
  /// are resolved against that file's directory.
  explicit reader(std::string source_name);

  /// Records `message` at the beginning of `where`.
  void error(const toml::source_region& where, std::string message);

  /// Records `message` at the beginning of `where`.
  void error(const toml::node& where, std::string message);

  /// Returns every diagnostic recorded so far, sorted by position.
  std::vector<diagnostic> sorted_errors() const;

  /// Returns whether any diagnostic was recorded.
  bool failed() const {
    return !errors_.empty();
  }

  /// Reports each key of `table` that is not in `allowed`, naming `context`
  /// ("task") and suggesting the closest allowed key.
  void check_keys(const toml::table& table,
                  const std::vector<std::string_view>& allowed,
                  std::string_view context);

  /// Returns the string at `key`, if present and a string without NUL.
  std::optional<std::string> read_string(const toml::table& table,
                                         std::string_view key);

  /// Returns the name at `key`: a non-empty string without control
  /// characters.
  std::optional<std::string> read_name(const toml::table& table,
                                       std::string_view key);

  /// Returns the integer at `key`, if present and in [min, max].
  std::optional<int64_t> read_integer(const toml::table& table,
                                      std::string_view key, int64_t min,
                                      int64_t max);

  /// Returns the boolean at `key`, if present.
  std::optional<bool> read_bool(const toml::table& table, std::string_view key);

  /// Returns the duration string at `key`, if present and valid; a
  /// `positive` duration must not be zero.
  std::optional<caf::timespan> read_duration(const toml::table& table,
                                             std::string_view key,
                                             bool positive = false);

  /// Returns the signal (a name string or an integer) at `key`.
  std::optional<int> read_signal(const toml::table& table,
                                 std::string_view key);

  /// Returns the non-empty path at `key`, resolved against the file's
  /// directory when relative.
  std::optional<std::string> read_path(const toml::table& table,
                                       std::string_view key);

  /// Returns the array of strings at `key` (each without NUL); reports each
  /// element that is not a string.
  std::optional<std::vector<std::string>>
  read_string_array(const toml::table& table, std::string_view key);

  /// Returns the "HOST:PORT" address `x`, checked; `allow_port_zero` admits
  /// port 0 (listen addresses).
  std::optional<std::string> read_address(const toml::node& x,
                                          std::string_view what,
                                          bool allow_port_zero);

  /// Returns `p` made absolute against the file's directory and normalized.
  std::string resolve(const std::string& p) const;

private:
  std::string source_name_;
  std::filesystem::path base_dir_;
  std::vector<diagnostic> errors_;
};

/// Returns `base` overridden by the keys of the `[runtime]` table `table`.
settings read_runtime_table(reader& in, const toml::table& table,
                            settings base);

/// Reads the resource-limit keys (`memory_max`, `cpus`, `pids_max`) of
/// `table`, a job or a task, over `limits`, keeping the values of the keys
/// it lacks; reports bad values to `in` (config/limits.cpp).
void read_limits(reader& in, const toml::table& table,
                 process::resource_limits& limits);

/// Returns the keys a `[runtime]` table accepts.
const std::vector<std::string_view>& runtime_keys();

} // namespace quiesce::config::detail
