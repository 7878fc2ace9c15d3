#include "runtime/remote.hpp"

#include "actors/node.hpp"
#include "config/duration.hpp"
#include "execution/launcher.hpp"
#include "execution/work_registry.hpp"
#include "runtime/client.hpp"
#include "runtime/connect.hpp"
#include "runtime/options.hpp"
#include "runtime/peer_auth.hpp"
#include "runtime/system_config.hpp"
#include "runtime/tls.hpp"
#include "runtime/transport.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace quiesce {

namespace {

bool is(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system")
         && err.code() == static_cast<uint8_t>(code);
}

// Sleeps up to `total`, waking early when `stop` turns true.
void pause(const std::atomic<bool>& stop, std::chrono::milliseconds total) {
  auto until = std::chrono::steady_clock::now() + total;
  while (!stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
}

} // namespace

// -- endpoints ----------------------------------------------------------------

std::string parse_endpoint(const std::string& text, endpoint& out) {
  auto colon = text.rfind(':');
  auto host = colon == std::string::npos ? std::string{"127.0.0.1"}
                                         : text.substr(0, colon);
  auto port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  if (host.empty())
    host = "127.0.0.1";
  if (port_text.empty() || port_text.size() > 5
      || port_text.find_first_not_of("0123456789") != std::string::npos)
    return "'" + text + "' is not HOST:PORT (a port is a number 0..65535)";
  auto port = std::stoul(port_text);
  if (port > 65535)
    return "'" + text + "': port " + port_text + " is past 65535";
  out.host = std::move(host);
  out.port = static_cast<uint16_t>(port);
  return {};
}

std::string to_string(const endpoint& x) {
  return x.host + ":" + std::to_string(x.port);
}

std::string explain_connect_error(const caf::error& err,
                                  const endpoint& where) {
  auto at = to_string(where);
  if (is(err, caf::sec::cannot_connect_to_node))
    return "cannot reach " + at + ": is a Quiesce head listening there?";
  if (is(err, caf::sec::incompatible_application_ids))
    return "the peer at " + at + " is not a Quiesce head";
  if (is(err, caf::sec::incompatible_versions))
    return "the peer at " + at + " runs another version of CAF";
  if (is(err, caf::sec::unexpected_actor_messaging_interface))
    return "the head at " + at
           + " speaks another protocol (its supervisor interface differs "
             "from this program's); run the same Quiesce version on both";
  if (is(err, caf::sec::no_actor_published_at_port))
    return "nothing is published at " + at;
  if (is(err, caf::sec::disconnect_during_handshake)
      || is(err, caf::sec::malformed_basp_message))
    return "the peer at " + at
           + " closed the connection during the handshake: not a Quiesce "
             "head, or another protocol, or a TLS head that refused this "
             "process's certificate (or its lack of one)";
  if (is(err, caf::sec::request_timeout)
      || is(err, caf::sec::connection_timeout))
    return "the peer at " + at
           + " accepted the connection but did not complete CAF's handshake "
             "in time: not a Quiesce head?";
  return "cannot connect to " + at + ": " + render(err);
}

result_code classify_connect_error(const caf::error& err) {
  if (!err)
    return result_code::ok;
  if (is(err, caf::sec::cannot_connect_to_node))
    return result_code::unavailable;
  return result_code::protocol_mismatch;
}

std::string default_process_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof(host), "localhost");
  return std::string{host} + "-" + std::to_string(::getpid());
}

caf::expected<supervisor_actor>
connect_head(caf::actor_system& sys, const endpoint& where,
             std::chrono::milliseconds timeout) {
  // What `middleman::remote_actor` does, with a bound: a peer that accepts
  // the connection and never answers would block it for ever.
  //
  // CAF 0.17.6's BASP broker creates the context of an outgoing connection
  // without stamping its `last_seen`, so its first heartbeat tick (one
  // `heartbeat_interval` after the system started) drops a handshake still
  // under way with `sec::connection_timeout`, whatever the timeout: a head
  // that is slow to answer (stopped, loaded) looked unreachable after about
  // one second. Such a drop is retried until `timeout` has passed; every
  // other error is final.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  caf::scoped_actor self{sys};
  for (;;) {
    caf::expected<supervisor_actor> out{
        caf::make_error(caf::sec::cannot_connect_to_node)};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      left = std::chrono::milliseconds{1};
    // With CAF's OpenSSL module loaded, its middleman actor connects over
    // TLS (same interface).
    auto mm = sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                        : sys.middleman().actor_handle();
    self->request(mm, left, caf::connect_atom_v, where.host, where.port)
        .receive(
            [&](caf::node_id&, caf::strong_actor_ptr& ptr,
                std::set<std::string>& ifs) {
              if (!ptr) {
                out = caf::make_error(caf::sec::no_actor_published_at_port);
                return;
              }
              if (!ifs.empty()
                  && ifs != sys.message_types<supervisor_actor>()) {
                out = caf::make_error(
                    caf::sec::unexpected_actor_messaging_interface);
                return;
              }
              out = caf::actor_cast<supervisor_actor>(std::move(ptr));
            },
            [&](caf::error& err) { out = std::move(err); });
    if (out || !is(out.error(), caf::sec::connection_timeout)
        || std::chrono::steady_clock::now() >= deadline)
      return out;
  }
}

