// How the cost grows with the slots and with the queue. At 1, 2, 8 and 32
// slots: throughput of 100,000 no-op function tasks (registered
// non-blocking), and the p99 of cancel_task on a queued task while every
// slot runs a task that waits for its stop. At 1,000, 100,000 and --size
// (default 1,000,000) queued tasks: throughput on 2 slots, and the cancel
// p99 with no node (all stay queued), the cancelled tasks spread over the
// whole queue. Baselines, measured once in the same run: raw CAF spawn +
// request/reply per task, and raw request/reply from a scoped actor.
//
//   scaling --policy sharing --json out.json

#include "bench/common.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

/// Cancels per cancel p99.
constexpr uint64_t samples = 2000;

double throughput(const options& opts, uint32_t slots, uint64_t n) {
  runtime rt{runtime_opts(opts, slots)};
  rt.register_work(noop, noop_work(), work_mode::non_blocking);
  return run_one_job(rt, n, noop_task());
}

// Returns the p99 in microseconds of cancel_task on `samples` tasks spread
// over a queue of `queued`, with `slots` slots busy (0: no node).
double cancel_p99(const options& opts, uint32_t slots, uint64_t queued) {
  auto ro = runtime_opts(opts, std::max<uint32_t>(slots, 1));
  ro.local_node = slots > 0;
  runtime rt{ro};
  rt.register_work("hold", [](const work_context& ctx) {
    ctx.wait_for_stop(std::chrono::minutes{10});
    return work_result::stopped();
  });
  task_spec hold;
  hold.kind = work_kind::function;
  hold.work = "hold";
  auto added = rt.add_job(one_assessment(queued + slots, hold));
  require(added.code == result_code::ok, "add_job: " + added.detail);
  require(rt.submit(added.job).code == result_code::ok, "submit");
  // The first `slots` tasks run; the others stay queued. Every cancel hits
  // a queued one, from the back of the queue to its front, and the first
  // queued task stays (so the job is still running at the end).
  auto step = std::max<uint64_t>(queued / samples, 1);
  std::vector<double> lat;
  for (uint64_t k = 0; k < samples && k * step + 1 < queued; ++k) {
    task_id t = slots + queued - k * step;
    stopwatch sw;
    auto reply = rt.cancel_task(added.job, t, "bench");
    lat.push_back(sw.micros());
    require(reply.code == result_code::ok
                && reply.status == task_status::cancelled,
            "cancel_task refused: " + reply.detail);
  }
  auto ended = rt.terminate_job(added.job);
  require(ended.code == result_code::ok,
          "terminate: " + to_string(ended.code) + " " + ended.detail);
  return percentile(lat, 99);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv,
                    "throughput and cancel p99 by slots and by queue size");
  auto largest = opts.size == 0 ? uint64_t{1000000} : opts.size;
  auto small = std::min<uint64_t>(100000, largest);
  auto base_rate = raw_spawn_request_rate(opts, small);
  auto raw = raw_request_latencies(opts, samples);
  auto raw99 = percentile(raw, 99);
  report rep{"scaling", opts};
  const char* rate_base = "raw CAF spawn + request/reply per task";
  const char* cancel_base = "raw CAF request/reply from a scoped actor";
  for (uint32_t slots : {1U, 2U, 8U, 32U}) {
    auto label = std::to_string(slots) + " slots";
    rep.at_least("tasks/s, " + label, throughput(opts, slots, small), "tasks/s",
                 base_rate, rate_base, -1)
        .note
        = std::to_string(small) + " tasks, non-blocking";
    rep.at_most("cancel p99, " + label, cancel_p99(opts, slots, small), "us",
                raw99, cancel_base, -1)
        .note
        = "every slot busy, " + std::to_string(small) + " queued";
  }
  std::vector<uint64_t> queues{1000, small, largest};
  std::sort(queues.begin(), queues.end());
  queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
  for (auto queued : queues) {
    if (queued > largest)
      continue;
    auto label = std::to_string(queued) + " queued";
    rep.at_least("tasks/s, " + label, throughput(opts, 2, queued), "tasks/s",
                 base_rate, rate_base, -1)
        .note
        = "2 slots, non-blocking";
    rep.at_most("cancel p99, " + label, cancel_p99(opts, 0, queued), "us",
                raw99, cancel_base, -1)
        .note
        = "no node: all queued";
  }
  return rep.finish();
}
