#pragma once

// A command line with its environment, working directory and output files:
// what a command task says to run (`quiesce::command_spec`, which travels to
// nodes) and what the launcher starts. Plain data, no CAF.

#include <map>
#include <string>
#include <vector>

namespace quiesce::process {

/// One command line to run.
struct command_line {
  /// Program and arguments. `argv[0]` is searched on PATH (the PATH of `env`
  /// when it sets one, else the inherited one) unless it contains a '/'; a
  /// relative path is relative to `workdir`.
  std::vector<std::string> argv;
  /// Variables added to, or replacing those of, the inherited environment.
  std::map<std::string, std::string> env;
  /// Working directory; empty inherits the caller's.
  std::string workdir;
  /// File receiving standard output, created or truncated with mode 0644 (a
  /// relative path is relative to `workdir`). In a task spec, empty means a
  /// file per attempt under the node's run directory; to the launcher,
  /// empty means /dev/null.
  std::string stdout_path;
  /// File receiving standard error, as `stdout_path`. When both name the
  /// same path, they share one descriptor (as `2>&1` does).
  std::string stderr_path;
};

} // namespace quiesce::process
