// Node and client faults against a head published on 127.0.0.1: a worker
// node SIGKILLed in the middle of a job, a worker SIGSTOPped past the
// heartbeat timeout and then continued, and a client killed while its request
// is in flight. The head runs in this process (`runtime` with `network` and
// `runtime::publish`, no local node); workers and clients are this test binary
// started again in a helper mode (main.cpp), so each fault hits a real
// process. After each fault the head must keep serving and account for every
// task: each ends in one terminal status, and each loss is counted.

#include "execution/launcher.hpp"
#include "reliability/support.hpp"
#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

using namespace quiesce;
using namespace quiesce::reliability;
using namespace std::chrono_literals;

namespace {

/// A helper process: this binary in `--worker` or `--client` mode, its
/// standard output on a pipe. Killed and reaped on destruction.
class helper {
public:
  helper(std::vector<std::string> args, const std::string& marker) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A group of its own: signals to it reach nothing else.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e)
      env_strings.emplace_back(*e);
    env_strings.push_back(std::string{marker_var} + "=" + marker);
    std::vector<char*> envp;
    for (auto& s : env_strings)
      envp.push_back(s.data());
    envp.push_back(nullptr);
    args.insert(args.begin(), "/proc/self/exe");
    std::vector<char*> argv;
    for (auto& s : args)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    auto rc = ::posix_spawn(&pid_, "/proc/self/exe", &fa, &attr, argv.data(),
                            envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    out_ = fds[0];
    REQUIRE(rc == 0);
  }

  ~helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      reap();
    }
    if (out_ >= 0)
      ::close(out_);
  }

  helper(const helper&) = delete;
  helper& operator=(const helper&) = delete;

  /// Reads output until a line contains `text` or `bound` passes.
  bool wait_for(const std::string& text, std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (seen_.find(text) != std::string::npos)
        return true;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0)
        continue;
      char buf[1024];
      auto n = ::read(out_, buf, sizeof(buf));
      if (n <= 0)
        break;
      seen_.append(buf, static_cast<size_t>(n));
    }
    return seen_.find(text) != std::string::npos;
  }

  /// Sends `sig` to the process.
  void signal(int sig) {
    REQUIRE(::kill(pid_, sig) == 0);
  }

  /// Waits for the process to end (after a kill); returns its wait status.
  int reap() {
    int status = 0;
    if (pid_ > 0)
      ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  /// Returns what it printed so far.
  const std::string& output() const noexcept {
    return seen_;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string seen_;
};

/// A head with no local node, published on a port of its own.
struct head_fixture {
  temp_dir dir;
  std::string marker = unique_marker();
  std::unique_ptr<runtime> rt;
  uint16_t port = 0;
  std::mutex events_mtx;
  std::vector<event> events;

  head_fixture() {
    runtime_options opts;
    opts.threads = 2;
    opts.local_node = false;
    opts.network = true;
    opts.heartbeat_interval = 200ms;
    opts.connection_timeout = 1000ms;
    opts.request_timeout = 10s;
    opts.terminate_bound = 10s;
    // A lost node's attempts are placed again 500 ms plus their grace period
    // after the loss (docs/containment.md, "Fencing").
    opts.head_lease = 500ms;
    opts.dev_mode = true; // loopback without TLS
    opts.run_dir = dir / "runs";
    rt = std::make_unique<runtime>(opts);
    rt->subscribe([this](const event& ev) {
      std::lock_guard<std::mutex> guard{events_mtx};
      events.push_back(ev);
    });
    std::string error;
    port = rt->publish("127.0.0.1", 0, error);
    INFO(error);
    REQUIRE(port != 0);
  }

  ~head_fixture() {
    rt->shutdown();
  }

  head_fixture(const head_fixture&) = delete;
  head_fixture& operator=(const head_fixture&) = delete;

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port);
  }

  /// Starts a worker node and waits until the head lists it as ready.
  std::unique_ptr<helper> start_worker(const std::string& name,
                                       uint32_t slots) {
    auto w = std::make_unique<helper>(
        std::vector<std::string>{"--worker", address(), name,
                                 std::to_string(slots)},
        marker);
    INFO("worker output: " << w->output());
    REQUIRE(w->wait_for("joined", 20s));
    REQUIRE(node_is(name, "ready"));
    return w;
  }

  /// Returns whether the head lists node `name` with `status` (bounded).
  bool node_is(const std::string& name, const std::string& status,
               std::chrono::milliseconds bound = 10s) {
    return wait_until(
        [&] {
          for (auto& n : rt->nodes().nodes)
            if (n.name == name && to_name(n.status) == status)
              return true;
          return false;
        },
        bound);
  }

  /// Adds and submits a job of one assessment of `n` blocking tasks.
  job_id start_blocking_job(size_t n, uint32_t retries = 3) {
    job_spec spec;
    spec.name = "node-fault";
    spec.policy.grace = 200ms;
    spec.policy.retries = retries;
    assessment_spec a;
    for (size_t i = 0; i < n; ++i) {
      task_spec t;
      t.kind = work_kind::function;
      t.work = "block";
      a.tasks.push_back(t);
    }
    spec.assessments.push_back(a);
    auto added = rt->add_job(spec);
    REQUIRE(added.code == result_code::ok);
    REQUIRE(rt->submit(added.job).code == result_code::ok);
    return added.job;
  }

  /// Waits until every task of `job` is running on `node`.
  bool all_running_on(job_id job, const std::string& node,
                      std::chrono::milliseconds bound = 10s) {
    return wait_until(
        [&] {
          auto list = rt->list_tasks(job);
          if (list.tasks.empty())
            return false;
          for (auto& t : list.tasks)
            if (t.status != task_status::running || t.node != node)
              return false;
          return true;
        },
        bound);
  }

  /// Returns the task events of `job` that went from `from` to `to`.
  std::vector<event> task_events(job_id job, task_status from, task_status to) {
    std::lock_guard<std::mutex> guard{events_mtx};
    std::vector<event> out;
    for (auto& ev : events)
      if (ev.job == job && ev.kind == event_kind::task && is(ev.previous, from)
          && is(ev.current, to))
        out.push_back(ev);
    return out;
  }

  /// Returns whether a fresh remote client can connect and list the jobs.
  bool serves() const {
    settings opts;
    opts.head = "127.0.0.1:" + std::to_string(port);
    opts.request_timeout = 5s;
    auto connected = connect(opts);
    if (!connected.client)
      return false;
    return connected.client->list_jobs().code == result_code::ok;
  }

  /// Terminates `job` and checks every task of it ended in one terminal
  /// status.
  void finish(job_id job) {
    auto reply = rt->terminate_job(job);
    CHECK(reply.code == result_code::ok);
    auto rec = rt->wait(job, 10s);
    REQUIRE(rec.code == result_code::ok);
    CHECK(rec.job.status == job_status::cancelled);
    for (auto& t : rt->list_tasks(job).tasks) {
      INFO("task " << t.id);
      CHECK(is_terminal(t.status));
    }
  }
};

} // namespace

