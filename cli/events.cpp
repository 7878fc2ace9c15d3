// `quiesce events`: subscribes to a head's event stream through the client
// and prints one line per event (JSON lines with --json) until
// SIGINT/SIGTERM, `--count N` events, or the end of the job given with
// `--until-job-ends`.

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/signals.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>

namespace quiesce::cli {

namespace {

using nlohmann::json;

struct events_options {
  client_options client;
  uint64_t count = 0;
  job_id until_job = invalid_id;
};

bool ends_job(const event& ev, job_id id) {
  return ev.kind == event_kind::job && ev.job == id
         && caf::holds_alternative<job_status>(ev.current)
         && is_terminal(caf::get<job_status>(ev.current));
}

/// Set by the event thread when the command has printed enough.
struct finish_line {
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<bool> done{false};

  void reach() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      done = true;
    }
    cv.notify_all();
  }
};

int run_events(const events_options& o) {
  // The mask must be set before any thread exists.
  block_stop_signals();
  std::atomic<bool> stop{false};
  signal_watcher watcher{[&stop](int) {
    stop = true;
  }};
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto finish = std::make_shared<finish_line>();
  // Printed on the client's event thread, in order; counted there too.
  uint64_t seen = 0;
  auto id = s.client().subscribe([&, finish](const event& ev) {
    if (finish->done)
      return;
    if (o.client.json)
      std::cout << to_json(ev).dump() << '\n';
    else
      std::cout << format_clock(ev.time) << ' ' << describe(ev) << '\n';
    std::cout << std::flush;
    ++seen;
    if ((o.count > 0 && seen >= o.count)
        || (o.until_job != invalid_id && ends_job(ev, o.until_job)))
      finish->reach();
  });
  if (id == 0)
    return s.finish(s.client().connected() ? result_code::request_timeout
                                           : result_code::unavailable,
                    "the head did not accept the subscription");
  if (o.until_job != invalid_id) {
    // The job may have ended before the subscription.
    auto st = s.client().job_status(o.until_job);
    if (st.code != result_code::ok)
      return s.finish(st.code, !st.detail.empty() ? st.detail
                               : st.code == result_code::job_not_found
                                   ? "no job " + std::to_string(o.until_job)
                                   : std::string{});
    if (is_terminal(st.job.status)) {
      std::cerr << "quiesce: job " << o.until_job << " has already ended ("
                << to_name(st.job.status) << ")" << std::endl;
      finish->reach();
      s.client().close();
      return exit_ok;
    }
  }
  // On stderr, so that stdout carries the events alone (JSON lines).
  std::cerr << "quiesce: following the events of " << to_string(s.head())
            << std::endl;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{finish->mtx};
      finish->cv.wait_for(lock, std::chrono::milliseconds{100},
                          [&] { return finish->done.load(); });
      if (finish->done)
        break;
    }
    if (stop)
      break;
    if (!s.client().connected()) {
      // Print what arrived before the loss, then say so.
      s.client().close();
      std::cerr << "quiesce: lost the head at " << to_string(s.head())
                << std::endl;
      return exit_unreachable;
    }
  }
  // Stops further callbacks before `seen` and the options go away.
  finish->reach();
  s.client().close();
  return exit_ok;
}

} // namespace

installed_command install_events(CLI::App& app) {
  auto o = std::make_shared<events_options>();
  auto* sub = app.add_subcommand("events",
                                 "Follow a head's event stream, one line per "
                                 "event");
  add_client_options(sub, o->client);
  sub->add_option("--count", o->count, "stop after N events");
  sub->add_option("--until-job-ends", o->until_job,
                  "stop once job ID has ended (at once if it already has)");
  sub->footer(
      "Runs until SIGINT, SIGTERM or SIGHUP (exit 0), or until the head is "
      "lost (exit 6).\nWith --json, one JSON object per line.\n\n"
      "Examples:\n  quiesce events\n"
      "  quiesce events --json --until-job-ends 3 > events.jsonl\n");
  return {sub, [o] {
            return run_events(*o);
          }};
}

} // namespace quiesce::cli