// -- connect ------------------------------------------------------------------

namespace {

// Proves this process's identity to the head behind `call` (which sends a
// request and returns its reply): with TLS, signs the head's nonce with the
// certificate's key; without, the head finds the user itself.
template <class Call>
authenticate_reply prove_identity(const settings& s,
                                  caf::strong_actor_ptr session, Call call) {
  authenticate req{std::move(session), {}, {}};
  if (tls::enabled(s)) {
    auto challenge = call(auth_challenge{});
    if (challenge.code != result_code::ok)
      return challenge;
    tls::proof p;
    std::string error;
    if (!tls::prove(s, challenge.nonce, p, error))
      return authenticate_reply{result_code::invalid_argument, error, {}, {}};
    req.certificate = std::move(p.certificate);
    req.signature = std::move(p.signature);
  }
  return call(std::move(req));
}

/// A client of a remote head; its transport owns the client's actor system.
class remote_client : public client {
public:
  remote_client(std::shared_ptr<detail::transport> tr, std::string name,
                std::chrono::milliseconds request_timeout)
      : client(std::move(tr), std::move(name), request_timeout,
               std::chrono::milliseconds{0}) {
    // nop
  }
};

} // namespace

connect_result connect(const settings& s, std::string name) {
  connect_result out;
  endpoint where;
  if (auto err = parse_endpoint(s.head, where); !err.empty()) {
    out.code = result_code::invalid_argument;
    out.error = "head " + err;
    return out;
  }
  auto cfg = std::make_unique<caf::actor_system_config>();
  configure(*cfg, 2);
  configure_network(*cfg, s.heartbeat_interval, s.connection_timeout);
  if (auto err = configure_tls(*cfg, s); !err.empty()) {
    out.code = result_code::invalid_argument;
    out.error = err;
    return out;
  }
  // With TLS, the head proves its certificate during the handshake. Without,
  // only a head of this machine run by this user is trusted: checked before
  // connecting (a head of another user closes the door, which would read as
  // "not a Quiesce head") and again once connected.
  auto with_tls = tls::enabled(s);
  if (auto code
      = with_tls ? result_code::ok : check_head_user(where, out.error, false);
      code != result_code::ok) {
    out.code = code;
    return out;
  }
  auto tr = std::make_shared<detail::transport>(std::move(cfg), true);
  auto hdl = connect_head(tr->sys, where, s.connect_timeout);
  if (!hdl) {
    out.code = classify_connect_error(hdl.error());
    out.error = explain_connect_error(hdl.error(), where);
    return out;
  }
  if (auto code
      = with_tls ? result_code::ok : check_head_user(where, out.error);
      code != result_code::ok) {
    out.code = code;
    return out;
  }
  tr->start(std::move(*hdl));
  auto auth = prove_identity(s, tr->session(), [&](auto req) {
    return tr->call<authenticate_reply>(std::move(req), s.connect_timeout);
  });
  if (auth.code != result_code::ok) {
    out.code = auth.code;
    out.error = "the head at " + to_string(where)
                + " refused this client: " + auth.detail;
    return out;
  }
  out.client = std::make_unique<remote_client>(std::move(tr), std::move(name),
                                               s.request_timeout);
  return out;
}

// -- worker
// -------------------------------------------------------------------------

/// The worker's members. The actor system is declared before every member
/// holding an actor handle: its destructor waits for all actors.
struct worker::impl {
  worker_options opts;
  endpoint head_address;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<work_registry> registry;
  std::shared_ptr<process::launcher> launcher;
  node_actor node;
  supervisor_actor head;
  /// This node process's incarnation (node_options::incarnation).
  uint64_t incarnation = 0;
  /// How many attempts the last accepted `node_hello` reported running.
  size_t reported = 0;

