// Command tasks end to end through quiesce::runtime, with real processes:
// exit codes and signals, commands that cannot start, output files, stop
// signal, grace period and kill, terminate_job, time limits, cancel_job's
// policy, requeue, throughput through two slots, and a scheduler that stays
// free while children run. Every wait is a bounded poll of a condition.
//
// Processes are found through /proc by an environment marker that every
// descendant inherits (an argv marker is not: a grandchild does not carry
// it, and a shell that execs its last command, as bash does, drops it).

#include "runtime/runtime.hpp"
#include "support/printers.hpp"
#include "support/processes.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

runtime_options options(const std::string& run_dir, uint32_t slots = 2) {
  runtime_options opts;
  opts.threads = 2;
  opts.slots = slots;
  opts.run_dir = run_dir;
  opts.request_timeout = 10s;
  opts.kill_bound = 2s;
  opts.terminate_bound = 5s;
  return opts;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

/// Returns the live (not zombie) processes carrying `marker`.
std::vector<proc_stat> live_marked(const std::string& marker) {
  std::vector<proc_stat> out;
  for (auto& st : marked(marker))
    if (st.state != 'Z')
      out.push_back(st);
  return out;
}

/// Returns the leader of the marked group: the marked process whose pid is
/// its process group id.
std::optional<proc_stat> marked_leader(const std::string& marker) {
  for (auto& st : live_marked(marker))
    if (st.pid == st.pgrp)
      return st;
  return std::nullopt;
}

/// Returns how many process groups the marked processes lead.
size_t marked_groups(const std::string& marker) {
  size_t n = 0;
  for (auto& st : live_marked(marker))
    if (st.pid == st.pgrp)
      ++n;
  return n;
}

/// Returns a job of one assessment holding `tasks`, with `grace`.
job_spec one_assessment(std::vector<task_spec> tasks,
                        caf::timespan grace = 300ms) {
  job_spec spec;
  spec.name = "process-test";
  spec.policy.grace = grace;
  spec.assessments.resize(1);
  spec.assessments[0].name = "only";
  spec.assessments[0].tasks = std::move(tasks);
  return spec;
}

/// Adds and submits `spec`; returns the job id.
job_id start_job(runtime& rt, job_spec spec) {
  auto added = rt.add_job(std::move(spec));
  REQUIRE(added.code == result_code::ok);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  return added.job;
}

task_record task_of(runtime& rt, job_id job, task_id task) {
  auto reply = rt.task_status(job, task);
  REQUIRE(reply.code == result_code::ok);
  return reply.task;
}

bool task_is(runtime& rt, job_id job, task_id task, task_status status) {
  return rt.task_status(job, task).task.status == status;
}

/// Returns whether the local node runs no attempt (every attempt reported
/// its end, which the launcher does only after reaping its group).
bool node_idle(runtime& rt) {
  auto list = rt.nodes();
  return !list.nodes.empty() && list.nodes.front().running == 0;
}

/// Waits until the job is terminal and returns its record.
job_record finish(runtime& rt, job_id job,
                  std::chrono::milliseconds bound = 10s) {
  auto done = rt.wait(job, bound);
  REQUIRE(done.code == result_code::ok);
  return done.job;
}

std::string attempt_file(const std::string& run_dir, job_id job, task_id task,
                         uint32_t attempt, const char* stream) {
  return run_dir + "/job-" + std::to_string(job) + "/task-"
         + std::to_string(task) + ".attempt-" + std::to_string(attempt) + "."
         + stream;
}

/// Collects task events of one runtime.
struct event_log {
  std::mutex mtx;
  std::vector<event> events;

  event_callback callback() {
    return [this](const event& ev) {
      std::lock_guard<std::mutex> guard{mtx};
      events.push_back(ev);
    };
  }

  /// Returns how many task events of `job` went to `to`, per task id.
  std::map<uint64_t, int> count(job_id job, task_status to) {
    std::lock_guard<std::mutex> guard{mtx};
    std::map<uint64_t, int> out;
    for (auto& ev : events)
      if (ev.job == job && ev.kind == event_kind::task && is(ev.current, to))
        ++out[ev.subject];
    return out;
  }

  /// Returns whether the end event of `job` was delivered.
  bool job_ended(job_id job) {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& ev : events)
      if (ev.job == job && ev.kind == event_kind::job
          && is_terminal(caf::get<job_status>(ev.current)))
        return true;
    return false;
  }
};

} // namespace

