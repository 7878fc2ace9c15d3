#include "messages/records.hpp"

namespace quiesce {

std::string default_output_file(const std::string& dir, task_id task,
                                uint32_t attempt, const char* stream) {
  return dir + "task-" + std::to_string(task) + ".attempt-"
         + std::to_string(attempt) + "." + stream;
}

namespace {

// A path the command names: relative ones are relative to its working
// directory (the launcher opens them there). Without an absolute working
// directory the node's own is meant, which the head does not know: the path
// is shown as given.
std::string named_path(const command_spec& cmd, const std::string& path) {
  if (path.front() == '/' || cmd.workdir.empty() || cmd.workdir.front() != '/')
    return path;
  return cmd.workdir.back() == '/' ? cmd.workdir + path
                                   : cmd.workdir + '/' + path;
}

} // namespace

output_paths output_paths_of(const job_record& job, const task_record& task) {
  output_paths out;
  if (task.spec.kind != work_kind::command || task.attempts == 0)
    return out;
  const auto& cmd = task.spec.command;
  const std::string* dir = nullptr;
  if (cmd.stdout_path.empty() || cmd.stderr_path.empty())
    for (const auto& d : job.output_dirs)
      if (d.node == task.node) {
        dir = &d.dir;
        break;
      }
  if (!cmd.stdout_path.empty())
    out.stdout_path = named_path(cmd, cmd.stdout_path);
  else if (dir != nullptr)
    out.stdout_path
        = default_output_file(*dir, task.id, task.attempts, "stdout");
  if (!cmd.stderr_path.empty())
    out.stderr_path = named_path(cmd, cmd.stderr_path);
  else if (dir != nullptr)
    out.stderr_path
        = default_output_file(*dir, task.id, task.attempts, "stderr");
  return out;
}

} // namespace quiesce
