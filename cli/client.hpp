#pragma once

// What the client commands (`submit`, `cancel`, `terminate`, `requeue`,
// `list`, `status`, `wait`, `events`) share: the options `--head`,
// `--timeout` and `--json`, the connection to the head, and the printing of
// a reply's result code. Each command calls one operation of
// `quiesce::client` (runtime/client.hpp) and exits with
// `exit_status_for_reply` of the code it got.

#include "messages/result_code.hpp"
#include "runtime/client.hpp"
#include "runtime/remote.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace quiesce::cli {

/// The options every client command takes.
struct client_options {
  /// The head, "HOST:PORT" (`--head`, else `QUIESCE_HEAD`).
  std::string head = settings{}.head;
  /// The bound on the reply, as a duration ("30s").
  std::string timeout = "30s";
  /// Print JSON on stdout.
  bool json = false;
  /// TLS files and the passphrase source (`--tls-ca`, ... or
  /// QUIESCE_TLS_CA, ...; docs/security.md); all empty: no TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_passphrase;
};

/// Adds `--head`, `--timeout` (with `default_timeout` and `timeout_help`),
/// `--json` and the TLS options to `sub`.
void add_client_options(CLI::App* sub, client_options& o,
                        const std::string& default_timeout = "30s",
                        const std::string& timeout_help
                        = "bound on the head's reply, and on connecting (at "
                          "most 5s) (e.g. 500ms, 30s, 2m)");

/// Returns a CLI11 validator of durations ("250ms", "30s", "1m30s").
CLI::Validator duration_validator();

/// Returns a CLI11 validator of "HOST:PORT" endpoints.
CLI::Validator endpoint_validator();

/// Returns `text` as milliseconds; `text` must have passed
/// `duration_validator`.
std::chrono::milliseconds parse_ms(const std::string& text);

/// Returns the name of this client in requests' `who`: "cli:HOSTNAME-PID".
std::string client_name();

/// A connection to the head for one client command.
class client_session {
public:
  /// Reads the options; connects with `open`.
  explicit client_session(const client_options& o);

  /// Connects; on failure prints why (stderr, and the JSON document on
  /// stdout with `--json`) and returns false; `status()` then says how to
  /// exit.
  bool open();

  /// Returns the client (after a successful `open`).
  quiesce::client& client() {
    return *client_;
  }

  /// Returns the bound on replies.
  std::chrono::milliseconds timeout() const noexcept {
    return timeout_;
  }

  /// Returns the head's endpoint.
  const endpoint& head() const noexcept {
    return where_;
  }

  /// Returns whether JSON goes to stdout.
  bool json_output() const noexcept {
    return opts_.json;
  }

  /// Returns the exit status of a failed `open`.
  int status() const noexcept {
    return status_;
  }

  /// Prints the outcome of a request: with `--json`, `doc` with "code" and
  /// "detail" added; otherwise `code` (and `detail`) on stdout, then
  /// `human` (when not empty). A transport failure (`unavailable`) names
  /// the head. Returns `exit_status_for_reply(code)`.
  int finish(result_code code, const std::string& detail,
             nlohmann::json doc = nlohmann::json::object(),
             const std::string& human = {});

private:
  client_options opts_;
  endpoint where_;
  std::chrono::milliseconds timeout_{30000};
  std::unique_ptr<quiesce::client> client_;
  int status_ = 0;
};

} // namespace quiesce::cli
