#pragma once

// Helpers shared by the reliability tests: a temporary directory, process
// markers and a /proc scan for processes left behind, bounded polling,
// readable Catch2 output for Quiesce's enums, the allowed status edges of
// docs/semantics.md, and record fingerprints for "nothing changed" checks.
//
// Processes are found by an environment marker, which every descendant of a
// command inherits (an argv marker is not: a shell that execs drops it).

#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/records.hpp"
#include "messages/status.hpp"

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

namespace Catch {

template <>
struct StringMaker<quiesce::task_status> {
  static std::string convert(quiesce::task_status x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::job_status> {
  static std::string convert(quiesce::job_status x) {
    return quiesce::to_string(x);
  }
};

template <>
struct StringMaker<quiesce::result_code> {
  static std::string convert(quiesce::result_code x) {
    return quiesce::to_string(x);
  }
};

} // namespace Catch

namespace quiesce::reliability {

/// The environment variable that marks the processes of one test.
inline constexpr const char* marker_var = "QUIESCE_RELIABILITY_MARKER";

/// A fresh directory under /tmp, removed with its contents at the end.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = "/tmp/quiesce-rel-XXXXXX";
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
  return "rel" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-"
         + std::to_string(++counter);
}

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

/// Polls `pred` every few milliseconds until it holds or `bound` passes.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds bound) {
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

/// Returns the zombie children of this process.
inline std::vector<proc_stat> zombie_children() {
  std::vector<proc_stat> out;
  for (auto& st : all_processes())
    if (st.state == 'Z' && st.ppid == ::getpid())
      out.push_back(st);
  return out;
}

// -- allowed edges ------------------------------------------------------------

/// One status change of one kind of entity: (kind, from, to).
using edge = std::tuple<event_kind, uint8_t, uint8_t>;

/// Returns every status change docs/semantics.md allows (sections 3 to 6),
/// per kind of entity. Anything else in an event stream is a defect.
inline const std::set<edge>& allowed_edges() {
  static const std::set<edge> edges = [] {
    std::set<edge> out;
    auto job = [&](job_status from, job_status to) {
      out.emplace(event_kind::job, static_cast<uint8_t>(from),
                  static_cast<uint8_t>(to));
    };
    auto as = [&](assessment_status from, assessment_status to) {
      out.emplace(event_kind::assessment, static_cast<uint8_t>(from),
                  static_cast<uint8_t>(to));
    };
    auto task = [&](task_status from, task_status to) {
      out.emplace(event_kind::task, static_cast<uint8_t>(from),
                  static_cast<uint8_t>(to));
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

/// Returns a readable name of status `value` of an entity of kind `kind`.
inline std::string status_name(event_kind kind, uint8_t value) {
  switch (kind) {
    case event_kind::job:
      return std::string{to_name(static_cast<job_status>(value))};
    case event_kind::assessment:
      return std::string{to_name(static_cast<assessment_status>(value))};
    default:
      return std::string{to_name(static_cast<task_status>(value))};
  }
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
