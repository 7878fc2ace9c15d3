#include "execution/launcher.hpp"

#include "execution/cgroup.hpp"
#include "execution/keeper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Bookworm's <sys/pidfd.h> lacks the extern "C" guards of other glibc headers.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace quiesce::process {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Epoll tag of the eventfd; process ids start at 1.
constexpr uint64_t wake_tag = 0;

/// First and largest pause between scans of a group that is still emptying.
constexpr milliseconds first_scan_delay{1};
constexpr milliseconds max_scan_delay{100};

/// Pause before looking once more for late orphans of an emptied cgroup.
constexpr milliseconds sweep_delay{100};

/// Pause between scans of a group that outlived the bound (already reported).
constexpr milliseconds lingering_scan_delay{1000};

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

/// Owns one file descriptor.
class unique_fd {
public:
  unique_fd() = default;

  explicit unique_fd(int fd) : fd_(fd) {}

  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  ~unique_fd() {
    reset();
  }

  /// Returns the descriptor, or -1.
  int get() const noexcept {
    return fd_;
  }

  /// Closes the descriptor, if any.
  void reset() noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

/// Owns a posix_spawn_file_actions_t.
class file_actions {
public:
  file_actions() {
    ::posix_spawn_file_actions_init(&fa_);
  }

  ~file_actions() {
    ::posix_spawn_file_actions_destroy(&fa_);
  }

  file_actions(const file_actions&) = delete;
  file_actions& operator=(const file_actions&) = delete;

  /// Returns the wrapped object.
  posix_spawn_file_actions_t* get() noexcept {
    return &fa_;
  }

private:
  posix_spawn_file_actions_t fa_;
};

/// Owns a posix_spawnattr_t.
class spawn_attributes {
public:
  spawn_attributes() {
    ::posix_spawnattr_init(&attr_);
  }

  ~spawn_attributes() {
    ::posix_spawnattr_destroy(&attr_);
  }

  spawn_attributes(const spawn_attributes&) = delete;
  spawn_attributes& operator=(const spawn_attributes&) = delete;

  /// Returns the wrapped object.
  posix_spawnattr_t* get() noexcept {
    return &attr_;
  }

private:
  posix_spawnattr_t attr_;
};

/// Leaders of live process groups of every launcher in this process.
///
/// A drain scan calls waitid(P_PGID, g) after the leader g was reaped. Once
/// the group empties, the number g is free and a new launch may get it as
/// its pid (and group id); the scan would then reap the new leader and steal
/// its status. Spawning and registering a leader happen under this mutex, and
/// so does every scan, which skips a group whose id is a live leader again.
struct spawn_registry {
  std::mutex mtx;
  std::unordered_set<pid_t> leaders;
};

spawn_registry& registry() {
  // Leaked on purpose: a launcher with static storage may outlive it.
  static auto* instance = new spawn_registry;
  return *instance;
}

bool contains_nul(const std::string& str) {
  return str.find('\0') != std::string::npos;
}

/// Returns `path` as the child sees it after changing to `workdir`.
std::string in_workdir(const std::string& workdir, const std::string& path) {
  if (workdir.empty() || path.empty() || path.front() == '/')
    return path;
  return workdir + '/' + path;
}

/// Returns an empty string if `workdir` is usable, else why not.
std::string check_workdir(const std::string& workdir) {
  if (workdir.empty())
    return {};
  if (contains_nul(workdir))
    return "working directory contains a NUL character";
  struct stat st {};
  if (::stat(workdir.c_str(), &st) != 0) {
    auto err = errno;
    if (err == ENOENT)
      return "working directory does not exist: " + workdir;
    if (err == EACCES)
      return "permission denied: working directory " + workdir;
    return "cannot use working directory " + workdir + ": " + errno_text(err);
  }
  if (!S_ISDIR(st.st_mode))
    return "working directory is not a directory: " + workdir;
  if (::faccessat(AT_FDCWD, workdir.c_str(), X_OK, AT_EACCESS) != 0)
    return "permission denied: working directory " + workdir;
  return {};
}

/// Outcome of checking one candidate file for execution.
enum class candidate { runnable, missing, not_runnable };

candidate probe(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode))
    return candidate::missing;
  if (!S_ISREG(st.st_mode)
      || ::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0)
    return candidate::not_runnable;
  return candidate::runnable;
}

/// The executable to pass to posix_spawn, or why there is none.
struct resolution {
  std::string path;
  std::string error;
};

