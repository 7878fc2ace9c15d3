#include "runtime/gate.hpp"

#include "messages/result_code.hpp"
#include "runtime/frames.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/socket_guard.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <type_traits>
#include <vector>

namespace quiesce {

namespace {

using native_socket = caf::io::network::native_socket;
using default_mpx = caf::io::network::default_multiplexer;
using steady = std::chrono::steady_clock;
using rw_state = caf::io::network::rw_state;

/// File descriptors a head keeps besides its connections (journal, log,
/// cgroup files, a local node's pipes, CAF's own).
constexpr rlim_t reserved_descriptors = 256;

/// The connections a gate accepted, and what each may do. Called from CAF's
/// multiplexer thread (doorman, scribes), the authenticator and the deadline
/// thread; everything under one mutex. A connection is known by its socket,
/// which stays open until its scribe is destroyed, and the scribe forgets it
/// first: so the deadline thread never shuts down a reused descriptor.
class gate_state {
public:
  explicit gate_state(gate_limits limits) : limits_(limits) {
    thread_ = std::thread{[this] {
      watch();
    }};
  }

  ~gate_state() {
    stop();
  }

  gate_state(const gate_state&) = delete;
  gate_state& operator=(const gate_state&) = delete;

  /// Stops the deadline thread. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id())
        thread_.detach();
      else
        thread_.join();
    }
  }

  /// Takes the new connection `fd` from `addr`:`port` in, pushing out the
  /// oldest unauthenticated connection (of the same address when that cap
  /// is reached, else of the address with the most of them) while a cap is
  /// reached; returns false (the caller closes `fd`) when no such
  /// connection is left.
  bool admit(native_socket fd, const std::string& addr, uint16_t port) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (;;) {
      size_t total = 0;
      size_t same = 0;
      for (auto& [other, c] : conns_) {
        if (c.shut)
          continue;
        ++total;
        if (c.addr == addr)
          ++same;
      }
      bool over_total = total >= limits_.max_connections;
      bool over_address = same >= limits_.max_connections_per_address;
      if (!over_total && !over_address)
        break;
      // Over the per-address cap, the victim comes from this address; over
      // the total cap only, from the address holding the most
      // unauthenticated connections, so that one flooding address does not
      // push out the handshakes of others.
      std::string from = addr;
      if (!over_address) {
        std::map<std::string, size_t> waiting;
        size_t most = 0;
        for (auto& [other, c] : conns_)
          if (!c.shut && !c.authenticated && ++waiting[c.addr] > most) {
            most = waiting[c.addr];
            from = c.addr;
          }
      }
      conn* victim = nullptr;
      for (auto& [other, c] : conns_)
        if (!c.shut && !c.authenticated && c.addr == from
            && (victim == nullptr || c.since < victim->since))
          victim = &c;
      if (victim == nullptr) {
        ++counts_.refused;
        return false;
      }
      shut(*victim);
      ++counts_.evicted;
    }
    conn c;
    c.fd = fd;
    c.addr = addr;
    c.port = port;
    c.since = steady::now();
    conns_[fd] = std::move(c);
    ++counts_.accepted;
    return true;
  }

  /// Returns whether connection `fd` may read a message of `n` bytes next;
  /// if not, shuts it down (its next read ends it).
  bool may_read(native_socket fd, size_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = conns_.find(fd);
    if (i == conns_.end())
      return n <= limits_.max_message_size;
    auto& c = i->second;
    if (c.shut)
      return n <= c.reserved || n <= 1024;
    if (c.authenticated) {
      if (n <= limits_.max_message_size)
        return true;
    } else if (n <= c.reserved) {
      return true;
    } else if (n <= unauthenticated_message_size
               && used_ + (n - c.reserved) <= unauthenticated_buffer_budget) {
      used_ += n - c.reserved;
      c.reserved = n;
      return true;
    }
    ++counts_.oversized;
    shut(c);
    return false;
  }

  /// Shuts connection `fd` down for a forged frame (see `basp_frames`);
  /// `why` names the peer and the frame.
  void forged(native_socket fd, std::string why) {
    std::lock_guard<std::mutex> guard{mtx_};
    ++counts_.forged;
    counts_.last_forged = std::move(why);
    auto i = conns_.find(fd);
    if (i != conns_.end())
      shut(i->second);
    else
      ::shutdown(fd, SHUT_RDWR);
  }

  /// Marks the connection from `addr`:`port` authenticated.
  void authenticated(const std::string& addr, uint16_t port) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [fd, c] : conns_)
      if (!c.shut && !c.authenticated && c.port == port && c.addr == addr) {
        c.authenticated = true;
        used_ -= c.reserved;
        c.reserved = 0;
      }
  }

  /// Forgets connection `fd` (its scribe goes; the socket closes after).
  void release(native_socket fd) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = conns_.find(fd);
    if (i == conns_.end())
      return;
    if (!i->second.authenticated)
      used_ -= i->second.reserved;
    conns_.erase(i);
  }

  gate_counts counts() {
    std::lock_guard<std::mutex> guard{mtx_};
    auto out = counts_;
    out.open = conns_.size();
    out.unauthenticated = static_cast<size_t>(
        std::count_if(conns_.begin(), conns_.end(),
                      [](auto& kv) { return !kv.second.authenticated; }));
    return out;
  }

