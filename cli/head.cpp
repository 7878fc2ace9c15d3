// `quiesce head --listen HOST:PORT`: runs the supervisor (and, with
// `--local-slots N`, a local node), publishes it with CAF's middleman for
// worker nodes and clients, prints node joins and losses, and serves until
// SIGINT, SIGTERM or SIGHUP, which terminate the running jobs before it exits.

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/notify.hpp"
#include "cli/ops.hpp"
#include "cli/output.hpp"
#include "cli/settings_flags.hpp"
#include "cli/signals.hpp"
#include "messages/text.hpp"
#include "runtime/gate.hpp"
#include "runtime/options.hpp"
#include "runtime/peer_auth.hpp"
#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"
#include "runtime/tls.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

namespace quiesce::cli {

namespace {

// A head starts from the common defaults, with a network and no node of its
// own: 0 slots (the default of `slots` and `--local-slots`) leave the tasks
// to the worker nodes.
settings head_defaults() {
  settings s;
  s.network = true;
  s.node_name = "head";
  s.slots = 0;
  // Like Slurm's MinJobAge: a long-lived head does not grow with the jobs
  // it ran (docs/durability.md, "History and retention").
  s.job_retention = std::chrono::minutes{5};
  return s;
}

std::string now_text() {
  return format_clock(caf::make_timestamp());
}

// Prints and logs a line per change of the node list: joins, losses,
// rejoins.
class node_watch {
public:
  explicit node_watch(std::shared_ptr<ops_log> log) : log_(std::move(log)) {
    // nop
  }

  void update(const node_list& nodes) {
    for (const auto& n : nodes.nodes) {
      auto i = known_.find(n.name);
      auto fields = "msg=node node=" + logfmt_value(n.name);
      if (i == known_.end()) {
        say("node " + n.name + " joined with " + std::to_string(n.slots)
            + (n.slots == 1 ? " slot" : " slots"));
        log_->write(log_level::info,
                    fields + " status=joined slots=" + std::to_string(n.slots));
        known_.emplace(n.name, n.status);
      } else if (i->second != n.status) {
        say("node " + n.name + " is "
            + (n.status == node_status::ready ? "ready again"
                                              : to_string(n.status)));
        auto ready = n.status == node_status::ready;
        log_->write(ready ? log_level::info : log_level::warn,
                    fields + " status=" + to_string(n.status));
        i->second = n.status;
      }
    }
  }

private:
  static void say(const std::string& text) {
    std::cout << now_text() << ' ' << escape_controls(text) << std::endl;
  }

