// Distribution with real processes on 127.0.0.1: a head, worker nodes and
// client commands, each a `quiesce` process. Ports are chosen by the OS (the
// head listens on port 0 and prints the real one). Every wait is bounded and
// every process is killed at the end, even when a check fails: the `child`
// objects kill their process, and a `marker_sweeper` kills task processes
// left by a node killed with SIGKILL (nobody is left to kill those).

#include "cli/exit_status.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Heartbeats short enough for the tests to notice losses quickly.
const std::vector<std::string> fast_links{"--heartbeat", "200ms",
                                          "--node-timeout", "1500ms"};

std::string unique_mark(const std::string& what) {
  static int counter = 0;
  return "quiesce-dist-" + what + "-" + std::to_string(::getpid()) + "-"
         + std::to_string(++counter);
}

// Returns the pids of processes whose environment holds `marker` (tasks
// carry it in `env`, and their children inherit it).
std::vector<pid_t> processes_with_env(const std::string& marker) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    auto environ = read_file(entry.path().string() + "/environ");
    if (environ.find(marker) != std::string::npos)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Waits up to `bound` until no process carries `marker`.
bool no_process_left(const std::string& marker,
                     std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!processes_with_env(marker).empty()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Kills every process carrying one of its markers when it goes.
class marker_sweeper {
public:
  void add(const std::string& marker) {
    markers_.push_back(marker);
  }

  ~marker_sweeper() {
    for (const auto& m : markers_)
      for (auto pid : processes_with_env(m))
        ::kill(pid, SIGKILL);
  }

private:
  std::vector<std::string> markers_;
};

// A job file of one assessment of `n` command tasks running `body` with
// `/bin/sh -c`, each carrying `mark-<i>` in its environment.
std::string job_file(const std::string& name, int n, const std::string& body,
                     const std::string& mark,
                     const std::string& job_extra = {}) {
  std::string out = "[[job]]\nname = \"" + name + "\"\n" + job_extra
                    + "\n  [[job.assessment]]\n  name = \"work\"\n";
  for (int i = 1; i <= n; ++i)
    out += "\n    [[job.assessment.task]]\n    name = \"t" + std::to_string(i)
           + "\"\n    command = [\"/bin/sh\", \"-c\", \"" + body
           + "\"]\n    env = { QUIESCE_TEST_MARK = \"" + mark + "-"
           + std::to_string(i) + "\" }\n";
  return out;
}

// A head, nodes and clients in one scratch directory.
class cluster {
public:
  explicit cluster(const scratch_dir& dir) : dir_(dir) {
    // nop
  }

  // Starts a head on 127.0.0.1:`port` (0: any) with `extra` options and
  // reads its port.
  void start_head(uint16_t port = 0,
                  std::vector<std::string> extra = {"--local-slots", "0"}) {
    std::vector<std::string> args{"head", "--dev", "--listen",
                                  "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), fast_links.begin(), fast_links.end());
    args.insert(args.end(), extra.begin(), extra.end());
    heads_.push_back(std::make_unique<child>(dir_, args));
    auto& h = *heads_.back();
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(eventually(
        [&] { return h.output().find(prefix) != std::string::npos; }, 15s));
    auto out = h.output();
    auto at = out.find(prefix) + prefix.size();
    port_ = static_cast<uint16_t>(std::stoul(out.substr(at)));
    REQUIRE(port_ != 0);
  }

  // Returns the head process started last.
  child& head() {
    return *heads_.back();
  }

  // Returns "127.0.0.1:PORT".
  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  uint16_t port() const {
    return port_;
  }

  // Starts a node named `name` with `slots` slots.
  child& start_node(const std::string& name, int slots = 2,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"node",
                                  "--head",
                                  address(),
                                  "--name",
                                  name,
                                  "--slots",
                                  std::to_string(slots),
                                  "--run-dir",
                                  dir_.path("runs-" + name),
                                  "--reconnect-delay",
                                  "200ms"};
    args.insert(args.end(), fast_links.begin(), fast_links.end());
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_[name] = std::make_unique<child>(dir_, args);
    return *nodes_[name];
  }

  child& node(const std::string& name) {
    return *nodes_.at(name);
  }

  // Runs a client command against the head.
  exit_info client(std::vector<std::string> args,
                   std::chrono::milliseconds bound = 30s) {
    args.push_back("--head");
    args.push_back(address());
    return run_quiesce(dir_, args, bound);
  }

  // Runs a client command with --json and returns its document.
  json client_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = client(args);
    INFO(r.err);
    REQUIRE_FALSE(r.timed_out);
    return json::parse(r.out);
  }

  // Returns the nodes' statuses by name.
  std::map<std::string, std::string> node_statuses() {
    std::map<std::string, std::string> out;
    auto doc = client_json({"list", "nodes"});
    for (const auto& n : doc["nodes"])
      out[n["name"].get<std::string>()] = n["status"].get<std::string>();
    return out;
  }

  // Waits until every named node is ready.
  bool nodes_ready(const std::vector<std::string>& names,
                   std::chrono::milliseconds bound = 20s) {
    return eventually(
        [&] {
          auto st = node_statuses();
          for (const auto& n : names)
            if (st[n] != "ready")
              return false;
          return true;
        },
        bound);
  }

  // Returns the tasks of `job` (JSON records).
  json tasks(int job) {
    return client_json({"list", "tasks", std::to_string(job)})["tasks"];
  }

  // Waits until `job` has at least `n` running tasks.
  bool running(int job, size_t n, std::chrono::milliseconds bound = 20s) {
    return eventually(
        [&] {
          size_t count = 0;
          for (const auto& t : tasks(job))
            count += t["status"] == "running" ? 1 : 0;
          return count >= n;
        },
        bound);
  }

  // Submits the job file `text`; returns the first job's id.
  int submit(const std::string& file_name, const std::string& text) {
    auto path = dir_.write(file_name, text);
    auto doc = client_json({"submit", path});
    REQUIRE(doc["code"] == "ok");
    REQUIRE(doc["jobs"].size() >= 1);
    return doc["jobs"][0]["id"].get<int>();
  }

private:
  const scratch_dir& dir_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<child>> heads_;
  std::map<std::string, std::unique_ptr<child>> nodes_;
};

