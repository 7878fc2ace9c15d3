// Time of cancel_job on a running job with N queued tasks, from the request
// until the job is terminal and every task is `cancelled` (checked after).
// The tasks stay queued: the runtime has no node.
//
//   cancel_job --size 100000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "cancel_job on a job with queued tasks");
  if (opts.size == 0)
    opts.size = 100000;
  double ms = 0;
  {
    auto ro = runtime_opts(opts, 1);
    ro.local_node = false;
    runtime rt{ro};
    auto added = rt.add_job(one_assessment(opts.size, noop_task()));
    require(added.code == result_code::ok, "add_job");
    require(rt.submit(added.job).code == result_code::ok, "submit");
    stopwatch sw;
    auto reply = rt.cancel_job(added.job, "bench");
    require(reply.code == result_code::ok, "cancel_job: " + reply.detail);
    auto done = rt.wait(added.job, std::chrono::minutes{1});
    ms = sw.micros() / 1000;
    require(done.job.status == job_status::cancelled, "job not cancelled");
    auto left = rt.list_tasks(added.job);
    for (auto& t : left.tasks)
      require(t.status == task_status::cancelled, "a task not cancelled");
    require(left.tasks.size() == opts.size, "tasks missing");
  }
  report rep{"cancel_job", opts};
  rep.at_most("time to all cancelled", ms, "ms", 0, "", 100);
  return rep.finish();
}
