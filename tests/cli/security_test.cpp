// Security of the head without TLS (docs/security.md), with real processes
// on 127.0.0.1: what other users' text can do to a terminal, who may act on
// a head, and that requests carry the identity the head bound, not a name
// the client chose. The tests that switch users need root (`setpriv`).

#include "cli/exit_status.hpp"
#include "runtime/connect.hpp"
#include "runtime/system_config.hpp"
#include "support.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr uid_t nobody = 65534;

// A head on 127.0.0.1 (any port) running tasks on its own node.
struct head_process : dev_head {
  explicit head_process(const scratch_dir& dir)
      : dev_head(dir, {"--local-slots", "2", "--run-dir", dir.path("runs")}) {}
};

exit_info client(const scratch_dir& dir, const head_process& h,
                 std::vector<std::string> args) {
  args.push_back("--head");
  args.push_back(h.address);
  return run_quiesce(dir, args, 30s);
}

json client_json(const scratch_dir& dir, const head_process& h,
                 std::vector<std::string> args) {
  args.push_back("--json");
  auto r = client(dir, h, args);
  INFO(r.out << r.err);
  REQUIRE_FALSE(r.timed_out);
  return json::parse(r.out);
}

std::string sleeper_file(const std::string& name) {
  return "[[job]]\nname = \"" + name
         + "\"\ngrace = \"1s\"\n[[job.assessment]]\n[[job.assessment.task]]\n"
           "name = \"sleeper\"\ncommand = [\"sleep\", \"30\"]\n"
           "env = { API_TOKEN = \"s3cret\" }\n";
}

int submit(const scratch_dir& dir, const head_process& h,
           const std::string& name) {
  auto doc = client_json(
      dir, h, {"submit", dir.write(name + ".toml", sleeper_file(name))});
  REQUIRE(doc["code"] == "ok");
  return doc["jobs"][0]["id"].get<int>();
}

bool task_running(const scratch_dir& dir, const head_process& h, int job) {
  auto doc = client_json(dir, h, {"list", "tasks", std::to_string(job)});
  return doc["tasks"].size() == 1 && doc["tasks"][0]["status"] == "running";
}

std::string own_user_name() {
  if (auto* pw = ::getpwuid(::geteuid()))
    return pw->pw_name;
  return "uid:" + std::to_string(::geteuid());
}

