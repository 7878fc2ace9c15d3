// Chaos soak: thousands of jobs of function and command tasks, and several
// client threads sending every kind of request at random moments (fixed
// seed). At the end:
//
// - every job and every task is in exactly one terminal status, listed once;
// - every transition in the event stream is an edge the rules allow
//   (support.hpp, from docs/semantics.md), starts where the previous one of
//   the same entity ended, and the replayed stream ends where the books are;
// - end codes match end statuses;
// - no process of any task is left (environment marker, /proc scan) and the
//   test process has no zombie child;
// - every request got a reply with a code its operation may answer, and
//   none was `request_timeout` or `unavailable`.
//
// Size and seed: QUIESCE_CHAOS_JOBS (default 1000) and QUIESCE_CHAOS_SEED
// (default 20261123); QUIESCE_CHAOS_CLIENTS (default 3). docs/reliability.md.

#include "reliability/support.hpp"
#include "runtime/runtime.hpp"
#include "support/work.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace quiesce::reliability;
using namespace std::chrono_literals;

namespace {

task_spec command(std::vector<std::string> argv, const std::string& marker) {
  task_spec t;
  t.kind = work_kind::command;
  t.command.argv = std::move(argv);
  t.command.env[marker_var] = marker;
  return t;
}

job_spec random_job(std::mt19937_64& rng, size_t index,
                    const std::string& marker) {
  std::uniform_int_distribution<int> assessments{1, 4};
  std::uniform_int_distribution<int> tasks{1, 3};
  std::uniform_int_distribution<int> percent{0, 99};
  std::uniform_int_distribution<int> digit{0, 9};
  job_spec j;
  j.name = "chaos-" + std::to_string(index);
  j.policy.grace = 100ms;
  j.policy.stop_on_assessment_error = percent(rng) < 20;
  j.policy.stop_commands_on_cancel = percent(rng) < 50;
  auto n = assessments(rng);
  for (int a = 0; a < n; ++a) {
    assessment_spec as;
    as.name = "a" + std::to_string(a);
    auto m = tasks(rng);
    for (int k = 0; k < m; ++k) {
      auto kind = percent(rng);
      task_spec t;
      if (kind < 55) {
        t.kind = work_kind::function;
        t.work = "nap";
        t.args = {std::to_string(digit(rng))};
        if (percent(rng) < 10)
          t.args.emplace_back("fail");
      } else if (kind < 70) {
        t = command({"true"}, marker);
      } else if (kind < 78) {
        t = command({"false"}, marker);
      } else if (kind < 97) {
        // A short sleep, in a child of the shell so that a stop reaches a
        // process group of more than one process.
        t = command(
            {"sh", "-c", "sleep 0.0" + std::to_string(digit(rng)) + "; :"},
            marker);
      } else {
        t = command({"no-such-command-chaos"}, marker);
      }
      t.rerunnable = percent(rng) < 90;
      as.tasks.push_back(std::move(t));
    }
    j.assessments.push_back(std::move(as));
  }
  return j;
}

/// The codes each operation may answer in this scenario (every id is known).
const std::map<std::string, std::set<result_code>>& allowed_replies() {
  using rc = result_code;
  static const std::map<std::string, std::set<result_code>> out{
      {"add_job", {rc::ok}},
      {"submit", {rc::ok, rc::invalid_state}},
      {"cancel_job", {rc::ok, rc::no_job_running, rc::invalid_state}},
      {"cancel_assessment",
       {rc::ok, rc::no_job_running, rc::invalid_index, rc::invalid_state}},
      {"terminate_job", {rc::ok, rc::no_job_running}},
      {"cancel_task", {rc::ok, rc::invalid_state, rc::task_not_found}},
      {"cancel_tasks", {rc::ok, rc::invalid_state, rc::task_not_found}},
      {"requeue_task",
       {rc::ok, rc::invalid_state, rc::not_rerunnable, rc::task_not_found}},
      {"requeue_job", {rc::ok, rc::invalid_state}},
      {"job_status", {rc::ok}},
      {"list_tasks", {rc::ok}},
  };
  return out;
}

/// What the client threads saw, merged under a lock.
struct tally {
  std::mutex mtx;
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> answered{0};
  std::map<std::string, std::map<result_code, uint64_t>> codes;
  std::vector<std::string> problems;

