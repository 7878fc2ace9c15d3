// A catalogue of hostile inputs through every in-process interface of the
// runtime: unknown, zero and huge ids for every operation, 321-code-point and
// invalid-UTF-8 messages, invalid job and task specs, and job files that are
// malformed, huge, deeply nested, binary or missing. Each entry must get its
// documented refusal with a readable detail, and afterwards the books
// (list_jobs, list_tasks, nodes) must be exactly as before and no event may
// have been published: a refused request changes nothing (G2).
//
// The network parts (a peer with the wrong interface or application id, a
// wrong-type message, garbage bytes on the head's port) are at the end, on
// a runtime published with `runtime::publish`.

#include "config/job_file.hpp"
#include "reliability/support.hpp"
#include "runtime/connect.hpp"
#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace quiesce;
using namespace quiesce::reliability;
using namespace std::chrono_literals;

namespace {

// Blocks until asked to stop.
work_result block(const work_context& ctx) {
  if (ctx.wait_for_stop(std::chrono::minutes{2}))
    return work_result::stopped();
  return work_result::success();
}

work_result quick(const work_context&) {
  return work_result::success();
}

job_spec job_of(std::vector<std::vector<task_spec>> assessments,
                std::string name = "bad-input") {
  job_spec j;
  j.name = std::move(name);
  j.policy.grace = 100ms;
  for (auto& tasks : assessments) {
    assessment_spec a;
    a.tasks = std::move(tasks);
    j.assessments.push_back(std::move(a));
  }
  return j;
}

/// Returns `n` copies of the code point U+00E9 (two bytes each).
std::string code_points(size_t n, const std::string& one = "\xc3\xa9") {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += one;
  return out;
}

/// Byte strings that are not UTF-8, each with a name.
const std::vector<std::pair<std::string, std::string>>& not_utf8() {
  static const std::vector<std::pair<std::string, std::string>> out{
      {"a lone continuation byte", "ok \x80 then"},
      {"0xff", "\xff"},
      {"an overlong slash", "\xc0\xaf"},
      {"an overlong NUL", "\xc0\x80"},
      {"a surrogate", "\xed\xa0\x80"},
      {"a truncated sequence", "abc\xe2\x82"},
      {"past U+10FFFF", "\xf4\x90\x80\x80"},
  };
  return out;
}

/// A runtime holding jobs in four statuses, and a snapshot of its books.
struct populated_runtime {
  temp_dir dir;
  std::unique_ptr<runtime> rt;
  job_id fresh = invalid_id;     // not_submitted, 2 assessments, 3 tasks
  job_id done = invalid_id;      // finished
  job_id running = invalid_id;   // running, its task blocked
  job_id cancelled = invalid_id; // cancelled before it ran
  std::mutex mtx;
  uint64_t events = 0;

  populated_runtime() {
    runtime_options opts;
    opts.threads = 2;
    opts.slots = 2;
    opts.run_dir = dir / "runs";
    opts.request_timeout = 20s;
    rt = std::make_unique<runtime>(opts);
    rt->register_work("block", block);
    rt->register_work("quick", quick);
    auto add = [&](job_spec spec) {
      auto r = rt->add_job(std::move(spec));
      REQUIRE(r.code == result_code::ok);
      return r.job;
    };
    fresh = add(job_of(
        {{fn_task("quick"), fn_task("quick")}, {fn_task("quick")}}, "fresh"));
    done = add(job_of({{fn_task("quick")}}, "done"));
    REQUIRE(rt->submit(done).code == result_code::ok);
    REQUIRE(rt->wait(done, 10s).job.status == job_status::finished);
    running = add(job_of({{fn_task("block")}, {fn_task("quick")}}, "running"));
    REQUIRE(rt->submit(running).code == result_code::ok);
    REQUIRE(wait_until(
        [&] {
          return rt->task_status(running, 1).task.status
                 == task_status::running;
        },
        10s));
    cancelled = add(job_of({{fn_task("quick")}}, "cancelled"));
    REQUIRE(rt->cancel_job(cancelled, "before it ran").code == result_code::ok);
    rt->subscribe([this](const event&) {
      std::lock_guard<std::mutex> guard{mtx};
      ++events;
    });
  }

