// `quiesce top`: a live view of a running head from another shell: jobs by
// status, the nodes and their slots in use, the jobs that run (with their
// tasks by status) and the latest events, redrawn in place on a terminal
// that can redraw (the progress display's terminfo code, cli/terminal.hpp).
// On anything else, or with `--once`, it prints one snapshot and exits.

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/signals.hpp"
#include "cli/terminal.hpp"
#include "messages/text.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace quiesce::cli {

namespace {

struct top_options {
  client_options client;
  bool once = false;
  std::string interval = "1s";
  size_t jobs = 20;
  size_t events = 8;
  size_t iterations = 0;
};

/// The latest events, described, as the event thread delivers them.
class recent_events {
public:
  explicit recent_events(size_t keep) : keep_(keep) {
    // nop
  }

  void add(const event& ev) {
    auto line = format_clock(ev.time) + ' ' + escape_controls(describe(ev));
    std::lock_guard<std::mutex> guard{mtx_};
    lines_.push_back(std::move(line));
    while (lines_.size() > keep_)
      lines_.pop_front();
  }

  std::deque<std::string> lines() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_;
  }

private:
  size_t keep_;
  mutable std::mutex mtx_;
  std::deque<std::string> lines_;
};

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

// Splits `text` (lines ending in '\n') into lines.
void append_lines(std::vector<std::string>& out, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// Returns one frame of the view: what the head says now, and `recent`.
// `max_jobs` bounds the jobs listed: those not ended first (by id), then the
// latest ended.
std::vector<std::string> render_top(client& c, const endpoint& head,
                                    size_t max_jobs,
                                    const std::deque<std::string>* recent,
                                    result_code& code) {
  std::vector<std::string> out;
  auto now = caf::make_timestamp();
  auto jobs = c.list_jobs();
  auto nodes = c.nodes();
  code = jobs.code != result_code::ok ? jobs.code : nodes.code;
  if (code != result_code::ok)
    return out;
  out.push_back("quiesce top: head " + to_string(head) + " at "
                + format_clock(now));
  std::map<job_status, size_t> by_status;
  for (const auto& j : jobs.jobs)
    ++by_status[j.status];
  std::string counts = "jobs:";
  for (auto s :
       {job_status::running, job_status::cancelling, job_status::queued,
        job_status::not_submitted, job_status::finished, job_status::failed,
        job_status::cancelled})
    counts += "  " + std::to_string(by_status[s]) + ' ' + to_string(s);
  out.push_back(counts);
  size_t slots = 0;
  size_t busy = 0;
  size_t ready = 0;
  for (const auto& n : nodes.nodes) {
    if (n.status == node_status::ready) {
      ++ready;
      slots += n.slots;
    }
    busy += n.running;
  }
  out.push_back("slots: " + std::to_string(busy) + " of "
                + std::to_string(slots) + " in use on "
                + plural(ready, "ready node", "ready nodes") + " ("
                + std::to_string(nodes.nodes.size() - ready) + " unreachable)");
  out.emplace_back();
  std::vector<std::vector<std::string>> node_rows{
      {"NODE", "STATUS", "SLOTS", "IN USE", "LABELS"}};
  for (const auto& n : nodes.nodes) {
    std::string labels;
    for (const auto& l : n.labels)
      labels += (labels.empty() ? "" : ",") + l;
    node_rows.push_back({escape_controls(n.name), to_string(n.status),
                         std::to_string(n.slots), std::to_string(n.running),
                         escape_controls(labels)});
  }
  if (nodes.nodes.empty())
    out.push_back("no nodes");
  else
    append_lines(out, render_table(node_rows));
  out.emplace_back();
  // Jobs not ended first, then the latest ended.
  std::vector<const job_record*> listed;
  for (const auto& j : jobs.jobs)
    if (!is_terminal(j.status))
      listed.push_back(&j);
  std::vector<const job_record*> ended;
  for (const auto& j : jobs.jobs)
    if (is_terminal(j.status))
      ended.push_back(&j);
  std::sort(ended.begin(), ended.end(), [](const auto* a, const auto* b) {
    return a->ended > b->ended || (a->ended == b->ended && a->id > b->id);
  });
  listed.insert(listed.end(), ended.begin(), ended.end());
  auto left_out = listed.size() > max_jobs ? listed.size() - max_jobs : 0;
  listed.resize(std::min(listed.size(), max_jobs));
  std::vector<std::vector<std::string>> job_rows{
      {"JOB", "NAME", "STATUS", "OWNER", "CURRENT", "RUNNING", "QUEUED", "DONE",
       "FAILED", "CANCELLED", "ELAPSED"}};
  for (const auto* j : listed) {
    std::map<task_status, size_t> tasks;
    for (const auto& t : c.list_tasks(j->id).tasks)
      ++tasks[t.status];
    std::string current = "-";
    if (j->current >= 0
        && static_cast<size_t>(j->current) < j->assessments.size())
      current = std::to_string(j->current) + ' '
                + j->assessments[static_cast<size_t>(j->current)].name;
    job_rows.push_back({std::to_string(j->id), escape_controls(j->name),
                        to_string(j->status), escape_controls(j->owner),
                        escape_controls(current),
                        std::to_string(tasks[task_status::running]),
                        std::to_string(tasks[task_status::queued]),
                        std::to_string(tasks[task_status::finished]),
                        std::to_string(tasks[task_status::failed]),
                        std::to_string(tasks[task_status::cancelled]),
                        elapsed_text(j->started, j->ended, now)});
  }
  if (listed.empty())
    out.push_back("no jobs");
  else
    append_lines(out, render_table(job_rows));
  if (left_out > 0)
    out.push_back("... and " + plural(left_out, "more job", "more jobs")
                  + " (quiesce list jobs)");
  if (recent != nullptr) {
    out.emplace_back();
    out.push_back("RECENT EVENTS");
    if (recent->empty())
      out.push_back("(none since this view started)");
    for (const auto& line : *recent)
      out.push_back(line);
  }
  return out;
}

// Prints one snapshot as JSON: the jobs as `list jobs --json` has them, and
// the nodes.
int print_json(client_session& s) {
  auto jobs = s.client().list_jobs();
  if (jobs.code != result_code::ok)
    return s.finish(jobs.code, "cannot list the jobs");
  auto nodes = s.client().nodes();
  if (nodes.code != result_code::ok)
    return s.finish(nodes.code, nodes.detail);
  nlohmann::json doc;
  doc["time"] = format_iso8601(caf::make_timestamp());
  doc["jobs"] = nlohmann::json::array();
  for (const auto& j : jobs.jobs)
    doc["jobs"].push_back(to_json(j, s.client().list_tasks(j.id).tasks));
  doc["nodes"] = nlohmann::json::array();
  for (const auto& n : nodes.nodes)
    doc["nodes"].push_back({{"name", n.name},
                            {"status", to_string(n.status)},
                            {"slots", n.slots},
                            {"running", n.running},
                            {"labels", n.labels}});
  return s.finish(result_code::ok, {}, std::move(doc));
}

int run_top(const top_options& o) {
  // The mask must be set before any thread exists.
  block_stop_signals();
  std::atomic<bool> stop{false};
  signal_watcher watcher{[&stop](int) {
    stop = true;
  }};
  client_session s{o.client};
  if (!s.open())
    return s.status();
  if (o.client.json)
    return print_json(s);
  auto seq = o.once ? std::nullopt : redraw_capable_terminal(STDOUT_FILENO);
  result_code code = result_code::ok;
  if (!seq) {
    // One snapshot as plain text: a pipe, a file, a dumb terminal, --once.
    auto lines = render_top(s.client(), s.head(), o.jobs, nullptr, code);
    if (code != result_code::ok)
      return s.finish(code, "cannot read the head's state");
    for (const auto& line : lines)
      std::cout << line << '\n';
    std::cout << std::flush;
    s.client().close();
    return exit_ok;
  }
  auto recent = std::make_shared<recent_events>(o.events);
  s.client().subscribe([recent](const event& ev) { recent->add(ev); });
  auto period = parse_ms(o.interval);
  size_t drawn = 0;
  for (size_t frame = 0; !stop; ++frame) {
    if (o.iterations > 0 && frame == o.iterations)
      break;
    if (!s.client().connected()) {
      std::cerr << "quiesce: lost the head at " << to_string(s.head())
                << std::endl;
      return exit_unreachable;
    }
    auto [width, rows] = size_of_terminal(STDOUT_FILENO);
    auto events = recent->lines();
    auto lines = render_top(s.client(), s.head(), o.jobs, &events, code);
    if (code != result_code::ok) {
      s.client().close();
      return s.finish(code, "cannot read the head's state");
    }
    // One column and one row spare, as the progress display: a full line
    // wraps on some terminals, and a frame as tall as the screen scrolls.
    if (lines.size() > rows - 1)
      lines.resize(rows > 1 ? rows - 1 : 1);
    std::string text;
    if (drawn > 0)
      text += seq->up(static_cast<int>(drawn));
    for (const auto& line : lines) {
      text += truncate_to_width(line, width > 1 ? width - 1 : width);
      text += seq->clear_line;
      text += '\n';
    }
    text += seq->clear_screen_below;
    std::cout << text << std::flush;
    drawn = lines.size();
    auto until = std::chrono::steady_clock::now() + period;
    while (!stop && frame + 1 != o.iterations
           && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  // The last frame stays on the screen.
  s.client().close();
  return exit_ok;
}

} // namespace

installed_command install_top(CLI::App& app) {
  auto o = std::make_shared<top_options>();
  auto* sub
      = app.add_subcommand("top", "Show a live view of a head: jobs, nodes, "
                                  "slots in use, recent events");
  add_client_options(sub, o->client);
  sub->add_flag("--once", o->once,
                "print one snapshot as text and exit (also the behaviour "
                "when stdout is not a terminal that can redraw)");
  sub->add_option("--interval", o->interval,
                  "time between refreshes (default 1s)")
      ->check(duration_validator());
  sub->add_option("--jobs", o->jobs,
                  "jobs listed at most: those not ended, then the latest "
                  "ended (default 20)")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  sub->add_option("--events", o->events,
                  "recent events shown in the live view (default 8)")
      ->check(CLI::Range(size_t{0}, size_t{1000}));
  sub->add_option("--iterations", o->iterations,
                  "frames drawn before exiting (default 0: until stopped)");
  sub->footer(
      "On a terminal, redraws in place every --interval until SIGINT, "
      "SIGTERM or SIGHUP\n(exit 0) or until the head is lost (exit 6); the "
      "last frame stays on screen.\nElsewhere (a pipe, a file, TERM=dumb) or "
      "with --once: one snapshot, without\nevents. With --json: one snapshot "
      "of the jobs and nodes as JSON.\n\n"
      "Examples:\n  quiesce top\n  quiesce top --head 10.0.0.5:7700 "
      "--interval 5s\n  quiesce top --once > head-state.txt\n");
  return {sub, [o] {
            return run_top(*o);
          }};
}

} // namespace quiesce::cli
