// What a user and an operator hit with the real binary (issue 20): a client
// waiting for a head that is slow to answer, rerunning a cancelled task of an
// ended job, an idempotent cancel, `submit --parsable`, the details of a
// refused message, the help texts and the tables. Every process is a real
// `quiesce`; every wait is bounded and polls a mark, never a bare sleep.

#include "cli/exit_status.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <memory>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A head on 127.0.0.1 with a port of its own and `extra` options.
struct head_process {
  std::unique_ptr<child> proc;
  std::string address;

  head_process(const scratch_dir& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"head", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child>(dir, args);
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(eventually(
        [&] { return proc->output().find(prefix) != std::string::npos; }, 15s));
    auto out = proc->output();
    auto at = out.find(prefix) + prefix.size();
    address = "127.0.0.1:" + std::to_string(std::stoul(out.substr(at)));
  }
};

exit_info client(const scratch_dir& dir, const head_process& h,
                 std::vector<std::string> args) {
  args.push_back("--head");
  args.push_back(h.address);
  return run_quiesce(dir, args, 60s);
}

json client_json(const scratch_dir& dir, const head_process& h,
                 std::vector<std::string> args) {
  args.push_back("--json");
  auto r = client(dir, h, args);
  INFO(r.err);
  REQUIRE_FALSE(r.timed_out);
  return json::parse(r.out);
}

// One assessment of two quick command tasks.
const char* two_tasks = R"([[job]]
name = "pair"
  [[job.assessment]]
  name = "work"
    [[job.assessment.task]]
    name = "a"
    command = ["/bin/true"]
    [[job.assessment.task]]
    name = "b"
    command = ["/bin/true"]
)";

} // namespace

TEST_CASE("operate: a client waits for a head that answers late instead of "
          "giving up after one heartbeat",
          "[cli][operate][connect]") {
  scratch_dir dir;
  head_process h{dir};
  // The head accepts the connection (the kernel does) but cannot answer
  // CAF's handshake while stopped. CAF 0.17.6 dropped such a handshake at
  // the client's first heartbeat tick (~1 s), whatever --timeout said.
  h.proc->signal(SIGSTOP);
  std::thread resume{[&] {
    std::this_thread::sleep_for(2s);
    h.proc->signal(SIGCONT);
  }};
  auto r = client(dir, h, {"list", "jobs", "--timeout", "30s"});
  resume.join();
  INFO(r.err);
  CHECK(r.status == exit_ok);
  CHECK_THAT(r.out, Catch::Contains("JOB"));
}

