// What containment costs: /bin/true started through the process launcher,
// 2 at a time, with each command in a cgroup of its own (clone3 into the
// cgroup, cgroup.kill, wait for it to empty, rmdir) and with process groups
// only, beside fork, exec and wait by hand (posix_spawn + waitpid) in the same
// run; the cgroup launcher without measuring each command's peak memory (on
// the hybrid layout: without joining a reused cgroup v1 memory group, as
// before), and the CPU time the launcher itself spends per command with
// cgroups and with process groups; the cgroup launcher again with resource
// limits on each command (memory_max, cpus, pids_max: on the hybrid layout,
// three cgroup v1 groups the child joins before exec); and creating plus
// removing one attempt's cgroup alone.
//
//   containment --size 1000 --json out.json

#include "bench/common.hpp"
#include "execution/cgroup.hpp"
#include "execution/launcher.hpp"

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <unistd.h>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

// Starts /bin/true `n` times through `procs`, `width` at a time; returns
// the seconds it took.
double through_launcher(process::launcher& procs, uint64_t n, uint32_t width,
                        const process::resource_limits& limits = {}) {
  process::launch_spec spec;
  spec.argv = {"/bin/true"};
  spec.limits = limits;
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t running = 0;
  stopwatch sw;
  for (uint64_t i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait(guard, [&] { return running < width; });
      ++running;
    }
    auto res = procs.launch(spec, [&](const process::exit_status&) {
      std::lock_guard<std::mutex> guard{mtx};
      --running;
      cv.notify_all();
    });
    require(static_cast<bool>(res), "launch: " + res.error);
  }
  std::unique_lock<std::mutex> guard{mtx};
  cv.wait(guard, [&] { return running == 0; });
  return sw.seconds();
}

// Returns the user + system time of this process's threads in microseconds
// (the launchers' work; the commands' own time is their children's).
double own_cpu_us() {
  return self_cpu_seconds() * 1e6;
}

// Creates and removes `n` attempt cgroups; returns microseconds per pair, or
// a negative value without cgroups.
double cgroup_cost(uint64_t n) {
  std::string why_not;
  auto tree = process::cgroup_tree::create("bench-cost", why_not);
  if (!tree)
    return -1;
  stopwatch sw;
  for (uint64_t i = 1; i <= n; ++i) {
    std::string error;
    int fd = tree->make_leaf(i, error);
    require(fd >= 0, error);
    ::close(fd);
    require(tree->remove(i), "rmdir of a cgroup");
  }
  return sw.seconds() * 1e6 / static_cast<double>(n);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "/bin/true through the launcher, 2 at a time");
  if (opts.size == 0)
    opts.size = 1000;
  auto width = opts.slots == 0 ? 2 : opts.slots;
  // The three variants take turns in rounds of 1/10 of the size, so that a
  // change of the machine's load meanwhile weighs on all of them alike.
  process::launcher cg{std::chrono::seconds{5},
                       process::containment_options{"bench", true}};
  process::launcher pg{std::chrono::seconds{5},
                       process::containment_options{"bench", false}};
  process::containment_options unmeasured{"bench", true};
  unmeasured.measure_peaks = false;
  process::launcher cg_unmeasured{std::chrono::seconds{5}, unmeasured};
  auto round = std::max<uint64_t>(opts.size / 10, 1);
  double hand_s = 0;
  double cg_s = 0;
  double pg_s = 0;
  double unmeasured_s = 0;
  double limited_s = 0;
  // Generous: /bin/true never meets them, so only their cost shows.
  process::resource_limits limits{uint64_t{256} << 20, 1000, 100};
  double cg_cpu = 0;
  double pg_cpu = 0;
  uint64_t done = 0;
  for (; done < opts.size; done += round) {
    hand_s += static_cast<double>(round) / spawn_true_by_hand(round, width);
    auto cpu = own_cpu_us();
    cg_s += through_launcher(cg, round, width);
    cg_cpu += own_cpu_us() - cpu;
    cpu = own_cpu_us();
    pg_s += through_launcher(pg, round, width);
    pg_cpu += own_cpu_us() - cpu;
    unmeasured_s += through_launcher(cg_unmeasured, round, width);
    limited_s += through_launcher(cg, round, width, limits);
  }
  auto baseline = static_cast<double>(done) / hand_s;
  auto with_cgroups = static_cast<double>(done) / cg_s;
  auto with_groups = static_cast<double>(done) / pg_s;
  auto unmeasured_rate = static_cast<double>(done) / unmeasured_s;
  auto with_limits = static_cast<double>(done) / limited_s;
  auto cg_mode = cg.containment();
  auto pg_mode = pg.containment();
  auto cost = cgroup_cost(opts.size);
  report rep{"containment", opts};
  auto what = "posix_spawn + waitpid of /bin/true by hand, "
              + std::to_string(width) + " at a time";
  rep.at_least("processes/s, cgroups", with_cgroups, "processes/s", baseline,
               what, -1, 0.8)
      .note
      = cg_mode;
  // The same launcher without joining a memory group to measure the peak
  // (before it did): what measuring costs.
  rep.at_least("processes/s, cgroups, peak memory not measured",
               unmeasured_rate, "processes/s", baseline, what, -1, 0.8)
      .note
      = "peak memory unknown without memory_max on the hybrid layout";
  rep.at_least("processes/s, process groups", with_groups, "processes/s",
               baseline, what, -1, 0.8)
      .note
      = pg_mode;
  // No target: limits are a choice of the job, and their cost is measured
  // to be known.
  rep.at_least("processes/s, cgroups with limits", with_limits, "processes/s",
               baseline, what, -1)
      .note
      = cg.uses_cgroups() ? cg.limits().describe() : "no cgroups";
  // No target: what the launcher's own threads spend per command, beside the
  // process-group launcher's in the same run.
  rep.at_most("launcher CPU per command, cgroups",
              cg_cpu / static_cast<double>(done), "us",
              pg_cpu / static_cast<double>(done),
              "the process-group launcher's, same run", -1)
      .note
      = "user + system time of the launcher's process, not the command's";
  if (cost >= 0)
    rep.at_most("cgroup create + remove", cost, "us", 0, "", -1).note
        = "mkdir, open, close, rmdir of one attempt cgroup";
  return rep.finish();
}