private:
  struct conn {
    native_socket fd = -1;
    std::string addr;
    uint16_t port = 0;
    steady::time_point since;
    bool authenticated = false;
    /// Shut down; closing (its scribe sees the end at its next read).
    bool shut = false;
    /// The largest payload buffer granted while unauthenticated.
    size_t reserved = 0;
  };

  // Shuts a connection down from any thread: never `close`, which would
  // free the descriptor under CAF's multiplexer.
  void shut(conn& c) {
    ::shutdown(c.fd, SHUT_RDWR);
    c.shut = true;
  }

  // The deadline thread: shuts down every connection that has not
  // authenticated within `handshake_timeout` of its accept.
  void watch() {
    std::unique_lock<std::mutex> guard{mtx_};
    while (!stopping_) {
      auto now = steady::now();
      auto next = now + limits_.handshake_timeout;
      for (auto& [fd, c] : conns_) {
        if (c.shut || c.authenticated)
          continue;
        auto due = c.since + limits_.handshake_timeout;
        if (due <= now) {
          shut(c);
          ++counts_.timed_out;
        } else {
          next = std::min(next, due);
        }
      }
      // A connection accepted meanwhile is due after `next`.
      cv_.wait_until(guard, next + std::chrono::milliseconds{1},
                     [this] { return stopping_; });
    }
  }

  const gate_limits limits_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<native_socket, conn> conns_;
  /// Sum of `reserved` over unauthenticated connections.
  size_t used_ = 0;
  gate_counts counts_;
  bool stopping_ = false;
  std::thread thread_;
};

using gate_ptr = std::shared_ptr<gate_state>;

/// The TLS context of a gate: one for all its connections, configured as
/// CAF's OpenSSL module configures the one it makes for each connection
/// (`caf::openssl::session::create_ssl_context`, CAF 0.17.6): certificate
/// chain, key (with the passphrase), trusted CAs, a peer certificate
/// required and verified, ciphers `HIGH:!aNULL:!MD5`. CAF's own makes a
/// whole `SSL_CTX` per accepted connection, reading the files again: about
/// 100 KiB and a millisecond of the multiplexer's thread for each socket
/// that merely connects.
class tls_context {
public:
  ~tls_context() {
    SSL_CTX_free(ctx_);
  }

