// Tests of quiesce::process::launcher with real processes. Every wait is
// bounded: a timeout fails the test instead of hanging it.

#include "execution/cgroup.hpp"
#include "execution/launcher.hpp"
#include "support/processes.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace quiesce::process;
using quiesce::test::group_members;
using quiesce::test::slurp;
using quiesce::test::temp_dir;
using quiesce::test::zombie_children;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

constexpr auto wait_bound = 10s;

/// Collects the exit reports of one process; shared with its callback.
struct slot {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<exit_status> calls;

  /// Returns the first report, waiting up to `bound` for it.
  std::optional<exit_status> wait(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, bound, [this] { return !calls.empty(); }))
      return std::nullopt;
    return calls.front();
  }

  /// Returns how many reports arrived so far.
  size_t count() {
    std::lock_guard<std::mutex> guard{mtx};
    return calls.size();
  }
};

std::shared_ptr<slot> make_slot() {
  return std::make_shared<slot>();
}

exit_callback record(const std::shared_ptr<slot>& target) {
  return [target](const exit_status& status) {
    std::lock_guard<std::mutex> guard{target->mtx};
    target->calls.push_back(status);
    target->cv.notify_all();
  };
}

launch_spec command(std::vector<std::string> argv) {
  launch_spec spec;
  spec.argv = std::move(argv);
  return spec;
}

void write_file(const std::string& path, const std::string& text, int mode) {
  {
    std::ofstream out{path};
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), static_cast<mode_t>(mode)) == 0);
}

/// A FIFO read without blocking, to learn that a child reached a point.
class fifo {
public:
  explicit fifo(std::string path) : path_(std::move(path)) {
    REQUIRE(::mkfifo(path_.c_str(), 0600) == 0);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(fd_ >= 0);
  }

  ~fifo() {
    ::close(fd_);
  }

  fifo(const fifo&) = delete;
  fifo& operator=(const fifo&) = delete;

  /// Returns the FIFO's path.
  const std::string& path() const {
    return path_;
  }

