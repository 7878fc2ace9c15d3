// The invariant test over the wire: a head published on 127.0.0.1 (no node
// of its own) and two worker nodes joined to it over loopback TCP, each in
// an actor system of its own, so that every start and end crosses CAF's
// middleman in batches through the nodes' ports (docs/distributed.md,
// "Batches"). Random cancels, terminates and requeues race the work; then
// every job and task must be in exactly one terminal status and the event
// stream, replayed, must end where the books are.

#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"
#include "support.hpp"
#include "support/invariants.hpp"
#include "support/work.hpp"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

/// A worker node serving on a thread of its own until destroyed.
struct serving_worker {
  test::temp_dir dir;
  std::atomic<bool> stop{false};
  std::unique_ptr<worker> node;
  std::thread thread;

  serving_worker(const std::string& head, const std::string& name,
                 work_mode mode) {
    worker_options opts;
    opts.head = head;
    opts.node_name = name;
    opts.slots = 2;
    opts.threads = 2;
    opts.run_dir = dir.path();
    node = std::make_unique<worker>(opts);
    node->register_work("nap", test::nap, mode);
    thread = std::thread{[this] {
      node->serve(stop, [](const auto&) {});
    }};
  }

  ~serving_worker() {
    stop = true;
    thread.join();
  }

  serving_worker(const serving_worker&) = delete;
  serving_worker& operator=(const serving_worker&) = delete;
};

} // namespace

TEST_CASE("over the wire, a head keeps every task in exactly one terminal "
          "status under random cancels, terminates and requeues",
          "[reliability][network][invariants]") {
  runtime_options opts;
  opts.threads = 2;
  opts.network = true;
  opts.local_node = false;
  opts.dev_mode = true; // loopback without TLS
  opts.request_timeout = 20s;
  opts.terminate_bound = 5s;
  test::random_run run;
  std::set<std::string> ran_on;
  {
    runtime rt{opts};
    std::string error;
    auto port = rt.publish("127.0.0.1", 0, error);
    INFO(error);
    REQUIRE(port != 0);
    auto head = "127.0.0.1:" + std::to_string(port);
    {
      // One node runs the work on its slot threads, the other inline
      // (non-blocking): their ends come back in batches either way.
      serving_worker w1{head, "w1", work_mode::blocking};
      serving_worker w2{head, "w2", work_mode::non_blocking};
      REQUIRE(test::wait_until(
          [&] {
            size_t ready = 0;
            for (const auto& n : rt.nodes().nodes)
              ready += n.status == node_status::ready ? 1 : 0;
            return ready == 2;
          },
          30s));
      run.listen(rt);
      run.run(rt, 20261204, 40, 300, "nap", 60s);
      for (const auto& [job, tasks] : run.final_tasks)
        for (const auto& t : tasks)
          if (!t.node.empty())
            ran_on.insert(t.node);
    }
    rt.shutdown();
  }
  CHECK(run.accepted >= 30);
  // Both nodes ran work: both ports carried it.
  CHECK(ran_on == std::set<std::string>{"w1", "w2"});
  run.check();
}
