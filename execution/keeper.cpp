#include "execution/keeper.hpp"

#include "execution/cgroup.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace quiesce::process {

namespace {

/// Most process groups a keeper tracks (a node's slots are at most 65536).
constexpr size_t max_groups = 65536;

/// The keeper's life, in the forked child. It runs in a copy of a threaded
/// process, so it makes system calls only and allocates nothing: `groups`
/// was sized before the fork.
[[noreturn]] void keep(int sock, const char* cgroup_dir,
                       const std::vector<std::string>& v1_dirs,
                       std::vector<pid_t>& groups) {
  // Its own session: neither the terminal's signals nor a kill of the
  // launcher's process group reach it.
  ::setsid();
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN,
                  SIGTTOU, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &ignore, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Hold nothing of the launcher's process open (its sockets, the pipes of
  // whoever reads its output), only our end of the socket.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd)
    if (null >= 0 && null != fd)
      ::dup2(null, fd);
  if (sock != 3) {
    ::dup2(sock, 3);
    sock = 3;
  }
  ::close_range(4, ~0U, 0);
  size_t count = 0;
  for (;;) {
    int value = 0;
    auto n = ::read(sock, &value, sizeof(value));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != static_cast<ssize_t>(sizeof(value)))
      break;
    if (value > 0 && count < groups.size()) {
      groups[count++] = value;
    } else if (value < 0) {
      for (size_t i = 0; i < count; ++i)
        if (groups[i] == -value) {
          groups[i] = groups[--count];
          break;
        }
    }
  }
  // The launcher's process is gone (or closed the socket): kill everything.
  if (cgroup_dir[0] != '\0')
    kill_cgroup(cgroup_dir);
  for (size_t i = 0; i < count; ++i)
    ::kill(-groups[i], SIGKILL);
  if (cgroup_dir[0] != '\0')
    remove_cgroup_tree(cgroup_dir);
  for (const auto& dir : v1_dirs)
    remove_cgroup_tree(dir.c_str());
  ::_exit(0);
}

} // namespace

keeper::keeper(const std::string& cgroup_dir,
               const std::vector<std::string>& v1_dirs) {
  int socks[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) != 0)
    return;
  std::vector<pid_t> groups(max_groups);
  const auto& dir = cgroup_dir;
  auto pid = ::fork();
  if (pid == 0) {
    ::close(socks[0]);
    keep(socks[1], dir.c_str(), v1_dirs, groups);
  }
  ::close(socks[1]);
  if (pid < 0) {
    ::close(socks[0]);
    return;
  }
  pid_ = pid;
  pipe_ = socks[0];
}

keeper::~keeper() {
  if (pipe_ >= 0)
    ::close(pipe_);
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void keeper::watch_group(pid_t pgid) {
  send(pgid);
}

void keeper::forget_group(pid_t pgid) {
  send(-pgid);
}

void keeper::send(int value) const {
  if (pipe_ < 0)
    return;
  // Never blocks and never raises SIGPIPE: a stopped or dead keeper must not
  // stall the launcher.
  [[maybe_unused]] auto n
      = ::send(pipe_, &value, sizeof(value), MSG_NOSIGNAL | MSG_DONTWAIT);
}

} // namespace quiesce::process