// We search PATH ourselves instead of using posix_spawnp: posix_spawnp would
// search the launcher's PATH, not the one in the spec's environment, and
// could not tell "not found" from "found but not executable" up front.
resolution resolve(const std::string& name, const std::string& workdir,
                   const std::string& search_path) {
  if (name.find('/') != std::string::npos) {
    auto checked = in_workdir(workdir, name);
    struct stat st {};
    if (::stat(checked.c_str(), &st) != 0) {
      auto err = errno;
      if (err == ENOENT || err == ENOTDIR)
        return {{}, "command not found: " + name};
      if (err == EACCES)
        return {{}, "permission denied: " + name};
      return {{}, "cannot start " + name + ": " + errno_text(err)};
    }
    if (S_ISDIR(st.st_mode))
      return {{}, "cannot execute " + name + ": it is a directory"};
    if (!S_ISREG(st.st_mode)
        || ::faccessat(AT_FDCWD, checked.c_str(), X_OK, AT_EACCESS) != 0)
      return {{}, "permission denied: " + name};
    return {name, {}};
  }
  bool denied = false;
  std::string_view rest = search_path;
  for (;;) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    auto path
        = (dir.empty() ? std::string{"."} : std::string{dir}) + '/' + name;
    switch (probe(in_workdir(workdir, path))) {
      case candidate::runnable:
        return {path, {}};
      case candidate::not_runnable:
        denied = true;
        break;
      case candidate::missing:
        break;
    }
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  if (denied)
    return {{}, "permission denied: " + name};
  return {{}, "command not found: " + name};
}

/// Returns the PATH the child will use to find its command.
std::string effective_path(const launch_spec& spec) {
  if (auto i = spec.env.find("PATH"); i != spec.env.end())
    return i->second;
  if (const char* inherited = ::getenv("PATH"))
    return inherited;
  return "/bin:/usr/bin";
}

/// Returns "NAME=value" strings: the inherited environment with `extra`
/// added or replacing entries of the same name.
std::vector<std::string> make_environment(const environment& extra) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view item{*entry};
    auto name = item.substr(0, item.find('='));
    if (extra.count(name) == 0)
      result.emplace_back(item);
  }
  for (const auto& [name, value] : extra) {
    auto& item = result.emplace_back(name);
    item += '=';
    item += value;
  }
  return result;
}

/// Returns an empty string if every environment entry is well-formed.
std::string check_environment(const environment& env) {
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find('=') != std::string::npos
        || contains_nul(name))
      return "invalid environment variable name: '" + name + "'";
    if (contains_nul(value))
      return "environment variable " + name + " contains a NUL character";
  }
  return {};
}

/// Returns null-terminated pointers into `strings`, which must outlive them.
std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& str : strings)
    result.push_back(str.data());
  result.push_back(nullptr);
  return result;
}

/// Gives the calling thread the file-system identity (fsuid, fsgid,
/// supplementary groups) of `who` until destroyed. Raw system calls: they
/// change this thread only, where glibc's wrappers would change every thread
/// of the process.
class fs_identity {
public:
  explicit fs_identity(const credentials& who) {
    auto n = ::syscall(SYS_getgroups, 0, nullptr);
    if (n >= 0) {
      saved_.resize(static_cast<size_t>(n));
      n = ::syscall(SYS_getgroups, n, saved_.data());
    }
    if (n < 0) {
      error_ = std::string{"getgroups: "} + std::strerror(errno);
      return;
    }
    saved_.resize(static_cast<size_t>(n));
    if (::syscall(SYS_setgroups, who.groups.size(), who.groups.data()) != 0) {
      error_ = std::string{"setgroups: "} + std::strerror(errno);
      return;
    }
    changed_ = true;
    // setfsgid and setfsuid say nothing of a failure: ask again.
    ::syscall(SYS_setfsgid, who.gid);
    ::syscall(SYS_setfsuid, who.uid);
    if (::syscall(SYS_setfsgid, -1) != static_cast<long>(who.gid)
        || ::syscall(SYS_setfsuid, -1) != static_cast<long>(who.uid))
      error_ = "setfsuid/setfsgid: not permitted";
  }

  ~fs_identity() {
    if (!changed_)
      return;
    ::syscall(SYS_setfsuid, ::geteuid());
    ::syscall(SYS_setfsgid, ::getegid());
    ::syscall(SYS_setgroups, saved_.size(), saved_.data());
  }

  fs_identity(const fs_identity&) = delete;
  fs_identity& operator=(const fs_identity&) = delete;

  /// Empty when the identity was taken, else which call failed and why.
  const std::string& error() const noexcept {
    return error_;
  }

private:
  std::vector<gid_t> saved_;
  bool changed_ = false;
  std::string error_;
};

/// Opens an output file for the child, or returns the errno.
std::pair<unique_fd, int> open_output(const std::string& path) {
  unique_fd fd{::open(
      path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644)};
  if (fd.get() < 0)
    return {unique_fd{}, errno};
  // A host with a closed stdio slot could hand us fd 0-2, which the child's
  // own dup2 and /dev/null actions would then clobber.
  if (fd.get() < 3) {
    unique_fd high{::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3)};
    if (high.get() < 0)
      return {unique_fd{}, errno};
    fd = std::move(high);
  }
  return {std::move(fd), 0};
}

