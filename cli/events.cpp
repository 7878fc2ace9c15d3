// `quiesce events`: subscribes a local event sink actor to a head's event
// stream and prints one line per event (JSON lines with --json) until
// SIGINT/SIGTERM, `--count N` events, or the end of the job given with
// `--until-job-ends`.

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/signals.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>

namespace quiesce::cli {

namespace {

using nlohmann::json;

/// Events on their way from the sink actor to the printing thread.
struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<event> items;
  /// The head went away (its connection was lost).
  bool head_lost = false;

  void push(event ev) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      items.push_back(std::move(ev));
    }
    cv.notify_one();
  }

  void lose() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      head_lost = true;
    }
    cv.notify_one();
  }
};

struct events_options {
  client_options client;
  uint64_t count = 0;
  job_id until_job = invalid_id;
};

bool ends_job(const event& ev, job_id id) {
  return ev.kind == event_kind::job && ev.job == id
         && is_terminal(static_cast<job_status>(ev.current));
}

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
  auto box = std::make_shared<inbox>();
  auto head = s.client().head();
  auto sink = s.client().system().spawn(
      [box, head](
          event_sink_actor::pointer self) -> event_sink_actor::behavior_type {
        self->monitor(head);
        self->set_down_handler([box](caf::down_msg&) { box->lose(); });
        return {[box](event& ev) {
          box->push(std::move(ev));
        }};
      });
  // The sink must go before the client's actor system, which waits for it.
  struct sink_guard {
    event_sink_actor hdl;
    ~sink_guard() {
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    }
  } guard{sink};
  auto reply = s.client().call<op_reply>(subscribe{sink}, s.timeout());
  if (reply.code != result_code::ok)
    return s.finish(reply.code, reply.detail);
  if (o.until_job != invalid_id) {
    // The job may have ended before the subscription.
    auto st = s.client().call<job_status_reply>(get_job_status{o.until_job},
                                                s.timeout());
    if (st.code != result_code::ok)
      return s.finish(st.code, st.code == result_code::job_not_found
                                   ? "no job " + std::to_string(o.until_job)
                                   : std::string{});
    if (is_terminal(st.job.status)) {
      std::cerr << "quiesce: job " << o.until_job << " has already ended ("
                << to_name(st.job.status) << ")" << std::endl;
      return exit_ok;
    }
  }
  // On stderr, so that stdout carries the events alone (JSON lines).
  std::cerr << "quiesce: following the events of " << to_string(s.head())
            << std::endl;
  uint64_t seen = 0;
  for (;;) {
    std::deque<event> batch;
    bool lost = false;
    {
      std::unique_lock<std::mutex> lock{box->mtx};
      box->cv.wait_for(lock, std::chrono::milliseconds{100},
                       [&] { return !box->items.empty() || box->head_lost; });
      batch.swap(box->items);
      lost = box->head_lost;
    }
    bool done = false;
    for (const auto& ev : batch) {
      if (o.client.json)
        std::cout << to_json(ev).dump() << '\n';
      else
        std::cout << format_clock(ev.time) << ' ' << describe(ev) << '\n';
      ++seen;
      if ((o.count > 0 && seen >= o.count)
          || (o.until_job != invalid_id && ends_job(ev, o.until_job))) {
        done = true;
        break;
      }
    }
    std::cout << std::flush;
    if (done || stop)
      return exit_ok;
    if (lost) {
      std::cerr << "quiesce: lost the head at " << to_string(s.head())
                << std::endl;
      return exit_unreachable;
    }
  }
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
  sub->footer("Runs until SIGINT or SIGTERM (exit 0), or until the head is "
              "lost (exit 6).\nWith --json, one JSON object per line.\n\n"
              "Examples:\n  quiesce events\n"
              "  quiesce events --json --until-job-ends 3 > events.jsonl\n");
  return {sub, [o] {
            return run_events(*o);
          }};
}

} // namespace quiesce::cli
