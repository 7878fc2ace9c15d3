// `quiesce run FILE`: one process is head and local node; it runs the file's
// jobs to completion, shows progress, and prints a summary or a JSON report.

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/inputs.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/settings_flags.hpp"
#include "cli/signals.hpp"
#include "messages/text.hpp"
#include "runtime/runtime.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace quiesce::cli {

namespace {

using namespace std::chrono_literals;

/// The options of `quiesce run`.
struct run_options {
  std::string file;
  bool json = false;
  bool quiet = false;
  bool no_progress = false;
  // --runtime and the flags that override the files.
  std::unique_ptr<settings_flags> flags;
};

/// The cancel message of jobs interrupted by Ctrl-C.
constexpr const char* interrupt_message = "interrupted (Ctrl-C)";

/// Prints notes on stderr, above the live display when there is one.
class notifier {
public:
  void attach(progress_display* display) {
    std::lock_guard<std::mutex> guard{mtx_};
    display_ = display;
  }

  void say(const std::string& text) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (display_ != nullptr)
      display_->note(std::cerr, text);
    else
      std::cerr << text << std::endl;
  }

private:
  std::mutex mtx_;
  progress_display* display_ = nullptr;
};

/// Reacts to stop signals: the first SIGINT cancels every job that is not
/// terminal, any later SIGINT and every SIGTERM or SIGHUP terminates them.
class interrupter {
public:
  interrupter(runtime& rt, const std::vector<job_id>& jobs, notifier& notes)
      : rt_(rt), jobs_(jobs), notes_(notes) {
    // nop
  }

  void operator()(int sig) {
    bool terminate = sig != SIGINT;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      signals_.push_back(stop_signal_name(sig));
      if (sig == SIGINT && ++sigints_ > 1)
        terminate = true;
    }
    auto live = live_jobs();
    if (live.empty())
      return;
    if (!terminate) {
      notes_.say("quiesce: cancelling " + count(live.size())
                 + ": current assessments finish; press Ctrl-C again to "
                   "terminate");
      for (auto id : live) {
        auto reply = rt_.cancel_job(id, interrupt_message);
        refused("cancel", id, reply.code, reply.detail);
      }
      return;
    }
    notes_.say("quiesce: terminating " + count(live.size())
               + ": killing their work now");
    // In parallel: each call returns once its job's work is confirmed dead.
    std::vector<std::thread> calls;
    for (auto id : live)
      calls.emplace_back([this, id] {
        auto reply = rt_.terminate_job(id);
        refused("terminate", id, reply.code, reply.detail);
      });
    for (auto& t : calls)
      t.join();
  }

  std::vector<std::string> signals() {
    std::lock_guard<std::mutex> guard{mtx_};
    return signals_;
  }

private:
  static std::string count(size_t n) {
    return std::to_string(n) + (n == 1 ? " job" : " jobs");
  }

  std::vector<job_id> live_jobs() {
    std::vector<job_id> out;
    auto all = rt_.list_jobs();
    for (const auto& j : all.jobs)
      if (!is_terminal(j.status)
          && std::find(jobs_.begin(), jobs_.end(), j.id) != jobs_.end())
        out.push_back(j.id);
    return out;
  }

  void refused(const char* what, job_id id, result_code code,
               const std::string& detail) {
    // A job that ended in the meantime is not worth a note.
    if (code == result_code::ok || code == result_code::no_job_running
        || code == result_code::invalid_state)
      return;
    notes_.say("quiesce: " + std::string{what} + " job " + std::to_string(id)
               + ": " + std::string{to_name(code)}
               + (detail.empty() ? "" : ": " + detail));
  }

  runtime& rt_;
  const std::vector<job_id>& jobs_;
  notifier& notes_;
  std::mutex mtx_;
  int sigints_ = 0;
  std::vector<std::string> signals_;
};

void print_invalid(const run_options& o,
                   const std::vector<config::diagnostic>& errors) {
  for (const auto& d : errors)
    std::cerr << to_string(d) << '\n';
  std::cerr << std::flush;
  if (o.json) {
    run_outcome outcome;
    outcome.exit_status = exit_invalid_input;
    auto doc = run_report_json({}, outcome);
    auto errs = nlohmann::json::array();
    for (const auto& d : errors)
      errs.push_back(to_json(d));
    doc["errors"] = std::move(errs);
    std::cout << doc.dump(2) << std::endl;
  }
}