  ~populated_runtime() {
    rt->terminate_job(running);
    rt->shutdown();
  }

  populated_runtime(const populated_runtime&) = delete;
  populated_runtime& operator=(const populated_runtime&) = delete;

  /// Returns the books as lines, plus the event count.
  std::vector<std::string> snapshot() {
    std::vector<std::string> out;
    auto jobs = rt->list_jobs();
    REQUIRE(jobs.code == result_code::ok);
    for (auto& j : jobs.jobs) {
      out.push_back(fingerprint(j));
      auto tasks = rt->list_tasks(j.id);
      REQUIRE(tasks.code == result_code::ok);
      for (auto& t : tasks.tasks)
        out.push_back(fingerprint(t));
    }
    for (auto& n : rt->nodes().nodes)
      out.push_back("node " + n.name + " running " + std::to_string(n.running));
    std::lock_guard<std::mutex> guard{mtx};
    out.push_back("events " + std::to_string(events));
    return out;
  }
};

/// One hostile request: what it is, what it must answer.
struct bad_request {
  std::string what;
  result_code expected;
  /// Sends the request; returns its code and detail.
  std::function<std::pair<result_code, std::string>()> send;
  /// Whether the reply type has a detail to check.
  bool has_detail = true;
};

template <class Reply>
std::pair<result_code, std::string> with_detail(const Reply& r) {
  return {r.code, r.detail};
}

template <class Reply>
std::pair<result_code, std::string> code_only(const Reply& r) {
  return {r.code, "(no detail in this reply type)"};
}

constexpr job_id huge_id = std::numeric_limits<job_id>::max();

} // namespace

