#include "runtime/remote.hpp"

#include "actors/node.hpp"
#include "execution/launcher.hpp"
#include "execution/work_registry.hpp"
#include "runtime/runtime.hpp"
#include "runtime/runtime_impl.hpp"
#include "runtime/system_config.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>

#include <cstdio>
#include <set>
#include <thread>
#include <unistd.h>

namespace quiesce {

namespace {

bool is(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system")
         && err.code() == static_cast<uint8_t>(code);
}

void configure_client(caf::actor_system_config& cfg, uint32_t threads,
                      std::chrono::milliseconds heartbeat,
                      std::chrono::milliseconds timeout) {
  configure(cfg, threads);
  configure_network(cfg, heartbeat, timeout);
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
             "head, or another protocol";
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

uint16_t publish_head(runtime& rt, const endpoint& where, std::string& error) {
  auto& in = rt.internals();
  if (!rt.options().network) {
    error = "the runtime was started without the network layer";
    return 0;
  }
  auto res = in.sys.middleman().publish(in.supervisor, where.port,
                                        where.host.c_str(), true);
  if (!res) {
    error = "cannot listen on " + to_string(where) + ": " + render(res.error());
    return 0;
  }
  return *res;
}

caf::expected<supervisor_actor>
connect_head(caf::actor_system& sys, const endpoint& where,
             std::chrono::milliseconds timeout) {
  // What `middleman::remote_actor` does, with a bound: a peer that accepts
  // the connection and never answers would block it for ever.
  caf::expected<supervisor_actor> out{
      caf::make_error(caf::sec::cannot_connect_to_node)};
  caf::scoped_actor self{sys};
  self->request(sys.middleman().actor_handle(), timeout, caf::connect_atom_v,
                where.host, where.port)
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& ptr,
              std::set<std::string>& ifs) {
            if (!ptr) {
              out = caf::make_error(caf::sec::no_actor_published_at_port);
              return;
            }
            if (!ifs.empty() && ifs != sys.message_types<supervisor_actor>()) {
              out = caf::make_error(
                  caf::sec::unexpected_actor_messaging_interface);
              return;
            }
            out = caf::actor_cast<supervisor_actor>(std::move(ptr));
          },
          [&](caf::error& err) { out = std::move(err); });
  return out;
}

// -- remote_client
// --------------------------------------------------------------

remote_client::remote_client(std::chrono::milliseconds heartbeat_interval,
                             std::chrono::milliseconds connection_timeout) {
  configure_client(cfg_, 2, heartbeat_interval, connection_timeout);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
}

remote_client::~remote_client() {
  head_ = nullptr;
  sys_.reset();
}

std::string remote_client::connect(const endpoint& where,
                                   std::chrono::milliseconds timeout) {
  auto hdl = connect_head(*sys_, where, timeout);
  if (!hdl) {
    connect_code_ = classify_connect_error(hdl.error());
    return explain_connect_error(hdl.error(), where);
  }
  connect_code_ = result_code::ok;
  head_ = std::move(*hdl);
  return {};
}

// -- worker
// -------------------------------------------------------------------------

worker::worker(worker_options opts) : opts_(std::move(opts)) {
  configure_client(cfg_, opts_.threads, opts_.heartbeat_interval,
                   opts_.connection_timeout);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  registry_ = std::make_shared<work_registry>();
  launcher_ = std::make_shared<process::launcher>(opts_.kill_bound);
  node_options nopts;
  nopts.name = opts_.name;
  nopts.slots = opts_.slots;
  nopts.labels = opts_.labels;
  nopts.run_dir = opts_.run_dir;
  nopts.kill_bound = opts_.kill_bound;
  node_ = spawn_node(*sys_, nopts, registry_, launcher_);
}

worker::~worker() {
  caf::anon_send(node_, node_reset{"the worker stops"});
  caf::anon_send_exit(node_, caf::exit_reason::user_shutdown);
  node_ = nullptr;
  head_ = nullptr;
  sys_.reset();
}

bool worker::register_work(std::string name, work_function fn) {
  return registry_->add(std::move(name), std::move(fn));
}

node_list worker::join() {
  node_list out;
  auto hdl = connect_head(*sys_, opts_.head, opts_.connect_timeout);
  if (!hdl) {
    out.code = classify_connect_error(hdl.error());
    out.detail = explain_connect_error(hdl.error(), opts_.head);
    return out;
  }
  out = blocking_request<node_list>(
      *sys_, *hdl,
      node_hello{opts_.protocol, opts_.name, opts_.slots, opts_.labels, node_},
      opts_.connect_timeout);
  if (out.code == result_code::ok)
    head_ = std::move(*hdl);
  return out;
}

result_code
worker::serve(const std::atomic<bool>& stop,
              const std::function<void(const std::string&)>& on_status) {
  auto say = [&](const std::string& line) {
    if (on_status)
      on_status(line);
  };
  bool joined_once = false;
  std::string last_failure;
  while (!stop) {
    if (!head_) {
      auto reply = join();
      if (reply.code == result_code::ok) {
        joined_once = true;
        last_failure.clear();
        say("joined the head at " + to_string(opts_.head) + " as " + opts_.name
            + " with " + std::to_string(opts_.slots)
            + (opts_.slots == 1 ? " slot" : " slots"));
      } else {
        auto line = "cannot join the head at " + to_string(opts_.head) + ": "
                    + std::string{to_name(reply.code)} + ": " + reply.detail;
        // The same failure every `reconnect_delay` is said once.
        if (line != last_failure)
          say(line);
        last_failure = std::move(line);
        // Retrying cannot help a wrong peer or another protocol version; a
        // head that went away and came back wrong is retried all the same
        // (it may be in the middle of an upgrade).
        if (reply.code == result_code::protocol_mismatch && !joined_once)
          return result_code::protocol_mismatch;
        pause(stop, opts_.reconnect_delay);
        continue;
      }
    }
    bool lost = false;
    {
      caf::scoped_actor self{*sys_};
      self->monitor(head_);
      while (!stop && !lost)
        self->receive([&](caf::down_msg&) { lost = true; },
                      caf::after(std::chrono::milliseconds{100}) >> [] {});
    }
    if (lost) {
      caf::anon_send(node_, node_reset{"the head was lost"});
      head_ = nullptr;
      say("lost the head at " + to_string(opts_.head)
          + "; killed this node's attempts; reconnecting");
      pause(stop, opts_.reconnect_delay);
    }
  }
  return result_code::ok;
}

} // namespace quiesce
