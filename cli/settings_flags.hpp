#pragma once

// The one way `run`, `head` and `node` let flags override settings: each
// command declares which fields of `settings` it exposes as flags (and
// `--runtime FILE`); after the files are loaded, `apply` writes the flags
// that were given over them. A flag's help states the default from the
// command's own starting settings, so no default is written twice.

#include "config/settings.hpp"
#include "config/size.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace quiesce::cli {

/// Flags of one command that override fields of `settings`.
class settings_flags {
public:
  /// Declares flags on `app`; `defaults` are the command's settings before
  /// any file (their values appear in the help).
  settings_flags(CLI::App* app, settings defaults);

  /// Adds `--runtime FILE`, a runtime file read over the defaults.
  CLI::Option* add_runtime_file(const std::string& help);

  /// Adds `name`, a count overriding `field`, at most `max`.
  CLI::Option* add_count(const std::string& name, uint32_t settings::*field,
                         uint32_t max, const std::string& help);

  /// Adds `name`, a flag that sets `field` to true when given.
  CLI::Option* add_switch(const std::string& name, bool settings::*field,
                          const std::string& help);

  /// Adds `name`, a string overriding `field`.
  CLI::Option* add_text(const std::string& name, std::string settings::*field,
                        const std::string& help);

  /// Adds `name`, an address "HOST:PORT" overriding `field`.
  CLI::Option* add_address(const std::string& name,
                           std::string settings::*field,
                           const std::string& help);

  /// Adds `name`, a duration ("250ms", "1m30s") overriding `field`.
  CLI::Option* add_duration(const std::string& name,
                            std::chrono::milliseconds settings::*field,
                            const std::string& help);

  /// Adds `name`, a repeatable string that replaces the list `field`.
  CLI::Option* add_list(const std::string& name,
                        std::vector<std::string> settings::*field,
                        const std::string& help);

  /// Adds `--tls-ca`, `--tls-cert`, `--tls-key` and `--tls-passphrase`
  /// (also read from QUIESCE_TLS_CA, ...), in the group "TLS".
  void add_tls();

  /// Adds `name`, a byte size ("4096", "512K", "10MiB") overriding `field`,
  /// from `min` to `max`.
  CLI::Option* add_size(const std::string& name, uint64_t settings::*field,
                        const std::string& help,
                        uint64_t min = config::min_log_size,
                        uint64_t max = config::max_log_size);

  /// Adds `--max-connections`, `--max-connections-per-address`,
  /// `--handshake-timeout` and `--max-message-size` (a head), in the group
  /// "Peers".
  void add_peer_bounds();

  /// Adds `--log-file`, `--log-level`, `--log-max-size` and `--log-files`
  /// (head and node).
  void add_log_flags();

  /// Returns the command's settings: the defaults, then the runtime file
  /// (when `--runtime` was given), then the flags given. Prints the file's
  /// problems (each with file:line:column) or a conflict among the values
  /// on stderr and returns nothing then.
  std::optional<settings> load() const;

  /// Writes the flags given over `s`; returns "" or why the result is
  /// inconsistent (the node timeout must exceed the heartbeat, TLS settings
  /// that cannot be used).
  std::string apply(settings& s) const;

  /// Returns the path given with `--runtime`, or "".
  const std::string& runtime_file() const noexcept {
    return *runtime_file_;
  }

  /// Returns the command's settings before any file.
  const settings& defaults() const noexcept {
    return defaults_;
  }

private:
  // Records an override that runs when `opt` was given.
  CLI::Option* add(CLI::Option* opt, std::function<void(settings&)> write);

  CLI::App* app_;
  settings defaults_;
  std::shared_ptr<std::string> runtime_file_;
  std::vector<std::pair<CLI::Option*, std::function<void(settings&)>>>
      overrides_;
};

/// Returns the help suffix " (default X)".
std::string default_note(const std::string& x);

} // namespace quiesce::cli
