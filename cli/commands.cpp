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
      {"certs", install_certs},
      {"top", install_top},
  };
  return entries;
}

std::string exit_status_help(exit_scope scope) {
  if (scope == exit_scope::validate)
    return "Exit status:\n"
           "  0  the file is valid\n"
           "  2  invalid input: the file or the arguments have errors\n";
  std::string out = "Exit status:\n";
  out += scope == exit_scope::run
             ? "  0  every job finished\n"
             : "  0  every job finished (validate: the file is valid)\n";
  out += "  1  some job failed\n"
         "  2  invalid input: bad file or arguments; nothing ran\n"
         "  3  some job was cancelled or terminated, none failed\n"
         "  4  runtime or internal error; no reply in time\n";
  if (scope == exit_scope::all)
    out += "  5  the head refused the request (client commands)\n"
           "  6  head unreachable, not a Quiesce head, or another protocol "
           "version\n";
  return out;
}

namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// CLI11 copies a parent's footer into every subcommand added after it, so
// `quiesce cancel job --help` printed the examples of `cancel task` and
// `cancel tasks` too. Each subcommand that inherited its parent's footer
// keeps its prose and only the example lines that run it.
void narrow_footers(CLI::App& parent, const std::string& path) {
  for (auto* sub : parent.get_subcommands({})) {
    auto sub_path = path + " " + sub->get_name();
    if (sub->get_footer() == parent.get_footer() && !path.empty()) {
      std::string prose;
      std::string examples;
      std::string line;
      auto text = parent.get_footer();
      size_t pos = 0;
      while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos)
          end = text.size();
        line = text.substr(pos, end - pos);
        pos = end + 1;
        if (starts_with(line, "  quiesce ")) {
          auto cmd = line.substr(2);
          if (cmd == sub_path || starts_with(cmd, sub_path + " "))
            examples += line + "\n";
        } else if (line != "Examples:") {
          prose += line + "\n";
        }
      }
      while (prose.size() >= 2
             && prose.compare(prose.size() - 2, 2, "\n\n") == 0)
        prose.pop_back();
      if (!examples.empty())
        prose += (prose.empty() ? "" : "\n") + std::string{"Examples:\n"}
                 + examples;
      sub->footer(prose);
    }
    narrow_footers(*sub, sub_path);
  }
}

} // namespace

void build_app(CLI::App& app, std::vector<installed_command>& commands) {
  app.name("quiesce");
  app.description("Quiesce runs jobs: ordered assessments of parallel tasks.");
  app.set_version_flag("--version", std::string{"quiesce "} + QUIESCE_VERSION);
  app.require_subcommand(1);
  app.footer(std::string{"Examples:\n"
                         "  quiesce run examples/nightly.toml\n"
                         "  quiesce validate examples/batch.toml\n"
                         "  quiesce run --json jobs.toml > report.json\n"
                         "  quiesce run --help\n\n"}
             + exit_status_help());
  for (const auto& entry : command_registry())
    commands.push_back(entry.install(app));
  narrow_footers(app, "quiesce");
}

} // namespace quiesce::cli