  /// Returns the context of `cfg`'s OpenSSL settings, or null with `error`.
  static std::shared_ptr<tls_context> make(const caf::actor_system_config& cfg,
                                           std::string& error) {
    auto out = std::make_shared<tls_context>();
    out->ctx_ = SSL_CTX_new(TLS_method());
    auto fail = [&](const std::string& what) {
      error = what;
      ERR_clear_error();
      return nullptr;
    };
    if (out->ctx_ == nullptr)
      return fail("cannot create an OpenSSL context");
    auto* ctx = out->ctx_;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg.openssl_certificate.c_str())
        != 1)
      return fail("cannot load the certificate " + cfg.openssl_certificate);
    if (!cfg.openssl_passphrase.empty()) {
      out->passphrase_ = cfg.openssl_passphrase;
      SSL_CTX_set_default_passwd_cb(ctx, passphrase_callback);
      SSL_CTX_set_default_passwd_cb_userdata(ctx, out.get());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg.openssl_key.c_str(),
                                    SSL_FILETYPE_PEM)
        != 1)
      return fail("cannot load the private key " + cfg.openssl_key);
    auto* cafile
        = cfg.openssl_cafile.empty() ? nullptr : cfg.openssl_cafile.c_str();
    auto* capath
        = cfg.openssl_capath.empty() ? nullptr : cfg.openssl_capath.c_str();
    if ((cafile != nullptr || capath != nullptr)
        && SSL_CTX_load_verify_locations(ctx, cafile, capath) != 1)
      return fail("cannot load the trusted CA certificates");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
    if (SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!MD5") != 1)
      return fail("cannot set the cipher list");
    return out;
  }

  SSL_CTX* get() const {
    return ctx_;
  }

private:
  static int passphrase_callback(char* buf, int size, int, void* self) {
    const auto& pass = static_cast<tls_context*>(self)->passphrase_;
    auto n = std::min(pass.size(), static_cast<size_t>(size - 1));
    std::memcpy(buf, pass.data(), n);
    buf[n] = '\0';
    return static_cast<int>(n);
  }

  SSL_CTX* ctx_ = nullptr;
  std::string passphrase_;
};

using tls_context_ptr = std::shared_ptr<tls_context>;

/// Blocks SIGPIPE around a call into OpenSSL (which writes with `write`),
/// dropping one raised meanwhile; what CAF's OpenSSL session does on Linux.
class sigpipe_block {
public:
  sigpipe_block() {
    sigemptyset(&mask_);
    sigaddset(&mask_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask_, &saved_);
  }

  ~sigpipe_block() {
    timespec zero{};
    sigtimedwait(&mask_, nullptr, &zero);
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

  sigpipe_block(const sigpipe_block&) = delete;
  sigpipe_block& operator=(const sigpipe_block&) = delete;

private:
  sigset_t mask_;
  sigset_t saved_;
};

/// One TLS connection: `caf::openssl::session` (CAF 0.17.6) line by line,
/// on the gate's shared context.
class tls_session {
public:
  explicit tls_session(tls_context_ptr ctx)
      : ctx_(std::move(ctx)), ssl_(SSL_new(ctx_->get())) {
    // nop
  }

  ~tls_session() {
    SSL_free(ssl_);
  }

  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  bool valid() const {
    return ssl_ != nullptr;
  }

  /// Whether the server side of the handshake still waits for the peer.
  bool accepting() const {
    return accepting_;
  }

  bool try_accept(native_socket fd) {
    sigpipe_block block;
    SSL_set_fd(ssl_, fd);
    SSL_set_accept_state(ssl_);
    auto ret = SSL_accept(ssl_);
    if (ret == 1)
      return true;
    accepting_ = true;
    return handle_result(ret);
  }

  bool try_connect(native_socket fd) {
    sigpipe_block block;
    SSL_set_fd(ssl_, fd);
    SSL_set_connect_state(ssl_);
    auto ret = SSL_connect(ssl_);
    if (ret == 1)
      return true;
    connecting_ = true;
    return handle_result(ret);
  }

  rw_state read_some(size_t& result, void* buf, size_t len) {
    return do_some(SSL_read, result, buf, len, false);
  }

  rw_state write_some(size_t& result, const void* buf, size_t len) {
    auto write = [](SSL* ssl, void* data, int n) {
      return SSL_write(ssl, data, n);
    };
    return do_some(write, result, const_cast<void*>(buf), len, true);
  }

