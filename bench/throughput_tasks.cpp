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
    auto spec = one_assessment(opts.size, noop_task());
    stopwatch sw;
    auto added = rt.add_job(std::move(spec));
    require(added.code == result_code::ok, "add_job: " + added.detail);
    require(rt.submit(added.job).code == result_code::ok, "submit");
    auto done = rt.wait(added.job, std::chrono::minutes{10});
    auto secs = sw.seconds();
    require(done.code == result_code::ok
                && done.job.status == job_status::finished,
            "the job did not finish");
    rate = static_cast<double>(opts.size) / secs;
  }
  report rep{"throughput_tasks", opts};
  rep.at_least("tasks/s", rate, "tasks/s", baseline,
               "raw CAF spawn + request/reply per task", 150000, 1.0 / 3)
      .note
      = std::to_string(slots) + " slots";
  return rep.finish();
}
