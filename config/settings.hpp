#pragma once

// The settings of every Quiesce process, each default written once. A
// runtime (embedded or `quiesce run`), a head and a worker node all start
// from `settings{}`, take the `[runtime]` table of a runtime file or job file
// over it (config/job_file.hpp), then the command line's flags; each uses
// the fields it needs. docs/job-file.md lists the file's keys.

#include "messages/ids.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace quiesce {

/// The local account an identity's tasks run as on a node: a user name
/// (resolved with getpwnam and getgrouplist when the node starts) or numbers.
/// One entry of `[runtime.users]` (docs/security.md).
struct account_setting {
  /// Local user name; empty when `uid` and `gid` are given.
  std::string user;
  /// Numeric user and group; -1 when `user` is given.
  int64_t uid = -1;
  int64_t gid = -1;
  /// Supplementary groups of a numeric entry (none when not given).
  std::vector<int64_t> groups;
};

/// How a Quiesce process is set up: scheduler, local node, supervisor, job
/// defaults, client bounds and network. Plain data; `runtime_options` and
/// `worker_options` are this type.
struct settings {
  // -- scheduler --------------------------------------------------------------

  /// CAF scheduler threads; 0 picks the number of cores (at least 2), or 1
  /// for a head without a local node (default_threads). File key `threads`.
  uint32_t threads = 0;

  /// CAF scheduler policy: "sharing" or "stealing". File key `scheduler`.
  std::string scheduler = "sharing";

  // -- local node -------------------------------------------------------------

  /// Whether a runtime runs a node of its own (false for a head that only
  /// has remote nodes). A worker always is a node.
  bool local_node = true;

  /// Concurrent attempts of this process's node; 0 means the number of
  /// cores. File key `slots`.
  uint32_t slots = 0;

  /// Attempts per slot this process's node holds beyond its slots: placed
  /// by the head ahead of time and started as soon as a slot frees, so that
  /// no slot waits for a round trip to the head (docs/semantics.md, "Held
  /// attempts"). 0 holds none. File key `pipeline`.
  uint32_t pipeline = 1;

  /// The name of this process's node, unique among a head's nodes.
  std::string node_name = "local";

  /// Labels of this process's node that tasks may ask for.
  std::vector<std::string> labels;

  /// Directory for per-attempt stdout/stderr files of commands that set
  /// none; a relative path set in a file is resolved against that file's
  /// directory. File key `run_dir`.
  std::string run_dir = ".quiesce/runs";

  /// How long a killed attempt may take to be confirmed dead before the node
  /// gives up on it.
  std::chrono::milliseconds kill_bound{2000};

  /// Whether a resource limit (`memory_max`, `cpus`, `pids_max`) this
  /// machine cannot enforce is an error: `validate` and `run` refuse the
  /// file, and this process's node fails such a task (`spawn_failed`)
  /// instead of running it without the limit. File key `strict_limits`.
  bool strict_limits = false;

  /// Which local account each identity's command tasks run as on this node
  /// (identity name → account); docs/security.md, "Tasks run as their
  /// owner". Empty: commands run as this process's user. File table
  /// `[runtime.users]`.
  std::map<std::string, account_setting> users;

  /// Whether an entry of `users` may name uid 0: without it no identity's
  /// task runs as root unless it is the node's own user. File key
  /// `run_as_root`.
  bool run_as_root = false;

  /// The development mode: whether a head may listen without TLS, on a
  /// loopback address, where only its own user may act (docs/security.md).
  /// Without TLS and without it, a head refuses to listen. File key
  /// `dev_mode`, flag `--dev`, environment `QUIESCE_DEV_MODE`.
  bool dev_mode = false;

  // -- supervisor -------------------------------------------------------------

  /// Jobs running at once (0: no limit); more stay queued. File key
  /// `max_running_jobs`.
  uint32_t max_running_jobs = 0;

  /// How long terminate_job waits for work to be confirmed dead before it
  /// replies `terminate_failed`.
  std::chrono::milliseconds terminate_bound{10000};

  /// Directory of the journal (quiesce.db, docs/durability.md); empty keeps
  /// the books in memory only. A head started again on the same directory
  /// takes its jobs over. File key `state_dir`.
  std::string state_dir;

  /// How long a terminal job stays in memory after its end (like Slurm's
  /// MinJobAge); then it is retired: with a journal, queries read it from
  /// there, without one it is gone. 0 retires a job as soon as it is
  /// terminal and nothing waits on it; negative (the default of an embedded
  /// runtime and `quiesce run`) never. `quiesce head` defaults to 5 minutes.
  /// File key `job_retention`.
  std::chrono::milliseconds job_retention{-1};

  // -- job defaults -----------------------------------------------------------

  /// Grace period of jobs loaded from a file that set none. File key `grace`.
  std::chrono::milliseconds grace{5000};

  /// Automatic requeues of a task whose node was lost, for jobs loaded from
  /// a file that set none. File key `retries`.
  uint32_t retries = 3;

