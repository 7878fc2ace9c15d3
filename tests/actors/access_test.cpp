// Who may do what: the pure checks of actors/access.hpp, then the supervisor
// applying them to requests (deterministic fixture). In-process requests act
// as the user their `who` names when the supervisor's `local_admin` is off,
// which lets one process play several users (docs/security.md).

#include "actors/access.hpp"
#include "support/deterministic.hpp"
#include "support/printers.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

using namespace quiesce;
using namespace quiesce::test;

namespace {

job_record owned_by(const std::string& owner) {
  job_record j;
  j.id = 7;
  j.owner = owner;
  return j;
}

supervisor_options two_users() {
  supervisor_options opts;
  opts.local_admin = false;
  opts.admins = {"root-admin"};
  return opts;
}

job_spec secret_job() {
  auto t = cmd_task({"sleep", "30"});
  t.command.env["API_TOKEN"] = "s3cret";
  return uniform_job({1}, t, "secret");
}

} // namespace

TEST_CASE("G8 access: owners and admins manage a job, others and nodes do not",
          "[actors][access][security]") {
  auto j = owned_by("alice");
  CHECK(may_manage(j, identity{"alice", peer_role::user}));
  CHECK(may_manage(j, identity{"root-admin", peer_role::admin}));
  CHECK_FALSE(may_manage(j, identity{"bob", peer_role::user}));
  // A node named like the owner is still not the owner.
  CHECK_FALSE(may_manage(j, identity{"alice", peer_role::node}));
  // Nobody owns an ownerless job but admins manage it.
  CHECK_FALSE(may_manage(owned_by(""), identity{"", peer_role::user}));
  std::string why;
  CHECK(check_manage(j, identity{"bob", peer_role::user}, why)
        == result_code::permission_denied);
  CHECK_THAT(why, Catch::Contains("bob") && Catch::Contains("alice"));
  CHECK(may_join_as_node(identity{"n1", peer_role::node}));
  CHECK(may_join_as_node(identity{"ops", peer_role::admin}));
  CHECK_FALSE(may_join_as_node(identity{"alice", peer_role::user}));
}

TEST_CASE("G8 access: environments are redacted for readers who may not manage",
          "[actors][access][security]") {
  task_list list;
  task_record t;
  t.spec.command.env = {{"API_TOKEN", "s3cret"}, {"HOME", "/root"}};
  list.tasks.push_back(t);
  auto mine = list;
  redact_for(mine, owned_by("alice"), identity{"alice", peer_role::user});
  CHECK(mine.tasks[0].spec.command.env.at("API_TOKEN") == "s3cret");
  auto theirs = list;
  redact_for(theirs, owned_by("alice"), identity{"bob", peer_role::user});
  CHECK(theirs.tasks[0].spec.command.env.at("API_TOKEN") == redacted_value);
  CHECK(theirs.tasks[0].spec.command.env.at("HOME") == redacted_value);
}

TEST_CASE(
    "G8 E8 access: another user's cancel, terminate and requeue are refused "
    "with permission_denied and change nothing; an admin's are not",
    "[actors][access][security]") {
  deterministic_fixture f{two_users()};
  f.add_node("n1", 2);
  auto r = f.ask<add_job_reply>(add_job{secret_job(), "alice"});
  REQUIRE(r.code == result_code::ok);
  auto id = r.job;
  CHECK(f.job(id).owner == "alice");
  // Bob may not submit, cancel or add to alice's job.
  CHECK(f.ask<op_reply>(submit_job{id, "bob"}).code
        == result_code::permission_denied);
  CHECK(f.job(id).status == job_status::not_submitted);
  REQUIRE(f.ask<op_reply>(submit_job{id, "alice"}).code == result_code::ok);
  f.run();
  REQUIRE(f.job(id).status == job_status::running);
  auto events_before = f.events->size();
  auto bob_cancel = f.ask<op_reply>(cancel_job{id, "mine now", "bob"});
  CHECK(bob_cancel.code == result_code::permission_denied);
  CHECK_THAT(bob_cancel.detail, Catch::Contains("alice"));
  CHECK(f.ask<task_op_reply>(cancel_task{id, 1, "x", "bob"}).code
        == result_code::permission_denied);
  auto many = f.ask<cancel_tasks_reply>(cancel_tasks{id, {1}, "x", "bob"});
  CHECK(many.code == result_code::permission_denied);
  CHECK(many.codes == std::vector<result_code>{result_code::not_attempted});
  CHECK(f.ask<op_reply>(terminate_job{id, "bob"}).code
        == result_code::permission_denied);
  CHECK(f.ask<task_op_reply>(requeue_task{id, 1, "bob"}).code
        == result_code::permission_denied);
  CHECK(f.ask<op_reply>(cancel_assessment{id, 0, "bob"}).code
        == result_code::permission_denied);
  f.run();
  // Nothing changed: no event, the job and its task still run, no signal.
  CHECK(f.events->size() == events_before);
  CHECK(f.job(id).status == job_status::running);
  CHECK(f.signals().empty());
  // A reader who is not the owner gets the records, environment redacted.
  auto bobs = f.ask<task_list>(list_tasks{id});
  REQUIRE(bobs.tasks.size() == 1);
  CHECK(bobs.tasks[0].spec.command.env.at("API_TOKEN") == redacted_value);
  // The admin may cancel; the event names the admin and the reason.
  CHECK(f.ask<op_reply>(cancel_job{id, "maintenance", "root-admin"}).code
        == result_code::ok);
  f.run();
  bool seen = false;
  for (const auto& ev : *f.events)
    if (ev.kind == event_kind::job && ev.message == "maintenance")
      seen = ev.who == "root-admin";
  CHECK(seen);
  CHECK(f.job(id).status == job_status::cancelling);
}

TEST_CASE("G8 access: the owner manages and reads the environment of its job",
          "[actors][access][security]") {
  deterministic_fixture f{two_users()};
  auto r = f.ask<add_job_reply>(add_job{secret_job(), "alice"});
  REQUIRE(r.code == result_code::ok);
  // In-process, `who` names the asker; list_tasks carries no name, so an
  // in-process list with local_admin off reads as nobody: redacted.
  auto listed = f.ask<task_list>(list_tasks{r.job});
  CHECK(listed.tasks.at(0).spec.command.env.at("API_TOKEN") == redacted_value);
  CHECK(f.ask<op_reply>(cancel_job{r.job, "changed my mind", "alice"}).code
        == result_code::ok);
  CHECK(f.job(r.job).status == job_status::cancelled);
  CHECK(f.job(r.job).error_message == "changed my mind");
}

TEST_CASE("G7 access: a remote report or an anonymous request is not trusted",
          "[actors][access][security]") {
  deterministic_fixture f{two_users()};
  // An anonymous message may come over the network: it is not in-process.
  caf::anon_send(f.sup, add_job{secret_job(), "root-admin"});
  f.run();
  CHECK(f.ask<job_list>(list_jobs{}).jobs.empty());
}
