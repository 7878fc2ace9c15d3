#include "cli/progress.hpp"

#include "cli/output.hpp"
#include "messages/status.hpp"
#include "messages/text.hpp"

#include <algorithm>
#include <unistd.h>

namespace quiesce::cli {

namespace {

std::string quoted(const std::string& name) {
  return name.empty() ? std::string{} : " (" + escape_controls(name) + ")";
}

} // namespace

task_counts count_tasks(const job_view& x) noexcept {
  task_counts out;
  for (const auto& [id, t] : x.tasks) {
    switch (t.status) {
      case task_status::queued:
        ++out.queued;
        break;
      case task_status::running:
        ++out.running;
        break;
      case task_status::finished:
        ++out.finished;
        break;
      case task_status::failed:
        ++out.failed;
        break;
      case task_status::cancelled:
        ++out.cancelled;
        break;
      default:
        ++out.other;
        break;
    }
  }
  return out;
}

// -- run_model ----------------------------------------------------------------

void run_model::add(const job_record& job,
                    const std::vector<task_record>& tasks) {
  job_view v;
  v.id = job.id;
  v.name = job.name;
  v.status = job.status;
  v.end_code = job.end_code;
  v.current = job.current;
  for (const auto& a : job.assessments)
    v.assessments.push_back(a.name);
  for (const auto& t : tasks)
    v.tasks.emplace(t.id, task_view{t.id, t.spec.name, t.assessment, t.status});
  v.started = job.started;
  v.ended = job.ended;
  std::lock_guard<std::mutex> guard{mtx_};
  jobs_.push_back(std::move(v));
}

bool run_model::apply(const event& ev) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = std::find_if(jobs_.begin(), jobs_.end(),
                          [&](const job_view& j) { return j.id == ev.job; });
    if (i == jobs_.end())
      return false;
    auto& j = *i;
    switch (ev.kind) {
      case event_kind::job: {
        // An event from the head fits its kind; skip one that does not.
        auto p = caf::get_if<job_status>(&ev.current);
        if (p == nullptr)
          break;
        auto to = *p;
        j.status = to;
        if (to == job_status::running && !is_set(j.started))
          j.started = ev.time;
        if (is_terminal(to)) {
          j.ended = ev.time;
          j.end_code = ev.code;
        } else {
          j.ended = {};
        }
        break;
      }
      case event_kind::assessment:
        if (is(ev.current, assessment_status::running))
          j.current = static_cast<int32_t>(ev.subject);
        break;
      case event_kind::task:
        if (auto to = caf::get_if<task_status>(&ev.current))
          if (auto t = j.tasks.find(ev.subject); t != j.tasks.end())
            t->second.status = *to;
        break;
      case event_kind::progress:
        break;
    }
  }
  cv_.notify_all();
  return true;
}

std::string run_model::describe(const event& ev) const {
  std::string out = format_clock(ev.time);
  out += " job ";
  out += std::to_string(ev.job);
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find_if(jobs_.begin(), jobs_.end(),
                        [&](const job_view& j) { return j.id == ev.job; });
  if (i != jobs_.end())
    out += quoted(i->name);
  auto transition = [&](std::string_view from, std::string_view to) {
    out += ": ";
    out += from;
    out += " -> ";
    out += to;
  };
  switch (ev.kind) {
    case event_kind::job:
      transition(to_name(ev.previous), to_name(ev.current));
      break;
    case event_kind::assessment:
      out += " assessment ";
      out += std::to_string(ev.subject);
      if (i != jobs_.end() && ev.subject < i->assessments.size())
        out += quoted(i->assessments[ev.subject]);
      transition(to_name(ev.previous), to_name(ev.current));
      break;
    case event_kind::task:
    case event_kind::progress: {
      out += " task ";
      out += std::to_string(ev.subject);
      if (i != jobs_.end())
        if (auto t = i->tasks.find(ev.subject); t != i->tasks.end())
          out += quoted(t->second.name);
      if (ev.kind == event_kind::progress) {
        out += ": progress ";
        out += std::to_string(ev.percent);
        out += '%';
      } else {
        transition(to_name(ev.previous), to_name(ev.current));
        if (is(ev.current, task_status::running) && !ev.who.empty())
          out += " on " + escape_controls(ev.who);
      }
      break;
    }
  }
  if (ev.code != result_code::ok) {
    out += " [";
    out += to_name(ev.code);
    out += ']';
  }
  if (!ev.message.empty()) {
    out += " \"";
    out += escape_controls(ev.message);
    out += '"';
  }
  return out;
}

std::vector<job_view> run_model::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return jobs_;
}

bool run_model::all_terminal() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::all_of(jobs_.begin(), jobs_.end(),
                     [](const job_view& j) { return is_terminal(j.status); });
}

bool run_model::wait_all_terminal(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] {
    return std::all_of(jobs_.begin(), jobs_.end(),
                       [](const job_view& j) { return is_terminal(j.status); });
  });
}

// -- frames -------------------------------------------------------------------

