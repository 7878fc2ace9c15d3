// The `quiesce` executable: parses the command line and hands over to the
// selected subcommand. Everything else lives in the command files.

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace quiesce::cli;
  CLI::App app{"Quiesce runs jobs: ordered assessments of parallel tasks.",
               "quiesce"};
  app.set_version_flag("--version", std::string{"quiesce "} + QUIESCE_VERSION);
  app.require_subcommand(1);
  app.footer(std::string{"Examples:\n"
                         "  quiesce run examples/nightly.toml\n"
                         "  quiesce validate examples/batch.toml\n"
                         "  quiesce run --json jobs.toml > report.json\n"
                         "  quiesce run --help\n\n"}
             + std::string{exit_status_help()});
  std::vector<installed_command> commands;
  for (const auto& entry : command_registry())
    commands.push_back(entry.install(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with a zero exit code.
    return app.exit(e) == 0 ? exit_ok : exit_invalid_input;
  }
  for (auto& cmd : commands)
    if (cmd.app->parsed())
      return cmd.run();
  return exit_invalid_input;
}
