// Shows a host program embedding Quiesce through the installed package: it
// registers a work function that honours the stop request, loads a job from
// a TOML file and builds another in code, prints every event, cancels the
// second job while it runs, and checks how both ended. It uses no CAF code.
//
// Build and run against an installed Quiesce (see CMakeLists.txt):
//   build-host/host examples/host/jobs.toml
// Exits 0 when the file's job finished and the other one was cancelled.

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <quiesce/runtime/runtime.hpp>
#include <string>

namespace {

using namespace std::chrono_literals;

/// Counts to the task's first argument, one step every 50 ms, reporting
/// progress; returns `stopped` as soon as a stop is requested.
quiesce::work_result count(const quiesce::work_context& ctx) {
  int steps = ctx.args().empty() ? 5 : std::atoi(ctx.args()[0].c_str());
  for (int i = 1; i <= steps; ++i) {
    if (ctx.wait_for_stop(50ms))
      return quiesce::work_result::stopped("stopped at step "
                                           + std::to_string(i));
    ctx.report_progress(i * 100 / steps, "step " + std::to_string(i));
  }
  return quiesce::work_result::success();
}

/// Returns a job of one assessment with one `count` task of `steps` steps.
quiesce::job_spec counting_job(std::string name, int steps) {
  quiesce::task_spec task;
  task.name = "count-to-" + std::to_string(steps);
  task.kind = quiesce::work_kind::function;
  task.work = "count";
  task.args = {std::to_string(steps)};
  quiesce::job_spec job;
  job.name = std::move(name);
  job.assessments.push_back({"count", {task}});
  return job;
}

} // namespace

int main(int argc, char** argv) {
  std::string file = argc > 1 ? argv[1] : "jobs.toml";
  quiesce::runtime rt;
  rt.register_work("count", count);

  // Events arrive on the runtime's event thread: print them, and note when
  // the job built in code has made progress.
  std::mutex mtx;
  std::condition_variable cv;
  quiesce::job_id in_code = quiesce::invalid_id;
  bool progressed = false;
  rt.subscribe([&](const quiesce::event& ev) {
    std::lock_guard<std::mutex> guard{mtx};
    std::cout << "event: " << quiesce::describe(ev) << '\n';
    if (ev.job == in_code && ev.kind == quiesce::event_kind::progress) {
      progressed = true;
      cv.notify_all();
    }
  });

  // One job from the TOML file, one built in code.
  auto loaded = rt.load_jobs(file);
  if (loaded.code != quiesce::result_code::ok || loaded.jobs.size() != 1) {
    for (auto& err : loaded.errors)
      std::cerr << quiesce::config::to_string(err) << '\n';
    std::cerr << "host: cannot load " << file << ": " << loaded.detail << '\n';
    return 1;
  }
  auto from_file = loaded.jobs.front();
  auto added = rt.add_job(counting_job("built-in-code", 1200)); // 60 s
  if (added.code != quiesce::result_code::ok) {
    std::cerr << "host: add_job: " << added.detail << '\n';
    return 1;
  }
  {
    std::lock_guard<std::mutex> guard{mtx};
    in_code = added.job;
  }

  // Submit both without blocking; the futures hold the replies.
  auto submitted_file = rt.submit_async(from_file);
  auto submitted_code = rt.submit_async(added.job);
  if (submitted_file.get().code != quiesce::result_code::ok
      || submitted_code.get().code != quiesce::result_code::ok) {
    std::cerr << "host: submit refused\n";
    return 1;
  }

  // Cancel the job built in code once it runs: the work function sees the
  // stop request and returns early, so the job ends cancelled at once.
  {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, 30s, [&] { return progressed; })) {
      std::cerr << "host: the job built in code never made progress\n";
      return 1;
    }
  }
  auto cancelled = rt.cancel_job(added.job, "the host cancels it");
  {
    std::lock_guard<std::mutex> guard{mtx};
    std::cout << "host: cancel_job -> " << to_string(cancelled.code) << '\n';
  }

  // Wait for both; a callback could take the reply instead of a future.
  auto end_file = rt.wait_async(from_file, 60s).get();
  auto end_code = rt.wait_async(added.job, 60s).get();
  {
    std::lock_guard<std::mutex> guard{mtx};
    std::cout << "host: from-file " << to_string(end_file.job.status)
              << ", built-in-code " << to_string(end_code.job.status) << '\n';
  }
  rt.shutdown(); // also what the destructor does
  bool ok = end_file.job.status == quiesce::job_status::finished
            && end_code.job.status == quiesce::job_status::cancelled;
  std::cout << (ok ? "host: ok" : "host: unexpected outcome") << '\n';
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
