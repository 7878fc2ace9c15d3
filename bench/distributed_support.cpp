#include "bench/distributed.hpp"
#include "runtime/remote.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace quiesce::bench {

node_processes::node_processes(const std::string& dir, uint16_t port,
                               uint32_t count, uint32_t slots, uint32_t threads,
                               uint32_t pipeline) {
  auto prog = dir + "/bench_node";
  auto run_dir = "/tmp/quiesce-bench-" + std::to_string(getpid()) + "/nodes";
  for (uint32_t i = 0; i < count; ++i) {
    std::vector<std::string> args{prog,
                                  "--port",
                                  std::to_string(port),
                                  "--name",
                                  "n" + std::to_string(i + 1),
                                  "--slots",
                                  std::to_string(slots),
                                  "--threads",
                                  std::to_string(threads),
                                  "--run-dir",
                                  run_dir,
                                  "--pipeline",
                                  std::to_string(pipeline)};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    require(
        posix_spawn(&pid, prog.c_str(), nullptr, nullptr, argv.data(), environ)
            == 0,
        "cannot start " + prog);
    pids_.push_back(pid);
  }
}

node_processes::~node_processes() {
  for (auto pid : pids_)
    kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  for (auto pid : pids_) {
    for (;;) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) != 0)
        break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
}

double node_processes::cpu_seconds() const {
  static const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double out = 0;
  for (auto pid : pids_) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string line;
    require(static_cast<bool>(std::getline(in, line)),
            "cannot read /proc/" + std::to_string(pid) + "/stat");
    // Fields after the command's closing parenthesis (which may hold
    // spaces): state is field 3, utime 14, stime 15.
    std::istringstream rest{line.substr(line.rfind(')') + 2)};
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14)
        utime = std::stod(field);
      if (i == 15)
        stime = std::stod(field);
    }
    out += (utime + stime) / ticks;
  }
  return out;
}

uint64_t node_processes::switches() const {
  uint64_t out = 0;
  for (auto pid : pids_)
    out += context_switches(pid);
  return out;
}

uint64_t context_switches(pid_t pid) {
  namespace fs = std::filesystem;
  auto dir = fs::path{"/proc"}
             / (pid == 0 ? std::string{"self"} : std::to_string(pid)) / "task";
  uint64_t out = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    // A thread may end while it is read: it then counts no more.
    std::ifstream in{entry.path() / "status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0
          || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
        out += std::stoull(line.substr(line.find(':') + 1));
  }
  require(!ec, "cannot list " + dir.string() + ": " + ec.message());
  return out;
}

runtime_options head_opts(const options& opts) {
  auto out = runtime_opts(opts, 1);
  out.network = true;
  out.dev_mode = true; // loopback without TLS
  out.local_node = false;
  // The runtime's default for a head (default_threads) unless given.
  if (!opts.threads_given)
    out.threads = 0;
  out.node_name = "head";
  return out;
}

uint16_t publish(runtime& rt) {
  std::string error;
  auto port = rt.publish("127.0.0.1", 0, error);
  require(port != 0, "publish: " + error);
  return port;
}

void await_nodes(runtime& rt, size_t count) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  for (;;) {
    auto nodes = rt.nodes();
    size_t ready = 0;
    for (auto& n : nodes.nodes)
      ready += n.status == node_status::ready ? 1 : 0;
    if (ready >= count)
      return;
    require(std::chrono::steady_clock::now() < deadline,
            "the nodes did not join");
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

} // namespace quiesce::bench
