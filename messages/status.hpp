#pragma once

#include <caf/variant.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace quiesce {

/// The lifecycle of a job. Values 0..5 match the reference `JobStatus`;
/// `cancelling` is Quiesce's own: cancel requested, current assessment still
/// running to completion.
enum class job_status : uint8_t {
  not_submitted = 0,
  queued = 1,
  running = 2,
  finished = 3,
  failed = 4,
  cancelled = 5,
  cancelling = 6,
};

/// The lifecycle of a task. Values match the reference `TaskStatus`.
enum class task_status : uint8_t {
  not_submitted = 0,
  queued = 1,
  running = 2,
  finished = 3,
  failed = 4,
  cancelled = 5,
};

/// The lifecycle of an assessment; a completed one also has an outcome code.
enum class assessment_status : uint8_t {
  not_yet_run = 0,
  running = 1,
  completed = 2,
};

/// Whether the supervisor can place work on a node.
enum class node_status : uint8_t {
  /// Joined and monitored: its free slots take work.
  ready = 0,
  /// Lost (down, or an attempt was lost with it): takes no work until it
  /// joins again.
  unreachable = 1,
};

/// The status of a job, an assessment or a task: what an event or a rules
/// transition carries as "before" and "after". The alternative says which
/// kind of entity the status belongs to.
using entity_status = caf::variant<job_status, assessment_status, task_status>;

/// Returns true if `x` holds the status `y` (of the same entity kind).
template <class Status>
bool is(const entity_status& x, Status y) noexcept {
  auto p = caf::get_if<Status>(&x);
  return p != nullptr && *p == y;
}

/// Returns true if `x` is final (until a requeue).
constexpr bool is_terminal(job_status x) noexcept {
  return x == job_status::finished || x == job_status::failed
         || x == job_status::cancelled;
}

/// Returns true if `x` is final (until a requeue).
constexpr bool is_terminal(task_status x) noexcept {
  return x == task_status::finished || x == task_status::failed
         || x == task_status::cancelled;
}

/// Returns the stable name of `x`, e.g. "cancelling".
std::string_view to_name(job_status x) noexcept;

/// Returns the stable name of `x`, e.g. "not_submitted".
std::string_view to_name(task_status x) noexcept;

/// Returns the stable name of `x`, e.g. "not_yet_run".
std::string_view to_name(assessment_status x) noexcept;

/// Returns the stable name of `x`, e.g. "unreachable".
std::string_view to_name(node_status x) noexcept;

/// Parses a job status name; returns false if unknown.
bool from_name(std::string_view name, job_status& x) noexcept;

/// Parses a task status name; returns false if unknown.
bool from_name(std::string_view name, task_status& x) noexcept;

/// Parses a node status name; returns false if unknown.
bool from_name(std::string_view name, node_status& x) noexcept;

/// Returns the name of `x` (for CAF's `deep_to_string`).
std::string to_string(job_status x);

/// Returns the name of `x` (for CAF's `deep_to_string`).
std::string to_string(task_status x);

/// Returns the name of `x` (for CAF's `deep_to_string`).
std::string to_string(assessment_status x);

/// Returns the name of `x` (for CAF's `deep_to_string`).
std::string to_string(node_status x);

// caf::variant converts implicitly from any type, so a plain overload taking
// an entity_status would match every argument (and CAF's has_to_string would
// find a to_string for every Quiesce type). These templates match an
// entity_status and nothing else.

/// Returns the stable name of the status `x` holds, e.g. "not_yet_run".
template <class T, class = std::enable_if_t<std::is_same_v<T, entity_status>>>
std::string_view to_name(const T& x) noexcept {
  if (auto s = caf::get_if<job_status>(&x))
    return to_name(*s);
  if (auto s = caf::get_if<assessment_status>(&x))
    return to_name(*s);
  return to_name(caf::get<task_status>(x));
}

/// Returns the name of the status `x` holds (for CAF's `deep_to_string`).
template <class T, class = std::enable_if_t<std::is_same_v<T, entity_status>>>
std::string to_string(const T& x) {
  return std::string{to_name(x)};
}

} // namespace quiesce
