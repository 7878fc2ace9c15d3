#include "runtime/runtime.hpp"

#include "actors/interfaces.hpp"
#include "actors/journal.hpp"
#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "config/job_file.hpp"
#include "config/size.hpp"
#include "execution/launcher.hpp"
#include "execution/work_registry.hpp"
#include "runtime/gate.hpp"
#include "runtime/options.hpp"
#include "runtime/peer_auth.hpp"
#include "runtime/system_config.hpp"
#include "runtime/tls.hpp"
#include "runtime/transport.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <stdexcept>
#include <thread>
#include <typeinfo>

namespace quiesce {

// A full batch of starts or ends, as estimated, with room for what the
// estimate leaves out, fits the smallest message a head accepts.
static_assert(2 * max_batch_bytes <= config::min_message_bound,
              "a full batch must fit the smallest max_message_size");

namespace {

/// Returns whether `sys` knows every message type of Quiesce, checked on
/// the first and the last type of the block.
bool has_quiesce_types(caf::actor_system& sys) {
  return sys.types().make_value(typeid(job_spec)) != nullptr
         && sys.types().make_value(typeid(attempt_timer)) != nullptr;
}

/// Returns a transport over an actor system of its own, configured from `o`.
std::shared_ptr<detail::transport> owned_transport(const runtime_options& o) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  configure(*cfg, o.threads, o.scheduler);
  if (o.network) {
    configure_network(*cfg, o.heartbeat_interval, o.connection_timeout);
    if (auto err = configure_tls(*cfg, o); !err.empty())
      throw std::invalid_argument("quiesce: " + err);
  }
  return std::make_shared<detail::transport>(std::move(cfg), false);
}

/// Returns a transport over the host's system, after checking it.
std::shared_ptr<detail::transport> attached_transport(caf::actor_system& sys) {
  if (!has_quiesce_types(sys))
    throw std::invalid_argument(
        "quiesce: the actor system lacks Quiesce's message types; call "
        "quiesce::add_message_types(cfg) before creating the system");
  return std::make_shared<detail::transport>(sys, false);
}

/// Returns `opts` with what the host's configuration decided.
runtime_options attached_options(caf::actor_system& sys, runtime_options opts) {
  opts = resolve(std::move(opts));
  opts.threads
      = static_cast<uint32_t>(caf::get_or(sys.config(), "scheduler.max-threads",
                                          static_cast<size_t>(opts.threads)));
  opts.network = sys.has_middleman();
  return opts;
}

} // namespace

/// The local wiring: the supervisor, the local node and its executors.
struct runtime::impl {
  impl(runtime_options options, detail::transport& transport)
      : opts(std::move(options)), tr(transport),
        registry(std::make_shared<work_registry>()),
        launcher(std::make_shared<process::launcher>(
            opts.kill_bound,
            process::containment_options{opts.node_name, true, true,
                                         opts.strict_limits})) {
    // nop
  }

  /// Spawns the supervisor and the local node and registers the node.
  void start();

  /// Stops everything (bounded); idempotent.
  void shutdown();

  runtime_options opts;
  detail::transport& tr;
  std::shared_ptr<work_registry> registry;
  std::shared_ptr<process::launcher> launcher;
  std::shared_ptr<supervisor_observer> observer;
  authenticator_actor authenticator;
  supervisor_actor supervisor;
  node_actor local_node;
  std::mutex shutdown_mtx;
  bool stopped = false;
};

