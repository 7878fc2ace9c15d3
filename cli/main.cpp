// The `quiesce` executable: parses the command line and hands over to the
// selected subcommand. Everything else lives in the command files.

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace quiesce::cli;
  CLI::App app;
  std::vector<installed_command> commands;
  build_app(app, commands);
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