  std::shared_ptr<ops_log> log_;
  std::map<std::string, node_status> known_;
};

// Returns a scrape of the head: its state read through its own client, then
// what its supervisor's observer counted.
std::string scrape(client& rt, const head_observer& observer) {
  auto jobs = rt.list_jobs();
  if (jobs.code != result_code::ok)
    throw std::runtime_error("list_jobs: " + to_string(jobs.code));
  std::vector<std::vector<task_record>> tasks;
  tasks.reserve(jobs.jobs.size());
  for (const auto& j : jobs.jobs)
    tasks.push_back(rt.list_tasks(j.id).tasks);
  auto out = render_state_metrics(jobs.jobs, tasks, rt.nodes().nodes);
  observer.render(out);
  // What the head's gate did with its peers (docs/security.md).
  auto peers = gate_statistics();
  out += "# HELP quiesce_connections Connections the head holds open, by "
         "state.\n# TYPE quiesce_connections gauge\n"
         "quiesce_connections{state=\"open\"} "
         + std::to_string(peers.open)
         + "\nquiesce_connections{state=\"unauthenticated\"} "
         + std::to_string(peers.unauthenticated) + '\n';
  out += "# HELP quiesce_connections_accepted_total Connections accepted.\n"
         "# TYPE quiesce_connections_accepted_total counter\n"
         "quiesce_connections_accepted_total "
         + std::to_string(peers.accepted) + '\n';
  out += "# HELP quiesce_connections_closed_total Connections the gate "
         "closed, by reason.\n"
         "# TYPE quiesce_connections_closed_total counter\n";
  for (auto [reason, n] : {std::pair{"refused", peers.refused},
                           std::pair{"evicted", peers.evicted},
                           std::pair{"handshake_timeout", peers.timed_out},
                           std::pair{"oversized", peers.oversized},
                           std::pair{"forged", peers.forged}})
    out += "quiesce_connections_closed_total{reason=\"" + std::string{reason}
           + "\"} " + std::to_string(n) + '\n';
  return out;
}

// Says (on the terminal and in the log) that the gate closed connections
// for forged frames since `seen` were counted; returns the new count.
uint64_t say_forged(ops_log& log, uint64_t seen) {
  auto peers = gate_statistics();
  if (peers.forged == seen)
    return seen;
  auto n = std::to_string(peers.forged - seen);
  std::cout << now_text() << " closed " << n
            << (peers.forged - seen == 1 ? " connection" : " connections")
            << " for a forged BASP frame; the last: "
            << escape_controls(peers.last_forged) << std::endl;
  log.write(log_level::warn, "msg=connection_closed reason=forged count=" + n
                                 + " last=" + logfmt_value(peers.last_forged));
  return peers.forged;
}

int run_head(const settings_flags& flags) {
  auto loaded = flags.load();
  if (!loaded)
    return exit_invalid_input;
  runtime_options ropts = *loaded;
  // Unknown users and root without run_as_root stop it here, before
  // anything starts (docs/security.md, "Tasks run as their owner").
  try {
    resolve_accounts(ropts.users, ropts.run_as_root);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << std::endl;
    return exit_invalid_input;
  }
  // A certificate that cannot serve TLS would start a head that every
  // node and client refuses (runtime::publish refuses it too).
  if (!ropts.tls_cert.empty())
    if (auto err = tls::check_serving(ropts.tls_cert); !err.empty()) {
      std::cerr << "quiesce: " << err << std::endl;
      return exit_invalid_input;
    }
  ropts.local_node = ropts.slots > 0;
  endpoint where;
  if (auto err = parse_endpoint(ropts.listen, where); !err.empty()) {
    std::cerr << "quiesce: listen: " << err << std::endl;
    return exit_invalid_input;
  }
  endpoint metrics_at;
  if (!ropts.metrics_listen.empty()) {
    if (auto err = parse_endpoint(ropts.metrics_listen, metrics_at);
        !err.empty()) {
      std::cerr << "quiesce: metrics listen: " << err << std::endl;
      return exit_invalid_input;
    }
    // The endpoint has no authentication of its own yet: loopback is its
    // guard (docs/operations.md).
    if (!is_loopback(metrics_at.host)) {
      std::cerr << "quiesce: metrics listen: " << metrics_at.host
                << " is not a loopback address; the metrics endpoint has no "
                   "authentication yet and serves only 127.0.0.1, ::1 or "
                   "localhost (docs/operations.md)"
                << std::endl;
      return exit_invalid_input;
    }
  }
  std::string log_error;
  auto log = ops_log::open(ropts, log_error);
  if (!log) {
    std::cerr << "quiesce: " << log_error << std::endl;
    return exit_invalid_input;
  }
  // The mask must be set before any thread exists; tasks of the local node
  // get a clean mask from the launcher.
  block_stop_signals();
  std::signal(SIGPIPE, SIG_IGN);
  std::atomic<int> stop_signal{0};
  signal_watcher watcher{[&stop_signal](int sig) {
    stop_signal = sig;
  }};
  auto observer = std::make_shared<head_observer>(log);
  std::unique_ptr<runtime> rt;
  try {
    rt = std::make_unique<runtime>(ropts, observer);
  } catch (const std::exception& e) {
    std::cerr << "quiesce: cannot start the runtime: " << e.what() << std::endl;
    return exit_runtime_error;
  }
  // One line per status change, from the head's own event stream; from
  // before it listens, so no client's change is missed.
  if (log->enabled(log_level::info))
    rt->subscribe([log](const event& ev) {
      auto level = ev.kind == event_kind::progress ? log_level::debug
                                                   : log_level::info;
      if (log->enabled(level))
        log->write(level, log_fields(ev));
    });
  std::string error;
  auto port = rt->publish(where.host, where.port, error);
  if (port == 0) {
    std::cerr << "quiesce: " << error << std::endl;
    rt->shutdown();
    return exit_runtime_error;
  }
  where.port = port;
  metrics_server metrics{[&rt, &observer] {
    return scrape(*rt, *observer);
  }};
  if (!ropts.metrics_listen.empty()) {
    metrics_at.port = metrics.start(metrics_at.host, metrics_at.port, error);
    if (metrics_at.port == 0) {
      std::cerr << "quiesce: " << error << std::endl;
      rt->shutdown();
      return exit_runtime_error;
    }
  }
  log->write(log_level::info,
             "msg=start role=head listen=" + to_string(where)
                 + (ropts.metrics_listen.empty()
                        ? std::string{}
                        : " metrics=" + to_string(metrics_at))
                 + " containment=" + logfmt_value(rt->containment()));
  std::cout << "listening on " << to_string(where) << std::endl;
  if (!ropts.metrics_listen.empty())
    std::cout << "metrics on http://" << to_string(metrics_at) << "/metrics"
              << std::endl;
  notify_service_manager("READY=1\nSTATUS=listening on " + to_string(where));
  node_watch nodes{log};
  uint64_t forged_seen = 0;
  while (stop_signal == 0) {
    nodes.update(rt->nodes());
    forged_seen = say_forged(*log, forged_seen);
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  // A node that joined less than a poll ago is still said before stopping.
  nodes.update(rt->nodes());
  auto running = rt->list_jobs();
  size_t live = 0;
  for (const auto& j : running.jobs)
    live += is_terminal(j.status) ? 0 : 1;
  std::cout << now_text() << " stopping (" << stop_signal_name(stop_signal)
            << "): terminating " << live << (live == 1 ? " job" : " jobs")
            << std::endl;
  log->write(log_level::info,
             "msg=stopping signal=" + std::string{stop_signal_name(stop_signal)}
                 + " terminating=" + std::to_string(live));
  notify_service_manager("STOPPING=1");
  watcher.stop();
  metrics.stop();
  rt->shutdown();
  log->write(log_level::info, "msg=stopped role=head");
  return exit_ok;
}

} // namespace

installed_command install_head(CLI::App& app) {
  auto* sub
      = app.add_subcommand("head", "Run a head: the supervisor, serving worker "
                                   "nodes and clients");
  auto flags = std::make_shared<settings_flags>(sub, head_defaults());
  flags->add_address("--listen", &settings::listen,
                     "address to listen on, HOST:PORT (port 0 picks one)");
  flags->add_count("--local-slots", &settings::slots, 65536,
                   "tasks the head runs itself (0: only nodes run tasks)");
  flags->add_runtime_file(
      "runtime file ([runtime] table: listen, slots, threads, scheduler, "
      "run_dir, max_running_jobs, heartbeat, node_timeout, state_dir, "
      "tls_ca, tls_cert, tls_key, tls_passphrase, head_lease, "
      "job_retention, log_file, log_level, log_max_size, log_files, "
      "metrics_listen, max_connections, max_connections_per_address, "
      "handshake_timeout, max_message_size, dev_mode); the "
      "options "
      "override it");
  flags->add_count(
      "--threads", &settings::threads, 1024,
      "CAF scheduler threads (0: one per core, or 1 without local slots)");
  flags->add_text("--run-dir", &settings::run_dir,
                  "directory for output files of tasks of the local node");
  flags->add_text("--state-dir", &settings::state_dir,
                  "directory of the journal: jobs survive a restart of the "
                  "head (default: in memory only)");
  flags->add_duration("--job-retention", &settings::job_retention,
                      "how long a terminal job stays in memory after its end "
                      "(0: at once); then `status` and "
                      "`list jobs --all` read it from the journal, or, "
                      "without --state-dir, it is gone");
  flags->add_duration("--heartbeat", &settings::heartbeat_interval,
                      "heartbeat interval towards nodes and clients");
  flags->add_duration("--node-timeout", &settings::connection_timeout,
                      "silence after which a node is lost");
  flags->add_tls();
  flags
      ->add_switch("--dev", &settings::dev_mode,
                   "development mode: listen without TLS, on a loopback "
                   "address only, where only this user may act")
      ->envname("QUIESCE_DEV_MODE")
      ->group("TLS");
  flags->add_peer_bounds();
  flags->add_duration("--head-lease", &settings::head_lease,
                      "how long a lost node keeps its tasks; the head places "
                      "them again only after this plus their grace period");
  flags->add_log_flags();
  flags->add_address("--metrics-listen", &settings::metrics_listen,
                     "serve Prometheus metrics at http://HOST:PORT/metrics "
                     "(loopback only; default: none)");
  sub->footer(
      "Prints \"listening on HOST:PORT\" (the real port when 0 was "
      "given), then "
      "a line\nper node that joins or is lost. SIGINT, SIGTERM or SIGHUP "
      "terminates the "
      "running jobs\nand stops the head (exit 0).\n\n"
      "--log-file writes a logfmt line per status change and per request "
      "(with who\nasked), rotated at --log-max-size. --metrics-listen "
      "serves Prometheus metrics\nand prints \"metrics on "
      "http://HOST:PORT/metrics\" (docs/operations.md).\n\n"
      "Without TLS the head listens on loopback only and only its own user "
      "may act;\nwith --tls-ca, --tls-cert and --tls-key every node and "
      "client must present a\ncertificate of that CA (docs/security.md; "
      "`quiesce certs` makes them).\n\n"
      "Examples:\n  quiesce head\n  quiesce head --listen 127.0.0.1:0\n"
      "  quiesce head --listen 10.0.0.5:7700 --local-slots 2 --tls-ca "
      "certs/ca.pem \\\n      --tls-cert certs/head.pem --tls-key "
      "certs/head.key\n");
  return {sub, [flags] {
            return run_head(*flags);
          }};
}

} // namespace quiesce::cli
