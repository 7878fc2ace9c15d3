#pragma once

// Distribution over CAF's own network layer (caf::io::middleman): a head
// publishes its supervisor; worker nodes and clients connect to it. No
// home-made wire protocol: every message is a typed CAF message.

#include "actors/interfaces.hpp"
#include "config/settings.hpp"
#include "execution/work.hpp"
#include "runtime/request.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quiesce {

class runtime;
class work_registry;

namespace process {
class launcher;
} // namespace process

/// A host and port, as given on a command line ("127.0.0.1:7700").
struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

/// Parses "HOST:PORT" (or ":PORT", or "PORT"); returns an error text or "".
std::string parse_endpoint(const std::string& text, endpoint& out);

/// Returns "host:port".
std::string to_string(const endpoint& x);

/// Publishes the runtime's supervisor at `where` (port 0 picks one) and
/// returns the bound port, or an error text in `error`. The runtime must
/// have been started with `runtime_options::network`.
uint16_t publish_head(runtime& rt, const endpoint& where, std::string& error);

/// The default bound on connecting to a head (TCP connect plus CAF's
/// handshake).
inline constexpr std::chrono::milliseconds default_connect_timeout{5000};

/// Connects to the supervisor published at `where`, waiting at most
/// `timeout` for CAF's handshake (CAF's own `remote_actor` waits for ever
/// when a peer accepts the connection and then stays silent). Fails with
/// CAF's errors: `cannot_connect_to_node` (nothing listens),
/// `incompatible_application_ids` (not a Quiesce program),
/// `unexpected_actor_messaging_interface` (another protocol),
/// `disconnect_during_handshake`, `request_timeout` (no handshake), ...
caf::expected<supervisor_actor>
connect_head(caf::actor_system& sys, const endpoint& where,
             std::chrono::milliseconds timeout = default_connect_timeout);

/// Returns a readable explanation of a connection error to `where`.
std::string explain_connect_error(const caf::error& err, const endpoint& where);

/// Returns the result code a connection error stands for: `unavailable`
/// when nothing answered at `where` (worth retrying), `protocol_mismatch`
/// when something answered that is not a Quiesce head of this protocol.
result_code classify_connect_error(const caf::error& err);

/// Returns the name this process gives in requests' `who` and in node
/// names: "HOSTNAME-PID".
std::string default_process_name();

/// A client of a remote head: sends any request of the client protocol and
/// returns its reply. Every call is bounded by a timeout.
class remote_client {
public:
  /// Creates the client's own actor system (with the network layer, and the
  /// given middleman heartbeat interval and connection timeout).
  explicit remote_client(std::chrono::milliseconds heartbeat_interval
                         = std::chrono::seconds{1},
                         std::chrono::milliseconds connection_timeout
                         = std::chrono::seconds{5});

  /// Disconnects and stops the actor system.
  ~remote_client();

  remote_client(const remote_client&) = delete;
  remote_client& operator=(const remote_client&) = delete;

  /// Connects to the head at `where` within `timeout`; returns "" or an
  /// error text (see `explain_connect_error`).
  std::string connect(const endpoint& where, std::chrono::milliseconds timeout
                                             = default_connect_timeout);

  /// Returns the code of the last failed `connect` (`unavailable` or
  /// `protocol_mismatch`), or `ok`.
  result_code connect_code() const noexcept {
    return connect_code_;
  }

  /// Sends `req` and waits at most `timeout` for the reply; transport
  /// failures become the reply's code: `unavailable` as soon as the
  /// connection to the head is lost, `request_timeout` after `timeout`.
  template <class Reply, class Request>
  Reply call(Request req, std::chrono::milliseconds timeout) {
    return watched_request<Reply>(*sys_, head_, std::move(req), timeout);
  }

  /// Returns the actor system (for subscribing local actors).
  caf::actor_system& system() noexcept {
    return *sys_;
  }

  /// Returns the head's supervisor.
  const supervisor_actor& head() const noexcept {
    return head_;
  }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  supervisor_actor head_;
  result_code connect_code_ = result_code::ok;
};

/// How a worker node runs and where it connects: `head`, `node_name`,
/// `slots`, `labels`, `run_dir`, `kill_bound`, `threads`, `scheduler`, the
/// network bounds and `protocol` (config/settings.hpp).
using worker_options = settings;

/// A worker node: a node actor with its executors, joined to a remote head.
/// When the head goes away it kills its attempts and reconnects.
class worker {
public:
  /// Builds the actor system and the node actor (not connected yet).
  /// Throws `std::invalid_argument` when `opts.head` is not "HOST:PORT".
  explicit worker(worker_options opts);

  /// Stops everything (bounded).
  ~worker();

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Registers a work function tasks placed on this node may run.
  bool register_work(std::string name, work_function fn);

  /// Connects and registers with the head once. Returns the head's reply:
  /// `ok`, `protocol_mismatch` (the head refused this version, or the peer
  /// is not a Quiesce head), `invalid_argument` (name taken) or
  /// `unavailable` (not reachable) with a detail.
  node_list join();

  /// Serves until `stop` turns true: watches the head, and when it goes away
  /// kills this node's attempts and rejoins every `reconnect_delay`.
  /// `on_status` receives one line per change ("joined ...", "lost ...").
  /// Returns `ok` once stopped, or `protocol_mismatch` when the first
  /// attempt to join finds a peer that is not a Quiesce head or a head that
  /// refuses this protocol version (retrying cannot help; later losses are
  /// always retried).
  result_code serve(const std::atomic<bool>& stop,
                    const std::function<void(const std::string&)>& on_status);

private:
  worker_options opts_;
  endpoint head_address_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::shared_ptr<work_registry> registry_;
  std::shared_ptr<process::launcher> launcher_;
  node_actor node_;
  supervisor_actor head_;
};

} // namespace quiesce
