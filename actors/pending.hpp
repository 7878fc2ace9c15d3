#pragma once

// Replies that wait for a job: a wait_job is answered once the job is
// terminal, a terminate_job once the job is terminal and none of its work is
// live (or with `terminate_failed` when its bound expires first). Plain data
// and functions, no CAF scheduling: the promise types are parameters, so
// that tests can record what is delivered.

#include "actors/rules.hpp"
#include "messages/commands.hpp"
#include "messages/result_code.hpp"

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>

#include <map>
#include <string>
#include <vector>

namespace quiesce {

/// Returns the reply to a terminate_job whose job ended with no live work:
/// `terminate_failed` if some attempt was not confirmed dead.
inline op_reply terminate_result(job_id job, bool unconfirmed) {
  if (unconfirmed)
    return {result_code::terminate_failed,
            "some work of job " + std::to_string(job)
                + " could not be confirmed dead"};
  return {};
}

/// The pending wait_job and terminate_job replies, by job.
template <class WaitPromise, class TerminatePromise>
class pending_replies {
public:
  using time_point = caf::actor_clock::time_point;

  /// Answers a wait_job for `b` now if the job is terminal, or keeps `rp`.
  void wait(const job_books& b, WaitPromise rp) {
    if (is_terminal(b.job.status))
      rp.deliver(job_status_reply{result_code::ok, b.job, {}});
    else
      jobs_[b.job.id].waiters.push_back(std::move(rp));
  }

  /// Keeps `rp`, the reply to an accepted terminate_job of `job`; from now
  /// on, only attempts that end unconfirmed make it fail.
  void terminate(job_id job, TerminatePromise rp) {
    auto& e = jobs_[job];
    e.unconfirmed = false;
    e.terminators.push_back(std::move(rp));
  }

  /// Returns true if terminate_job replies of `job` still wait; then their
  /// bound expires at `due` (an earlier deadline no longer counts).
  bool arm(job_id job, time_point due) {
    auto i = jobs_.find(job);
    if (i == jobs_.end() || i->second.terminators.empty())
      return false;
    i->second.terminate_due = due;
    return true;
  }

  /// Returns true if terminate_job replies of `job` still wait and their
  /// bound expired before `due`; then it expires at `due` (an attempt of
  /// the job is known dead only by then: its node's lease runs out).
  bool extend(job_id job, time_point due) {
    auto i = jobs_.find(job);
    if (i == jobs_.end() || i->second.terminators.empty()
        || due <= i->second.terminate_due)
      return false;
    i->second.terminate_due = due;
    return true;
  }

  /// An attempt of `job` ended without being confirmed dead.
  void unconfirmed(job_id job) {
    jobs_[job].unconfirmed = true;
  }

  /// Answers whoever waits for what `b` has reached.
  void settle(const job_books& b) {
    if (!is_terminal(b.job.status))
      return;
    auto i = jobs_.find(b.job.id);
    if (i == jobs_.end())
      return;
    auto& e = i->second;
    for (auto& rp : e.waiters)
      rp.deliver(job_status_reply{result_code::ok, b.job, {}});
    e.waiters.clear();
    if (!b.live.empty())
      return;
    for (auto& rp : e.terminators)
      rp.deliver(terminate_result(b.job.id, e.unconfirmed));
    e.terminators.clear();
  }

  /// The bound of a terminate_job of `b` expired at `now`: its replies fail,
  /// unless a later terminate_job moved the bound.
  void deadline(const job_books& b, time_point now) {
    auto i = jobs_.find(b.job.id);
    if (i == jobs_.end() || i->second.terminators.empty()
        || now < i->second.terminate_due)
      return;
    for (auto& rp : i->second.terminators)
      rp.deliver(op_reply{result_code::terminate_failed,
                          std::to_string(b.live.size()) + " attempts of job "
                              + std::to_string(b.job.id)
                              + " not confirmed dead in time"});
    i->second.terminators.clear();
  }

  /// Returns true if a wait_job or terminate_job reply of `job` waits.
  bool waiting(job_id job) const {
    auto i = jobs_.find(job);
    return i != jobs_.end()
           && (!i->second.waiters.empty() || !i->second.terminators.empty());
  }

  /// Forgets `job` (retired), whose replies were all given.
  void forget(job_id job) {
    jobs_.erase(job);
  }

  /// Fails every pending reply with `result_code::unavailable` and `why`.
  void fail_all(const std::string& why) {
    for (auto& [id, e] : jobs_) {
      for (auto& rp : e.waiters)
        rp.deliver(make_error(result_code::unavailable, why));
      e.waiters.clear();
      for (auto& rp : e.terminators)
        rp.deliver(make_error(result_code::unavailable, why));
      e.terminators.clear();
    }
  }

private:
  struct entry {
    std::vector<WaitPromise> waiters;
    std::vector<TerminatePromise> terminators;
    /// Some attempt ended without being confirmed dead since the terminate.
    bool unconfirmed = false;
    /// When the bound of the latest terminate_job expires: a deadline left
    /// over from an earlier terminate of the same job fires too early.
    time_point terminate_due{};
  };

  std::map<job_id, entry> jobs_;
};

} // namespace quiesce
