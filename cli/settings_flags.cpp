#include "cli/settings_flags.hpp"

#include "cli/client.hpp"
#include "config/duration.hpp"
#include "config/job_file.hpp"
#include "config/size.hpp"
#include "runtime/tls.hpp"

#include <iostream>
#include <memory>

namespace quiesce::cli {

std::string default_note(const std::string& x) {
  return " (default " + x + ")";
}

settings_flags::settings_flags(CLI::App* app, settings defaults)
    : app_(app), defaults_(std::move(defaults)),
      runtime_file_(std::make_shared<std::string>()) {
  // nop
}

CLI::Option* settings_flags::add_runtime_file(const std::string& help) {
  return app_->add_option("--runtime", *runtime_file_, help);
}

CLI::Option* settings_flags::add(CLI::Option* opt,
                                 std::function<void(settings&)> write) {
  overrides_.emplace_back(opt, std::move(write));
  return opt;
}

CLI::Option* settings_flags::add_count(const std::string& name,
                                       uint32_t settings::*field, uint32_t max,
                                       const std::string& help) {
  auto value = std::make_shared<uint32_t>();
  auto* opt = app_->add_option(
      name, *value, help + default_note(std::to_string(defaults_.*field)));
  opt->check(CLI::Range(uint32_t{0}, max));
  return add(opt, [value, field](settings& s) { s.*field = *value; });
}

CLI::Option* settings_flags::add_text(const std::string& name,
                                      std::string settings::*field,
                                      const std::string& help) {
  auto value = std::make_shared<std::string>();
  auto note = (defaults_.*field).empty() ? std::string{}
                                         : default_note(defaults_.*field);
  auto* opt = app_->add_option(name, *value, help + note);
  return add(opt, [value, field](settings& s) { s.*field = *value; });
}

CLI::Option* settings_flags::add_switch(const std::string& name,
                                        bool settings::*field,
                                        const std::string& help) {
  auto value = std::make_shared<bool>(false);
  auto* opt = app_->add_flag(name, *value, help);
  return add(opt, [value, field](settings& s) { s.*field = *value; });
}

CLI::Option* settings_flags::add_address(const std::string& name,
                                         std::string settings::*field,
                                         const std::string& help) {
  return add_text(name, field, help)->check(endpoint_validator());
}

CLI::Option*
settings_flags::add_duration(const std::string& name,
                             std::chrono::milliseconds settings::*field,
                             const std::string& help) {
  auto value = std::make_shared<std::string>();
  auto* opt = app_->add_option(
      name, *value,
      help + default_note(config::format_duration(defaults_.*field)));
  opt->check(duration_validator());
  return add(opt, [value, field](settings& s) { s.*field = parse_ms(*value); });
}

CLI::Option* settings_flags::add_list(const std::string& name,
                                      std::vector<std::string> settings::*field,
                                      const std::string& help) {
  auto value = std::make_shared<std::vector<std::string>>();
  auto* opt = app_->add_option(name, *value, help);
  return add(opt, [value, field](settings& s) { s.*field = *value; });
}

void settings_flags::add_tls() {
  add_text("--tls-ca", &settings::tls_ca,
           "PEM file of the CA that peers' certificates must chain to; "
           "turns mutual TLS on")
      ->envname("QUIESCE_TLS_CA")
      ->group("TLS");
  add_text("--tls-cert", &settings::tls_cert,
           "PEM file of this process's certificate")
      ->envname("QUIESCE_TLS_CERT")
      ->group("TLS");
  add_text("--tls-key", &settings::tls_key,
           "PEM file of this process's private key")
      ->envname("QUIESCE_TLS_KEY")
      ->group("TLS");
  add_text("--tls-passphrase", &settings::tls_passphrase,
           "where the key's passphrase is read: file:PATH or env:NAME")
      ->envname("QUIESCE_TLS_PASSPHRASE")
      ->group("TLS");
}

CLI::Option* settings_flags::add_size(const std::string& name,
                                      uint64_t settings::*field,
                                      const std::string& help, uint64_t min,
                                      uint64_t max) {
  auto value = std::make_shared<std::string>();
  auto* opt = app_->add_option(
      name, *value, help + default_note(config::format_size(defaults_.*field)));
  opt->check(CLI::Validator(
      [min, max](std::string& text) -> std::string {
        auto x = config::parse_size(text);
        if (!x || *x < min || *x > max)
          return "expected a size from " + config::format_size(min) + " to "
                 + config::format_size(max)
                 + " (bytes, or with K, M or G: \"10MiB\"), found \"" + text
                 + "\"";
        return {};
      },
      "SIZE"));
  return add(opt, [value, field](settings& s) {
    s.*field = config::parse_size(*value).value_or(s.*field);
  });
}

void settings_flags::add_peer_bounds() {
  add_count("--max-connections", &settings::max_connections,
            static_cast<uint32_t>(max_connections_limit),
            "connections kept open at once; over it, the oldest not yet "
            "authenticated is closed")
      ->group("Peers");
  add_count("--max-connections-per-address",
            &settings::max_connections_per_address,
            static_cast<uint32_t>(max_connections_limit),
            "connections from one address kept open at once")
      ->group("Peers");
  add_duration("--handshake-timeout", &settings::handshake_timeout,
               "time a connection has to authenticate before it is closed")
      ->group("Peers");
  add_size("--max-message-size", &settings::max_message_size,
           "largest message an authenticated peer may send",
           config::min_message_bound, config::max_message_bound)
      ->group("Peers");
}

void settings_flags::add_log_flags() {
  add_text("--log-file", &settings::log_file,
           "log file (rotated; default: none, lines go to stdout only)");
  add_text("--log-level", &settings::log_level,
           "least severe level logged: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember(config::log_levels()));
  add_size("--log-max-size", &settings::log_max_size,
           "size at which the log file is rotated");
  add_count("--log-files", &settings::log_files, 1000,
            "rotated log files kept besides the current one");
}

std::string settings_flags::apply(settings& s) const {
  for (const auto& [opt, write] : overrides_)
    if (*opt)
      write(s);
  if (auto err = tls::check(s); !err.empty())
    return err;
  if (s.max_connections == 0)
    return "the connection cap (--max-connections, max_connections) must be "
           "at least 1";
  if (s.max_connections_per_address == 0)
    return "the per-address connection cap (--max-connections-per-address, "
           "max_connections_per_address) must be at least 1";
  if (s.handshake_timeout.count() <= 0
      || s.handshake_timeout > max_handshake_timeout)
    return "the handshake timeout (--handshake-timeout, handshake_timeout: "
           + config::format_duration(s.handshake_timeout)
           + ") must be above 0 and at most "
           + config::format_duration(max_handshake_timeout);
  if (s.connection_timeout <= s.heartbeat_interval)
    return "the node timeout (" + config::format_duration(s.connection_timeout)
           + ") must be longer than the heartbeat ("
           + config::format_duration(s.heartbeat_interval) + ")";
  return {};
}

std::optional<settings> settings_flags::load() const {
  auto result = defaults_;
  if (!runtime_file_->empty()) {
    auto loaded = config::load_runtime_file(*runtime_file_, defaults_);
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors)
        std::cerr << to_string(d) << '\n';
      std::cerr << std::flush;
      return std::nullopt;
    }
    result = loaded.file.runtime;
  }
  if (auto err = apply(result); !err.empty()) {
    std::cerr << "quiesce: " << err << std::endl;
    return std::nullopt;
  }
  return result;
}

} // namespace quiesce::cli
