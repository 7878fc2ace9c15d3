// Throughput of jobs of one no-op function task each: all jobs added, then
// submitted without waiting for each reply; the figure ends with the last
// job-end event. Baseline: raw CAF, one spawn and one request/reply per job.
//
//   jobs --size 20000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <condition_variable>
#include <future>
#include <iostream>
#include <mutex>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "jobs of one no-op task each, jobs/s");
  if (opts.size == 0)
    opts.size = 20000;
  auto slots = opts.slots == 0 ? opts.threads : opts.slots;
  auto baseline = raw_spawn_request_rate(opts, opts.size);
  double rate = 0;
  double add_secs = 0;
  double run_secs = 0;
  {
    runtime rt{runtime_opts(opts, slots)};
    rt.register_work(noop, noop_work());
    // Job ends are counted from the event stream: a wait call per job would
    // measure the embedding API's call overhead, not the runtime.
    std::mutex mtx;
    std::condition_variable cv;
    uint64_t ended = 0;
    uint64_t finished = 0;
    rt.subscribe([&](const event& ev) {
      if (ev.kind != event_kind::job
          || !is_terminal(caf::get<job_status>(ev.current)))
        return;
      std::lock_guard<std::mutex> guard{mtx};
      ++ended;
      if (is(ev.current, job_status::finished))
        ++finished;
      cv.notify_all();
    });
    std::vector<job_spec> specs(opts.size, one_assessment(1, noop_task()));
    stopwatch sw;
    auto added = rt.add_jobs(std::move(specs));
    require(added.code == result_code::ok, "add_jobs: " + added.detail);
    add_secs = sw.seconds();
    std::vector<std::future<op_reply>> submitted;
    submitted.reserve(added.jobs.size());
    for (auto id : added.jobs)
      submitted.push_back(rt.submit_async(id));
    for (auto& f : submitted)
      require(f.get().code == result_code::ok, "submit");
    {
      std::unique_lock<std::mutex> guard{mtx};
      require(cv.wait_for(guard, std::chrono::minutes{10},
                          [&] { return ended >= opts.size; }),
              "the jobs did not end");
      require(finished == opts.size, "a job did not finish");
    }
    auto total = sw.seconds();
    run_secs = total - add_secs;
    rate = static_cast<double>(opts.size) / total;
  }
  report rep{"jobs", opts};
  rep.at_least("jobs/s", rate, "jobs/s", baseline,
               "raw CAF spawn + request/reply per job", 30000)
      .note
      = std::to_string(slots) + " slots; add_jobs "
        + std::to_string(static_cast<int>(add_secs * 1000))
        + " ms, then submit_async to last end "
        + std::to_string(static_cast<int>(run_secs * 1000)) + " ms";
  return rep.finish();
}
