#include "bench/common.hpp"

#include "messages/commands.hpp"
#include "messages/type_ids.hpp"
#include "runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <iostream>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <spawn.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace quiesce::bench {

namespace {

[[noreturn]] void usage(const char* prog, const char* what, int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "%s: %s\n"
               "usage: %s [--size N] [--policy sharing|stealing] "
               "[--threads T] [--slots S] [--json FILE]\n",
               prog, what, prog);
  std::exit(status);
}

std::string format_value(double x) {
  char buf[64];
  if (x == 0)
    return "-";
  if (std::fabs(x) >= 1000)
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  else if (std::fabs(x) >= 10)
    std::snprintf(buf, sizeof(buf), "%.1f", x);
  else
    std::snprintf(buf, sizeof(buf), "%.3g", x);
  return buf;
}

nlohmann::json to_json(const result& x) {
  return nlohmann::json{{"workload", x.workload},
                        {"variant", x.variant},
                        {"figure", x.figure},
                        {"value", x.value},
                        {"unit", x.unit},
                        {"baseline", x.baseline},
                        {"baseline_name", x.baseline_name},
                        {"ratio", x.ratio},
                        {"target", x.target},
                        {"met", x.met},
                        {"size", x.size},
                        {"note", x.note}};
}

result from_json(const nlohmann::json& j) {
  result x;
  x.workload = j.value("workload", "");
  x.variant = j.value("variant", "");
  x.figure = j.value("figure", "");
  x.value = j.value("value", 0.0);
  x.unit = j.value("unit", "");
  x.baseline = j.value("baseline", 0.0);
  x.baseline_name = j.value("baseline_name", "");
  x.ratio = j.value("ratio", 0.0);
  x.target = j.value("target", "");
  x.met = j.value("met", false);
  x.size = j.value("size", uint64_t{0});
  x.note = j.value("note", "");
  return x;
}

/// A trivial typed actor for raw request/reply baselines.
using echo_actor
    = caf::typed_actor<caf::replies_to<cancel_task>::with<task_op_reply>>;

echo_actor::behavior_type echo_impl() {
  return {
      [](const cancel_task&) -> task_op_reply { return {}; },
  };
}

} // namespace

double spawn_true_by_hand(uint64_t n, uint32_t width) {
  char prog[] = "/bin/true";
  char* args[] = {prog, nullptr};
  stopwatch sw;
  uint64_t started = 0;
  uint64_t running = 0;
  while (started < n || running > 0) {
    while (running < width && started < n) {
      pid_t pid = 0;
      require(posix_spawn(&pid, prog, nullptr, nullptr, args, environ) == 0,
              "posix_spawn");
      ++started;
      ++running;
    }
    int status = 0;
    require(waitpid(-1, &status, 0) > 0, "waitpid");
    --running;
  }
  return static_cast<double>(n) / sw.seconds();
}

// -- options ------------------------------------------------------------------

options parse(int argc, char** argv, const char* what) {
  options out;
  out.self = argc > 0 ? argv[0] : "";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      usage(argv[0], what, 0);
    if (i + 1 >= argc)
      usage(argv[0], what, 2);
    std::string val = argv[++i];
    try {
      if (arg == "--size")
        out.size = std::stoull(val);
      else if (arg == "--policy")
        out.policy = val;
      else if (arg == "--threads") {
        out.threads = static_cast<uint32_t>(std::stoul(val));
        out.threads_given = true;
      } else if (arg == "--slots")
        out.slots = static_cast<uint32_t>(std::stoul(val));
      else if (arg == "--json")
        out.json = val;
      else
        usage(argv[0], what, 2);
    } catch (const std::exception&) {
      usage(argv[0], what, 2);
    }
  }
  if (out.policy != "sharing" && out.policy != "stealing")
    usage(argv[0], what, 2);
  if (out.threads == 0)
    out.threads = default_threads();
  return out;
}

double self_cpu_seconds() {
  rusage used{};
  ::getrusage(RUSAGE_SELF, &used);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec)
           + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(used.ru_utime) + secs(used.ru_stime);
}