/// Opens the output file `path` (relative to `workdir`) for `stream`,
/// creating its missing directories first when `create_dirs` is set and the
/// open finds them missing. On failure returns no descriptor and sets `error`.
unique_fd open_output(const std::string& workdir, const std::string& path,
                      const char* stream, bool create_dirs,
                      std::string& error) {
  auto file = in_workdir(workdir, path);
  auto opened = open_output(file);
  if (opened.second == ENOENT && create_dirs) {
    // Only the first file of a directory gets here: the usual case, a
    // directory that exists, pays no extra system call.
    auto dir = std::filesystem::path{file}.parent_path();
    std::error_code ec;
    if (!dir.empty())
      std::filesystem::create_directories(dir, ec);
    if (ec) {
      error = "cannot create output directory " + dir.string() + ": "
              + ec.message();
      return unique_fd{};
    }
    opened = open_output(file);
  }
  if (opened.second != 0)
    error = std::string{"cannot open "} + stream + " file " + path + ": "
            + errno_text(opened.second);
  return std::move(opened.first);
}

/// Sets the credentials of `spec.run_as`, if any, into `req`.
void set_ids(cgroup_spawn& req, const launch_spec& spec) {
  if (!spec.run_as)
    return;
  req.set_ids = true;
  req.uid = spec.run_as->uid;
  req.gid = spec.run_as->gid;
  req.groups = spec.run_as->groups.data();
  req.ngroups = spec.run_as->groups.size();
}

std::string spawn_error(const std::string& name, int err) {
  switch (err) {
    case ENOENT:
      // The file exists (we checked): its interpreter or loader does not.
      return "cannot execute " + name + ": interpreter or loader not found";
    case EACCES:
      return "permission denied: " + name;
    case ENOEXEC:
      return "cannot execute " + name + ": not an executable format";
    case E2BIG:
      return "cannot start " + name + ": argument list too long";
    default:
      return "cannot start " + name + ": " + errno_text(err);
  }
}

/// As above, for a child that may have changed its credentials: a failed
/// setgroups, setresgid or setresuid is named.
std::string spawn_error(const std::string& name, int err, spawn_step failed,
                        const launch_spec& spec) {
  if (!spec.run_as)
    return spawn_error(name, err);
  auto as = " as " + describe(*spec.run_as);
  if (failed != spawn_step::other)
    return "cannot start " + name + as + ": " + to_string(failed)
           + " failed: " + errno_text(err);
  return spawn_error(name, err) + " (running" + as + ")";
}

exit_status to_status(const siginfo_t& info, steady::time_point now) {
  exit_status result;
  if (info.si_code == CLD_EXITED) {
    result.how = exit_status::kind::exited;
  } else {
    result.how = exit_status::kind::signaled;
  }
  result.code = info.si_status;
  result.ended = now;
  return result;
}

/// Takes the CPU time of a reaped leader as the command's: user + system
/// time of the leader and of the children it waited for. Not its ru_maxrss:
/// the child starts on this process's memory (posix_spawn and clone3 share
/// it until exec), and exec folds that memory's high-water mark into the
/// child's, so every small command would report this process's size.
void apply_rusage(const struct rusage& used, exit_status& status) {
  auto usec = [](const timeval& tv) {
    return std::chrono::microseconds{tv.tv_sec * 1000000LL + tv.tv_usec};
  };
  status.cpu_time = usec(used.ru_utime) + usec(used.ru_stime);
}

/// Reaps every child in group `pgid` that has ended; returns true when no
/// process of the group remains. Requires the registry mutex.
bool drain_group(pid_t pgid) {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PGID, static_cast<id_t>(pgid), &info, WEXITED | WNOHANG) != 0
        || info.si_pid == 0)
      break;
  }
  // A zombie still counts as a member; so do members that are not our
  // children yet because their parent is still dying.
  // Limitation: a descendant that called setsid (or setpgid) is in another
  // group. Neither the group kill nor this scan sees it, and we never reap
  // it; only a /proc scan of our children or a cgroup would find it.
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

milliseconds until(steady::time_point now, steady::time_point then) {
  if (then <= now)
    return milliseconds{0};
  return std::chrono::ceil<milliseconds>(then - now);
}

} // namespace

std::string describe(const exit_status& status) {
  std::string result;
  if (status.how == exit_status::kind::exited) {
    if (status.code < 0)
      result = "exit status unknown";
    else
      result = "exit code " + std::to_string(status.code);
  } else {
    result = "killed by signal " + std::to_string(status.code);
    if (const char* abbrev = ::sigabbrev_np(status.code))
      result += std::string{" (SIG"} + abbrev + ')';
  }
  if (!status.confirmed)
    result += ", not confirmed";
  return result;
}

/// Returns whether `pid` is a leader whose end the launcher has not observed
/// yet (its zombie carries a status someone waits for). Requires the
/// registry mutex.
bool is_live_leader(pid_t pid) {
  return registry().leaders.count(pid) != 0;
}

