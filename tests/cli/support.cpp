#include "support.hpp"

#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace quiesce::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

scratch_dir::scratch_dir() {
  char tmpl[] = "/tmp/quiesce-cli-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string scratch_dir::path(const std::string& name) const {
  return name.empty() ? dir_ : dir_ + "/" + name;
}

std::string scratch_dir::write(const std::string& name,
                               const std::string& text) const {
  auto p = path(name);
  std::ofstream out{p, std::ios::binary};
  out << text;
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

child::child(const scratch_dir& dir, const std::vector<std::string>& args,
             const std::string& terminal, const std::vector<std::string>& env)
    : dir_(dir) {
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry{*e};
    auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : env)
      replaced = replaced || x.substr(0, x.find('=')) == name;
    if (!replaced)
      env_s.push_back(entry);
  }
  for (const auto& x : env)
    if (x.find('=') != std::string::npos)
      env_s.push_back(x);
  std::vector<char*> envp;
  for (auto& e : env_s)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  static int counter = 0;
  auto n = std::to_string(++counter);
  out_ = dir.path("quiesce-" + n + ".out");
  err_ = dir.path("quiesce-" + n + ".err");
  std::vector<std::string> argv_s{quiesce_binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (terminal.empty()) {
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  } else {
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, terminal.c_str(),
                                     O_RDWR | O_NOCTTY, 0);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  }
  posix_spawn_file_actions_addchdir_np(&fa, dir.path().c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  auto rc = ::posix_spawn(&pid_, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw std::runtime_error("cannot start " + quiesce_binary);
}

child::~child() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string child::output() const {
  return read_file(out_);
}

std::string child::errors() const {
  return read_file(err_);
}

void child::signal(int sig) const {
  ::kill(pid_, sig);
}

bool child::running() const {
  if (reaped_)
    return false;
  siginfo_t info{};
  auto rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info,
                     WEXITED | WNOHANG | WNOWAIT);
  return rc == 0 && info.si_pid == 0;
}

exit_info child::wait(std::chrono::milliseconds bound) {
  exit_info out;
  auto deadline = std::chrono::steady_clock::now() + bound;
  int status = 0;
  for (;;) {
    auto rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_)
      break;
    if (std::chrono::steady_clock::now() >= deadline) {
      out.timed_out = true;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  reaped_ = true;
  if (WIFEXITED(status))
    out.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    out.signal = WTERMSIG(status);
  out.out = read_file(out_);
  out.err = read_file(err_);
  return out;
}

exit_info run_quiesce(const scratch_dir& dir,
                      const std::vector<std::string>& args,
                      std::chrono::milliseconds bound) {
  child c{dir, args};
  return c.wait(bound);
}

exit_info run_quiesce_on_pty(const scratch_dir& dir,
                             const std::vector<std::string>& args,
                             std::chrono::milliseconds bound, int columns,
                             int rows, const std::string& term) {
  auto master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
    throw std::runtime_error("cannot open a pseudo terminal");
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(columns);
  ws.ws_row = static_cast<unsigned short>(rows);
  ::ioctl(master, TIOCSWINSZ, &ws);
  std::string slave = ::ptsname(master);
  // Keep a slave open until the child has its own, so reads do not end early.
  auto keep = ::open(slave.c_str(), O_RDWR | O_NOCTTY);
  std::string drawn;
  exit_info out;
  {
    child c{dir, args, slave, {term.empty() ? "TERM" : "TERM=" + term}};
    ::close(keep);
    std::thread reader{[&] {
      char buf[4096];
      for (;;) {
        auto n = ::read(master, buf, sizeof(buf));
        if (n <= 0)
          break;
        drawn.append(buf, static_cast<size_t>(n));
      }
    }};
    out = c.wait(bound);
    // The child is gone; its side of the terminal is closed, so the reader
    // sees EIO once it has drained what is left.
    reader.join();
  }
  ::close(master);
  out.out = std::move(drawn);
  return out;
}

bool wait_for_file(const std::string& path, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::vector<pid_t> processes_with(const std::string& marker) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{"/proc", ec}) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    auto cmdline = read_file(entry.path().string() + "/cmdline");
    if (cmdline.find(marker) != std::string::npos)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

dev_head::dev_head(const scratch_dir& dir,
                   const std::vector<std::string>& extra) {
  std::vector<std::string> args{"head", "--dev", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  proc = std::make_unique<child>(dir, args);
  const std::string prefix = "listening on 127.0.0.1:";
  if (!eventually(
          [&] { return proc->output().find(prefix) != std::string::npos; },
          std::chrono::seconds{15}))
    throw std::runtime_error("the head did not listen within 15 s: "
                             + proc->output() + proc->errors());
  auto out = proc->output();
  port = static_cast<uint16_t>(
      std::stoul(out.substr(out.find(prefix) + prefix.size())));
  address = "127.0.0.1:" + std::to_string(port);
}

} // namespace quiesce::test
