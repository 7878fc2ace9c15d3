// The reusable pieces of the command: exit statuses, times, JSON, tables,
// the progress model and its frames, the lines of the log file.

#include "cli/exit_status.hpp"
#include "cli/ops.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace quiesce;
using namespace quiesce::cli;
using namespace std::chrono_literals;

namespace {

caf::timestamp at_ms(int64_t ms) {
  return caf::timestamp{
      std::chrono::duration_cast<caf::timespan>(std::chrono::milliseconds{ms})};
}

job_record sample_job() {
  job_record j;
  j.id = 7;
  j.name = "nightly";
  j.status = job_status::failed;
  j.end_code = result_code::job_failed;
  j.started = at_ms(1'700'000'000'000);
  j.ended = at_ms(1'700'000'002'500);
  j.assessments.resize(2);
  j.assessments[0].index = 0;
  j.assessments[0].name = "build";
  j.assessments[0].status = assessment_status::completed;
  j.assessments[0].outcome = result_code::assessment_failed;
  j.assessments[0].tasks = {1, 2};
  j.assessments[1].index = 1;
  j.assessments[1].name = "test";
  j.assessments[1].tasks = {3};
  return j;
}

std::vector<task_record> sample_tasks() {
  std::vector<task_record> out(3);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].id = i + 1;
    out[i].job = 7;
    out[i].spec.name = "t" + std::to_string(i + 1);
    out[i].spec.command.argv = {"true"};
  }
  out[0].status = task_status::finished;
  out[0].exit_code = 0;
  out[0].node = "local";
  out[0].started = at_ms(1'700'000'000'000);
  out[0].ended = at_ms(1'700'000'000'310);
  out[1].status = task_status::failed;
  out[1].end_code = result_code::task_failed;
  out[1].exit_code = 3;
  out[1].error_message = "exit code 3";
  out[1].node = "local";
  out[1].started = at_ms(1'700'000'000'000);
  out[1].ended = at_ms(1'700'000'001'000);
  out[2].assessment = 1;
  out[2].status = task_status::cancelled;
  out[2].end_code = result_code::task_cancelled;
  return out;
}

} // namespace

TEST_CASE("exit status is 0 only when every job finished", "[cli][exit]") {
  CHECK(exit_status_for(std::vector<job_status>{}) == exit_ok);
  CHECK(exit_status_for({job_status::finished, job_status::finished})
        == exit_ok);
  CHECK(exit_status_for({job_status::finished, job_status::cancelled})
        == exit_cancelled);
  CHECK(exit_status_for({job_status::finished, job_status::failed})
        == exit_failed);
  CHECK(exit_status_for({job_status::running}) == exit_runtime_error);
}

TEST_CASE("exit status of a failure outranks a cancellation", "[cli][exit]") {
  CHECK(exit_status_for({job_status::cancelled, job_status::failed})
        == exit_failed);
  CHECK(exit_status_for({job_status::failed, job_status::cancelled})
        == exit_failed);
}

TEST_CASE("exit statuses are distinct and named", "[cli][exit]") {
  std::vector<int> all{exit_ok, exit_failed, exit_invalid_input, exit_cancelled,
                       exit_runtime_error};
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(exit_status_name(exit_invalid_input) == "invalid_input");
  CHECK(exit_status_name(exit_cancelled) == "cancelled");
  CHECK(exit_status_name(99) == "unknown");
}