  bool must_read_more(size_t threshold) {
    return static_cast<size_t>(SSL_pending(ssl_)) >= threshold;
  }

private:
  rw_state do_some(int (*f)(SSL*, void*, int), size_t& result, void* buf,
                   size_t len, bool writing) {
    sigpipe_block block;
    auto check = [&](int res) {
      result = 0;
      switch (SSL_get_error(ssl_, res)) {
        default:
          ERR_clear_error();
          return rw_state::failure;
        case SSL_ERROR_WANT_READ:
          // Report success to poll on this socket.
          if (len == 0 && writing)
            return rw_state::indeterminate;
          return rw_state::success;
        case SSL_ERROR_WANT_WRITE:
          return rw_state::success;
      }
    };
    if (connecting_) {
      auto res = SSL_connect(ssl_);
      if (res != 1)
        return check(res);
      connecting_ = false;
    }
    if (accepting_) {
      auto res = SSL_accept(ssl_);
      if (res != 1)
        return check(res);
      accepting_ = false;
    }
    if (len == 0) {
      result = 0;
      return rw_state::indeterminate;
    }
    auto ret = f(ssl_, buf, static_cast<int>(len));
    if (ret > 0) {
      result = static_cast<size_t>(ret);
      return rw_state::success;
    }
    result = 0;
    return handle_result(ret) ? rw_state::success : rw_state::failure;
  }

  bool handle_result(int ret) {
    switch (SSL_get_error(ssl_, ret)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return true;
      default:
        ERR_clear_error();
        return false;
    }
  }

  tls_context_ptr ctx_;
  SSL* ssl_;
  bool connecting_ = false;
  bool accepting_ = false;
};

/// Reads and writes of a stream through its TLS session.
struct ssl_policy {
  explicit ssl_policy(std::unique_ptr<tls_session> session)
      : session_(std::move(session)) {
    // nop
  }

  rw_state read_some(size_t& result, native_socket, void* buf, size_t len) {
    return session_->read_some(result, buf, len);
  }

  rw_state write_some(size_t& result, native_socket, const void* buf,
                      size_t len) {
    return session_->write_some(result, buf, len);
  }

  bool try_accept(native_socket&, native_socket) {
    return false; // Streams never accept.
  }

  bool must_read_more(native_socket, size_t threshold) {
    return session_->must_read_more(threshold);
  }

private:
  std::unique_ptr<tls_session> session_;
};

/// A connection of the gate: CAF's scribe (plain TCP, or TLS as CAF's
/// OpenSSL module makes it) whose reads are checked against the gate first.
template <class Policy>
class gated_scribe : public caf::io::scribe {
public:
  static constexpr bool tls = std::is_same_v<Policy, ssl_policy>;

  template <class... Ts>
  gated_scribe(default_mpx& mpx, native_socket fd, gate_ptr gate, Ts&&... xs)
      : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
        gate_(std::move(gate)), stream_(mpx, fd, std::forward<Ts>(xs)...) {
    // nop
  }

  ~gated_scribe() override {
    // Before `stream_` closes the socket.
    if (gate_)
      gate_->release(stream_.fd());
  }

  void configure_read(caf::io::receive_policy::config config) override {
    // BASP asks for exactly one header, then exactly the payload its header
    // announced: refused before the stream resizes its buffer to it. A
    // refused connection is shut down; its next (one-byte) read ends it.
    if (gate_ && !gate_->may_read(stream_.fd(), config.second))
      config = caf::io::receive_policy::at_most(1);
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }

  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }

  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  /// Makes the scribe hold what BASP writes until the TLS handshake of
  /// `session` (owned by the stream) is done.
  void hold_writes_during_handshake(const tls_session* session) {
    handshake_ = session;
  }

  void flush() override {
    // While the server waits for the peer's part of the TLS handshake, a
    // write cannot progress (OpenSSL wants to read) but the socket stays
    // writable: CAF's stream would retry it at once, for ever, and every
    // idle TLS socket would spin the multiplexer's thread. BASP's server
    // handshake waits until the peer's first data, which comes after the
    // TLS handshake.
    if (handshake_ != nullptr && handshake_->accepting()) {
      flush_held_ = true;
      return;
    }
    stream_.flush(this);
  }

  bool consume(caf::execution_unit* ctx, const void* buf,
               size_t num_bytes) override {
    if (flush_held_) {
      flush_held_ = false;
      stream_.flush(this);
    }
    // Only the head's accepted connections have a gate; a forged frame
    // never reaches BASP, and the connection ends at its next read.
    if (gate_ && !forged_) {
      auto& sys = ctx->system();
      if (auto why = frames_.check(sys.node(), buf, num_bytes, &sys);
          !why.empty()) {
        forged_ = true;
        gate_->forged(stream_.fd(),
                      addr() + ':' + std::to_string(port()) + ": " + why);
      }
    }
    if (forged_)
      return true;
    return caf::io::scribe::consume(ctx, buf, num_bytes);
  }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : uint16_t{0};
  }

  void add_to_loop() override {
    stream_.activate(this);
  }

  void remove_from_loop() override {
    stream_.passivate();
  }