// A TCP listener on 127.0.0.1 that is not a Quiesce head: it answers every
// connection with `reply` and closes it, or, with an empty `reply`, accepts
// and stays silent.
class fake_listener {
public:
  explicit fake_listener(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] {
      serve();
    }};
  }

  ~fake_listener() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto fd : held_)
      ::close(fd);
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

private:
  void serve() {
    while (!stop_) {
      auto conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0)
        return;
      if (reply_.empty()) {
        held_.push_back(conn);
        continue;
      }
      auto n = ::send(conn, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      static_cast<void>(n);
      ::close(conn);
    }
  }

  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

// Returns a port of 127.0.0.1 that nothing listens on (just released).
uint16_t free_port() {
  auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Returns the events of `events --json` output that satisfy `pred` (a last
// line still being written is skipped).
template <class Pred>
size_t count_events(const std::string& out, Pred pred) {
  size_t n = 0;
  std::istringstream lines{out};
  for (std::string line; std::getline(lines, line);) {
    auto e = json::parse(line, nullptr, false);
    if (!e.is_discarded() && pred(e))
      ++n;
  }
  return n;
}

// Returns whether the `events --json` output shows the end of `job`.
bool shows_job_end(const std::string& out, int job) {
  return count_events(out,
                      [job](const json& e) {
                        return e["kind"] == "job" && e["job"] == job
                               && (e["current"] == "finished"
                                   || e["current"] == "failed"
                                   || e["current"] == "cancelled");
                      })
         > 0;
}

} // namespace

TEST_CASE("distributed: a job spreads over two nodes and every task ends on "
          "one of them",
          "[distributed]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  c.start_head();
  c.start_node("n1");
  c.start_node("n2");
  REQUIRE(c.nodes_ready({"n1", "n2"}));
  // The event stream, followed from its own process.
  child events{dir, {"events", "--json", "--head", c.address()}};
  REQUIRE(eventually(
      [&] { return events.errors().find("following") != std::string::npos; },
      10s));
  auto mark = unique_mark("spread");
  sweep.add(mark);
  auto job = c.submit("spread.toml", job_file("spread", 12, "sleep 0.3", mark));
  auto waited = c.client({"wait", std::to_string(job), "--json"});
  INFO(waited.err);
  CHECK(waited.status == exit_ok);
  auto doc = json::parse(waited.out);
  CHECK(doc["code"] == "ok");
  CHECK(doc["job"]["status"] == "finished");
  std::set<std::string> nodes;
  auto tasks = c.tasks(job);
  CHECK(tasks.size() == 12);
  for (const auto& t : tasks) {
    CHECK(t["status"] == "finished");
    CHECK(t["exit_code"] == 0);
    nodes.insert(t["node"].get<std::string>());
  }
  CHECK(nodes == std::set<std::string>{"n1", "n2"});
  // Human output: the result code by name and the tables.
  auto listed = c.client({"list", "jobs"});
  CHECK(listed.status == exit_ok);
  CHECK_THAT(listed.out, Catch::StartsWith("ok"));
  CHECK_THAT(listed.out, Catch::Contains("spread"));
  auto nodes_table = c.client({"list", "nodes"});
  CHECK_THAT(nodes_table.out, Catch::Contains("n1"));
  CHECK_THAT(nodes_table.out, Catch::Contains("ready"));
  auto status = c.client({"status", std::to_string(job)});
  CHECK(status.status == exit_ok);
  CHECK_THAT(status.out, Catch::Contains("finished"));
  // Every task's end reached the subscriber; SIGTERM stops it with 0.
  REQUIRE(eventually([&] { return shows_job_end(events.output(), job); }, 10s));
  events.signal(SIGTERM);
  auto ev = events.wait(10s);
  CHECK(ev.status == exit_ok);
  CHECK(count_events(ev.out,
                     [](const json& e) {
                       return e["kind"] == "task" && e["current"] == "finished";
                     })
        == 12);
}

TEST_CASE("distributed: cancel and terminate reach the processes on remote "
          "nodes",
          "[distributed]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  c.start_head();
  c.start_node("n1");
  c.start_node("n2");
  REQUIRE(c.nodes_ready({"n1", "n2"}));
  // -- cancel task, then cancel job --------------------------------------
  auto a = unique_mark("cancel");
  sweep.add(a);
  auto job_a
      = c.submit("a.toml", job_file("cancel-me", 4, "sleep 30", a,
                                    "grace = \"1s\"\nstop_commands_on_cancel = "
                                    "true\n"));
  REQUIRE(c.running(job_a, 4));
  // Dispatched is not yet spawned: wait for each task's processes, or the
  // checks of task 1's end and task 2's survival below would look at nothing.
  for (int i = 1; i <= 4; ++i)
    REQUIRE(eventually(
        [&] {
          return !processes_with_env(a + "-" + std::to_string(i)).empty();
        },
        10s));
  auto one = c.client({"cancel", "task", std::to_string(job_a), "1",
                       "--message", "not needed", "--json"});
  CHECK(one.status == exit_ok);
  CHECK(json::parse(one.out)["code"] == "ok");
  CHECK(no_process_left(a + "-1", 5s));
  CHECK_FALSE(processes_with_env(a + "-2").empty());
  auto job = c.client({"cancel", "job", std::to_string(job_a), "-m", "bye"});
  CHECK(job.status == exit_ok);
  CHECK_THAT(job.out, Catch::StartsWith("ok"));
  auto waited = c.client({"wait", std::to_string(job_a), "--timeout", "20s"});
  CHECK(waited.status == exit_cancelled);
  CHECK(no_process_left(a, 5s));
  for (const auto& t : c.tasks(job_a))
    CHECK(t["status"] == "cancelled");
  CHECK(c.tasks(job_a)[0]["error_message"] == "not needed");
  // -- terminate: the reply comes once the work is dead ----------------------
  auto b = unique_mark("terminate");
  sweep.add(b);
  auto job_b
      = c.submit("b.toml", job_file("terminate-me", 4, "trap '' TERM; sleep 30",
                                    b, "grace = \"60s\"\n"));
  REQUIRE(c.running(job_b, 4));
  auto term = c.client({"terminate", "job", std::to_string(job_b), "--json"});
  CHECK(term.status == exit_ok);
  CHECK(json::parse(term.out)["code"] == "ok");
  CHECK(processes_with_env(b).empty());
  auto st = c.client_json({"status", std::to_string(job_b)});
  CHECK(st["job"]["status"] == "cancelled");
  // -- refusals: code by name, exit status 5 --------------------------------
  auto refused = c.client({"cancel", "task", std::to_string(job_b), "2"});
  CHECK(refused.status == exit_refused);
  CHECK_THAT(refused.out, Catch::StartsWith("invalid_state"));
  auto missing = c.client({"cancel", "job", "999", "--json"});
  CHECK(missing.status == exit_refused);
  CHECK(json::parse(missing.out)["code"] == "job_not_found");
  auto stale = c.client({"terminate", "job", std::to_string(job_b)});
  CHECK(stale.status == exit_refused);
  CHECK_THAT(stale.out, Catch::StartsWith("no_job_running"));
}

TEST_CASE("distributed: a node killed with SIGKILL mid-job loses its tasks, "
          "which finish on the other node",
          "[distributed]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  c.start_head();
  c.start_node("n1");
  c.start_node("n2");
  REQUIRE(c.nodes_ready({"n1", "n2"}));
  child events{dir, {"events", "--json", "--head", c.address()}};
  REQUIRE(eventually(
      [&] { return events.errors().find("following") != std::string::npos; },
      10s));
  auto mark = unique_mark("sigkill");
  sweep.add(mark);
  auto job = c.submit("k.toml", job_file("survive", 8, "sleep 1.5", mark));
  // Wait until n1 runs something, then kill it.
  REQUIRE(eventually(
      [&] {
        for (const auto& t : c.tasks(job))
          if (t["status"] == "running" && t["node"] == "n1")
            return true;
        return false;
      },
      20s));
  c.node("n1").signal(SIGKILL);
  auto waited
      = c.client({"wait", std::to_string(job), "--timeout", "40s"}, 60s);
  INFO(waited.out << waited.err);
  CHECK(waited.status == exit_ok);
  size_t lost = 0;
  auto tasks = c.tasks(job);
  REQUIRE(tasks.size() == 8);
  for (const auto& t : tasks) {
    CHECK(t["status"] == "finished");
    if (t["node_losses"].get<int>() > 0) {
      ++lost;
      CHECK(t["node"] == "n2");
      CHECK(t["requeue_count"].get<int>() >= t["node_losses"].get<int>());
    }
  }
  CHECK(lost >= 1);
  auto statuses = c.node_statuses();
  CHECK(statuses["n1"] == "unreachable");
  CHECK(statuses["n2"] == "ready");
  // The event stream says why: running -> queued with node_lost.
  REQUIRE(eventually([&] { return shows_job_end(events.output(), job); }, 10s));
  auto requeued = count_events(events.output(), [](const json& e) {
    return e["kind"] == "task" && e["code"] == "node_lost"
           && e["previous"] == "running" && e["current"] == "queued";
  });
  CHECK(requeued == lost);
}

TEST_CASE("distributed: a node whose head is killed keeps its tasks for the "
          "lease, then kills them and rejoins a new head on the same port",
          "[distributed][fencing]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  c.start_head();
  auto& n = c.start_node("n1", 2, {"--head-lease", "2s"});
  REQUIRE(c.nodes_ready({"n1"}));
  auto mark = unique_mark("headless");
  sweep.add(mark);
  auto job = c.submit("h.toml", job_file("orphan", 2, "sleep 30", mark));
  REQUIRE(c.running(job, 2));
  // `running` is the head's books: the task was dispatched. The node spawns
  // its command after that, so wait (bounded) for the processes themselves
  // (reading /proc at once found none under load).
  REQUIRE(
      eventually([&] { return processes_with_env(mark).size() >= 2; }, 10s));
  // Clients waiting on the head when it dies.
  child waiting{dir, {"wait", std::to_string(job), "--head", c.address()}};
  child following{dir, {"events", "--head", c.address()}};
  // Both must have reached the head before it dies, or they rightly say
  // `cannot reach` instead (seen once in CI, on a busy machine, for `wait`).
  REQUIRE(eventually(
      [&] { return following.errors().find("following") != std::string::npos; },
      10s));
  REQUIRE(eventually(
      [&] {
        return waiting.errors().find("waiting for job") != std::string::npos;
      },
      10s));
  c.head().signal(SIGKILL);
  // The node keeps both attempts for its lease (2 s)...
  REQUIRE(eventually(
      [&] {
        return n.output().find("keeping this node's 2 attempt(s) for the "
                               "lease (2s)")
               != std::string::npos;
      },
      10s));
  // ... so they run after it noticed the loss: processes seen while it has
  // not yet said the lease expired (seen after, on a very slow machine:
  // nothing to check then).
  auto alive = processes_with_env(mark).size();
  if (n.output().find("stayed away longer") == std::string::npos)
    CHECK(alive >= 2);
  // ... then kills them itself.
  REQUIRE(eventually(
      [&] {
        return n.output().find("the head stayed away longer than the lease "
                               "(2s)")
               != std::string::npos;
      },
      15s));
  CHECK(no_process_left(mark, 8s));
  // They learn at once that the head is gone.
  auto w = waiting.wait(10s);
  CHECK_FALSE(w.timed_out);
  CHECK(w.status == exit_unreachable);
  CHECK_THAT(w.out, Catch::StartsWith("unavailable: lost the head"));
  auto f = following.wait(10s);
  CHECK(f.status == exit_unreachable);
  CHECK_THAT(f.err, Catch::Contains("lost the head"));
  CHECK(eventually(
      [&] { return n.output().find("lost the head") != std::string::npos; },
      5s));
  CHECK(n.running());
  // Nothing listens now: clients say so, with status 6.
  auto gone = c.client({"list", "jobs"});
  CHECK(gone.status == exit_unreachable);
  CHECK_THAT(gone.err, Catch::Contains("cannot reach"));
  // A new head on the same port: the node rejoins on its own.
  c.start_head(c.port());
  CHECK(c.nodes_ready({"n1"}));
  auto out = n.output();
  auto first = out.find("joined the head");
  CHECK(first != std::string::npos);
  CHECK(out.find("joined the head", first + 1) != std::string::npos);
  // The head prints joins from a poll of its node list every 200 ms, and a
  // stop ends that loop: wait until it has printed this one before stopping
  // anything (seen missing under load when the node and head were stopped
  // right after the node was listed ready).
  CHECK(eventually(
      [&] {
        return c.head().output().find("node n1 joined") != std::string::npos;
      },
      5s));
  // SIGTERM stops the node and the head with status 0.
  n.signal(SIGTERM);
  CHECK(n.wait(10s).status == exit_ok);
  c.head().signal(SIGTERM);
  auto h = c.head().wait(10s);
  CHECK(h.status == exit_ok);
  CHECK_THAT(h.out, Catch::Contains("node n1 joined"));
}

TEST_CASE("distributed: a node that loses its head and gets it back within "
          "the lease keeps its tasks, which end ok with no second attempt",
          "[distributed][fencing]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  c.start_head(0, {"--local-slots", "0", "--head-lease", "60s"});
  auto& n = c.start_node("n1", 2, {"--head-lease", "60s"});
  REQUIRE(c.nodes_ready({"n1"}));
  auto mark = unique_mark("kept");
  sweep.add(mark);
  auto go = dir.path("go");
  auto job = c.submit("k.toml",
                      job_file("kept", 2,
                               "while [ ! -e " + go + " ]; do sleep 0.1; done",
                               mark));
  REQUIRE(c.running(job, 2));
  REQUIRE(
      eventually([&] { return processes_with_env(mark).size() >= 2; }, 10s));
  // A stopped head goes silent: the node drops the connection after its
  // node timeout (1.5 s) and says it keeps its attempts.
  c.head().signal(SIGSTOP);
  auto lost = eventually(
      [&] {
        return n.output().find("keeping this node's 2 attempt(s)")
               != std::string::npos;
      },
      20s);
  c.head().signal(SIGCONT);
  REQUIRE(lost);
  // The same head, resumed, sees the node lost, and takes both attempts
  // over when the node (the same process) joins again and reports them.
  REQUIRE(eventually(
      [&] {
        return n.output().find("reported 2 attempt(s) kept from before")
               != std::string::npos;
      },
      30s));
  REQUIRE(c.nodes_ready({"n1"}));
  dir.write("go", "");
  auto waited
      = c.client({"wait", std::to_string(job), "--timeout", "40s"}, 60s);
  INFO(waited.out << waited.err << n.output());
  CHECK(waited.status == exit_ok);
  for (const auto& t : c.tasks(job)) {
    CHECK(t["status"] == "finished");
    CHECK(t["attempts"] == 1);
    CHECK(t["node_losses"] == 0);
    CHECK(t["requeue_count"] == 0);
  }
}

TEST_CASE("distributed: a node SIGKILLed and restarted under its name 20 "
          "times never runs two attempts of one task at once",
          "[distributed][fencing]") {
  scratch_dir dir;
  marker_sweeper sweep;
  cluster c{dir};
  // A lease far longer than the test: what is placed again during it is
  // placed because the new incarnation proved the old attempts dead.
  c.start_head(0, {"--local-slots", "0", "--head-lease", "300s"});
  c.start_node("n1", 2);
  REQUIRE(c.nodes_ready({"n1"}));
  auto mark = unique_mark("fence");
  sweep.add(mark);
  auto marker = dir.path("marker");
  auto go = dir.path("go");
  // Each attempt holds its task's lock for its whole life (the shell and its
  // children share the descriptor): a lock still held by an attempt that
  // lives on is an overlap. Lines are appended under the marker's own lock.
  auto append = [&](const std::string& what) {
    return "flock " + marker + " sh -c 'echo " + what
           + " $QUIESCE_TEST_MARK >> " + marker + "'";
  };
  auto body = "exec 9>>" + dir.path("lock")
              + "-$QUIESCE_TEST_MARK; flock -n 9 || " + append("overlap") + "; "
              + append("start") + "; while [ ! -e " + go
              + " ]; do sleep 0.1; done; " + append("end");
  auto job
      = c.submit("f.toml", job_file("fence", 2, body, mark, "retries = 100\n"));
  // Returns how many lines `what MARK-i` the marker holds.
  auto lines = [&](const std::string& what, int task) {
    std::istringstream in{read_file(marker)};
    std::string line;
    int count = 0;
    auto want = what + " " + mark + "-" + std::to_string(task);
    while (std::getline(in, line))
      count += line == want ? 1 : 0;
    return count;
  };
  const int restarts = 20;
  for (int i = 0; i < restarts; ++i) {
    INFO("restart " << i);
    // Both tasks run an attempt of this incarnation...
    REQUIRE(eventually(
        [&] { return lines("start", 1) > i && lines("start", 2) > i; }, 30s));
    // ... when it dies, and a new process takes the name.
    c.node("n1").signal(SIGKILL);
    c.node("n1").wait(10s);
    c.start_node("n1", 2);
  }
  REQUIRE(eventually(
      [&] {
        return lines("start", 1) > restarts && lines("start", 2) > restarts;
      },
      30s));
  dir.write("go", "");
  auto waited
      = c.client({"wait", std::to_string(job), "--timeout", "40s"}, 60s);
  INFO(waited.out << waited.err << read_file(marker));
  CHECK(waited.status == exit_ok);
  auto all = read_file(marker);
  CHECK(all.find("overlap") == std::string::npos);
  for (int task = 1; task <= 2; ++task) {
    CHECK(lines("end", task) == 1);
    CHECK(lines("start", task) == restarts + 1);
  }
  for (const auto& t : c.tasks(job)) {
    CHECK(t["status"] == "finished");
    CHECK(t["attempts"] == restarts + 1);
    CHECK(t["node_losses"] == restarts);
  }
}

TEST_CASE("distributed: peers that are not a Quiesce head, or speak another "
          "protocol version, are refused clearly",
          "[distributed]") {
  scratch_dir dir;
  SECTION("a client against a listener that sends garbage") {
    fake_listener garbage{std::string(64, 'x')
                          + "HTTP/1.1 400 Bad Request\r\n"};
    auto r
        = run_quiesce(dir, {"list", "jobs", "--head", garbage.address()}, 20s);
    CHECK_FALSE(r.timed_out);
    CHECK(r.status == exit_unreachable);
    CHECK_THAT(r.err, Catch::Contains(garbage.address()));
    CHECK_THAT(r.err, Catch::Contains("not a Quiesce head"));
    auto j = run_quiesce(
        dir, {"status", "1", "--json", "--head", garbage.address()}, 20s);
    CHECK(j.status == exit_unreachable);
    CHECK(json::parse(j.out)["code"] == "protocol_mismatch");
  }
  SECTION("a client against a listener that stays silent") {
    fake_listener silent{""};
    auto r = run_quiesce(
        dir, {"list", "jobs", "--timeout", "1s", "--head", silent.address()},
        20s);
    CHECK_FALSE(r.timed_out);
    CHECK(r.status == exit_unreachable);
    CHECK_THAT(r.err, Catch::Contains("did not complete CAF's handshake"));
  }
  SECTION("a client where nothing listens") {
    auto addr = "127.0.0.1:" + std::to_string(free_port());
    auto r = run_quiesce(dir, {"wait", "1", "--head", addr}, 20s);
    CHECK(r.status == exit_unreachable);
    CHECK_THAT(r.err, Catch::Contains("cannot reach " + addr));
  }
  SECTION("a node against a listener that sends garbage gives up") {
    fake_listener garbage{std::string(64, 'x')};
    auto r = run_quiesce(
        dir,
        {"node", "--head", garbage.address(), "--name", "lost", "--slots", "1"},
        20s);
    CHECK_FALSE(r.timed_out);
    CHECK(r.status == exit_unreachable);
    CHECK_THAT(r.out, Catch::Contains("protocol_mismatch"));
    CHECK_THAT(r.err, Catch::Contains("not a Quiesce head"));
  }
  SECTION("a node of another protocol version is refused by the head") {
    cluster c{dir};
    c.start_head();
    auto& n = c.start_node("old", 1, {"--protocol-version", "99"});
    auto r = n.wait(20s);
    CHECK_FALSE(r.timed_out);
    CHECK(r.status == exit_unreachable);
    CHECK_THAT(r.out, Catch::Contains("protocol_mismatch"));
    CHECK_THAT(r.out, Catch::Contains("speaks protocol version 99"));
    CHECK(c.node_statuses().count("old") == 0);
  }
}

TEST_CASE("distributed: client commands check their input before sending "
          "anything",
          "[distributed]") {
  scratch_dir dir;
  auto bad = dir.write("bad.toml", "[[job]]\nname = 3\n");
  // No head listens at port 1: a bad file is refused before connecting.
  auto r = run_quiesce(dir, {"submit", bad, "--head", "127.0.0.1:1"}, 20s);
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("bad.toml:2:"));
  CHECK(run_quiesce(dir, {"cancel", "job"}, 20s).status == exit_invalid_input);
  CHECK(run_quiesce(dir, {"list", "jobs", "--status", "bogus"}, 20s).status
        == exit_invalid_input);
  CHECK(run_quiesce(dir, {"list", "nodes", "--head", "nowhere"}, 20s).status
        == exit_invalid_input);
  CHECK(run_quiesce(dir, {"wait", "1", "--timeout", "soon"}, 20s).status
        == exit_invalid_input);
}