class launcher::impl {
public:
  impl(milliseconds bound, const containment_options& opts) : bound_(bound) {
    start_containment(opts);
    // Orphaned grandchildren then come back to us instead of init, so we can
    // reap them; nothing else changes for the host.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    epoll_ = unique_fd{::epoll_create1(EPOLL_CLOEXEC)};
    wake_ = unique_fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    if (epoll_.get() < 0 || wake_.get() < 0)
      throw std::system_error{errno, std::generic_category(),
                              "quiesce::process::launcher"};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
      throw std::system_error{errno, std::generic_category(),
                              "quiesce::process::launcher"};
    reaper_ = std::thread{[this] {
      run();
    }};
  }

  ~impl() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
      stop_deadline_ = steady::now() + bound_;
      // Unobserved leaders are unreaped, so their group ids are still ours.
      for (auto& [id, proc] : children_)
        if (!proc.observed)
          ::kill(-proc.pid, SIGKILL);
      if (tree_)
        kill_cgroup(tree_->dir().c_str());
    }
    wake();
    reaper_.join();
    // In this order: the keeper finds nothing left, then the tree goes.
    keeper_.reset();
    tree_.reset();
  }

  std::string containment() const {
    return containment_;
  }

  bool uses_cgroups() const {
    return tree_ != nullptr;
  }

  const limit_support& limits() const {
    return tree_ ? tree_->limits() : no_tree_limits_;
  }

  size_t leftovers_removed() const {
    return leftovers_;
  }

  std::string cgroup_dir(uint64_t id) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = children_.find(id);
    if (!tree_ || i == children_.end() || i->second.leaf == 0)
      return {};
    return tree_->leaf_dir(i->second.leaf);
  }

  launch_result launch(const launch_spec& spec, exit_callback on_exit);

  bool signal(uint64_t id, int sig) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = children_.find(id);
    if (i == children_.end() || i->second.observed)
      return false;
    // While the end is not observed, the leader is unreaped and holds its
    // group id: the group cannot be a recycled one.
    auto& proc = i->second;
    bool sent = ::kill(-proc.pid, sig) == 0;
    if (::getpgid(proc.pid) != proc.pid)
      sent
          = ::pidfd_send_signal(proc.pidfd.get(), sig, nullptr, 0) == 0 || sent;
    // The stop signal goes to the process group, as without cgroups; a kill
    // reaches the whole cgroup, so processes that left the group die too.
    if (sig == SIGKILL && proc.leaf != 0)
      sent = tree_->kill(proc.leaf) || sent;
    return sent;
  }

  size_t live() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return children_.size();
  }

private:
  /// A launched process not yet reported.
  struct child {
    pid_t pid = 0;
    uint64_t leaf = 0; // the command's cgroup, 0 without
    leaf_bases bases;  // its groups' counters before it started
    unique_fd pidfd;
    exit_callback on_exit;
    bool observed = false;
    exit_status status;
  };

  /// A group whose leader was reaped and which still has members.
  struct draining_group {
    uint64_t id = 0; // 0 once reported
    pid_t pgid = 0;
    uint64_t leaf = 0; // the command's cgroup, 0 without
    steady::time_point deadline;
    steady::time_point next_scan;
    milliseconds delay{0};
  };

  /// An exit callback to call outside the locks.
  struct report {
    exit_callback on_exit;
    exit_status status;
  };

  void wake() {
    uint64_t one = 1;
    // The counter saturating (EAGAIN) still leaves the eventfd readable.
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

  void start_containment(const containment_options& opts);
  bool drained(pid_t pgid, uint64_t leaf);
  void release(uint64_t id, pid_t pgid, uint64_t leaf);
  void run();
  void observe(uint64_t id, std::vector<report>& out);
  void scan(steady::time_point now, std::vector<report>& out);
  bool finish_if_stopping(steady::time_point now, std::vector<report>& out);
  void take_report(uint64_t id, bool confirmed, std::vector<report>& out);
  int next_timeout(steady::time_point now);

  milliseconds bound_;
  unique_fd epoll_;
  unique_fd wake_;
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, child> children_;  // guarded by mtx_
  uint64_t next_id_ = 1;                          // guarded by mtx_
  bool stopping_ = false;                         // guarded by mtx_
  steady::time_point stop_deadline_;              // guarded by mtx_
  std::vector<draining_group> draining_;          // reaper thread only
  std::optional<steady::time_point> sweep_at_;    // reaper thread only
  std::optional<steady::time_point> released_at_; // reaper thread only
  std::vector<uint64_t> free_leaves_;             // guarded by mtx_
  uint64_t next_leaf_ = 1;                        // guarded by mtx_
  std::unique_ptr<cgroup_tree> tree_;             // null: process groups only
  std::unique_ptr<keeper> keeper_;                // null: none
  std::string containment_;
  limit_support no_tree_limits_; // why no limits, without a tree
  bool strict_limits_ = false;
  bool measure_peaks_ = true;
  size_t leftovers_ = 0;
  std::thread reaper_;
};

