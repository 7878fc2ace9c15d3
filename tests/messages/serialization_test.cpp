// Round trips of every type of the quiesce type-ID block through CAF's binary
// serializer, as a message, the way the middleman ships them to remote nodes.
// Every field is set to a non-default value and compared field by field.

#include "messages/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

// -- field-by-field equality (test-only; messages/ stays data only) -----------

namespace quiesce {

namespace process {

// command_spec is process::command_line: its operator lives where ADL looks.
bool operator==(const command_line& x, const command_line& y) {
  return x.argv == y.argv && x.env == y.env && x.workdir == y.workdir
         && x.stdout_path == y.stdout_path && x.stderr_path == y.stderr_path
         && x.limits.memory_max == y.limits.memory_max
         && x.limits.cpu_millis == y.limits.cpu_millis
         && x.limits.pids_max == y.limits.pids_max;
}

} // namespace process

bool operator==(const task_spec& x, const task_spec& y) {
  return x.name == y.name && x.kind == y.kind && x.command == y.command
         && x.work == y.work && x.args == y.args && x.time_limit == y.time_limit
         && x.stop_signal == y.stop_signal && x.grace == y.grace
         && x.rerunnable == y.rerunnable && x.label == y.label;
}

bool operator==(const assessment_spec& x, const assessment_spec& y) {
  return x.name == y.name && x.tasks == y.tasks;
}

bool operator==(const job_policy& x, const job_policy& y) {
  return x.stop_on_assessment_error == y.stop_on_assessment_error
         && x.grace == y.grace && x.retries == y.retries
         && x.stop_commands_on_cancel == y.stop_commands_on_cancel;
}

bool operator==(const job_spec& x, const job_spec& y) {
  return x.name == y.name && x.assessments == y.assessments
         && x.policy == y.policy;
}

bool operator==(const task_record& x, const task_record& y) {
  return x.id == y.id && x.job == y.job && x.assessment == y.assessment
         && x.status == y.status && x.end_code == y.end_code
         && x.error_message == y.error_message && x.exit_code == y.exit_code
         && x.node == y.node && x.created == y.created
         && x.submitted == y.submitted && x.started == y.started
         && x.ended == y.ended && x.requeue_count == y.requeue_count
         && x.attempts == y.attempts && x.node_losses == y.node_losses
         && x.spec == y.spec && x.cpu_time == y.cpu_time
         && x.peak_memory == y.peak_memory;
}

bool operator==(const assessment_record& x, const assessment_record& y) {
  return x.index == y.index && x.name == y.name && x.status == y.status
         && x.outcome == y.outcome && x.started == y.started
         && x.ended == y.ended && x.tasks == y.tasks;
}

bool operator==(const output_dir& x, const output_dir& y) {
  return x.node == y.node && x.dir == y.dir;
}

bool operator==(const job_record& x, const job_record& y) {
  return x.id == y.id && x.name == y.name && x.status == y.status
         && x.end_code == y.end_code && x.error_message == y.error_message
         && x.current == y.current && x.created == y.created
         && x.submitted == y.submitted && x.started == y.started
         && x.ended == y.ended && x.requeue_count == y.requeue_count
         && x.owner == y.owner && x.policy == y.policy
         && x.assessments == y.assessments && x.output_dirs == y.output_dirs;
}

bool operator==(const add_job& x, const add_job& y) {
  return x.spec == y.spec && x.who == y.who;
}

bool operator==(const add_job_batch& x, const add_job_batch& y) {
  return x.specs == y.specs && x.submit == y.submit && x.who == y.who;
}

bool operator==(const add_task& x, const add_task& y) {
  return x.job == y.job && x.assessment == y.assessment && x.spec == y.spec
         && x.who == y.who;
}

bool operator==(const submit_job& x, const submit_job& y) {
  return x.job == y.job && x.who == y.who;
}

bool operator==(const cancel_job& x, const cancel_job& y) {
  return x.job == y.job && x.message == y.message && x.who == y.who;
}

bool operator==(const cancel_assessment& x, const cancel_assessment& y) {
  return x.job == y.job && x.index == y.index && x.who == y.who;
}

bool operator==(const terminate_job& x, const terminate_job& y) {
  return x.job == y.job && x.who == y.who;
}

bool operator==(const cancel_task& x, const cancel_task& y) {
  return x.job == y.job && x.task == y.task && x.message == y.message
         && x.who == y.who;
}

bool operator==(const cancel_tasks& x, const cancel_tasks& y) {
  return x.job == y.job && x.tasks == y.tasks && x.message == y.message
         && x.who == y.who;
}

bool operator==(const requeue_task& x, const requeue_task& y) {
  return x.job == y.job && x.task == y.task && x.who == y.who;
}

bool operator==(const requeue_job& x, const requeue_job& y) {
  return x.job == y.job && x.who == y.who;
}

bool operator==(const list_jobs& x, const list_jobs& y) {
  return x.filter_by_status == y.filter_by_status && x.status == y.status;
}

bool operator==(const list_tasks& x, const list_tasks& y) {
  return x.job == y.job && x.filter_by_status == y.filter_by_status
         && x.status == y.status;
}

bool operator==(const get_job_status& x, const get_job_status& y) {
  return x.job == y.job;
}

bool operator==(const get_task_status& x, const get_task_status& y) {
  return x.job == y.job && x.task == y.task;
}

bool operator==(const wait_job& x, const wait_job& y) {
  return x.job == y.job;
}

bool operator==(const subscribe& x, const subscribe& y) {
  return x.sink == y.sink;
}

bool operator==(const list_nodes&, const list_nodes&) {
  return true;
}

bool operator==(const op_reply& x, const op_reply& y) {
  return x.code == y.code && x.detail == y.detail;
}

bool operator==(const add_job_reply& x, const add_job_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.job == y.job;
}

bool operator==(const add_job_batch_reply& x, const add_job_batch_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.jobs == y.jobs
         && x.submitted == y.submitted;
}

bool operator==(const add_task_reply& x, const add_task_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.task == y.task;
}

bool operator==(const task_op_reply& x, const task_op_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.status == y.status;
}

bool operator==(const cancel_tasks_reply& x, const cancel_tasks_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.codes == y.codes;
}

bool operator==(const job_list& x, const job_list& y) {
  return x.code == y.code && x.jobs == y.jobs;
}

bool operator==(const task_list& x, const task_list& y) {
  return x.code == y.code && x.tasks == y.tasks;
}

bool operator==(const job_status_reply& x, const job_status_reply& y) {
  return x.code == y.code && x.job == y.job;
}

bool operator==(const task_status_reply& x, const task_status_reply& y) {
  return x.code == y.code && x.task == y.task;
}

bool operator==(const node_record& x, const node_record& y) {
  return x.name == y.name && x.slots == y.slots && x.running == y.running
         && x.labels == y.labels && x.status == y.status
         && x.stale_reports == y.stale_reports;
}

bool operator==(const node_list& x, const node_list& y) {
  return x.code == y.code && x.detail == y.detail && x.nodes == y.nodes;
}

bool operator==(const event& x, const event& y) {
  return x.seq == y.seq && x.job == y.job && x.kind == y.kind
         && x.subject == y.subject && x.previous == y.previous
         && x.current == y.current && x.code == y.code && x.message == y.message
         && x.who == y.who && x.percent == y.percent && x.time == y.time;
}

bool operator==(const event_batch& x, const event_batch& y) {
  return x.events == y.events;
}

// attempt_key has its own operator== (a hidden friend).

bool operator==(const run_task& x, const run_task& y) {
  return x.key == y.key && x.spec == y.spec && x.grace == y.grace
         && x.stop_commands_on_cancel == y.stop_commands_on_cancel
         && x.node == y.node && x.node_name == y.node_name && x.adopt == y.adopt
         && x.incarnation == y.incarnation && x.owner == y.owner
         && x.held == y.held && x.port == y.port;
}

bool operator==(const begin_assessment& x, const begin_assessment& y) {
  return x.job == y.job && x.index == y.index;
}

bool operator==(const end_job& x, const end_job& y) {
  return x.job == y.job;
}

bool operator==(const stop_tasks& x, const stop_tasks& y) {
  return x.job == y.job && x.tasks == y.tasks && x.mode == y.mode;
}

bool operator==(const start_attempt& x, const start_attempt& y) {
  return x.key == y.key && x.spec == y.spec && x.reply_to == y.reply_to
         && x.adopt == y.adopt && x.owner == y.owner && x.held == y.held;
}

bool operator==(const start_batch& x, const start_batch& y) {
  return x.port == y.port && x.starts == y.starts;
}

bool operator==(const signal_attempt& x, const signal_attempt& y) {
  return x.key == y.key && x.mode == y.mode;
}

bool operator==(const attempt_progress& x, const attempt_progress& y) {
  return x.key == y.key && x.percent == y.percent && x.text == y.text
         && x.incarnation == y.incarnation;
}

bool operator==(const attempt_output& x, const attempt_output& y) {
  return x.key == y.key && x.dir == y.dir && x.incarnation == y.incarnation;
}

bool operator==(const attempt_running& x, const attempt_running& y) {
  return x.key == y.key && x.incarnation == y.incarnation
         && x.waiting == y.waiting;
}

bool operator==(const attempt_ended& x, const attempt_ended& y) {
  return x.key == y.key && x.outcome == y.outcome && x.code == y.code
         && x.exit_code == y.exit_code && x.signal == y.signal
         && x.confirmed_dead == y.confirmed_dead
         && x.stop_requested == y.stop_requested && x.message == y.message
         && x.node == y.node && x.started == y.started && x.ended == y.ended
         && x.cpu_time == y.cpu_time && x.peak_memory == y.peak_memory
         && x.incarnation == y.incarnation;
}

bool operator==(const end_batch& x, const end_batch& y) {
  return x.ends == y.ends;
}

bool operator==(const node_hello& x, const node_hello& y) {
  return x.version == y.version && x.name == y.name && x.slots == y.slots
         && x.labels == y.labels && x.node == y.node && x.running == y.running
         && x.incarnation == y.incarnation && x.pipeline == y.pipeline
         && x.owners.self_user == y.owners.self_user
         && x.owners.self_uid == y.owners.self_uid
         && x.owners.strict == y.owners.strict
         && x.owners.accounts.size() == y.owners.accounts.size()
         && std::equal(x.owners.accounts.begin(), x.owners.accounts.end(),
                       y.owners.accounts.begin(),
                       [](const owner_account& a, const owner_account& b) {
                         return a.owner == b.owner && a.uid == b.uid;
                       });
}

bool operator==(const authenticate_reply& x, const authenticate_reply& y) {
  return x.code == y.code && x.detail == y.detail && x.who.name == y.who.name
         && x.who.role == y.who.role && x.nonce == y.nonce;
}

bool operator==(const terminate_deadline& x, const terminate_deadline& y) {
  return x.job == y.job;
}

bool operator==(const reconcile_deadline& x, const reconcile_deadline& y) {
  return x.round == y.round;
}

bool operator==(const attempt_timer& x, const attempt_timer& y) {
  return x.key == y.key && x.time_limit == y.time_limit;
}

bool operator==(const node_reset& x, const node_reset& y) {
  return x.reason == y.reason && x.change == y.change && x.lease == y.lease
         && x.epoch == y.epoch;
}

} // namespace quiesce