  void record(const std::string& op, result_code code,
              const std::string& detail) {
    ++answered;
    std::lock_guard<std::mutex> guard{mtx};
    ++codes[op][code];
    const auto& ok = allowed_replies().at(op);
    if (ok.count(code) == 0 && problems.size() < 50)
      problems.push_back(op + " answered " + std::string{to_name(code)} + ": "
                         + detail);
  }
};

/// Replays events per entity and checks each against the allowed edges.
struct replay {
  std::map<job_id, entity_status> jobs;
  std::map<std::pair<job_id, uint64_t>, entity_status> assessments;
  std::map<std::pair<job_id, uint64_t>, entity_status> tasks;
  std::map<edge, uint64_t> seen;
  std::vector<std::string> errors;

  void feed(const event& ev) {
    if (ev.kind == event_kind::progress)
      return;
    entity_status* cur = nullptr;
    if (ev.kind == event_kind::job)
      cur = &jobs.try_emplace(ev.job, job_status::not_submitted).first->second;
    else if (ev.kind == event_kind::assessment)
      cur = &assessments
                 .try_emplace({ev.job, ev.subject},
                              assessment_status::not_yet_run)
                 .first->second;
    else
      cur = &tasks.try_emplace({ev.job, ev.subject}, task_status::not_submitted)
                 .first->second;
    auto what = to_string(ev.kind) + " " + std::to_string(ev.subject)
                + " of job " + std::to_string(ev.job) + ": "
                + status_name(ev.previous) + " -> " + status_name(ev.current);
    if (*cur != ev.previous && errors.size() < 50)
      errors.push_back(what + ", but it was " + status_name(*cur));
    edge e{ev.kind, ev.previous, ev.current};
    if (allowed_edges().count(e) == 0 && errors.size() < 50)
      errors.push_back("edge not in the rules: " + what);
    ++seen[e];
    *cur = ev.current;
  }

  /// Returns the status the events left `key` in, or `initial` without any.
  template <class Map>
  static entity_status last(const Map& statuses,
                            const typename Map::key_type& key,
                            entity_status initial) {
    auto i = statuses.find(key);
    return i != statuses.end() ? i->second : initial;
  }
};

} // namespace

