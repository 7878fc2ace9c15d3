// What a user and an operator hit with the real binary (issue 20): a client
// waiting for a head that is slow to answer, rerunning a cancelled task of an
// ended job, an idempotent cancel, `submit --parsable`, the details of a
// refused message, the help texts and the tables. Every process is a real
// `quiesce`; every wait is bounded and polls a mark, never a bare sleep.

#include "cli/exit_status.hpp"
#include "runtime/connect.hpp"
#include "runtime/system_config.hpp"
#include "support.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <pwd.h>
#include <set>
#include <signal.h>
#include <sstream>
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

using head_process = dev_head;

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
                             "REQUEUES  STDOUT  STDERR  MESSAGE";
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
             {"head", "--dev", "--listen", "127.0.0.1:0", "--local-slots", "0"},
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

// -- logs and metrics ---------------------------------------------------------

namespace {

// Returns the lines of `text` that contain every one of `parts`.
std::vector<std::string> lines_with(const std::string& text,
                                    const std::vector<std::string>& parts) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    auto line = text.substr(pos, end - pos);
    bool all = true;
    for (const auto& p : parts)
      all = all && line.find(p) != std::string::npos;
    if (all)
      out.push_back(line);
    pos = end + 1;
  }
  return out;
}

// Returns the login name of this test's user, as the head binds it.
std::string my_name() {
  auto* pw = getpwuid(getuid());
  return pw != nullptr ? pw->pw_name : "uid:" + std::to_string(getuid());
}

// GETs `path` from 127.0.0.1:`port` over a plain socket; returns the whole
// response (status line, headers, body).
std::string http_get(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string req = "GET " + path
                    + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                      "close\r\n\r\n";
  REQUIRE(write(fd, req.data(), req.size())
          == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// The samples of a Prometheus text body: name{labels} -> value. Fails the
// test on a line that is neither a comment nor a sample, or on a sample of
// a family without a `# TYPE` line before it.
std::map<std::string, double> parse_prometheus(const std::string& body) {
  std::map<std::string, double> out;
  std::set<std::string> typed;
  std::istringstream in{body};
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    if (line.empty())
      continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words{line.substr(7)};
      std::string name;
      std::string type;
      words >> name >> type;
      CHECK((type == "gauge" || type == "counter" || type == "histogram"));
      typed.insert(name);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0)
      continue;
    REQUIRE(line[0] != '#');
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    auto key = line.substr(0, space);
    size_t used = 0;
    auto value = std::stod(line.substr(space + 1), &used);
    CHECK(used == line.size() - space - 1);
    auto name = key.substr(0, key.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!typed.count(name) && name.size() > std::strlen(suffix)
          && name.compare(name.size() - std::strlen(suffix), std::string::npos,
                          suffix)
                 == 0)
        name.resize(name.size() - std::strlen(suffix));
    CHECK(typed.count(name) == 1);
    out[key] = value;
  }
  return out;
}

// Checks that histogram `name` has nondecreasing buckets ending in +Inf,
// equal to its count; returns the count.
double check_histogram(const std::map<std::string, double>& m,
                       const std::string& name) {
  INFO(name);
  double last = 0;
  size_t buckets = 0;
  for (const auto& [key, value] : m)
    if (key.rfind(name + "_bucket{", 0) == 0)
      ++buckets;
  CHECK(buckets > 2);
  // Keys sort as text, not by bound: walk the bounds in the order written.
  REQUIRE(m.count(name + "_bucket{le=\"+Inf\"}") == 1);
  REQUIRE(m.count(name + "_count") == 1);
  REQUIRE(m.count(name + "_sum") == 1);
  for (const char* le : {"0.0005", "0.001", "0.01", "0.1", "1", "10", "600"}) {
    auto key = name + "_bucket{le=\"" + le + "\"}";
    REQUIRE(m.count(key) == 1);
    CHECK(m.at(key) >= last);
    last = m.at(key);
  }
  CHECK(m.at(name + "_bucket{le=\"+Inf\"}") >= last);
  CHECK(m.at(name + "_bucket{le=\"+Inf\"}") == m.at(name + "_count"));
  return m.at(name + "_count");
}

