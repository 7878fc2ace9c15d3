// `quiesce validate FILE`: checks a job file and prints what it would run.

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/inputs.hpp"
#include "cli/output.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace quiesce::cli {

namespace {

/// The options of `quiesce validate`.
struct validate_options {
  std::string file;
  std::string runtime_file;
  bool json = false;
};

int validate(const validate_options& o) {
  auto loaded = load_inputs(o.file, o.runtime_file);
  limit_check limits;
  if (loaded.ok()) {
    // Refused only with strict_limits; else one note says what is not
    // enforced here.
    limits = check_limits(loaded.file, o.file);
    loaded.errors = limits.errors;
    if (!loaded.ok())
      loaded.file = {};
  }
  for (const auto& d : loaded.errors)
    std::cerr << to_string(d) << '\n';
  if (loaded.ok())
    // Valid, but beyond the command's reach: say so without failing.
    for (const auto& d : unrunnable_tasks(loaded.file, o.file))
      std::cerr << o.file << ": note: " << d.message << '\n';
  if (loaded.ok() && !limits.note.empty())
    std::cerr << o.file << ": note: " << limits.note << '\n';
  std::cerr << std::flush;
  if (o.json)
    std::cout << validate_report_json(o.file, loaded).dump(2) << std::endl;
  else if (loaded.ok())
    std::cout << config::summarize(loaded.file) << std::flush;
  return loaded.ok() ? exit_ok : exit_invalid_input;
}

} // namespace

installed_command install_validate(CLI::App& app) {
  auto o = std::make_shared<validate_options>();
  auto* sub = app.add_subcommand(
      "validate", "Check a job file and print what it would run");
  sub->add_option("FILE", o->file, "job file (TOML)")->required();
  sub->add_option("--runtime", o->runtime_file,
                  "runtime file (TOML, a [runtime] table) read before FILE");
  sub->add_flag("--json", o->json,
                "print {file, valid, errors, runtime, jobs} as JSON on "
                "stdout");
  sub->footer(std::string{"Examples:\n"
                          "  quiesce validate examples/nightly.toml\n"
                          "  quiesce validate --runtime site.toml jobs.toml\n"
                          "  quiesce validate --json jobs.toml | jq .valid\n\n"}
              + exit_status_help(exit_scope::validate));
  return {sub, [o] {
            return validate(*o);
          }};
}

} // namespace quiesce::cli