TEST_CASE("bad input: unknown, zero and huge ids are refused by every "
          "operation and change nothing",
          "[reliability][bad_input]") {
  populated_runtime p;
  auto& rt = *p.rt;
  std::vector<bad_request> catalogue;
  for (job_id id : {job_id{0}, job_id{999999}, huge_id}) {
    auto n = " (job " + std::to_string(id) + ")";
    auto jnf = result_code::job_not_found;
    catalogue.push_back({"add_task" + n, jnf, [&, id] {
                           return with_detail(
                               rt.add_task(id, 0, fn_task("quick")));
                         }});
    catalogue.push_back({"submit" + n, jnf, [&, id] {
                           return with_detail(rt.submit(id));
                         }});
    catalogue.push_back({"cancel_job" + n, jnf, [&, id] {
                           return with_detail(rt.cancel_job(id, "x"));
                         }});
    catalogue.push_back({"cancel_assessment" + n, jnf, [&, id] {
                           return with_detail(rt.cancel_assessment(id, 0));
                         }});
    catalogue.push_back({"terminate_job" + n, jnf, [&, id] {
                           return with_detail(rt.terminate_job(id));
                         }});
    catalogue.push_back({"cancel_task" + n, jnf, [&, id] {
                           return with_detail(rt.cancel_task(id, 1, "x"));
                         }});
    catalogue.push_back({"cancel_tasks" + n, jnf, [&, id] {
                           return with_detail(rt.cancel_tasks(id, {1}, "x"));
                         }});
    catalogue.push_back({"requeue_task" + n, jnf, [&, id] {
                           return with_detail(rt.requeue_task(id, 1));
                         }});
    catalogue.push_back({"requeue_job" + n, jnf, [&, id] {
                           return with_detail(rt.requeue_job(id));
                         }});
    catalogue.push_back({"job_status" + n, jnf,
                         [&, id] { return code_only(rt.job_status(id)); },
                         false});
    catalogue.push_back({"task_status" + n, jnf,
                         [&, id] { return code_only(rt.task_status(id, 1)); },
                         false});
    catalogue.push_back({"list_tasks" + n, jnf,
                         [&, id] { return code_only(rt.list_tasks(id)); },
                         false});
    catalogue.push_back({"wait" + n, jnf,
                         [&, id] { return code_only(rt.wait(id, 1s)); },
                         false});
  }
  for (job_id job : {p.fresh, p.done, p.running}) {
    for (task_id id : {task_id{0}, task_id{4}, task_id{999999}, huge_id}) {
      auto n = " (job " + std::to_string(job) + ", task " + std::to_string(id)
               + ")";
      auto tnf = result_code::task_not_found;
      catalogue.push_back({"cancel_task" + n, tnf, [&, job, id] {
                             return with_detail(rt.cancel_task(job, id, "x"));
                           }});
      catalogue.push_back(
          {"cancel_tasks" + n, tnf, [&, job, id] {
             return with_detail(rt.cancel_tasks(job, {id, 1}, "x"));
           }});
      catalogue.push_back({"requeue_task" + n, tnf, [&, job, id] {
                             return with_detail(rt.requeue_task(job, id));
                           }});
      catalogue.push_back(
          {"task_status" + n, tnf,
           [&, job, id] { return code_only(rt.task_status(job, id)); }, false});
    }
  }
  // Known ids in the wrong state or with a wrong index.
  catalogue.push_back(
      {"cancel_assessment past the end", result_code::invalid_index, [&] {
         return with_detail(rt.cancel_assessment(p.running, 99));
       }});
  catalogue.push_back({"cancel_assessment of a later assessment",
                       result_code::invalid_index, [&] {
                         return with_detail(rt.cancel_assessment(p.running, 1));
                       }});
  catalogue.push_back(
      {"cancel_assessment of a huge index", result_code::invalid_index, [&] {
         return with_detail(rt.cancel_assessment(
             p.running, std::numeric_limits<assessment_index>::max()));
       }});
  catalogue.push_back({"cancel_assessment of a job not running",
                       result_code::no_job_running, [&] {
                         return with_detail(rt.cancel_assessment(p.fresh, 0));
                       }});
  catalogue.push_back(
      {"add_task to a running job", result_code::invalid_state, [&] {
         return with_detail(rt.add_task(p.running, 0, fn_task("quick")));
       }});
  catalogue.push_back(
      {"add_task past the next assessment", result_code::invalid_argument, [&] {
         return with_detail(rt.add_task(p.fresh, 3, fn_task("quick")));
       }});
  catalogue.push_back(
      {"add_task at a huge index", result_code::invalid_argument, [&] {
         return with_detail(
             rt.add_task(p.fresh, std::numeric_limits<assessment_index>::max(),
                         fn_task("quick")));
       }});
  catalogue.push_back(
      {"cancel_tasks with an empty list", result_code::invalid_argument, [&] {
         return with_detail(rt.cancel_tasks(p.fresh, {}, "x"));
       }});
  catalogue.push_back(
      {"cancel_job of a finished job", result_code::no_job_running, [&] {
         return with_detail(rt.cancel_job(p.done, "x"));
       }});
  catalogue.push_back(
      {"terminate_job of a cancelled job", result_code::no_job_running, [&] {
         return with_detail(rt.terminate_job(p.cancelled));
       }});
  catalogue.push_back(
      {"submit of a running job", result_code::invalid_state, [&] {
         return with_detail(rt.submit(p.running));
       }});
  catalogue.push_back(
      {"requeue_job of a running job", result_code::invalid_state, [&] {
         return with_detail(rt.requeue_job(p.running));
       }});
  catalogue.push_back(
      {"requeue_task of a finished task", result_code::invalid_state, [&] {
         return with_detail(rt.requeue_task(p.done, 1));
       }});
  catalogue.push_back(
      {"cancel_task of a finished task", result_code::invalid_state, [&] {
         return with_detail(rt.cancel_task(p.done, 1, "x"));
       }});
  catalogue.push_back(
      {"cancel_tasks repeating an id", result_code::invalid_state, [&] {
         return with_detail(rt.cancel_tasks(p.done, {1, 1}, "x"));
       }});

  auto before = p.snapshot();
  for (auto& req : catalogue) {
    INFO(req.what);
    auto [code, detail] = req.send();
    CHECK(code == req.expected);
    if (req.has_detail)
      CHECK_FALSE(detail.empty());
    // Compared after every request: the first one that changed something is
    // the one named.
    CHECK(p.snapshot() == before);
  }
}