using namespace quiesce;

namespace {

// -- samples: every field set to a non-default value --------------------------

caf::timestamp at(int64_t ns) {
  return caf::timestamp{caf::timespan{ns}};
}

command_spec sample_command_spec() {
  command_spec x;
  x.argv = {"/bin/sh", "-c", "echo \xC3\xA9t\xC3\xA9"};
  x.env = {{"A", "1"}, {"PATH", "/usr/bin"}};
  x.workdir = "/tmp/w";
  x.stdout_path = "/tmp/out";
  x.stderr_path = "/tmp/err";
  x.limits = {uint64_t{3} << 30, 250, 64};
  return x;
}

task_spec sample_task_spec() {
  task_spec x;
  x.name = "compile";
  x.kind = work_kind::function;
  x.command = sample_command_spec();
  x.work = "sleep";
  x.args = {"5", "x"};
  x.time_limit = std::chrono::seconds{30};
  x.stop_signal = 2;
  x.grace = std::chrono::milliseconds{750};
  x.rerunnable = false;
  x.label = "gpu";
  return x;
}

assessment_spec sample_assessment_spec() {
  assessment_spec x;
  x.name = "build";
  x.tasks = {sample_task_spec(), sample_task_spec()};
  x.tasks[1].name = "link";
  return x;
}

job_policy sample_job_policy() {
  job_policy x;
  x.stop_on_assessment_error = true;
  x.grace = std::chrono::seconds{9};
  x.retries = 7;
  x.stop_commands_on_cancel = true;
  return x;
}

job_spec sample_job_spec() {
  job_spec x;
  x.name = "nightly";
  x.assessments = {sample_assessment_spec()};
  x.policy = sample_job_policy();
  return x;
}

task_record sample_task_record() {
  task_record x;
  x.id = 12;
  x.job = 34;
  x.assessment = 2;
  x.status = task_status::failed;
  x.end_code = result_code::timeout;
  x.error_message = "exit code 3";
  x.exit_code = 3;
  x.node = "node-a";
  x.created = at(1);
  x.submitted = at(2);
  x.started = at(3);
  x.ended = at(4);
  x.requeue_count = 5;
  x.attempts = 6;
  x.node_losses = 2;
  x.spec = sample_task_spec();
  x.cpu_time = std::chrono::milliseconds{1234};
  x.peak_memory = uint64_t{5} << 32;
  return x;
}

assessment_record sample_assessment_record() {
  assessment_record x;
  x.index = 3;
  x.name = "test";
  x.status = assessment_status::completed;
  x.outcome = result_code::assessment_terminated;
  x.started = at(10);
  x.ended = at(20);
  x.tasks = {4, 5, 6};
  return x;
}

job_record sample_job_record() {
  job_record x;
  x.id = 99;
  x.name = "nightly";
  x.status = job_status::cancelling;
  x.end_code = result_code::job_cancelled;
  x.error_message = "user abort";
  x.current = 1;
  x.created = at(100);
  x.submitted = at(200);
  x.started = at(300);
  x.ended = at(400);
  x.requeue_count = 2;
  x.owner = "alice@host";
  x.policy = sample_job_policy();
  x.assessments = {sample_assessment_record(), sample_assessment_record()};
  x.assessments[1].index = 4;
  x.output_dirs = {{"n1", "/runs/job-99/"}, {"n2", "/srv/runs/job-99.2/"}};
  return x;
}

attempt_key sample_key() {
  return attempt_key{21, 22, 23};
}

// -- round trips
// ----------------------------------------------------------------

// An actor system that knows Quiesce's types, with one live actor whose
// handle fills the actor-pointer fields (a serializer needs the system to
// register and look up actor handles).
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::actor dummy;

