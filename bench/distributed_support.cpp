#include "bench/distributed.hpp"
#include "runtime/remote.hpp"

#include <csignal>
#include <spawn.h>
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

runtime_options head_opts(const options& opts) {
  auto out = runtime_opts(opts, 1);
  out.network = true;
  out.dev_mode = true; // loopback without TLS
  out.local_node = false;
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