TEST_CASE("bad input: 321-code-point and non-UTF-8 messages are refused by "
          "every cancel and change nothing",
          "[reliability][bad_input]") {
  populated_runtime p;
  auto& rt = *p.rt;
  struct message_case {
    std::string what;
    std::string text;
    result_code expected;
  };
  std::vector<message_case> messages{
      {"321 two-byte code points", code_points(321),
       result_code::message_too_long},
      {"321 ASCII characters", std::string(321, 'x'),
       result_code::message_too_long},
      {"321 four-byte code points", code_points(321, "\xf0\x9f\x98\x80"),
       result_code::message_too_long},
      {"one megabyte", std::string(1 << 20, 'x'),
       result_code::message_too_long},
  };
  for (auto& [name, bytes] : not_utf8())
    messages.push_back({name, bytes, result_code::invalid_utf8});
  // The message is checked before the state (G3): also for jobs and tasks
  // that could not be cancelled anyway.
  std::vector<bad_request> catalogue;
  for (auto& m : messages) {
    for (job_id job : {p.fresh, p.running, p.done, p.cancelled}) {
      auto n = ": " + m.what + " (job " + std::to_string(job) + ")";
      catalogue.push_back({"cancel_job" + n, m.expected, [&rt, job, m] {
                             return with_detail(rt.cancel_job(job, m.text));
                           }});
      catalogue.push_back({"cancel_task" + n, m.expected, [&rt, job, m] {
                             return with_detail(rt.cancel_task(job, 1, m.text));
                           }});
      catalogue.push_back({"cancel_tasks" + n, m.expected, [&rt, job, m] {
                             auto r = rt.cancel_tasks(job, {1}, m.text);
                             // The first entry carries the refusal (T9).
                             if (r.codes.size() != 1 || r.codes[0] != r.code)
                               r.detail = "";
                             return with_detail(r);
                           }});
    }
  }
  auto before = p.snapshot();
  for (auto& req : catalogue) {
    INFO(req.what);
    auto [code, detail] = req.send();
    CHECK(code == req.expected);
    CHECK_FALSE(detail.empty());
    CHECK(p.snapshot() == before);
  }
  // The limit is exact: 320 code points are accepted (on the job that is
  // not submitted yet, which this cancels).
  CHECK(rt.cancel_task(p.fresh, 3, code_points(320)).code == result_code::ok);
  CHECK(rt.task_status(p.fresh, 3).task.error_message == code_points(320));
}