private:
  void launch() {
    launched_ = true;
    stream_.start(this);
    // TLS, connecting: schedules the scribe for writing so that the
    // handshake runs (what CAF's OpenSSL scribe does). Accepting, the peer
    // speaks first and its bytes drive the handshake; an empty write would
    // put the held writes back in the stream (see `flush`).
    if constexpr (tls)
      if (handshake_ == nullptr)
        stream_.force_empty_write(this);
  }

  gate_ptr gate_;
  basp_frames frames_;
  bool forged_ = false;
  bool launched_ = false;
  const tls_session* handshake_ = nullptr;
  bool flush_held_ = false;
  caf::io::network::stream_impl<Policy> stream_;
};

/// The gate's doorman: CAF's TCP acceptor; each accepted connection passes
/// the caps first and gets a gated scribe.
class gated_doorman : public caf::io::network::doorman_impl {
public:
  gated_doorman(default_mpx& mx, native_socket fd, gate_ptr gate,
                tls_context_ptr tls)
      : caf::io::network::doorman_impl(mx, fd), gate_(std::move(gate)),
        tls_(std::move(tls)) {
    // nop
  }

  bool new_connection() override {
    if (detached())
      return false;
    auto& dm = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard guard{fd};
    caf::io::network::nonblocking(fd, true);
    auto addr = caf::io::network::remote_addr_of_fd(fd);
    auto port = caf::io::network::remote_port_of_fd(fd);
    if (!addr || !port || !gate_->admit(fd, *addr, *port))
      return false; // The guard closes the socket.
    caf::io::scribe_ptr scribe;
    if (tls_) {
      auto session = std::make_unique<tls_session>(tls_);
      if (!session->valid() || !session->try_accept(fd)) {
        gate_->release(fd);
        return false;
      }
      const auto* handshake = session.get();
      auto tls_scribe = caf::make_counted<gated_scribe<ssl_policy>>(
          dm, fd, gate_, std::move(session));
      tls_scribe->hold_writes_during_handshake(handshake);
      scribe = std::move(tls_scribe);
    } else {
      scribe = caf::make_counted<gated_scribe<caf::policy::tcp>>(dm, fd, gate_);
    }
    guard.release();
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&dm, hdl);
  }

private:
  gate_ptr gate_;
  tls_context_ptr tls_;
};

/// CAF's middleman actor with the gate's doorman; publishing through it
/// (`publish_atom`) listens through the gate.
class gated_middleman : public caf::io::middleman_actor_impl {
public:
  gated_middleman(caf::actor_config& cfg, caf::actor broker, gate_ptr gate,
                  tls_context_ptr tls)
      : caf::io::middleman_actor_impl(cfg, std::move(broker)),
        gate_(std::move(gate)), tls_(std::move(tls)) {
    // nop
  }

  const char* name() const override {
    return "quiesce.gated_middleman";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::io::network::nonblocking(*fd, true);
    if (!tls_)
      return caf::make_counted<gated_scribe<caf::policy::tcp>>(mpx(), *fd,
                                                               nullptr);
    auto session = std::make_unique<tls_session>(tls_);
    if (!session->valid() || !session->try_connect(*fd)) {
      caf::io::network::close_socket(*fd);
      return caf::make_error(caf::sec::cannot_connect_to_node);
    }
    return caf::make_counted<gated_scribe<ssl_policy>>(mpx(), *fd, nullptr,
                                                       std::move(session));
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<gated_doorman>(mpx(), *fd, gate_, tls_);
  }

private:
  default_mpx& mpx() {
    return static_cast<default_mpx&>(system().middleman().backend());
  }

  gate_ptr gate_;
  tls_context_ptr tls_;
};