  static caf::actor_system_config& configure(caf::actor_system_config& c) {
    add_message_types(c);
    c.set("scheduler.max-threads", 1);
    return c;
  }

  fixture() : sys(configure(cfg)) {
    dummy = sys.spawn([]() -> caf::behavior {
      return {[](const end_job&) {
      }};
    });
  }

  ~fixture() {
    caf::anon_send_exit(dummy, caf::exit_reason::user_shutdown);
  }

  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  // Returns the dummy as a handle of type `Handle` (serialization looks at
  // the actor, not at its interface).
  template <class Handle>
  Handle handle() const {
    return caf::actor_cast<Handle>(dummy);
  }

  // Returns the bytes of `x` as a message element.
  template <class T>
  std::vector<char> bytes(const T& x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto copy = x;
    REQUIRE(!sink(copy));
    return buf;
  }

  // Serializes `x` as a message and loads it into a message of the same
  // type; returns the loaded value.
  template <class T>
  T round_trip(const T& x) {
    caf::message msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!msg.save(sink));
    caf::message copy = caf::make_message(T{});
    caf::binary_deserializer source{sys, buf};
    REQUIRE(!copy.load(source));
    CHECK(source.remaining() == 0);
    REQUIRE(copy.match_elements<T>());
    return copy.get_as<T>(0);
  }

  // Round-trips `x`, which must differ from a default `T`, and compares.
  template <class T>
  void check(const T& x) {
    INFO("type " << caf::type_name<T>::value);
    CHECK_FALSE(x == T{});
    auto y = round_trip(x);
    CHECK(y == x);
    // Every inspected field, even one the operator== above misses.
    CHECK(caf::deep_to_string(y) == caf::deep_to_string(x));
  }
};