TEST_CASE("operate: a cancelled task of an ended job reruns with requeue job "
          "--cancelled, as the hint says",
          "[cli][operate][requeue][cancel]") {
  scratch_dir dir;
  // No node: the job starts, its tasks stay queued, so a cancel ends it at
  // once with both tasks cancelled.
  head_process h{dir, {"--local-slots", "0"}};
  auto file = dir.write("pair.toml", two_tasks);
  auto sub = client(dir, h, {"submit", "--parsable", file});
  INFO(sub.err);
  REQUIRE(sub.status == exit_ok);
  // --parsable prints the id alone.
  REQUIRE(sub.out == "1\n");
  REQUIRE(client(dir, h, {"cancel", "job", "1"}).status == exit_ok);
  REQUIRE(eventually(
      [&] {
        return client_json(dir, h, {"status", "1"})["job"]["status"]
               == "cancelled";
      },
      20s));

  SECTION("a second cancel: exit 5 by default, 0 with --if-active, same "
          "code") {
    auto again = client_json(dir, h, {"cancel", "job", "1"});
    CHECK(again["code"] == "no_job_running");
    CHECK(client(dir, h, {"cancel", "job", "1"}).status == exit_refused);
    auto idem = client(dir, h, {"cancel", "job", "1", "--if-active", "--json"});
    CHECK(idem.status == exit_ok);
    CHECK(json::parse(idem.out)["code"] == "no_job_running");
  }

  SECTION("a cancel message over the limit says the limit and the length") {
    auto r = client_json(
        dir, h, {"cancel", "task", "1", "1", "-m", std::string(321, 'x')});
    CHECK(r["code"] == "message_too_long");
    CHECK_THAT(r["detail"].get<std::string>(),
               Catch::Contains("321 code points long; the limit is 320"));
    auto bad = client_json(dir, h,
                           {"cancel", "job", "1", "-m", std::string{"ok\xff"}});
    CHECK(bad["code"] == "invalid_utf8");
    CHECK_THAT(bad["detail"].get<std::string>(),
               Catch::Contains("not valid UTF-8 at byte 3 of 3"));
  }

  SECTION("requeue task names the way; requeue job --cancelled reruns") {
    auto refused = client(dir, h, {"requeue", "task", "1", "1"});
    CHECK(refused.status == exit_refused);
    CHECK_THAT(refused.out, Catch::Contains("requeue job 1 --cancelled"));
    // Without --cancelled nothing of this job is queued again: it ends at
    // once, failed (its assessment was cancelled).
    auto plain = client_json(dir, h, {"requeue", "job", "1"});
    CHECK(plain["code"] == "ok");
    REQUIRE(eventually(
        [&] {
          auto s = client_json(dir, h, {"status", "1"})["job"]["status"];
          return s == "failed" || s == "cancelled";
        },
        20s));
    auto tasks = client_json(dir, h, {"list", "tasks", "1"})["tasks"];
    CHECK(tasks[0]["status"] == "cancelled");
    // Following the hint queues both cancelled tasks; a node runs them.
    auto rerun = client_json(dir, h, {"requeue", "job", "1", "--cancelled"});
    CHECK(rerun["code"] == "ok");
    // A named copy: ranging over a member of the temporary reply would read
    // freed memory (AddressSanitizer caught it).
    auto queued = client_json(dir, h, {"list", "tasks", "1"})["tasks"];
    for (const auto& t : queued)
      CHECK(t["status"] == "queued");
    child node{dir,
               {"node", "--head", h.address, "--name", "n1", "--slots", "2",
                "--run-dir", dir.path("runs")}};
    auto w = client(dir, h, {"wait", "1", "--timeout", "60s"});
    INFO(w.out);
    CHECK(w.status == exit_ok);
    auto ended = client_json(dir, h, {"list", "tasks", "1"})["tasks"];
    for (const auto& t : ended) {
      CHECK(t["status"] == "finished");
      CHECK(t["requeue_count"] == 1);
    }
  }
}

TEST_CASE("operate: list tasks and status share one column order; a running "
          "job shows no end code",
          "[cli][operate][tables]") {
  scratch_dir dir;
  head_process h{dir, {"--local-slots", "0"}};
  auto file = dir.write("pair.toml", two_tasks);
  REQUIRE(client(dir, h, {"submit", file}).status == exit_ok);
  REQUIRE(eventually(
      [&] {
        return client_json(dir, h, {"status", "1"})["job"]["status"]
               == "running";
      },
      20s));
  const std::string header = "ASSESSMENT  TASK  NAME  STATUS  END CODE  EXIT  "
                             "NODE  DURATION  CPU  PEAK MEM  ATTEMPTS  "
                             "REQUEUES  MESSAGE";
  auto listed = client(dir, h, {"list", "tasks", "1"});
  CHECK_THAT(listed.out, Catch::Contains(header));
  auto status = client(dir, h, {"status", "1"});
  CHECK_THAT(status.out, Catch::Contains(header));
  auto jobs = client(dir, h, {"list", "jobs"});
  INFO(jobs.out);
  // JOB NAME STATUS END CODE ...: the running job's end code is "-".
  CHECK_THAT(jobs.out, Catch::Contains("1    pair  running  -"));
}