int run(const run_options& o) {
  run_outcome outcome;
  outcome.started = caf::make_timestamp();
  // -- load: nothing runs from a file with any error ------------------------
  auto loaded
      = load_inputs(o.file, o.flags->runtime_file(), o.flags->defaults());
  limit_check limits;
  if (loaded.ok()) {
    auto more = unrunnable_tasks(loaded.file, o.file);
    loaded.errors.insert(loaded.errors.end(), more.begin(), more.end());
    limits = check_limits(loaded.file, o.file);
    loaded.errors.insert(loaded.errors.end(), limits.errors.begin(),
                         limits.errors.end());
  }
  if (!loaded.ok()) {
    print_invalid(o, loaded.errors);
    return exit_invalid_input;
  }
  if (!limits.note.empty())
    std::cerr << o.file << ": note: " << limits.note << std::endl;
  auto options = loaded.file.runtime;
  if (auto err = o.flags->apply(options); !err.empty()) {
    print_invalid(o, {{"quiesce", 0, 0, err}});
    return exit_invalid_input;
  }
  // -- output modes --------------------------------------------------------
  // With --json, stdout carries the report alone; live output goes to stderr.
  std::ostream& live_out = o.json ? std::cerr : std::cout;
  int live_fd = o.json ? STDERR_FILENO : STDOUT_FILENO;
  // A live display only on a terminal that can move its cursor (terminfo);
  // elsewhere (a file, a pipe, TERM=dumb or unset) plain lines.
  auto terminal = o.quiet || o.no_progress ? std::nullopt
                                           : redraw_capable_terminal(live_fd);
  bool show_display = terminal.has_value();
  bool show_lines = !o.quiet && !show_display;
  // -- start: the mask must be set before any thread exists ----------------
  block_stop_signals();
  // A reader that goes away (`quiesce run f | head`) must not kill the run
  // and orphan its tasks; writes then fail quietly instead.
  std::signal(SIGPIPE, SIG_IGN);
  // Destruction runs bottom-up: the runtime (and its event thread) goes before
  // the model and streams its callbacks use.
  run_model model;
  std::mutex lines_mtx;
  bool lines_muted = false;
  notifier notes;
  std::unique_ptr<progress_display> display;
  std::unique_ptr<runtime> rt;
  std::vector<job_id> ids;
  auto fail = [&](std::string error) {
    outcome.error = std::move(error);
    std::cerr << "quiesce: " << outcome.error << std::endl;
    return exit_runtime_error;
  };
  try {
    rt = std::make_unique<runtime>(options);
  } catch (const std::exception& e) {
    outcome.exit_status
        = fail(std::string{"cannot start the runtime: "} + e.what());
  }
  // -- add every job, then subscribe, then submit ---------------------------
  if (rt) {
    auto added = rt->add_jobs(loaded.file.jobs);
    for (auto id : added.jobs) {
      ids.push_back(id);
      auto rec = rt->job_status(id);
      auto tasks = rt->list_tasks(id);
      model.add(rec.job, tasks.tasks);
    }
    if (added.code != result_code::ok)
      outcome.exit_status = fail(
          "job '" + loaded.file.jobs[added.jobs.size()].name + "' was refused: "
          + std::string{to_name(added.code)} + " " + added.detail);
  }
  std::unique_ptr<interrupter> on_signal;
  std::unique_ptr<signal_watcher> watcher;
  if (rt && outcome.exit_status == exit_ok) {
    rt->subscribe([&](const event& ev) {
      if (!model.apply(ev) || !show_lines)
        return;
      auto line = model.describe(ev);
      std::lock_guard<std::mutex> guard{lines_mtx};
      if (!lines_muted)
        live_out << line << std::endl;
    });
    if (show_display) {
      display = std::make_unique<progress_display>(model, live_out, live_fd,
                                                   *terminal);
      notes.attach(display.get());
      display->start();
    }
    for (auto id : ids) {
      auto reply = rt->submit(id);
      if (reply.code != result_code::ok) {
        outcome.exit_status
            = fail("cannot submit job " + std::to_string(id) + ": "
                   + std::string{to_name(reply.code)} + " " + reply.detail);
        break;
      }
    }
    on_signal = std::make_unique<interrupter>(*rt, ids, notes);
    watcher = std::make_unique<signal_watcher>(
        [&on_signal](int sig) { (*on_signal)(sig); });
  }
  // -- wait for every job ---------------------------------------------------
  if (rt && outcome.exit_status == exit_ok) {
    for (auto id : ids) {
      job_status_reply reply;
      do {
        reply = rt->wait(id, 2s);
      } while (reply.code == result_code::request_timeout);
      if (reply.code != result_code::ok) {
        outcome.exit_status = fail("waiting for job " + std::to_string(id)
                                   + ": " + std::string{to_name(reply.code)});
        break;
      }
    }
    // The last events may still be on their way to the display.
    model.wait_all_terminal(2s);
  }
  if (watcher)
    watcher->stop();
  if (display) {
    notes.attach(nullptr);
    display->stop();
  }
  {
    std::lock_guard<std::mutex> guard{lines_mtx};
    lines_muted = true;
  }
  // -- report --------------------------------------------------------------
  std::vector<job_report> reports;
  if (rt) {
    for (auto id : ids) {
      job_report r;
      auto rec = rt->job_status(id);
      r.job = rec.job;
      r.tasks = rt->list_tasks(id).tasks;
      if (rec.code != result_code::ok && outcome.exit_status == exit_ok)
        outcome.exit_status = fail("cannot read job " + std::to_string(id)
                                   + ": " + std::string{to_name(rec.code)});
      reports.push_back(std::move(r));
    }
  }
  if (on_signal)
    outcome.signals = on_signal->signals();
  if (rt)
    outcome.containment = rt->containment();
  outcome.ended = caf::make_timestamp();
  if (outcome.exit_status == exit_ok) {
    std::vector<job_record> records;
    for (const auto& r : reports)
      records.push_back(r.job);
    outcome.exit_status = exit_status_for(records);
  }
  if (o.json) {
    std::cout << run_report_json(reports, outcome).dump(2) << std::endl;
  } else {
    if (show_lines || show_display)
      std::cout << '\n';
    std::cout << render_summary(reports, o.quiet);
    if (!outcome.containment.empty())
      std::cout << "\nContainment: " << escape_controls(outcome.containment)
                << '\n';
    // Where to look: the node picks each job's directory when its first
    // attempt starts (job-ID, or job-ID.2, ... when another head's output
    // already has that name), so the root is what can be said here.
    if (rt && !reports.empty()) {
      std::error_code ec;
      auto root = std::filesystem::absolute(rt->options().run_dir, ec);
      std::cout << "\nOutput files of tasks that name none: "
                << escape_controls(ec ? rt->options().run_dir : root.string())
                << "/job-ID/task-ID.attempt-N.stdout and .stderr\n";
    }
    std::cout << std::flush;
  }
  if (rt)
    rt->shutdown();
  return outcome.exit_status;
}

} // namespace

