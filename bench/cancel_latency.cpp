// Latency of cancel_task on a queued task, request to reply, through the
// embedding API's synchronous call. The tasks stay queued: the runtime has
// no node. Baseline: a raw CAF request/reply from a fresh scoped actor to a
// trivial actor (what every synchronous call of the runtime pays).
//
//   cancel_latency --size 20000 --policy sharing --json out.json

#include "bench/common.hpp"

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "cancel_task on a queued task, latency");
  if (opts.size == 0)
    opts.size = 20000;
  auto raw = raw_request_latencies(opts, opts.size);
  std::vector<double> lat;
  lat.reserve(opts.size);
  {
    auto ro = runtime_opts(opts, 1);
    ro.local_node = false;
    runtime rt{ro};
    auto added = rt.add_job(one_assessment(opts.size, noop_task()));
    require(added.code == result_code::ok, "add_job");
    require(rt.submit(added.job).code == result_code::ok, "submit");
    for (task_id t = 1; t <= opts.size; ++t) {
      stopwatch sw;
      auto reply = rt.cancel_task(added.job, t, "bench");
      lat.push_back(sw.micros());
      require(reply.code == result_code::ok
                  && reply.status == task_status::cancelled,
              "cancel_task refused");
    }
  }
  auto raw50 = percentile(raw, 50);
  auto raw99 = percentile(raw, 99);
  report rep{"cancel_latency", opts};
  rep.at_most("p50", percentile(lat, 50), "us", raw50,
              "raw CAF request/reply from a scoped actor", -1);
  rep.at_most("p99", percentile(lat, 99), "us", raw99,
              "raw CAF request/reply from a scoped actor", 100);
  return rep.finish();
}