// Returns a copy of the `quiesce` binary that uid 65534 can run: the build
// tree may sit under a directory only root may enter (a clone in /root, a
// mkdtemp directory), and then setpriv could not even exec it. The copy
// lives in a 0755 directory of its own for the whole test program.
const std::string& binary_for_nobody() {
  // The directory's name outlives every destructor: the exit handler that
  // removes it runs after the strings are gone.
  static char dir[] = "/tmp/quiesce-nobody-bin-XXXXXX";
  static const std::string path = [] {
    if (::mkdtemp(dir) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    ::chmod(dir, 0755);
    auto copy = std::string{dir} + "/quiesce";
    std::filesystem::copy_file(quiesce_binary, copy);
    ::chmod(copy.c_str(), 0755);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return copy;
  }();
  return path;
}

// Starts `quiesce ARGS` as uid/gid 65534 (via setpriv), output to `out`.
pid_t spawn_as_nobody(const std::vector<std::string>& args,
                      const std::string& out) {
  const auto& binary = binary_for_nobody();
  auto pid = ::fork();
  if (pid == 0) {
    auto fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> all{"setpriv", "--reuid=65534", "--regid=65534",
                                 "--clear-groups", binary};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/usr/bin/setpriv", argv.data());
    ::_exit(127);
  }
  return pid;
}

// Runs `quiesce ARGS` as 65534 to its end; returns its exit status.
int run_as_nobody(const std::vector<std::string>& args,
                  const std::string& out) {
  auto pid = spawn_as_nobody(args, out);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_CASE("security: without TLS a head listens only when the development "
          "mode is asked for",
          "[cli][security]") {
  scratch_dir dir;
  auto r = run_quiesce(dir, {"head", "--listen", "127.0.0.1:0"}, 30s);
  INFO(r.out << r.err);
  CHECK(r.status == exit_runtime_error);
  CHECK_THAT(r.err, Catch::Contains("without TLS a head listens only in the "
                                    "development mode"));
  CHECK_THAT(r.err, Catch::Contains("pass --dev"));
  CHECK_THAT(r.out, !Catch::Contains("listening on"));
  // Asked for in a runtime file, or in the environment.
  auto file = dir.write("dev.toml", "[runtime]\ndev_mode = true\n");
  auto listens = [](child& proc) {
    return eventually(
        [&] {
          return proc.output().find("listening on 127.0.0.1:")
                 != std::string::npos;
        },
        15s);
  };
  child by_file{dir, {"head", "--runtime", file, "--listen", "127.0.0.1:0"}};
  CHECK(listens(by_file));
  child by_env{
      dir, {"head", "--listen", "127.0.0.1:0"}, {}, {"QUIESCE_DEV_MODE=1"}};
  CHECK(listens(by_env));
}

TEST_CASE("security: a message with control characters prints escaped in "
          "events, list and status; JSON keeps the exact text",
          "[cli][security]") {
  scratch_dir dir;
  head_process h{dir};
  child events{dir, {"events", "--head", h.address}};
  REQUIRE(eventually(
      [&] {
        return events.errors().find("following the events")
               != std::string::npos;
      },
      15s));
  auto job = submit(dir, h, "victim");
  REQUIRE(eventually([&] { return task_running(dir, h, job); }, 20s));
  const std::string evil = "bye\n12:00:00.000 job 99: forged -> finished"
                           "\x1b[2J\x1b]0;owned\x07";
  auto cancel = client(
      dir, h, {"cancel", "task", std::to_string(job), "1", "-m", evil});
  REQUIRE(cancel.status == exit_ok);
  REQUIRE(eventually(
      [&] {
        auto doc = client_json(dir, h, {"list", "tasks", std::to_string(job)});
        return doc["tasks"][0]["status"] == "cancelled";
      },
      20s));
  REQUIRE(eventually(
      [&] { return events.output().find("forged") != std::string::npos; },
      10s));
  auto listed = client(dir, h, {"list", "tasks", std::to_string(job)});
  auto status = client(dir, h, {"status", std::to_string(job)});
  auto jobs = client(dir, h, {"list", "jobs"});
  for (const auto* out : {&listed.out, &status.out, &jobs.out}) {
    INFO(*out);
    CHECK(out->find('\x1b') == std::string::npos);
    CHECK(out->find('\x07') == std::string::npos);
  }
  CHECK_THAT(listed.out, Catch::Contains("bye\\n12:00:00.000 job 99: forged"));
  CHECK_THAT(listed.out, Catch::Contains("\\e[2J\\e]0;owned\\x07"));
  auto ev = events.output();
  INFO(ev);
  CHECK(ev.find('\x1b') == std::string::npos);
  CHECK(ev.find("\n12:00:00.000 job 99") == std::string::npos);
  CHECK_THAT(ev, Catch::Contains("\\e[2J"));
  // JSON carries the exact text.
  auto doc = client_json(dir, h, {"list", "tasks", std::to_string(job)});
  CHECK(doc["tasks"][0]["error_message"] == evil);
}

TEST_CASE("security: without TLS the head binds its own user to a client; "
          "the owner and events name that user, not the client's choice",
          "[cli][security]") {
  scratch_dir dir;
  head_process h{dir};
  auto job = submit(dir, h, "mine");
  auto doc = client_json(dir, h, {"status", std::to_string(job)});
  CHECK(doc["job"]["owner"] == own_user_name());
  // Events name the identity too.
  child events{dir, {"events", "--json", "--head", h.address}};
  REQUIRE(eventually(
      [&] {
        return events.errors().find("following the events")
               != std::string::npos;
      },
      15s));
  REQUIRE(client(dir, h, {"terminate", "job", std::to_string(job)}).status
          == exit_ok);
  REQUIRE(eventually(
      [&] { return events.output().find("cancelled") != std::string::npos; },
      10s));
  // Every event a request caused names the requester as the head knows it.
  size_t named = 0;
  std::istringstream lines{events.output()};
  for (std::string line; std::getline(lines, line);) {
    auto e = json::parse(line, nullptr, false);
    if (e.is_discarded() || e["kind"] != "job" || e["who"] == "")
      continue;
    CHECK(e["who"] == own_user_name());
    ++named;
  }
  CHECK(named > 0);
}

TEST_CASE("security: without TLS another user can neither use nor serve the "
          "head, and nothing changes",
          "[cli][security]") {
  if (::geteuid() != 0) {
    WARN("switching users needs root: skipped");
    return;
  }
  scratch_dir dir;
  head_process h{dir};
  auto job = submit(dir, h, "roots");
  REQUIRE(eventually([&] { return task_running(dir, h, job); }, 20s));
  // The client of another user refuses the head (it runs as root) ...
  auto out = dir.path("nobody-cancel.txt");
  auto status = run_as_nobody(
      {"cancel", "job", std::to_string(job), "--head", h.address}, out);
  CHECK(status == exit_refused);
  CHECK_THAT(read_file(out),
             Catch::Contains("runs as root (uid 0)")
                 && Catch::Contains("only the head's own user"));
  // ... and the head refuses that user even from a client that does not
  // check: a raw connection of a process running as 65534.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report = "setuid failed";
    if (::setgroups(0, nullptr) == 0 && ::setgid(nobody) == 0
        && ::setuid(nobody) == 0) {
      caf::actor_system_config cfg;
      configure(cfg, 2);
      configure_network(cfg, std::chrono::milliseconds{1000},
                        std::chrono::milliseconds{5000});
      caf::actor_system sys{cfg};
      auto sup = connect_head(sys, endpoint{"127.0.0.1", h.port}, 10s);
      if (!sup) {
        report = "connect failed";
      } else {
        caf::scoped_actor self{sys};
        auto ask = [&](auto req, auto reply) {
          using reply_type = decltype(reply);
          std::string code = "no reply";
          self->request(*sup, 10s, req)
              .receive([&](reply_type& r) { code = to_name(r.code); },
                       [&](caf::error&) { code = "error"; });
          return code;
        };
        report = ask(authenticate{caf::actor_cast<caf::strong_actor_ptr>(self),
                                  {},
                                  {}},
                     authenticate_reply{})
                 + " "
                 + ask(cancel_job{static_cast<job_id>(job), "mine", "root"},
                       op_reply{})
                 + " " + ask(list_jobs{}, job_list{});
      }
    }
    auto n = ::write(fds[1], report.data(), report.size());
    static_cast<void>(n);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;)
    report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  CHECK(report == "permission_denied permission_denied permission_denied");
  // A node of that user refuses to serve root's head.
  auto runs = dir.path("nobody-runs");
  ::mkdir(runs.c_str(), 0777);
  ::chmod(runs.c_str(), 0777);
  auto node_out = dir.path("nobody-node.txt");
  auto node = spawn_as_nobody({"node", "--head", h.address, "--name", "evil",
                               "--slots", "1", "--run-dir", runs,
                               "--reconnect-delay", "200ms"},
                              node_out);
  CHECK(eventually(
      [&] {
        return read_file(node_out).find("permission_denied")
               != std::string::npos;
      },
      15s));
  ::kill(node, SIGKILL);
  ::waitpid(node, nullptr, 0);
  auto nodes = client_json(dir, h, {"list", "nodes"});
  for (const auto& n : nodes["nodes"])
    CHECK(n["name"] != "evil");
  // Root's job is untouched.
  auto doc = client_json(dir, h, {"status", std::to_string(job)});
  CHECK(doc["job"]["status"] == "running");
  CHECK(doc["job"]["error_message"] == "");
  REQUIRE(client(dir, h, {"terminate", "job", std::to_string(job)}).status
          == exit_ok);
}