  /// Returns the hello of this node: its incarnation, and the attempts it
  /// kept from before it lost its head (asked from the node actor, which
  /// owns them).
  node_hello hello() {
    node_hello out{opts.protocol,
                   opts.node_name,
                   opts.slots,
                   opts.labels,
                   node,
                   {},
                   incarnation,
                   {},
                   opts.slots * opts.pipeline};
    caf::scoped_actor self{*sys};
    self->request(node, opts.connect_timeout, out)
        .receive(
            [&](node_hello& filled) {
              out.running = std::move(filled.running);
              out.owners = std::move(filled.owners);
            },
            [&](caf::error&) {
              // A node actor that does not answer keeps nothing.
            });
    return out;
  }
};

worker::worker(worker_options opts) : impl_(std::make_unique<impl>()) {
  impl_->opts = resolve(std::move(opts));
  if (auto err = parse_endpoint(impl_->opts.head, impl_->head_address);
      !err.empty())
    throw std::invalid_argument("quiesce: head " + impl_->opts.head + ": "
                                + err);
  configure(impl_->cfg, impl_->opts.threads, impl_->opts.scheduler);
  configure_network(impl_->cfg, impl_->opts.heartbeat_interval,
                    impl_->opts.connection_timeout);
  if (auto err = configure_tls(impl_->cfg, impl_->opts); !err.empty())
    throw std::invalid_argument("quiesce: " + err);
  impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
  impl_->registry = std::make_shared<work_registry>();
  // Before the node registers: leftovers of a previous incarnation (its
  // cgroups) are killed and removed here.
  impl_->launcher = std::make_shared<process::launcher>(
      impl_->opts.kill_bound,
      process::containment_options{impl_->opts.node_name, true, true,
                                   impl_->opts.strict_limits});
  auto node_opts = node_options_from(impl_->opts);
  impl_->incarnation = node_opts.incarnation;
  impl_->node = spawn_node(*impl_->sys, std::move(node_opts), impl_->registry,
                           impl_->launcher);
}

worker::~worker() {
  caf::anon_send(impl_->node, node_reset{"the worker stops"});
  caf::anon_send_exit(impl_->node, caf::exit_reason::user_shutdown);
  impl_->node = nullptr;
  impl_->head = nullptr;
  impl_->sys.reset();
}

bool worker::register_work(std::string name, work_function fn, work_mode mode) {
  return impl_->registry->add(std::move(name), std::move(fn), mode);
}

node_list worker::join() {
  node_list out;
  // With TLS, the head's certificate must chain to this node's CA (checked
  // in the handshake). Without, a node serves only a head run by its own
  // user (checked before connecting, and again once connected).
  auto with_tls = tls::enabled(impl_->opts);
  if (auto code = with_tls
                      ? result_code::ok
                      : check_head_user(impl_->head_address, out.detail, false);
      code != result_code::ok) {
    out.code = code;
    return out;
  }
  auto hdl = connect_head(*impl_->sys, impl_->head_address,
                          impl_->opts.connect_timeout);
  if (!hdl) {
    out.code = classify_connect_error(hdl.error());
    out.detail = explain_connect_error(hdl.error(), impl_->head_address);
    return out;
  }
  if (auto code = with_tls ? result_code::ok
                           : check_head_user(impl_->head_address, out.detail);
      code != result_code::ok) {
    out.code = code;
    return out;
  }
  auto auth = prove_identity(
      impl_->opts, caf::actor_cast<caf::strong_actor_ptr>(impl_->node),
      [&](auto req) {
        return detail::request_blocking<authenticate_reply>(
            *impl_->sys, *hdl, std::move(req), impl_->opts.connect_timeout);
      });
  if (auth.code != result_code::ok) {
    out.code = auth.code;
    out.detail = auth.detail;
    return out;
  }
  auto hello = impl_->hello();
  auto reported = hello.running.size();
  out = detail::request_blocking<node_list>(*impl_->sys, *hdl, std::move(hello),
                                            impl_->opts.connect_timeout);
  if (out.code == result_code::ok) {
    impl_->head = std::move(*hdl);
    impl_->reported = reported;
  }
  return out;
}

