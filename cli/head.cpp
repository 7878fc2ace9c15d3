// `quiesce head --listen HOST:PORT`: runs the supervisor (and, with
// `--local-slots N`, a local node), publishes it with CAF's middleman for
// worker nodes and clients, prints node joins and losses, and serves until
// SIGINT or SIGTERM, which terminate the running jobs before it exits.

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/signals.hpp"
#include "config/job_file.hpp"
#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <string>
#include <thread>

namespace quiesce::cli {

namespace {

struct head_options {
  std::string listen = "127.0.0.1:7700";
  uint32_t local_slots = 0;
  std::string runtime_file;
  uint32_t threads = 0;
  std::string run_dir;
  std::string heartbeat;
  std::string node_timeout;
  // Which of the options overriding the runtime file were given.
  CLI::Option* listen_opt = nullptr;
  CLI::Option* threads_opt = nullptr;
  CLI::Option* run_dir_opt = nullptr;
};

std::string now_text() {
  return format_clock(caf::make_timestamp());
}

// Prints a line per change of the node list: joins, losses, rejoins.
class node_watch {
public:
  void update(const node_list& nodes) {
    for (const auto& n : nodes.nodes) {
      auto i = known_.find(n.name);
      if (i == known_.end()) {
        say("node " + n.name + " joined with " + std::to_string(n.slots)
            + (n.slots == 1 ? " slot" : " slots"));
        known_.emplace(n.name, n.status);
      } else if (i->second != n.status) {
        say("node " + n.name + " is "
            + (n.status == node_status::ready ? "ready again"
                                              : to_string(n.status)));
        i->second = n.status;
      }
    }
  }

private:
  static void say(const std::string& text) {
    std::cout << now_text() << ' ' << text << std::endl;
  }

  std::map<std::string, node_status> known_;
};

int run_head(const head_options& o) {
  config::runtime_settings settings;
  if (!o.runtime_file.empty()) {
    auto loaded = config::load_runtime_file(o.runtime_file);
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors)
        std::cerr << to_string(d) << '\n';
      std::cerr << std::flush;
      return exit_invalid_input;
    }
    settings = loaded.file.runtime;
  }
  std::string listen = settings.listen;
  if (o.runtime_file.empty() || *o.listen_opt)
    listen = o.listen;
  endpoint where;
  if (auto err = parse_endpoint(listen, where); !err.empty()) {
    std::cerr << "quiesce: --listen: " << err << std::endl;
    return exit_invalid_input;
  }
  runtime_options ropts;
  ropts.threads = *o.threads_opt ? o.threads : settings.threads;
  ropts.scheduler = settings.scheduler;
  ropts.max_running_jobs = settings.max_running_jobs;
  ropts.run_dir = *o.run_dir_opt ? o.run_dir : settings.run_dir;
  ropts.local_node = o.local_slots > 0;
  ropts.slots = o.local_slots;
  ropts.node_name = "head";
  ropts.network = true;
  ropts.heartbeat_interval
      = o.heartbeat.empty()
            ? std::chrono::duration_cast<std::chrono::milliseconds>(
                settings.heartbeat)
            : parse_ms(o.heartbeat);
  ropts.connection_timeout
      = o.node_timeout.empty()
            ? std::chrono::duration_cast<std::chrono::milliseconds>(
                settings.node_timeout)
            : parse_ms(o.node_timeout);
  if (ropts.connection_timeout <= ropts.heartbeat_interval) {
    std::cerr << "quiesce: the node timeout must be longer than the heartbeat"
              << std::endl;
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
  std::unique_ptr<runtime> rt;
  try {
    rt = std::make_unique<runtime>(ropts);
  } catch (const std::exception& e) {
    std::cerr << "quiesce: cannot start the runtime: " << e.what() << std::endl;
    return exit_runtime_error;
  }
  std::string error;
  auto port = publish_head(*rt, where, error);
  if (port == 0) {
    std::cerr << "quiesce: " << error << std::endl;
    rt->shutdown();
    return exit_runtime_error;
  }
  where.port = port;
  std::cout << "listening on " << to_string(where) << std::endl;
  if (where.host != "127.0.0.1" && where.host != "localhost"
      && where.host != "::1")
    std::cerr << "quiesce: warning: listening on " << where.host
              << " without authentication or encryption: anyone who reaches "
                 "this port can run commands here (docs/distributed.md)"
              << std::endl;
  node_watch nodes;
  while (stop_signal == 0) {
    nodes.update(rt->nodes());
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  auto running = rt->list_jobs();
  size_t live = 0;
  for (const auto& j : running.jobs)
    live += is_terminal(j.status) ? 0 : 1;
  std::cout << now_text() << " stopping ("
            << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
            << "): terminating " << live << (live == 1 ? " job" : " jobs")
            << std::endl;
  watcher.stop();
  rt->shutdown();
  return exit_ok;
}

} // namespace

installed_command install_head(CLI::App& app) {
  auto o = std::make_shared<head_options>();
  auto* sub
      = app.add_subcommand("head", "Run a head: the supervisor, serving worker "
                                   "nodes and clients");
  o->listen_opt = sub->add_option("--listen", o->listen,
                                  "address to listen on, HOST:PORT (port 0 "
                                  "picks one; default 127.0.0.1:7700)")
                      ->check(endpoint_validator());
  sub->add_option("--local-slots", o->local_slots,
                  "tasks the head runs itself (default 0: only nodes run "
                  "tasks)")
      ->check(CLI::Range(0, 65536));
  sub->add_option("--runtime", o->runtime_file,
                  "runtime file ([runtime] table: listen, threads, run_dir, "
                  "max_running_jobs, scheduler, heartbeat, node_timeout)");
  o->threads_opt = sub->add_option("--threads", o->threads,
                                   "CAF scheduler threads (0: one per core)")
                       ->check(CLI::Range(0, 1024));
  o->run_dir_opt = sub->add_option("--run-dir", o->run_dir,
                                   "directory for output files of tasks of "
                                   "the local node");
  sub->add_option("--heartbeat", o->heartbeat,
                  "heartbeat interval towards nodes and clients (default 1s)")
      ->check(duration_validator());
  sub->add_option("--node-timeout", o->node_timeout,
                  "silence after which a node is lost (default 5s)")
      ->check(duration_validator());
  sub->footer("Prints \"listening on HOST:PORT\" (the real port when 0 was "
              "given), then "
              "a line\nper node that joins or is lost. SIGINT or SIGTERM "
              "terminates the "
              "running jobs\nand stops the head (exit 0).\n\n"
              "There is no authentication and no encryption: keep the default "
              "127.0.0.1 or a\nprivate network, or tunnel with SSH "
              "(docs/distributed.md).\n\n"
              "Examples:\n  quiesce head\n  quiesce head --listen 127.0.0.1:0\n"
              "  quiesce head --listen 10.0.0.5:7700 --local-slots 2\n");
  return {sub, [o] {
            return run_head(*o);
          }};
}

} // namespace quiesce::cli
