#pragma once

// The embedding API: a host program owns a `quiesce::runtime`, registers its
// work functions, adds and submits jobs, and calls every operation of the
// contract as a plain function returning a reply with a result code. The long
// operations also come in asynchronous forms (a future or a callback). A host
// needs no CAF code, unless it attaches Quiesce to an actor system of its own.
// Threading, lifetime and linking: docs/embedding.md.

#include "config/settings.hpp"
#include "execution/work.hpp"
#include "runtime/client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace caf {
class actor_system;
} // namespace caf

namespace quiesce {

class supervisor_observer;

/// How a runtime is set up: its scheduler, local node, supervisor, bounds
/// and network (config/settings.hpp).
using runtime_options = settings;

/// An embedded Quiesce: supervisor, local node and executors in this process,
/// and the client (every operation of the contract, see client.hpp) over an
/// in-process transport. Every member function is thread-safe; synchronous
/// calls wait at most `request_timeout`.
class runtime : public client {
public:
  /// Starts an actor system of its own, the supervisor and the local node.
  explicit runtime(runtime_options opts = {});

  /// Attaches to the host's actor system `sys`, which the runtime uses but
  /// does not own: spawns the supervisor and the local node in it. The host
  /// must have called `quiesce::add_message_types(cfg)` (system_config.hpp)
  /// on the configuration of `sys`, and must destroy (or shut down) the
  /// runtime before `sys`. The options `threads`, `scheduler`, `network`,
  /// `heartbeat_interval` and `connection_timeout` are ignored: the host's
  /// configuration decides them. Throws `std::invalid_argument` when the type
  /// IDs of Quiesce are not registered in `sys`.
  runtime(caf::actor_system& sys, runtime_options opts);

  /// Starts like `runtime(opts)`, with `observer` (actors/observer.hpp, not
  /// installed) told of every request and of dispatch and cancel latencies:
  /// how `quiesce head` feeds its log and metrics.
  runtime(runtime_options opts, std::shared_ptr<supervisor_observer> observer);

  /// Calls `shutdown()`.
  ~runtime() override;

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Returns the options in force (with defaults resolved).
  const runtime_options& options() const noexcept;

  /// Describes how the local node contains its commands: "cgroup v2 at
  /// PATH (...)" or "process groups (cgroups unavailable: WHY)"
  /// (docs/containment.md); "no local node" without one.
  std::string containment() const;

  /// Registers `fn` under `name` for function tasks; returns false if the
  /// name or the function is empty. `mode` says where it runs: on a thread
  /// of the node's own (`blocking`, the default), or inline on the node
  /// actor's thread with no hand-off (`non_blocking`: for short functions
  /// that never block; docs/embedding.md).
  bool register_work(std::string name, work_function fn,
                     work_mode mode = work_mode::blocking);

  /// Loads the TOML job file at `path` (docs/job-file.md), validates it and
  /// adds its jobs in file order, not submitted. Adds nothing when the file
  /// has any error; the reply's `errors` then names each one. Of the file's
  /// `[runtime]` table only the job defaults (grace, retries) apply: the
  /// runtime is already running. Blocks while reading the file.
  add_jobs_reply load_jobs(const std::string& path);

  /// Terminates every job that is not terminal, delivers the remaining
  /// events, answers every pending asynchronous call (`unavailable` if its
  /// reply did not come) and stops the actor system (an attached host system
  /// keeps running; only Quiesce's actors stop). Idempotent; never hangs
  /// (each step is bounded). Must not be called from a callback of this
  /// runtime (event or reply) or from a work function.
  void shutdown();

  /// Calls `shutdown()`: a runtime's close stops its supervisor too.
  void close() override;

  /// Publishes the supervisor with CAF's middleman at `host`:`port` (port 0
  /// picks one), for remote nodes and clients; returns the bound port, or 0
  /// and the reason in `error`. The runtime must have been started with
  /// `runtime_options::network` (or attached to a system with a middleman).
  /// Without TLS only on a loopback address and only with
  /// `settings::dev_mode` (docs/security.md).
  uint16_t publish(const std::string& host, uint16_t port, std::string& error);

private:
  struct impl;

  runtime(runtime_options resolved, std::shared_ptr<detail::transport> tr,
          std::shared_ptr<supervisor_observer> observer);

  std::unique_ptr<impl> impl_;
};

} // namespace quiesce
