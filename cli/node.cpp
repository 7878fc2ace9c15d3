// `quiesce node --head HOST:PORT`: a worker node. It registers its slots with
// the head, runs the command tasks the head places on it, reports their ends
// and obeys stop and kill requests. When the head goes away it kills its
// tasks and reconnects; SIGINT or SIGTERM stops it (its tasks are killed).

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/signals.hpp"
#include "runtime/remote.hpp"
#include "runtime/system_config.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>

namespace quiesce::cli {

namespace {

struct node_cli_options {
  std::string head = default_head;
  uint32_t slots = 0;
  std::string name;
  std::vector<std::string> labels;
  std::string run_dir = ".quiesce/runs";
  uint32_t threads = 0;
  std::string heartbeat = "1s";
  std::string node_timeout = "5s";
  std::string reconnect = "1s";
  uint32_t protocol = protocol_version;
};

int run_node(const node_cli_options& o) {
  worker_options w;
  w.head = o.head;
  w.node_name = o.name.empty() ? default_process_name() : o.name;
  w.slots = o.slots == 0 ? default_threads() : o.slots;
  w.labels = o.labels;
  w.run_dir = o.run_dir;
  w.threads = o.threads;
  w.heartbeat_interval = parse_ms(o.heartbeat);
  w.connection_timeout = parse_ms(o.node_timeout);
  w.reconnect_delay = parse_ms(o.reconnect);
  w.protocol = o.protocol;
  if (w.connection_timeout <= w.heartbeat_interval) {
    std::cerr << "quiesce: the node timeout must be longer than the heartbeat"
              << std::endl;
    return exit_invalid_input;
  }
  // The mask must be set before any thread exists; the launcher gives tasks
  // a clean one.
  block_stop_signals();
  std::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> stop{false};
  signal_watcher watcher{[&stop](int) {
    stop = true;
  }};
  auto code = result_code::ok;
  {
    worker node{w};
    code = node.serve(stop, [](const std::string& line) {
      std::cout << format_clock(caf::make_timestamp()) << ' ' << line
                << std::endl;
    });
    if (code == result_code::ok)
      std::cout << format_clock(caf::make_timestamp())
                << " stopping: killing this node's tasks" << std::endl;
  }
  watcher.stop();
  if (code != result_code::ok) {
    std::cerr << "quiesce: giving up on " << w.head
              << ": not a Quiesce head, or a head that refuses protocol "
                 "version "
              << w.protocol << std::endl;
    return exit_unreachable;
  }
  return exit_ok;
}

} // namespace

installed_command install_node(CLI::App& app) {
  auto o = std::make_shared<node_cli_options>();
  auto* sub
      = app.add_subcommand("node", "Run a worker node that runs the tasks a "
                                   "head places on it");
  sub->add_option("--head", o->head,
                  "the head, HOST:PORT (default: $QUIESCE_HEAD, else "
                      + std::string{default_head} + ")")
      ->envname("QUIESCE_HEAD")
      ->check(endpoint_validator());
  sub->add_option("--slots", o->slots,
                  "tasks run at once (0, the default: one per core)")
      ->check(CLI::Range(0, 65536));
  sub->add_option("--name", o->name,
                  "the node's name, unique among the head's nodes (default "
                  "HOSTNAME-PID)");
  sub->add_option("--label", o->labels,
                  "a label tasks may ask for (repeatable)");
  sub->add_option("--run-dir", o->run_dir,
                  "directory for the stdout/stderr files of tasks that set "
                  "none (default .quiesce/runs)");
  sub->add_option("--threads", o->threads,
                  "CAF scheduler threads (0: one per core)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--heartbeat", o->heartbeat,
                  "heartbeat interval towards the head (default 1s)")
      ->check(duration_validator());
  sub->add_option("--node-timeout", o->node_timeout,
                  "silence after which the head counts as lost (default 5s)")
      ->check(duration_validator());
  sub->add_option("--reconnect-delay", o->reconnect,
                  "pause between attempts to reach the head (default 1s)")
      ->check(duration_validator());
  // A debugging aid: announce another protocol version, to see a head
  // refuse it.
  sub->add_option("--protocol-version", o->protocol)->group("");
  sub->footer(
      "Prints a line when it joins the head, loses it or cannot reach it. When "
      "the\nhead goes away, the node kills its tasks and keeps trying to "
      "rejoin. SIGINT or\nSIGTERM kills its tasks and stops it (exit 0). A "
      "peer "
      "that is not a Quiesce\nhead, or a head of another protocol version, "
      "stops it with exit status 6.\n\n"
      "Examples:\n  quiesce node --head 10.0.0.5:7700 --slots 4\n"
      "  quiesce node --name gpu-1 --label gpu --run-dir /scratch/runs\n");
  return {sub, [o] {
            return run_node(*o);
          }};
}

} // namespace quiesce::cli
