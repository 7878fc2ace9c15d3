// Throughput of `/bin/true` command tasks on 2 slots, end to end. Baseline:
// fork, exec and wait of `/bin/true` by hand (posix_spawn + waitpid), two
// at a time, in the same run.
//
//   commands --size 1000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace quiesce;
using namespace quiesce::bench;

namespace {

// Spawns /bin/true `n` times, `width` at a time; returns processes/s.
double by_hand(uint64_t n, uint32_t width) {
  char prog[] = "/bin/true";
  char* args[] = {prog, nullptr};
  stopwatch sw;
  uint64_t started = 0;
  uint64_t running = 0;
  while (started < n || running > 0) {
    while (running < width && started < n) {
      pid_t pid = 0;
      require(posix_spawn(&pid, prog, nullptr, nullptr, args, environ) == 0,
              "posix_spawn");
      ++started;
      ++running;
    }
    int status = 0;
    require(waitpid(-1, &status, 0) > 0, "waitpid");
    --running;
  }
  return static_cast<double>(n) / sw.seconds();
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "/bin/true command tasks on 2 slots");
  if (opts.size == 0)
    opts.size = 1000;
  auto slots = opts.slots == 0 ? 2 : opts.slots;
  auto baseline = by_hand(opts.size, slots);
  double rate = 0;
  auto ro = runtime_opts(opts, slots);
  {
    runtime rt{ro};
    auto spec = one_assessment(opts.size, command_task({"/bin/true"}));
    stopwatch sw;
    auto added = rt.add_job(std::move(spec));
    require(added.code == result_code::ok, "add_job");
    require(rt.submit(added.job).code == result_code::ok, "submit");
    auto done = rt.wait(added.job, std::chrono::minutes{10});
    rate = static_cast<double>(opts.size) / sw.seconds();
    require(done.job.status == job_status::finished, "job not finished");
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path{ro.run_dir}.parent_path(),
                              ec);
  report rep{"commands", opts};
  rep.at_least("tasks/s", rate, "tasks/s", baseline,
               "posix_spawn + waitpid of /bin/true by hand, "
                   + std::to_string(slots) + " at a time",
               -1, 0.8)
      .note
      = std::to_string(slots) + " slots";
  return rep.finish();
}
