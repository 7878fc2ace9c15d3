#include "runtime/peer_auth.hpp"

#include "runtime/gate.hpp"
#include "runtime/tls.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <memory>
#include <pwd.h>
#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace quiesce {

namespace {

using address = std::array<uint8_t, 16>;

/// One line of /proc/net/tcp or /proc/net/tcp6.
struct socket_entry {
  address local{};
  uint16_t local_port = 0;
  address remote{};
  uint16_t remote_port = 0;
  unsigned state = 0;
  uid_t uid = 0;
  unsigned long inode = 0;
};

constexpr unsigned tcp_established = 0x01;
constexpr unsigned tcp_listen = 0x0A;

// An IPv4 address as an IPv4-mapped IPv6 address, so both tables compare.
address mapped(const uint8_t* v4) {
  address out{};
  out[10] = 0xFF;
  out[11] = 0xFF;
  std::memcpy(out.data() + 12, v4, 4);
  return out;
}

bool parse_address(const std::string& text, address& out) {
  uint8_t buf[16];
  if (::inet_pton(AF_INET, text.c_str(), buf) == 1) {
    out = mapped(buf);
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    std::memcpy(out.data(), buf, 16);
    return true;
  }
  return false;
}

// Parses "0100007F:1E14" (the kernel prints each 32-bit word of the address
// as it lies in memory, in hex, and the port in host order).
bool parse_endpoint_hex(const std::string& text, address& addr,
                        uint16_t& port) {
  auto colon = text.find(':');
  if (colon == std::string::npos || (colon != 8 && colon != 32))
    return false;
  uint8_t raw[16];
  for (size_t w = 0; w < colon / 8; ++w) {
    auto word
        = static_cast<uint32_t>(std::stoul(text.substr(w * 8, 8), nullptr, 16));
    std::memcpy(raw + w * 4, &word, 4);
  }
  if (colon == 8)
    addr = mapped(raw);
  else
    std::memcpy(addr.data(), raw, 16);
  port = static_cast<uint16_t>(std::stoul(text.substr(colon + 1), nullptr, 16));
  return true;
}

std::vector<socket_entry> read_sockets() {
  std::vector<socket_entry> out;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{path};
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout,
          inode;
      if (!(fields >> sl >> local >> remote >> st >> queues >> timer >> retr
            >> uid >> timeout >> inode))
        continue;
      socket_entry e;
      try {
        if (!parse_endpoint_hex(local, e.local, e.local_port)
            || !parse_endpoint_hex(remote, e.remote, e.remote_port))
          continue;
        e.state = static_cast<unsigned>(std::stoul(st, nullptr, 16));
        e.uid = static_cast<uid_t>(std::stoul(uid));
        e.inode = std::stoul(inode);
      } catch (const std::exception&) {
        continue;
      }
      out.push_back(e);
    }
  }
  return out;
}

// Returns the inodes of this process's sockets.
std::set<unsigned long> own_socket_inodes() {
  std::set<unsigned long> out;
  auto* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return out;
  while (auto* ent = ::readdir(dir)) {
    char target[64] = {};
    auto path = std::string{"/proc/self/fd/"} + ent->d_name;
    auto n = ::readlink(path.c_str(), target, sizeof(target) - 1);
    if (n <= 0)
      continue;
    std::string t{target, static_cast<size_t>(n)};
    if (t.rfind("socket:[", 0) == 0 && t.back() == ']')
      out.insert(std::stoul(t.substr(8, t.size() - 9)));
  }
  ::closedir(dir);
  return out;
}

bool is_any(const address& a) {
  static const address v6_any{};
  static const uint8_t v4_any[4] = {0, 0, 0, 0};
  return a == v6_any || a == mapped(v4_any);
}

} // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  uint8_t buf[16];
  if (::inet_pton(AF_INET, host.c_str(), buf) == 1)
    return buf[0] == 127;
  if (::inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    static const uint8_t one[16]
        = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(buf, one, 16) == 0;
  }
  return false;
}

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0
      && found != nullptr && found->pw_name != nullptr)
    return found->pw_name;
  return "uid:" + std::to_string(uid);
}

std::optional<uid_t> peer_uid(const std::string& addr, uint16_t port,
                              std::string& error) {
  address peer;
  if (!parse_address(addr, peer)) {
    error = "the peer's address '" + addr + "' is not an IP address";
    return std::nullopt;
  }
  auto sockets = read_sockets();
  auto ours = own_socket_inodes();
  for (const auto& e : sockets) {
    if (e.local != peer || e.local_port != port || e.state != tcp_established)
      continue;
    for (const auto& f : sockets)
      if (f.local == e.remote && f.local_port == e.remote_port
          && f.remote == e.local && f.remote_port == e.local_port
          && ours.count(f.inode) > 0)
        return e.uid;
  }
  error = "no socket of this machine at " + addr + ":" + std::to_string(port)
          + " is connected to this process (is the peer on another machine?)";
  return std::nullopt;
}

std::optional<uid_t> listener_uid(const endpoint& where, std::string& error) {
  if (!is_loopback(where.host)) {
    error = where.host + " is not a loopback address";
    return std::nullopt;
  }
  address want;
  if (!parse_address(where.host == "localhost" ? "127.0.0.1" : where.host,
                     want)) {
    error = where.host + " is not an IP address";
    return std::nullopt;
  }
  for (const auto& e : read_sockets())
    if (e.state == tcp_listen && e.local_port == where.port
        && (e.local == want || is_any(e.local)))
      return e.uid;
  error = "nothing listens at " + to_string(where);
  return std::nullopt;
}

