#pragma once

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "messages/spec.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace quiesce::config {

/// The content of a validated job file.
struct job_file {
  /// The jobs, in file order.
  std::vector<job_spec> jobs;
  /// The runtime settings: the defaults given to the loader, overridden by
  /// the file's `[runtime]` table.
  settings runtime;
  /// True when the file has a `[runtime]` table.
  bool has_runtime = false;
};

/// The outcome of loading a file: its content, or every problem found.
struct load_result {
  /// The content; left default-constructed (no jobs) when `errors` is not
  /// empty, so that nothing of a bad file can run.
  job_file file;
  /// Every problem found, sorted by line and column.
  std::vector<diagnostic> errors;
  /// Returns whether the file passed validation.
  bool ok() const {
    return errors.empty();
  }
};

/// Files larger than this are refused before parsing.
inline constexpr size_t max_file_size = size_t{16} * 1024 * 1024;

/// Returns the jobs of the file at `path`, validated; `defaults` supplies
/// the runtime settings (and thereby each job's default grace and retries)
/// that the file's `[runtime]` table does not set. A missing or unreadable
/// file yields one diagnostic with line 0.
load_result load_job_file(const std::string& path,
                          const settings& defaults = {});

/// Returns the jobs of the TOML document `text`, validated; diagnostics name
/// `source_name`, and relative paths are resolved against its directory.
load_result parse_job_file(std::string_view text,
                           const std::string& source_name,
                           const settings& defaults = {});

/// Returns the settings of the runtime file at `path`: a file that holds a
/// `[runtime]` table and nothing else. The result has no jobs and
/// `has_runtime` set.
load_result load_runtime_file(const std::string& path,
                              const settings& defaults = {});

/// Returns the settings of the runtime document `text` (see
/// `load_runtime_file`); diagnostics name `source_name`.
load_result parse_runtime_file(std::string_view text,
                               const std::string& source_name,
                               const settings& defaults = {});

/// Returns a human description of what `x` would run: the runtime settings,
/// then each job with its policy, its assessments in order and their tasks
/// with command or work and options.
std::string summarize(const job_file& x);

} // namespace quiesce::config