launch_result launcher::impl::launch(const launch_spec& spec,
                                     exit_callback on_exit) {
  auto fail = [](std::string error) {
    launch_result result;
    result.error = std::move(error);
    return result;
  };
  if (spec.argv.empty() || spec.argv.front().empty())
    return fail("empty command");
  for (const auto& arg : spec.argv)
    if (contains_nul(arg))
      return fail("argument of " + spec.argv.front()
                  + " contains a NUL character");
  const auto& name = spec.argv.front();
  if (strict_limits_)
    if (auto why = unenforced(spec.limits, limits()); !why.empty())
      return fail("cannot start " + name + ": " + why);
  if (auto error = check_workdir(spec.workdir); !error.empty())
    return fail(std::move(error));
  if (auto error = check_environment(spec.env); !error.empty())
    return fail(std::move(error));
  auto exe = resolve(name, spec.workdir, effective_path(spec));
  if (!exe.error.empty())
    return fail(std::move(exe.error));
  // Opening the files here, not in the child, names the failing file; as the
  // user the command runs as, so it names only files that user may write.
  unique_fd out;
  unique_fd err;
  std::string error;
  std::optional<fs_identity> as_user;
  if (spec.run_as) {
    as_user.emplace(*spec.run_as);
    if (!as_user->error().empty())
      return fail("cannot start " + name + " as " + describe(*spec.run_as)
                  + ": " + as_user->error());
  }
  if (!spec.stdout_path.empty()) {
    out = open_output(spec.workdir, spec.stdout_path, "stdout",
                      spec.create_output_dirs, error);
    if (out.get() < 0)
      return fail(std::move(error));
  }
  if (!spec.stderr_path.empty() && spec.stderr_path != spec.stdout_path) {
    err = open_output(spec.workdir, spec.stderr_path, "stderr",
                      spec.create_output_dirs, error);
    if (err.get() < 0)
      return fail(std::move(error));
  }
  as_user.reset();
  int err_fd = spec.stderr_path.empty()               ? -1
               : spec.stderr_path == spec.stdout_path ? out.get()
                                                      : err.get();
  int rc = 0;
  auto args = spec.argv;
  auto arg_ptrs = pointers(args);
  // Without additions the child gets the inherited environment as it is;
  // copying it costs more than the rest of the launch in user space.
  // As another account, it gets that account's HOME, USER, LOGNAME and
  // SHELL, unless the task sets them itself.
  std::vector<std::string> env;
  std::vector<char*> env_ptrs;
  if (spec.run_as) {
    environment extra{login_environment(*spec.run_as)};
    for (const auto& [key, value] : spec.env)
      extra[key] = value;
    env = make_environment(extra);
    env_ptrs = pointers(env);
  } else if (!spec.env.empty()) {
    env = make_environment(spec.env);
    env_ptrs = pointers(env);
  }
  auto& reg = registry();
  std::lock_guard<std::mutex> spawn_guard{reg.mtx};
  uint64_t id = 0;
  uint64_t leaf = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return fail("cannot start " + name + ": the launcher is shutting down");
    id = next_id_++;
    // An emptied cgroup is used again: mkdir and rmdir cost more than the
    // rest of a launch.
    if (tree_ && !free_leaves_.empty()) {
      leaf = free_leaves_.back();
      free_leaves_.pop_back();
    } else if (tree_) {
      leaf = next_leaf_++;
    }
  }
  pid_t pid = 0;
  unique_fd pidfd;
  leaf_bases bases;
  // The request of a child started by clone3 (into a cgroup, or as another
  // user), without the cgroup.
  auto clone_request = [&] {
    cgroup_spawn req;
    req.exe = exe.path.c_str();
    req.argv = arg_ptrs.data();
    req.envp = env_ptrs.empty() ? environ : env_ptrs.data();
    req.out_fd = out.get();
    req.err_fd = err_fd;
    req.workdir = spec.workdir.empty() ? nullptr : spec.workdir.c_str();
    set_ids(req, spec);
    return req;
  };
  if (tree_) {
    // Its descriptors are closed once the child has exec'd.
    leaf_setup setup;
    std::string cg_error;
    if (!tree_->prepare(leaf, spec.limits, measure_peaks_, setup, cg_error)) {
      // Its groups may hold half a setting: never used again.
      tree_->remove(leaf);
      return fail("cannot start " + name + ": " + cg_error);
    }
    auto req = clone_request();
    req.cgroup_fd = setup.dir_fd;
    req.join_fds = setup.join_fds;
    int fd = -1;
    spawn_step failed = spawn_step::other;
    rc = spawn_in_cgroup(req, pid, fd, failed);
    if (rc != 0) {
      // Its child has exited: the groups are empty.
      tree_->settle(leaf, &setup.bases);
      std::lock_guard<std::mutex> guard{mtx_};
      free_leaves_.push_back(leaf);
      return fail(spawn_error(name, rc, failed, spec));
    }
    pidfd = unique_fd{fd};
    bases = setup.bases;
  } else if (spec.run_as) {
    // posix_spawn cannot change the user: the same child as with cgroups,
    // born in our own cgroup.
    auto req = clone_request();
    int fd = -1;
    spawn_step failed = spawn_step::other;
    rc = spawn_in_cgroup(req, pid, fd, failed);
    if (rc != 0)
      return fail(spawn_error(name, rc, failed, spec));
    if (keeper_)
      keeper_->watch_group(pid);
    pidfd = unique_fd{fd};
  } else {
    // Built here only: glibc checks every file action's descriptor against
    // RLIMIT_NOFILE (a prlimit64 call each), which the clone3 paths never use.
    file_actions fa;
    spawn_attributes attr;
    auto step = [&rc](int result) {
      if (rc == 0)
        rc = result;
    };
    // Redirect before opening /dev/null on 0, and change directory last but
    // one: the outputs were opened relative to the workdir already.
    if (out.get() >= 0)
      step(::posix_spawn_file_actions_adddup2(fa.get(), out.get(), 1));
    else
      step(::posix_spawn_file_actions_addopen(fa.get(), 1, "/dev/null",
                                              O_WRONLY, 0));
    if (err_fd >= 0)
      step(::posix_spawn_file_actions_adddup2(fa.get(), err_fd, 2));
    else
      step(::posix_spawn_file_actions_addopen(fa.get(), 2, "/dev/null",
                                              O_WRONLY, 0));
    step(::posix_spawn_file_actions_addopen(fa.get(), 0, "/dev/null", O_RDONLY,
                                            0));
    if (!spec.workdir.empty())
      step(::posix_spawn_file_actions_addchdir_np(fa.get(),
                                                  spec.workdir.c_str()));
    // Descriptors of the host without O_CLOEXEC would leak otherwise.
    step(::posix_spawn_file_actions_addclosefrom_np(fa.get(), 3));
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    step(::posix_spawnattr_setflags(attr.get(), POSIX_SPAWN_SETPGROUP
                                                    | POSIX_SPAWN_SETSIGMASK
                                                    | POSIX_SPAWN_SETSIGDEF));
    step(::posix_spawnattr_setpgroup(attr.get(), 0));
    step(::posix_spawnattr_setsigmask(attr.get(), &empty));
    step(::posix_spawnattr_setsigdefault(attr.get(), &all));
    if (rc != 0)
      return fail("cannot start " + name + ": " + errno_text(rc));
    rc = ::posix_spawn(&pid, exe.path.c_str(), fa.get(), attr.get(),
                       arg_ptrs.data(),
                       env_ptrs.empty() ? environ : env_ptrs.data());
    if (rc != 0)
      return fail(spawn_error(name, rc));
    // At once: the keeper cannot kill a group it has not heard of.
    if (keeper_)
      keeper_->watch_group(pid);
    pidfd = unique_fd{::pidfd_open(pid, 0)};
  }
  if (pidfd.get() < 0) {
    auto code = errno;
    // Without a pidfd we cannot watch it: take it down again at once. The
    // child is ours and unreaped, so the pid is still valid.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
    if (keeper_ && leaf == 0)
      keeper_->forget_group(pid);
    return fail("cannot watch " + name + ": " + errno_text(code));
  }
  std::lock_guard<std::mutex> guard{mtx_};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd.get(), &ev) != 0) {
    auto code = errno;
    ::kill(-pid, SIGKILL);
    if (leaf != 0)
      tree_->kill(leaf);
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(pidfd.get()), &info, WEXITED);
    if (keeper_ && leaf == 0)
      keeper_->forget_group(pid);
    return fail("cannot watch " + name + ": " + errno_text(code));
  }
  reg.leaders.insert(pid);
  auto& proc = children_[id];
  proc.pid = pid;
  proc.leaf = leaf;
  proc.bases = bases;
  proc.pidfd = std::move(pidfd);
  proc.on_exit = std::move(on_exit);
  launch_result result;
  result.id = id;
  result.pid = pid;
  return result;
}

