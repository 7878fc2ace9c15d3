#pragma once

// Distribution over CAF's own network layer (caf::io::middleman): a head
// publishes its supervisor (`runtime::publish`); worker nodes join it
// (`worker`) and clients connect to it (`quiesce::connect`, client.hpp). No
// home-made wire protocol: every message is a typed CAF message. No CAF type
// appears here.

#include "execution/work.hpp"
#include "messages/commands.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quiesce {

/// A host and port, as given on a command line ("127.0.0.1:7700").
struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

/// Parses "HOST:PORT" (or ":PORT", or "PORT"); returns an error text or "".
std::string parse_endpoint(const std::string& text, endpoint& out);

/// Returns "host:port".
std::string to_string(const endpoint& x);

/// The default bound on connecting to a head (TCP connect plus CAF's
/// handshake).
inline constexpr std::chrono::milliseconds default_connect_timeout{5000};

/// Returns the name this process gives in requests' `who` and in node
/// names: "HOSTNAME-PID".
std::string default_process_name();

/// How a worker node runs and where it connects.
struct worker_options {
  /// The head to join.
  endpoint head;
  /// The node's name (unique among the head's nodes).
  std::string name;
  /// Concurrent attempts.
  uint32_t slots = 1;
  /// Labels tasks may ask for.
  std::vector<std::string> labels;
  /// Directory for per-attempt output files of commands.
  std::string run_dir = ".quiesce/runs";
  /// How long a killed attempt may take to be confirmed dead.
  std::chrono::milliseconds kill_bound{2000};
  /// Middleman heartbeat interval and connection timeout.
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds connection_timeout{5000};
  /// Pause between attempts to reach the head.
  std::chrono::milliseconds reconnect_delay{1000};
  /// Bound on connecting to the head and on its reply to `node_hello`.
  std::chrono::milliseconds connect_timeout = default_connect_timeout;
  /// CAF scheduler threads; 0: number of cores (at least 2).
  uint32_t threads = 0;
  /// The protocol version announced in `node_hello`; only tests and the
  /// hidden `--protocol-version` option of `quiesce node` change it.
  uint32_t protocol = protocol_version;
};

/// A worker node: a node actor with its executors, joined to a remote head.
/// When the head goes away it kills its attempts and reconnects.
class worker {
public:
  /// Builds the actor system and the node actor (not connected yet).
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
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace quiesce
