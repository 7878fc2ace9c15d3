#include "cli/inputs.hpp"

namespace quiesce::cli {

config::load_result load_inputs(const std::string& path,
                                const std::string& runtime_path,
                                const settings& base) {
  auto defaults = base;
  if (!runtime_path.empty()) {
    auto rt = config::load_runtime_file(runtime_path, base);
    if (!rt.ok())
      return rt;
    defaults = rt.file.runtime;
  }
  return config::load_job_file(path, defaults);
}

std::vector<config::diagnostic> unrunnable_tasks(const config::job_file& file,
                                                 const std::string& path) {
  std::vector<config::diagnostic> out;
  for (const auto& job : file.jobs) {
    for (size_t a = 0; a < job.assessments.size(); ++a) {
      const auto& tasks = job.assessments[a].tasks;
      for (size_t t = 0; t < tasks.size(); ++t) {
        if (tasks[t].kind != work_kind::function)
          continue;
        std::string where
            = "job '" + job.name + "', assessment " + std::to_string(a)
              + ", task "
              + (tasks[t].name.empty() ? std::to_string(t)
                                       : "'" + tasks[t].name + "'");
        out.push_back({path, 0, 0,
                       where + ": work function '" + tasks[t].work
                           + "' cannot run from the quiesce command, which "
                             "registers no work functions; run it from a "
                             "program that embeds the runtime"});
      }
    }
  }
  return out;
}

} // namespace quiesce::cli
