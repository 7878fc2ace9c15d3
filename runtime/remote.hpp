#pragma once

// Distribution over CAF's own network layer (caf::io::middleman): a head
// publishes its supervisor (`runtime::publish`); worker nodes join it
// (`worker`) and clients connect to it (`quiesce::connect`, client.hpp). No
// home-made wire protocol: every message is a typed CAF message. No CAF type
// appears here.

#include "config/settings.hpp"
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

/// Returns the name this process gives in requests' `who` and in node
/// names: "HOSTNAME-PID".
std::string default_process_name();

/// How a worker node runs and where it connects: `head`, `node_name`,
/// `slots`, `labels`, `run_dir`, `kill_bound`, `threads`, `scheduler`, the
/// network bounds and `protocol` (config/settings.hpp).
using worker_options = settings;

/// A worker node: a node actor with its executors, joined to a remote head.
/// When the head goes away it keeps its attempts for `head_lease` while it
/// reconnects (a head that is back in time takes them over), then kills
/// them (docs/containment.md, "Fencing").
class worker {
public:
  /// Builds the actor system and the node actor (not connected yet).
  /// Throws `std::invalid_argument` when `opts.head` is not "HOST:PORT".
  explicit worker(worker_options opts);

  /// Stops everything (bounded).
  ~worker();

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Registers a work function tasks placed on this node may run, as
  /// `runtime::register_work` does.
  bool register_work(std::string name, work_function fn,
                     work_mode mode = work_mode::blocking);

  /// Connects and registers with the head once. Returns the head's reply:
  /// `ok`, `protocol_mismatch` (the head refused this version, or the peer
  /// is not a Quiesce head), `invalid_argument` (name taken) or
  /// `unavailable` (not reachable) with a detail.
  node_list join();

  /// Serves until `stop` turns true: watches the head, and when it goes away
  /// keeps this node's attempts for `head_lease` (reporting them in
  /// `node_hello` when it rejoins in time, killing them when not) and
  /// rejoins every `reconnect_delay`. `on_status` receives one line per
  /// change ("joined ...", "lost ...", "the head stayed away ...").
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
