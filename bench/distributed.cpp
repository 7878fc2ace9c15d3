// Throughput of no-op function tasks on a head with two worker node
// processes on 127.0.0.1 (the head runs no work itself). Baseline: the same
// tasks, with the same total slots, in one process. The function is
// registered non-blocking in both. Beside the rates: the CPU time and the
// context switches per task of the one process, of the head and of the
// nodes (where they share the cores, the sum of their CPU time bounds the
// rate). The head takes the runtime's default threads for a head unless
// --threads is given.
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
  // CPU time per task, in µs, and context switches per task: of the one
  // process, and of the head and the two nodes at the default depth. The
  // three processes share the machine's cores, so the CPU time of all
  // three bounds the distributed rate where the one process is bound by
  // its own.
  auto per_task = [&](double x) {
    return x / static_cast<double>(opts.size);
  };
  struct cost {
    double cpu_us = 0;
    double switches = 0;
  };
  cost one;
  cost head;
  cost nodes_cost;
  {
    runtime rt{runtime_opts(opts, 2 * slots)};
    rt.register_work(noop, noop_work(), work_mode::non_blocking);
    auto cpu = self_cpu_seconds();
    auto cs = context_switches();
    baseline = run_one_job(rt, opts.size, noop_task());
    one.cpu_us = per_task(1e6 * (self_cpu_seconds() - cpu));
    one.switches = per_task(static_cast<double>(context_switches() - cs));
  }
  // The nodes hold no attempt beyond their slots (as before pipelining),
  // then one per slot (the default), then four per slot.
  auto over_nodes = [&](uint32_t pipeline) {
    runtime rt{head_opts(opts)};
    auto port = publish(rt);
    node_processes nodes{program_dir(opts.self), port, 2, slots, 2, pipeline};
    await_nodes(rt, 2);
    auto head_cpu = self_cpu_seconds();
    auto others_cpu = nodes.cpu_seconds();
    auto head_cs = context_switches();
    auto others_cs = nodes.switches();
    auto out = run_one_job(rt, opts.size, noop_task());
    if (pipeline == 1) {
      head.cpu_us = per_task(1e6 * (self_cpu_seconds() - head_cpu));
      nodes_cost.cpu_us = per_task(1e6 * (nodes.cpu_seconds() - others_cpu));
      head.switches
          = per_task(static_cast<double>(context_switches() - head_cs));
      nodes_cost.switches
          = per_task(static_cast<double>(nodes.switches() - others_cs));
    }
    return out;
  };
  auto unpipelined = over_nodes(0);
  auto rate = over_nodes(1);
  auto deep = over_nodes(4);
  report rep{"distributed", opts};
  auto base_name = "the same tasks in one process, " + std::to_string(2 * slots)
                   + " slots";
  rep.at_least("tasks/s", rate, "tasks/s", baseline, base_name, 20000, 0.7).note
      = "2 node processes x " + std::to_string(slots)
        + " slots, 2 threads each, pipeline 1 per slot (the default); the "
          "head on the default threads of a head unless --threads; noop "
          "registered non-blocking in both";
  rep.at_least("tasks/s, no pipeline", unpipelined, "tasks/s", baseline,
               base_name, -1)
      .note
      = "the nodes hold no attempt beyond their slots (pipeline 0)";
  rep.at_least("tasks/s, pipeline 4", deep, "tasks/s", baseline, base_name, -1)
      .note
      = "each node holds 4 attempts per slot beyond its slots";
  auto cpu_name = "the one process";
  rep.at_most("CPU us/task, head", head.cpu_us, "us", one.cpu_us, cpu_name, -1)
      .note
      = "CPU time of the head's process per task, at the default depth";
  rep.at_most("CPU us/task, nodes", nodes_cost.cpu_us, "us", one.cpu_us,
              cpu_name, -1)
      .note
      = "CPU time of both node processes per task, at the default depth";
  rep.at_most("CPU us/task, all", head.cpu_us + nodes_cost.cpu_us, "us",
              one.cpu_us, cpu_name, -1)
      .note
      = "head and nodes: where they share the cores, the rate is at most "
        "cores / this";
  rep.at_most("switches/task, head", head.switches, "", one.switches, cpu_name,
              -1)
      .note
      = "context switches of the head's threads per task, at the default "
        "depth";
  rep.at_most("switches/task, nodes", nodes_cost.switches, "", one.switches,
              cpu_name, -1)
      .note
      = "context switches of both nodes' threads per task, at the default "
        "depth";
  return rep.finish();
}
