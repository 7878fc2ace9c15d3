#include "config/job_file.hpp"

#include "config/toml_reader.hpp"

#include <algorithm>
#include <map>

namespace quiesce::config {

namespace {

using detail::describe_type;
using detail::quote;

const std::vector<std::string_view> top_level_keys{"runtime", "job"};

const std::vector<std::string_view> job_keys{
    "name",       "assessment", "stop_on_assessment_error",
    "grace",      "retries",    "stop_commands_on_cancel",
    "memory_max", "cpus",       "pids_max",
};

const std::vector<std::string_view> assessment_keys{"name", "task"};

const std::vector<std::string_view> task_keys{
    "name",   "command",    "shell",       "env",   "workdir",    "stdout",
    "stderr", "time_limit", "stop_signal", "grace", "rerunnable", "label",
    "work",   "args",       "memory_max",  "cpus",  "pids_max",
};

// Keys that only make sense for a process.
const std::vector<std::string_view> command_only_keys{
    "shell",       "env",        "workdir", "stdout",   "stderr",
    "stop_signal", "memory_max", "cpus",    "pids_max",
};

bool contains(const std::vector<std::string_view>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// Remembers where each name was first defined to report duplicates.
class name_registry {
public:
  explicit name_registry(std::string what) : what_(std::move(what)) {}

  void add(detail::reader& in, const toml::node* where,
           const std::string& name) {
    auto line = where->source().begin.line;
    auto [i, added] = first_.emplace(name, line);
    if (!added)
      in.error(*where, "duplicate " + what_ + " name " + quote(name)
                           + " (first defined at line "
                           + std::to_string(i->second) + ")");
  }

private:
  std::string what_;
  std::map<std::string, uint32_t> first_;
};

class job_reader {
public:
  job_reader(detail::reader& in, const settings& runtime)
      : in_(in), runtime_(runtime) {}

  job_spec read_job(const toml::table& table) {
    job_spec result;
    in_.check_keys(table, job_keys, "job");
    if (!table.contains("name")) {
      in_.error(table, "job has no 'name': expected name = \"...\"");
    } else if (auto name = in_.read_name(table, "name")) {
      result.name = *name;
      job_names_.add(in_, table.get("name"), *name);
    }
    auto label = result.name.empty() ? std::string{"job"}
                                     : "job " + quote(result.name);
    auto& policy = result.policy;
    policy.grace = runtime_.grace;
    policy.retries = runtime_.retries;
    if (auto x = in_.read_bool(table, "stop_on_assessment_error"))
      policy.stop_on_assessment_error = *x;
    if (auto x = in_.read_duration(table, "grace"))
      policy.grace = *x;
    if (auto x = in_.read_integer(table, "retries", 0, 1000))
      policy.retries = static_cast<uint32_t>(*x);
    if (auto x = in_.read_bool(table, "stop_commands_on_cancel"))
      policy.stop_commands_on_cancel = *x;
    // The job's limits are the defaults of its command tasks.
    job_limits_ = {};
    detail::read_limits(in_, table, job_limits_);
    auto assessments = tables_at(table, "assessment", "[[job.assessment]]");
    if (!table.contains("assessment"))
      in_.error(table, label
                           + " has no assessments: expected at least one "
                             "[[job.assessment]] table");
    name_registry task_names{"task"};
    name_registry assessment_names{"assessment"};
    for (size_t i = 0; i < assessments.size(); ++i)
      result.assessments.push_back(read_assessment(
          *assessments[i], i, label, assessment_names, task_names));
    return result;
  }

  // Returns the tables of the array of tables at `key`, reporting any other
  // shape, including an empty array.
  std::vector<const toml::table*> tables_at(const toml::table& parent,
                                            std::string_view key,
                                            std::string_view header) {
    std::vector<const toml::table*> result;
    auto node = parent.get(key);
    if (node == nullptr)
      return result;
    auto what = "'" + std::string{key} + "': expected an array of tables ("
                + std::string{header} + ")";
    auto array = node->as_array();
    if (array == nullptr) {
      auto found = node->is_table() ? "a table (write " + std::string{header}
                                          + " with double brackets)"
                                    : std::string{describe_type(*node)};
      in_.error(*node, what + ", found " + found);
      return result;
    }
    if (array->empty())
      in_.error(*node, what + ", found an empty array");
    for (const auto& element : *array) {
      if (auto table = element.as_table())
        result.push_back(table);
      else
        in_.error(element, what + ", found an array element that is "
                               + std::string{describe_type(element)});
    }
    return result;
  }

private:
  assessment_spec read_assessment(const toml::table& table, size_t index,
                                  const std::string& job_label,
                                  name_registry& assessment_names,
                                  name_registry& task_names) {
    assessment_spec result;
    in_.check_keys(table, assessment_keys, "assessment");
    if (auto name = in_.read_name(table, "name")) {
      result.name = *name;
      assessment_names.add(in_, table.get("name"), *name);
    }
    auto tasks = tables_at(table, "task", "[[job.assessment.task]]");
    if (!table.contains("task")) {
      auto label = result.name.empty() ? "assessment " + std::to_string(index)
                                             + " of " + job_label
                                       : "assessment " + quote(result.name);
      in_.error(table, label
                           + " has no tasks: expected at least one "
                             "[[job.assessment.task]] table");
    }
    for (auto task : tasks)
      result.tasks.push_back(read_task(*task, task_names));
    return result;
  }

  task_spec read_task(const toml::table& table, name_registry& task_names) {
    task_spec result;
    in_.check_keys(table, task_keys, "task");
    if (auto name = in_.read_name(table, "name")) {
      result.name = *name;
      task_names.add(in_, table.get("name"), *name);
    }
    auto command = table.get("command");
    auto work = table.get("work");
    if (command != nullptr && work != nullptr) {
      in_.error(*work, "task has both 'command' and 'work': a task runs "
                       "either a command or a work function");
    } else if (command == nullptr && work == nullptr) {
      // "comand" already got a did-you-mean; one error is enough.
      if (!has_misspelled_work(table))
        in_.error(table, "task has neither 'command' nor 'work': set command = "
                         "[\"program\", \"argument\"] or work = \"name\"");
    } else if (command != nullptr) {
      result.kind = work_kind::command;
      result.command = read_command(table, *command);
      result.command.limits = job_limits_;
      detail::read_limits(in_, table, result.command.limits);
      if (auto x = in_.read_signal(table, "stop_signal"))
        result.stop_signal = *x;
    } else {
      result.kind = work_kind::function;
      if (auto x = in_.read_name(table, "work"))
        result.work = *x;
      if (auto x = in_.read_string_array(table, "args"))
        result.args = std::move(*x);
      for (auto&& [key, value] : table)
        if (contains(command_only_keys, key.str()))
          in_.error(key.source(), "'" + std::string{key.str()}
                                      + "' applies only to command tasks, "
                                        "not to a work function");
    }
    if (auto x = in_.read_duration(table, "time_limit"))
      result.time_limit = *x;
    if (auto x = in_.read_duration(table, "grace"))
      result.grace = *x;
    if (auto x = in_.read_bool(table, "rerunnable"))
      result.rerunnable = *x;
    if (auto x = in_.read_string(table, "label"))
      result.label = *x;
    return result;
  }

  static bool has_misspelled_work(const toml::table& table) {
    for (auto&& [key, value] : table) {
      if (contains(task_keys, key.str()))
        continue;
      auto guess = closest_match(key.str(), task_keys);
      if (guess == "command" || guess == "work")
        return true;
    }
    return false;
  }

  command_spec read_command(const toml::table& table,
                            const toml::node& command) {
    command_spec spec;
    auto shell_node = table.get("shell");
    auto shell = in_.read_bool(table, "shell");
    if (auto text = command.as_string()) {
      if (shell.value_or(false)) {
        if (text->get().find_first_not_of(" \t\n") == std::string::npos)
          in_.error(command,
                    "'command': expected a shell command, found "
                        + std::string{text->get().empty() ? "an empty string"
                                                          : "only whitespace"});
        else if (text->get().find('\0') != std::string::npos)
          in_.error(command, "'command': expected a string without NUL");
        else
          spec.argv = {"/bin/sh", "-c", text->get()};
      } else if (shell_node == nullptr || shell) {
        // A bad 'shell' value was reported already.
        in_.error(command,
                  "'command' is a string but 'shell' is not true: set shell "
                  "= true to run it with /bin/sh -c, or write the command "
                  "as an array such as [\"make\", \"-j2\"]");
      }
    } else if (auto array = command.as_array()) {
      if (shell.value_or(false))
        in_.error(*shell_node, "'shell = true' needs 'command' to be a "
                               "string, found an array");
      if (array->empty()) {
        in_.error(command, "'command': expected a non-empty array of strings "
                           "(program and arguments), found an empty array");
      } else if (auto argv = in_.read_string_array(table, "command")) {
        if (argv->front().empty())
          in_.error(*array->get(0),
                    "'command'[0]: expected a program name, found an empty "
                    "string");
        else
          spec.argv = std::move(*argv);
      }
    } else {
      in_.error(command, "'command': expected an array of strings (or a "
                         "string with shell = true), found "
                             + std::string{describe_type(command)});
    }
    spec.env = read_env(table);
    if (auto x = in_.read_path(table, "workdir"))
      spec.workdir = *x;
    if (auto x = in_.read_path(table, "stdout"))
      spec.stdout_path = *x;
    if (auto x = in_.read_path(table, "stderr"))
      spec.stderr_path = *x;
    if (auto args = table.get("args"))
      in_.error(*args, "'args' applies only to work functions; put a "
                       "command's arguments in 'command'");
    return spec;
  }

  std::map<std::string, std::string> read_env(const toml::table& table) {
    std::map<std::string, std::string> result;
    auto node = table.get("env");
    if (node == nullptr)
      return result;
    auto env = node->as_table();
    if (env == nullptr) {
      in_.error(*node, "'env': expected a table of strings such as { CC = "
                       "\"gcc\" }, found "
                           + std::string{describe_type(*node)});
      return result;
    }
    for (auto&& [key, value] : *env) {
      std::string name{key.str()};
      if (name.empty()
          || name.find_first_of("=\0", 0, 2) != std::string::npos) {
        in_.error(key.source(), "'env': expected a variable name without '=', "
                                "found "
                                    + quote(name));
        continue;
      }
      auto str = value.as_string();
      if (str == nullptr) {
        in_.error(value, "'env." + name + "': expected a string, found "
                             + std::string{describe_type(value)});
        continue;
      }
      if (str->get().find('\0') != std::string::npos) {
        in_.error(value, "'env." + name + "': expected a string without NUL");
        continue;
      }
      result[name] = str->get();
    }
    return result;
  }

  detail::reader& in_;
  const settings& runtime_;
  name_registry job_names_{"job"};
  process::resource_limits job_limits_; // of the job being read
};

std::string top_level_hint(std::string_view key) {
  if (contains(detail::runtime_keys(), key))
    return " (runtime settings go in a [runtime] table)";
  if (contains(job_keys, key))
    return " (job settings go in a [[job]] table)";
  if (auto guess = closest_match(key, top_level_keys); !guess.empty())
    return " (did you mean '" + std::string{guess} + "'?)";
  return {};
}

} // namespace

load_result parse_job_file(std::string_view text,
                           const std::string& source_name,
                           const settings& defaults) {
  load_result result;
  auto doc = detail::parse_document(text, source_name);
  if (!doc.root) {
    result.errors.push_back(std::move(*doc.error));
    return result;
  }
  detail::reader in{source_name};
  const auto& root = *doc.root;
  for (auto&& [key, value] : root)
    if (!contains(top_level_keys, key.str()))
      in.error(key.source(), "unknown top-level key '" + std::string{key.str()}
                                 + "'" + top_level_hint(key.str()));
  job_file file;
  file.runtime = defaults;
  if (auto node = root.get("runtime")) {
    if (auto table = node->as_table()) {
      file.runtime = detail::read_runtime_table(in, *table, defaults);
      file.has_runtime = true;
    } else {
      in.error(*node, "'runtime': expected a table ([runtime]), found "
                          + std::string{describe_type(*node)});
    }
  }
  job_reader jobs{in, file.runtime};
  auto tables = jobs.tables_at(root, "job", "[[job]]");
  if (!root.contains("job"))
    in.error(toml::source_region{{1, 1}, {1, 1}, nullptr},
             "no jobs: expected at least one [[job]] table");
  for (auto table : tables)
    file.jobs.push_back(jobs.read_job(*table));
  result.errors = in.sorted_errors();
  if (result.ok())
    result.file = std::move(file);
  return result;
}

load_result load_job_file(const std::string& path, const settings& defaults) {
  auto content = detail::read_file(path);
  if (!content.text) {
    load_result result;
    result.errors.push_back(std::move(*content.error));
    return result;
  }
  return parse_job_file(*content.text, path, defaults);
}

} // namespace quiesce::config