  /// Returns the first line written to the FIFO, or nothing after `bound`.
  std::optional<std::string> read_line(std::chrono::milliseconds bound) {
    auto deadline = steady::now() + bound;
    for (;;) {
      if (auto pos = buffer_.find('\n'); pos != std::string::npos) {
        auto line = buffer_.substr(0, pos);
        buffer_.erase(0, pos + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - steady::now());
      if (left <= 0ms)
        return std::nullopt;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        continue;
      std::array<char, 256> chunk{};
      auto n = ::read(fd_, chunk.data(), chunk.size());
      if (n > 0)
        buffer_.append(chunk.data(), static_cast<size_t>(n));
      else if (n == 0 && (pfd.revents & POLLHUP) != 0)
        return std::nullopt; // the writer went away without a full line
    }
  }

private:
  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

bool group_gone(pid_t pgid) {
  return ::kill(-pgid, 0) != 0 && errno == ESRCH && group_members(pgid).empty();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("launcher reports exit code zero of a successful command",
          "[process]") {
  launcher procs;
  auto done = make_slot();
  auto res = procs.launch(command({"/bin/true"}), record(done));
  REQUIRE(res);
  CHECK(res.error.empty());
  CHECK(res.pid > 0);
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::exited);
  CHECK(status->code == 0);
  CHECK(status->confirmed);
  CHECK(describe(*status) == "exit code 0");
  CHECK(procs.live() == 0);
}

TEST_CASE("launcher reports exit code of a failing command", "[process]") {
  launcher procs;
  auto done = make_slot();
  REQUIRE(procs.launch(command({"sh", "-c", "exit 3"}), record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::exited);
  CHECK(status->code == 3);
  CHECK(describe(*status) == "exit code 3");
}

TEST_CASE("launcher reports the signal that killed a command", "[process]") {
  launcher procs;
  auto done = make_slot();
  REQUIRE(procs.launch(command({"sh", "-c", "kill -9 $$"}), record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::signaled);
  CHECK(status->code == SIGKILL);
  CHECK(describe(*status) == "killed by signal 9 (SIGKILL)");
}

TEST_CASE("describe renders exit codes, signals and unconfirmed ends",
          "[process]") {
  exit_status status;
  status.how = exit_status::kind::exited;
  status.code = 42;
  CHECK(describe(status) == "exit code 42");
  status.how = exit_status::kind::signaled;
  status.code = SIGTERM;
  CHECK(describe(status) == "killed by signal 15 (SIGTERM)");
  status.confirmed = false;
  CHECK(describe(status) == "killed by signal 15 (SIGTERM), not confirmed");
  status.how = exit_status::kind::exited;
  status.code = -1;
  CHECK(describe(status) == "exit status unknown, not confirmed");
}

TEST_CASE("launcher refuses a command that does not exist", "[process]") {
  auto done = make_slot();
  {
    launcher procs;
    auto res = procs.launch(command({"quiesce-no-such-command"}), record(done));
    CHECK_FALSE(res);
    CHECK(res.id == 0);
    CHECK(res.error == "command not found: quiesce-no-such-command");
    auto abs
        = procs.launch(command({"/nonexistent/quiesce-tool"}), record(done));
    CHECK_FALSE(abs);
    CHECK(abs.error == "command not found: /nonexistent/quiesce-tool");
    CHECK(procs.live() == 0);
  }
  // The destructor joined the reaper: any report would have arrived by now.
  CHECK(done->count() == 0);
}

TEST_CASE("launcher refuses a file that is not executable", "[process]") {
  temp_dir dir;
  write_file(dir / "script", "#!/bin/sh\nexit 0\n", 0644);
  auto done = make_slot();
  {
    launcher procs;
    auto spec = command({"./script"});
    spec.workdir = dir.path();
    auto res = procs.launch(spec, record(done));
    CHECK_FALSE(res);
    CHECK(res.error == "permission denied: ./script");
    auto abs = procs.launch(command({dir / "script"}), record(done));
    CHECK_FALSE(abs);
    CHECK(abs.error == "permission denied: " + (dir / "script"));
    auto directory = procs.launch(command({dir.path()}), record(done));
    CHECK_FALSE(directory);
    CHECK(contains(directory.error, dir.path()));
  }
  CHECK(done->count() == 0);
}

TEST_CASE("launcher refuses a working directory that does not exist",
          "[process]") {
  temp_dir dir;
  write_file(dir / "plain", "", 0644);
  auto done = make_slot();
  {
    launcher procs;
    auto spec = command({"/bin/true"});
    spec.workdir = "/nonexistent-quiesce-dir";
    auto res = procs.launch(spec, record(done));
    CHECK_FALSE(res);
    CHECK(res.error
          == "working directory does not exist: /nonexistent-quiesce-dir");
    spec.workdir = dir / "plain";
    auto file = procs.launch(spec, record(done));
    CHECK_FALSE(file);
    CHECK(file.error
          == "working directory is not a directory: " + (dir / "plain"));
  }
  CHECK(done->count() == 0);
}

TEST_CASE("launcher refuses an empty command or a bad environment name",
          "[process]") {
  auto done = make_slot();
  {
    launcher procs;
    auto empty = procs.launch(command({}), record(done));
    CHECK_FALSE(empty);
    CHECK(empty.error == "empty command");
    auto spec = command({"/bin/true"});
    spec.env["A=B"] = "x";
    auto bad_env = procs.launch(spec, record(done));
    CHECK_FALSE(bad_env);
    CHECK(bad_env.error == "invalid environment variable name: 'A=B'");
  }
  CHECK(done->count() == 0);
}

TEST_CASE("launcher names an output file it cannot open", "[process]") {
  auto done = make_slot();
  {
    launcher procs;
    auto spec = command({"/bin/true"});
    spec.stdout_path = "/nonexistent-quiesce-dir/out";
    auto res = procs.launch(spec, record(done));
    CHECK_FALSE(res);
    CHECK(res.error
          == "cannot open stdout file /nonexistent-quiesce-dir/out: "
             "No such file or directory");
    spec.stdout_path.clear();
    spec.stderr_path = "/nonexistent-quiesce-dir/err";
    auto err = procs.launch(spec, record(done));
    CHECK_FALSE(err);
    CHECK(contains(err.error,
                   "cannot open stderr file /nonexistent-quiesce-dir/err"));
  }
  CHECK(done->count() == 0);
}

TEST_CASE("launcher writes stdout and stderr to the given files", "[process]") {
  temp_dir dir;
  write_file(dir / "out", "stale content that must be truncated\n", 0600);
  launcher procs;
  auto spec = command({"sh", "-c", "echo to-out; echo to-err >&2"});
  spec.stdout_path = dir / "out";
  spec.stderr_path = dir / "err";
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(slurp(dir / "out") == "to-out\n");
  CHECK(slurp(dir / "err") == "to-err\n");
  struct stat st {};
  REQUIRE(::stat((dir / "err").c_str(), &st) == 0);
  auto mask = ::umask(0);
  ::umask(mask);
  CHECK((st.st_mode & 0777) == (0644 & ~mask));
  SECTION("one path for both streams shares the descriptor") {
    spec.stdout_path = dir / "both";
    spec.stderr_path = dir / "both";
    auto both = make_slot();
    REQUIRE(procs.launch(spec, record(both)));
    REQUIRE(both->wait(wait_bound));
    CHECK(slurp(dir / "both") == "to-out\nto-err\n");
  }
}

TEST_CASE("launcher creates missing output directories only when asked",
          "[process]") {
  temp_dir dir;
  launcher procs;
  auto spec = command({"sh", "-c", "echo to-out; echo to-err >&2"});
  spec.workdir = dir.path();
  spec.stdout_path = dir / "a/b/out";
  // Relative to the working directory, as the file itself is.
  spec.stderr_path = "logs/err";
  auto refused = procs.launch(spec, record(make_slot()));
  CHECK_FALSE(refused);
  CHECK(refused.error
        == "cannot open stdout file " + (dir / "a/b/out")
               + ": No such file or directory");
  CHECK_FALSE(std::filesystem::exists(dir / "a"));
  spec.create_output_dirs = true;
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(slurp(dir / "a/b/out") == "to-out\n");
  CHECK(slurp(dir / "logs/err") == "to-err\n");
  SECTION("a directory that cannot be created is named") {
    // A dangling symlink: opening finds the directory missing, creating it
    // finds the name taken (whoever runs the test, root included).
    REQUIRE(::symlink((dir / "missing").c_str(), (dir / "link").c_str()) == 0);
    spec.stdout_path = dir / "link/sub/out";
    auto res = procs.launch(spec, record(make_slot()));
    CHECK_FALSE(res);
    CHECK(contains(res.error, "cannot create output directory "
                                  + (dir / "link/sub") + ": "));
  }
}

TEST_CASE("launcher adds and replaces environment variables", "[process]") {
  temp_dir dir;
  launcher procs;
  auto spec = command({"sh", "-c", "echo \"$QUIESCE_FOO|$HOME|$PATH\""});
  spec.env["QUIESCE_FOO"] = "bar baz";
  spec.env["HOME"] = "/quiesce-home";
  spec.stdout_path = dir / "out";
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  REQUIRE(done->wait(wait_bound));
  const char* path = ::getenv("PATH");
  REQUIRE(path != nullptr);
  CHECK(slurp(dir / "out")
        == std::string{"bar baz|/quiesce-home|"} + path + "\n");
}

TEST_CASE("launcher searches the PATH of the spec's environment", "[process]") {
  temp_dir dir;
  write_file(dir / "quiesce-test-tool", "#!/bin/sh\necho tool\n", 0755);
  launcher procs;
  auto spec = command({"quiesce-test-tool"});
  spec.stdout_path = dir / "out";
  auto refused = procs.launch(spec, exit_callback{});
  CHECK_FALSE(refused);
  CHECK(refused.error == "command not found: quiesce-test-tool");
  spec.env["PATH"] = dir.path() + ":/usr/bin:/bin";
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(slurp(dir / "out") == "tool\n");
}

TEST_CASE("launcher runs the command in the working directory", "[process]") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "work");
  launcher procs;
  auto spec = command({"sh", "-c", "pwd -P"});
  spec.workdir = dir / "work";
  // Relative to the working directory, like the command itself.
  spec.stdout_path = "out";
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  REQUIRE(done->wait(wait_bound));
  auto expected = std::filesystem::canonical(dir / "work").string();
  CHECK(slurp(dir / "work/out") == expected + "\n");
}

TEST_CASE("launcher signal does not end a command that ignores it, kill does",
          "[process]") {
  temp_dir dir;
  fifo ready{dir / "ready"};
  launcher procs;
  auto spec = command({"sh", "-c", "trap '' TERM; echo ready; sleep 100"});
  spec.stdout_path = ready.path();
  auto done = make_slot();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  REQUIRE(ready.read_line(wait_bound) == std::optional<std::string>{"ready"});
  CHECK(procs.signal(res.id, SIGTERM));
  CHECK_FALSE(done->wait(300ms));
  CHECK(procs.live() == 1);
  CHECK(procs.kill(res.id));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::signaled);
  CHECK(status->code == SIGKILL);
  CHECK(status->confirmed);
  CHECK(group_gone(res.pid));
  CHECK(procs.live() == 0);
}

TEST_CASE("launcher signal ends the whole process group and reaps it",
          "[process]") {
  temp_dir dir;
  fifo ready{dir / "ready"};
  launcher procs;
  auto spec = command({"sh", "-c", "sleep 100 & echo $!; sleep 100"});
  spec.stdout_path = ready.path();
  auto done = make_slot();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  auto grandchild = ready.read_line(wait_bound);
  REQUIRE(grandchild);
  auto grandchild_pid = static_cast<pid_t>(std::stoi(*grandchild));
  CHECK(group_members(res.pid).size() >= 2);
  CHECK(procs.signal(res.id, SIGTERM));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::signaled);
  CHECK(status->code == SIGTERM);
  CHECK(status->confirmed);
  // The report comes only after the group is empty and reaped.
  CHECK(group_gone(res.pid));
  CHECK(::kill(grandchild_pid, 0) != 0);
  CHECK(zombie_children().empty());
  CHECK_FALSE(procs.signal(res.id, SIGTERM));
}