TEST_CASE("node fault: a node SIGKILLed mid-job loses its attempts, which run "
          "again on another node, and the head keeps serving",
          "[reliability][node_fault]") {
  head_fixture head;
  auto w1 = head.start_worker("w1", 2);
  auto job = head.start_blocking_job(2);
  REQUIRE(head.all_running_on(job, "w1"));
  auto w2 = head.start_worker("w2", 2);
  w1->signal(SIGKILL);
  w1->reap();
  // Noticed through the connection's end: each attempt is lost and queued
  // again (R8), then placed on the surviving node.
  CHECK(head.node_is("w1", "unreachable"));
  REQUIRE(head.all_running_on(job, "w2"));
  for (auto& t : head.rt->list_tasks(job).tasks) {
    INFO("task " << t.id);
    CHECK(t.node_losses == 1);
    CHECK(t.attempts == 2);
  }
  // Each loss is published: running -> queued with node_lost, once a task.
  // The records above come from the supervisor; its events reach the
  // subscriber later, on the event thread, in order. So wait until the
  // second start of both tasks is delivered: the losses come before it in
  // the stream, so both are delivered by then (reading at once missed them
  // under load).
  REQUIRE(wait_until([&] {
    return head.task_events(job, task_status::queued, task_status::running)
               .size()
           >= 4;
  }));
  CHECK(head.task_events(job, task_status::queued, task_status::running).size()
        == 4);
  auto lost = head.task_events(job, task_status::running, task_status::queued);
  REQUIRE(lost.size() == 2);
  for (auto& ev : lost)
    CHECK(ev.code == result_code::node_lost);
  CHECK(head.serves());
  head.finish(job);
  CHECK(head.rt->nodes().nodes.size() == 2);
}

TEST_CASE("node fault: a node SIGSTOPped past the heartbeat timeout is "
          "dropped, its attempts are retried, and it rejoins after SIGCONT",
          "[reliability][node_fault]") {
  head_fixture head;
  auto w1 = head.start_worker("w1", 1);
  auto job = head.start_blocking_job(1);
  REQUIRE(head.all_running_on(job, "w1"));
  w1->signal(SIGSTOP);
  // connection_timeout is 1 s: well within 10 s the head gives up on it.
  CHECK(head.node_is("w1", "unreachable", 15s));
  CHECK(wait_until(
      [&] {
        return head.rt->task_status(job, 1).task.status == task_status::queued;
      },
      5s));
  CHECK(head.serves());
  w1->signal(SIGCONT);
  // The worker sees its head connection gone, kills its attempts and joins
  // again; the queued task then runs there as its second attempt.
  CHECK(head.node_is("w1", "ready", 15s));
  REQUIRE(head.all_running_on(job, "w1", 15s));
  auto t = head.rt->task_status(job, 1).task;
  CHECK(t.attempts == 2);
  CHECK(t.node_losses == 1);
  head.finish(job);
}