TEST_CASE("command task exit code 0 finishes and other ends fail naming the "
          "exit code or signal",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto job = start_job(
      rt, one_assessment({test::cmd_task({"true"}), sh_task("exit 3"),
                          sh_task("kill -TERM $$")}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::failed);
  auto ok = task_of(rt, job, 1);
  CHECK(ok.status == task_status::finished);
  CHECK(ok.exit_code == 0);
  CHECK(ok.end_code == result_code::ok);
  CHECK(ok.error_message.empty());
  auto three = task_of(rt, job, 2);
  CHECK(three.status == task_status::failed);
  CHECK(three.exit_code == 3);
  CHECK(three.end_code == result_code::task_failed);
  CHECK(three.error_message == "exit code 3");
  auto term = task_of(rt, job, 3);
  CHECK(term.status == task_status::failed);
  CHECK(term.end_code == result_code::task_failed);
  CHECK(term.exit_code == -1);
  CHECK(term.error_message == "killed by signal 15 (SIGTERM)");
}

TEST_CASE("command task that cannot start fails promptly with spawn_failed",
          "[runtime][process]") {
  temp_dir dir;
  auto script = dir / "not-executable.sh";
  std::ofstream{script} << "#!/bin/sh\nexit 0\n";
  ::chmod(script.c_str(), 0644);
  runtime rt{options(dir.path())};
  auto bad_dir = test::cmd_task({"true"});
  bad_dir.command.workdir = dir / "no-such-dir";
  auto t0 = steady::now();
  auto job
      = start_job(rt, one_assessment({test::cmd_task({"/no/such/bin"}),
                                      test::cmd_task({"no-such-command-xyz"}),
                                      test::cmd_task({script}), bad_dir,
                                      test::cmd_task({dir.path()})}));
  auto rec = finish(rt, job);
  CHECK(steady::now() - t0 < 2s);
  CHECK(rec.status == job_status::failed);
  const std::vector<std::string> expected{
      "command not found: /no/such/bin",
      "command not found: no-such-command-xyz",
      "permission denied: " + script,
      "working directory does not exist: " + bad_dir.command.workdir,
      "cannot execute " + dir.path() + ": it is a directory",
  };
  for (task_id id = 1; id <= expected.size(); ++id) {
    INFO("task " << id);
    auto t = task_of(rt, job, id);
    CHECK(t.status == task_status::failed);
    CHECK(t.end_code == result_code::spawn_failed);
    CHECK(t.error_message == expected[id - 1]);
    CHECK(t.exit_code == -1);
  }
  CHECK(node_idle(rt));
}

TEST_CASE("command task output lands in per-attempt files under the run "
          "directory",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto job
      = start_job(rt, one_assessment({sh_task("echo out-one; echo err-one >&2"),
                                      sh_task("echo out-two; echo err-two >&2; "
                                              "exit 4")}));
  finish(rt, job);
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stdout")) == "out-one\n");
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stderr")) == "err-one\n");
  CHECK(slurp(attempt_file(dir.path(), job, 2, 1, "stdout")) == "out-two\n");
  CHECK(slurp(attempt_file(dir.path(), job, 2, 1, "stderr")) == "err-two\n");
  CHECK(task_of(rt, job, 2).exit_code == 4);
}

TEST_CASE("command task output goes to the given files, with environment "
          "additions and working directory honoured",
          "[runtime][process]") {
  temp_dir dir;
  temp_dir work;
  runtime rt{options(dir.path())};
  auto t = sh_task("echo \"$QUIESCE_TEST_VALUE\"; pwd; echo to-err >&2");
  t.command.env["QUIESCE_TEST_VALUE"] = "hello world";
  t.command.workdir = work.path();
  t.command.stdout_path = dir / "custom/out.txt";
  // A relative path is relative to the working directory, as `> file` is.
  t.command.stderr_path = "logs/err.txt";
  auto both = sh_task("echo one; echo two >&2");
  both.command.stdout_path = dir / "both.txt";
  both.command.stderr_path = dir / "both.txt";
  auto job = start_job(rt, one_assessment({t, both}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::finished);
  CHECK(slurp(dir / "custom/out.txt") == "hello world\n" + work.path() + "\n");
  CHECK(slurp(work / "logs/err.txt") == "to-err\n");
  CHECK(slurp(dir / "both.txt") == "one\ntwo\n");
  CHECK_FALSE(exists(attempt_file(dir.path(), job, 1, 1, "stdout")));
  CHECK_FALSE(exists(attempt_file(dir.path(), job, 1, 1, "stderr")));
}

TEST_CASE("command task default output files work with a relative run "
          "directory and a working directory",
          "[runtime][process]") {
  temp_dir dir;
  temp_dir work;
  // The run directory is relative to this process's working directory; the
  // command runs elsewhere, and its files must still land in the run
  // directory.
  auto relative = fs::relative(dir.path(), fs::current_path()).string();
  REQUIRE(fs::path{relative}.is_relative());
  runtime rt{options(relative)};
  auto t = sh_task("echo here; pwd >&2");
  t.command.workdir = work.path();
  auto job = start_job(rt, one_assessment({t}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::finished);
  CHECK(task_of(rt, job, 1).error_message.empty());
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stdout")) == "here\n");
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stderr"))
        == work.path() + "\n");
}

TEST_CASE("command task that ignores SIGTERM is killed after the grace period",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  auto term_file = dir / "term";
  auto ready_file = dir / "ready";
  // The loop's sleep dies from the group's SIGTERM; the shell runs its trap
  // and carries on, so only the SIGKILL ends it. The shell writes the ready
  // file only after installing its trap: a SIGTERM sent before that would
  // kill it at once (seen under load when the test waited for the process
  // alone).
  auto job = start_job(
      rt, one_assessment({sh_task("trap 'echo term >> " + term_file
                                      + "' TERM; echo ready > " + ready_file
                                      + "; while :; do sleep 0.05; done",
                                  marker)},
                         500ms));
  REQUIRE(wait_until([&] { return slurp(ready_file) == "ready\n"; }));
  REQUIRE(marked_leader(marker).has_value());
  auto leader = *marked_leader(marker);
  // Each attempt runs in a process group of its own.
  CHECK(leader.pgrp == leader.pid);
  CHECK(leader.pgrp != ::getpgrp());
  auto t0 = steady::now();
  auto reply = rt.cancel_task(job, 1, "enough");
  REQUIRE(reply.code == result_code::ok);
  // Cancelled in the books at once, before the work has stopped.
  auto rec = task_of(rt, job, 1);
  CHECK(rec.status == task_status::cancelled);
  CHECK(rec.end_code == result_code::task_cancelled);
  CHECK(rec.error_message == "enough");
  // The SIGTERM arrived and the shell survived it.
  REQUIRE(wait_until([&] { return slurp(term_file) == "term\n"; }, 2s));
  CHECK(steady::now() - t0 < 400ms);
  CHECK(::kill(leader.pid, 0) == 0);
  CHECK(read_stat(leader.pid).value_or(proc_stat{}).state != 'Z');
  // Then the group is killed once the grace period is over, and reaped.
  REQUIRE(wait_until([&] { return group_members(leader.pgrp).empty(); }, 3s));
  auto elapsed = steady::now() - t0;
  CHECK(elapsed >= 500ms);
  CHECK(elapsed < 2000ms);
  CHECK(live_marked(marker).empty());
  CHECK(slurp(term_file) == "term\n"); // one SIGTERM, then SIGKILL
  CHECK(wait_until([&] { return node_idle(rt); }, 2s));
  rec = task_of(rt, job, 1);
  CHECK(rec.status == task_status::cancelled);
  CHECK(rec.error_message == "enough");
  CHECK(finish(rt, job).status != job_status::running);
}

TEST_CASE("command task whose whole group ignores SIGTERM is killed after the "
          "grace period",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  auto job = start_job(
      rt, one_assessment({sh_task("trap '' TERM; sleep 100", marker)}, 400ms));
  // The shell and its sleep (which inherits the ignored TERM).
  REQUIRE(wait_until([&] { return live_marked(marker).size() == 2; }));
  auto leader = marked_leader(marker);
  REQUIRE(leader);
  auto t0 = steady::now();
  REQUIRE(rt.cancel_task(job, 1).code == result_code::ok);
  CHECK(task_of(rt, job, 1).status == task_status::cancelled);
  std::this_thread::sleep_for(150ms); // within the grace period
  CHECK(live_marked(marker).size() == 2);
  REQUIRE(wait_until([&] { return group_members(leader->pgrp).empty(); }, 3s));
  CHECK(steady::now() - t0 >= 400ms);
  CHECK(zombie_children().empty());
}

TEST_CASE("cancelled sh -c 'sleep 100 & sleep 100' leaves no process and no "
          "zombie behind",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  auto job = start_job(
      rt, one_assessment({sh_task("sleep 100 & sleep 100", marker)}, 300ms));
  // Two sleeps; the shell may have exec'd the second one.
  REQUIRE(wait_until([&] { return live_marked(marker).size() >= 2; }));
  auto leader = marked_leader(marker);
  REQUIRE(leader);
  auto members = live_marked(marker);
  for (auto& m : members)
    CHECK(m.pgrp == leader->pgrp);
  REQUIRE(rt.cancel_task(job, 1, "stop").code == result_code::ok);
  REQUIRE(wait_until([&] { return node_idle(rt); }, 3s));
  // The end is reported only once the group is reaped: nothing may remain.
  CHECK(live_marked(marker).empty());
  CHECK(group_members(leader->pgrp).empty());
  CHECK(zombie_children().empty());
  for (auto& m : members)
    CHECK(::kill(m.pid, 0) != 0);
}

TEST_CASE("command task grandchildren that leave the shell are reaped too",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  // The shell exits at once; its background sleep is orphaned and comes
  // back to us (child subreaper), and the group kill ends it.
  auto job
      = start_job(rt, one_assessment({sh_task("sleep 100 & exit 0", marker)}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::finished);
  REQUIRE(wait_until([&] { return node_idle(rt); }, 3s));
  CHECK(live_marked(marker).empty());
  CHECK(zombie_children().empty());
}

TEST_CASE("command task stop signal is configurable", "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  auto t = sh_task("trap 'echo int > " + (dir / "int")
                       + "; exit 0' INT; "
                         "trap 'echo term > "
                       + (dir / "term")
                       + "' TERM; "
                         "echo ready > "
                       + (dir / "ready")
                       + "; "
                         "while :; do sleep 0.05; done",
                   marker);
  t.stop_signal = SIGINT;
  auto job = start_job(rt, one_assessment({t}, 2s));
  REQUIRE(wait_until([&] { return exists(dir / "ready"); }));
  auto t0 = steady::now();
  REQUIRE(rt.cancel_task(job, 1).code == result_code::ok);
  REQUIRE(wait_until([&] { return node_idle(rt); }, 3s));
  // It ended through its INT trap, well within the 2 s grace period.
  CHECK(steady::now() - t0 < 1500ms);
  CHECK(slurp(dir / "int") == "int\n");
  CHECK_FALSE(exists(dir / "term"));
  CHECK(live_marked(marker).empty());
}

TEST_CASE("cancel_assessment stops running command tasks with signal, grace "
          "and kill",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  job_spec spec = one_assessment({sh_task("trap '' TERM; sleep 100", marker),
                                  sh_task("sleep 100", marker)},
                                 500ms);
  spec.assessments.push_back(spec.assessments[0]);
  spec.assessments[1].tasks = {test::cmd_task({"true"})};
  auto job = start_job(rt, spec);
  // Two groups of a shell and its sleep each.
  REQUIRE(wait_until([&] { return live_marked(marker).size() == 4; }));
  REQUIRE(marked_groups(marker) == 2);
  auto t0 = steady::now();
  REQUIRE(rt.cancel_assessment(job, 0).code == result_code::ok);
  // The plain sleep dies from SIGTERM at once, the other one after the
  // grace period.
  REQUIRE(wait_until([&] { return marked_groups(marker) == 1; }, 2s));
  CHECK(steady::now() - t0 < 500ms);
  REQUIRE(wait_until([&] { return live_marked(marker).empty(); }, 3s));
  CHECK(steady::now() - t0 >= 500ms);
  auto rec = finish(rt, job);
  CHECK(rec.assessments[0].outcome == result_code::assessment_cancelled);
  CHECK(task_of(rt, job, 1).status == task_status::cancelled);
  CHECK(task_of(rt, job, 2).status == task_status::cancelled);
  INFO("task 3: " << task_of(rt, job, 3).error_message);
  CHECK(task_of(rt, job, 3).status == task_status::finished);
  CHECK(zombie_children().empty());
}

TEST_CASE("terminate_job kills command groups at once and returns after they "
          "are gone",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  // A 5 s grace period that terminate_job must not wait for.
  auto job = start_job(
      rt,
      one_assessment({sh_task("trap '' TERM; sleep 100 & sleep 100", marker),
                      sh_task("trap '' TERM; sleep 100", marker)},
                     5s));
  REQUIRE(wait_until([&] { return live_marked(marker).size() >= 4; }));
  auto t0 = steady::now();
  auto reply = rt.terminate_job(job);
  auto elapsed = steady::now() - t0;
  CHECK(reply.code == result_code::ok);
  CHECK(elapsed < 2s);
  // Checked right after the return: nothing is left, not even a zombie.
  CHECK(live_marked(marker).empty());
  CHECK(zombie_children().empty());
  CHECK(node_idle(rt));
  auto rec = rt.job_status(job).job;
  CHECK(rec.status == job_status::cancelled);
  CHECK(rec.assessments[0].outcome == result_code::assessment_terminated);
  for (task_id id : {1, 2})
    CHECK(task_of(rt, job, id).status == task_status::cancelled);
}

TEST_CASE("command task time limit fails the task with timeout",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  auto plain = test::cmd_task({"sleep", "100"});
  plain.time_limit = 300ms;
  plain.command.env[marker_var] = marker;
  // This one ignores the stop signal: the kill after the grace period ends
  // it, and it is still a timeout.
  auto stubborn = sh_task("trap '' TERM; sleep 100", marker);
  stubborn.time_limit = 300ms;
  stubborn.grace = 200ms;
  auto quick = test::cmd_task({"true"});
  quick.time_limit = 5s;
  // This one answers the stop signal with success: still a timeout.
  auto polite
      = sh_task("trap 'exit 0' TERM; while :; do sleep 0.05; done", marker);
  polite.time_limit = 300ms;
  auto t0 = steady::now();
  auto job = start_job(rt, one_assessment({plain, stubborn, quick, polite}));
  auto rec = finish(rt, job);
  auto elapsed = steady::now() - t0;
  CHECK(elapsed >= 500ms);
  CHECK(elapsed < 2500ms);
  CHECK(rec.status == job_status::failed);
  for (task_id id : {1, 2}) {
    INFO("task " << id);
    auto t = task_of(rt, job, id);
    CHECK(t.status == task_status::failed);
    CHECK(t.end_code == result_code::timeout);
    CHECK(t.error_message.find("time limit exceeded") == 0);
  }
  CHECK(task_of(rt, job, 1).error_message
        == "time limit exceeded; killed by signal 15 (SIGTERM)");
  CHECK(task_of(rt, job, 2).error_message
        == "time limit exceeded; killed by signal 9 (SIGKILL)");
  CHECK(task_of(rt, job, 3).status == task_status::finished);
  auto timed = task_of(rt, job, 4);
  CHECK(timed.status == task_status::failed);
  CHECK(timed.end_code == result_code::timeout);
  CHECK(timed.exit_code == 0);
  CHECK(timed.error_message == "time limit exceeded");
  REQUIRE(wait_until([&] { return node_idle(rt); }, 3s));
  CHECK(live_marked(marker).empty());
}

TEST_CASE("cancel_job with stop_commands_on_cancel sends the stop signal to "
          "running commands",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path(), 3)};
  auto marker = unique_marker();
  auto ready = dir / "ready";
  auto make = [&](const std::string& on_term) {
    return sh_task("trap '" + on_term + "' TERM; echo x >> " + ready
                       + "; while :; do sleep 0.05; done",
                   marker);
  };
  auto spec = one_assessment({make("exit 0"), make("exit 7"), make("")}, 300ms);
  spec.policy.stop_commands_on_cancel = true;
  spec.assessments.push_back(spec.assessments[0]);
  spec.assessments[1].tasks = {test::cmd_task({"true"})};
  auto job = start_job(rt, spec);
  REQUIRE(wait_until([&] { return slurp(ready) == "x\nx\nx\n"; }));
  auto t0 = steady::now();
  REQUIRE(rt.cancel_job(job, "cancel them").code == result_code::ok);
  auto rec = finish(rt, job, 5s);
  auto elapsed = steady::now() - t0;
  CHECK(rec.status == job_status::cancelled);
  CHECK(rec.end_code == result_code::job_cancelled);
  // Exit 0 on the stop signal: finished. Non-zero: cancelled. Ignored: killed
  // after the grace period, cancelled.
  CHECK(task_of(rt, job, 1).status == task_status::finished);
  CHECK(task_of(rt, job, 2).status == task_status::cancelled);
  CHECK(task_of(rt, job, 2).exit_code == 7);
  CHECK(task_of(rt, job, 2).error_message == "exit code 7");
  auto stubborn = task_of(rt, job, 3);
  CHECK(stubborn.status == task_status::cancelled);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 2s);
  CHECK(task_of(rt, job, 4).status == task_status::cancelled);
  REQUIRE(wait_until([&] { return node_idle(rt); }, 3s));
  CHECK(live_marked(marker).empty());
}

