// The metrics of `quiesce head`: histograms and request counts fed by the
// supervisor's observer hooks, the state (jobs, tasks, nodes) read through
// the head's own client at each scrape, and cpp-httplib serving them as
// Prometheus text. cpp-httplib (Debian's libcpp-httplib-dev) rather than a
// hand-written HTTP parser: one GET, but keep-alive, partial reads, slow
// clients and malformed requests are its tested business, not ours.

#include "cli/ops.hpp"
#include "messages/commands.hpp"
#include "messages/records.hpp"

#include <cstdio>
#include <httplib.h>
#include <thread>

namespace quiesce::cli {

namespace {

// Buckets of durations that go from sub-millisecond (a free slot) to minutes
// (a cancelled assessment running to its end).
std::vector<double> latency_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1,      2.5,   5,      10,    30,   60,    120,  300, 600};
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

void family(std::string& out, const std::string& name, const char* type,
            const std::string& help) {
  out += "# HELP " + name + ' ' + help + '\n';
  out += "# TYPE " + name + ' ' + type + '\n';
}

void sample(std::string& out, const std::string& name,
            const std::string& labels, uint64_t value) {
  out += name;
  if (!labels.empty())
    out += '{' + labels + '}';
  out += ' ' + std::to_string(value) + '\n';
}

// Returns `x` as a label value: `\`, `"` and newlines escaped.
std::string label_value(std::string_view x) {
  std::string out;
  for (char c : x) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

// -- histogram ----------------------------------------------------------------

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i] = 0;
}

void histogram::observe(std::chrono::nanoseconds x) noexcept {
  auto ns = x.count() < 0 ? 0 : static_cast<uint64_t>(x.count());
  auto seconds = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void histogram::render(const std::string& name, const std::string& help,
                       std::string& out) const {
  family(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    sample(out, name + "_bucket", "le=\"" + number(bounds_[i]) + '"',
           cumulative);
  }
  cumulative += counts_[bounds_.size()].load(std::memory_order_relaxed);
  sample(out, name + "_bucket", "le=\"+Inf\"", cumulative);
  out += name + "_sum "
         + number(static_cast<double>(sum_ns_.load(std::memory_order_relaxed))
                  / 1e9)
         + '\n';
  // The count is the +Inf bucket, read once, so the two always agree.
  sample(out, name + "_count", {}, cumulative);
}

// -- head_observer ------------------------------------------------------------

head_observer::head_observer(std::shared_ptr<ops_log> log)
    : log_(std::move(log)), dispatch_(latency_bounds()),
      cancel_(latency_bounds()) {
  // nop
}

void head_observer::on_request(const request_note& x) noexcept {
  try {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++requests_[{std::string{x.operation}, std::string{to_name(x.code)}}];
    }
    auto level = level_of(x);
    if (log_ && log_->enabled(level))
      log_->write(level, log_fields(x));
  } catch (...) {
    // Out of memory: the request is served anyway.
  }
}

void head_observer::on_dispatch(std::chrono::nanoseconds waited) noexcept {
  dispatch_.observe(waited);
}

void head_observer::on_cancel_settled(std::chrono::nanoseconds took) noexcept {
  cancel_.observe(took);
}

void head_observer::render(std::string& out) const {
  family(out, "quiesce_requests_total", "counter",
         "Requests the supervisor answered, by operation and result code.");
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& [key, n] : requests_)
      sample(out, "quiesce_requests_total",
             "operation=\"" + label_value(key.first) + "\",code=\""
                 + label_value(key.second) + '"',
             n);
  }
  dispatch_.render("quiesce_dispatch_latency_seconds",
                   "Time from when a task could run (its submission or its "
                   "assessment's start) to its first attempt's placement on "
                   "a node.",
                   out);
  cancel_.render("quiesce_cancel_latency_seconds",
                 "Time from an accepted cancel or terminate request to the "
                 "end of the job, assessment or task it stopped.",
                 out);
}

// -- state --------------------------------------------------------------------

