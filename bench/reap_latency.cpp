// Latency from cancel_task on a running `sleep 60` command task (grace 0)
// until its process is reaped. The job has that one task, so it ends only
// once the attempt is reported dead: the figure is request to job-end event.
//
//   reap_latency --size 200 --policy sharing --json out.json

#include "bench/common.hpp"

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

/// Waits for events of interest, timestamped on the event thread.
struct watcher {
  std::mutex mtx;
  std::condition_variable cv;
  job_id job = invalid_id;
  bool running = false;
  bool ended = false;
  stopwatch::clock::time_point ended_at;

  void on(const event& ev) {
    std::lock_guard<std::mutex> guard{mtx};
    if (ev.job != job)
      return;
    if (ev.kind == event_kind::task && is(ev.current, task_status::running))
      running = true;
    if (ev.kind == event_kind::job
        && is_terminal(caf::get<job_status>(ev.current))) {
      ended = true;
      ended_at = stopwatch::clock::now();
    }
    cv.notify_all();
  }

  template <class Pred>
  void wait(Pred pred) {
    std::unique_lock<std::mutex> guard{mtx};
    require(cv.wait_for(guard, std::chrono::seconds{30}, pred),
            "event did not come");
  }
};

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "cancel of a running sleep, grace 0, reap");
  if (opts.size == 0)
    opts.size = 200;
  std::vector<double> lat;
  auto ro = runtime_opts(opts, opts.slots == 0 ? 2 : opts.slots);
  {
    runtime rt{ro};
    watcher w;
    rt.subscribe([&](const event& ev) { w.on(ev); });
    auto task = command_task({"sleep", "60"});
    task.grace = std::chrono::milliseconds{0};
    for (uint64_t i = 0; i < opts.size; ++i) {
      auto added = rt.add_job(one_assessment(1, task));
      require(added.code == result_code::ok, "add_job");
      {
        std::lock_guard<std::mutex> guard{w.mtx};
        w.job = added.job;
        w.running = w.ended = false;
      }
      require(rt.submit(added.job).code == result_code::ok, "submit");
      w.wait([&] { return w.running; });
      auto t0 = stopwatch::clock::now();
      auto reply = rt.cancel_task(added.job, 1, "bench");
      require(reply.code == result_code::ok, "cancel_task: " + reply.detail);
      w.wait([&] { return w.ended; });
      lat.push_back(
          std::chrono::duration<double, std::milli>(w.ended_at - t0).count());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path{ro.run_dir}.parent_path(),
                              ec);
  report rep{"reap_latency", opts};
  rep.at_most("p50", percentile(lat, 50), "ms", 0, "", -1);
  rep.at_most("p99", percentile(lat, 99), "ms", 0, "", 20).note
      = "cancel_task request to the job-end event (the process is reaped)";
  return rep.finish();
}
