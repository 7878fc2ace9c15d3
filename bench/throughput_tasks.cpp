// Throughput of no-op function tasks in one assessment, end to end: from
// add_job to the job's end; the function registered non-blocking, then
// blocking. Baseline: raw CAF, one spawn and one
// request/reply per task, in a system with the same policy and threads.
//
//   throughput_tasks --size 200000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts
      = parse(argc, argv, "no-op function tasks in one assessment, tasks/s");
  if (opts.size == 0)
    opts.size = 200000;
  auto slots = opts.slots == 0 ? opts.threads : opts.slots;
  auto baseline = raw_spawn_request_rate(opts, opts.size);
  // The same tasks twice: the function registered non-blocking (run inline
  // on the node's actor thread) and blocking (a slot thread each).
  auto rate_of = [&](work_mode mode) {
    runtime rt{runtime_opts(opts, slots)};
    rt.register_work(noop, noop_work(), mode);
    return run_one_job(rt, opts.size, noop_task());
  };
  auto inline_rate = rate_of(work_mode::non_blocking);
  auto thread_rate = rate_of(work_mode::blocking);
  report rep{"throughput_tasks", opts};
  rep.at_least("tasks/s", inline_rate, "tasks/s", baseline,
               "raw CAF spawn + request/reply per task", 100000, 0.5)
      .note
      = std::to_string(slots) + " slots; registered non-blocking (inline)";
  rep.at_least("tasks/s, blocking", thread_rate, "tasks/s", baseline,
               "raw CAF spawn + request/reply per task", -1)
      .note
      = std::to_string(slots) + " slots; registered blocking (slot threads)";
  return rep.finish();
}