void launcher::impl::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    auto timeout = next_timeout(steady::now());
    auto n = ::epoll_wait(epoll_.get(), events.data(),
                          static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) {
      // Only a bug of ours (bad descriptor) gets here; carrying on would spin.
      std::perror("quiesce::process::launcher: epoll_wait");
      std::abort();
    }
    std::vector<report> reports;
    for (int i = 0; i < n; ++i) {
      auto tag = events[static_cast<size_t>(i)].data.u64;
      if (tag == wake_tag) {
        uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(wake_.get(), &count, sizeof(count));
      } else {
        observe(tag, reports);
      }
    }
    auto now = steady::now();
    scan(now, reports);
    auto done = finish_if_stopping(now, reports);
    for (auto& rep : reports) {
      if (!rep.on_exit)
        continue;
      // A throwing callback must not take the reaper (and every later
      // report) down with it.
      try {
        rep.on_exit(rep.status);
      } catch (...) {
      }
    }
    if (done)
      return;
  }
}

void launcher::impl::observe(uint64_t id, std::vector<report>& out) {
  int fd = -1;
  pid_t pid = 0;
  bool lost = false;
  uint64_t leaf = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = children_.find(id);
    if (i == children_.end() || i->second.observed)
      return;
    auto& proc = i->second;
    fd = proc.pidfd.get();
    pid = proc.pid;
    // The cgroup is ours whatever became of the leader: drained() kills
    // what is left in it (most often nothing: a write saved).
    leaf = proc.leaf;
    siginfo_t info{};
    // WNOWAIT leaves the leader a zombie: its pid, and so the group id, stay
    // reserved while we kill the rest of the group.
    if (::waitid(P_PIDFD, static_cast<id_t>(fd), &info,
                 WEXITED | WNOWAIT | WNOHANG)
        == 0) {
      if (info.si_pid == 0)
        return;
      proc.status = to_status(info, steady::now());
      ::kill(-pid, SIGKILL);
    } else {
      // Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) of the
      // host): the group id may already be recycled, so leave it alone.
      lost = true;
      proc.status.how = exit_status::kind::exited;
      proc.status.code = -1;
      proc.status.confirmed = false;
      proc.status.ended = steady::now();
    }
    proc.observed = true;
  }
  if (!lost) {
    // Reap the leader with its resource usage: the CPU time when no cgroup
    // measures it (release() prefers the cgroup's). Its zombie holds the
    // pid, so wait4 cannot reach another process.
    int ignored = 0;
    struct rusage used {};
    if (::wait4(pid, &ignored, WNOHANG, &used) == pid) {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = children_.find(id); i != children_.end())
        apply_rusage(used, i->second.status);
    }
  }
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    children_[id].pidfd.reset();
  }
  if (lost) {
    // The group id may be recycled, the cgroup is still ours alone.
    if (leaf != 0)
      tree_->kill(leaf);
    std::lock_guard<std::mutex> spawn_guard{registry().mtx};
    registry().leaders.erase(pid);
    take_report(id, false, out);
    return;
  }
  bool done = false;
  {
    std::lock_guard<std::mutex> spawn_guard{registry().mtx};
    registry().leaders.erase(pid);
    done = drained(pid, leaf);
  }
  if (done) {
    release(id, pid, leaf);
    take_report(id, true, out);
    return;
  }
  auto now = steady::now();
  draining_.push_back(
      {id, pid, leaf, now + bound_, now + first_scan_delay, first_scan_delay});
}

