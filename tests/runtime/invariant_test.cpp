// Real-scheduler test of the runtime's invariants under random requests: many
// jobs of several assessments, cancels, terminates and requeues at random
// moments (fixed seed), then every task must be in exactly one terminal
// status and the event stream, replayed, must end where the books are.

#include "runtime/runtime.hpp"
#include "support/printers.hpp"
#include "support/specs.hpp"
#include "support/work.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

job_spec random_job(std::mt19937& rng, int index) {
  std::uniform_int_distribution<int> assessments{1, 4};
  std::uniform_int_distribution<int> tasks{1, 6};
  std::uniform_int_distribution<int> nap_ms{0, 15};
  std::uniform_int_distribution<int> percent{0, 99};
  job_spec j;
  j.name = "job-" + std::to_string(index);
  j.policy.grace = 50ms;
  j.policy.stop_on_assessment_error = percent(rng) < 20;
  auto n = assessments(rng);
  for (int a = 0; a < n; ++a) {
    assessment_spec as;
    auto m = tasks(rng);
    for (int t = 0; t < m; ++t) {
      std::vector<std::string> args{std::to_string(nap_ms(rng))};
      if (percent(rng) < 10)
        args.emplace_back("fail");
      as.tasks.push_back(test::fn_task("nap", std::move(args)));
    }
    j.assessments.push_back(std::move(as));
  }
  return j;
}

// Replays events per entity and checks each one starts where the last ended.
struct replay {
  std::map<job_id, entity_status> jobs;
  std::map<std::pair<job_id, uint64_t>, entity_status> tasks;
  std::vector<std::string> errors;

  void feed(const event& ev) {
    if (ev.kind == event_kind::job) {
      auto& cur
          = jobs.try_emplace(ev.job, job_status::not_submitted).first->second;
      if (cur != ev.previous)
        errors.push_back("job " + std::to_string(ev.job) + " event from "
                         + to_string(ev.previous) + " but was "
                         + to_string(cur));
      cur = ev.current;
    } else if (ev.kind == event_kind::task) {
      auto& cur
          = tasks.try_emplace({ev.job, ev.subject}, task_status::not_submitted)
                .first->second;
      if (cur != ev.previous)
        errors.push_back("job " + std::to_string(ev.job) + " task "
                         + std::to_string(ev.subject) + " event from "
                         + to_string(ev.previous) + " but was "
                         + to_string(cur));
      cur = ev.current;
    }
  }
};

} // namespace

TEST_CASE("runtime keeps every task in exactly one terminal status under "
          "random cancels, terminates and requeues",
          "[runtime][invariants]") {
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 3;
  opts.request_timeout = 20s;
  opts.terminate_bound = 5s;
  std::vector<job_record> final_jobs;
  std::map<job_id, std::vector<task_record>> final_tasks;
  std::vector<event> events;
  std::mutex events_mtx;
  {
    runtime rt{opts};
    rt.register_work("nap", test::nap);
    rt.subscribe([&](const event& ev) {
      std::lock_guard<std::mutex> guard{events_mtx};
      events.push_back(ev);
    });
    std::mt19937 rng{20261123};
    std::vector<job_id> ids;
    for (int i = 0; i < 40; ++i) {
      auto added = rt.add_job(random_job(rng, i));
      REQUIRE(added.code == result_code::ok);
      ids.push_back(added.job);
      REQUIRE(rt.submit(added.job).code == result_code::ok);
    }
    std::uniform_int_distribution<size_t> pick_job{0, ids.size() - 1};
    std::uniform_int_distribution<int> pick_op{0, 9};
    std::uniform_int_distribution<int> pick_task{1, 8};
    std::uniform_int_distribution<int> pause_us{0, 3000};
    int accepted = 0;
    for (int round = 0; round < 300; ++round) {
      auto job = ids[pick_job(rng)];
      auto task = static_cast<task_id>(pick_task(rng));
      result_code code = result_code::ok;
      switch (pick_op(rng)) {
        case 0:
          code = rt.cancel_job(job, "random cancel").code;
          break;
        case 1:
          code = rt.terminate_job(job).code;
          CHECK(code != result_code::terminate_failed);
          break;
        case 2: {
          auto st = rt.job_status(job);
          auto index = st.job.current < 0
                           ? assessment_index{0}
                           : static_cast<assessment_index>(st.job.current);
          code = rt.cancel_assessment(job, index).code;
          break;
        }
        case 3:
        case 4:
          code = rt.cancel_task(job, task, "random task cancel").code;
          break;
        case 5:
          code = rt.cancel_tasks(job, {task, task + 1}, "batch").code;
          break;
        case 6:
        case 7:
          code = rt.requeue_task(job, task).code;
          break;
        case 8:
          code = rt.requeue_job(job).code;
          break;
        default:
          break;
      }
      if (code == result_code::ok)
        ++accepted;
      // Every request gets an answer; transport failures would show here.
      CHECK(code != result_code::request_timeout);
      CHECK(code != result_code::unavailable);
      std::this_thread::sleep_for(std::chrono::microseconds{pause_us(rng)});
    }
    // The scenario is only worth something if requests really raced work.
    CHECK(accepted >= 30);
    for (auto id : ids) {
      auto done = rt.wait(id, 30s);
      REQUIRE(done.code == result_code::ok);
      final_jobs.push_back(done.job);
      final_tasks[id] = rt.list_tasks(id).tasks;
    }
    // Shutdown delivers every event still on its way before it returns.
    rt.shutdown();
  }
  replay r;
  for (auto& ev : events)
    r.feed(ev);
  CHECK(r.errors.empty());
  for (auto& e : r.errors)
    UNSCOPED_INFO(e);
  for (auto& j : final_jobs) {
    CHECK(is_terminal(j.status));
    CHECK(r.jobs[j.id] == entity_status{j.status});
    for (auto& t : final_tasks[j.id]) {
      INFO("job " << j.id << " task " << t.id);
      CHECK(is_terminal(t.status));
      CHECK(r.tasks[{j.id, t.id}] == entity_status{t.status});
    }
  }
  // The runs ended in every way, not just one.
  std::map<job_status, int> ends;
  for (auto& j : final_jobs)
    ++ends[j.status];
  CHECK(ends[job_status::finished] > 0);
  CHECK(ends[job_status::cancelled] > 0);
  CHECK(ends[job_status::failed] > 0);
  // Event numbers are strictly increasing: one stream, in order.
  for (size_t i = 1; i < events.size(); ++i)
    CHECK(events[i - 1].seq < events[i].seq);
}