TEST_CASE("bad input: invalid job and task specs are refused with "
          "invalid_argument and add nothing",
          "[reliability][bad_input]") {
  populated_runtime p;
  auto& rt = *p.rt;
  struct spec_case {
    std::string what;
    std::function<void(task_spec&)> break_task;
  };
  std::vector<spec_case> task_cases{
      {"an empty argv",
       [](task_spec& t) {
         t = task_spec{};
         t.kind = work_kind::command;
       }},
      {"an empty argv[0]",
       [](task_spec& t) {
         t = task_spec{};
         t.command.argv = {"", "x"};
       }},
      {"a function without a work name",
       [](task_spec& t) {
         t.work.clear();
       }},
      {"a negative time limit",
       [](task_spec& t) {
         t.time_limit = -1ms;
       }},
      {"stop signal 0",
       [](task_spec& t) {
         t.stop_signal = 0;
       }},
      {"stop signal 65",
       [](task_spec& t) {
         t.stop_signal = 65;
       }},
      {"a negative stop signal",
       [](task_spec& t) {
         t.stop_signal = -9;
       }},
      {"grace -2 ns",
       [](task_spec& t) {
         t.grace = caf::timespan{-2};
       }},
      {"a 321-code-point name",
       [](task_spec& t) {
         t.name = code_points(321);
       }},
      {"a name that is not UTF-8",
       [](task_spec& t) {
         t.name = "\xc0\xaf";
       }},
  };
  struct job_case {
    std::string what;
    job_spec spec;
  };
  std::vector<job_case> job_cases;
  for (auto& c : task_cases) {
    auto t = fn_task("quick");
    c.break_task(t);
    // The broken task is the last of the second assessment.
    job_cases.push_back({"a task with " + c.what,
                         job_of({{fn_task("quick")}, {fn_task("quick"), t}})});
  }
  auto named = job_of({{fn_task("quick")}});
  named.name = code_points(321);
  job_cases.push_back({"a 321-code-point job name", named});
  named.name = "\xff\xfe";
  job_cases.push_back({"a job name that is not UTF-8", named});
  auto graceless = job_of({{fn_task("quick")}});
  graceless.policy.grace = -1ms;
  job_cases.push_back({"a negative job grace", graceless});
  job_cases.push_back({"an assessment without tasks",
                       job_of({{fn_task("quick")}, {}, {fn_task("quick")}})});

  auto before = p.snapshot();
  for (auto& c : job_cases) {
    INFO("add_job: " << c.what);
    auto r = rt.add_job(c.spec);
    CHECK(r.code == result_code::invalid_argument);
    CHECK_FALSE(r.detail.empty());
    CHECK(r.job == invalid_id);
    auto many = rt.add_jobs({job_of({{fn_task("quick")}}), c.spec});
    // add_jobs stops at the refusal; the first job was added, so take it
    // out again (it is the only way this catalogue changes the books).
    CHECK(many.code == result_code::invalid_argument);
    CHECK(many.jobs.size() == 1);
  }
  for (auto& c : task_cases) {
    INFO("add_task: " << c.what);
    auto t = fn_task("quick");
    c.break_task(t);
    auto r = rt.add_task(p.fresh, 1, t);
    CHECK(r.code == result_code::invalid_argument);
    CHECK_FALSE(r.detail.empty());
  }
  // Only the valid first jobs of the add_jobs calls were added.
  auto after = rt.list_jobs();
  CHECK(after.jobs.size() == 4 + job_cases.size());
  for (auto& j : after.jobs)
    if (j.id > p.cancelled)
      CHECK(j.name == "bad-input");
  // The jobs that were there before did not change.
  auto now = p.snapshot();
  for (auto& line : before)
    if (line.rfind("events", 0) != 0)
      CHECK(std::find(now.begin(), now.end(), line) != now.end());
}

