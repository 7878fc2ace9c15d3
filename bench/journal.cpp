// The cost of the journal (docs/durability.md), each figure beside the same
// workload in memory, in the same run:
// - no-op function tasks in one assessment, tasks/s (target: journal >= 50%
//   of in memory);
// - jobs of one no-op task each, all submitted at once, jobs/s (target:
//   >= 5,000 with the journal);
// - a restart on a journal of 100,000 queued tasks (1,000 jobs of 100):
//   from starting the runtime to the first reply to list_jobs (target < 2 s).
//
//   journal --size 20000 --policy sharing --json out.json

#include "actors/journal.hpp"

#include "actors/books.hpp"
#include "actors/rules.hpp"
#include "bench/common.hpp"

using namespace quiesce;
using namespace quiesce::bench;

namespace {

runtime_options with_journal(runtime_options opts, const std::string& dir) {
  opts.state_dir = dir;
  return opts;
}

// Returns the rate of `n` one-task jobs on a runtime made with `ropts`.
double one_task_jobs(runtime_options ropts, uint64_t n) {
  runtime rt{std::move(ropts)};
  rt.register_work(noop, noop_work(), work_mode::non_blocking);
  return static_cast<double>(n) / run_one_task_jobs(rt, n).ended;
}

// Writes a journal of `jobs` submitted jobs of `tasks` queued tasks each
// into `dir`, as a head that crashed would have left it.
void write_queued(const std::string& dir, uint64_t jobs, uint64_t tasks) {
  journal j{dir};
  books bk;
  bk.track();
  auto now = caf::make_timestamp();
  for (uint64_t i = 0; i < jobs; ++i) {
    auto id = bk.add_job(one_assessment(tasks, noop_task()), "bench", now);
    auto& b = *bk.find(id);
    for (const auto& c : decide(b, submit_job{id, "bench"}).changes)
      bk.commit(b, c, now, "bench");
  }
  bk.flush(j);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "the journal's cost beside memory");
  if (opts.size == 0)
    opts.size = 20000;
  auto slots = opts.slots == 0 ? opts.threads : opts.slots;
  report rep{"journal", opts};
  // Function tasks in one assessment, the function registered non-blocking
  // (run inline on the node's actor thread) and blocking (a slot thread
  // each); each journal figure beside the same mode in memory.
  auto tasks = opts.size * 5;
  for (auto mode : {work_mode::non_blocking, work_mode::blocking}) {
    auto rate_of = [&](const std::string& dir) {
      auto ropts = runtime_opts(opts, slots);
      if (!dir.empty())
        ropts = with_journal(ropts, dir);
      runtime rt{ropts};
      rt.register_work(noop, noop_work(), mode);
      return run_one_job(rt, tasks, noop_task());
    };
    double mem_tasks = rate_of({});
    double log_tasks = 0;
    {
      scratch_dir dir{"journal"};
      log_tasks = rate_of(dir.path);
    }
    auto blocking = mode == work_mode::blocking;
    rep.at_least(blocking ? "tasks/s, blocking" : "tasks/s", log_tasks,
                 "tasks/s", mem_tasks, "the same in memory", -1, 0.5)
        .note
        = std::to_string(tasks) + " tasks, " + std::to_string(slots)
          + " slots; registered " + (blocking ? "blocking" : "non-blocking");
  }
  // One-task jobs.
  double mem_jobs = one_task_jobs(runtime_opts(opts, slots), opts.size);
  double log_jobs = 0;
  {
    scratch_dir dir{"journal"};
    log_jobs = one_task_jobs(with_journal(runtime_opts(opts, slots), dir.path),
                             opts.size);
  }
  rep.at_least("jobs/s", log_jobs, "jobs/s", mem_jobs, "the same in memory",
               opts.size >= 20000 ? 5000 : -1)
      .note
      = std::to_string(opts.size) + " one-task jobs";
  // Restart with queued tasks: 100 tasks per job.
  uint64_t queued = opts.size * 5;
  uint64_t per_job = 100;
  double restart = 0;
  {
    scratch_dir dir{"journal"};
    write_queued(dir.path, std::max<uint64_t>(1, queued / per_job), per_job);
    auto ropts = with_journal(runtime_opts(opts, slots), dir.path);
    ropts.local_node = false;
    stopwatch sw;
    runtime rt{ropts};
    auto jobs = rt.list_jobs();
    restart = sw.seconds();
    require(jobs.code == result_code::ok
                && jobs.jobs.size() == std::max<uint64_t>(1, queued / per_job),
            "the restarted runtime lists its jobs");
  }
  rep.at_most("restart", restart * 1000, "ms", 0, "", 2000).note
      = std::to_string(queued) + " queued tasks in "
        + std::to_string(queued / per_job) + " jobs";
  return rep.finish();
}
