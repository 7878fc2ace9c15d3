// Shutdown under load: hundreds of tasks (functions that ignore or honour
// stop requests, short and long commands, commands whose children ignore
// SIGTERM) are running or queued when the runtime is destroyed, while client
// threads keep sending requests. The destructor must return within a bound,
// every client call must return (with a reply or `unavailable`), and no
// process of any task may be left, not even a zombie.

#include "reliability/support.hpp"
#include "runtime/runtime.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace quiesce::reliability;
using namespace std::chrono_literals;

namespace {

// Runs until asked to stop (bounded).
work_result obedient(const work_context& ctx) {
  if (ctx.wait_for_stop(std::chrono::seconds{60}))
    return work_result::stopped();
  return work_result::success();
}

// Ignores stop requests for a while: shutdown cannot kill a function, so its
// bound must cover this.
work_result stubborn(const work_context&) {
  std::this_thread::sleep_for(300ms);
  return work_result::success();
}

} // namespace

TEST_CASE("shutdown under load returns within its bound and leaves no "
          "process behind",
          "[reliability][shutdown]") {
  temp_dir dir;
  auto marker = unique_marker();
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 16;
  opts.run_dir = dir / "runs";
  opts.request_timeout = 10s;
  opts.terminate_bound = 5s;
  opts.kill_bound = 2s;
  auto rt = std::make_unique<runtime>(opts);
  rt->register_work("obedient", obedient);
  rt->register_work("stubborn", stubborn);
  std::vector<task_spec> kinds{
      fn_task("obedient"),
      fn_task("stubborn"),
      sh_task("sleep 30", marker),
      sh_task("trap '' TERM; sleep 30", marker),
      sh_task("sleep 30 & sleep 30 & wait", marker),
      sh_task("exit 0", marker),
  };
  // 60 jobs of 2 assessments of 5 tasks: 600 tasks, 16 running at a time.
  std::vector<job_id> ids;
  for (int j = 0; j < 60; ++j) {
    job_spec spec;
    spec.name = "load-" + std::to_string(j);
    spec.policy.grace = 200ms;
    for (int a = 0; a < 2; ++a) {
      assessment_spec as;
      for (int k = 0; k < 5; ++k)
        as.tasks.push_back(kinds[(j + a + k) % kinds.size()]);
      spec.assessments.push_back(std::move(as));
    }
    auto added = rt->add_job(std::move(spec));
    REQUIRE(added.code == result_code::ok);
    ids.push_back(added.job);
    REQUIRE(rt->submit(added.job).code == result_code::ok);
  }
  // Every slot busy before the shutdown starts.
  REQUIRE(wait_until(
      [&] {
        auto n = rt->nodes();
        return !n.nodes.empty() && n.nodes.front().running == opts.slots;
      },
      10s));
  REQUIRE(wait_until([&] { return marked(marker).size() >= 3; }, 5s));

  // Clients keep asking while the runtime goes away: every call returns.
  std::atomic<bool> going{true};
  std::atomic<int> returned{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      size_t i = static_cast<size_t>(c);
      while (going) {
        auto job = ids[i++ % ids.size()];
        auto code = c == 0   ? rt->job_status(job).code
                    : c == 1 ? rt->cancel_task(job, 1, "late").code
                             : rt->list_tasks(job).code;
        ++returned;
        if (code == result_code::request_timeout)
          ++bad;
        std::this_thread::sleep_for(1ms);
      }
    });
  std::this_thread::sleep_for(100ms);

  auto t0 = std::chrono::steady_clock::now();
  rt->shutdown();
  auto took = std::chrono::steady_clock::now() - t0;
  going = false;
  for (auto& th : clients)
    th.join();
  auto t1 = std::chrono::steady_clock::now();
  rt.reset();
  auto destroy = std::chrono::steady_clock::now() - t1;

  WARN("shutdown under load took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms, " << returned << " client calls returned meanwhile");
  // The bound: terminate_bound for the jobs plus the actors' own bound.
  CHECK(took < 20s);
  CHECK(destroy < 1s);
  CHECK(returned > 0);
  CHECK(bad == 0);
  // Killed and reaped, children and grandchildren alike.
  auto left = marked(marker);
  for (auto& p : left)
    UNSCOPED_INFO("left: pid " << p.pid << " state " << p.state << " ppid "
                               << p.ppid);
  CHECK(left.empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("destroying a runtime in the middle of submitting returns within "
          "its bound",
          "[reliability][shutdown]") {
  temp_dir dir;
  auto marker = unique_marker();
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 8;
  opts.run_dir = dir / "runs";
  opts.request_timeout = 10s;
  opts.terminate_bound = 5s;
  auto t0 = std::chrono::steady_clock::now();
  {
    runtime rt{opts};
    rt.register_work("obedient", obedient);
    for (int j = 0; j < 200; ++j) {
      job_spec spec;
      spec.name = "burst";
      assessment_spec as;
      as.tasks = {fn_task("obedient"), sh_task("sleep 30", marker)};
      spec.assessments.push_back(as);
      auto added = rt.add_job(std::move(spec));
      REQUIRE(added.code == result_code::ok);
      REQUIRE(rt.submit(added.job).code == result_code::ok);
    }
    // Destroyed at once, with 200 jobs queued and 8 tasks starting.
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  CHECK(marked(marker).empty());
  CHECK(zombie_children().empty());
}
