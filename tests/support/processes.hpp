#pragma once

// Helpers for tests that run real processes (execution/launcher_test.cpp,
// runtime/process_test.cpp and the reliability tests): a temporary directory,
// process markers and a /proc scan for processes left behind, and bounded
// polling. Plain POSIX and the standard library only, so that a test binary
// that links no Quiesce message (the launcher's) can use it too;
// support/printers.hpp has the Catch2 output of Quiesce's enums.
//
// Processes are found by an environment marker, which every descendant of a
// command inherits (an argv marker is not: a grandchild does not carry it,
// and a shell that execs its last command, as bash does, drops it).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace quiesce::test {

/// The environment variable that marks the processes of one test.
inline constexpr const char* marker_var = "QUIESCE_TEST_MARKER";

/// A fresh directory under /tmp, removed with its contents at the end.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = "/tmp/quiesce-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Returns the directory.
  const std::string& path() const noexcept {
    return path_;
  }

  /// Returns `name` inside the directory.
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

/// Returns a marker value no other test run uses.
inline std::string unique_marker() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "m" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-"
         + std::to_string(++counter);
}

/// Polls `pred` every few milliseconds until it holds or `bound` passes.
template <class Pred>
bool wait_until(Pred pred,
                std::chrono::milliseconds bound = std::chrono::seconds{5}) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (pred())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

/// Returns the content of the file at `path` ("" when unreadable).
inline std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The parts of /proc/<pid>/stat the tests need.
struct proc_stat {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

/// Returns the state of process `pid`, if it exists.
inline std::optional<proc_stat> read_stat(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(in, line))
    return std::nullopt;
  // The command name is in parentheses and may hold spaces or parentheses.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest{line.substr(close + 1)};
  proc_stat st;
  st.pid = pid;
  rest >> st.state >> st.ppid >> st.pgrp;
  if (!rest)
    return std::nullopt;
  return st;
}

/// Returns every process of the machine.
inline std::vector<proc_stat> all_processes() {
  std::vector<proc_stat> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    if (auto st = read_stat(static_cast<pid_t>(std::stol(name))))
      out.push_back(*st);
  }
  return out;
}

/// Returns whether process `pid` carries `marker` in its environment.
inline bool has_marker(pid_t pid, const std::string& marker) {
  auto env = slurp("/proc/" + std::to_string(pid) + "/environ");
  auto wanted = std::string{marker_var} + "=" + marker;
  std::string_view rest{env};
  while (!rest.empty()) {
    auto end = rest.find('\0');
    if (rest.substr(0, end) == wanted)
      return true;
    if (end == std::string_view::npos)
      break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

/// Returns the processes (zombies included) carrying `marker`.
inline std::vector<proc_stat> marked(const std::string& marker) {
  std::vector<proc_stat> out;
  for (auto& st : all_processes())
    if (has_marker(st.pid, marker))
      out.push_back(st);
  return out;
}

/// Returns every process (zombies included) in process group `pgid`.
inline std::vector<proc_stat> group_members(pid_t pgid) {
  std::vector<proc_stat> out;
  for (auto& st : all_processes())
    if (st.pgrp == pgid)
      out.push_back(st);
  return out;
}

/// Returns the zombie children of this process.
inline std::vector<proc_stat> zombie_children() {
  std::vector<proc_stat> out;
  for (auto& st : all_processes())
    if (st.state == 'Z' && st.ppid == ::getpid())
      out.push_back(st);
  return out;
}

/// Returns how many live processes (zombies aside) carry `marker`.
inline size_t alive_count(const std::string& marker) {
  size_t n = 0;
  for (auto& p : marked(marker))
    n += p.state != 'Z' ? 1 : 0;
  return n;
}

/// Returns whether no live process carries `marker`. Reaps the zombie
/// children of this process meanwhile: orphans of killed commands come back
/// to it when it is a subreaper (it ran a launcher).
inline bool none_alive(const std::string& marker) {
  for (auto& z : zombie_children())
    ::waitpid(z.pid, nullptr, WNOHANG);
  return alive_count(marker) == 0;
}

} // namespace quiesce::test
