// Latency of cancel_task on a queued task from a remote client (its own
// actor system, connected over 127.0.0.1 by the middleman). Baseline: a
// plain middleman request/reply to a trivial typed actor published by the
// head's actor system the same way.
//
//   remote_cancel --size 5000 --policy sharing --json out.json

#include "bench/distributed.hpp"
#include "messages/type_ids.hpp"
#include "runtime/options.hpp"
#include "runtime/remote.hpp"
#include "runtime/runtime.hpp"
#include "runtime/system_config.hpp"

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iostream>

using namespace quiesce;
using namespace quiesce::bench;

namespace {

using echo_actor
    = caf::typed_actor<caf::replies_to<cancel_task>::with<task_op_reply>>;

echo_actor::behavior_type echo_impl() {
  return {
      [](const cancel_task&) -> task_op_reply { return {}; },
  };
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv, "cancel_task from a remote client, latency");
  if (opts.size == 0)
    opts.size = 5000;
  std::vector<double> raw;
  std::vector<double> lat;
  raw.reserve(opts.size);
  lat.reserve(opts.size);
  // The head runs in the benchmark's own actor system (a runtime attached to
  // a host system), so the echo actor of the baseline shares it.
  auto ho = head_opts(opts);
  caf::actor_system_config cfg;
  // The threads a head's own system would get (resolve).
  configure(cfg, resolve(ho).threads, ho.scheduler);
  configure_network(cfg, ho.heartbeat_interval, ho.connection_timeout);
  caf::actor_system sys{cfg};
  {
    runtime rt{sys, ho};
    auto port = publish(rt);
    auto echo = sys.spawn(echo_impl);
    auto echo_port = sys.middleman().publish(echo, 0, "127.0.0.1", true);
    require(static_cast<bool>(echo_port), "cannot publish the echo actor");
    auto added = rt.add_job(one_assessment(opts.size, noop_task()));
    require(added.code == result_code::ok, "add_job");
    require(rt.submit(added.job).code == result_code::ok, "submit");
    {
      // The baseline's client: an actor system of its own, like the
      // Quiesce client's.
      caf::actor_system_config ccfg;
      configure(ccfg, 2);
      configure_network(ccfg, ho.heartbeat_interval, ho.connection_timeout);
      caf::actor_system csys{ccfg};
      auto remote_echo
          = csys.middleman().remote_actor<echo_actor>("127.0.0.1", *echo_port);
      require(static_cast<bool>(remote_echo), "cannot reach the echo actor");
      for (uint64_t i = 0; i < opts.size; ++i) {
        stopwatch sw;
        caf::scoped_actor self{csys};
        self->request(*remote_echo, std::chrono::seconds{10}, cancel_task{})
            .receive([](task_op_reply&) {},
                     [](caf::error&) { require(false, "echo failed"); });
        raw.push_back(sw.micros());
      }
      *remote_echo = nullptr;
    }
    {
      settings copts;
      copts.head = "127.0.0.1:" + std::to_string(port);
      copts.request_timeout = std::chrono::seconds{10};
      auto connected = connect(copts, "client");
      require(connected.client != nullptr, "connect: " + connected.error);
      auto& client = *connected.client;
      for (task_id t = 1; t <= opts.size; ++t) {
        stopwatch sw;
        auto reply = client.cancel_task(added.job, t, "bench");
        lat.push_back(sw.micros());
        require(reply.code == result_code::ok, "cancel_task: " + reply.detail);
      }
    }
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  }
  auto raw50 = percentile(raw, 50);
  auto raw99 = percentile(raw, 99);
  report rep{"remote_cancel", opts};
  rep.at_most("p50", percentile(lat, 50), "us", raw50,
              "raw middleman request/reply to a trivial typed actor", -1);
  rep.at_most("p99", percentile(lat, 99), "us", raw99,
              "raw middleman request/reply to a trivial typed actor", 1000);
  return rep.finish();
}