TEST_CASE("bad input: broken, huge, nested, binary and missing job files are "
          "refused with file:line:column errors and add nothing",
          "[reliability][bad_input]") {
  populated_runtime p;
  auto& rt = *p.rt;
  namespace fs = std::filesystem;
  auto write = [&](const std::string& name, const std::string& text) {
    auto path = p.dir / name;
    std::ofstream out{path, std::ios::binary};
    out << text;
    return path;
  };
  auto repeat = [](const std::string& part, size_t n) {
    std::string out;
    out.reserve(part.size() * n);
    for (size_t i = 0; i < n; ++i)
      out += part;
    return out;
  };
  const std::string good_job = "[[job]]\nname = \"ok\"\n[[job.assessment]]\n"
                               "[[job.assessment.task]]\ncommand = [\"true\"]"
                               "\n";
  std::vector<std::pair<std::string, std::string>> files;
  // The smallest file that loads, to know the cases below fail for their
  // own reason.
  auto good = write("good.toml", good_job);
  files.emplace_back(
      "over 16 MiB of comments",
      write("huge.toml", std::string(config::max_file_size + 1, '#')));
  files.emplace_back(
      "a valid job followed by 16 MiB of padding",
      write("huge_valid.toml",
            good_job + "#" + std::string(config::max_file_size, ' ') + "\n"));
  files.emplace_back("100000 nested arrays",
                     write("arrays.toml", "x = " + repeat("[", 100000)
                                              + repeat("]", 100000) + "\n"));
  files.emplace_back("10000 nested inline tables",
                     write("inline.toml", "x = " + repeat("{a = ", 10000) + "1"
                                              + repeat("}", 10000) + "\n"));
  files.emplace_back(
      "a table header of 100000 parts",
      write("header.toml", "[a" + repeat(".a", 100000) + "]\nx = 1\n"));
  files.emplace_back(
      "an array-of-tables header of 10000 parts",
      write("aot.toml", "[[job" + repeat(".a", 10000) + "]]\nx = 1\n"));
  files.emplace_back(
      "a dotted key of 100000 parts",
      write("dotted.toml", "a" + repeat(".a", 100000) + " = 1\n"));
  files.emplace_back("invalid UTF-8 in a string",
                     write("utf8.toml", good_job + "x = \"\xc0\xaf\"\n"));
  files.emplace_back("invalid UTF-8 in a key",
                     write("utf8key.toml", "\xff = 1\n" + good_job));
  files.emplace_back("a NUL byte",
                     write("nul.toml", good_job + std::string(1, '\0') + "\n"));
  files.emplace_back("an unterminated string",
                     write("string.toml", "[[job]]\nname = \"ok\n"));
  files.emplace_back(
      "a valid job then a broken one",
      write("half.toml", good_job + good_job + "[[job.assessment]]\n"));
  files.emplace_back(
      "a very long line",
      write("line.toml", "x = \"" + std::string(4 << 20, 'x') + "\"\n"));
  files.emplace_back(
      "a huge integer",
      write("int.toml", "x = 999999999999999999999999999999999\n"));
  {
    std::mt19937 rng{7};
    std::string noise(64 * 1024, '\0');
    for (auto& c : noise)
      c = static_cast<char>(rng() & 0xff);
    files.emplace_back("64 KiB of random bytes", write("noise.toml", noise));
  }
  files.emplace_back("a missing file", p.dir / "no-such-file.toml");
  files.emplace_back("a directory", p.dir.path());
  files.emplace_back("/dev/null", "/dev/null");
  for (const auto& entry : fs::directory_iterator{QUIESCE_TEST_DATA_DIR "/bad"})
    files.emplace_back("tests/data/bad/" + entry.path().filename().string(),
                       entry.path().string());

  auto before = p.snapshot();
  for (auto& [what, path] : files) {
    INFO(what << ": " << path);
    auto t0 = std::chrono::steady_clock::now();
    auto r = rt.load_jobs(path);
    // Refused quickly, not after minutes of parsing.
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(r.code == result_code::invalid_argument);
    CHECK(r.jobs.empty());
    REQUIRE_FALSE(r.errors.empty());
    for (auto& e : r.errors) {
      INFO(config::to_string(e));
      CHECK(e.file == path);
      CHECK_FALSE(e.message.empty());
      // Readable: no raw bytes of the input are echoed back unescaped.
      CHECK(e.message.size() < 4096);
    }
    CHECK(p.snapshot() == before);
  }
  // The control case loads.
  auto r = rt.load_jobs(good);
  CHECK(r.code == result_code::ok);
  CHECK(r.jobs.size() == 1);
}

