// Resident memory per queued task: RSS of a runtime holding one submitted
// job of N tasks that cannot run (the runtime has no node), minus RSS of the
// same runtime empty, divided by N. Free heap is returned to the system
// (malloc_trim) before each reading, so transient buffers do not count.
//
//   memory --size 1000000 --policy sharing --json out.json

#include "bench/common.hpp"
#include "messages/records.hpp"

#include <iostream>
#include <thread>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "resident memory per queued task");
  if (opts.size == 0)
    opts.size = 1000000;
  double per_task = 0;
  double empty_mb = 0;
  {
    auto ro = runtime_opts(opts, 1);
    ro.local_node = false;
    runtime rt{ro};
    // Settle the empty runtime first (threads, first allocations).
    rt.list_jobs();
    auto before = resident_bytes();
    empty_mb = static_cast<double>(before) / (1 << 20);
    {
      auto added = rt.add_job(one_assessment(opts.size, noop_task()));
      require(added.code == result_code::ok, "add_job");
      require(rt.submit(added.job).code == result_code::ok, "submit");
      auto st = rt.task_status(added.job, opts.size);
      require(st.task.status == task_status::queued, "tasks not queued");
    }
    // Wait for the event thread to drop the submit's events.
    rt.list_jobs();
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    auto after = resident_bytes();
    per_task = (static_cast<double>(after) - static_cast<double>(before))
               / static_cast<double>(opts.size);
  }
  report rep{"memory", opts};
  rep.at_most("RSS per queued task", per_task, "B", 0, "", 512, false).note
      = "empty runtime " + std::to_string(static_cast<int>(empty_mb))
        + " MiB; sizeof(task_record) = " + std::to_string(sizeof(task_record));
  return rep.finish();
}