TEST_CASE("cancel_job without stop_commands_on_cancel lets running commands "
          "run to completion",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path())};
  auto t = sh_task("trap 'echo term > " + (dir / "term")
                   + "' TERM; "
                     "echo ready > "
                   + (dir / "ready")
                   + "; sleep 0.6; "
                     "echo done > "
                   + (dir / "done"));
  auto spec = one_assessment({t}, 100ms);
  spec.assessments.push_back(spec.assessments[0]);
  spec.assessments[1].tasks = {test::cmd_task({"true"})};
  auto job = start_job(rt, spec);
  REQUIRE(wait_until([&] { return exists(dir / "ready"); }));
  auto t0 = steady::now();
  REQUIRE(rt.cancel_job(job).code == result_code::ok);
  CHECK(rt.job_status(job).job.status == job_status::cancelling);
  auto rec = finish(rt, job);
  CHECK(steady::now() - t0 >= 400ms);
  CHECK(rec.status == job_status::cancelled);
  CHECK(slurp(dir / "done") == "done\n");
  CHECK_FALSE(exists(dir / "term"));
  CHECK(task_of(rt, job, 1).status == task_status::finished);
  CHECK(task_of(rt, job, 2).status == task_status::cancelled);
}

TEST_CASE("200 short commands through 2 slots all end finished exactly once",
          "[runtime][process]") {
  temp_dir dir;
  runtime rt{options(dir.path(), 2)};
  event_log log;
  auto sub = rt.subscribe(log.callback());
  auto job
      = start_job(rt, test::uniform_job({200}, test::cmd_task({"/bin/true"})));
  auto rec = finish(rt, job, 30s);
  CHECK(rec.status == job_status::finished);
  REQUIRE(wait_until([&] { return log.job_ended(job); }));
  rt.unsubscribe(sub);
  auto tasks = rt.list_tasks(job).tasks;
  REQUIRE(tasks.size() == 200);
  size_t finished = 0;
  for (auto& t : tasks)
    if (t.status == task_status::finished && t.exit_code == 0
        && t.attempts == 1)
      ++finished;
  CHECK(finished == 200);
  auto ran = log.count(job, task_status::running);
  auto ended = log.count(job, task_status::finished);
  CHECK(ran.size() == 200);
  CHECK(ended.size() == 200);
  for (auto& [id, n] : ran)
    CHECK(n == 1);
  for (auto& [id, n] : ended)
    CHECK(n == 1);
  CHECK(log.count(job, task_status::failed).empty());
  CHECK(node_idle(rt));
  CHECK(zombie_children().empty());
}

