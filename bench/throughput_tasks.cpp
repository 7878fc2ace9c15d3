// Throughput of no-op function tasks in one assessment, end to end: from
// add_job to the job's end. Baseline: raw CAF, one spawn and one
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
  double rate = 0;
  {
    runtime rt{runtime_opts(opts, slots)};
    rt.register_work(noop, noop_work());
    rate = run_one_job(rt, opts.size, noop_task());
  }
  report rep{"throughput_tasks", opts};
  rep.at_least("tasks/s", rate, "tasks/s", baseline,
               "raw CAF spawn + request/reply per task", 150000, 1.0 / 3)
      .note
      = std::to_string(slots) + " slots";
  return rep.finish();
}