// -- the block
// ------------------------------------------------------------------

template <class... Ts>
struct type_list {};

using all_types = type_list<
    command_spec, task_spec, assessment_spec, job_policy, job_spec, task_record,
    assessment_record, job_record, add_job, add_job_batch, add_task, submit_job,
    cancel_job, cancel_assessment, terminate_job, cancel_task, cancel_tasks,
    requeue_task, requeue_job, list_jobs, list_tasks, get_job_status,
    get_task_status, wait_job, subscribe, list_nodes, op_reply, add_job_reply,
    add_job_batch_reply, add_task_reply, task_op_reply, cancel_tasks_reply,
    job_list, task_list, job_status_reply, task_status_reply, node_list, event,
    attempt_key, run_task, begin_assessment, end_job, stop_tasks, start_attempt,
    signal_attempt, attempt_progress, attempt_ended, node_hello, node_record,
    terminate_deadline, attempt_timer, node_reset, reconcile_deadline,
    authenticate, authenticate_reply, verify_peer, auth_challenge, output_dir,
    attempt_output, attempt_running, event_batch, start_batch, end_batch,
    batch_flush>;

// The typed handles that messages carry: in the block too, but inspected as
// the actor they point to, not as a named struct.
using handle_types
    = type_list<event_sink_actor, task_actor, node_actor, port_actor>;

