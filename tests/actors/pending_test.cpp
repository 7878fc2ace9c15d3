// Tests of the pending replies (actors/pending.hpp) with promises that
// record what they are given.

#include "actors/pending.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace quiesce;

namespace {

// A promise that records every delivery into a shared log.
template <class Reply>
struct recording_promise {
  struct log {
    std::vector<Reply> replies;
    std::vector<caf::error> errors;
  };
  std::shared_ptr<log> to = std::make_shared<log>();

  void deliver(Reply x) {
    to->replies.push_back(std::move(x));
  }

  void deliver(caf::error x) {
    to->errors.push_back(std::move(x));
  }
};

using wait_promise = recording_promise<job_status_reply>;
using terminate_promise = recording_promise<op_reply>;
using pending = pending_replies<wait_promise, terminate_promise>;
using time_point = pending::time_point;

job_books running_job(job_id id) {
  job_books b;
  b.job.id = id;
  b.job.status = job_status::running;
  return b;
}

} // namespace

TEST_CASE("pending replies answer a wait at once when the job is terminal",
          "[actors][pending]") {
  pending p;
  auto b = running_job(1);
  b.job.status = job_status::failed;
  wait_promise rp;
  p.wait(b, rp);
  REQUIRE(rp.to->replies.size() == 1);
  CHECK(rp.to->replies[0].code == result_code::ok);
  CHECK(rp.to->replies[0].job.status == job_status::failed);
}

TEST_CASE("pending replies answer waiters at the end and terminators once no "
          "work is live",
          "[actors][pending]") {
  pending p;
  auto b = running_job(1);
  wait_promise w;
  terminate_promise t;
  p.wait(b, w);
  p.terminate(1, t);
  p.settle(b);
  CHECK(w.to->replies.empty());
  b.job.status = job_status::cancelled;
  b.live[3] = 1;
  p.settle(b);
  REQUIRE(w.to->replies.size() == 1);
  CHECK(w.to->replies[0].job.status == job_status::cancelled);
  CHECK(t.to->replies.empty());
  CHECK(p.arm(1, time_point{}));
  b.live.clear();
  p.settle(b);
  REQUIRE(t.to->replies.size() == 1);
  CHECK(t.to->replies[0].code == result_code::ok);
  // Each promise is answered once.
  p.settle(b);
  CHECK(w.to->replies.size() == 1);
  CHECK(t.to->replies.size() == 1);
  CHECK_FALSE(p.arm(1, time_point{}));
}

TEST_CASE("pending replies fail a terminate whose work was not confirmed "
          "dead",
          "[actors][pending]") {
  pending p;
  auto b = running_job(2);
  p.unconfirmed(2); // before the terminate: does not count
  terminate_promise first;
  p.terminate(2, first);
  b.job.status = job_status::cancelled;
  p.settle(b);
  REQUIRE(first.to->replies.size() == 1);
  CHECK(first.to->replies[0].code == result_code::ok);
  terminate_promise second;
  p.terminate(2, second);
  p.unconfirmed(2);
  p.settle(b);
  REQUIRE(second.to->replies.size() == 1);
  CHECK(second.to->replies[0].code == result_code::terminate_failed);
  CHECK(second.to->replies[0].detail
        == "some work of job 2 could not be confirmed dead");
}

TEST_CASE("pending replies fail terminators at the latest deadline only",
          "[actors][pending]") {
  pending p;
  auto b = running_job(3);
  b.live[1] = 1;
  b.live[2] = 1;
  terminate_promise t;
  p.terminate(3, t);
  auto t0 = time_point{std::chrono::seconds{10}};
  REQUIRE(p.arm(3, t0));
  p.terminate(3, t);
  REQUIRE(p.arm(3, t0 + std::chrono::seconds{5}));
  p.deadline(b, t0); // the first terminate's bound: too early now
  CHECK(t.to->replies.empty());
  p.deadline(b, t0 + std::chrono::seconds{5});
  REQUIRE(t.to->replies.size() == 2);
  CHECK(t.to->replies[0].code == result_code::terminate_failed);
  CHECK(t.to->replies[0].detail
        == "2 attempts of job 3 not confirmed dead in time");
  p.deadline(b, t0 + std::chrono::seconds{9});
  CHECK(t.to->replies.size() == 2);
}

TEST_CASE("pending replies fail every waiting request on shutdown",
          "[actors][pending]") {
  pending p;
  auto a = running_job(1);
  auto b = running_job(2);
  wait_promise w;
  terminate_promise t;
  p.wait(a, w);
  p.wait(b, w);
  p.terminate(2, t);
  p.fail_all("bye");
  CHECK(w.to->errors.size() == 2);
  REQUIRE(t.to->errors.size() == 1);
  CHECK(t.to->errors[0] == result_code::unavailable);
  CHECK(w.to->replies.empty());
  p.fail_all("again");
  CHECK(w.to->errors.size() == 2);
}
