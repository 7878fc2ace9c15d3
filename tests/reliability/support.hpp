#pragma once

// Helpers shared by the reliability tests: the process helpers of
// support/processes.hpp (temporary directory, markers, /proc scan, bounded
// polling), the enum printers of support/printers.hpp and the task builders
// of support/specs.hpp, the allowed status edges of docs/semantics.md, and
// record fingerprints for "nothing changed" checks.

#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/records.hpp"
#include "messages/status.hpp"
#include "support/printers.hpp"
#include "support/processes.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace quiesce::reliability {

using test::alive_count;
using test::all_processes;
using test::cmd_task;
using test::fn_task;
using test::has_marker;
using test::marked;
using test::marker_var;
using test::none_alive;
using test::proc_stat;
using test::read_stat;
using test::sh_task;
using test::slurp;
using test::temp_dir;
using test::unique_marker;
using test::wait_until;
using test::zombie_children;

/// Returns the unsigned value of the environment variable `name`, or
/// `fallback` when it is unset or not a number.
inline uint64_t env_or(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0')
    return fallback;
  char* end = nullptr;
  auto value = std::strtoull(text, &end, 10);
  return end != nullptr && *end == '\0' ? value : fallback;
}

// -- allowed edges ------------------------------------------------------------

/// One status change of one kind of entity: (kind, from, to).
using edge = std::tuple<event_kind, entity_status, entity_status>;

/// Returns every status change docs/semantics.md allows (sections 3 to 6),
/// per kind of entity. Anything else in an event stream is a defect.
inline const std::set<edge>& allowed_edges() {
  static const std::set<edge> edges = [] {
    std::set<edge> out;
    auto job = [&](job_status from, job_status to) {
      out.emplace(event_kind::job, from, to);
    };
    auto as = [&](assessment_status from, assessment_status to) {
      out.emplace(event_kind::assessment, from, to);
    };
    auto task = [&](task_status from, task_status to) {
      out.emplace(event_kind::task, from, to);
    };
    using js = job_status;
    using as_ = assessment_status;
    using ts = task_status;
    job(js::not_submitted, js::queued);     // J3 submit
    job(js::not_submitted, js::cancelled);  // J4, J11
    job(js::queued, js::cancelled);         // J4, J11
    job(js::queued, js::running);           // J16 start
    job(js::running, js::cancelling);       // J5
    job(js::running, js::cancelled);        // J11 terminate
    job(js::running, js::finished);         // J17, J18
    job(js::running, js::failed);           // J17, J18, J19
    job(js::cancelling, js::cancelled);     // J8, J11
    job(js::failed, js::queued);            // J15 requeue_job
    job(js::cancelled, js::queued);         // J15 requeue_job
    as(as_::not_yet_run, as_::running);     // A1, J16
    as(as_::running, as_::running);         // A6, E3 (outcome fixed)
    as(as_::running, as_::completed);       // A2, J11
    as(as_::completed, as_::not_yet_run);   // J15 reopened
    task(ts::not_submitted, ts::queued);    // J3
    task(ts::not_submitted, ts::cancelled); // J4, J11, T1
    task(ts::queued, ts::running);          // T16, T17 dispatch
    task(ts::queued, ts::cancelled);        // J4, J5, J11, J19, A6, T1
    task(ts::running, ts::finished);        // R3
    task(ts::running, ts::failed);          // R4, R6, R7, R8
    task(ts::running, ts::cancelled);       // T1, T11, J11, A6, R4, R5
    task(ts::running, ts::queued);          // R8 lost node, retried
    task(ts::failed, ts::queued);           // T10, J15
    task(ts::cancelled, ts::queued);        // T10, T11
    return out;
  }();
  return edges;
}

/// Returns a readable name of status `x`.
inline std::string status_name(const entity_status& x) {
  return std::string{to_name(x)};
}

// -- fingerprints
// ---------------------------------------------------------------

/// Returns every field of `t` that a request could change, as one line.
inline std::string fingerprint(const task_record& t) {
  std::ostringstream out;
  out << "task " << t.id << " of " << t.job << " a" << t.assessment << ' '
      << to_name(t.status) << ' ' << to_name(t.end_code) << " '"
      << t.error_message << "' exit " << t.exit_code << " node " << t.node
      << " times " << t.created.time_since_epoch().count() << '/'
      << t.submitted.time_since_epoch().count() << '/'
      << t.started.time_since_epoch().count() << '/'
      << t.ended.time_since_epoch().count() << " requeued " << t.requeue_count
      << " attempts " << t.attempts << " lost " << t.node_losses;
  return out.str();
}

/// Returns every field of `j` that a request could change, as one line.
inline std::string fingerprint(const job_record& j) {
  std::ostringstream out;
  out << "job " << j.id << " '" << j.name << "' " << to_name(j.status) << ' '
      << to_name(j.end_code) << " '" << j.error_message << "' current "
      << j.current << " times " << j.created.time_since_epoch().count() << '/'
      << j.submitted.time_since_epoch().count() << '/'
      << j.started.time_since_epoch().count() << '/'
      << j.ended.time_since_epoch().count() << " requeued " << j.requeue_count;
  for (const auto& a : j.assessments)
    out << " [" << a.index << ' ' << to_name(a.status) << ' '
        << to_name(a.outcome) << ' ' << a.tasks.size() << ']';
  return out.str();
}

} // namespace quiesce::reliability
