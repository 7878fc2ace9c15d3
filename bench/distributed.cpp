// Throughput of no-op function tasks on a head with two worker node
// processes on 127.0.0.1 (the head runs no work itself). Baseline: the same
// tasks, with the same total slots, in one process. The function is
// registered non-blocking in both.
//
//   distributed --size 50000 --policy sharing --slots 4 --json out.json

#include "bench/distributed.hpp"

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "head + 2 nodes on 127.0.0.1, tasks/s");
  if (opts.size == 0)
    opts.size = 50000;
  auto slots = opts.slots == 0 ? 4 : opts.slots;
  double baseline = 0;
  {
    runtime rt{runtime_opts(opts, 2 * slots)};
    rt.register_work(noop, noop_work(), work_mode::non_blocking);
    baseline = run_one_job(rt, opts.size, noop_task());
  }
  double rate = 0;
  {
    runtime rt{head_opts(opts)};
    auto port = publish(rt);
    node_processes nodes{program_dir(opts.self), port, 2, slots, 2};
    await_nodes(rt, 2);
    rate = run_one_job(rt, opts.size, noop_task());
  }
  report rep{"distributed", opts};
  rep.at_least("tasks/s", rate, "tasks/s", baseline,
               "the same tasks in one process, " + std::to_string(2 * slots)
                   + " slots",
               20000, 0.7)
      .note
      = "2 node processes x " + std::to_string(slots)
        + " slots, 2 threads each; noop registered non-blocking in both";
  return rep.finish();
}