// A job whose one task sleeps until it is stopped; a cancel stops it.
const char* sleeper = R"([[job]]
name = "sleeper"
stop_commands_on_cancel = true
  [[job.assessment]]
  name = "long"
    [[job.assessment.task]]
    name = "nap"
    command = ["/bin/sleep", "300"]
)";

// Runs job 1 (two quick tasks) to its end, then submits job 2 (the
// sleeper) and waits until its task runs.
void run_pair_then_sleeper(const scratch_dir& dir, const head_process& h) {
  REQUIRE(client(dir, h, {"submit", dir.write("pair.toml", two_tasks)}).status
          == exit_ok);
  REQUIRE(client(dir, h, {"wait", "1", "--timeout", "60s"}).status == exit_ok);
  REQUIRE(client(dir, h, {"submit", dir.write("nap.toml", sleeper)}).status
          == exit_ok);
  REQUIRE(eventually(
      [&] {
        auto job = client_json(dir, h, {"status", "2"})["job"];
        return job["assessments"][0]["tasks"][0]["status"] == "running";
      },
      20s));
}

} // namespace

TEST_CASE("operate: a head logs status changes and requests with the "
          "identity that asked",
          "[cli][operate][log]") {
  scratch_dir dir;
  auto log = dir.path("head.log");
  head_process h{dir, {"--local-slots", "2", "--log-file", log}};
  auto file = dir.write("pair.toml", two_tasks);
  REQUIRE(client(dir, h, {"submit", file}).status == exit_ok);
  REQUIRE(client(dir, h, {"wait", "1", "--timeout", "60s"}).status == exit_ok);
  // A refusal is logged too, with its code.
  REQUIRE(client(dir, h, {"cancel", "job", "1"}).status == exit_refused);
  std::string text;
  REQUIRE(eventually(
      [&] {
        text = read_file(log);
        return !lines_with(text, {"op=cancel_job", "no_job_running"}).empty();
      },
      20s));
  INFO(text);
  // logfmt, one line each: time, level, fields.
  CHECK(lines_with(text, {"level=info", "msg=start role=head"}).size() == 1);
  // It says how its local node contains commands: cgroups or process groups.
  auto start = lines_with(text, {"msg=start role=head"});
  REQUIRE(start.size() == 1);
  CHECK(
      (start[0].find("containment=\"cgroup v2 at ") != std::string::npos
       || start[0].find("containment=\"process groups") != std::string::npos));
  auto who = "who=" + my_name();
  CHECK(lines_with(text, {"msg=request op=add_job", who, "job=1", "code=ok"})
            .size()
        == 1);
  CHECK(lines_with(text, {"msg=request op=submit_job", who, "job=1", "code=ok"})
            .size()
        == 1);
  CHECK(lines_with(text, {"level=info", "msg=request op=cancel_job", who,
                          "job=1", "code=no_job_running"})
            .size()
        == 1);
  // Every status change: the job's, its assessment's, each task's.
  CHECK(
      lines_with(text, {"msg=status job=1 from=not_submitted to=queued"}).size()
      == 1);
  CHECK(lines_with(text, {"msg=status job=1 from=running to=finished"}).size()
        == 1);
  CHECK(lines_with(text, {"msg=status job=1 task=", "from=queued to=running",
                          "who=head"})
            .size()
        == 2);
  CHECK(lines_with(text, {"msg=status job=1 task=", "to=finished"}).size()
        == 2);
  // Queries are debug lines: not at the default level.
  CHECK(lines_with(text, {"op=wait_job"}).empty());
  for (const auto& line : lines_with(text, {"msg="}))
    CHECK(line.rfind("time=", 0) == 0);
  // The head's stdout keeps its lines.
  CHECK_THAT(h.proc->output(), Catch::Contains("listening on"));
}

