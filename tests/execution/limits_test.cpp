// Resource limits of the launcher with real cgroups (as root, as in CI):
// memory_max, pids_max and cpus on whichever of cgroup v2 or the hybrid
// layout's v1 hierarchies this machine has. A test returns early, with a
// warning that says why, only where the kernel lacks the controller.

#include "execution/cgroup.hpp"
#include "execution/cgroup_files.hpp"
#include "execution/launcher.hpp"
#include "support/processes.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace quiesce::process;
using quiesce::test::slurp;
using quiesce::test::temp_dir;
using namespace std::chrono_literals;

namespace {

constexpr auto wait_bound = 20s;

/// Collects the one exit report of a process.
struct slot {
  std::mutex mtx;
  std::condition_variable cv;
  std::optional<exit_status> status;

  std::optional<exit_status> wait(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, bound, [this] { return status.has_value(); });
    return status;
  }
};

exit_callback record(const std::shared_ptr<slot>& target) {
  return [target](const exit_status& st) {
    std::lock_guard<std::mutex> guard{target->mtx};
    target->status = st;
    target->cv.notify_all();
  };
}

launch_spec shell(const std::string& script) {
  launch_spec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Returns whether `procs` enforces controller `c`; warns why not.
bool enforces(const launcher& procs, limit_support::controller c) {
  if (procs.limits().enforced(c))
    return true;
  WARN("skipped: " << limit_key(c)
                   << " is not enforced here: " << procs.limits().why_not[c]);
  return false;
}

/// Where the hybrid layout's cgroup v1 memory hierarchy is mounted, when
/// `procs` measures every command's peak there; else empty, with a warning.
std::string v1_memory_mount(const launcher& procs) {
  if (!procs.uses_cgroups()) {
    WARN("skipped: commands are not contained in cgroups here: "
         << procs.containment());
    return {};
  }
  if (procs.limits().v1_dir[limit_support::memory].empty()) {
    WARN("skipped: no writable cgroup v1 memory hierarchy here ("
         << procs.limits().describe() << ")");
    return {};
  }
  return quiesce::process::detail::find_mount("cgroup", "memory").point;
}

/// What one command of `memory_run` reported.
struct measured {
  exit_status status;
  std::string group; // its v1 memory group's directory
  ino_t inode = 0;   // that directory's inode once the command ended
  std::string out;   // what it printed after its group's line
};

/// Runs `script` (after a line naming its v1 memory group) through `procs`,
/// alone, and returns its end, its group and what it printed.
measured memory_run(launcher& procs, const std::string& mount,
                    const temp_dir& dir, const std::string& script,
                    uint64_t memory_max = 0) {
  auto spec
      = shell("sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup; " + script);
  spec.limits.memory_max = memory_max;
  spec.stdout_path = dir.path() + "/out";
  auto done = std::make_shared<slot>();
  auto res = procs.launch(spec, record(done));
  REQUIRE(res);
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::exited);
  CHECK(status->code == 0);
  measured m;
  m.status = *status;
  auto text = slurp(spec.stdout_path);
  auto eol = text.find('\n');
  REQUIRE(eol != std::string::npos);
  m.group = mount + text.substr(0, eol);
  m.out = text.substr(eol + 1);
  CHECK(contains(m.group, "/quiesce/"));
  struct stat st {};
  if (::stat(m.group.c_str(), &st) == 0)
    m.inode = st.st_ino;
  return m;
}

} // namespace