TEST_CASE("times render as ISO-8601 UTC and as short durations",
          "[cli][output]") {
  CHECK(format_iso8601(at_ms(1'700'000'000'123)) == "2023-11-14T22:13:20.123Z");
  CHECK(format_elapsed(310ms) == "0.31s");
  CHECK(format_elapsed(12'500ms) == "12.5s");
  CHECK(format_elapsed(187s) == "3m07s");
  CHECK(format_elapsed(7500s) == "2h05m");
  CHECK_FALSE(is_set(caf::timestamp{}));
  CHECK(time_json(caf::timestamp{}).is_null());
  CHECK(span(caf::timestamp{}, at_ms(5)) == caf::timespan{0});
}

TEST_CASE("job JSON nests task records under their assessments with codes "
          "by name",
          "[cli][json]") {
  auto j = to_json(sample_job(), sample_tasks());
  CHECK(j["status"] == "failed");
  CHECK(j["end_code"] == "job_failed");
  CHECK(j["elapsed_ms"] == 2500);
  REQUIRE(j["assessments"].size() == 2);
  CHECK(j["assessments"][0]["outcome"] == "assessment_failed");
  CHECK(j["assessments"][1]["outcome"].is_null());
  REQUIRE(j["assessments"][0]["tasks"].size() == 2);
  auto t = j["assessments"][0]["tasks"][1];
  CHECK(t["name"] == "t2");
  CHECK(t["status"] == "failed");
  CHECK(t["end_code"] == "task_failed");
  CHECK(t["exit_code"] == 3);
  CHECK(t["duration_ms"] == 1000);
  CHECK(j["assessments"][1]["tasks"][0]["exit_code"].is_null());
}

TEST_CASE("event JSON names statuses of the entity's enum", "[cli][json]") {
  event ev;
  ev.seq = 4;
  ev.job = 2;
  ev.kind = event_kind::task;
  ev.subject = 3;
  ev.previous = task_status::queued;
  ev.current = task_status::running;
  ev.who = "local";
  auto j = to_json(ev);
  CHECK(j["task"] == 3);
  CHECK(j["previous"] == "queued");
  CHECK(j["current"] == "running");
  CHECK(j["code"] == "ok");
  ev.kind = event_kind::assessment;
  ev.previous = assessment_status::running;
  ev.current = assessment_status::completed;
  CHECK(to_json(ev)["current"] == "completed");
}

TEST_CASE("tables align columns and leave the last one unpadded",
          "[cli][output]") {
  auto text = render_table({{"A", "BB", "C"}, {"aaa", "b", ""}});
  CHECK(text == "A    BB  C\naaa  b\n");
}

TEST_CASE("tables and summaries print control characters escaped",
          "[cli][output][security]") {
  auto text = render_table({{"A", "MESSAGE"}, {"x\x1b[2J", "one\ntwo\r"}});
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text == "A       MESSAGE\nx\\e[2J  one\\ntwo\\r\n");
  job_report r;
  r.job.id = 1;
  r.job.name = "n\x1b]0;x\x07";
  r.job.error_message = "forged\n00:00:00.000 job 2: running -> finished";
  task_record t;
  t.id = 1;
  t.status = task_status::cancelled;
  t.error_message = "\x1b[1A\x1b[2K";
  r.tasks.push_back(t);
  auto summary = render_summary({r});
  CHECK(summary.find('\x1b') == std::string::npos);
  CHECK(summary.find('\x07') == std::string::npos);
  CHECK_THAT(summary, Catch::Contains("forged\\n00:00:00.000 job 2"));
  CHECK_THAT(summary, Catch::Contains("\\e[1A\\e[2K"));
  // JSON keeps the exact text.
  CHECK(to_json(t)["error_message"] == "\x1b[1A\x1b[2K");
}

TEST_CASE("summary lists jobs and tasks with codes, exit codes and messages",
          "[cli][output]") {
  std::vector<job_report> reports{{sample_job(), sample_tasks()}};
  auto text = render_summary(reports);
  CHECK_THAT(text, Catch::Contains("nightly"));
  CHECK_THAT(text, Catch::Contains("job_failed"));
  CHECK_THAT(text, Catch::Contains("task_failed"));
  CHECK_THAT(text, Catch::Contains("exit code 3"));
  CHECK_THAT(text, Catch::Contains("0 build"));
  auto short_text = render_summary(reports, true);
  CHECK_THAT(short_text, !Catch::Contains("t1 "));
  CHECK_THAT(short_text, Catch::Contains("t2"));
  CHECK_THAT(short_text, Catch::Contains("1 finished (not listed)"));
}

TEST_CASE("run model names events and counts tasks", "[cli][progress]") {
  run_model model;
  auto job = sample_job();
  job.status = job_status::queued;
  auto tasks = sample_tasks();
  for (auto& t : tasks)
    t.status = task_status::queued;
  model.add(job, tasks);
  event ev;
  ev.job = 7;
  ev.kind = event_kind::task;
  ev.subject = 3;
  ev.previous = task_status::queued;
  ev.current = task_status::running;
  ev.who = "local";
  ev.time = at_ms(1'700'000'000'000);
  CHECK(model.apply(ev));
  auto line = model.describe(ev);
  CHECK_THAT(line,
             Catch::EndsWith("job 7 (nightly) task 3 (t3): queued -> running "
                             "on local"));
  ev.job = 8;
  CHECK_FALSE(model.apply(ev));
  auto views = model.snapshot();
  REQUIRE(views.size() == 1);
  auto c = count_tasks(views[0]);
  CHECK(c.running == 1);
  CHECK(c.queued == 2);
  CHECK_FALSE(model.all_terminal());
  event end;
  end.job = 7;
  end.kind = event_kind::job;
  end.previous = job_status::running;
  end.current = job_status::finished;
  end.time = at_ms(1'700'000'003'000);
  model.apply(end);
  CHECK(model.all_terminal());
  CHECK(model.wait_all_terminal(10ms));
}

TEST_CASE("progress frame has a header and one line per job within bounds",
          "[cli][progress]") {
  std::vector<job_view> jobs(5);
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].id = i + 1;
    jobs[i].name = "job-" + std::to_string(i + 1);
    jobs[i].assessments = {"build", "test"};
  }
  jobs[4].status = job_status::running;
  jobs[4].current = 1;
  jobs[4].started = at_ms(1'000);
  jobs[4].tasks[1] = task_view{1, "a", 1, task_status::running};
  auto frame = render_frame(jobs, at_ms(3'500), 200, 50);
  REQUIRE(frame.size() == 6);
  CHECK_THAT(frame[0], Catch::StartsWith("jobs: 1 running"));
  // Running jobs come first.
  CHECK_THAT(frame[1], Catch::Contains("job-5"));
  CHECK_THAT(frame[1], Catch::Contains("2/2 test"));
  CHECK_THAT(frame[1], Catch::Contains("1 running, 0 queued"));
  CHECK_THAT(frame[1], Catch::Contains("2.50s"));
  auto small = render_frame(jobs, at_ms(3'500), 30, 4);
  REQUIRE(small.size() == 4);
  CHECK_THAT(small[3], Catch::Contains("3 more jobs"));
  for (const auto& line : small)
    CHECK(display_width(line) <= 30);
}

TEST_CASE("display width counts terminal columns, not code points",
          "[cli][output][width]") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("\xe6\xbc\xa2\xe5\xad\x97") == 4); // 漢字
  CHECK(display_width("\xf0\x9f\x99\x82") == 2);         // 🙂
  CHECK(display_width("e\xcc\x81") == 1);                // e + U+0301
  CHECK(display_width("\xff") == 1);                     // not UTF-8
  CHECK(truncate_to_width("\xe6\xbc\xa2\xe5\xad\x97x", 3) == "\xe6\xbc\xa2");
  CHECK(truncate_to_width("e\xcc\x81z", 1) == "e\xcc\x81");
  // Columns line up under wide names.
  auto text = render_table({{"NAME", "X"}, {"\xe6\xbc\xa2\xe5\xad\x97", "1"}});
  CHECK(text == "NAME  X\n\xe6\xbc\xa2\xe5\xad\x97  1\n");
}

TEST_CASE("a running job shows its time so far and no end code",
          "[cli][output][tables]") {
  auto j = sample_job();
  j.status = job_status::running;
  j.end_code = result_code::ok;
  j.ended = caf::timestamp{};
  auto now = j.started + std::chrono::milliseconds{12'500};
  auto text = render_jobs_table({j}, now);
  CHECK_THAT(text, Catch::Contains("running  -"));
  CHECK_THAT(text, Catch::Contains("12.5s"));
  CHECK_THAT(text, !Catch::Contains(" ok "));
  auto ended = render_jobs_table({sample_job()}, now);
  CHECK_THAT(ended, Catch::Contains("job_failed"));
  CHECK_THAT(ended, Catch::Contains("2.50s"));
  CHECK(elapsed_text(caf::timestamp{}, caf::timestamp{}, now) == "-");
}

TEST_CASE("list tasks, status and run print tasks in one column order",
          "[cli][output][tables]") {
  std::vector<job_report> reports{{sample_job(), sample_tasks()}};
  auto summary = render_summary(reports, false, at_ms(1'700'000'003'000));
  auto listed = render_tasks_table(sample_job(), sample_tasks(),
                                   at_ms(1'700'000'003'000));
  auto header = listed.substr(0, listed.find('\n'));
  CHECK_THAT(header, Catch::StartsWith("ASSESSMENT  TASK  NAME"));
  CHECK_THAT(summary, Catch::Contains(listed));
}

TEST_CASE("a task's output files come from its job's directory on its node "
          "or from the paths its command names",
          "[cli][output][tables][json]") {
  auto j = sample_job();
  j.output_dirs = {{"other", "/elsewhere/job-7/"}, {"local", "/runs/job-7/"}};
  auto tasks = sample_tasks();
  // t1: its second attempt, default files.
  tasks[0].attempts = 2;
  // t2: a named stdout relative to an absolute working directory, and an
  // absolute one for stderr.
  tasks[1].attempts = 1;
  tasks[1].spec.command.workdir = "/work/w";
  tasks[1].spec.command.stdout_path = "logs/t2.out";
  tasks[1].spec.command.stderr_path = "/var/log/t2.err";
  // t3 never started.
  auto p1 = output_paths_of(j, tasks[0]);
  CHECK(p1.stdout_path == "/runs/job-7/task-1.attempt-2.stdout");
  CHECK(p1.stderr_path == "/runs/job-7/task-1.attempt-2.stderr");
  auto p2 = output_paths_of(j, tasks[1]);
  CHECK(p2.stdout_path == "/work/w/logs/t2.out");
  CHECK(p2.stderr_path == "/var/log/t2.err");
  CHECK(output_paths_of(j, tasks[2]).stdout_path.empty());
  // A relative path without an absolute working directory is shown as
  // given; a default file needs its node's directory.
  auto t = tasks[0];
  t.spec.command.stdout_path = "out.txt";
  t.node = "unreported";
  auto p3 = output_paths_of(j, t);
  CHECK(p3.stdout_path == "out.txt");
  CHECK(p3.stderr_path.empty());
  // A work function writes no files.
  t.spec.kind = work_kind::function;
  CHECK(output_paths_of(j, t).stdout_path.empty());

  auto doc = to_json(j, tasks);
  auto t1 = doc["assessments"][0]["tasks"][0];
  CHECK(t1["stdout"] == "/runs/job-7/task-1.attempt-2.stdout");
  CHECK(t1["stderr"] == "/runs/job-7/task-1.attempt-2.stderr");
  CHECK(doc["assessments"][1]["tasks"][0]["stdout"].is_null());
  // Without its job a task's JSON has no paths.
  CHECK_FALSE(to_json(tasks[0]).contains("stdout"));

  auto table = render_tasks_table(j, tasks, at_ms(1'700'000'003'000));
  auto header = table.substr(0, table.find('\n'));
  // STDOUT and STDERR come after REQUEUES, before MESSAGE.
  CHECK(header.find("REQUEUES  STDOUT") != std::string::npos);
  CHECK(header.find("STDOUT") < header.find("STDERR"));
  CHECK(header.find("STDERR") < header.find("MESSAGE"));
  CHECK_THAT(table, Catch::Contains("/runs/job-7/task-1.attempt-2.stdout  "
                                    "/runs/job-7/task-1.attempt-2.stderr"));
  CHECK_THAT(table, Catch::Contains("/work/w/logs/t2.out"));
}

TEST_CASE("log lines are logfmt, one line whatever a message holds",
          "[cli][log]") {
  CHECK(cli::logfmt_value("alice") == "alice");
  CHECK(cli::logfmt_value("") == "\"\"");
  CHECK(cli::logfmt_value("exit code 2") == "\"exit code 2\"");
  CHECK(cli::logfmt_value("a=b") == "\"a=b\"");
  CHECK(cli::logfmt_value(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(cli::logfmt_value("C:\\tmp") == R"("C:\\tmp")");
  // A message cannot forge a second line or a field of its own.
  auto forged = cli::logfmt_value("x\nlevel=error msg=forged\x1b[2J");
  CHECK(forged.find('\n') == std::string::npos);
  CHECK(forged.find('\x1b') == std::string::npos);
  CHECK(forged == R"("x\nlevel=error msg=forged\e[2J")");
  event ev;
  ev.job = 3;
  ev.kind = event_kind::task;
  ev.subject = 7;
  ev.previous = task_status::running;
  ev.current = task_status::failed;
  ev.code = result_code::task_failed;
  ev.who = "n1";
  ev.message = "exit code 2";
  CHECK(cli::log_fields(ev)
        == "msg=status job=3 task=7 from=running to=failed code=task_failed "
           "who=n1 message=\"exit code 2\"");
  request_note r;
  r.operation = "cancel_job";
  r.who = "bob";
  r.job = 3;
  r.code = result_code::permission_denied;
  r.detail = "bob may not manage job 3";
  CHECK(cli::log_fields(r)
        == "msg=request op=cancel_job who=bob job=3 code=permission_denied "
           "detail=\"bob may not manage job 3\"");
  CHECK(cli::level_of(r) == cli::log_level::warn);
  r.code = result_code::ok;
  CHECK(cli::level_of(r) == cli::log_level::info);
  r.query = true;
  CHECK(cli::level_of(r) == cli::log_level::debug);
  r.authenticated = false;
  CHECK(cli::log_fields(r).find("who=- authenticated=false")
        != std::string::npos);
}