/// The gate of each actor system that published through one.
struct gate_entry {
  gate_ptr gate;
  caf::io::middleman_actor actor;
};

std::mutex registry_mtx;
std::map<caf::actor_system*, gate_entry> registry;

gate_ptr find_gate(caf::actor_system& sys) {
  std::lock_guard<std::mutex> guard{registry_mtx};
  auto i = registry.find(&sys);
  return i == registry.end() ? nullptr : i->second.gate;
}

// Makes sure this process may open `max_connections` sockets besides the
// descriptors it needs anyway: an accept that fails for lack of descriptors
// leaves the listening socket readable, and CAF's multiplexer spins on it.
std::string reserve_descriptors(const gate_limits& limits) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return {};
  auto needed
      = static_cast<rlim_t>(limits.max_connections) + reserved_descriptors;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed) {
    rl.rlim_cur
        = rl.rlim_max == RLIM_INFINITY ? needed : std::min(needed, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
    return "max_connections (" + std::to_string(limits.max_connections)
           + ") needs " + std::to_string(needed) + " file descriptors (with "
           + std::to_string(reserved_descriptors)
           + " for the head itself), but this process may open only "
           + std::to_string(rl.rlim_cur)
           + " (RLIMIT_NOFILE, see `ulimit -n`): lower max_connections or "
             "raise the limit";
  return {};
}

} // namespace

uint16_t gated_publish(caf::actor_system& sys,
                       const caf::strong_actor_ptr& whom,
                       std::set<std::string> sigs, const std::string& host,
                       uint16_t port, const gate_limits& limits,
                       std::string& error) {
  if (auto err = reserve_descriptors(limits); !err.empty()) {
    error = err;
    return 0;
  }
  caf::io::middleman_actor mm;
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    auto& entry = registry[&sys];
    if (!entry.actor) {
      tls_context_ptr tls;
      if (sys.has_openssl_manager()) {
        std::string why;
        tls = tls_context::make(sys.config(), why);
        if (!tls) {
          registry.erase(&sys);
          error = why;
          return 0;
        }
      }
      entry.gate = std::make_shared<gate_state>(limits);
      auto broker = sys.middleman().named_broker<caf::io::basp_broker>(
          caf::atom("BASP"));
      entry.actor = sys.spawn<gated_middleman, caf::detached + caf::hidden>(
          std::move(broker), entry.gate, std::move(tls));
    }
    mm = entry.actor;
  }
  uint16_t out = 0;
  caf::scoped_actor self{sys};
  self->request(mm, caf::infinite, caf::publish_atom_v, port, whom,
                std::move(sigs), host, true)
      .receive([&](uint16_t actual) { out = actual; },
               [&](caf::error& err) { error = render(err); });
  return out;
}

void gate_authenticated(caf::actor_system& sys, const std::string& addr,
                        uint16_t port) {
  if (auto gate = find_gate(sys))
    gate->authenticated(addr, port);
}

gate_counts gate_statistics(caf::actor_system& sys) {
  if (auto gate = find_gate(sys))
    return gate->counts();
  return {};
}

gate_counts gate_statistics() {
  std::vector<gate_ptr> gates;
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    for (auto& [sys, entry] : registry)
      if (entry.gate)
        gates.push_back(entry.gate);
  }
  gate_counts out;
  for (auto& gate : gates) {
    auto x = gate->counts();
    out.accepted += x.accepted;
    out.refused += x.refused;
    out.evicted += x.evicted;
    out.timed_out += x.timed_out;
    out.oversized += x.oversized;
    out.forged += x.forged;
    if (!x.last_forged.empty())
      out.last_forged = x.last_forged;
    out.open += x.open;
    out.unauthenticated += x.unauthenticated;
  }
  return out;
}

void close_gate(caf::actor_system& sys) {
  gate_entry entry;
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    auto i = registry.find(&sys);
    if (i == registry.end())
      return;
    entry = std::move(i->second);
    registry.erase(i);
  }
  if (entry.actor) {
    caf::scoped_actor self{sys, true};
    self->send_exit(entry.actor, caf::exit_reason::kill);
    self->wait_for(entry.actor);
  }
  if (entry.gate)
    entry.gate->stop();
}

} // namespace quiesce
