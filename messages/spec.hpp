#pragma once

#include "execution/command.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/timestamp.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace quiesce {

/// What kind of work a task does.
enum class work_kind : uint8_t {
  /// A command: argv run in its own process group.
  command = 0,
  /// A function registered by the embedding program under a name.
  function = 1,
};

/// Returns the stable name of `x`: "command" or "function".
std::string to_string(work_kind x);

/// What a command task runs (execution/command.hpp: argv, env, workdir,
/// stdout_path, stderr_path).
using command_spec = process::command_line;

namespace process {

/// Inspects resource limits (found by argument-dependent lookup).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_limits& x) {
  return f(caf::meta::type_name("quiesce.resource_limits"), x.memory_max,
           x.cpu_millis, x.pids_max);
}

/// Inspects a command line (found by argument-dependent lookup).
/// On the wire as a `std::map` of strings is: a sequence of (name, value)
/// pairs. Read back in any order, it is sorted again.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, environment& x) {
  return f(x.items(), caf::meta::load_callback([&x]() -> caf::error {
             x.normalize();
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_line& x) {
  return f(caf::meta::type_name("quiesce.command_spec"), x.argv, x.env,
           x.workdir, x.stdout_path, x.stderr_path, x.limits);
}

} // namespace process

/// One task of an assessment.
struct task_spec {
  // Members are ordered to avoid padding: a million queued tasks each hold
  // one (docs/performance.md). `inspect` fixes the wire order.

  /// A name for humans, unique within its job when given.
  std::string name;
  /// The command, when `kind == command`.
  command_spec command;
  /// The registered work name, when `kind == function`.
  std::string work;
  /// Arguments passed to the work function.
  std::vector<std::string> args;
  /// A node label the task must run on; empty means any node.
  std::string label;
  /// Wall-clock limit for one attempt; zero means none.
  caf::timespan time_limit{0};
  /// Time between a stop request and a kill; negative means the job's.
  caf::timespan grace{-1};
  /// Signal sent to the process group on a stop request.
  int32_t stop_signal = 15; // SIGTERM
  /// Command or registered function.
  work_kind kind = work_kind::command;
  /// False forbids requeueing the task.
  bool rerunnable = true;
};

/// Inspects a task_spec.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_spec& x) {
  return f(caf::meta::type_name("quiesce.task_spec"), x.name, x.kind, x.command,
           x.work, x.args, x.time_limit, x.stop_signal, x.grace, x.rerunnable,
           x.label);
}

/// An ordered step of a job: a set of tasks that may run in parallel.
struct assessment_spec {
  /// A name for humans.
  std::string name;
  /// The tasks; at least one.
  std::vector<task_spec> tasks;
};

/// Inspects an assessment_spec.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assessment_spec& x) {
  return f(caf::meta::type_name("quiesce.assessment_spec"), x.name, x.tasks);
}

/// How a job reacts to failures and stop requests.
struct job_policy {
  /// A failed or cancelled assessment ends the job (`failed`) when true.
  bool stop_on_assessment_error = false;
  /// Time between a stop request and a kill.
  caf::timespan grace = std::chrono::seconds{5};
  /// Automatic requeues of a task whose node was lost.
  uint32_t retries = 3;
  /// On `cancel_job`, also send running commands of the current assessment
  /// their stop signal (functions always see the stop request).
  bool stop_commands_on_cancel = false;
};

/// Inspects a job_policy.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_policy& x) {
  return f(caf::meta::type_name("quiesce.job_policy"),
           x.stop_on_assessment_error, x.grace, x.retries,
           x.stop_commands_on_cancel);
}

/// A job definition: ordered assessments plus a policy.
struct job_spec {
  /// A name for humans.
  std::string name;
  /// The assessments, run one at a time in this order.
  std::vector<assessment_spec> assessments;
  /// Failure and stop policy.
  job_policy policy;
};

/// Inspects a job_spec.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return f(caf::meta::type_name("quiesce.job_spec"), x.name, x.assessments,
           x.policy);
}

} // namespace quiesce
