#include "cli/inputs.hpp"

#include "execution/cgroup.hpp"

#include <map>
#include <optional>

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

limit_check check_limits(const config::job_file& file,
                         const std::string& path) {
  limit_check out;
  std::optional<process::limit_support> support;
  // Per limit key: how many tasks set it without it being enforced here.
  std::map<std::string, size_t> unenforced_count;
  std::string first_why;
  for (const auto& job : file.jobs) {
    for (size_t a = 0; a < job.assessments.size(); ++a) {
      const auto& tasks = job.assessments[a].tasks;
      for (size_t t = 0; t < tasks.size(); ++t) {
        const auto& limits = tasks[t].command.limits;
        if (tasks[t].kind != work_kind::command || !limits.any())
          continue;
        if (!support)
          support = process::probe_limits();
        auto why = process::unenforced(limits, *support);
        if (why.empty())
          continue;
        if (file.runtime.strict_limits) {
          std::string where
              = "job '" + job.name + "', assessment " + std::to_string(a)
                + ", task "
                + (tasks[t].name.empty() ? std::to_string(t)
                                         : "'" + tasks[t].name + "'");
          out.errors.push_back(
              {path, 0, 0, where + ": " + why + ", and strict_limits is set"});
          continue;
        }
        using ctl = process::limit_support;
        for (auto c : {ctl::memory, ctl::pids, ctl::cpu}) {
          bool set = c == ctl::memory ? limits.memory_max != 0
                     : c == ctl::pids ? limits.pids_max != 0
                                      : limits.cpu_millis != 0;
          if (set && !support->enforced(c))
            ++unenforced_count[process::limit_key(c)];
        }
        if (first_why.empty())
          first_why = why;
      }
    }
  }
  if (!unenforced_count.empty()) {
    out.note = "limits not enforced on this machine, the tasks run without "
               "them: "
               + first_why + " (";
    bool first = true;
    for (const auto& [key, count] : unenforced_count) {
      out.note += (first ? "" : ", ") + key + " set by " + std::to_string(count)
                  + (count == 1 ? " task" : " tasks");
      first = false;
    }
    out.note += "; set strict_limits = true to refuse them instead)";
  }
  return out;
}

} // namespace quiesce::cli