struct block_entry {
  caf::type_id_t id;
  std::string type_name;
  std::string inspect_name;
};

template <class T>
block_entry entry_of() {
  // deep_to_string renders "quiesce.name(...)": the name inspect declares.
  auto text = caf::deep_to_string(T{});
  return {caf::type_id<T>::value, caf::type_name<T>::value,
          text.substr(0, text.find('('))};
}

template <class... Ts>
std::vector<block_entry> entries(type_list<Ts...>) {
  return {entry_of<Ts>()...};
}

template <class... Ts>
std::vector<block_entry> handle_entries(type_list<Ts...>) {
  return {
      block_entry{caf::type_id<Ts>::value, caf::type_name<Ts>::value, {}}...};
}

} // namespace

TEST_CASE("every type of the block has a type ID in it and distinct names",
          "[messages][serialization]") {
  auto all = entries(all_types{});
  auto handles = handle_entries(handle_types{});
  constexpr auto begin = caf::id_block::quiesce::begin;
  constexpr auto end = caf::id_block::quiesce::end;
  // These lists name every type of the block, no more and no fewer.
  CHECK(all.size() + handles.size() == static_cast<size_t>(end - begin));
  std::set<caf::type_id_t> ids;
  std::set<std::string> type_names;
  std::set<std::string> inspect_names;
  for (const auto& e : handles) {
    INFO("type " << e.type_name);
    CHECK(e.id >= begin);
    CHECK(e.id < end);
    CHECK(ids.insert(e.id).second);
    CHECK(type_names.insert(e.type_name).second);
    CHECK(e.type_name.rfind("quiesce::", 0) == 0);
  }
  for (const auto& e : all) {
    INFO("type " << e.type_name);
    CHECK(e.id >= begin);
    CHECK(e.id < end);
    CHECK(ids.insert(e.id).second);
    CHECK(type_names.insert(e.type_name).second);
    CHECK(inspect_names.insert(e.inspect_name).second);
    // "quiesce::cancel_task" is inspected as "quiesce.cancel_task".
    REQUIRE(e.type_name.rfind("quiesce::", 0) == 0);
    CHECK(e.inspect_name == "quiesce." + e.type_name.substr(9));
  }
}

TEST_CASE("specs and records survive a binary round trip",
          "[messages][serialization]") {
  fixture f;
  f.check(sample_command_spec());
  f.check(sample_task_spec());
  f.check(sample_assessment_spec());
  f.check(sample_job_policy());
  f.check(sample_job_spec());
  f.check(sample_task_record());
  f.check(sample_assessment_record());
  f.check(sample_job_record());
}