result_code
worker::serve(const std::atomic<bool>& stop,
              const std::function<void(const std::string&)>& on_status) {
  auto say = [&](const std::string& line) {
    if (on_status)
      on_status(line);
  };
  say("tasks contained by " + impl_->launcher->containment()
      + (impl_->launcher->leftovers_removed() > 0
             ? "; removed "
                   + std::to_string(impl_->launcher->leftovers_removed())
                   + " cgroup(s) left by dead processes"
             : ""));
  bool joined_once = false;
  std::string last_failure;
  // While the head is away: the number of the loss and when its lease ends.
  uint64_t epoch = 0;
  bool away = false;
  std::chrono::steady_clock::time_point lease_end{};
  auto lease = impl_->opts.head_lease;
  while (!stop) {
    if (!impl_->head) {
      if (away && std::chrono::steady_clock::now() >= lease_end) {
        // The node actor killed them on its own timer; this only says so.
        away = false;
        say("the head stayed away longer than the lease ("
            + config::format_duration(lease)
            + "): killed this node's attempts");
      }
      auto reply = join();
      if (reply.code == result_code::ok) {
        joined_once = true;
        last_failure.clear();
        if (away)
          caf::anon_send(impl_->node,
                         node_reset{{}, head_change::joined, {}, epoch});
        away = false;
        auto kept = impl_->reported;
        say("joined the head at " + to_string(impl_->head_address) + " as "
            + impl_->opts.node_name + " with "
            + std::to_string(impl_->opts.slots)
            + (impl_->opts.slots == 1 ? " slot" : " slots")
            + (kept > 0 ? "; reported " + std::to_string(kept)
                              + " attempt(s) kept from before"
                        : ""));
      } else {
        auto line = "cannot join the head at " + to_string(impl_->head_address)
                    + ": " + std::string{to_name(reply.code)} + ": "
                    + reply.detail;
        // The same failure every `reconnect_delay` is said once.
        if (line != last_failure)
          say(line);
        last_failure = std::move(line);
        // Retrying cannot help a wrong peer or another protocol version; a
        // head that went away and came back wrong is retried all the same
        // (it may be in the middle of an upgrade).
        if (reply.code == result_code::protocol_mismatch && !joined_once)
          return result_code::protocol_mismatch;
        auto pause_for = impl_->opts.reconnect_delay;
        if (away) {
          // Wake up for the lease's end, to say it.
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
              lease_end - std::chrono::steady_clock::now());
          pause_for = std::max(std::chrono::milliseconds{1},
                               std::min(pause_for, left));
        }
        pause(stop, pause_for);
        continue;
      }
    }
    bool lost = false;
    // The last moment the connection was known alive: the lease counts from
    // there, so a node that was stopped itself (SIGSTOP, a paused machine)
    // past its lease kills its attempts as soon as it runs again.
    auto last_alive = std::chrono::steady_clock::now();
    {
      caf::scoped_actor self{*impl_->sys};
      self->monitor(impl_->head);
      while (!stop && !lost) {
        last_alive = std::chrono::steady_clock::now();
        self->receive([&](caf::down_msg&) { lost = true; },
                      caf::after(std::chrono::milliseconds{100}) >> [] {});
      }
    }
    if (lost) {
      impl_->head = nullptr;
      if (lease.count() <= 0) {
        caf::anon_send(impl_->node, node_reset{"the head was lost"});
        say("lost the head at " + to_string(impl_->head_address)
            + "; killed this node's attempts; reconnecting");
      } else {
        // The attempts run on for the lease: a head that comes back in time
        // (the same one after a cut, or one restarted on its journal) takes
        // them over; past it the node actor kills them.
        away = true;
        lease_end = last_alive + lease;
        auto left
            = std::max(std::chrono::milliseconds{0},
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           lease_end - std::chrono::steady_clock::now()));
        caf::anon_send(
            impl_->node,
            node_reset{"the head was lost", head_change::lost, left, ++epoch});
        auto kept = impl_->hello().running.size();
        say("lost the head at " + to_string(impl_->head_address)
            + "; keeping this node's " + std::to_string(kept)
            + " attempt(s) for the lease (" + config::format_duration(lease)
            + "); reconnecting");
      }
      pause(stop, lease.count() > 0
                      ? std::min(impl_->opts.reconnect_delay, lease)
                      : impl_->opts.reconnect_delay);
    }
  }
  return result_code::ok;
}

} // namespace quiesce