TEST_CASE("launcher kills grandchildren left behind by an exited leader",
          "[process]") {
  temp_dir dir;
  launcher procs;
  auto spec = command({"sh", "-c", "sleep 100 & echo $!; exit 0"});
  spec.stdout_path = dir / "out";
  auto done = make_slot();
  auto start = steady::now();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(steady::now() - start < 2s);
  CHECK(status->how == exit_status::kind::exited);
  CHECK(status->code == 0);
  CHECK(status->confirmed);
  auto grandchild = slurp(dir / "out");
  REQUIRE_FALSE(grandchild.empty());
  CHECK(::kill(static_cast<pid_t>(std::stoi(grandchild)), 0) != 0);
  CHECK(group_gone(res.pid));
  CHECK(zombie_children().empty());
}

TEST_CASE("launcher reports each of 200 concurrent short commands once",
          "[process]") {
  constexpr int total = 200;
  constexpr int max_alive = 2;
  constexpr int threads = 4;
  std::mutex mtx;
  std::condition_variable cv;
  int alive = 0;
  int reported = 0;
  int failures = 0;
  bool stalled = false;
  std::vector<int> calls(total, 0);
  std::vector<std::string> errors;
  {
    launcher procs;
    auto worker = [&](int first) {
      for (int k = first; k < total; k += threads) {
        {
          std::unique_lock<std::mutex> guard{mtx};
          if (!cv.wait_for(guard, wait_bound,
                           [&] { return alive < max_alive; })) {
            stalled = true;
            return;
          }
          ++alive;
        }
        auto res = procs.launch(command({"/bin/true"}),
                                [&, k](const exit_status& status) {
                                  std::lock_guard<std::mutex> guard{mtx};
                                  ++calls[static_cast<size_t>(k)];
                                  ++reported;
                                  if (status.how != exit_status::kind::exited
                                      || status.code != 0 || !status.confirmed)
                                    ++failures;
                                  --alive;
                                  cv.notify_all();
                                });
        if (!res) {
          std::lock_guard<std::mutex> guard{mtx};
          errors.push_back(res.error);
          --alive;
          cv.notify_all();
        }
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i)
      pool.emplace_back(worker, i);
    for (auto& thread : pool)
      thread.join();
    std::unique_lock<std::mutex> guard{mtx};
    CHECK(cv.wait_for(guard, 30s, [&] { return reported == total; }));
  }
  // The launcher is gone, so no report can still be on its way.
  std::lock_guard<std::mutex> guard{mtx};
  CHECK_FALSE(stalled);
  CHECK(errors.empty());
  CHECK(reported == total);
  CHECK(failures == 0);
  CHECK(std::all_of(calls.begin(), calls.end(), [](int n) { return n == 1; }));
  CHECK(zombie_children().empty());
}

TEST_CASE("launcher does not leak descriptors into the command", "[process]") {
  temp_dir dir;
  // A descriptor without O_CLOEXEC, as a careless host would have.
  int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky >= 0);
  REQUIRE(::dup2(leaky, 100) == 100);
  ::close(leaky);
  launcher procs;
  auto spec = command({"sh", "-c", "ls /proc/self/fd"});
  spec.stdout_path = dir / "fds";
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  ::close(100);
  REQUIRE(status);
  CHECK(status->code == 0);
  std::istringstream lines{slurp(dir / "fds")};
  std::vector<int> fds;
  for (std::string line; std::getline(lines, line);)
    fds.push_back(std::stoi(line));
  INFO("descriptors seen by the command: " << slurp(dir / "fds"));
  // 0-2 plus the one ls opens to read the directory.
  CHECK(fds.size() <= 4);
  CHECK(std::count(fds.begin(), fds.end(), 0) == 1);
  CHECK(std::count(fds.begin(), fds.end(), 1) == 1);
  CHECK(std::count(fds.begin(), fds.end(), 2) == 1);
  CHECK(std::all_of(fds.begin(), fds.end(), [](int fd) { return fd <= 3; }));
}