bool launcher::impl::drained(pid_t pgid, uint64_t leaf) {
  // A live leader with this pid means the old group emptied and its id was
  // handed out again: scanning it would reap the new leader.
  bool group_done = is_live_leader(pgid) || drain_group(pgid);
  if (leaf == 0)
    return group_done;
  if (tree_->populated(leaf)) {
    // Something forked after the last kill: kill again.
    tree_->kill(leaf);
    return false;
  }
  // Orphans (of a setsid, a double fork) came back to us as zombies.
  reap_orphans(tree_->leaf_path(leaf), is_live_leader);
  return group_done;
}

void launcher::impl::release(uint64_t id, pid_t pgid, uint64_t leaf) {
  if (leaf != 0) {
    std::optional<leaf_bases> bases;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = children_.find(id); id != 0 && i != children_.end())
        bases = i->second.bases;
    }
    // Read outside the lock: launches go on meanwhile.
    if (bases) {
      auto used = tree_->usage(leaf, *bases);
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = children_.find(id); i != children_.end()) {
        // The group counts what the leader's rusage misses: orphans it did
        // not wait for.
        i->second.status.cpu_time = std::chrono::microseconds{used.cpu_usec};
        i->second.status.peak_memory = used.peak_memory;
        i->second.status.oom_kills = used.oom_kills;
      }
    }
    // Empty, its orphans reaped: ready for the next command, unless it was
    // killed (see cgroup_tree::reusable); a group rmdir refuses stays until
    // the tree goes.
    if (tree_->reusable(leaf)) {
      tree_->settle(leaf, bases ? &*bases : nullptr);
      std::lock_guard<std::mutex> guard{mtx_};
      free_leaves_.push_back(leaf);
    } else {
      tree_->remove(leaf);
    }
    // A dying parent hands its zombie children to us only after it left the
    // cgroup: look for such late orphans once more in a moment. A sweep
    // already due stays due (pushing it back on every release would put it
    // off for as long as commands keep ending); scan() plans the next one
    // for what was released since.
    released_at_ = steady::now();
    if (!sweep_at_)
      sweep_at_ = *released_at_ + sweep_delay;
  } else if (keeper_) {
    keeper_->forget_group(pgid);
  }
}