installed_command install_run(CLI::App& app) {
  auto o = std::make_shared<run_options>();
  auto* sub = app.add_subcommand(
      "run", "Run a job file's jobs to completion in this process");
  sub->add_option("FILE", o->file, "job file (TOML)")->required();
  o->flags = std::make_unique<settings_flags>(sub, settings{});
  auto& flags = *o->flags;
  flags.add_runtime_file("runtime file (TOML, a [runtime] table) read before "
                         "FILE; FILE's own [runtime] table overrides it");
  flags.add_count("--slots", &settings::slots, 65536,
                  "tasks the local node runs at once (0: one per core); "
                  "overrides the files");
  flags.add_count("--threads", &settings::threads, 1024,
                  "CAF scheduler threads (0: one per core); overrides the "
                  "files");
  flags.add_text("--run-dir", &settings::run_dir,
                 "directory for the stdout/stderr files of tasks; overrides "
                 "the files");
  sub->add_flag("--json", o->json,
                "print one JSON report on stdout at the end and nothing else "
                "there (progress goes to stderr)");
  sub->add_flag("--quiet,-q", o->quiet,
                "no progress output; the summary lists only tasks that did "
                "not finish");
  sub->add_flag("--no-progress", o->no_progress,
                "print a line per event even on a terminal instead of the "
                "live display");
  sub->footer(
      std::string{
          "Progress: on a terminal, a live display (per job: status, current "
          "assessment,\ntasks running/queued/done/failed/cancelled, elapsed); "
          "otherwise one line per\nevent. At the end a summary of jobs and "
          "tasks "
          "(or the --json report).\n\n"
          "Ctrl-C once cancels every job that has not ended: the current "
          "assessment\nfinishes, no further one starts. Ctrl-C again (or "
          "SIGTERM, or SIGHUP) "
          "terminates them:\ntheir work is killed at once.\n\n"
          "Examples:\n"
          "  quiesce run examples/nightly.toml\n"
          "  quiesce run --slots 4 --run-dir /tmp/runs examples/batch.toml\n"
          "  quiesce run --runtime site.toml jobs.toml\n"
          "  quiesce run --json examples/batch.toml > report.json\n\n"}
      + exit_status_help(exit_scope::run));
  return {sub, [o] {
            return run(*o);
          }};
}

} // namespace quiesce::cli