result_code check_head_user(const endpoint& where, std::string& error,
                            bool strict) {
  std::string why;
  auto uid = listener_uid(where, why);
  if (!uid && !strict && is_loopback(where.host))
    return result_code::ok;
  if (!uid) {
    error = "cannot tell which user runs the head at " + to_string(where) + ": "
            + why
            + "; without TLS, only a head on this machine run by this user "
              "is trusted (docs/security.md)";
    return result_code::permission_denied;
  }
  auto self = ::geteuid();
  if (*uid != self) {
    error = "the head at " + to_string(where) + " runs as " + user_name(*uid)
            + " (uid " + std::to_string(*uid) + "), not as this user "
            + user_name(self) + " (uid " + std::to_string(self)
            + "); without TLS only the head's own user may use it "
              "(docs/security.md)";
    return result_code::permission_denied;
  }
  return result_code::ok;
}

namespace {

authenticate_reply identify(const std::string& addr, uint16_t port) {
  authenticate_reply out;
  std::string why;
  auto uid = peer_uid(addr, port, why);
  if (!uid) {
    out.code = result_code::permission_denied;
    out.detail = "cannot tell which user is behind " + addr + ":"
                 + std::to_string(port) + ": " + why;
    return out;
  }
  auto self = ::geteuid();
  if (*uid != self) {
    out.code = result_code::permission_denied;
    out.detail = user_name(*uid) + " (uid " + std::to_string(*uid)
                 + ") is not the head's user " + user_name(self) + " (uid "
                 + std::to_string(self)
                 + "): without TLS only the head's own user may act";
    return out;
  }
  out.who = identity{user_name(*uid), peer_role::admin};
  return out;
}

// With TLS: the CA peers' certificates must chain to, and the nonce handed
// to each peer process that asked for one (one at a time, used once).
struct authenticator_state {
  std::shared_ptr<tls::verifier> ca;
  std::map<caf::node_id, std::string> nonces;
  static inline const char* name = "quiesce.authenticator";
};

// Nonces waiting for a proof; past this, the oldest request is forgotten
// (only holders of a certificate of the CA get this far).
constexpr size_t max_pending_nonces = 4096;

using authenticator_pointer
    = authenticator_actor::stateful_pointer<authenticator_state>;

// Finds the connection `req.peer` came over and answers with `decide(addr,
// port)`; an accepted peer's connection is marked authenticated at the
// head's gate (runtime/gate.hpp) before the reply leaves: no handshake
// deadline and the full message size from then on.
template <class Decide>
caf::result<authenticate_reply> on_connection(authenticator_pointer self,
                                              const verify_peer& req,
                                              Decide decide) {
  if (!self->system().has_middleman())
    return authenticate_reply{result_code::permission_denied,
                              "this head has no network layer",
                              {},
                              {}};
  auto rp = self->make_response_promise<authenticate_reply>();
  auto mm = self->system().middleman().actor_handle();
  auto* sys = &self->system();
  self->request(mm, std::chrono::seconds{5}, caf::get_atom_v, req.peer)
      .then(
          [rp, sys, decide](const caf::node_id&, const std::string& addr,
                            uint16_t port) mutable {
            if (addr.empty() || port == 0) {
              rp.deliver(authenticate_reply{
                  result_code::permission_denied,
                  "the peer has no direct connection to this head",
                  {},
                  {}});
              return;
            }
            auto reply = decide(addr, port);
            if (reply.code == result_code::ok)
              gate_authenticated(*sys, addr, port);
            rp.deliver(std::move(reply));
          },
          [rp](caf::error& err) mutable {
            rp.deliver(authenticate_reply{result_code::permission_denied,
                                          "cannot find the peer's connection: "
                                              + render(err),
                                          {},
                                          {}});
          });
  return rp;
}

authenticator_actor::behavior_type
authenticator_impl(authenticator_pointer self,
                   std::shared_ptr<tls::verifier> ca) {
  self->state.ca = std::move(ca);
  return {
      [self](const verify_peer& req) -> caf::result<authenticate_reply> {
        auto& st = self->state;
        if (!st.ca)
          return on_connection(self, req, identify);
        std::string nonce;
        if (auto i = st.nonces.find(req.peer); i != st.nonces.end()) {
          nonce = std::move(i->second);
          st.nonces.erase(i);
        }
        auto reply
            = st.ca->verify(nonce, tls::proof{req.certificate, req.signature});
        if (reply.code != result_code::ok)
          return reply;
        return on_connection(
            self, req, [reply](const std::string&, uint16_t) { return reply; });
      },
      [self](const auth_challenge& req) -> authenticate_reply {
        auto& st = self->state;
        if (!st.ca)
          return authenticate_reply{result_code::ok, {}, {}, {}};
        if (st.nonces.size() >= max_pending_nonces
            && st.nonces.count(req.peer) == 0)
          st.nonces.erase(st.nonces.begin());
        auto nonce = tls::verifier::nonce();
        st.nonces[req.peer] = nonce;
        return authenticate_reply{result_code::ok, {}, {}, nonce};
      },
  };
}

} // namespace

authenticator_actor spawn_authenticator(caf::actor_system& sys,
                                        const std::string& ca_file) {
  std::shared_ptr<tls::verifier> ca;
  if (!ca_file.empty())
    ca = std::make_shared<tls::verifier>(ca_file);
  // On a thread of its own: it reads /proc/net/tcp and verifies
  // certificates, which would hold up every other actor of a head that
  // runs on one scheduler thread (default_threads).
  return sys.spawn<caf::detached>(authenticator_impl, std::move(ca));
}

} // namespace quiesce