TEST_CASE("requeue_task of a failed command task runs attempt 2 with its own "
          "output files",
          "[runtime][process]") {
  temp_dir dir;
  temp_dir work;
  runtime rt{options(dir.path())};
  auto marker = unique_marker();
  // Fails the first time, succeeds the second.
  auto flaky = sh_task("if [ -e flag ]; then echo second; exit 0; fi; "
                       "touch flag; echo first; echo oops >&2; exit 2");
  flaky.command.workdir = work.path();
  // Keeps the job running while task 1 is requeued.
  auto holder = sh_task(
      "while [ ! -e " + (dir / "release") + " ]; do sleep 0.02; done", marker);
  auto job = start_job(rt, one_assessment({flaky, holder}));
  REQUIRE(wait_until([&] { return task_is(rt, job, 1, task_status::failed); }));
  auto first = task_of(rt, job, 1);
  CHECK(first.exit_code == 2);
  CHECK(first.error_message == "exit code 2");
  auto reply = rt.requeue_task(job, 1);
  REQUIRE(reply.code == result_code::ok);
  REQUIRE(
      wait_until([&] { return task_is(rt, job, 1, task_status::finished); }));
  auto second = task_of(rt, job, 1);
  CHECK(second.attempts == 2);
  CHECK(second.requeue_count == 1);
  CHECK(second.exit_code == 0);
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stdout")) == "first\n");
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stderr")) == "oops\n");
  CHECK(slurp(attempt_file(dir.path(), job, 1, 2, "stdout")) == "second\n");
  CHECK(slurp(attempt_file(dir.path(), job, 1, 2, "stderr")).empty());
  std::ofstream{dir / "release"} << "go\n";
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::finished);
}