TEST_CASE("a command's environment travels as a std::map of strings does, "
          "and is sorted again when read",
          "[messages][serialization]") {
  fixture f;
  process::environment env{{"PATH", "/usr/bin"}, {"A", "1"}, {"CC", "gcc"}};
  std::map<std::string, std::string> as_map{
      {"PATH", "/usr/bin"}, {"A", "1"}, {"CC", "gcc"}};
  // The same bytes as the map it replaced (protocol and journal alike).
  CHECK(f.bytes(env) == f.bytes(as_map));
  // Pairs in another order and a repeated name (a peer need not sort): read
  // back sorted, the last of a name kept.
  std::vector<std::pair<std::string, std::string>> unsorted{
      {"PATH", "/bin"}, {"A", "1"}, {"PATH", "/usr/bin"}, {"CC", "gcc"}};
  auto buf = f.bytes(unsorted);
  process::environment read;
  caf::binary_deserializer source{f.sys, buf};
  REQUIRE(!source(read));
  CHECK(source.remaining() == 0);
  CHECK(read == env);
  CHECK(read.at("PATH") == "/usr/bin");
  std::vector<std::string> names;
  for (const auto& [name, value] : read)
    names.push_back(name);
  CHECK(names == std::vector<std::string>{"A", "CC", "PATH"});
}

TEST_CASE("client requests survive a binary round trip",
          "[messages][serialization]") {
  fixture f;
  f.check(add_job{sample_job_spec(), "cli"});
  f.check(add_job_batch{{sample_job_spec(), sample_job_spec()}, true, "cli"});
  f.check(add_task{5, 3, sample_task_spec(), "api"});
  f.check(submit_job{6, "cli"});
  f.check(cancel_job{7, "stop \xE2\x82\xAC now", "bob"});
  f.check(cancel_assessment{8, 2, "carol"});
  f.check(terminate_job{9, "dave"});
  f.check(cancel_task{10, 11, "reason", "erin"});
  f.check(cancel_tasks{12, {13, 14, 15}, "batch", "frank"});
  f.check(requeue_task{16, 17, "grace"});
  f.check(requeue_job{18, "heidi"});
  f.check(list_jobs{true, job_status::failed, true, 20, 7});
  f.check(list_tasks{19, true, task_status::cancelled});
  f.check(get_job_status{20});
  f.check(get_task_status{21, 22});
  f.check(wait_job{23});
  f.check(subscribe{f.handle<event_sink_actor>()});
  // list_nodes has no field: it must still survive the trip.
  auto y = f.round_trip(list_nodes{});
  CHECK(y == list_nodes{});
}

TEST_CASE("replies survive a binary round trip", "[messages][serialization]") {
  fixture f;
  f.check(op_reply{result_code::invalid_state, "task 3 is finished"});
  f.check(add_job_reply{result_code::invalid_argument, "bad", 24});
  f.check(
      add_job_batch_reply{result_code::invalid_argument, "bad", {24, 25}, 1});
  f.check(add_task_reply{result_code::job_not_found, "none", 25});
  f.check(task_op_reply{result_code::invalid_state, "finished",
                        task_status::finished});
  f.check(cancel_tasks_reply{result_code::invalid_state,
                             "task 2 is finished",
                             {result_code::ok, result_code::invalid_state,
                              result_code::not_attempted}});
  f.check(job_list{result_code::unavailable, {sample_job_record()}, true});
  f.check(task_list{result_code::job_not_found, {sample_task_record()}, "why"});
  f.check(job_status_reply{result_code::request_timeout, sample_job_record(),
                           "why"});
  f.check(task_status_reply{result_code::task_not_found, sample_task_record(),
                            "why"});
  node_record n{"node-b", 4, 3, {"gpu", "big"}, node_status::unreachable};
  f.check(n);
  f.check(node_list{result_code::protocol_mismatch, "v2", {n, n}});
}

TEST_CASE("events survive a binary round trip", "[messages][serialization]") {
  fixture f;
  event x;
  x.seq = 1234;
  x.job = 56;
  x.kind = event_kind::progress;
  x.subject = 78;
  x.previous = task_status::running;
  x.current = task_status::running;
  x.code = result_code::task_cancelled;
  x.message = "half way";
  x.who = "node-c";
  x.percent = 50;
  x.time = at(987654321);
  f.check(x);
  auto y = x;
  y.seq = 1235;
  y.kind = event_kind::job;
  y.previous = job_status::running;
  y.current = job_status::cancelling;
  f.check(event_batch{{x, y}});
  // An empty batch has no field set: it must still survive the trip.
  CHECK(f.round_trip(event_batch{}).events.empty());
}