TEST_CASE("launcher destructor kills and reaps live processes", "[process]") {
  temp_dir dir;
  fifo ready{dir / "ready"};
  auto plain = make_slot();
  auto stubborn = make_slot();
  pid_t plain_pid = 0;
  pid_t stubborn_pid = 0;
  auto start = steady::now();
  {
    launcher procs;
    auto first = procs.launch(command({"sleep", "100"}), record(plain));
    REQUIRE(first);
    plain_pid = first.pid;
    auto spec = command(
        {"sh", "-c", "trap '' TERM; sleep 100 & echo ready; sleep 100"});
    spec.stdout_path = ready.path();
    auto second = procs.launch(spec, record(stubborn));
    REQUIRE(second);
    stubborn_pid = second.pid;
    REQUIRE(ready.read_line(wait_bound));
    CHECK(procs.live() == 2);
    start = steady::now();
  }
  CHECK(steady::now() - start < 3s);
  REQUIRE(plain->count() == 1);
  REQUIRE(stubborn->count() == 1);
  for (const auto& status : {plain->calls.front(), stubborn->calls.front()}) {
    CHECK(status.how == exit_status::kind::signaled);
    CHECK(status.code == SIGKILL);
    CHECK(status.confirmed);
  }
  CHECK(group_gone(plain_pid));
  CHECK(group_gone(stubborn_pid));
  CHECK(zombie_children().empty());
}