TEST_CASE("chaos soak keeps every job and task in one terminal status, every "
          "edge allowed, every request answered and no process left",
          "[reliability][chaos]") {
  const auto jobs_wanted = env_or("QUIESCE_CHAOS_JOBS", 1000);
  const auto seed = env_or("QUIESCE_CHAOS_SEED", 20261123);
  const auto clients
      = std::max<uint64_t>(env_or("QUIESCE_CHAOS_CLIENTS", 3), 1);
  INFO("seed " << seed << ", " << jobs_wanted << " jobs, " << clients
               << " clients (QUIESCE_CHAOS_SEED / _JOBS / _CLIENTS)");
  temp_dir dir;
  auto marker = unique_marker();
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 4;
  opts.run_dir = dir / "runs";
  opts.request_timeout = 60s;
  opts.terminate_bound = 10s;
  opts.kill_bound = 2s;

  std::vector<job_record> final_jobs;
  std::map<job_id, std::vector<task_record>> final_tasks;
  std::vector<event> events;
  std::mutex events_mtx;
  tally t;
  {
    runtime rt{opts};
    rt.register_work("nap", test::nap);
    rt.subscribe([&](const event& ev) {
      std::lock_guard<std::mutex> guard{events_mtx};
      events.push_back(ev);
    });

    // The jobs known so far; clients pick among them.
    std::mutex ids_mtx;
    std::vector<job_id> ids;
    std::atomic<bool> adding{true};
    auto pick = [&](std::mt19937_64& rng) -> job_id {
      std::lock_guard<std::mutex> guard{ids_mtx};
      if (ids.empty())
        return invalid_id;
      // Recent jobs more often: they are the ones still running.
      std::uniform_int_distribution<size_t> recent{
          ids.size() > 40 ? ids.size() - 40 : 0, ids.size() - 1};
      std::uniform_int_distribution<size_t> any{0, ids.size() - 1};
      return ids[rng() % 4 == 0 ? any(rng) : recent(rng)];
    };

    // The edges checked below happen for sure, before the soak starts: the
    // clients meet a running task or job only by timing, and under CPU load
    // a soak could have none (`running -> cancelled` was missing about one
    // run in five at load 5). Two tasks that run until stopped: the first is
    // cancelled while running, requeued while its job runs, and then the
    // job is cancelled.
    {
      job_spec sure;
      sure.name = "chaos-sure";
      sure.policy.grace = 100ms;
      assessment_spec as;
      as.name = "a0";
      task_spec nap;
      nap.kind = work_kind::function;
      nap.work = "nap";
      nap.args = {"60000"};
      as.tasks.assign(2, nap);
      sure.assessments.push_back(std::move(as));
      auto added = rt.add_job(std::move(sure));
      REQUIRE(added.code == result_code::ok);
      auto job = added.job;
      ids.push_back(job);
      auto status_of = [&](task_id task) {
        auto tasks = rt.list_tasks(job);
        REQUIRE(tasks.code == result_code::ok);
        REQUIRE(tasks.tasks.size() == 2);
        return tasks.tasks[task - 1].status;
      };
      auto submitted = rt.submit(job);
      REQUIRE(test::wait_until(
          [&] {
            return status_of(1) == task_status::running
                   && status_of(2) == task_status::running;
          },
          60s));
      auto cancelled = rt.cancel_task(job, 1, "the soak's sure cancel");
      REQUIRE(cancelled.code == result_code::ok);
      REQUIRE(test::wait_until(
          [&] { return status_of(1) == task_status::cancelled; }, 60s));
      auto requeued = rt.requeue_task(job, 1);
      REQUIRE(requeued.code == result_code::ok);
      auto stopped = rt.cancel_job(job, "the soak's sure job cancel");
      REQUIRE(stopped.code == result_code::ok);
      t.sent += 5;
      t.record("add_job", added.code, added.detail);
      t.record("submit", submitted.code, submitted.detail);
      t.record("cancel_task", cancelled.code, cancelled.detail);
      t.record("requeue_task", requeued.code, requeued.detail);
      t.record("cancel_job", stopped.code, stopped.detail);
    }

    // The producer: adds jobs in file order, submits most at once and leaves
    // some for the clients to submit (or cancel before they start).
    std::thread producer{[&] {
      std::mt19937_64 rng{seed};
      for (size_t i = 0; i < jobs_wanted; ++i) {
        auto added = rt.add_job(random_job(rng, i, marker));
        ++t.sent;
        t.record("add_job", added.code, added.detail);
        if (added.code != result_code::ok)
          continue;
        {
          std::lock_guard<std::mutex> guard{ids_mtx};
          ids.push_back(added.job);
        }
        if (rng() % 10 != 0) {
          ++t.sent;
          auto r = rt.submit(added.job);
          t.record("submit", r.code, r.detail);
        }
        // Let the node catch up now and then, so that requests meet running
        // work rather than a long queue.
        if (i % 8 == 7)
          std::this_thread::sleep_for(2ms);
      }
      adding = false;
    }};

    auto client = [&](uint64_t number) {
      std::mt19937_64 rng{seed + 1000 * (number + 1)};
      std::uniform_int_distribution<int> pick_op{0, 13};
      std::uniform_int_distribution<task_id> pick_task{1, 13};
      std::uniform_int_distribution<int> pause_us{0, 2000};
      auto who = "client-" + std::to_string(number);
      while (adding || t.sent < 4 * jobs_wanted) {
        auto job = pick(rng);
        if (job == invalid_id) {
          std::this_thread::sleep_for(1ms);
          continue;
        }
        auto task = pick_task(rng);
        ++t.sent;
        switch (pick_op(rng)) {
          case 0: {
            auto r = rt.cancel_job(job, who + " cancels the job");
            t.record("cancel_job", r.code, r.detail);
            break;
          }
          case 1: {
            // Rare: it kills at once and blocks until the work is reaped.
            if (rng() % 3 == 0) {
              auto r = rt.terminate_job(job);
              t.record("terminate_job", r.code, r.detail);
            } else {
              auto r = rt.job_status(job);
              t.record("job_status", r.code, {});
            }
            break;
          }
          case 2:
          case 3: {
            // The running assessment most of the time, a stale or future
            // index sometimes.
            auto st = rt.job_status(job);
            t.record("job_status", st.code, {});
            ++t.sent;
            auto index = st.job.current < 0
                             ? assessment_index{0}
                             : static_cast<assessment_index>(st.job.current);
            if (rng() % 5 == 0)
              index = static_cast<assessment_index>(rng() % 4);
            auto r = rt.cancel_assessment(job, index);
            t.record("cancel_assessment", r.code, r.detail);
            break;
          }
          case 4:
          case 5:
          case 6: {
            auto r = rt.cancel_task(job, task, who + " cancels a task");
            t.record("cancel_task", r.code, r.detail);
            // Half the time the client changes its mind at once: a task
            // cancelled while its job still runs goes back to the queue
            // (T10). Without this, `cancelled -> queued` came only from a
            // requeue_task that hit a task in its few milliseconds of
            // running (T11), and under CPU load some soaks had none.
            auto change_mind = rng() % 2 == 0;
            if (r.code == result_code::ok && change_mind) {
              ++t.sent;
              auto back = rt.requeue_task(job, task);
              t.record("requeue_task", back.code, back.detail);
            }
            break;
          }
          case 7: {
            auto r = rt.cancel_tasks(job, {task, task + 1, task + 2}, "batch");
            t.record("cancel_tasks", r.code, r.detail);
            break;
          }
          case 8:
          case 9:
          case 10: {
            auto r = rt.requeue_task(job, task);
            t.record("requeue_task", r.code, r.detail);
            break;
          }
          case 11: {
            auto r = rt.requeue_job(job);
            t.record("requeue_job", r.code, r.detail);
            break;
          }
          case 12: {
            auto r = rt.submit(job);
            t.record("submit", r.code, r.detail);
            break;
          }
          default: {
            auto r = rt.list_tasks(job);
            t.record("list_tasks", r.code, {});
            break;
          }
        }
        std::this_thread::sleep_for(std::chrono::microseconds{pause_us(rng)});
      }
    };
    std::vector<std::thread> threads;
    for (uint64_t i = 0; i < clients; ++i)
      threads.emplace_back(client, i);
    producer.join();
    for (auto& th : threads)
      th.join();

    // Jobs the clients never submitted are submitted now, so that every job
    // reaches a terminal status.
    std::vector<job_id> all;
    {
      std::lock_guard<std::mutex> guard{ids_mtx};
      all = ids;
    }
    for (auto id : all) {
      auto st = rt.job_status(id);
      REQUIRE(st.code == result_code::ok);
      if (st.job.status == job_status::not_submitted)
        REQUIRE(rt.submit(id).code == result_code::ok);
    }
    for (auto id : all) {
      auto done = rt.wait(id, 60s);
      INFO("job " << id);
      REQUIRE(done.code == result_code::ok);
    }
    // The books after the last change: listed once each.
    auto listed = rt.list_jobs();
    REQUIRE(listed.code == result_code::ok);
    final_jobs = listed.jobs;
    for (auto& j : final_jobs) {
      auto tasks = rt.list_tasks(j.id);
      REQUIRE(tasks.code == result_code::ok);
      final_tasks[j.id] = tasks.tasks;
    }
    CHECK(final_jobs.size() == all.size());
    // Shutdown delivers every event still on its way before it returns.
    rt.shutdown();
  }

  // -- every request answered, with a code its operation may give ------------
  CHECK(t.sent == t.answered);
  for (auto& p : t.problems)
    UNSCOPED_INFO(p);
  CHECK(t.problems.empty());
  uint64_t accepted = 0;
  for (auto& [op, codes] : t.codes)
    for (auto& [code, n] : codes) {
      UNSCOPED_INFO(op << ' ' << to_name(code) << ": " << n);
      if (code == result_code::ok && op != "job_status" && op != "list_tasks")
        accepted += n;
    }
  // The soak is only worth something if requests really raced work.
  CHECK(accepted >= jobs_wanted / 2);
  {
    uint64_t tasks = 0;
    for (auto& [id, list] : final_tasks)
      tasks += list.size();
    WARN("chaos: seed " << seed << ", " << final_jobs.size() << " jobs, "
                        << tasks << " tasks, " << t.sent << " requests ("
                        << accepted << " accepted), " << events.size()
                        << " events");
  }

  // -- the event stream: allowed edges, continuous, in order -----------------
  replay r;
  for (auto& ev : events)
    r.feed(ev);
  for (auto& e : r.errors)
    UNSCOPED_INFO(e);
  CHECK(r.errors.empty());
  for (size_t i = 1; i < events.size(); ++i)
    if (events[i - 1].seq >= events[i].seq) {
      FAIL_CHECK("event " << events[i].seq << " after " << events[i - 1].seq);
      break;
    }

  // -- terminal, once each, and the stream agrees with the books -------------
  std::set<job_id> seen_jobs;
  std::vector<std::string> mismatches;
  auto mismatch = [&](std::string what) {
    if (mismatches.size() < 50)
      mismatches.push_back(std::move(what));
  };
  std::map<job_status, int> ends;
  std::map<task_status, int> task_ends;
  for (auto& j : final_jobs) {
    auto jname = "job " + std::to_string(j.id);
    if (!seen_jobs.insert(j.id).second)
      mismatch(jname + " listed twice");
    ++ends[j.status];
    if (!is_terminal(j.status))
      mismatch(jname + " is " + std::string{to_name(j.status)});
    auto job_end = r.last(r.jobs, j.id, job_status::not_submitted);
    if (job_end != entity_status{j.status})
      mismatch(jname + ": events end at " + status_name(job_end)
               + ", books say " + std::string{to_name(j.status)});
    auto want_code = j.status == job_status::finished ? result_code::ok
                     : j.status == job_status::failed
                         ? result_code::job_failed
                         : result_code::job_cancelled;
    if (j.end_code != want_code)
      mismatch(jname + " ended " + std::string{to_name(j.status)} + " with "
               + std::string{to_name(j.end_code)});
    if (j.current != -1)
      mismatch(jname + " still has a current assessment");
    for (auto& a : j.assessments) {
      if (a.status == assessment_status::running)
        mismatch(jname + " assessment " + std::to_string(a.index)
                 + " is still running");
      if (r.last(r.assessments, {j.id, a.index}, assessment_status::not_yet_run)
          != entity_status{a.status})
        mismatch(jname + " assessment " + std::to_string(a.index)
                 + ": events and books disagree");
    }
    std::set<task_id> seen_tasks;
    for (auto& tk : final_tasks[j.id]) {
      auto tname = jname + " task " + std::to_string(tk.id);
      if (!seen_tasks.insert(tk.id).second)
        mismatch(tname + " listed twice");
      ++task_ends[tk.status];
      if (!is_terminal(tk.status))
        mismatch(tname + " is " + std::string{to_name(tk.status)});
      auto task_end
          = r.last(r.tasks, {j.id, tk.id}, task_status::not_submitted);
      if (task_end != entity_status{tk.status})
        mismatch(tname + ": events end at " + status_name(task_end)
                 + ", books say " + std::string{to_name(tk.status)});
      if (tk.status == task_status::finished && tk.end_code != result_code::ok)
        mismatch(tname + " finished with " + std::string{to_name(tk.end_code)});
      if (tk.status == task_status::cancelled
          && tk.end_code != result_code::task_cancelled)
        mismatch(tname + " cancelled with "
                 + std::string{to_name(tk.end_code)});
      if (tk.status == task_status::failed
          && (tk.end_code == result_code::ok
              || tk.end_code == result_code::task_cancelled))
        mismatch(tname + " failed with " + std::string{to_name(tk.end_code)});
    }
    if (seen_tasks.size() != final_tasks[j.id].size()
        || (!seen_tasks.empty() && *seen_tasks.rbegin() != seen_tasks.size()))
      mismatch(jname + ": task ids are not 1..n");
  }
  for (auto& m : mismatches)
    UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
  // The runs ended in every way, not just one.
  CHECK(ends[job_status::finished] > 0);
  CHECK(ends[job_status::cancelled] > 0);
  CHECK(ends[job_status::failed] > 0);
  CHECK(task_ends[task_status::finished] > 0);
  CHECK(task_ends[task_status::cancelled] > 0);
  CHECK(task_ends[task_status::failed] > 0);
  // And the interesting edges really happened.
  using ts = task_status;
  auto task_edge = [](ts from, ts to) {
    return edge{event_kind::task, from, to};
  };
  CHECK(r.seen[task_edge(ts::running, ts::cancelled)] > 0);
  CHECK(r.seen[task_edge(ts::cancelled, ts::queued)] > 0);
  CHECK(
      r.seen[edge{event_kind::job, job_status::running, job_status::cancelling}]
      > 0);

  // -- nothing left behind ---------------------------------------------------
  // Every job is terminal and the runtime is gone: no process may carry the
  // marker, not even a zombie, and the test process has no zombie child.
  auto left = marked(marker);
  for (auto& p : left)
    UNSCOPED_INFO("left: pid " << p.pid << " state " << p.state << " ppid "
                               << p.ppid);
  CHECK(left.empty());
  CHECK(zombie_children().empty());
}