TEST_CASE("node fault: a node lost more often than the job's retries leaves "
          "its task failed with node_lost",
          "[reliability][node_fault]") {
  head_fixture head;
  auto w1 = head.start_worker("w1", 1);
  auto job = head.start_blocking_job(1, 0);
  REQUIRE(head.all_running_on(job, "w1"));
  w1->signal(SIGKILL);
  w1->reap();
  auto rec = head.rt->wait(job, 15s);
  REQUIRE(rec.code == result_code::ok);
  CHECK(rec.job.status == job_status::failed);
  auto t = head.rt->task_status(job, 1).task;
  CHECK(t.status == task_status::failed);
  CHECK(t.end_code == result_code::node_lost);
  CHECK(head.serves());
}

TEST_CASE("node fault: a client killed while its request is in flight does "
          "not disturb the head",
          "[reliability][node_fault]") {
  head_fixture head;
  auto w1 = head.start_worker("w1", 1);
  auto job = head.start_blocking_job(1);
  REQUIRE(head.all_running_on(job, "w1"));
  for (int round = 0; round < 3; ++round) {
    helper client{{"--client", head.address(), std::to_string(job)},
                  head.marker};
    INFO("client output: " << client.output());
    REQUIRE(client.wait_for("connected", 20s));
    // The wait_job request is now pending in the supervisor.
    std::this_thread::sleep_for(200ms);
    client.signal(SIGKILL);
    client.reap();
  }
  CHECK(head.serves());
  CHECK(head.rt->task_status(job, 1).task.status == task_status::running);
  // The pending replies to dead clients go nowhere; the job still ends and
  // the live waiter gets its reply.
  head.finish(job);
  CHECK(head.serves());
}

namespace {

/// Runs a job of one command task (`sh -c script`, its processes marked with
/// `marker`) on worker w1, waits until `expected` of its processes live,
/// SIGKILLs the worker and returns whether they all died within the job's
/// grace period (the default, 5 s) + 1 s.
bool commands_die_with_node(head_fixture& head, const std::string& script,
                            const std::string& marker, size_t expected) {
  auto w1 = head.start_worker("w1", 1);
  job_spec spec;
  spec.name = "orphans";
  assessment_spec a;
  task_spec t;
  t.kind = work_kind::command;
  t.command.argv = {"sh", "-c", script};
  t.command.env[marker_var] = marker;
  a.tasks.push_back(t);
  spec.assessments.push_back(a);
  auto added = head.rt->add_job(spec);
  REQUIRE(added.code == result_code::ok);
  REQUIRE(head.rt->submit(added.job).code == result_code::ok);
  REQUIRE(head.all_running_on(added.job, "w1"));
  REQUIRE(wait_until([&] { return alive_count(marker) == expected; }, 5s));
  w1->signal(SIGKILL);
  w1->reap();
  auto gone = wait_until(
      [&] { return none_alive(marker); },
      std::chrono::duration_cast<std::chrono::milliseconds>(job_policy{}.grace)
          + 1s);
  head.finish(added.job);
  // Clean up what the node left, whoever its parent is now.
  for (auto& p : marked(marker)) {
    ::kill(p.pid, SIGKILL);
    if (p.ppid == ::getpid())
      ::waitpid(p.pid, nullptr, 0);
  }
  return gone;
}

} // namespace

TEST_CASE("node fault: the commands of a node SIGKILLed mid-job do not "
          "outlive it",
          "[reliability][node_fault]") {
  // The node's keeper process sees the node's end (its socket closes) and
  // kills the node's cgroups, or its process groups without cgroups.
  head_fixture head;
  CHECK(commands_die_with_node(head, "exec sleep 30", head.marker + "-cmd", 1));
}

TEST_CASE("node fault: commands that setsid and double-fork die with a node "
          "SIGKILLed mid-job",
          "[reliability][node_fault][cgroup]") {
  {
    process::launcher probe;
    if (!probe.uses_cgroups()) {
      WARN("no cgroup v2 here, so nothing can find them: "
           << probe.containment());
      return;
    }
  }
  head_fixture head;
  CHECK(commands_die_with_node(
      head, "setsid sh -c '(sleep 300 &); exec sleep 300' & exec sleep 300",
      head.marker + "-cmd", 3));
}