void runtime::impl::start() {
  try {
    auto sup_opts = supervisor_options_from(opts);
    sup_opts.observer = observer;
    if (tr.sys.has_middleman()) {
      // With TLS, peers prove their certificates against the CA; a host
      // that attached its own system without TLS gets development mode.
      authenticator = spawn_authenticator(
          tr.sys, tr.sys.has_openssl_manager() ? tr.sys.config().openssl_cafile
                                               : std::string{});
      detail::actor_tracker::watch(tr.actors, authenticator);
      sup_opts.authenticator = authenticator;
    }
    if (!opts.state_dir.empty())
      sup_opts.log = std::make_shared<journal>(opts.state_dir);
    supervisor = spawn_supervisor(tr.sys, std::move(sup_opts));
    detail::actor_tracker::watch(tr.actors, supervisor);
    tr.start(supervisor);
    if (opts.local_node) {
      auto node_opts = node_options_from(opts);
      auto incarnation = node_opts.incarnation;
      auto owners = owner_policy_of(node_opts);
      local_node = spawn_node(tr.sys, std::move(node_opts), registry, launcher);
      detail::actor_tracker::watch(tr.actors, local_node);
      auto reply
          = tr.call<node_list>(quiesce::node_hello{protocol_version,
                                                   opts.node_name,
                                                   opts.slots,
                                                   opts.labels,
                                                   local_node,
                                                   {},
                                                   incarnation,
                                                   std::move(owners),
                                                   opts.slots * opts.pipeline},
                               opts.request_timeout);
      if (reply.code != result_code::ok)
        throw std::runtime_error("quiesce: the local node was refused: "
                                 + reply.detail);
    }
  } catch (...) {
    // Without this, an owned system's destructor would wait forever for the
    // actors spawned so far.
    shutdown();
    throw;
  }
}

void runtime::impl::shutdown() {
  std::lock_guard<std::mutex> guard{shutdown_mtx};
  if (stopped)
    return;
  stopped = true;
  // An asynchronous call made before shutdown() sends its request from a
  // helper actor that may not have run yet (seen under ASan and load: the
  // request reached a supervisor already gone). Once every such request is
  // in the supervisor's mailbox, it is served before anything sent below.
  tr.actors->wait_requests_sent(std::chrono::seconds{2});
  // Stop running work first, so no task is left without a final status.
  auto jobs = tr.call<job_list>(quiesce::list_jobs{}, opts.request_timeout);
  for (auto& j : jobs.jobs)
    if (!is_terminal(j.status))
      tr.call<op_reply>(quiesce::terminate_job{j.id, "shutdown"},
                        opts.terminate_bound + opts.request_timeout);
  // Let the last events reach the sink before it goes.
  tr.call<job_list>(
      quiesce::list_jobs{true, job_status::not_submitted, false, 0, invalid_id},
      opts.request_timeout);
  // Every job is terminal now, so pending waits have their replies on the
  // way; the transport lets its helpers deliver them before it stops them.
  tr.drop_supervisor();
  if (supervisor)
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  if (local_node)
    caf::anon_send_exit(local_node, caf::exit_reason::user_shutdown);
  if (authenticator)
    caf::anon_send_exit(authenticator, caf::exit_reason::user_shutdown);
  close_gate(tr.sys);
  authenticator = nullptr;
  supervisor = nullptr;
  local_node = nullptr;
  // With an owned system, the children (jobs, tasks) follow their parents.
  tr.close();
}

// -- runtime ------------------------------------------------------------------

runtime::runtime(runtime_options opts)
    : runtime(resolve(opts), owned_transport(resolve(opts)), nullptr) {
  // nop
}

runtime::runtime(caf::actor_system& sys, runtime_options opts)
    : runtime(attached_options(sys, std::move(opts)), attached_transport(sys),
              nullptr) {
  // nop
}

runtime::runtime(runtime_options opts,
                 std::shared_ptr<supervisor_observer> observer)
    : runtime(resolve(opts), owned_transport(resolve(opts)),
              std::move(observer)) {
  // nop
}

runtime::runtime(runtime_options resolved,
                 std::shared_ptr<detail::transport> tr,
                 std::shared_ptr<supervisor_observer> observer)
    : client(tr, "api", resolved.request_timeout, resolved.terminate_bound),
      impl_(std::make_unique<impl>(std::move(resolved), *tr)) {
  impl_->observer = std::move(observer);
  impl_->start();
}

runtime::~runtime() {
  impl_->shutdown();
}

const runtime_options& runtime::options() const noexcept {
  return impl_->opts;
}