TEST_CASE("events keep the type of their statuses over the wire",
          "[messages][serialization]") {
  fixture f;
  auto make = [](event_kind kind, entity_status from, entity_status to) {
    event x;
    x.seq = 7;
    x.job = 3;
    x.kind = kind;
    x.subject = kind == event_kind::job ? 0 : 2;
    x.previous = std::move(from);
    x.current = std::move(to);
    x.code = result_code::job_cancelled;
    return x;
  };
  SECTION("a job status") {
    auto x
        = make(event_kind::job, job_status::cancelling, job_status::cancelled);
    f.check(x);
    auto y = f.round_trip(x);
    REQUIRE(caf::holds_alternative<job_status>(y.current));
    CHECK(caf::get<job_status>(y.previous) == job_status::cancelling);
    CHECK(caf::get<job_status>(y.current) == job_status::cancelled);
  }
  SECTION("an assessment status") {
    auto x = make(event_kind::assessment, assessment_status::running,
                  assessment_status::completed);
    f.check(x);
    auto y = f.round_trip(x);
    REQUIRE(caf::holds_alternative<assessment_status>(y.current));
    CHECK(caf::get<assessment_status>(y.previous)
          == assessment_status::running);
    CHECK(caf::get<assessment_status>(y.current)
          == assessment_status::completed);
  }
  SECTION("a task status") {
    auto x = make(event_kind::task, task_status::queued, task_status::failed);
    f.check(x);
    auto y = f.round_trip(x);
    REQUIRE(caf::holds_alternative<task_status>(y.current));
    CHECK(caf::get<task_status>(y.previous) == task_status::queued);
    CHECK(caf::get<task_status>(y.current) == task_status::failed);
    // The same numbers as job statuses (saved, never loaded: they do not
    // fit the kind) differ on the wire only by their type tags.
    auto z = make(event_kind::task, job_status::queued, job_status::failed);
    CHECK_FALSE(f.bytes(x) == f.bytes(z));
  }
}

TEST_CASE("an event whose statuses do not fit its kind fails to load",
          "[messages][serialization]") {
  fixture f;
  event x;
  x.kind = event_kind::assessment;
  x.previous = task_status::running;
  x.current = task_status::finished;
  std::vector<char> buf;
  caf::binary_serializer sink{f.sys, buf};
  REQUIRE(!sink(x));
  event y;
  caf::binary_deserializer source{f.sys, buf};
  CHECK(source(y));
}

TEST_CASE("the internal protocol survives a binary round trip",
          "[messages][serialization]") {
  fixture f;
  f.check(sample_key());
  f.check(run_task{sample_key(), sample_task_spec(), std::chrono::seconds{3},
                   true, f.handle<node_actor>(), "node-d", true,
                   0xFEEDFACECAFEBEEFull, "alice", true,
                   f.handle<port_actor>()});
  f.check(begin_assessment{26, 4});
  f.check(end_job{27});
  f.check(stop_tasks{28, {1, 2, 3}, stop_mode::kill});
  f.check(start_attempt{sample_key(), sample_task_spec(),
                        f.handle<task_actor>(), true, "bob", true,
                        port_actor{}});
  f.check(start_batch{
      f.handle<port_actor>(),
      {start_attempt{sample_key(), sample_task_spec(), f.handle<task_actor>(),
                     false, "bob", true, port_actor{}},
       start_attempt{attempt_key{1, 2, 3}, sample_task_spec(),
                     f.handle<task_actor>(), true, "carol", false,
                     port_actor{}}}});
  // Nothing to compare but its type.
  CHECK(caf::deep_to_string(f.round_trip(batch_flush{}))
        == "quiesce.batch_flush()");
  f.check(signal_attempt{sample_key(), stop_mode::kill});
  f.check(attempt_progress{sample_key(), 42, "step 2/5", 77});
  f.check(attempt_output{sample_key(), "/runs/job-21/", 77});
  f.check(attempt_running{sample_key(), 0xABCDEF0123456789ull});
  f.check(attempt_running{sample_key(), 77, true});
  attempt_ended e;
  e.key = sample_key();
  e.outcome = attempt_outcome::lost;
  e.code = result_code::node_lost;
  e.exit_code = 137;
  e.signal = 9;
  e.confirmed_dead = false;
  e.stop_requested = true;
  e.message = "killed by SIGKILL";
  e.node = "node-e";
  e.started = at(5);
  e.ended = at(6);
  e.cpu_time = std::chrono::microseconds{98765};
  e.peak_memory = 123456789;
  e.incarnation = UINT64_MAX;
  f.check(e);
  attempt_ended e2;
  e2.key = attempt_key{1, 2, 3};
  e2.message = "exit code 3";
  f.check(end_batch{{e, e2}});
  CHECK(f.round_trip(end_batch{}).ends.empty());
  f.check(node_hello{protocol_version + 1,
                     "node-f",
                     8,
                     {"x"},
                     f.handle<node_actor>(),
                     {sample_key(), attempt_key{1, 2, 3}},
                     0x8000000000000001ull,
                     owner_policy{"root", 0, true, {{"alice", 1001}, {"", 7}}},
                     12});
  f.check(reconcile_deadline{30});
  f.check(terminate_deadline{29});
  f.check(attempt_timer{sample_key(), true});
  f.check(node_reset{"the head was lost"});
  f.check(node_reset{"lost", head_change::lost, std::chrono::seconds{5}, 9});
  f.check(authenticate_reply{result_code::permission_denied, "not yours",
                             identity{"alice", peer_role::admin}, "c0ffee"});
}

