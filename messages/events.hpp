#pragma once

#include "messages/ids.hpp"
#include "messages/result_code.hpp"
#include "messages/status.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace quiesce {

/// What an event is about.
enum class event_kind : uint8_t {
  /// A job's status changed (begin, cancelling, end, requeue, ...).
  job = 0,
  /// An assessment began or completed.
  assessment = 1,
  /// A task's status changed.
  task = 2,
  /// A running task reported progress.
  progress = 3,
};

/// Returns the stable name of `x`.
std::string to_string(event_kind x);

/// Returns true if `x` is a status of the entity an event of kind `kind` is
/// about: a job_status for job events, an assessment_status for assessment
/// events and a task_status for task and progress events.
bool fits(event_kind kind, const entity_status& x) noexcept;

/// One status change, published once, in order per job.
struct event {
  /// Position in the supervisor's stream (strictly increasing).
  uint64_t seq = 0;
  /// The job concerned.
  job_id job = invalid_id;
  /// What changed.
  event_kind kind = event_kind::job;
  /// The assessment index (assessment events) or task id (task and
  /// progress events); 0 for job events.
  uint64_t subject = 0;
  /// Status before and after: a job_status, assessment_status or
  /// task_status as `kind` says (see `fits`). For progress events both are
  /// the task's status and `percent` says how far it is.
  entity_status previous;
  entity_status current;
  /// The code that goes with the change (end code, outcome, refusal).
  result_code code = result_code::ok;
  /// The message that goes with the change (cancel reason, error, progress
  /// text).
  std::string message;
  /// Who asked, for changes caused by a request: client or node name.
  std::string who;
  /// Progress in percent (progress events only).
  uint8_t percent = 0;
  /// When the supervisor applied the change.
  caf::timestamp time{};
};

/// Inspects an event. Loading refuses an event whose statuses do not fit
/// its kind, so readers may take the alternative `kind` names.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  auto check = [&x]() -> caf::error {
    if (!fits(x.kind, x.previous) || !fits(x.kind, x.current))
      return make_error(result_code::invalid_argument,
                        "event statuses do not fit its kind");
    return caf::none;
  };
  return f(caf::meta::type_name("quiesce.event"), x.seq, x.job, x.kind,
           x.subject, x.previous, x.current, x.code, x.message, x.who,
           x.percent, x.time, caf::meta::load_callback(check));
}

/// Several events in stream order, sent as one message when one step of
/// the supervisor made several changes (docs/performance.md).
struct event_batch {
  std::vector<event> events;
};

/// Inspects an event_batch.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_batch& x) {
  return f(caf::meta::type_name("quiesce.event_batch"), x.events);
}

/// Returns a one-line readable rendering of `x`.
std::string describe(const event& x);

} // namespace quiesce
