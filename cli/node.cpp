// `quiesce node --head HOST:PORT`: a worker node. It registers its slots with
// the head, runs the command tasks the head places on it, reports their ends
// and obeys stop and kill requests. When the head goes away it keeps its
// tasks for the head lease while it reconnects, then kills them; SIGINT,
// SIGTERM or SIGHUP stops it (its tasks are killed).

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/notify.hpp"
#include "cli/ops.hpp"
#include "cli/output.hpp"
#include "cli/settings_flags.hpp"
#include "cli/signals.hpp"
#include "messages/text.hpp"
#include "runtime/options.hpp"
#include "runtime/remote.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

namespace quiesce::cli {

namespace {

// A node's name defaults to HOSTNAME-PID (decided when it runs).
settings node_defaults() {
  settings s;
  s.node_name.clear();
  return s;
}

int run_node(const settings_flags& flags) {
  auto loaded = flags.load();
  if (!loaded)
    return exit_invalid_input;
  worker_options w = *loaded;
  // Unknown users and root without run_as_root stop it here, before
  // anything starts (docs/security.md, "Tasks run as their owner").
  try {
    resolve_accounts(w.users, w.run_as_root);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << std::endl;
    return exit_invalid_input;
  }
  if (w.node_name.empty())
    w.node_name = default_process_name();
  std::string log_error;
  auto log = ops_log::open(w, log_error);
  if (!log) {
    std::cerr << "quiesce: " << log_error << std::endl;
    return exit_invalid_input;
  }
  log->write(log_level::info,
             "msg=start role=node node=" + logfmt_value(w.node_name) + " head="
                 + logfmt_value(w.head) + " slots=" + std::to_string(w.slots));
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
    code = node.serve(stop, [&log](const std::string& line) {
      std::cout << format_clock(caf::make_timestamp()) << ' '
                << escape_controls(line) << std::endl;
      // Ready once joined; later lines (lost, rejoined) are its status.
      bool joined = line.rfind("joined the head", 0) == 0;
      bool trouble = line.rfind("lost the head", 0) == 0
                     || line.rfind("cannot join", 0) == 0;
      log->write(trouble ? log_level::warn : log_level::info,
                 "msg=node text=" + logfmt_value(line));
      notify_service_manager((joined ? "READY=1\nSTATUS=" : "STATUS=") + line);
    });
    notify_service_manager("STOPPING=1");
    if (code == result_code::ok)
      std::cout << format_clock(caf::make_timestamp())
                << " stopping: killing this node's tasks" << std::endl;
  }
  log->write(code == result_code::ok ? log_level::info : log_level::error,
             "msg=stopped role=node code=" + std::string{to_name(code)});
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
  auto* sub
      = app.add_subcommand("node", "Run a worker node that runs the tasks a "
                                   "head places on it");
  auto flags = std::make_shared<settings_flags>(sub, node_defaults());
  flags
      ->add_address("--head", &settings::head,
                    "the head, HOST:PORT (or $QUIESCE_HEAD)")
      ->envname("QUIESCE_HEAD");
  flags->add_count("--slots", &settings::slots, 65536,
                   "tasks run at once (0: one per core)");
  flags->add_count("--pipeline", &settings::pipeline, 64,
                   "attempts per slot held ready beyond the slots (0: none)");
  flags->add_text("--name", &settings::node_name,
                  "the node's name, unique among the head's nodes (default "
                  "HOSTNAME-PID)");
  flags->add_list("--label", &settings::labels,
                  "a label tasks may ask for (repeatable)");
  flags->add_runtime_file(
      "runtime file ([runtime] table: slots, threads, "
      "scheduler, run_dir, heartbeat, node_timeout, "
      "tls_ca, tls_cert, tls_key, tls_passphrase, head_lease, "
      "log_file, log_level, log_max_size, log_files); the "
      "options override it");
  flags->add_text("--run-dir", &settings::run_dir,
                  "directory for the stdout/stderr files of tasks that set "
                  "none");
  flags->add_count("--threads", &settings::threads, 1024,
                   "CAF scheduler threads (0: one per core)");
  flags->add_duration("--heartbeat", &settings::heartbeat_interval,
                      "heartbeat interval towards the head");
  flags->add_duration("--node-timeout", &settings::connection_timeout,
                      "silence after which the head counts as lost");
  flags->add_duration("--reconnect-delay", &settings::reconnect_delay,
                      "pause between attempts to reach the head");
  flags->add_tls();
  flags->add_duration("--head-lease", &settings::head_lease,
                      "how long the node keeps its tasks running without "
                      "the head before it kills them");
  flags->add_log_flags();
  // A debugging aid: announce another protocol version, to see a head
  // refuse it.
  flags->add_count("--protocol-version", &settings::protocol, UINT32_MAX, "")
      ->group("");
  sub->footer(
      "Prints a line when it joins the head, loses it or cannot reach it. When "
      "the\nhead goes away, the node keeps its tasks for --head-lease while "
      "it tries to\nrejoin, then kills them. SIGINT,\nSIGTERM or SIGHUP kills "
      "its tasks and stops it (exit "
      "0). A "
      "peer "
      "that is not a Quiesce\nhead, or a head of another protocol version, "
      "stops it with exit status 6.\n\n"
      "Examples:\n  quiesce node --head 10.0.0.5:7700 --slots 4\n"
      "  quiesce node --name gpu-1 --label gpu --run-dir /scratch/runs\n");
  return {sub, [flags] {
            return run_node(*flags);
          }};
}

} // namespace quiesce::cli
