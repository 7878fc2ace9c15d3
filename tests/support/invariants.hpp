#pragma once

// Random requests against a runtime or a head, and the checks that follow
// them: every job and task ends in exactly one terminal status, and the
// event stream, replayed, ends where the books are. Shared by the
// in-process invariant test and the one over the wire.

#include "runtime/client.hpp"
#include "support/printers.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace quiesce::test {

/// Returns job `index` of random jobs: 1-4 assessments of 1-6 tasks of work
/// `work` (a `nap` of 0-15 ms; one in ten asked to fail).
inline job_spec random_job(std::mt19937& rng, int index,
                           const std::string& work = "nap") {
  std::uniform_int_distribution<int> assessments{1, 4};
  std::uniform_int_distribution<int> tasks{1, 6};
  std::uniform_int_distribution<int> nap_ms{0, 15};
  std::uniform_int_distribution<int> percent{0, 99};
  job_spec j;
  j.name = "job-" + std::to_string(index);
  j.policy.grace = std::chrono::milliseconds{50};
  j.policy.stop_on_assessment_error = percent(rng) < 20;
  auto n = assessments(rng);
  for (int a = 0; a < n; ++a) {
    assessment_spec as;
    auto m = tasks(rng);
    for (int t = 0; t < m; ++t) {
      std::vector<std::string> args{std::to_string(nap_ms(rng))};
      if (percent(rng) < 10)
        args.emplace_back("fail");
      as.tasks.push_back(fn_task(work, std::move(args)));
    }
    j.assessments.push_back(std::move(as));
  }
  return j;
}

/// Replays events per entity and checks each one starts where the last
/// ended.
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

/// Random jobs submitted to one client, random requests at random moments,
/// and what came of them.
struct random_run {
  std::vector<job_record> final_jobs;
  std::map<job_id, std::vector<task_record>> final_tasks;
  std::vector<event> events;
  std::mutex events_mtx;
  /// Requests accepted (`ok`).
  int accepted = 0;

  /// Subscribes to `c`'s events (before `run`).
  void listen(client& c) {
    c.subscribe([this](const event& ev) {
      std::lock_guard<std::mutex> guard{events_mtx};
      events.push_back(ev);
    });
  }

  /// Submits `jobs` random jobs of work `work` to `c`, sends `rounds`
  /// random cancels, terminates and requeues (seed `seed`) and waits for
  /// every job's end (up to `wait` each).
  void run(client& c, uint32_t seed, int jobs, int rounds,
           const std::string& work, std::chrono::seconds wait) {
    std::mt19937 rng{seed};
    std::vector<job_id> ids;
    for (int i = 0; i < jobs; ++i) {
      auto added = c.add_job(random_job(rng, i, work));
      REQUIRE(added.code == result_code::ok);
      ids.push_back(added.job);
      REQUIRE(c.submit(added.job).code == result_code::ok);
    }
    std::uniform_int_distribution<size_t> pick_job{0, ids.size() - 1};
    std::uniform_int_distribution<int> pick_op{0, 9};
    std::uniform_int_distribution<int> pick_task{1, 8};
    std::uniform_int_distribution<int> pause_us{0, 3000};
    for (int round = 0; round < rounds; ++round) {
      auto job = ids[pick_job(rng)];
      auto task = static_cast<task_id>(pick_task(rng));
      result_code code = result_code::ok;
      switch (pick_op(rng)) {
        case 0:
          code = c.cancel_job(job, "random cancel").code;
          break;
        case 1:
          code = c.terminate_job(job).code;
          CHECK(code != result_code::terminate_failed);
          break;
        case 2: {
          auto st = c.job_status(job);
          auto index = st.job.current < 0
                           ? assessment_index{0}
                           : static_cast<assessment_index>(st.job.current);
          code = c.cancel_assessment(job, index).code;
          break;
        }
        case 3:
        case 4:
          code = c.cancel_task(job, task, "random task cancel").code;
          break;
        case 5:
          code = c.cancel_tasks(job, {task, task + 1}, "batch").code;
          break;
        case 6:
        case 7:
          code = c.requeue_task(job, task).code;
          break;
        case 8:
          code = c.requeue_job(job).code;
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
    for (auto id : ids) {
      auto done = c.wait(id, wait);
      REQUIRE(done.code == result_code::ok);
      final_jobs.push_back(done.job);
      final_tasks[id] = c.list_tasks(id).tasks;
    }
  }

  /// Checks the outcome, once every event was delivered: each job and task
  /// terminal, the replayed events ending where the books are, in one
  /// stream, and the runs ending in every way.
  void check() {
    std::lock_guard<std::mutex> guard{events_mtx};
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
};

} // namespace quiesce::test
