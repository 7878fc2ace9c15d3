#include "cli/commands.hpp"

namespace quiesce::cli {

const std::vector<command_entry>& command_registry() {
  static const std::vector<command_entry> entries{
      {"run", install_run},
      {"validate", install_validate},
  };
  return entries;
}

std::string_view exit_status_help() {
  return "Exit status:\n"
         "  0  every job finished (validate: the file is valid)\n"
         "  1  some job failed\n"
         "  2  invalid input: bad file or arguments; nothing ran\n"
         "  3  some job was cancelled or terminated, none failed\n"
         "  4  runtime or internal error\n";
}

} // namespace quiesce::cli