TEST_CASE("typed handles survive a binary round trip",
          "[messages][serialization]") {
  fixture f;
  auto check_handle = [&](auto hdl) {
    using handle = decltype(hdl);
    INFO("type " << caf::type_name<handle>::value);
    REQUIRE(hdl);
    auto y = f.round_trip(hdl);
    CHECK(y == hdl);
    CHECK(y.address() == f.dummy.address());
    // A null handle stays null.
    CHECK_FALSE(f.round_trip(handle{}));
  };
  check_handle(f.handle<event_sink_actor>());
  check_handle(f.handle<task_actor>());
  check_handle(f.handle<node_actor>());
  check_handle(f.handle<port_actor>());
}

TEST_CASE("a start's port stays on the node: it is not on the wire",
          "[messages][serialization]") {
  fixture f;
  start_attempt x{
      sample_key(), sample_task_spec(),    f.handle<task_actor>(), false, "bob",
      false,        f.handle<port_actor>()};
  auto y = f.round_trip(x);
  CHECK(y.key == x.key);
  CHECK(y.reply_to == x.reply_to);
  CHECK_FALSE(y.port);
  // The batch names its port once for all its starts.
  auto batch = f.round_trip(start_batch{f.handle<port_actor>(), {x, x}});
  CHECK(batch.port == f.handle<port_actor>());
  REQUIRE(batch.starts.size() == 2);
  CHECK_FALSE(batch.starts[0].port);
}

TEST_CASE("a typed handle has the wire form of an untyped actor pointer",
          "[messages][serialization]") {
  // A peer built before the handles were typed sent strong_actor_ptr in the
  // same fields: the bytes must not have changed.
  fixture f;
  auto ptr = f.handle<caf::strong_actor_ptr>();
  CHECK(f.bytes(f.handle<event_sink_actor>()) == f.bytes(ptr));
  CHECK(f.bytes(f.handle<task_actor>()) == f.bytes(ptr));
  CHECK(f.bytes(f.handle<node_actor>()) == f.bytes(ptr));
  CHECK(f.bytes(subscribe{f.handle<event_sink_actor>()}) == f.bytes(ptr));
}

TEST_CASE("a truncated buffer fails to load instead of yielding a value",
          "[messages][serialization]") {
  fixture f;
  auto msg = caf::make_message(sample_job_record());
  std::vector<char> buf;
  caf::binary_serializer sink{f.sys, buf};
  REQUIRE(!msg.save(sink));
  REQUIRE(buf.size() > 10);
  buf.resize(buf.size() / 2);
  auto copy = caf::make_message(job_record{});
  caf::binary_deserializer source{f.sys, buf};
  CHECK(copy.load(source));
}
