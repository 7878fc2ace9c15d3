// A worker node for the distributed benchmarks: joins the head at
// 127.0.0.1:PORT with a no-op work function and serves until SIGTERM.
//
//   bench_node --port 7700 --name n1 --slots 4 --threads 2 --pipeline 1

#include "bench/common.hpp"
#include "runtime/remote.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

using namespace quiesce;

namespace {

std::atomic<bool> stop_flag{false};

extern "C" void on_signal(int) {
  stop_flag = true;
}

} // namespace

int main(int argc, char** argv) {
  worker_options opts;
  opts.node_name = "node";
  opts.slots = 2;
  opts.threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    std::string val = argv[i + 1];
    if (arg == "--port")
      opts.head = "127.0.0.1:" + val;
    else if (arg == "--name")
      opts.node_name = val;
    else if (arg == "--slots")
      opts.slots = static_cast<uint32_t>(std::stoul(val));
    else if (arg == "--threads")
      opts.threads = static_cast<uint32_t>(std::stoul(val));
    else if (arg == "--pipeline")
      opts.pipeline = static_cast<uint32_t>(std::stoul(val));
    else if (arg == "--run-dir")
      opts.run_dir = val;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  worker w{opts};
  w.register_work(bench::noop, bench::noop_work(), work_mode::non_blocking);
  w.serve(stop_flag, [](const std::string& line) {
    std::fprintf(stderr, "bench_node: %s\n", line.c_str());
  });
  return 0;
}