void launcher::impl::start_containment(const containment_options& opts) {
  std::string why_not = "disabled by the launcher's options";
  strict_limits_ = opts.strict_limits;
  measure_peaks_ = opts.measure_peaks;
  if (opts.cgroups) {
    leftovers_ = cgroup_tree::remove_leftovers();
    tree_ = cgroup_tree::create(opts.name, why_not);
  }
  if (tree_) {
    containment_
        = "cgroup v2 at " + tree_->dir()
          + (tree_->has_kill_file() ? ""
                                    : " (no cgroup.kill: killed pid by pid)");
  } else {
    containment_ = "process groups (cgroups unavailable: " + why_not + ")";
    no_tree_limits_ = probe_limits(why_not);
  }
  containment_ += "; " + limits().describe();
  if (opts.keeper)
    keeper_ = std::make_unique<keeper>(tree_ ? tree_->dir() : std::string{},
                                       tree_ ? tree_->v1_trees()
                                             : std::vector<std::string>{});
}

void launcher::impl::scan(steady::time_point now, std::vector<report>& out) {
  auto& reg = registry();
  std::lock_guard<std::mutex> spawn_guard{reg.mtx};
  auto i = draining_.begin();
  while (i != draining_.end()) {
    if (i->next_scan > now) {
      ++i;
      continue;
    }
    if (drained(i->pgid, i->leaf)) {
      release(i->id, i->pgid, i->leaf);
      if (i->id != 0)
        take_report(i->id, true, out);
      i = draining_.erase(i);
      continue;
    }
    if (i->id != 0 && now >= i->deadline) {
      take_report(i->id, false, out);
      i->id = 0;
      i->delay = lingering_scan_delay;
    } else if (i->id != 0) {
      i->delay = std::min(i->delay * 2, max_scan_delay);
    }
    i->next_scan = now + i->delay;
    ++i;
  }
  if (sweep_at_ && now >= *sweep_at_) {
    // Every release is followed by a sweep at least sweep_delay later, and
    // under continuous load one sweep runs every sweep_delay.
    auto swept_at = steady::now();
    reap_orphans(tree_->path(), is_live_leader);
    if (released_at_ && *released_at_ + sweep_delay > swept_at)
      sweep_at_ = *released_at_ + sweep_delay;
    else
      sweep_at_.reset();
  }
}

bool launcher::impl::finish_if_stopping(steady::time_point now,
                                        std::vector<report>& out) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!stopping_)
    return false;
  if (children_.empty() && draining_.empty())
    return true;
  if (now < stop_deadline_)
    return false;
  // The bound is over: report what is left as unconfirmed and give up on it.
  for (auto& [id, proc] : children_) {
    auto status = proc.status;
    if (!proc.observed) {
      status.how = exit_status::kind::signaled;
      status.code = SIGKILL;
      status.ended = now;
      if (proc.pidfd.get() >= 0)
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, proc.pidfd.get(), nullptr);
    }
    status.confirmed = false;
    out.push_back({std::move(proc.on_exit), status});
  }
  children_.clear();
  draining_.clear();
  return true;
}

void launcher::impl::take_report(uint64_t id, bool confirmed,
                                 std::vector<report>& out) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = children_.find(id);
  if (i == children_.end())
    return;
  auto status = i->second.status;
  status.confirmed = status.confirmed && confirmed;
  out.push_back({std::move(i->second.on_exit), status});
  // Erased before the callback runs, so live() is already lower inside it.
  children_.erase(i);
}

int launcher::impl::next_timeout(steady::time_point now) {
  std::optional<steady::time_point> wake_at;
  for (const auto& group : draining_)
    if (!wake_at || group.next_scan < *wake_at)
      wake_at = group.next_scan;
  if (sweep_at_ && (!wake_at || *sweep_at_ < *wake_at))
    wake_at = sweep_at_;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_ && (!wake_at || stop_deadline_ < *wake_at))
      wake_at = stop_deadline_;
  }
  if (!wake_at)
    return -1;
  return static_cast<int>(until(now, *wake_at).count());
}

launcher::launcher(milliseconds bound, containment_options containment)
    : impl_(std::make_unique<impl>(bound, containment)) {}

std::string launcher::containment() const {
  return impl_->containment();
}

bool launcher::uses_cgroups() const {
  return impl_->uses_cgroups();
}

const limit_support& launcher::limits() const {
  return impl_->limits();
}

size_t launcher::leftovers_removed() const {
  return impl_->leftovers_removed();
}

std::string launcher::cgroup_dir(uint64_t id) const {
  return impl_->cgroup_dir(id);
}

launcher::~launcher() = default;

launch_result launcher::launch(const launch_spec& spec, exit_callback on_exit) {
  return impl_->launch(spec, std::move(on_exit));
}

bool launcher::signal(uint64_t id, int sig) {
  return impl_->signal(id, sig);
}

bool launcher::kill(uint64_t id) {
  return impl_->signal(id, SIGKILL);
}

size_t launcher::live() const {
  return impl_->live();
}

} // namespace quiesce::process
