// Throughput of jobs of one no-op function task each: all jobs added, then
// submitted without waiting for each reply; the figure ends with the last
// job-end event. Baseline: raw CAF, one spawn and one request/reply per job.
//
//   jobs --size 20000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "jobs of one no-op task each, jobs/s");
  if (opts.size == 0)
    opts.size = 20000;
  auto slots = opts.slots == 0 ? opts.threads : opts.slots;
  auto baseline = raw_spawn_request_rate(opts, opts.size);
  // The function registered non-blocking (inline), then blocking.
  struct run {
    double rate = 0;
    double add_secs = 0;
    double run_secs = 0;
  };
  auto run_with = [&](work_mode mode) {
    runtime rt{runtime_opts(opts, slots)};
    rt.register_work(noop, noop_work(), mode);
    auto times = run_one_task_jobs(rt, opts.size);
    return run{static_cast<double>(opts.size) / times.ended, times.added,
               times.ended - times.added};
  };
  auto describe = [&](const run& r, const char* how) {
    return std::to_string(slots) + " slots; " + how + "; add_jobs "
           + std::to_string(static_cast<int>(r.add_secs * 1000))
           + " ms, then submit_async to last end "
           + std::to_string(static_cast<int>(r.run_secs * 1000)) + " ms";
  };
  auto inline_run = run_with(work_mode::non_blocking);
  auto thread_run = run_with(work_mode::blocking);
  report rep{"jobs", opts};
  rep.at_least("jobs/s", inline_run.rate, "jobs/s", baseline,
               "raw CAF spawn + request/reply per job", 30000)
      .note
      = describe(inline_run, "non-blocking (inline)");
  rep.at_least("jobs/s, blocking", thread_run.rate, "jobs/s", baseline,
               "raw CAF spawn + request/reply per job", -1)
      .note
      = describe(thread_run, "blocking (slot threads)");
  return rep.finish();
}