TEST_CASE("operate: help texts", "[cli][operate][help]") {
  scratch_dir dir;
  SECTION("a nested subcommand shows its own examples only") {
    auto r = run_quiesce(dir, {"cancel", "job", "--help"});
    CHECK(r.status == exit_ok);
    CHECK_THAT(r.out, Catch::Contains("quiesce cancel job 3"));
    CHECK_THAT(r.out, !Catch::Contains("quiesce cancel tasks"));
    CHECK_THAT(r.out, !Catch::Contains("quiesce cancel assessment"));
    CHECK_THAT(r.out, Catch::Contains("--if-active"));
    auto l = run_quiesce(dir, {"list", "nodes", "--help"});
    CHECK_THAT(l.out, Catch::Contains("quiesce list nodes"));
    CHECK_THAT(l.out, !Catch::Contains("quiesce list jobs"));
    auto top = run_quiesce(dir, {"cancel", "--help"});
    CHECK_THAT(top.out, Catch::Contains("quiesce cancel tasks"));
  }
  SECTION("run and validate list only their own exit statuses") {
    for (const char* cmd : {"run", "validate"}) {
      auto r = run_quiesce(dir, {cmd, "--help"});
      INFO(cmd);
      CHECK_THAT(r.out, Catch::Contains("Exit status:"));
      CHECK_THAT(r.out, !Catch::Contains("the head refused"));
      CHECK_THAT(r.out, !Catch::Contains("head unreachable"));
    }
    auto all = run_quiesce(dir, {"--help"});
    CHECK_THAT(all.out, Catch::Contains("head unreachable"));
  }
  SECTION("validate shows the head's default listen address") {
    auto r = run_quiesce(dir, {"validate", examples_dir + "/nightly.toml"});
    CHECK(r.status == exit_ok);
    CHECK_THAT(r.out, Catch::Contains("127.0.0.1:7700"));
    CHECK_THAT(r.out, !Catch::Contains("127.0.0.1:0"));
  }
}

TEST_CASE("operate: the live display needs a terminal that can redraw",
          "[cli][operate][terminal]") {
  scratch_dir dir;
  auto file = examples_dir + "/nightly.toml";
  std::vector<std::string> args{"run", file, "--run-dir", dir.path("runs")};
  for (const char* term : {"dumb", ""}) {
    INFO("TERM=" << term);
    auto r = run_quiesce_on_pty(dir, args, 60s, 100, 30, term);
    CHECK(r.status == exit_ok);
    CHECK_THAT(r.out, !Catch::Contains("\x1b["));
    CHECK_THAT(r.out, Catch::Contains("queued -> running"));
  }
  auto r = run_quiesce_on_pty(dir, args, 60s, 100, 30, "xterm");
  CHECK_THAT(r.out, Catch::Contains("\x1b["));
}

TEST_CASE("operate: head and node tell systemd when they are ready",
          "[cli][operate][notify]") {
  scratch_dir dir;
  // A datagram socket standing in for systemd's $NOTIFY_SOCKET.
  auto path = dir.path("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto next = [&] {
    char buf[512];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
  };
  // Status-only notices (e.g. a node saying how it contains its tasks) may
  // come between the ones that change the service's state: skip them.
  auto next_state = [&] {
    for (;;) {
      auto msg = next();
      if (msg.rfind("STATUS=", 0) != 0)
        return msg;
    }
  };
  child head{dir,
             {"head", "--listen", "127.0.0.1:0", "--local-slots", "0"},
             {},
             {"NOTIFY_SOCKET=" + path}};
  auto ready = next();
  CHECK_THAT(ready, Catch::StartsWith("READY=1\nSTATUS=listening on "
                                      "127.0.0.1:"));
  auto port = ready.substr(ready.rfind(':') + 1);
  child node{dir,
             {"node", "--head", "127.0.0.1:" + port, "--name", "n1",
              "--run-dir", dir.path("runs")},
             {},
             {"NOTIFY_SOCKET=" + path}};
  auto joined = next_state();
  CHECK_THAT(joined, Catch::StartsWith("READY=1\nSTATUS=joined the head"));
  node.signal(SIGTERM);
  CHECK(node.wait(30s).status == exit_ok);
  CHECK(next_state() == "STOPPING=1");
  head.signal(SIGTERM);
  CHECK(head.wait(30s).status == exit_ok);
  CHECK(next_state() == "STOPPING=1");
  ::close(fd);
}