// -- report
// ---------------------------------------------------------------------

report::report(std::string workload, const options& opts)
    : workload_(std::move(workload)), opts_(opts) {
  // nop
}

result& report::at_least(std::string figure, double value, std::string unit,
                         double baseline, std::string baseline_name, double min,
                         double ratio_min) {
  result x;
  x.workload = workload_;
  x.variant = opts_.policy;
  x.figure = std::move(figure);
  x.value = value;
  x.unit = std::move(unit);
  x.baseline = baseline;
  x.baseline_name = std::move(baseline_name);
  x.ratio = baseline > 0 ? value / baseline : 0;
  x.size = opts_.size;
  x.met = true;
  std::ostringstream target;
  if (min >= 0) {
    target << ">= " << format_value(min);
    x.met = value >= min;
  }
  if (ratio_min > 0) {
    if (min >= 0)
      target << ", ";
    target << ">= " << std::setprecision(2) << ratio_min << "x baseline";
    x.met = x.met && x.ratio >= ratio_min;
  }
  x.target = target.str();
  if (x.target.empty())
    x.target = "-";
  results_.push_back(std::move(x));
  return results_.back();
}

result& report::at_most(std::string figure, double value, std::string unit,
                        double baseline, std::string baseline_name, double max,
                        bool strict) {
  result x;
  x.workload = workload_;
  x.variant = opts_.policy;
  x.figure = std::move(figure);
  x.value = value;
  x.unit = std::move(unit);
  x.baseline = baseline;
  x.baseline_name = std::move(baseline_name);
  x.ratio = baseline > 0 ? value / baseline : 0;
  x.size = opts_.size;
  if (max >= 0) {
    x.target = (strict ? "< " : "<= ") + format_value(max);
    x.met = strict ? value < max : value <= max;
  } else {
    x.target = "-";
    x.met = true;
  }
  results_.push_back(std::move(x));
  return results_.back();
}

int report::finish() {
  print_table(results_);
  if (!opts_.json.empty()) {
    auto arr = nlohmann::json::array();
    for (auto& x : results_)
      arr.push_back(to_json(x));
    std::ofstream out{opts_.json};
    out << arr.dump(2) << '\n';
    if (!out)
      std::cerr << "cannot write " << opts_.json << '\n';
  }
  return 0;
}

void print_table(const std::vector<result>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"workload", "policy", "figure", "value", "unit", "baseline",
                   "ratio", "target", "met"});
  for (auto& x : rows) {
    char ratio[32] = "-";
    if (x.ratio > 0)
      std::snprintf(ratio, sizeof(ratio), "%.2f", x.ratio);
    cells.push_back({x.workload, x.variant, x.figure, format_value(x.value),
                     x.unit, x.baseline > 0 ? format_value(x.baseline) : "-",
                     ratio, x.target, x.met ? "yes" : "NO"});
  }
  std::vector<size_t> width(cells.front().size(), 0);
  for (auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  for (size_t r = 0; r < cells.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < cells[r].size(); ++i) {
      auto& cell = cells[r][i];
      auto pad = std::string(width[i] - cell.size(), ' ');
      // Numbers right-aligned, text left-aligned.
      bool numeric = i == 3 || i == 5 || i == 6;
      line += numeric ? pad + cell : cell + pad;
      if (i + 1 < cells[r].size())
        line += "  ";
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    std::cout << line << '\n';
    if (r == 0) {
      size_t total = 0;
      for (auto w : width)
        total += w + 2;
      std::cout << std::string(total - 2, '-') << '\n';
    }
  }
  std::vector<std::string> seen;
  for (auto& x : rows) {
    if (x.baseline_name.empty() && x.note.empty())
      continue;
    auto key = x.workload + x.figure + x.baseline_name + x.note;
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      continue;
    seen.push_back(key);
    std::cout << "  " << x.workload << " / " << x.figure << ": "
              << (x.baseline_name.empty() ? ""
                                          : "baseline = " + x.baseline_name)
              << (x.note.empty()
                      ? ""
                      : (x.baseline_name.empty() ? "" : "; ") + x.note)
              << '\n';
  }
  std::cout.flush();
}

