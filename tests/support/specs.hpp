#pragma once

// Small builders for job specs used across the tests.

#include "messages/spec.hpp"
#include "support/processes.hpp"

#include <string>
#include <vector>

namespace quiesce::test {

/// Returns a function task running the registered work `work`.
inline task_spec fn_task(std::string work, std::vector<std::string> args = {},
                         std::string name = {}) {
  task_spec t;
  t.name = std::move(name);
  t.kind = work_kind::function;
  t.work = std::move(work);
  t.args = std::move(args);
  return t;
}

/// Returns a command task running `argv`.
inline task_spec cmd_task(std::vector<std::string> argv,
                          std::string name = {}) {
  task_spec t;
  t.name = std::move(name);
  t.kind = work_kind::command;
  t.command.argv = std::move(argv);
  return t;
}

/// Returns a command task running `script` with `sh -c`; with a `marker`, its
/// processes carry it in their environment (support/processes.hpp).
inline task_spec sh_task(const std::string& script,
                         const std::string& marker = {}) {
  auto t = cmd_task({"sh", "-c", script, "quiesce-test-sh"});
  if (!marker.empty())
    t.command.env[marker_var] = marker;
  return t;
}

/// Returns a job whose assessment `i` has `sizes[i]` copies of `task`.
inline job_spec uniform_job(const std::vector<size_t>& sizes,
                            const task_spec& task, std::string name = "job") {
  job_spec j;
  j.name = std::move(name);
  for (size_t i = 0; i < sizes.size(); ++i) {
    assessment_spec a;
    a.name = "assessment-" + std::to_string(i);
    a.tasks.assign(sizes[i], task);
    j.assessments.push_back(std::move(a));
  }
  return j;
}

} // namespace quiesce::test
