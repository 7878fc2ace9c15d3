// Real-scheduler test of the runtime's invariants under random requests: many
// jobs of several assessments, cancels, terminates and requeues at random
// moments (fixed seed), then every task must be in exactly one terminal
// status and the event stream, replayed, must end where the books are.

#include "runtime/runtime.hpp"
#include "support/invariants.hpp"
#include "support/work.hpp"

#include <catch2/catch.hpp>

using namespace quiesce;
using namespace std::chrono_literals;

TEST_CASE("runtime keeps every task in exactly one terminal status under "
          "random cancels, terminates and requeues",
          "[runtime][invariants]") {
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 3;
  opts.request_timeout = 20s;
  opts.terminate_bound = 5s;
  test::random_run run;
  {
    runtime rt{opts};
    rt.register_work("nap", test::nap);
    run.listen(rt);
    run.run(rt, 20261123, 40, 300, "nap", 30s);
    // Shutdown delivers every event still on its way before it returns.
    rt.shutdown();
  }
  // The scenario is only worth something if requests really raced work.
  CHECK(run.accepted >= 30);
  run.check();
}