std::vector<result> read_json(const std::string& path) {
  std::ifstream in{path};
  auto j = nlohmann::json::parse(in);
  if (j.is_object())
    j = j.at("results");
  std::vector<result> out;
  for (auto& x : j)
    out.push_back(from_json(x));
  return out;
}

// -- measuring
// ------------------------------------------------------------------

double percentile(std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * xs.size()));
  rank = std::clamp<size_t>(rank, 1, xs.size());
  return xs[rank - 1];
}

size_t resident_bytes() {
  malloc_trim(0);
  std::ifstream in{"/proc/self/statm"};
  size_t total = 0;
  size_t resident = 0;
  in >> total >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// -- workloads
// ------------------------------------------------------------------

runtime_options runtime_opts(const options& opts, uint32_t slots) {
  runtime_options out;
  out.threads = opts.threads;
  out.scheduler = opts.policy;
  out.slots = slots;
  out.run_dir = "/tmp/quiesce-bench-" + std::to_string(getpid()) + "/runs";
  out.request_timeout = std::chrono::minutes{10};
  return out;
}

work_function noop_work() {
  return [](const work_context&) {
    return work_result::success();
  };
}

task_spec noop_task() {
  task_spec t;
  t.kind = work_kind::function;
  t.work = noop;
  return t;
}

task_spec command_task(std::vector<std::string> argv) {
  task_spec t;
  t.kind = work_kind::command;
  t.command.argv = std::move(argv);
  return t;
}

namespace {

// How long a workload may take before the benchmark gives up.
constexpr auto give_up = std::chrono::minutes{10};

// Fails the benchmark when `rt` refuses new work: its journal cannot be
// written (a full disk), so what waits for a write would wait forever. An
// empty job is invalid: the probe adds nothing either way.
void require_serving(runtime& rt) {
  auto probe = rt.add_job(job_spec{});
  require(probe.code != result_code::unavailable,
          "the runtime refuses work: " + probe.detail);
}

// Waits for `f`, checking every second that `rt` serves.
template <class T>
T get_serving(runtime& rt, std::future<T>& f) {
  stopwatch sw;
  while (f.wait_for(std::chrono::seconds{1}) != std::future_status::ready) {
    require_serving(rt);
    require(sw.seconds() < std::chrono::duration<double>(give_up).count(),
            "no reply within 10 minutes");
  }
  return f.get();
}

} // namespace

one_task_jobs_times run_one_task_jobs(runtime& rt, uint64_t n) {
  // Shared with the callback, which the event thread may still be running
  // after this returns; unsubscribed at the end, so the function can run
  // again on the same runtime.
  struct counts {
    std::mutex mtx;
    std::condition_variable cv;
    uint64_t ended = 0;
    uint64_t finished = 0;
  };
  auto c = std::make_shared<counts>();
  auto sub = rt.subscribe([c](const event& ev) {
    if (ev.kind != event_kind::job
        || !is_terminal(caf::get<job_status>(ev.current)))
      return;
    std::lock_guard<std::mutex> guard{c->mtx};
    ++c->ended;
    if (is(ev.current, job_status::finished))
      ++c->finished;
    c->cv.notify_all();
  });
  require(sub != 0, "subscribe");
  std::vector<job_spec> specs(n, one_assessment(1, noop_task()));
  one_task_jobs_times out;
  stopwatch sw;
  auto added = rt.add_jobs(std::move(specs));
  require(added.code == result_code::ok, "add_jobs: " + added.detail);
  out.added = sw.seconds();
  std::vector<std::future<op_reply>> submitted;
  submitted.reserve(added.jobs.size());
  for (auto id : added.jobs)
    submitted.push_back(rt.submit_async(id));
  for (auto& f : submitted) {
    auto r = get_serving(rt, f);
    require(r.code == result_code::ok, "submit: " + r.detail);
  }
  {
    std::unique_lock<std::mutex> guard{c->mtx};
    stopwatch waited;
    while (!c->cv.wait_for(guard, std::chrono::seconds{1},
                           [&] { return c->ended >= n; })) {
      guard.unlock();
      require_serving(rt);
      guard.lock();
      require(waited.seconds() < std::chrono::duration<double>(give_up).count(),
              "the jobs did not end");
    }
    require(c->finished == n, "a job did not finish");
  }
  out.ended = sw.seconds();
  rt.unsubscribe(sub);
  return out;
}

double run_one_job(runtime& rt, uint64_t n, const task_spec& task) {
  auto spec = one_assessment(n, task);
  stopwatch sw;
  auto added = rt.add_job(std::move(spec));
  require(added.code == result_code::ok, "add_job: " + added.detail);
  auto sent = rt.submit_async(added.job);
  auto sent_reply = get_serving(rt, sent);
  require(sent_reply.code == result_code::ok, "submit: " + sent_reply.detail);
  // In slices, so that a runtime that stops serving fails the benchmark.
  job_status_reply done;
  for (;;) {
    done = rt.wait(added.job, std::chrono::seconds{1});
    if (done.code == result_code::ok && is_terminal(done.job.status))
      break;
    require_serving(rt);
    require(sw.seconds() < std::chrono::duration<double>(give_up).count(),
            "the job did not end within 10 minutes");
  }
  auto secs = sw.seconds();
  require(done.code == result_code::ok
              && done.job.status == job_status::finished,
          "the job did not finish");
  return static_cast<double>(n) / secs;
}

job_spec one_assessment(uint64_t n, const task_spec& task) {
  job_spec job;
  job.name = "bench";
  job.assessments.emplace_back();
  job.assessments.back().name = "all";
  job.assessments.back().tasks.assign(n, task);
  return job;
}

void require(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "benchmark broken: " << what << '\n';
    std::abort();
  }
}