std::vector<std::string> render_frame(const std::vector<job_view>& jobs,
                                      caf::timestamp now, size_t width,
                                      size_t max_lines) {
  std::map<job_status, size_t> by_status;
  for (const auto& j : jobs)
    ++by_status[j.status];
  std::vector<std::string> lines;
  std::string header = "jobs:";
  for (auto s :
       {job_status::running, job_status::cancelling, job_status::queued,
        job_status::finished, job_status::failed, job_status::cancelled}) {
    if (by_status[s] == 0 && s == job_status::cancelling)
      continue;
    header += ' ';
    header += std::to_string(by_status[s]);
    header += ' ';
    header += to_name(s);
    header += ',';
  }
  header.pop_back();
  lines.push_back(truncate_to_width(header, width));
  // Running jobs first, then waiting ones, then ended ones, so that what
  // moves stays in view when not all fit.
  auto rank = [](job_status x) {
    if (x == job_status::running || x == job_status::cancelling)
      return 0;
    return is_terminal(x) ? 2 : 1;
  };
  std::vector<const job_view*> shown;
  for (const auto& j : jobs)
    shown.push_back(&j);
  std::stable_sort(shown.begin(), shown.end(),
                   [&](const job_view* x, const job_view* y) {
                     return rank(x->status) < rank(y->status);
                   });
  size_t room = max_lines > 1 ? max_lines - 1 : 0;
  size_t hidden = 0;
  if (shown.size() > room) {
    hidden = shown.size() - (room > 0 ? room - 1 : 0);
    shown.resize(shown.size() - hidden);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto* j : shown) {
    std::string elapsed = "-";
    if (is_set(j->started))
      elapsed
          = format_elapsed(span(j->started, is_set(j->ended) ? j->ended : now));
    auto n = j->assessments.size();
    std::string a = "-/" + std::to_string(n);
    if (j->current >= 0 && static_cast<size_t>(j->current) < n) {
      auto idx = static_cast<size_t>(j->current);
      a = std::to_string(idx + 1) + "/" + std::to_string(n);
      if (!j->assessments[idx].empty())
        a += " " + truncate_to_width(j->assessments[idx], 16);
    }
    auto c = count_tasks(*j);
    std::string tasks = std::to_string(c.running) + " running, "
                        + std::to_string(c.queued) + " queued, "
                        + std::to_string(c.finished) + " done, "
                        + std::to_string(c.failed) + " failed, "
                        + std::to_string(c.cancelled) + " cancelled";
    rows.push_back({"  " + truncate_to_width(j->name, 24),
                    std::string{to_name(j->status)}, elapsed, a, tasks});
  }
  auto table = render_table(rows);
  for (size_t pos = 0; pos < table.size();) {
    auto eol = table.find('\n', pos);
    lines.push_back(truncate_to_width(table.substr(pos, eol - pos), width));
    pos = eol + 1;
  }
  if (hidden > 0)
    lines.push_back(truncate_to_width(
        "  ... and " + std::to_string(hidden) + " more jobs", width));
  return lines;
}

// -- progress_display ---------------------------------------------------------

progress_display::progress_display(const run_model& model, std::ostream& out,
                                   int fd, redraw_sequences seq)
    : model_(model), out_(out), fd_(fd), seq_(std::move(seq)) {
  // nop
}

progress_display::~progress_display() {
  stop();
}

void progress_display::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (running_)
    return;
  running_ = true;
  thread_ = std::thread{[this] {
    loop();
  }};
}

void progress_display::note(std::ostream& err, const std::string& text) {
  std::lock_guard<std::mutex> guard{mtx_};
  erase_locked();
  err << text << std::endl;
  if (running_)
    draw_locked();
}

void progress_display::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!running_)
      return;
    running_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
  std::lock_guard<std::mutex> guard{mtx_};
  erase_locked();
  draw_locked();
  drawn_lines_ = 0;
}

void progress_display::loop() {
  std::unique_lock<std::mutex> guard{mtx_};
  while (running_) {
    draw_locked();
    cv_.wait_for(guard, period_, [this] { return !running_; });
  }
}

void progress_display::draw_locked() {
  auto [width, rows] = size_of_terminal(fd_);
  // One column and one row spare: a full line would wrap on some terminals,
  // and a frame as tall as the screen scrolls away.
  auto lines
      = render_frame(model_.snapshot(), caf::make_timestamp(),
                     width > 1 ? width - 1 : width, rows > 2 ? rows - 1 : 1);
  std::string text;
  if (drawn_lines_ > 0)
    text += seq_.up(static_cast<int>(drawn_lines_));
  for (const auto& line : lines) {
    text += line;
    text += seq_.clear_line;
    text += '\n';
  }
  text += seq_.clear_screen_below;
  out_ << text << std::flush;
  drawn_lines_ = lines.size();
}

void progress_display::erase_locked() {
  if (drawn_lines_ == 0)
    return;
  out_ << seq_.up(static_cast<int>(drawn_lines_)) << seq_.clear_screen_below
       << std::flush;
  drawn_lines_ = 0;
}

} // namespace quiesce::cli
