#pragma once

// Running the real `quiesce` binary in tests: a scratch directory per test,
// a child process with its output captured to files, and bounded waits.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace quiesce::test {

/// The built `quiesce` binary.
inline const std::string quiesce_binary = QUIESCE_BINARY;

/// The examples directory of the source tree.
inline const std::string examples_dir = QUIESCE_EXAMPLES_DIR;

/// A fresh directory under /tmp, removed with its content on destruction.
class scratch_dir {
public:
  /// Creates the directory.
  scratch_dir();

  /// Removes it recursively.
  ~scratch_dir();

  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  /// Returns the absolute path of `name` in the directory.
  std::string path(const std::string& name = {}) const;

  /// Writes `text` to `name` in the directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const;

private:
  std::string dir_;
};

/// Returns the content of the file at `path`, or "" if it cannot be read.
std::string read_file(const std::string& path);

/// Returns whether a file exists at `path`.
bool exists(const std::string& path);

/// How a child ended.
struct exit_info {
  /// Exit status, or -1 when killed by a signal or not ended.
  int status = -1;
  /// The signal that killed it, or 0.
  int signal = 0;
  /// True when it did not end in time and was killed.
  bool timed_out = false;
  /// Its stdout and stderr.
  std::string out;
  std::string err;
};

/// A `quiesce` process started in a scratch directory, with stdout and
/// stderr going to files there.
class child {
public:
  /// Starts `quiesce ARGS...` with `dir` as working directory; with a
  /// `terminal` path, stdout and stderr go to that terminal instead of files.
  /// `env` entries ("NAME=value", or "NAME" to unset) change the test's own
  /// environment for the child.
  child(const scratch_dir& dir, const std::vector<std::string>& args,
        const std::string& terminal = {},
        const std::vector<std::string>& env = {});

  /// Kills the child if it still runs, and reaps it.
  ~child();

  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// Returns the child's pid.
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Returns what the child wrote to stdout so far.
  std::string output() const;

  /// Returns what the child wrote to stderr so far.
  std::string errors() const;

  /// Sends `sig` to the child.
  void signal(int sig) const;

  /// Returns whether the child still runs (without reaping it).
  bool running() const;

  /// Waits up to `bound` for the child to exit; kills it after that.
  exit_info wait(std::chrono::milliseconds bound);

private:
  const scratch_dir& dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_;
  std::string err_;
};

/// A head in the development mode (`--dev`) on 127.0.0.1 with a port of its
/// own, started with `extra` options; the constructor waits until it
/// listens.
struct dev_head {
  explicit dev_head(const scratch_dir& dir,
                    const std::vector<std::string>& extra = {});

  std::unique_ptr<child> proc;
  uint16_t port = 0;
  /// "127.0.0.1:PORT".
  std::string address;
};

/// Runs `quiesce ARGS...` in `dir` to its end (at most `bound`).
exit_info
run_quiesce(const scratch_dir& dir, const std::vector<std::string>& args,
            std::chrono::milliseconds bound = std::chrono::seconds{60});

/// Runs `quiesce ARGS...` in `dir` with stdout and stderr on a pseudo
/// terminal of `columns` x `rows`; `out` holds what it drew. `term` is the
/// child's $TERM ("" unsets it).
exit_info run_quiesce_on_pty(const scratch_dir& dir,
                             const std::vector<std::string>& args,
                             std::chrono::milliseconds bound, int columns = 100,
                             int rows = 30, const std::string& term = "xterm");

/// Waits up to `bound` until `pred()` holds, polling every 50 ms; returns
/// whether it did.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return true;
}

/// Waits up to `bound` for a file to appear at `path`; returns whether it
/// did.
bool wait_for_file(const std::string& path, std::chrono::milliseconds bound);

/// Returns the pids of processes whose command line contains `marker`.
std::vector<pid_t> processes_with(const std::string& marker);

} // namespace quiesce::test
