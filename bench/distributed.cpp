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
  // The nodes hold no attempt beyond their slots (as before pipelining),
  // then one per slot (the default), then four per slot.
  auto over_nodes = [&](uint32_t pipeline) {
    runtime rt{head_opts(opts)};
    auto port = publish(rt);
    node_processes nodes{program_dir(opts.self), port, 2, slots, 2, pipeline};
    await_nodes(rt, 2);
    return run_one_job(rt, opts.size, noop_task());
  };
  auto unpipelined = over_nodes(0);
  auto rate = over_nodes(1);
  auto deep = over_nodes(4);
  report rep{"distributed", opts};
  auto base_name = "the same tasks in one process, " + std::to_string(2 * slots)
                   + " slots";
  rep.at_least("tasks/s", rate, "tasks/s", baseline, base_name, 20000, 0.7).note
      = "2 node processes x " + std::to_string(slots)
        + " slots, 2 threads each, pipeline 1 per slot (the default); noop "
          "registered non-blocking in both";
  rep.at_least("tasks/s, no pipeline", unpipelined, "tasks/s", baseline,
               base_name, -1)
      .note
      = "the nodes hold no attempt beyond their slots (pipeline 0)";
  rep.at_least("tasks/s, pipeline 4", deep, "tasks/s", baseline, base_name, -1)
      .note
      = "each node holds 4 attempts per slot beyond its slots";
  return rep.finish();
}
