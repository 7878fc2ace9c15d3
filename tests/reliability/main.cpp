// The runner of quiesce_reliability_tests: Catch2's session, plus two helper
// modes the node-fault tests start as separate processes (the test binary
// re-executes itself, so no other program is needed):
//
//   quiesce_reliability_tests --worker HOST:PORT NAME SLOTS
//       a worker node joined to the head at HOST:PORT, serving until
//       SIGTERM; prints "joined" once registered.
//   quiesce_reliability_tests --client HOST:PORT JOB
//       a client that connects, prints "connected" and waits for JOB to end
//       (a request left in flight when the test kills it).

#define CATCH_CONFIG_RUNNER
#include "runtime/client.hpp"
#include "runtime/remote.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_term(int) {
  stop_requested = true;
}

// Blocks until asked to stop, as a long task would.
quiesce::work_result block(const quiesce::work_context& ctx) {
  if (ctx.wait_for_stop(std::chrono::minutes{5}))
    return quiesce::work_result::stopped();
  return quiesce::work_result::success();
}

int run_worker(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: --worker HOST:PORT NAME SLOTS\n";
    return 2;
  }
  quiesce::worker_options opts;
  opts.head = argv[2];
  opts.node_name = argv[3];
  opts.slots = static_cast<uint32_t>(std::stoul(argv[4]));
  opts.threads = 2;
  opts.heartbeat_interval = std::chrono::milliseconds{200};
  opts.connection_timeout = std::chrono::milliseconds{1000};
  opts.reconnect_delay = std::chrono::milliseconds{200};
  opts.run_dir = "/tmp/quiesce-rel-worker-" + opts.node_name;
  std::signal(SIGTERM, on_term);
  std::signal(SIGINT, on_term);
  quiesce::worker w{opts};
  w.register_work("block", block);
  w.serve(stop_requested,
          [](const std::string& line) { std::cout << line << std::endl; });
  return 0;
}

int run_client(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: --client HOST:PORT JOB\n";
    return 2;
  }
  quiesce::settings opts;
  opts.head = argv[2];
  auto connected = quiesce::connect(opts);
  if (!connected.client) {
    std::cerr << connected.error << '\n';
    return connected.code == quiesce::result_code::invalid_argument ? 2 : 1;
  }
  std::cout << "connected" << std::endl;
  auto reply
      = connected.client->wait(std::stoull(argv[3]), std::chrono::minutes{5});
  std::cout << quiesce::to_name(reply.code) << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--worker") == 0)
    return run_worker(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "--client") == 0)
    return run_client(argc, argv);
  return Catch::Session().run(argc, argv);
}