TEST_CASE("bad input: a job file whose names break S1/S2 fails validation with "
          "file:line:column and adds nothing",
          "[reliability][bad_input]") {
  // The loader refuses names past 320 code points with their position, so a
  // valid job before the bad one in the same file is not added either.
  populated_runtime p;
  auto& rt = *p.rt;
  auto job = [](const std::string& job_name, const std::string& task_name) {
    return "[[job]]\nname = \"" + job_name
           + "\"\n[[job.assessment]]\n[[job.assessment.task]]\nname = \""
           + task_name + "\"\ncommand = [\"true\"]\n";
  };
  for (const auto& text : {job("ok", "ok") + job(code_points(321), "ok"),
                           job("ok", "ok") + job("ok2", code_points(321))}) {
    auto path = p.dir / "names.toml";
    std::ofstream{path, std::ios::binary} << text;
    auto before = p.snapshot();
    auto r = rt.load_jobs(path);
    CHECK(r.code == result_code::invalid_argument);
    CHECK(r.jobs.empty());
    CHECK_FALSE(r.errors.empty());
    for (auto& e : r.errors)
      CHECK(e.line > 0);
    CHECK(p.snapshot() == before);
  }
}

// -- the network
// ---------------------------------------------------------------

namespace {

/// A runtime published on 127.0.0.1 with a port of its own.
struct published_runtime {
  std::unique_ptr<runtime> rt;
  uint16_t port = 0;

  published_runtime() {
    runtime_options opts;
    opts.threads = 2;
    opts.slots = 1;
    opts.network = true;
    opts.dev_mode = true; // loopback without TLS
    opts.heartbeat_interval = 200ms;
    opts.connection_timeout = 2s;
    opts.request_timeout = 10s;
    opts.run_dir = "/tmp/quiesce-rel-net-runs";
    rt = std::make_unique<runtime>(opts);
    std::string error;
    port = rt->publish("127.0.0.1", 0, error);
    INFO(error);
    REQUIRE(port != 0);
  }

  /// Returns whether a fresh remote client can connect and list the jobs.
  bool serves() const {
    settings opts;
    opts.head = "127.0.0.1:" + std::to_string(port);
    opts.request_timeout = 5s;
    auto connected = connect(opts);
    if (!connected.client)
      return false;
    return connected.client->list_jobs().code == result_code::ok;
  }
};

/// Returns a client actor system configured like Quiesce's, with the given
/// application identifier.
std::unique_ptr<caf::actor_system> client_system(caf::actor_system_config& cfg,
                                                 const std::string& app_id) {
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{app_id});
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return std::make_unique<caf::actor_system>(cfg);
}

/// Opens a TCP connection to 127.0.0.1:`port`; returns the socket or -1.
int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Reads from `fd` until the peer closes or `bound` passes; returns whether
/// the peer closed.
bool drained_until_closed(int fd, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      return true;
  }
  return false;
}

} // namespace

TEST_CASE("bad input: the head refuses a peer expecting another interface "
          "and a peer of another application, and keeps serving",
          "[reliability][bad_input][network]") {
  published_runtime head;
  {
    caf::actor_system_config cfg;
    auto sys = client_system(cfg, "quiesce");
    using wrong_iface = caf::typed_actor<caf::replies_to<int>::with<int>>;
    auto hdl
        = sys->middleman().remote_actor<wrong_iface>("127.0.0.1", head.port);
    REQUIRE_FALSE(hdl);
    INFO(render(hdl.error()));
    CHECK(hdl.error() == caf::sec::unexpected_actor_messaging_interface);
    CHECK_THAT(
        explain_connect_error(hdl.error(), endpoint{"127.0.0.1", head.port}),
        Catch::Contains("speaks another protocol"));
  }
  {
    caf::actor_system_config cfg;
    auto sys = client_system(cfg, "not-quiesce");
    auto hdl = sys->middleman().remote_actor<supervisor_actor>("127.0.0.1",
                                                               head.port);
    REQUIRE_FALSE(hdl);
    INFO(render(hdl.error()));
    CHECK_THAT(
        explain_connect_error(hdl.error(), endpoint{"127.0.0.1", head.port}),
        Catch::Contains("not a Quiesce head"));
  }
  CHECK(head.serves());
  CHECK(head.rt->list_jobs().code == result_code::ok);
}

