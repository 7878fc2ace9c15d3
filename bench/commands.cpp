// Throughput of `/bin/true` command tasks on 2 slots, end to end. Baseline:
// fork, exec and wait of `/bin/true` by hand (posix_spawn + waitpid), two
// at a time, in the same run.
//
//   commands --size 1000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

// Runs `n` /bin/true tasks on a fresh runtime; returns tasks/s. With
// `discard`, the tasks send stdout and stderr to /dev/null instead of the
// two files per attempt under the run directory.
double through_runtime(const runtime_options& ro, uint64_t n, bool discard) {
  auto task = command_task({"/bin/true"});
  if (discard)
    task.command.stdout_path = task.command.stderr_path = "/dev/null";
  runtime rt{ro};
  return run_one_job(rt, n, task);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "/bin/true command tasks on 2 slots");
  if (opts.size == 0)
    opts.size = 1000;
  auto slots = opts.slots == 0 ? 2 : opts.slots;
  auto baseline = spawn_true_by_hand(opts.size, slots);
  auto ro = runtime_opts(opts, slots);
  auto rate = through_runtime(ro, opts.size, false);
  auto discarded = through_runtime(ro, opts.size, true);
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path{ro.run_dir}.parent_path(),
                              ec);
  report rep{"commands", opts};
  auto what = "posix_spawn + waitpid of /bin/true by hand, "
              + std::to_string(slots) + " at a time, no files";
  rep.at_least("tasks/s", rate, "tasks/s", baseline, what, -1, 0.8).note
      = std::to_string(slots)
        + " slots; stdout and stderr in two new files per attempt";
  rep.at_least("tasks/s, output discarded", discarded, "tasks/s", baseline,
               what, -1, 0.8)
      .note
      = "stdout and stderr to /dev/null";
  return rep.finish();
}