TEST_CASE("operate: a head logs each authentication, with the identity it "
          "bound or the refusal and why",
          "[cli][operate][log][security]") {
  scratch_dir dir;
  auto log = dir.path("head.log");
  head_process h{dir, {"--local-slots", "0", "--log-file", log}};
  // A client authenticates before its request: the head binds its user.
  REQUIRE(client(dir, h, {"list", "jobs"}).status == exit_ok);
  // A process that names a session actor that is not its own is refused.
  {
    caf::actor_system_config cfg;
    configure(cfg, 2);
    configure_network(cfg, std::chrono::milliseconds{1000},
                      std::chrono::milliseconds{5000});
    caf::actor_system sys{cfg};
    auto port = static_cast<uint16_t>(
        std::stoul(h.address.substr(h.address.find(':') + 1)));
    auto sup = connect_head(sys, endpoint{"127.0.0.1", port}, 10s);
    REQUIRE(sup);
    caf::scoped_actor self{sys};
    std::string code = "no reply";
    self->request(*sup, 10s, authenticate{nullptr, {}, {}})
        .receive([&](authenticate_reply& r) { code = to_name(r.code); },
                 [&](caf::error&) { code = "error"; });
    CHECK(code == "permission_denied");
  }
  std::string text;
  REQUIRE(eventually(
      [&] {
        text = read_file(log);
        return text.find("authenticated=false") != std::string::npos;
      },
      20s));
  INFO(text);
  CHECK(lines_with(text, {"level=info", "msg=request op=authenticate",
                          "who=" + my_name(), "code=ok", "detail=\"bound as ",
                          " (peer "})
            .size()
        == 1);
  CHECK(lines_with(text, {"level=warn", "msg=request op=authenticate", "who=-",
                          "authenticated=false", "code=permission_denied",
                          "detail=\"the session actor must live in the "
                          "authenticating process (peer "})
            .size()
        == 1);
}

TEST_CASE("operate: the log file rotates at its size bound and keeps the "
          "files it is told",
          "[cli][operate][log]") {
  scratch_dir dir;
  auto log = dir.path("head.log");
  head_process h{dir,
                 {"--log-file", log, "--log-level", "debug", "--log-max-size",
                  "1K", "--log-files", "2"}};
  // Each query is a debug line of about 150 bytes: 40 make several KiB.
  for (int i = 0; i < 40; ++i)
    REQUIRE(client(dir, h, {"list", "jobs"}).status == exit_ok);
  auto first = dir.path("head.1.log");
  auto second = dir.path("head.2.log");
  REQUIRE(eventually([&] { return exists(second); }, 20s));
  // Rotation renames the file before a line would pass the bound.
  for (const auto& path : {log, first, second}) {
    INFO(path);
    auto text = read_file(path);
    CHECK(text.size() <= 1024);
    CHECK_FALSE(lines_with(text, {"msg=request op=list_jobs"}).empty());
  }
  CHECK_FALSE(exists(dir.path("head.3.log")));
}

TEST_CASE("operate: bad log and metrics settings are refused before the head "
          "starts",
          "[cli][operate][log][metrics]") {
  scratch_dir dir;
  auto refused = [&](std::vector<std::string> args, const std::string& why) {
    args.insert(args.begin(), {"head", "--dev", "--listen", "127.0.0.1:0"});
    auto r = run_quiesce(dir, args, 30s);
    INFO(r.err);
    CHECK(r.status == exit_invalid_input);
    CHECK_THAT(r.err, Catch::Contains(why));
    CHECK_THAT(r.out, !Catch::Contains("listening on"));
  };
  refused({"--log-level", "loud"}, "--log-level");
  refused({"--log-max-size", "12"}, "expected a size from 1KiB");
  refused({"--log-max-size", "5 MB"}, "expected a size from 1KiB");
  // Missing directories are made; a path through a plain file cannot be.
  refused({"--log-file", dir.write("plain", "") + "/head.log"},
          "cannot open the log file");
  refused({"--metrics-listen", "10.1.2.3:9100"}, "not a loopback address");
  auto rt = dir.write("rt.toml", "[runtime]\nlog_max_size = \"10XB\"\n"
                                 "log_level = \"chatty\"\n");
  refused({"--runtime", rt}, "rt.toml:2:16: error: 'log_max_size'");
  refused({"--runtime", rt}, "rt.toml:3:13: error: 'log_level'");
}

