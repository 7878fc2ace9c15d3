#include "cli/commands.hpp"

namespace quiesce::cli {

const std::vector<command_entry>& command_registry() {
  static const std::vector<command_entry> entries{
      {"run", install_run},
      {"validate", install_validate},
      {"head", install_head},
      {"node", install_node},
      {"submit", install_submit},
      {"cancel", install_cancel},
      {"terminate", install_terminate},
      {"requeue", install_requeue},
      {"list", install_list},
      {"status", install_status},
      {"wait", install_wait},
      {"events", install_events},
  };
  return entries;
}

std::string_view exit_status_help() {
  return "Exit status:\n"
         "  0  every job finished (validate: the file is valid)\n"
         "  1  some job failed\n"
         "  2  invalid input: bad file or arguments; nothing ran\n"
         "  3  some job was cancelled or terminated, none failed\n"
         "  4  runtime or internal error; no reply in time\n"
         "  5  the head refused the request (client commands)\n"
         "  6  head unreachable, not a Quiesce head, or another protocol "
         "version\n";
}

} // namespace quiesce::cli
