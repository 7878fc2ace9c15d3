#include "config/duration.hpp"
#include "config/job_file.hpp"
#include "config/limits.hpp"
#include "config/signal.hpp"

#include <algorithm>
#include <sstream>

namespace quiesce::config {

namespace {

// Quotes like a POSIX shell so that a printed command can be pasted.
std::string shell_quote(const std::string& x) {
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || std::string_view{"_@%+=:,./-"}.find(c) != std::string_view::npos;
  };
  if (!x.empty() && std::all_of(x.begin(), x.end(), safe))
    return x;
  std::string result = "'";
  for (auto c : x) {
    if (c == '\'')
      result += "'\\''";
    else
      result += c;
  }
  result += '\'';
  return result;
}

std::string join_quoted(const std::vector<std::string>& xs) {
  std::string result;
  for (const auto& x : xs) {
    if (!result.empty())
      result += ' ';
    result += shell_quote(x);
  }
  return result;
}

std::string named(std::string_view kind, const std::string& name,
                  size_t index) {
  std::string result{kind};
  result += ' ';
  if (name.empty())
    result += '#' + std::to_string(index);
  else
    result += '"' + name + '"';
  return result;
}

std::string yes_no(bool x) {
  return x ? "yes" : "no";
}

std::string count_or(uint32_t x, const char* zero) {
  return x == 0 ? std::string{zero} : std::to_string(x);
}

void write_task(std::ostringstream& out, const task_spec& task, size_t index) {
  out << "    " << named("task", task.name, index) << ": ";
  if (task.kind == work_kind::command)
    out << "command " << join_quoted(task.command.argv) << '\n';
  else
    out << "work " << task.work
        << (task.args.empty() ? "" : " " + join_quoted(task.args)) << '\n';
  std::vector<std::string> options;
  const auto& cmd = task.command;
  for (const auto& [key, value] : cmd.env)
    options.push_back("env " + key + "=" + shell_quote(value));
  if (!cmd.workdir.empty())
    options.push_back("workdir " + cmd.workdir);
  if (!cmd.stdout_path.empty())
    options.push_back("stdout " + cmd.stdout_path);
  if (!cmd.stderr_path.empty())
    options.push_back("stderr " + cmd.stderr_path);
  if (task.time_limit.count() > 0)
    options.push_back("time limit " + format_duration(task.time_limit));
  if (task.kind == work_kind::command && task.stop_signal != 15)
    options.push_back("stop signal " + signal_name(task.stop_signal));
  if (cmd.limits.memory_max != 0)
    options.push_back("memory max "
                      + format_memory_size(cmd.limits.memory_max));
  if (cmd.limits.cpu_millis != 0)
    options.push_back("cpus " + format_cpus(cmd.limits.cpu_millis));
  if (cmd.limits.pids_max != 0)
    options.push_back("pids max " + std::to_string(cmd.limits.pids_max));
  if (task.grace.count() >= 0)
    options.push_back("grace " + format_duration(task.grace));
  if (!task.rerunnable)
    options.emplace_back("not rerunnable");
  if (!task.label.empty())
    options.push_back("label " + task.label);
  for (const auto& option : options)
    out << "      " << option << '\n';
}

} // namespace

std::string summarize(const job_file& x) {
  std::ostringstream out;
  const auto& rt = x.runtime;
  out << "runtime" << (x.has_runtime ? "" : " (defaults)") << ":\n"
      << "  threads " << count_or(rt.threads, "auto") << ", slots "
      << count_or(rt.slots, "auto") << ", scheduler " << rt.scheduler
      << ", max running jobs " << count_or(rt.max_running_jobs, "unlimited")
      << '\n'
      << "  grace " << format_duration(rt.grace) << ", retries " << rt.retries
      << ", run dir " << rt.run_dir << '\n'
      << "  listen " << rt.listen << ", heartbeat "
      << format_duration(rt.heartbeat_interval) << ", node timeout "
      << format_duration(rt.connection_timeout) << ", head lease "
      << format_duration(rt.head_lease) << '\n';
  out << x.jobs.size() << (x.jobs.size() == 1 ? " job" : " jobs") << '\n';
  for (size_t j = 0; j < x.jobs.size(); ++j) {
    const auto& job = x.jobs[j];
    const auto& policy = job.policy;
    out << named("job", job.name, j) << ": " << job.assessments.size()
        << (job.assessments.size() == 1 ? " assessment" : " assessments")
        << ", stop on assessment error "
        << yes_no(policy.stop_on_assessment_error) << ", grace "
        << format_duration(policy.grace) << ", retries " << policy.retries
        << ", stop commands on cancel "
        << yes_no(policy.stop_commands_on_cancel) << '\n';
    for (size_t a = 0; a < job.assessments.size(); ++a) {
      const auto& assessment = job.assessments[a];
      out << "  " << a << ". " << named("assessment", assessment.name, a)
          << ": " << assessment.tasks.size()
          << (assessment.tasks.size() == 1 ? " task" : " tasks") << '\n';
      for (size_t t = 0; t < assessment.tasks.size(); ++t)
        write_task(out, assessment.tasks[t], t);
    }
  }
  return out.str();
}

} // namespace quiesce::config