  // -- client -----------------------------------------------------------------

  /// Upper bound on every synchronous call of a runtime except `wait`.
  std::chrono::milliseconds request_timeout{30000};

  // -- network ----------------------------------------------------------------

  /// Whether a runtime loads CAF's network layer (`caf::io::middleman`) so
  /// that its supervisor can be published to nodes and clients.
  bool network = false;

  /// Where a head listens, "HOST:PORT" (port 0 picks a free one). File key
  /// `listen`.
  std::string listen = "127.0.0.1:7700";

  /// The head a worker node joins, "HOST:PORT".
  std::string head = "127.0.0.1:7700";

  /// Middleman heartbeat interval between head, nodes and clients. File key
  /// `heartbeat`.
  std::chrono::milliseconds heartbeat_interval{1000};

  /// Silence after which a peer counts as lost; longer than
  /// `heartbeat_interval`. File key `node_timeout`.
  std::chrono::milliseconds connection_timeout{5000};

  /// Pause of a worker node between attempts to reach its head.
  std::chrono::milliseconds reconnect_delay{1000};

  /// Bound on a worker node's connecting to its head and on the head's reply
  /// to `node_hello`.
  std::chrono::milliseconds connect_timeout{5000};

  // -- bounds on peers (a head; docs/security.md, "Hostile peers") ----------

  /// Connections a head keeps open at once; a new one over the cap pushes
  /// out the oldest that has not authenticated yet, or is closed. File key
  /// `max_connections`, flag `--max-connections`.
  uint32_t max_connections = 1024;

  /// Connections from one address a head keeps open at once (same rule).
  /// File key `max_connections_per_address`, flag
  /// `--max-connections-per-address`.
  uint32_t max_connections_per_address = 256;

  /// How long a connection to a head may take to authenticate (TLS, CAF's
  /// handshake, `authenticate`) before the head closes it. File key
  /// `handshake_timeout`, flag `--handshake-timeout`.
  std::chrono::milliseconds handshake_timeout{5000};

  /// The largest message an authenticated peer may send a head; a larger
  /// one closes its connection. File key `max_message_size`, flag
  /// `--max-message-size`.
  uint64_t max_message_size = uint64_t{64} << 20;

  // -- TLS (docs/security.md) ------------------------------------------------

  /// PEM file of the certificate authority (or authorities) every peer's
  /// certificate must chain to. Setting any `tls_*` field turns mutual TLS
  /// on; then `tls_ca`, `tls_cert` and `tls_key` are required. File key
  /// `tls_ca`, flag `--tls-ca`, environment `QUIESCE_TLS_CA`.
  std::string tls_ca;

  /// PEM file of this process's certificate (with any intermediate
  /// certificates after it). File key `tls_cert`, flag `--tls-cert`,
  /// environment `QUIESCE_TLS_CERT`.
  std::string tls_cert;

  /// PEM file of this process's private key. File key `tls_key`, flag
  /// `--tls-key`, environment `QUIESCE_TLS_KEY`.
  std::string tls_key;

  /// Where the key's passphrase comes from: "file:PATH" (its first line) or
  /// "env:NAME" (an environment variable); empty for a key without one. The
  /// passphrase itself never appears in settings or on a command line. File
  /// key `tls_passphrase`, flag `--tls-passphrase`, environment
  /// `QUIESCE_TLS_PASSPHRASE`.
  std::string tls_passphrase;
  /// How long a worker node that lost its head keeps its attempts running
  /// while it tries to rejoin; past it the node kills them. A head counts a
  /// lost node's attempts as running for this long plus their grace period
  /// before it places them again (docs/containment.md, "Fencing"). File key
  /// `head_lease`.
  std::chrono::milliseconds head_lease{5000};

  /// The protocol version a worker node announces in `node_hello`; only
  /// tests and the hidden `--protocol-version` option of `quiesce node`
  /// change it.
  uint32_t protocol = protocol_version;

  // -- logs and metrics (head and node; docs/operations.md) -------------------

  /// The log file of a head or worker node: one line per status change and
  /// per request (head), per join and loss (node); empty writes none. File
  /// key `log_file`.
  std::string log_file;

  /// The least severe level written to the log file: trace, debug, info,
  /// warn, error or off. File key `log_level`.
  std::string log_level = "info";

  /// Size in bytes at which the log file is rotated (renamed to FILE.1, the
  /// older ones shifted). File key `log_max_size`.
  uint64_t log_max_size = uint64_t{10} << 20;

  /// Rotated log files kept besides the current one. File key `log_files`.
  uint32_t log_files = 5;

  /// Where a head serves its Prometheus metrics over HTTP, "HOST:PORT";
  /// empty serves none. File key `metrics_listen`.
  std::string metrics_listen;
};

/// Bounds of `max_connections` and `max_connections_per_address`.
constexpr int64_t max_connections_limit = 1 << 20;

/// Bound of `handshake_timeout`.
constexpr std::chrono::milliseconds max_handshake_timeout{600000};

} // namespace quiesce