std::string
render_state_metrics(const std::vector<job_record>& jobs,
                     const std::vector<std::vector<task_record>>& tasks,
                     const std::vector<node_record>& nodes) {
  std::string out;
  constexpr job_status job_statuses[]
      = {job_status::not_submitted, job_status::queued,   job_status::running,
         job_status::cancelling,    job_status::finished, job_status::failed,
         job_status::cancelled};
  constexpr task_status task_statuses[] = {
      task_status::not_submitted, task_status::queued, task_status::running,
      task_status::finished,      task_status::failed, task_status::cancelled};
  std::map<job_status, uint64_t> by_job;
  std::map<task_status, uint64_t> by_task;
  uint64_t ready_tasks = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    ++by_job[j.status];
    if (i >= tasks.size())
      continue;
    auto active
        = j.status == job_status::running || j.status == job_status::cancelling;
    for (const auto& t : tasks[i]) {
      ++by_task[t.status];
      if (active && t.status == task_status::queued
          && static_cast<int32_t>(t.assessment) == j.current)
        ++ready_tasks;
    }
  }
  family(out, "quiesce_jobs", "gauge", "Jobs the head retains, by status.");
  for (auto s : job_statuses)
    sample(out, "quiesce_jobs", "status=\"" + to_string(s) + '"', by_job[s]);
  family(out, "quiesce_tasks", "gauge",
         "Tasks of the jobs the head retains, by status.");
  for (auto s : task_statuses)
    sample(out, "quiesce_tasks", "status=\"" + to_string(s) + '"', by_task[s]);
  family(out, "quiesce_queue_depth", "gauge",
         "Work waiting: queued jobs waiting to start (queue=\"jobs\"), queued "
         "tasks of running jobs' current assessments waiting for a slot "
         "(queue=\"tasks\").");
  sample(out, "quiesce_queue_depth", "queue=\"jobs\"",
         by_job[job_status::queued]);
  sample(out, "quiesce_queue_depth", "queue=\"tasks\"", ready_tasks);
  uint64_t ready = 0;
  uint64_t unreachable = 0;
  uint64_t slots = 0;
  uint64_t busy = 0;
  for (const auto& n : nodes) {
    (n.status == node_status::ready ? ready : unreachable) += 1;
    if (n.status == node_status::ready)
      slots += n.slots;
    busy += n.running;
  }
  family(out, "quiesce_nodes", "gauge", "Nodes known to the head, by status.");
  sample(out, "quiesce_nodes", "status=\"ready\"", ready);
  sample(out, "quiesce_nodes", "status=\"unreachable\"", unreachable);
  family(out, "quiesce_node_slots", "gauge",
         "Slots of the ready nodes (state=\"total\") and attempts running "
         "on nodes (state=\"in_use\").");
  sample(out, "quiesce_node_slots", "state=\"total\"", slots);
  sample(out, "quiesce_node_slots", "state=\"in_use\"", busy);
  return out;
}

// -- metrics_server -----------------------------------------------------------

struct metrics_server::impl {
  std::function<std::string()> render;
  httplib::Server server;
  std::thread thread;
  std::mutex mtx;
};

metrics_server::metrics_server(std::function<std::string()> render)
    : impl_(std::make_unique<impl>()) {
  impl_->render = std::move(render);
  impl_->server.Get(
      "/metrics", [this](const httplib::Request&, httplib::Response& res) {
        std::string body;
        try {
          body = impl_->render();
        } catch (const std::exception& e) {
          res.status = 500;
          res.set_content(std::string{"cannot read the head's state: "}
                              + e.what() + '\n',
                          "text/plain; charset=utf-8");
          return;
        }
        res.set_content(std::move(body),
                        "text/plain; version=0.0.4; charset=utf-8");
      });
}

metrics_server::~metrics_server() {
  stop();
}

uint16_t metrics_server::start(const std::string& host, uint16_t port,
                               std::string& error) {
  auto& srv = impl_->server;
  int bound = port == 0 ? srv.bind_to_any_port(host)
                        : (srv.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    error = "cannot listen on " + host + ":" + std::to_string(port)
            + " for metrics (address in use or not of this machine)";
    return 0;
  }
  impl_->thread = std::thread{[&srv] {
    srv.listen_after_bind();
  }};
  // A stop() before the thread runs would be lost (httplib stops only a
  // running server): wait for it, bounded.
  for (int i = 0; i < 5000 && !srv.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return static_cast<uint16_t>(bound);
}

void metrics_server::stop() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace quiesce::cli
