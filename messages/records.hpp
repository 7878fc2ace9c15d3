#pragma once

#include "messages/ids.hpp"
#include "messages/result_code.hpp"
#include "messages/spec.hpp"
#include "messages/status.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include <string>
#include <vector>

namespace quiesce {

/// The books' entry for one task. Only the supervisor writes these.
struct task_record {
  // Members are ordered to avoid padding (see task_spec); `inspect` fixes the
  // wire order.

  /// The task's id within its job.
  task_id id = invalid_id;
  /// The job it belongs to.
  job_id job = invalid_id;
  /// The last message set: a cancel reason or a runtime error.
  std::string error_message;
  /// Node of the last attempt; empty if it never ran.
  std::string node;
  /// Times: creation, submission, start and end of the last attempt.
  caf::timestamp created{};
  caf::timestamp submitted{};
  caf::timestamp started{};
  caf::timestamp ended{};
  /// CPU time of the last ended attempt (zero when unknown).
  caf::timespan cpu_time{0};
  /// Peak memory in bytes of the last ended attempt (zero when unknown).
  uint64_t peak_memory = 0;
  /// The assessment it belongs to.
  assessment_index assessment = 0;
  /// Exit code of the last process attempt; -1 when none exited.
  int32_t exit_code = -1;
  /// Times the task was requeued (by request or after a lost node).
  uint32_t requeue_count = 0;
  /// Attempts started so far.
  uint32_t attempts = 0;
  /// Attempts lost with their node (automatic requeues so far).
  uint32_t node_losses = 0;
  /// Current status.
  task_status status = task_status::not_submitted;
  /// End code of the last attempt (`ok` while none ended).
  result_code end_code = result_code::ok;
  /// The definition.
  task_spec spec;
};

/// Inspects a task_record.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_record& x) {
  return f(caf::meta::type_name("quiesce.task_record"), x.id, x.job,
           x.assessment, x.status, x.end_code, x.error_message, x.exit_code,
           x.node, x.created, x.submitted, x.started, x.ended, x.requeue_count,
           x.attempts, x.node_losses, x.spec, x.cpu_time, x.peak_memory);
}

/// The books' entry for one assessment of a job.
struct assessment_record {
  /// Position in the job.
  assessment_index index = 0;
  /// A name for humans.
  std::string name;
  /// Current status.
  assessment_status status = assessment_status::not_yet_run;
  /// Outcome once completed: ok, assessment_failed, assessment_cancelled or
  /// assessment_terminated.
  result_code outcome = result_code::ok;
  /// Start and end times.
  caf::timestamp started{};
  caf::timestamp ended{};
  /// The ids of its tasks, in order.
  std::vector<task_id> tasks;
};

/// Inspects an assessment_record.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assessment_record& x) {
  return f(caf::meta::type_name("quiesce.assessment_record"), x.index, x.name,
           x.status, x.outcome, x.started, x.ended, x.tasks);
}

/// Where a node put a job's default output files: the directory it chose
/// for the job (absolute, with a trailing '/'), reported before the first
/// attempt of the job that it runs writes there.
struct output_dir {
  /// The node's name.
  std::string node;
  /// The directory.
  std::string dir;
};

/// Inspects an output_dir.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_dir& x) {
  return f(caf::meta::type_name("quiesce.output_dir"), x.node, x.dir);
}

/// The books' entry for one job.
struct job_record {
  /// The job's id.
  job_id id = invalid_id;
  /// A name for humans.
  std::string name;
  /// Current status.
  job_status status = job_status::not_submitted;
  /// End code: ok, job_failed or job_cancelled.
  result_code end_code = result_code::ok;
  /// The last message set: a cancel reason or a runtime error.
  std::string error_message;
  /// Index of the current assessment, or -1 when none runs.
  int32_t current = -1;
  /// Times: creation, submission, start, end.
  caf::timestamp created{};
  caf::timestamp submitted{};
  caf::timestamp started{};
  caf::timestamp ended{};
  /// Times the job was requeued.
  uint32_t requeue_count = 0;
  /// Who submitted it (client or node name).
  std::string owner;
  /// Failure and stop policy.
  job_policy policy;
  /// The assessments, in order.
  std::vector<assessment_record> assessments;
  /// The output directory of the job on each node that ran a command of it
  /// (one per node, not per task: see `output_paths`).
  std::vector<output_dir> output_dirs;
};

/// Inspects a job_record.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_record& x) {
  return f(caf::meta::type_name("quiesce.job_record"), x.id, x.name, x.status,
           x.end_code, x.error_message, x.current, x.created, x.submitted,
           x.started, x.ended, x.requeue_count, x.owner, x.policy,
           x.assessments, x.output_dirs);
}

/// The files a task's last attempt writes its standard output and error
/// to; empty when not known.
struct output_paths {
  std::string stdout_path;
  std::string stderr_path;
};

/// Returns the default file of `stream` ("stdout" or "stderr") of attempt
/// `attempt` of task `task` in the job directory `dir` (with its trailing
/// '/'): the node writes there, and `output_paths_of` shows it.
std::string default_output_file(const std::string& dir, task_id task,
                                uint32_t attempt, const char* stream);

/// Returns where the last attempt of `task` (a task of `job`) writes its
/// output: a path its command names (joined to its working directory when
/// that is absolute and the path is not), or else the default file of that
/// attempt in the job's directory on the task's node. Empty for a work
/// function, a task that never started, or a directory not reported yet.
output_paths output_paths_of(const job_record& job, const task_record& task);

} // namespace quiesce
