// Latency of requeue_task on a running `sleep 60` command task (grace 0)
// until the task runs again: the request cancels the attempt, the process
// is killed and reaped, and the task is dispatched anew.
//
//   requeue_latency --size 200 --policy sharing --json out.json

#include "bench/common.hpp"

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

/// Counts the task's starts, timestamped on the event thread.
struct watcher {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t starts = 0;
  stopwatch::clock::time_point started_at;

  void on(const event& ev) {
    if (ev.kind != event_kind::task || !is(ev.current, task_status::running))
      return;
    std::lock_guard<std::mutex> guard{mtx};
    ++starts;
    started_at = stopwatch::clock::now();
    cv.notify_all();
  }

  void wait_for_start(uint64_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    require(cv.wait_for(guard, std::chrono::seconds{30},
                        [&] { return starts >= n; }),
            "the task did not start");
  }
};

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "requeue_task of a running command task");
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
    auto added = rt.add_job(one_assessment(1, task));
    require(added.code == result_code::ok, "add_job");
    require(rt.submit(added.job).code == result_code::ok, "submit");
    w.wait_for_start(1);
    for (uint64_t i = 0; i < opts.size; ++i) {
      auto t0 = stopwatch::clock::now();
      auto reply = rt.requeue_task(added.job, 1);
      require(reply.code == result_code::ok, "requeue_task: " + reply.detail);
      w.wait_for_start(i + 2);
      std::lock_guard<std::mutex> guard{w.mtx};
      lat.push_back(
          std::chrono::duration<double, std::milli>(w.started_at - t0).count());
    }
    rt.terminate_job(added.job);
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path{ro.run_dir}.parent_path(),
                              ec);
  report rep{"requeue_latency", opts};
  rep.at_most("p50", percentile(lat, 50), "ms", 0, "", -1);
  rep.at_most("p99", percentile(lat, 99), "ms", 0, "", 10).note
      = "requeue_task request to the task's next `running` event";
  return rep.finish();
}
