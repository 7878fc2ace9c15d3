// quiesce_docgen: writes a man page per command and the bash completion of
// `quiesce` from the CLI's own command tree (build_app in commands.cpp), the
// tree `quiesce --help` prints, so the three cannot say different things.
// The build runs it; `cmake --install` installs what it wrote.
//
// Usage: quiesce_docgen OUT_DIR
//   OUT_DIR/man1/quiesce.1, quiesce-run.1, quiesce-cancel-job.1, ...
//   OUT_DIR/completion/quiesce  (bash)

#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace quiesce::cli;

namespace {

// Escapes text for roff: backslashes, and a leading dot or quote.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\''))
      out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

std::vector<const CLI::App*> children(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const auto* sub : app.get_subcommands({}))
    out.push_back(sub);
  return out;
}

// "quiesce cancel job"
std::string path_of(const CLI::App& app) {
  std::string out = app.get_name();
  for (const auto* p = app.get_parent(); p != nullptr; p = p->get_parent())
    out = p->get_name() + " " + out;
  return out;
}

std::string dashed(std::string path) {
  for (auto& c : path)
    if (c == ' ')
      c = '-';
  return path;
}

std::string option_label(const CLI::Option& o) {
  if (o.get_positional())
    return o.get_name(true);
  std::string out;
  for (const auto& s : o.get_snames())
    out += (out.empty() ? "-" : ", -") + s;
  for (const auto& l : o.get_lnames())
    out += (out.empty() ? "--" : ", --") + l;
  if (o.get_items_expected_max() > 0 && !o.get_type_name().empty())
    out += " " + o.get_type_name();
  return out;
}

void write_man(const CLI::App& app, const fs::path& dir,
               const std::string& version) {
  auto path = path_of(app);
  auto name = dashed(path);
  std::ofstream out{dir / (name + ".1")};
  out << ".TH \"" << name << "\" 1 \"\" \"" << version
      << "\" \"Quiesce manual\"\n"
      << ".SH NAME\n"
      << roff(name) << " \\- " << roff(app.get_description()) << "\n"
      << ".SH SYNOPSIS\n.B " << roff(path) << "\n";
  auto subs = children(app);
  if (!subs.empty())
    out << "COMMAND\n";
  std::vector<const CLI::Option*> positionals;
  std::vector<const CLI::Option*> flags;
  for (const auto* o : app.get_options({}))
    (o->get_positional() ? positionals : flags).push_back(o);
  if (!flags.empty())
    out << "[OPTIONS]\n";
  for (const auto* o : positionals)
    out << (o->get_required() ? "" : "[") << o->get_name(true)
        << (o->get_items_expected_max() > 1 ? "..." : "")
        << (o->get_required() ? "" : "]") << "\n";
  out << ".SH DESCRIPTION\n" << roff(app.get_description()) << ".\n";
  if (!subs.empty()) {
    out << ".SH COMMANDS\n";
    for (const auto* s : subs)
      out << ".TP\n.B " << roff(s->get_name()) << "\n"
          << roff(s->get_description()) << " (see \\fB"
          << roff(dashed(path_of(*s))) << "\\fR(1))\n";
  }
  if (!positionals.empty()) {
    out << ".SH ARGUMENTS\n";
    for (const auto* o : positionals)
      out << ".TP\n.B " << roff(option_label(*o)) << "\n"
          << roff(o->get_description()) << "\n";
  }
  if (!flags.empty()) {
    out << ".SH OPTIONS\n";
    for (const auto* o : flags) {
      out << ".TP\n.B " << roff(option_label(*o)) << "\n"
          << roff(o->get_description());
      if (!o->get_envname().empty())
        out << " (environment: " << roff(o->get_envname()) << ")";
      out << "\n";
    }
  }
  if (!app.get_footer().empty())
    out << ".SH NOTES\n.nf\n" << roff(app.get_footer()) << "\n.fi\n";
  out << ".SH SEE ALSO\n";
  if (app.get_parent() != nullptr)
    out << "\\fB" << roff(dashed(path_of(*app.get_parent()))) << "\\fR(1)\n";
  else
    out << "The documentation in docs/ of the Quiesce sources.\n";
  for (const auto* s : subs)
    write_man(*s, dir, version);
}

// One `case` arm per command path: its subcommands and its options.
void completion_cases(const CLI::App& app, std::ostream& out) {
  std::string subs;
  std::string opts;
  for (const auto* s : children(app))
    subs += s->get_name() + " ";
  for (const auto* o : app.get_options({}))
    if (!o->get_positional()) {
      for (const auto& l : o->get_lnames())
        opts += "--" + l + " ";
      for (const auto& s : o->get_snames())
        opts += "-" + s + " ";
    }
  out << "    \"" << path_of(app) << "\") subs=\"" << subs << "\" opts=\""
      << opts << "\" ;;\n";
  for (const auto* s : children(app))
    completion_cases(*s, out);
}

void write_completion(const CLI::App& app, const fs::path& file) {
  std::ofstream out{file};
  out << "# bash completion for quiesce, generated by quiesce_docgen from the\n"
         "# command tree of `quiesce --help`.\n"
         "_quiesce() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]}\n"
         "  local path=quiesce subs=\"\" opts=\"\" i w\n"
         "  # The command path: the words so far that name subcommands.\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=${COMP_WORDS[i]}\n"
         "    case \"$path $w\" in\n";
  // Every known command path, so that only subcommand words extend it.
  std::vector<const CLI::App*> stack{&app};
  while (!stack.empty()) {
    const auto* a = stack.back();
    stack.pop_back();
    for (const auto* s : children(*a)) {
      out << "      \"" << path_of(*s) << "\") path=\"$path $w\" ;;\n";
      stack.push_back(s);
    }
  }
  out << "    esac\n"
         "  done\n"
         "  case \"$path\" in\n";
  completion_cases(app, out);
  out << "  esac\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "  elif [[ -n $subs ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "  else\n"
         "    # Files for the rest (job files, runtime files).\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o filenames -F _quiesce quiesce\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: quiesce_docgen OUT_DIR\n";
    return 2;
  }
  CLI::App app;
  std::vector<installed_command> commands;
  build_app(app, commands);
  fs::path dir{argv[1]};
  fs::create_directories(dir / "man1");
  fs::create_directories(dir / "completion");
  write_man(app, dir / "man1", std::string{"quiesce "} + QUIESCE_VERSION);
  write_completion(app, dir / "completion" / "quiesce");
  return 0;
}