TEST_CASE("launcher signal refuses unknown and ended processes", "[process]") {
  launcher procs;
  CHECK_FALSE(procs.signal(12345, SIGTERM));
  CHECK_FALSE(procs.kill(0));
  auto done = make_slot();
  auto res = procs.launch(command({"/bin/true"}), record(done));
  REQUIRE(res);
  REQUIRE(done->wait(wait_bound));
  CHECK_FALSE(procs.signal(res.id, SIGTERM));
  CHECK_FALSE(procs.kill(res.id));
}

TEST_CASE("launcher lets an exit callback launch the next command",
          "[process]") {
  launcher procs;
  auto second = make_slot();
  auto first = make_slot();
  auto chained = std::make_shared<launch_result>();
  auto then = [&procs, first, second, chained](const exit_status& status) {
    *chained = procs.launch(command({"sh", "-c", "exit 7"}), record(second));
    record(first)(status);
  };
  auto res = procs.launch(command({"/bin/true"}), then);
  REQUIRE(res);
  REQUIRE(first->wait(wait_bound));
  auto status = second->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 7);
  CHECK(*chained);
}

// -- containment: cgroups and the keeper --------------------------------------

namespace {

using quiesce::test::marked;
using quiesce::test::marker_var;
using quiesce::test::none_alive;
using quiesce::test::unique_marker;
using quiesce::test::wait_until;

/// A command whose descendants leave its process group: a `setsid` child
/// and, below it, a double-forked grandchild re-parented away from it. It
/// prints "ready" once all three sleepers exist.
launch_spec escaping_command(const std::string& marker) {
  auto spec = command(
      {"sh", "-c",
       "setsid sh -c '(sleep 300 &); echo ready; exec sleep 300' & exec sleep "
       "300"});
  spec.env[marker_var] = marker;
  return spec;
}

/// Returns how many live processes carry `marker` outside process group
/// `pgid`.
size_t outside_group(const std::string& marker, pid_t pgid) {
  size_t n = 0;
  for (auto& p : marked(marker))
    n += p.pgrp != pgid && p.state != 'Z' ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("launcher kill ends descendants that left the process group "
          "(setsid, double fork) when commands run in cgroups",
          "[process][cgroup]") {
  temp_dir dir;
  fifo ready{dir / "ready"};
  launcher procs;
  if (!procs.uses_cgroups()) {
    WARN("no cgroup v2 here: " << procs.containment());
    return;
  }
  CHECK(contains(procs.containment(), "cgroup v2 at "));
  auto marker = unique_marker();
  auto spec = escaping_command(marker);
  spec.stdout_path = ready.path();
  auto done = make_slot();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  REQUIRE(ready.read_line(wait_bound) == std::optional<std::string>{"ready"});
  // Two of them really escaped the group: a group kill would miss them.
  REQUIRE(wait_until([&] { return outside_group(marker, res.pid) == 2; }));
  auto cg = procs.cgroup_dir(res.id);
  REQUIRE_FALSE(cg.empty());
  auto members = slurp(cg + "/cgroup.procs");
  CHECK(std::count(members.begin(), members.end(), '\n') >= 3);
  CHECK(procs.kill(res.id));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::signaled);
  CHECK(status->code == SIGKILL);
  CHECK(status->confirmed);
  // Reported only once all of them are dead and reaped, and the cgroup gone.
  CHECK(marked(marker).empty());
  CHECK(zombie_children().empty());
  CHECK(wait_until([&] { return !std::filesystem::exists(cg); }));
}

TEST_CASE("launcher waits for a cgroup to empty after the leader exits",
          "[process][cgroup]") {
  launcher procs;
  if (!procs.uses_cgroups())
    return;
  auto marker = unique_marker();
  auto spec = command({"sh", "-c", "setsid sleep 300 & exit 4"});
  spec.env[marker_var] = marker;
  auto done = make_slot();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::exited);
  CHECK(status->code == 4);
  CHECK(status->confirmed);
  CHECK(marked(marker).empty());
  CHECK(zombie_children().empty());
}

