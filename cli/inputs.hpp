#pragma once

// Loading what a command runs: a job file over an optional runtime file, and
// the checks `quiesce run` adds to the file's own validation.

#include "config/diagnostic.hpp"
#include "config/job_file.hpp"

#include <string>
#include <vector>

namespace quiesce::cli {

/// Returns the job file at `path` loaded over the runtime file at
/// `runtime_path` (when not empty) over `base`: the runtime file's settings
/// are the defaults that the job file's `[runtime]` table overrides. When the
/// runtime file has errors, they are returned and the job file is not read.
config::load_result load_inputs(const std::string& path,
                                const std::string& runtime_path,
                                const settings& base = {});

/// Returns one problem for every task of `file` that `quiesce run` cannot
/// run: tasks of work functions, since the command registers none (only an
/// embedding program can run them). `path` names the file.
std::vector<config::diagnostic> unrunnable_tasks(const config::job_file& file,
                                                 const std::string& path);

/// What this machine's cgroups make of the resource limits of `file`.
struct limit_check {
  /// With `strict_limits`: one error per task with a limit this machine
  /// cannot enforce.
  std::vector<config::diagnostic> errors;
  /// Without it: one line naming each limit the tasks set that is not
  /// enforced here, and why; empty when all are.
  std::string note;
};

/// Checks the limits of `file`'s command tasks against this machine
/// (`process::probe_limits`); `path` names the file.
limit_check check_limits(const config::job_file& file, const std::string& path);

} // namespace quiesce::cli
