#include "actors/rules.hpp"

#include "messages/text.hpp"

#include <algorithm>
#include <cassert>

namespace quiesce {

namespace {

decision refuse(result_code code, std::string detail) {
  decision d;
  d.code = code;
  d.detail = std::move(detail);
  return d;
}

std::string job_name(const job_books& b) {
  return "job " + std::to_string(b.job.id);
}

std::string task_name(const task_record& t) {
  return "task " + std::to_string(t.id);
}

// The way to rerun task `t` of a terminal job: a failed task comes back with
// its job, a cancelled one only when the job's cancelled tasks are asked for.
std::string requeue_hint(const job_books& b, const task_record& t) {
  if (t.status == task_status::cancelled)
    return "; requeue the job with its cancelled tasks (quiesce requeue job "
           + std::to_string(b.job.id) + " --cancelled)";
  return "; requeue the job (quiesce requeue job " + std::to_string(b.job.id)
         + ")";
}

bool is_active(job_status x) {
  return x == job_status::running || x == job_status::cancelling;
}

// A message that names whatever cancelled a task when the caller gave none.
std::string or_default(const std::string& message, std::string fallback) {
  if (message.empty())
    return fallback;
  return message;
}

// Appends the cancellation of every non-terminal task matching `pred`,
// collecting the running ones in `d.stop`.
template <class Pred>
void cancel_where(const job_books& b, decision& d, const std::string& message,
                  Pred pred) {
  for (const auto& t : b.tasks) {
    if (is_terminal(t.status) || !pred(t))
      continue;
    if (t.status == task_status::running)
      d.stop.push_back(t.id);
    d.changes.push_back(task_change(t.id, t.status, task_status::cancelled,
                                    result_code::task_cancelled, message));
  }
}

} // namespace

// -- books
// ----------------------------------------------------------------------

const task_record* job_books::find(task_id id) const noexcept {
  if (id == invalid_id || id > tasks.size())
    return nullptr;
  return &tasks[id - 1];
}

task_record* job_books::find(task_id id) noexcept {
  if (id == invalid_id || id > tasks.size())
    return nullptr;
  return &tasks[id - 1];
}

transition job_change(job_status from, job_status to, result_code code,
                      std::string message) {
  return {event_kind::job, 0, from, to, code, std::move(message)};
}

transition assessment_change(assessment_index index, assessment_status from,
                             assessment_status to, result_code code) {
  return {event_kind::assessment, index, from, to, code, {}};
}

transition task_change(task_id id, task_status from, task_status to,
                       result_code code, std::string message) {
  return {event_kind::task, id, from, to, code, std::move(message)};
}

// -- validation
// -----------------------------------------------------------------

decision validate(const task_spec& spec) {
  if (spec.kind == work_kind::command) {
    if (spec.command.argv.empty() || spec.command.argv[0].empty())
      return refuse(result_code::invalid_argument,
                    "a command task needs a non-empty argv");
  } else if (spec.work.empty()) {
    return refuse(result_code::invalid_argument,
                  "a function task needs a work name");
  }
  if (spec.time_limit.count() < 0)
    return refuse(result_code::invalid_argument,
                  "the time limit must not be negative");
  if (spec.stop_signal < 1 || spec.stop_signal > 64)
    return refuse(result_code::invalid_argument,
                  "the stop signal must be between 1 and 64");
  if (spec.grace.count() < -1)
    return refuse(result_code::invalid_argument,
                  "the grace period must not be negative");
  if (auto code = check_message(spec.name); code != result_code::ok)
    return refuse(result_code::invalid_argument,
                  describe_message_problem("the task name", spec.name));
  using limits_t = process::resource_limits;
  const auto& lim = spec.command.limits;
  if (spec.kind != work_kind::command && lim.any())
    return refuse(result_code::invalid_argument,
                  "resource limits apply to command tasks only");
  if (lim.memory_max != 0 && lim.memory_max < limits_t::min_memory_max)
    return refuse(result_code::invalid_argument,
                  "memory_max must be at least 1 MiB");
  if (lim.cpu_millis != 0
      && (lim.cpu_millis < limits_t::min_cpu_millis
          || lim.cpu_millis > limits_t::max_cpu_millis))
    return refuse(result_code::invalid_argument,
                  "cpus must be from 0.01 to 1024 (cpu_millis 10 to 1024000)");
  if (lim.pids_max > limits_t::max_pids_max)
    return refuse(result_code::invalid_argument,
                  "pids_max must be at most 4194304");
  return {};
}

decision validate(const job_spec& spec) {
  if (auto code = check_message(spec.name); code != result_code::ok)
    return refuse(result_code::invalid_argument,
                  describe_message_problem("the job name", spec.name));
  if (spec.policy.grace.count() < 0)
    return refuse(result_code::invalid_argument,
                  "the grace period must not be negative");
  for (size_t i = 0; i < spec.assessments.size(); ++i) {
    const auto& a = spec.assessments[i];
    if (a.tasks.empty())
      return refuse(result_code::invalid_argument,
                    "assessment " + std::to_string(i) + " has no tasks");
    for (size_t k = 0; k < a.tasks.size(); ++k) {
      if (auto d = validate(a.tasks[k]); !d) {
        d.detail = "assessment " + std::to_string(i) + ", task "
                   + std::to_string(k) + ": " + d.detail;
        return d;
      }
    }
  }
  return {};
}

// -- requests
// -------------------------------------------------------------------

decision decide(const job_books& b, const add_task& req) {
  if (b.job.status != job_status::not_submitted)
    return refuse(result_code::invalid_state,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  if (req.assessment > b.job.assessments.size())
    return refuse(result_code::invalid_argument,
                  "assessment index " + std::to_string(req.assessment)
                      + " is past the end (the job has "
                      + std::to_string(b.job.assessments.size())
                      + " assessments)");
  return validate(req.spec);
}

decision decide(const job_books& b, const submit_job&) {
  if (b.job.status != job_status::not_submitted)
    return refuse(result_code::invalid_state,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  decision d;
  d.changes.push_back(
      job_change(job_status::not_submitted, job_status::queued));
  for (const auto& t : b.tasks)
    if (t.status == task_status::not_submitted)
      d.changes.push_back(
          task_change(t.id, task_status::not_submitted, task_status::queued));
  return d;
}

decision decide(const job_books& b, const cancel_job& req) {
  // The message is checked before the state, as for every request.
  if (auto code = check_message(req.message); code != result_code::ok)
    return refuse(code,
                  describe_message_problem("the cancel message", req.message));
  if (is_terminal(b.job.status))
    return refuse(result_code::no_job_running,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  if (b.job.status == job_status::cancelling)
    return refuse(result_code::invalid_state,
                  job_name(b) + " is already cancelling");
  auto message = or_default(req.message, "cancelled with " + job_name(b));
  decision d;
  if (b.job.status == job_status::running) {
    // Finish-current-assessment: running work of the current assessment is
    // asked to stop and runs to completion; nothing else starts.
    d.changes.push_back(job_change(job_status::running, job_status::cancelling,
                                   result_code::job_cancelled, req.message));
    d.mode = stop_mode::request;
    for (const auto& t : b.tasks) {
      if (t.status == task_status::running)
        d.stop.push_back(t.id);
      else if (!is_terminal(t.status))
        d.changes.push_back(task_change(t.id, t.status, task_status::cancelled,
                                        result_code::task_cancelled, message));
    }
    return d;
  }
  // Not running yet: everything is cancelled at once.
  cancel_where(b, d, message, [](const task_record&) { return true; });
  d.changes.push_back(job_change(b.job.status, job_status::cancelled,
                                 result_code::job_cancelled, req.message));
  return d;
}

decision decide(const job_books& b, const cancel_assessment& req) {
  if (!is_active(b.job.status))
    return refuse(result_code::no_job_running,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  if (b.job.current < 0
      || req.index != static_cast<assessment_index>(b.job.current))
    return refuse(result_code::invalid_index,
                  "assessment " + std::to_string(req.index)
                      + " is not the running assessment"
                      + (b.job.current < 0
                             ? std::string{}
                             : " (" + std::to_string(b.job.current) + " is)"));
  const auto& a = b.job.assessments[req.index];
  if (a.outcome == result_code::assessment_cancelled)
    return refuse(result_code::invalid_state, "assessment "
                                                  + std::to_string(req.index)
                                                  + " is already cancelling");
  decision d;
  d.mode = stop_mode::graceful;
  // The outcome is fixed now; the status completes once its work is gone.
  d.changes.push_back(assessment_change(req.index, assessment_status::running,
                                        assessment_status::running,
                                        result_code::assessment_cancelled));
  auto message = "assessment " + std::to_string(req.index) + " cancelled";
  cancel_where(b, d, message,
               [&](const task_record& t) { return t.assessment == req.index; });
  return d;
}

decision decide(const job_books& b, const terminate_job&) {
  if (is_terminal(b.job.status))
    return refuse(result_code::no_job_running,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  decision d;
  d.mode = stop_mode::kill;
  cancel_where(b, d, "terminated with " + job_name(b),
               [](const task_record&) { return true; });
  if (b.job.current >= 0) {
    auto index = static_cast<assessment_index>(b.job.current);
    d.changes.push_back(assessment_change(index, assessment_status::running,
                                          assessment_status::completed,
                                          result_code::assessment_terminated));
  }
  d.changes.push_back(job_change(b.job.status, job_status::cancelled,
                                 result_code::job_cancelled, "terminated"));
  return d;
}

decision decide(const job_books& b, const cancel_task& req) {
  const auto* t = b.find(req.task);
  if (t == nullptr)
    return refuse(result_code::task_not_found,
                  "no task " + std::to_string(req.task) + " in " + job_name(b));
  if (auto code = check_message(req.message); code != result_code::ok)
    return refuse(code,
                  describe_message_problem("the cancel message", req.message));
  if (is_terminal(t->status))
    return refuse(result_code::invalid_state,
                  task_name(*t) + " is " + std::string{to_name(t->status)});
  decision d;
  d.mode = stop_mode::graceful;
  if (t->status == task_status::running)
    d.stop.push_back(t->id);
  d.changes.push_back(task_change(t->id, t->status, task_status::cancelled,
                                  result_code::task_cancelled,
                                  or_default(req.message, "cancelled")));
  return d;
}

decision decide(const job_books& b, const cancel_tasks& req) {
  decision d;
  d.mode = stop_mode::graceful;
  if (req.tasks.empty())
    return refuse(result_code::invalid_argument, "no task ids given");
  d.codes.assign(req.tasks.size(), result_code::not_attempted);
  for (size_t i = 0; i < req.tasks.size(); ++i) {
    auto one = decide(b, cancel_task{req.job, req.tasks[i], req.message, {}});
    // A duplicate id in the list is refused like a second request would be.
    auto seen = std::any_of(
        d.changes.begin(), d.changes.end(),
        [&](const transition& c) { return c.subject == req.tasks[i]; });
    if (one && seen)
      one = refuse(result_code::invalid_state,
                   "task " + std::to_string(req.tasks[i]) + " is cancelled");
    d.codes[i] = one.code;
    if (!one) {
      // Processing stops here; what was cancelled before stays cancelled.
      d.code = one.code;
      d.detail = std::move(one.detail);
      return d;
    }
    d.stop.insert(d.stop.end(), one.stop.begin(), one.stop.end());
    d.changes.insert(d.changes.end(), one.changes.begin(), one.changes.end());
  }
  return d;
}

decision decide(const job_books& b, const requeue_task& req) {
  const auto* t = b.find(req.task);
  if (t == nullptr)
    return refuse(result_code::task_not_found,
                  "no task " + std::to_string(req.task) + " in " + job_name(b));
  if (t->status != task_status::failed && t->status != task_status::cancelled
      && t->status != task_status::running)
    return refuse(result_code::invalid_state,
                  task_name(*t) + " is " + std::string{to_name(t->status)});
  if (!t->spec.rerunnable)
    return refuse(result_code::not_rerunnable,
                  task_name(*t) + " is not rerunnable");
  if (b.job.status != job_status::queued && b.job.status != job_status::running)
    return refuse(result_code::invalid_state,
                  job_name(b) + " is " + std::string{to_name(b.job.status)}
                      + (is_terminal(b.job.status) ? requeue_hint(b, *t) : ""));
  // A completed assessment never runs again (not even one after the current
  // one, left completed by a requeue_job), so its tasks cannot be queued.
  if (b.job.assessments[t->assessment].status == assessment_status::completed)
    return refuse(result_code::invalid_state,
                  "assessment " + std::to_string(t->assessment) + " of "
                      + task_name(*t) + " has completed");
  decision d;
  d.mode = stop_mode::graceful;
  auto from = t->status;
  if (from == task_status::running) {
    // A running task is cancelled first, then queued again.
    d.stop.push_back(t->id);
    d.changes.push_back(task_change(t->id, from, task_status::cancelled,
                                    result_code::task_cancelled,
                                    "cancelled for requeue"));
    from = task_status::cancelled;
  }
  d.changes.push_back(task_change(t->id, from, task_status::queued));
  return d;
}

decision decide(const job_books& b, const requeue_job& req) {
  if (b.job.status != job_status::failed
      && b.job.status != job_status::cancelled)
    return refuse(result_code::invalid_state,
                  job_name(b) + " is " + std::string{to_name(b.job.status)});
  decision d;
  d.changes.push_back(job_change(b.job.status, job_status::queued));
  std::vector<bool> rerun(b.job.assessments.size(), false);
  for (const auto& t : b.tasks) {
    if ((t.status == task_status::failed
         || (req.cancelled && t.status == task_status::cancelled))
        && t.spec.rerunnable) {
      d.changes.push_back(task_change(t.id, t.status, task_status::queued));
      rerun[t.assessment] = true;
    } else if (t.status == task_status::queued) {
      rerun[t.assessment] = true; // requeued one by one before
    }
  }
  for (const auto& a : b.job.assessments)
    if (rerun[a.index] && a.status == assessment_status::completed)
      d.changes.push_back(
          assessment_change(a.index, a.status, assessment_status::not_yet_run));
  return d;
}

// -- reports
// --------------------------------------------------------------------

decision decide(const job_books& b, const attempt_ended& report) {
  decision d;
  const auto* t = b.find(report.key.task);
  // A stale report (an earlier attempt, or a task cancelled or requeued in
  // the meantime) changes no status: the request processed first won.
  if (t == nullptr || t->status != task_status::running
      || t->attempts != report.key.attempt)
    return d;
  auto message = clamp_message(report.message);
  switch (report.outcome) {
    case attempt_outcome::succeeded:
      d.changes.push_back(task_change(t->id, task_status::running,
                                      task_status::finished, result_code::ok));
      break;
    case attempt_outcome::stopped:
      d.changes.push_back(
          task_change(t->id, task_status::running, task_status::cancelled,
                      result_code::task_cancelled,
                      or_default(message, "stopped on request")));
      break;
    case attempt_outcome::lost:
      if (t->node_losses < b.job.policy.retries && is_active(b.job.status)
          && b.job.status != job_status::cancelling) {
        d.changes.push_back(task_change(t->id, task_status::running,
                                        task_status::queued,
                                        result_code::node_lost, message));
      } else {
        d.changes.push_back(task_change(t->id, task_status::running,
                                        task_status::failed,
                                        result_code::node_lost, message));
      }
      break;
    case attempt_outcome::failed:
    case attempt_outcome::not_started:
    case attempt_outcome::timed_out: {
      auto code = report.code == result_code::ok ? result_code::task_failed
                                                 : report.code;
      // Work that gives up after a stop request (or while its job is
      // cancelling) was stopped, not failed.
      if ((report.stop_requested || b.job.status == job_status::cancelling)
          && report.outcome == attempt_outcome::failed)
        d.changes.push_back(
            task_change(t->id, task_status::running, task_status::cancelled,
                        result_code::task_cancelled,
                        or_default(message, "stopped on request")));
      else
        d.changes.push_back(task_change(t->id, task_status::running,
                                        task_status::failed, code, message));
      break;
    }
  }
  return d;
}

decision start(const job_books& b) {
  decision d;
  if (b.job.status != job_status::queued)
    return d;
  d.changes.push_back(job_change(job_status::queued, job_status::running));
  for (const auto& a : b.job.assessments) {
    if (a.status == assessment_status::not_yet_run) {
      d.changes.push_back(
          assessment_change(a.index, a.status, assessment_status::running));
      return d;
    }
  }
  // Nothing left to run: the job ends at once.
  auto failed = std::any_of(
      b.job.assessments.begin(), b.job.assessments.end(),
      [](const assessment_record& a) { return a.outcome != result_code::ok; });
  d.changes.push_back(
      failed ? job_change(job_status::running, job_status::failed,
                          result_code::job_failed)
             : job_change(job_status::running, job_status::finished));
  return d;
}

decision advance(const job_books& b) {
  decision d;
  if (!is_active(b.job.status) || b.job.current < 0)
    return d;
  auto index = static_cast<assessment_index>(b.job.current);
  const auto& a = b.job.assessments[index];
  bool any_cancelled = false;
  bool all_finished = true;
  // Backwards: tasks are dispatched (and mostly end) in order, so a task
  // that is not done yet is found at once near the end. A forward scan
  // walked every ended task on each call: quadratic in the assessment's size
  // (docs/performance.md).
  for (auto i = a.tasks.rbegin(); i != a.tasks.rend(); ++i) {
    auto id = *i;
    const auto& t = b.tasks[id - 1];
    if (!is_terminal(t.status) || b.live.count(id) > 0)
      return d; // not complete yet
    any_cancelled |= t.status == task_status::cancelled;
    all_finished &= t.status == task_status::finished;
  }
  auto cancelling = b.job.status == job_status::cancelling;
  auto outcome = a.outcome;
  if (outcome == result_code::ok && !all_finished)
    outcome = cancelling && any_cancelled ? result_code::assessment_cancelled
                                          : result_code::assessment_failed;
  d.changes.push_back(assessment_change(index, assessment_status::running,
                                        assessment_status::completed, outcome));
  if (cancelling) {
    d.changes.push_back(job_change(job_status::cancelling,
                                   job_status::cancelled,
                                   result_code::job_cancelled));
    return d;
  }
  if (outcome != result_code::ok && b.job.policy.stop_on_assessment_error) {
    auto message = "assessment " + std::to_string(index) + " ended "
                   + std::string{to_name(outcome)};
    cancel_where(b, d, "not run: " + message,
                 [&](const task_record& t) { return t.assessment > index; });
    d.changes.push_back(job_change(job_status::running, job_status::failed,
                                   result_code::job_failed, message));
    return d;
  }
  for (auto i = index + 1; i < b.job.assessments.size(); ++i) {
    const auto& next = b.job.assessments[i];
    if (next.status == assessment_status::not_yet_run) {
      d.changes.push_back(
          assessment_change(i, next.status, assessment_status::running));
      return d;
    }
  }
  auto failed
      = outcome != result_code::ok
        || std::any_of(b.job.assessments.begin(), b.job.assessments.end(),
                       [](const assessment_record& x) {
                         return x.outcome != result_code::ok;
                       });
  d.changes.push_back(
      failed ? job_change(job_status::running, job_status::failed,
                          result_code::job_failed)
             : job_change(job_status::running, job_status::finished));
  return d;
}

bool dispatchable(const job_books& b, const task_record& t) noexcept {
  return t.status == task_status::queued && b.job.status == job_status::running
         && b.job.current >= 0
         && t.assessment == static_cast<assessment_index>(b.job.current)
         && b.live.count(t.id) == 0;
}

// -- applying
// -------------------------------------------------------------------

void apply(job_books& b, const transition& c, caf::timestamp now) {
  // The rules build transitions with job_change, assessment_change and
  // task_change only, so the statuses always match the kind.
  assert(fits(c.kind, c.from) && fits(c.kind, c.to));
  switch (c.kind) {
    case event_kind::job: {
      auto from = caf::get<job_status>(c.from);
      auto to = caf::get<job_status>(c.to);
      auto& j = b.job;
      j.status = to;
      if (!c.message.empty())
        j.error_message = c.message;
      if (to == job_status::queued) {
        if (from == job_status::not_submitted) {
          j.submitted = now;
        } else {
          ++j.requeue_count;
          j.end_code = result_code::ok;
          j.ended = {};
        }
        j.current = -1;
      } else if (to == job_status::running) {
        j.started = now;
      } else if (is_terminal(to)) {
        j.end_code = c.code;
        j.ended = now;
        j.current = -1;
      }
      break;
    }
    case event_kind::assessment: {
      auto& a = b.job.assessments[c.subject];
      auto to = caf::get<assessment_status>(c.to);
      a.status = to;
      if (to == assessment_status::running) {
        if (is(c.from, assessment_status::not_yet_run)) {
          a.started = now;
          a.outcome = result_code::ok;
          b.job.current = static_cast<int32_t>(c.subject);
        }
        if (c.code != result_code::ok)
          a.outcome = c.code;
      } else if (to == assessment_status::completed) {
        a.outcome = c.code;
        a.ended = now;
        b.job.current = -1;
      } else {
        a.outcome = result_code::ok;
        a.started = {};
        a.ended = {};
      }
      break;
    }
    case event_kind::task: {
      auto& t = b.tasks[c.subject - 1];
      auto from = caf::get<task_status>(c.from);
      auto to = caf::get<task_status>(c.to);
      t.status = to;
      if (!c.message.empty())
        t.error_message = c.message;
      if (to == task_status::queued) {
        if (from == task_status::not_submitted) {
          t.submitted = now;
        } else {
          ++t.requeue_count;
          if (c.code == result_code::node_lost)
            ++t.node_losses;
        }
      } else if (to == task_status::running) {
        t.started = now;
        t.ended = {};
        // A held attempt (live already) got its number when it was placed;
        // its start now is not a new attempt.
        if (b.live.count(t.id) == 0)
          ++t.attempts;
      } else if (is_terminal(to)) {
        t.end_code = c.code;
        t.ended = now;
      }
      break;
    }
    case event_kind::progress:
      break;
  }
}

} // namespace quiesce