TEST_CASE("every command's peak memory is measured on the hybrid layout, in "
          "a reused cgroup v1 memory group",
          "[process][cgroup][limits]") {
  launcher procs{5s, containment_options{"peaks"}};
  auto mount = v1_memory_mount(procs);
  if (mount.empty())
    return;
  temp_dir dir;
  constexpr uint64_t mib = 1 << 20;
  // One command at a time: each reuses the one cgroup (and memory group)
  // the previous one emptied.
  auto big = memory_run(procs, mount, dir,
                        "dd if=/dev/zero of=/dev/null bs=64M count=1");
  INFO("64 MiB buffer: peak " << big.status.peak_memory);
  CHECK(big.status.peak_memory >= 64 * mib);
  CHECK(big.status.peak_memory < 96 * mib);
  auto small = memory_run(procs, mount, dir, "true");
  INFO("then a small command: peak " << small.status.peak_memory);
  CHECK(small.group == big.group);
  CHECK(small.inode == big.inode);
  CHECK(small.status.peak_memory > 0);
  CHECK(small.status.peak_memory < 4 * mib);
  // 6 MiB of page cache stays charged to the group once its writer ended,
  // and the group is reused: the next command's peak does not count it.
  auto writer = memory_run(procs, mount, dir,
                           "head -c 6291456 /dev/zero > " + dir.path() + "/f6");
  INFO("6 MiB file written: peak " << writer.status.peak_memory);
  CHECK(writer.status.peak_memory >= 6 * mib);
  auto after_writer = memory_run(procs, mount, dir, "true");
  INFO("then a small command: peak " << after_writer.status.peak_memory);
  CHECK(after_writer.inode == writer.inode);
  CHECK(after_writer.status.peak_memory > 0);
  CHECK(after_writer.status.peak_memory < 4 * mib);
  // 64 MiB of page cache: more than a reused group may hold, so the next
  // command gets a fresh group.
  auto cache = memory_run(
      procs, mount, dir, "head -c 67108864 /dev/zero > " + dir.path() + "/f64");
  INFO("64 MiB file written: peak " << cache.status.peak_memory);
  CHECK(cache.status.peak_memory >= 64 * mib);
  auto after_cache = memory_run(procs, mount, dir, "true");
  INFO("then a small command: peak " << after_cache.status.peak_memory);
  CHECK(after_cache.group == cache.group);
  CHECK(after_cache.inode != cache.inode);
  CHECK(after_cache.status.peak_memory > 0);
  CHECK(after_cache.status.peak_memory < 4 * mib);
  // Without a limit no OOM kill is counted (none happened either).
  CHECK(after_cache.status.oom_kills == 0);
}

TEST_CASE("a memory limit starts in a fresh cgroup v1 memory group, and the "
          "next command does not inherit it",
          "[process][cgroup][limits]") {
  launcher procs{5s, containment_options{"fresh"}};
  auto mount = v1_memory_mount(procs);
  if (mount.empty())
    return;
  temp_dir dir;
  // Its group's inode and limit, as the command sees them.
  auto show = "g=" + mount
              + "$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup); "
                "stat -c %i $g; cat $g/memory.limit_in_bytes";
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    REQUIRE(out.size() == 2);
    return out;
  };
  auto plain = memory_run(procs, mount, dir, show);
  auto limited = memory_run(procs, mount, dir, show, uint64_t{32} << 20);
  CHECK(limited.group == plain.group);
  // A new group (not the one the plain command left), with the limit.
  CHECK(lines(limited.out)[0] != lines(plain.out)[0]);
  CHECK(lines(limited.out)[1] == std::to_string(uint64_t{32} << 20));
  CHECK(limited.status.peak_memory > 0);
  // Removed once it ended: no later command inherits its limit.
  CHECK(limited.inode == 0);
  auto next = memory_run(procs, mount, dir, show);
  CHECK(next.group == plain.group);
  CHECK(lines(next.out)[1] == lines(plain.out)[1]);
  CHECK(lines(next.out)[1] != lines(limited.out)[1]);
  CHECK(next.status.peak_memory > 0);
}

