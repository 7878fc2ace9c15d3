#pragma once

#include "config/settings.hpp"

#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace quiesce {

/// Loads Quiesce's type-ID block (and the io module's types) into `cfg`.
/// Call exactly once per configuration, before creating the actor system: a
/// host attaching a runtime to its own system calls this (or `configure`).
void add_message_types(caf::actor_system_config& cfg);

/// Builds Quiesce's actor-system configuration in code (never from a stray
/// caf-application.ini): message types, scheduler policy and thread count.
/// Everything that creates an actor system for Quiesce calls this: the
/// runtime, the CLI, tests and benchmarks.
void configure(caf::actor_system_config& cfg, uint32_t threads,
               const std::string& scheduler = "sharing");

/// Loads CAF's network layer into `cfg` with heartbeats, so that a peer that
/// dies or stops is noticed after `connection_timeout`.
void configure_network(caf::actor_system_config& cfg,
                       std::chrono::milliseconds heartbeat_interval,
                       std::chrono::milliseconds connection_timeout);

/// When `s` asks for TLS (any `tls_*` setting), checks those settings, reads
/// the key's passphrase and loads CAF's OpenSSL module into `cfg` with them:
/// every connection of the system then requires and verifies a certificate
/// on both ends (docs/security.md). Call after `configure_network`. Returns
/// "" or why the settings cannot be used (nothing is loaded then).
std::string configure_tls(caf::actor_system_config& cfg, const settings& s);

/// Returns the scheduler threads to use when none is given: the number of
/// cores, at least 2, for a process that runs work (`local_node`); 1 for a
/// head without a local node, whose actors only pass messages on and
/// decide: there a second thread costs a thread hand-off per message hop
/// and gains nothing (docs/performance.md, "One scheduler thread on a
/// head").
uint32_t default_threads(bool local_node = true);

} // namespace quiesce