TEST_CASE("bad input: a wrong-type message sent to the head gets an error "
          "reply and the head keeps serving",
          "[reliability][bad_input][network]") {
  published_runtime head;
  auto before = head.rt->list_jobs().jobs.size();
  caf::actor_system_config cfg;
  auto sys = client_system(cfg, "quiesce");
  // A dynamically typed handle skips the interface check, so a message the
  // supervisor does not handle really reaches it.
  auto hdl = sys->middleman().remote_actor<caf::actor>("127.0.0.1", head.port);
  if (!hdl) {
    // CAF refuses the dynamically typed handle to a typed actor: the wrong
    // message cannot even be addressed, which is also a refusal.
    INFO(render(hdl.error()));
    CHECK(hdl.error() == caf::sec::unexpected_actor_messaging_interface);
  } else {
    caf::scoped_actor self{*sys};
    std::vector<std::string> replies;
    auto ask = [&](auto msg) {
      self->request(*hdl, 5s, std::move(msg))
          .receive([&](caf::message&) { replies.emplace_back("a reply"); },
                   [&](caf::error& err) { replies.push_back(render(err)); });
    };
    ask(42);
    ask(std::string{"garbage"});
    ask(job_record{});
    ask(list_tasks{});
    REQUIRE(replies.size() == 4);
    for (size_t i = 0; i < 3; ++i) {
      INFO(replies[i]);
      CHECK_THAT(replies[i], Catch::Contains("unexpected_message"));
    }
    // A well-typed request still works over the same connection.
    CHECK(replies[3] == "a reply");
  }
  CHECK(head.serves());
  CHECK(head.rt->list_jobs().jobs.size() == before);
}

TEST_CASE("bad input: garbage bytes on the head's port are dropped and the "
          "head keeps serving",
          "[reliability][bad_input][network]") {
  published_runtime head;
  std::mt19937 rng{11};
  std::vector<std::string> payloads{
      "GET / HTTP/1.1\r\nHost: quiesce\r\n\r\n",
      std::string(4096, '\0'),
      std::string(64 * 1024, '\xff'),
  };
  {
    std::string noise(256 * 1024, '\0');
    for (auto& c : noise)
      c = static_cast<char>(rng() & 0xff);
    payloads.push_back(noise);
  }
  // A BASP header (client handshake) announcing a 64 MiB payload, then
  // nothing. CAF 0.17 allocates the announced size before it checks anything:
  // 0x7f7f7f7f made the head's RSS grow by 2 GiB and stalled it for about a
  // second (docs/reliability.md, "limitations"); 64 MiB shows the same path
  // without hogging a CI machine. The bytes read the same in either order.
  {
    std::string header(32, '\0');
    header[0] = 1;
    header[4] = 4;
    header[7] = 4;
    payloads.push_back(header);
  }
  for (size_t i = 0; i < payloads.size(); ++i) {
    INFO("payload " << i);
    int fd = tcp_connect(head.port);
    REQUIRE(fd >= 0);
    // The head may close the connection in the middle of a big write:
    // MSG_NOSIGNAL turns SIGPIPE into an error return.
    auto n = ::send(fd, payloads[i].data(), payloads[i].size(), MSG_NOSIGNAL);
    (void)n;
    // Either the head closes the connection, or it waits for more bytes; in
    // both cases it must keep serving others.
    drained_until_closed(fd, 500ms);
    CHECK(head.serves());
    ::close(fd);
  }
  // A connection that sends half a handshake and stays silent does not block
  // anyone else either.
  int idle = tcp_connect(head.port);
  REQUIRE(idle >= 0);
  ::send(idle, "\x01\x00", 2, MSG_NOSIGNAL);
  CHECK(head.serves());
  ::close(idle);
  CHECK(head.rt->list_jobs().code == result_code::ok);
}