TEST_CASE("a cgroup v1 memory group that still holds a process is not "
          "reused, and goes with its launcher",
          "[process][cgroup][limits]") {
  std::string why;
  auto own = own_cgroup_dir(why);
  pid_t sleeper = 0;
  {
    launcher procs{5s, containment_options{"stray"}};
    auto mount = v1_memory_mount(procs);
    if (mount.empty())
      return;
    temp_dir dir;
    // The sleep leaves the command's process group and its v2 cgroup for
    // ours (root may), so the command ends with it still in its v1 memory
    // group. The command waits until it has: else the kill of the group at
    // the command's end may come before setsid.
    auto mark = dir.path() + "/sleeper";
    auto first = memory_run(
        procs, mount, dir,
        "setsid sh -c 'echo $$ > " + own + "/cgroup.procs; echo $$ > " + mark
            + ".tmp; mv " + mark + ".tmp " + mark
            + "; exec sleep 300' > /dev/null & while [ ! -e " + mark
            + " ]; do sleep 0.01; done; cat " + mark);
    sleeper = static_cast<pid_t>(std::stol(first.out));
    REQUIRE(sleeper > 0);
    CHECK(::kill(sleeper, 0) == 0);
    auto second = memory_run(procs, mount, dir, "true");
    CHECK(second.group != first.group);
    CHECK(second.status.peak_memory > 0);
    CHECK(second.status.peak_memory < (4u << 20));
  }
  // The launcher's end removed its v1 groups, killing what was in them. The
  // sleep came back to us (a subreaper) when its shell ended.
  int status = 0;
  pid_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + wait_bound;
  while ((got = ::waitpid(sleeper, &status, WNOHANG)) == 0
         && std::chrono::steady_clock::now() < deadline)
    ::usleep(10'000);
  if (got == 0)
    ::kill(sleeper, SIGKILL);
  REQUIRE(got == sleeper);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("a command that allocates past memory_max is killed and says so",
          "[process][cgroup][limits]") {
  launcher procs;
  if (!enforces(procs, limit_support::memory))
    return;
  // tail keeps everything since the last newline: /dev/zero has none.
  auto spec = shell("exec tail /dev/zero");
  spec.limits.memory_max = 32 << 20;
  auto done = std::make_shared<slot>();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->how == exit_status::kind::signaled);
  CHECK(status->code == SIGKILL);
  CHECK(status->oom_kills >= 1);
  // It reached its limit, and no further.
  CHECK(status->peak_memory > (16u << 20));
  CHECK(status->peak_memory <= (32u << 20));
  CHECK(status->cpu_time > 0us);
}

TEST_CASE("a command within memory_max runs to its end, its peak measured",
          "[process][cgroup][limits]") {
  launcher procs;
  if (!enforces(procs, limit_support::memory))
    return;
  // About 8 MiB held at once by tail (no newline in the block).
  auto spec = shell("head -c 8388608 /dev/zero | tail > /dev/null");
  spec.limits.memory_max = 64 << 20;
  for (int round = 0; round < 2; ++round) {
    // The second round reuses the group: its peak is its own again.
    auto done = std::make_shared<slot>();
    REQUIRE(procs.launch(spec, record(done)));
    auto status = done->wait(wait_bound);
    REQUIRE(status);
    CHECK(status->how == exit_status::kind::exited);
    CHECK(status->code == 0);
    CHECK(status->oom_kills == 0);
    CHECK(status->peak_memory >= (8u << 20));
    CHECK(status->peak_memory < (64u << 20));
  }
}

TEST_CASE("a command has its CPU time with cgroups and without",
          "[process][cgroup][limits]") {
  // Without cgroups (process groups) the leader's rusage gives it: the
  // shell and the loop it waited for.
  auto with_cgroups = GENERATE(true, false);
  launcher procs{5s, containment_options{"usage", with_cgroups, true}};
  auto spec = shell("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
  auto done = std::make_shared<slot>();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(status->cpu_time > 0us);
}

TEST_CASE("pids_max makes a fork beyond the limit fail",
          "[process][cgroup][limits]") {
  launcher procs;
  if (!enforces(procs, limit_support::pids))
    return;
  temp_dir dir;
  auto script = "n=0; while [ $n -lt 20 ]; do sleep 30 & n=$((n+1)); done; "
                "echo started $n";
  auto run = [&](uint32_t pids_max) {
    auto spec = shell(script);
    spec.limits.pids_max = pids_max;
    spec.stdout_path = dir.path() + "/out." + std::to_string(pids_max);
    spec.stderr_path = dir.path() + "/err." + std::to_string(pids_max);
    auto done = std::make_shared<slot>();
    REQUIRE(procs.launch(spec, record(done)));
    auto status = done->wait(wait_bound);
    REQUIRE(status);
    return *status;
  };
  // The shell and four sleeps fill 5: the fifth sleep cannot be forked.
  auto limited = run(5);
  CHECK_FALSE((limited.how == exit_status::kind::exited && limited.code == 0));
  CHECK_FALSE(contains(slurp(dir.path() + "/out.5"), "started 20"));
  CHECK(contains(slurp(dir.path() + "/err.5"), "fork"));
  // Room for all: the same script starts its 20.
  auto roomy = run(50);
  CHECK(roomy.how == exit_status::kind::exited);
  CHECK(roomy.code == 0);
  CHECK(contains(slurp(dir.path() + "/out.50"), "started 20"));
}

TEST_CASE("cpus holds a spinning command to its CPU quota",
          "[process][cgroup][limits]") {
  launcher procs;
  if (!enforces(procs, limit_support::cpu))
    return;
  // Two spinners for about 3 s of wall time each (the command times
  // itself): together they could use 2 CPUs, the quota gives them 0.2.
  auto spec = shell("end=$(($(date +%s) + 3)); "
                    "spin() { while [ $(date +%s) -lt $end ]; do :; done; }; "
                    "spin & spin; wait");
  spec.limits.cpu_millis = 200;
  auto done = std::make_shared<slot>();
  auto started = std::chrono::steady_clock::now();
  REQUIRE(procs.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
      status->ended - started);
  REQUIRE(wall >= 2s);
  auto ratio = static_cast<double>(status->cpu_time.count())
               / static_cast<double>(wall.count());
  INFO("cpu " << status->cpu_time.count() << " us over " << wall.count()
              << " us of wall time");
  // The quota allows 0.2, plus at most one period's burst: well under 0.35
  // (unlimited, the two spinners take what the machine has left, most
  // often more than 0.5).
  CHECK(ratio > 0);
  CHECK(ratio < 0.35);
}

TEST_CASE("a strict launcher refuses a limit it cannot enforce, a lenient one "
          "runs the command without it",
          "[process][limits]") {
  auto spec = shell("exit 0");
  spec.limits.memory_max = 64 << 20;
  spec.limits.pids_max = 10;
  {
    launcher strict{5s, containment_options{"strict", false, false, true}};
    CHECK(contains(strict.containment(), "memory_max"));
    auto done = std::make_shared<slot>();
    auto res = strict.launch(spec, record(done));
    REQUIRE_FALSE(res);
    CHECK(contains(res.error, "memory_max cannot be enforced"));
    CHECK(contains(res.error, "pids_max cannot be enforced"));
    CHECK(contains(res.error, "not contained by cgroups"));
  }
  launcher lenient{5s, containment_options{"lenient", false, false, false}};
  auto done = std::make_shared<slot>();
  REQUIRE(lenient.launch(spec, record(done)));
  auto status = done->wait(wait_bound);
  REQUIRE(status);
  CHECK(status->code == 0);
}

TEST_CASE("the cgroup v1 groups of limits go with their launcher, and with "
          "a dead one's leftovers",
          "[process][cgroup][limits]") {
  std::vector<std::string> trees;
  {
    launcher procs{5s, containment_options{"v1gone"}};
    if (!procs.uses_cgroups())
      return;
    for (auto c :
         {limit_support::memory, limit_support::pids, limit_support::cpu})
      if (!procs.limits().v1_dir[c].empty())
        trees.push_back(procs.limits().v1_dir[c]);
    if (trees.empty()) {
      WARN("skipped: no limit uses a cgroup v1 hierarchy here");
      return;
    }
    auto spec = shell("exit 0");
    spec.limits = {64 << 20, 500, 100};
    auto done = std::make_shared<slot>();
    REQUIRE(procs.launch(spec, record(done)));
    REQUIRE(done->wait(wait_bound));
  }
  auto ours = [](const std::string& dir) {
    size_t count = 0;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator{dir + "/quiesce", ec})
      if (contains(entry.path().filename().string(),
                   "v1gone." + std::to_string(::getpid()) + "."))
        ++count;
    return count;
  };
  for (const auto& dir : trees)
    CHECK(ours(dir) == 0);
  // A group a dead owner left in a v1 hierarchy is removed by the next
  // launcher. Its owner: a child that has exited and been reaped.
  pid_t dead = ::fork();
  if (dead == 0)
    ::_exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  auto left = trees.front() + "/quiesce/ghost1." + std::to_string(dead) + ".1";
  REQUIRE(::mkdir(left.c_str(), 0755) == 0);
  REQUIRE(::mkdir((left + "/a1").c_str(), 0755) == 0);
  launcher next{5s, containment_options{"next"}};
  CHECK_FALSE(std::filesystem::exists(left));
}
