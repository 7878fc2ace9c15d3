#pragma once

// Who is on the other end of a loopback TCP connection (internal): the
// development mode's identity (docs/security.md). Linux lists every TCP
// socket of the machine with the uid that owns it in /proc/net/tcp and
// /proc/net/tcp6; over loopback both ends are on this machine, so the owner
// of the peer's socket is the peer's user, as SO_PEERCRED gives for Unix
// sockets. The head asks CAF's middleman for the address of the connection
// a node id came over, so the identity is bound to that connection.

#include "actors/interfaces.hpp"
#include "runtime/remote.hpp"

#include <caf/actor_system.hpp>

#include <optional>
#include <string>
#include <sys/types.h>

namespace quiesce {

/// Returns the uid owning the TCP socket of this machine whose local end is
/// `addr`:`port` and whose other end is a socket of this process, or nothing
/// (with `error` set) if there is none.
std::optional<uid_t> peer_uid(const std::string& addr, uint16_t port,
                              std::string& error);

/// Returns the uid owning the socket that listens at `where` on this
/// machine, or nothing (with `error` set) if none does or `where` is not a
/// loopback address.
std::optional<uid_t> listener_uid(const endpoint& where, std::string& error);

/// Returns whether `host` names a loopback address (127.0.0.0/8, ::1 or
/// "localhost").
bool is_loopback(const std::string& host);

/// Returns the login name of `uid`, or "uid:N" when it has none.
std::string user_name(uid_t uid);

/// Checks, before a client or node talks to the head at `where` without
/// TLS, that the head runs as this process's user: returns `ok`, or
/// `permission_denied` with `error` saying why. Unless `strict`, a head that
/// cannot be found (nothing listens yet) passes: connecting then reports it.
result_code check_head_user(const endpoint& where, std::string& error,
                            bool strict = true);

/// Spawns the head's authenticator: it answers `verify_peer` with the
/// identity of the process behind a peer's connection or `permission_denied`.
/// Without `ca_file` (development mode) that is the head's own user, as
/// admin, found by uid; with it (TLS), the subject of the certificate the
/// peer proved it holds, which must chain to `ca_file` (runtime/tls.hpp).
/// Throws std::runtime_error when `ca_file` cannot be loaded.
authenticator_actor spawn_authenticator(caf::actor_system& sys,
                                        const std::string& ca_file = {});

} // namespace quiesce