std::string runtime::containment() const {
  return impl_->opts.local_node ? impl_->launcher->containment()
                                : std::string{"no local node"};
}

bool runtime::register_work(std::string name, work_function fn,
                            work_mode mode) {
  return impl_->registry->add(std::move(name), std::move(fn), mode);
}

add_jobs_reply runtime::load_jobs(const std::string& path) {
  auto loaded = config::load_job_file(path);
  if (!loaded.ok()) {
    add_jobs_reply out;
    out.code = result_code::invalid_argument;
    out.detail = config::to_string(loaded.errors.front());
    out.errors = std::move(loaded.errors);
    return out;
  }
  return add_jobs(std::move(loaded.file.jobs));
}

void runtime::shutdown() {
  impl_->shutdown();
}

void runtime::close() {
  impl_->shutdown();
}

uint16_t runtime::publish(const std::string& host, uint16_t port,
                          std::string& error) {
  auto& sys = impl_->tr.sys;
  if (!sys.has_middleman()) {
    error = "the runtime was started without the network layer";
    return 0;
  }
  auto sup = impl_->tr.current_supervisor();
  if (!sup) {
    error = "the runtime is shut down";
    return 0;
  }
  // Without TLS, only this machine's connections can be told apart by user
  // (docs/security.md): the head listens on loopback only.
  auto with_tls = sys.has_openssl_manager();
  if (!with_tls && !is_loopback(host)) {
    error = "cannot listen on " + host + ":" + std::to_string(port)
            + ": without TLS a head listens only on a loopback address "
              "(127.0.0.1, ::1, localhost); configure TLS (--tls-ca, "
              "--tls-cert, --tls-key) to listen elsewhere, see "
              "docs/security.md";
    return 0;
  }
  if (!with_tls && !impl_->opts.dev_mode) {
    error = "cannot listen on " + host + ":" + std::to_string(port)
            + ": without TLS a head listens only in the development mode, "
              "where only its own user may act: pass --dev (dev_mode = true, "
              "QUIESCE_DEV_MODE=1), or configure TLS (--tls-ca, --tls-cert, "
              "--tls-key), see docs/security.md";
    return 0;
  }
  // A certificate that cannot serve TLS would start a head that every
  // node and client refuses in the handshake, saying nothing here.
  if (with_tls) {
    const auto& cert = impl_->opts.tls_cert.empty()
                           ? sys.config().openssl_certificate
                           : impl_->opts.tls_cert;
    auto err = cert.empty() ? std::string{} : tls::check_serving(cert);
    if (!err.empty()) {
      error = "cannot listen on " + host + ":" + std::to_string(port) + ": "
              + err;
      return 0;
    }
  }
  // Through the gate (runtime/gate.hpp): connection caps, a handshake
  // deadline and bounded messages. With TLS, every connection proves a
  // certificate of the CA before CAF reads a byte of BASP.
  const auto& o = impl_->opts;
  // A bound below the smallest a file accepts would close the connection
  // of a node over one full batch of ends (max_batch_bytes).
  if (!config::is_message_bound(o.max_message_size)) {
    error = "cannot listen on " + host + ":" + std::to_string(port)
            + ": max_message_size is " + std::to_string(o.max_message_size)
            + " bytes; expected "
            + config::format_size(config::min_message_bound) + " to "
            + config::format_size(config::max_message_bound);
    return 0;
  }
  gate_limits limits{o.max_connections, o.max_connections_per_address,
                     o.handshake_timeout, o.max_message_size};
  std::string why;
  auto actual = gated_publish(sys, caf::actor_cast<caf::strong_actor_ptr>(sup),
                              sys.message_types<supervisor_actor>(), host, port,
                              limits, why);
  if (actual == 0) {
    error = "cannot listen" + std::string{with_tls ? " with TLS" : ""} + " on "
            + host + ":" + std::to_string(port) + ": " + why;
    return 0;
  }
  return actual;
}

} // namespace quiesce
