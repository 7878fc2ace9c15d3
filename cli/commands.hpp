#pragma once

// The registry of `quiesce` subcommands. Each command group lives in its own
// source file and exposes one installer that adds its CLI11 subcommand with
// options, help and examples; adding a command means adding a file and one
// line to `command_registry()`.

#include <CLI/CLI.hpp>

#include <functional>
#include <string_view>
#include <vector>

namespace quiesce::cli {

/// Runs a parsed subcommand; returns the process's exit status.
using command_runner = std::function<int()>;

/// A subcommand added to the application.
struct installed_command {
  /// The CLI11 subcommand (owned by the application).
  CLI::App* app = nullptr;
  /// What to run when the command line selected it.
  command_runner run;
};

/// Adds one subcommand to `app`.
using command_installer = installed_command (*)(CLI::App& app);

/// One entry of the registry.
struct command_entry {
  /// The subcommand's name, as typed.
  std::string_view name;
  /// Adds it.
  command_installer install;
};

/// Returns every subcommand, in the order `quiesce --help` lists them.
const std::vector<command_entry>& command_registry();

/// Adds `quiesce run` (run.cpp).
installed_command install_run(CLI::App& app);

/// Adds `quiesce validate` (validate.cpp).
installed_command install_validate(CLI::App& app);

/// Adds `quiesce head` (head.cpp).
installed_command install_head(CLI::App& app);

/// Adds `quiesce node` (node.cpp).
installed_command install_node(CLI::App& app);

/// Adds `quiesce submit` (client.cpp).
installed_command install_submit(CLI::App& app);

/// Adds `quiesce cancel job|assessment|task|tasks` (client.cpp).
installed_command install_cancel(CLI::App& app);

/// Adds `quiesce terminate job` (client.cpp).
installed_command install_terminate(CLI::App& app);

/// Adds `quiesce requeue task|job` (client.cpp).
installed_command install_requeue(CLI::App& app);

/// Adds `quiesce list jobs|tasks|nodes` (client.cpp).
installed_command install_list(CLI::App& app);

/// Adds `quiesce status` (client.cpp).
installed_command install_status(CLI::App& app);

/// Adds `quiesce wait` (client.cpp).
installed_command install_wait(CLI::App& app);

/// Adds `quiesce events` (events.cpp).
installed_command install_events(CLI::App& app);

/// `quiesce certs init|issue`: a CA and certificates for mutual TLS.
installed_command install_certs(CLI::App& app);

/// Adds `quiesce top` (top.cpp).
installed_command install_top(CLI::App& app);

/// Which commands' exit statuses a help text lists.
enum class exit_scope {
  /// Every status (`quiesce --help`).
  all,
  /// `quiesce run`: the jobs' outcomes and local errors, no head.
  run,
  /// `quiesce validate`: valid or not.
  validate,
};

/// Returns the exit-status table of `scope` for the help texts.
std::string exit_status_help(exit_scope scope = exit_scope::all);

/// Builds the whole command tree on `app` (name, version, every subcommand
/// with its help and examples); the runners of the subcommands are appended
/// to `commands`. `quiesce` itself, the man page generator and the shell
/// completion generator all call this, so their texts cannot differ.
void build_app(CLI::App& app, std::vector<installed_command>& commands);

} // namespace quiesce::cli