scratch_dir::scratch_dir(const std::string& name) {
  auto tmpl = "/tmp/quiesce-bench-" + name + "-XXXXXX";
  require(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp " + tmpl);
  path = tmpl;
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string program_dir(const std::string& argv0) {
  auto slash = argv0.rfind('/');
  return slash == std::string::npos ? std::string{"."} : argv0.substr(0, slash);
}

namespace {

// One task of the raw baseline: spawn an actor, one request/reply, next.
void raw_step(caf::event_based_actor* self, uint64_t left,
              std::shared_ptr<std::promise<void>> done) {
  if (left == 0) {
    done->set_value();
    self->quit();
    return;
  }
  auto worker = self->spawn(echo_impl);
  self->request(worker, std::chrono::seconds{60}, cancel_task{})
      .then([=](task_op_reply&) { raw_step(self, left - 1, done); },
            [](caf::error&) { require(false, "raw request failed"); });
}

} // namespace

double raw_spawn_request_rate(const options& opts, uint64_t n) {
  caf::actor_system_config cfg;
  configure(cfg, opts.threads, opts.policy);
  caf::actor_system sys{cfg};
  // An event-based driver: a blocking actor keeps every stale request
  // timeout in its mailbox cache and slows down quadratically.
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  stopwatch sw;
  sys.spawn(
      [n, done](caf::event_based_actor* self) { raw_step(self, n, done); });
  finished.wait();
  return static_cast<double>(n) / sw.seconds();
}

std::vector<double> raw_request_latencies(const options& opts, uint64_t n) {
  caf::actor_system_config cfg;
  configure(cfg, opts.threads, opts.policy);
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(echo_impl);
  std::vector<double> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    stopwatch sw;
    caf::scoped_actor self{sys};
    self->request(echo, std::chrono::seconds{10}, cancel_task{})
        .receive([](task_op_reply&) {},
                 [](caf::error&) { require(false, "raw request failed"); });
    out.push_back(sw.micros());
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace quiesce::bench