namespace {

/// The zombie reap_orphans must leave alone in the test below.
pid_t kept_zombie = 0;

bool is_kept_zombie(pid_t pid) {
  return pid == kept_zombie;
}

/// Forks a child that exits at once and waits until it is a zombie (not
/// reaped); returns its pid.
pid_t make_zombie() {
  auto pid = ::fork();
  if (pid == 0)
    ::_exit(0);
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
  return pid;
}

/// Returns whether `pid` is still an unreaped child of this process.
bool unreaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info,
                  WEXITED | WNOHANG | WNOWAIT)
             == 0
         && info.si_pid == pid;
}

} // namespace

TEST_CASE("reap_orphans reaps an orphan behind a zombie it must keep, and "
          "finds nothing to do without a zombie child",
          "[process]") {
  // This process's cgroup v2 path: the children below are in it too.
  std::ifstream in{"/proc/self/cgroup"};
  std::string line;
  std::string own;
  while (std::getline(in, line))
    if (line.compare(0, 3, "0::") == 0)
      own = line.substr(3);
  if (own.empty())
    return;
  CHECK(reap_orphans(own, is_kept_zombie) == 0);
  // The older zombie is the one a check for "any zombie child" sees first:
  // reap_orphans must not stop at it.
  kept_zombie = make_zombie();
  auto orphan = make_zombie();
  CHECK(reap_orphans(own, is_kept_zombie) == 1);
  CHECK_FALSE(unreaped(orphan));
  CHECK(unreaped(kept_zombie));
  // Alone, the orphan is reaped as well; a path that is not its own is not.
  CHECK(reap_orphans(own, is_kept_zombie) == 0);
  orphan = make_zombie();
  CHECK(reap_orphans(own + "-other", is_kept_zombie) == 0);
  CHECK(unreaped(orphan));
  kept_zombie = 0;
  CHECK(reap_orphans(own, is_kept_zombie) == 2);
  CHECK(zombie_children().empty());
}

TEST_CASE("launcher starts commands normally after one was killed in its "
          "cgroup",
          "[process][cgroup]") {
  // Linux 6.18 SIGKILLs what clone3 starts in a group once cgroup.kill was
  // written to it: killed groups must not be used again.
  launcher procs;
  for (int round = 0; round < 3; ++round) {
    auto killed = make_slot();
    auto res = procs.launch(command({"sleep", "100"}), record(killed));
    REQUIRE(res);
    CHECK(procs.kill(res.id));
    REQUIRE(killed->wait(wait_bound));
    for (int i = 0; i < 3; ++i) {
      auto done = make_slot();
      REQUIRE(procs.launch(command({"sh", "-c", "exit 5"}), record(done)));
      auto status = done->wait(wait_bound);
      REQUIRE(status);
      CHECK(status->how == exit_status::kind::exited);
      CHECK(status->code == 5);
    }
  }
}

TEST_CASE("launcher reports the CPU time of a command's cgroup",
          "[process][cgroup]") {
  launcher procs;
  if (!procs.uses_cgroups())
    return;
  // A child and a grandchild spin; both count.
  auto spec = command({"sh", "-c",
                       "spin() { i=0; while [ $i -lt 20000 ]; do "
                       "i=$((i+1)); done; }; spin & spin; wait"});
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(status->cpu_time > 0us);
}

TEST_CASE("launcher without cgroups says it falls back to process groups",
          "[process][cgroup]") {
  launcher procs{5s, containment_options{"plain", false, true}};
  CHECK_FALSE(procs.uses_cgroups());
  CHECK(contains(procs.containment(), "process groups (cgroups unavailable: "));
  auto done = make_slot();
  auto res = procs.launch(command({"sh", "-c", "exit 3"}), record(done));
  REQUIRE(res);
  CHECK(procs.cgroup_dir(res.id).empty());
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 3);
}