TEST_CASE("distributed: a head runs the runtime file's slots as its own node, "
          "unless --local-slots says otherwise",
          "[cli][distributed][settings]") {
  scratch_dir dir;
  auto rt = dir.write("rt.toml", "[runtime]\nslots = 3\nrun_dir = \"runs\"\n");
  auto head_slots = [&](std::vector<std::string> extra) {
    cluster c{dir};
    c.start_head(0, std::move(extra));
    auto doc = c.client_json({"list", "nodes"});
    c.head().signal(SIGTERM);
    CHECK(c.head().wait(15s).status == 0);
    REQUIRE(doc["nodes"].size() == 1);
    CHECK(doc["nodes"][0]["name"] == "head");
    return doc["nodes"][0]["slots"].get<int>();
  };
  CHECK(head_slots({"--runtime", rt}) == 3);
  CHECK(head_slots({"--runtime", rt, "--local-slots", "1"}) == 1);
}

TEST_CASE("distributed: head and node refuse a runtime file with 'nodes' and "
          "inconsistent flags",
          "[cli][distributed][settings]") {
  scratch_dir dir;
  auto rt = dir.write("rt.toml",
                      "[runtime]\nslots = 1\nnodes = [\"10.0.0.2:7701\"]\n");
  for (auto cmd : {"head", "node"}) {
    INFO(cmd);
    auto r = run_quiesce(dir, {cmd, "--runtime", rt}, 15s);
    CHECK(r.status == exit_invalid_input);
    CHECK_THAT(r.err, Catch::Contains(rt
                                      + ":3:1: error: 'nodes' is not "
                                        "supported"));
    CHECK_THAT(r.err, Catch::Contains("quiesce node --head HOST:PORT"));
    CHECK(r.out.empty());
  }
  // A flag overrides the file, and the result is checked as a whole.
  auto slow = dir.write("slow.toml", "[runtime]\nheartbeat = \"2s\"\n"
                                     "node_timeout = \"3s\"\n");
  auto r = run_quiesce(dir, {"node", "--runtime", slow, "--node-timeout", "1s"},
                       15s);
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("the node timeout (1s) must be longer "
                                    "than the heartbeat (2s)"));
}