TEST_CASE("waiting for command processes never blocks CAF scheduler threads",
          "[runtime][process]") {
  temp_dir dir;
  // Two scheduler threads, as everywhere in these tests; two slots hold the
  // sleeps, the other four run the functions.
  runtime rt{options(dir.path(), 6)};
  std::atomic<int> calls{0};
  rt.register_work("quick", [&](const work_context&) {
    ++calls;
    return work_result::success();
  });
  auto marker = unique_marker();
  auto sleeps = start_job(rt, one_assessment({sh_task("sleep 100", marker),
                                              sh_task("sleep 100", marker)}));
  REQUIRE(wait_until([&] { return marked_groups(marker) == 2; }));
  auto t0 = steady::now();
  auto quick = start_job(rt, test::uniform_job({100}, test::fn_task("quick")));
  auto rec = finish(rt, quick, 10s);
  CHECK(steady::now() - t0 < 2s);
  CHECK(rec.status == job_status::finished);
  CHECK(calls == 100);
  // The sleeps are still running.
  CHECK(marked_groups(marker) == 2);
  CHECK(rt.job_status(sleeps).job.status == job_status::running);
  CHECK(rt.terminate_job(sleeps).code == result_code::ok);
  CHECK(live_marked(marker).empty());
}

// Tasks run as their owner (docs/security.md). The embedded runtime's jobs
// belong to "api"; the suite runs as root, and uid 65534 exists.