TEST_CASE("operate: the metrics endpoint serves counts and latency histograms "
          "in Prometheus text",
          "[cli][operate][metrics]") {
  scratch_dir dir;
  head_process h{dir,
                 {"--local-slots", "2", "--metrics-listen", "127.0.0.1:0"}};
  const std::string prefix = "metrics on http://127.0.0.1:";
  REQUIRE(eventually(
      [&] { return h.proc->output().find(prefix) != std::string::npos; }, 15s));
  auto out = h.proc->output();
  auto port = static_cast<uint16_t>(
      std::stoul(out.substr(out.find(prefix) + prefix.size())));
  run_pair_then_sleeper(dir, h);
  auto first = http_get(port, "/metrics");
  auto running = parse_prometheus(first.substr(first.find("\r\n\r\n") + 4));
  CHECK(running["quiesce_jobs{status=\"running\"}"] == 1);
  CHECK(running["quiesce_tasks{status=\"running\"}"] == 1);
  CHECK(running["quiesce_node_slots{state=\"in_use\"}"] == 1);
  CHECK(running["quiesce_node_slots{state=\"total\"}"] == 2);
  CHECK(running["quiesce_nodes{status=\"ready\"}"] == 1);
  REQUIRE(client(dir, h, {"cancel", "job", "2"}).status == exit_ok);
  REQUIRE(client(dir, h, {"wait", "2", "--timeout", "60s"}).status
          == exit_cancelled);
  auto response = http_get(port, "/metrics");
  INFO(response);
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK_THAT(response, Catch::Contains("text/plain; version=0.0.4"));
  auto body = response.substr(response.find("\r\n\r\n") + 4);
  auto m = parse_prometheus(body);
  CHECK(m["quiesce_jobs{status=\"finished\"}"] == 1);
  CHECK(m["quiesce_jobs{status=\"cancelled\"}"] == 1);
  CHECK(m["quiesce_jobs{status=\"running\"}"] == 0);
  CHECK(m["quiesce_tasks{status=\"finished\"}"] == 2);
  CHECK(m["quiesce_tasks{status=\"cancelled\"}"] == 1);
  CHECK(m["quiesce_queue_depth{queue=\"jobs\"}"] == 0);
  CHECK(m["quiesce_queue_depth{queue=\"tasks\"}"] == 0);
  CHECK(m["quiesce_node_slots{state=\"in_use\"}"] == 0);
  CHECK(m["quiesce_requests_total{operation=\"cancel_job\",code=\"ok\"}"] == 1);
  CHECK(m["quiesce_requests_total{operation=\"submit_job\",code=\"ok\"}"] == 2);
  // Three first attempts placed; one cancel settled.
  CHECK(check_histogram(m, "quiesce_dispatch_latency_seconds") == 3);
  CHECK(check_histogram(m, "quiesce_cancel_latency_seconds") == 1);
  CHECK(m["quiesce_cancel_latency_seconds_sum"] > 0);
  CHECK(http_get(port, "/other").rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("operate: top prints a snapshot of a head where it cannot redraw",
          "[cli][operate][top]") {
  scratch_dir dir;
  head_process h{dir, {"--local-slots", "1"}};
  child node{dir,
             {"node", "--head", h.address, "--name", "gpu-1", "--slots", "2",
              "--label", "gpu", "--run-dir", dir.path("runs")}};
  REQUIRE(eventually(
      [&] {
        return client_json(dir, h, {"list", "nodes"})["nodes"].size() == 2;
      },
      20s));
  run_pair_then_sleeper(dir, h);
  // stdout is a file here: one snapshot, no escapes, without --once too.
  for (bool once : {false, true}) {
    INFO("--once " << once);
    std::vector<std::string> args{"top"};
    if (once)
      args.push_back("--once");
    auto r = client(dir, h, args);
    INFO(r.out << r.err);
    CHECK(r.status == exit_ok);
    CHECK_THAT(r.out, !Catch::Contains("\x1b["));
    CHECK_THAT(r.out, Catch::Contains("quiesce top: head " + h.address));
    CHECK_THAT(r.out, Catch::Contains("jobs:  1 running  0 cancelling  0 "
                                      "queued  0 not_submitted  1 finished"));
    CHECK_THAT(r.out, Catch::Contains("slots: 1 of 3 in use on 2 ready nodes"));
    CHECK(lines_with(r.out, {"gpu-1", "ready", "2", "gpu"}).size() == 1);
    CHECK(lines_with(r.out, {"head", "ready", "1"}).size() == 1);
    // The running job comes first, with its task counted as running.
    auto running = r.out.find("sleeper");
    auto ended = r.out.find("pair");
    CHECK(running < ended);
    CHECK(lines_with(r.out, {"2", "sleeper", "running", my_name(), "0 long",
                             "1        0       0     0       0"})
              .size()
          == 1);
    CHECK_THAT(r.out, !Catch::Contains("RECENT EVENTS"));
  }
  auto j = client_json(dir, h, {"top"});
  CHECK(j["jobs"].size() == 2);
  CHECK(j["nodes"].size() == 2);
  REQUIRE(client(dir, h, {"terminate", "job", "2"}).status == exit_ok);
}

TEST_CASE("operate: top redraws a live view with recent events on a terminal",
          "[cli][operate][top][terminal]") {
  scratch_dir dir;
  auto log = dir.path("head.log");
  head_process h{
      dir, {"--local-slots", "2", "--log-file", log, "--log-level", "debug"}};
  exit_info r;
  std::thread view{[&] {
    r = run_quiesce_on_pty(dir,
                           {"top", "--head", h.address, "--interval", "100ms",
                            "--iterations", "40", "--events", "20"},
                           60s, 120, 40);
  }};
  // Once the view has subscribed (the head logs it with who asked), the
  // events of a new job reach it.
  auto subscribed = [&] {
    return !lines_with(read_file(log), {"op=subscribe", "who=" + my_name()})
                .empty();
  };
  bool ready = eventually(subscribed, 30s);
  if (ready) {
    client(dir, h, {"submit", dir.write("pair.toml", two_tasks)});
    client(dir, h, {"wait", "1", "--timeout", "60s"});
  }
  view.join();
  REQUIRE(ready);
  INFO(r.out);
  CHECK(r.status == exit_ok);
  // Redrawn in place with the terminal's own sequences.
  CHECK_THAT(r.out, Catch::Contains("\x1b["));
  CHECK_THAT(r.out, Catch::Contains("quiesce top: head " + h.address));
  CHECK_THAT(r.out, Catch::Contains("RECENT EVENTS"));
  CHECK_THAT(r.out, Catch::Contains("job 1"));
  CHECK_THAT(r.out, Catch::Contains("not_submitted -> queued"));
}

TEST_CASE("operate: run says where the output files of its tasks are",
          "[cli][operate][output]") {
  scratch_dir dir;
  auto r = run_quiesce(dir, {"run", dir.write("pair.toml", two_tasks),
                             "--run-dir", dir.path("runs")});
  INFO(r.out << r.err);
  REQUIRE(r.status == exit_ok);
  CHECK_THAT(r.out, Catch::Contains("Output files of tasks that name none: "
                                    + dir.path("runs")
                                    + "/job-ID/task-ID.attempt-N.stdout and "
                                      ".stderr"));
  CHECK(exists(dir.path("runs/job-1/task-1.attempt-1.stdout")));
  CHECK(exists(dir.path("runs/job-1/task-2.attempt-1.stderr")));
}

TEST_CASE("operate: a second run in the same run directory keeps the first "
          "run's output",
          "[cli][operate][output]") {
  scratch_dir dir;
  auto say = [&](const std::string& word) {
    return dir.write(word + ".toml", "[[job]]\nname = \"" + word
                                         + "\"\n[[job.assessment]]\n"
                                           "[[job.assessment.task]]\n"
                                           "command = [\"echo\", \""
                                         + word + "\"]\n");
  };
  // Each run is a head of its own whose first job is job 1.
  for (const auto* word : {"first", "second"}) {
    auto r
        = run_quiesce(dir, {"run", say(word), "--run-dir", dir.path("runs")});
    INFO(r.out << r.err);
    REQUIRE(r.status == exit_ok);
  }
  CHECK(read_file(dir.path("runs/job-1/task-1.attempt-1.stdout")) == "first\n");
  CHECK(read_file(dir.path("runs/job-1.2/task-1.attempt-1.stdout"))
        == "second\n");
}

TEST_CASE("operate: status and list tasks show each task's output files, "
          "also once the job is read back from the journal",
          "[cli][operate][output]") {
  scratch_dir dir;
  auto state = dir.path("state");
  auto runs = dir.path("runs");
  // Commands run on a node process of their own, which chooses the job's
  // directory under its run directory and tells the head.
  auto h = std::make_unique<head_process>(
      dir, std::vector<std::string>{"--local-slots", "0", "--state-dir", state,
                                    "--job-retention", "1h"});
  child node{dir,
             {"node", "--head", h->address, "--name", "n1", "--slots", "2",
              "--run-dir", runs}};
  auto file = dir.write("outputs.toml", R"([[job]]
name = "outputs"
  [[job.assessment]]
  name = "work"
    [[job.assessment.task]]
    name = "a"
    command = "echo out-a; echo err-a >&2"
    shell = true
    [[job.assessment.task]]
    name = "b"
    command = "echo out-b"
    shell = true
    workdir = "."
    stdout = "named/b.out"
)");
  REQUIRE(client(dir, *h, {"submit", file}).status == exit_ok);
  auto w = client(dir, *h, {"wait", "1", "--timeout", "60s"});
  INFO(w.out << w.err);
  REQUIRE(w.status == exit_ok);

  auto status = client_json(dir, *h, {"status", "1"});
  auto tasks = status["job"]["assessments"][0]["tasks"];
  REQUIRE(tasks.size() == 2);
  auto a_out = tasks[0]["stdout"].get<std::string>();
  auto a_err = tasks[0]["stderr"].get<std::string>();
  CHECK(a_out == runs + "/job-1/task-1.attempt-1.stdout");
  CHECK(a_err == runs + "/job-1/task-1.attempt-1.stderr");
  CHECK(read_file(a_out) == "out-a\n");
  CHECK(read_file(a_err) == "err-a\n");
  // A file the task names, relative to its working directory; its stderr
  // still goes to the job's directory.
  auto b_out = tasks[1]["stdout"].get<std::string>();
  CHECK(b_out == dir.path("named/b.out"));
  CHECK(read_file(b_out) == "out-b\n");
  CHECK(tasks[1]["stderr"] == runs + "/job-1/task-2.attempt-1.stderr");
  // list tasks says the same, in JSON and in its table.
  auto listed = client_json(dir, *h, {"list", "tasks", "1"})["tasks"];
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["stdout"] == a_out);
  CHECK(listed[1]["stdout"] == b_out);
  auto table = client(dir, *h, {"list", "tasks", "1"}).out;
  CHECK_THAT(table, Catch::Contains(a_out + "  " + a_err));
  CHECK_THAT(client(dir, *h, {"status", "1"}).out, Catch::Contains(b_out));

  // Again from the journal: a new head keeps no terminal job in memory.
  h->proc->signal(SIGTERM);
  REQUIRE(h->proc->wait(20s).status == 0);
  h = std::make_unique<head_process>(
      dir, std::vector<std::string>{"--local-slots", "0", "--state-dir", state,
                                    "--job-retention", "0s"});
  CHECK(client_json(dir, *h, {"list", "jobs"})["jobs"].empty());
  auto again = client_json(dir, *h, {"status", "1"});
  CHECK(again["job"]["assessments"][0]["tasks"] == tasks);
  auto relisted = client_json(dir, *h, {"list", "tasks", "1"})["tasks"];
  CHECK(relisted == listed);
}