TEST_CASE("launcher removes the cgroups a dead process left, killing what "
          "runs in them",
          "[process][cgroup]") {
  std::string why_not;
  auto own = own_cgroup_dir(why_not);
  {
    launcher probe;
    if (!probe.uses_cgroups())
      return;
  }
  // The group's owner: a child of ours that lives until the group is set
  // up. Every launcher removes the groups of dead owners, those of other
  // test processes running beside this one too, so the owner dies only once
  // the setup has been checked.
  int hold[2];
  REQUIRE(::pipe(hold) == 0);
  pid_t dead = ::fork();
  if (dead == 0) {
    ::close(hold[1]);
    char c;
    while (::read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  REQUIRE(dead > 0);
  ::close(hold[0]);
  auto left = own + "/quiesce/ghost." + std::to_string(dead) + ".1";
  REQUIRE(::mkdir(left.c_str(), 0755) == 0);
  REQUIRE(::mkdir((left + "/a1").c_str(), 0755) == 0);
  auto marker = unique_marker();
  auto spec = command({"sleep", "300"});
  spec.env[marker_var] = marker;
  // Start a process and move it into the leftover group, as a previous
  // incarnation would have left it.
  launcher other{5s, containment_options{"other", false, false}};
  auto done = make_slot();
  auto res = other.launch(spec, record(done));
  REQUIRE(res);
  {
    std::ofstream procs_file{left + "/a1/cgroup.procs"};
    procs_file << res.pid;
  }
  REQUIRE(marked(marker).size() == 1);
  // Now the owner dies: the group is a leftover.
  ::close(hold[1]);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  launcher procs{5s, containment_options{"ghost"}};
  // This launcher removed it, unless one of a test running beside this one
  // did so first: either way the group is gone and its process killed.
  CHECK_FALSE(std::filesystem::exists(left));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == SIGKILL);
}

namespace {

/// Forks a child that starts `spec` under a launcher of its own (with or
/// without cgroups) and then waits forever; returns its pid once the launch
/// returned there and the command printed "ready" to the FIFO.
pid_t doomed_launcher(launch_spec spec, fifo& ready, bool cgroups) {
  int launched[2];
  REQUIRE(::pipe2(launched, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    {
      launcher procs{5s, containment_options{"doomed", cgroups, true}};
      auto res = procs.launch(spec, [](const exit_status&) {});
      if (!res)
        ::_exit(1);
      // Only now does the keeper know the process group (without cgroups).
      [[maybe_unused]] auto n = ::write(launched[1], "x", 1);
      for (;;)
        ::pause();
    }
  }
  ::close(launched[1]);
  REQUIRE(pid > 0);
  pollfd pfd{launched[0], POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, static_cast<int>(wait_bound.count() * 1000)) == 1);
  ::close(launched[0]);
  REQUIRE(ready.read_line(wait_bound) == std::optional<std::string>{"ready"});
  return pid;
}

} // namespace

TEST_CASE("a keeper kills the commands of a launcher whose process was "
          "SIGKILLed, setsid and double-forked ones included",
          "[process][cgroup][keeper]") {
  {
    launcher probe;
    if (!probe.uses_cgroups())
      return;
  }
  temp_dir dir;
  fifo ready{dir / "ready"};
  auto marker = unique_marker();
  auto spec = escaping_command(marker);
  spec.stdout_path = ready.path();
  auto pid = doomed_launcher(spec, ready, true);
  REQUIRE(wait_until([&] { return outside_group(marker, 0) >= 3; }));
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(::waitpid(pid, nullptr, 0) == pid);
  // The default grace (5 s) + 1 s bounds it; it takes milliseconds.
  CHECK(wait_until([&] { return none_alive(marker); }, 6s));
}

TEST_CASE("a keeper kills the process groups of a launcher without cgroups "
          "whose process was SIGKILLed",
          "[process][keeper]") {
  temp_dir dir;
  fifo ready{dir / "ready"};
  auto marker = unique_marker();
  auto spec = command({"sh", "-c", "sleep 300 & echo ready; exec sleep 300"});
  spec.env[marker_var] = marker;
  spec.stdout_path = ready.path();
  auto pid = doomed_launcher(spec, ready, false);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(::waitpid(pid, nullptr, 0) == pid);
  CHECK(wait_until([&] { return none_alive(marker); }, 6s));
}

TEST_CASE("a keeper removes the cgroup v1 groups of the limits of a launcher "
          "whose process was SIGKILLed",
          "[process][cgroup][keeper][limits]") {
  std::string v1_memory;
  {
    launcher probe;
    if (!probe.uses_cgroups())
      return;
    v1_memory = probe.limits().v1_dir[limit_support::memory];
  }
  if (v1_memory.empty()) {
    WARN("skipped: memory limits do not use a cgroup v1 hierarchy here");
    return;
  }
  temp_dir dir;
  fifo ready{dir / "ready"};
  auto marker = unique_marker();
  auto spec = command({"sh", "-c", "echo ready; exec sleep 300"});
  spec.env[marker_var] = marker;
  spec.stdout_path = ready.path();
  spec.limits.memory_max = 64 << 20;
  auto pid = doomed_launcher(spec, ready, true);
  // NAME.PID.N: N counts the trees of the process it was forked from too.
  std::string tree;
  for (const auto& entry :
       std::filesystem::directory_iterator{v1_memory + "/quiesce"})
    if (entry.path().filename().string().rfind(
            "doomed." + std::to_string(pid) + ".", 0)
        == 0)
      tree = entry.path().string();
  REQUIRE_FALSE(tree.empty());
  // The command runs in its v1 memory group.
  CHECK_FALSE(slurp(tree + "/a1/cgroup.procs").empty());
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(::waitpid(pid, nullptr, 0) == pid);
  CHECK(wait_until([&] { return none_alive(marker); }, 6s));
  CHECK(wait_until([&] { return !std::filesystem::exists(tree); }, 6s));
}

TEST_CASE("launcher runs a command as another account, with and without "
          "cgroups",
          "[process][owner]") {
  if (::geteuid() != 0)
    return; // needs root (the suite runs as root)
  temp_dir dir;
  // The account creates its output files here.
  ::chmod(dir.path().c_str(), 0777);
  for (bool cgroups : {true, false}) {
    INFO("cgroups " << cgroups);
    launcher procs{5s, containment_options{"owner", cgroups, true}};
    auto spec = command({"sh", "-c", "id -u; id -g; id -G; pwd"});
    spec.run_as = credentials{65534, 65534, {65534, 4}, {}, {}, {}};
    spec.workdir = dir.path();
    auto out = dir / (cgroups ? "out-cg" : "out-plain");
    spec.stdout_path = out;
    auto done = make_slot();
    auto res = procs.launch(spec, record(done));
    INFO(res.error);
    REQUIRE(res);
    auto status = done->wait(wait_bound);
    REQUIRE(status);
    CHECK(status->code == 0);
    CHECK(slurp(out) == "65534\n65534\n65534 4\n" + dir.path() + "\n");
    struct stat st {};
    REQUIRE(::stat(out.c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
    // A working directory the account may not enter is refused as it.
    auto closed = dir / (cgroups ? "closed-cg" : "closed-plain");
    REQUIRE(::mkdir(closed.c_str(), 0700) == 0);
    spec.workdir = closed;
    spec.stdout_path.clear();
    auto refused = procs.launch(spec, record(make_slot()));
    CHECK_FALSE(refused);
    CHECK(contains(refused.error, "uid 65534 gid 65534 groups 65534,4"));
    // This thread's own identity is back: root still opens root's files.
    CHECK(::access(closed.c_str(), W_OK) == 0);
  }
}

TEST_CASE("launcher gives a command run as another account that account's "
          "HOME, USER, LOGNAME and SHELL",
          "[process][owner]") {
  if (::geteuid() != 0)
    return; // needs root (the suite runs as root)
  const passwd* pw = ::getpwuid(65534);
  REQUIRE(pw != nullptr);
  std::string expected = std::string{pw->pw_dir} + " " + pw->pw_name + " "
                         + pw->pw_name + " " + pw->pw_shell + "\n";
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0777);
  launcher procs;
  auto spec = command(
      {"sh", "-c", "echo \"$HOME $USER $LOGNAME $SHELL\"; echo \"$OTHER\""});
  spec.workdir = dir.path();
  // The launcher's own (root's) HOME and USER must not reach it; the
  // task's other variables still do.
  spec.env["OTHER"] = "set";
  SECTION("looked up by uid when the command starts") {
    spec.run_as = credentials{65534, 65534, {65534}, {}, {}, {}};
  }
  SECTION("as the account's settings resolved them") {
    std::string error;
    auto found = account_of(pw->pw_name, error);
    REQUIRE(found);
    spec.run_as = *found;
  }
  auto out = dir / "env";
  spec.stdout_path = out;
  auto done = make_slot();
  REQUIRE(procs.launch(spec, record(done)));
  REQUIRE(done->wait(wait_bound));
  CHECK(slurp(out) == expected + "set\n");
  // What the task sets itself wins.
  spec.env["HOME"] = "/tmp";
  spec.stdout_path = dir / "env2";
  auto again = make_slot();
  REQUIRE(procs.launch(spec, record(again)));
  REQUIRE(again->wait(wait_bound));
  CHECK(slurp(dir / "env2")
        == std::string{"/tmp "} + pw->pw_name + " " + pw->pw_name + " "
               + pw->pw_shell + "\nset\n");
}