TEST_CASE("a root node runs a command as the account its owner maps to",
          "[runtime][process][owner]") {
  if (::geteuid() != 0)
    return; // needs root (the suite runs as root)
  temp_dir dir;
  // The account must reach its job directory.
  ::chmod(dir.path().c_str(), 0755);
  auto opts = options(dir.path());
  account_setting nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  nobody.groups = {65534, 4};
  opts.users["api"] = nobody;
  runtime rt{opts};
  // It also gets no access to root's files.
  auto job = start_job(rt, one_assessment({sh_task(
                               "id -u; id -g; id -G; "
                               "cat /etc/shadow >/dev/null 2>&1 || echo no")}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::finished);
  INFO(task_of(rt, job, 1).error_message);
  auto out = attempt_file(dir.path(), job, 1, 1, "stdout");
  CHECK(slurp(out) == "65534\n65534\n65534 4\nno\n");
  // Its output file and job directory belong to it.
  struct stat st {};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
  REQUIRE(::stat((dir.path() + "/job-" + std::to_string(job)).c_str(), &st)
          == 0);
  CHECK(st.st_uid == 65534);
}

TEST_CASE("a command's output file is opened as its owner's account",
          "[runtime][process][owner]") {
  if (::geteuid() != 0)
    return; // needs root (the suite runs as root)
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);
  // A file only root may write: the owner's task may not name it.
  auto guarded = dir.path() + "/root-only";
  std::ofstream{guarded} << "keep\n";
  ::chmod(guarded.c_str(), 0644);
  auto opts = options(dir.path());
  opts.users["api"] = account_setting{"nobody", -1, -1, {}};
  runtime rt{opts};
  auto t = sh_task("echo clobbered");
  t.command.stdout_path = guarded;
  auto job = start_job(rt, one_assessment({t}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::failed);
  auto task = task_of(rt, job, 1);
  CHECK(task.end_code == result_code::spawn_failed);
  CHECK_THAT(task.error_message, Catch::Contains(guarded));
  CHECK(slurp(guarded) == "keep\n");
}

TEST_CASE("an owner without an account on the node is refused and nothing "
          "runs",
          "[runtime][process][owner]") {
  temp_dir dir;
  auto opts = options(dir.path());
  opts.users["alice"] = account_setting{"nobody", -1, -1, {}};
  runtime rt{opts};
  auto marker = dir.path() + "/ran";
  auto job = start_job(rt, one_assessment({sh_task("touch " + marker),
                                           test::fn_task("anything")}));
  auto rec = finish(rt, job);
  CHECK(rec.status == job_status::failed);
  for (task_id id : {1, 2}) {
    auto t = task_of(rt, job, id);
    CHECK(t.status == task_status::failed);
    CHECK(t.end_code == result_code::spawn_failed);
    CHECK(t.error_message
          == "owner api has no account on node local (no entry in its "
             "[runtime.users])");
  }
  CHECK_FALSE(exists(marker));
}

TEST_CASE("a mapping to root is refused without run_as_root",
          "[runtime][process][owner]") {
  temp_dir dir;
  auto opts = options(dir.path());
  opts.users["api"] = account_setting{{}, 0, 0, {}};
  try {
    runtime rt{opts};
    FAIL("the runtime started");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string{e.what()}
          == "quiesce: [runtime.users] api: maps to uid 0 (root); tasks run "
             "as root only with run_as_root = true");
  }
  opts.users["api"] = account_setting{"no-such-user-xyz", -1, -1, {}};
  try {
    runtime rt{opts};
    FAIL("the runtime started");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string{e.what()}
          == "quiesce: [runtime.users] api: no local user 'no-such-user-xyz' "
             "on this machine");
  }
  if (::geteuid() != 0)
    return;
  // With it, root's mapping runs as root.
  opts.users["api"] = account_setting{{}, 0, 0, {}};
  opts.run_as_root = true;
  runtime rt{opts};
  auto job = start_job(rt, one_assessment({sh_task("id -u")}));
  CHECK(finish(rt, job).status == job_status::finished);
  CHECK(slurp(attempt_file(dir.path(), job, 1, 1, "stdout")) == "0\n");
}
