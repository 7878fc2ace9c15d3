// The client commands that send one request to a head and print its reply:
// `submit`, `cancel job|assessment|task|tasks`, `terminate job`,
// `requeue task|job`, `list jobs|tasks|nodes`, `status` and `wait`. The
// shared pieces (options, connection, printing the code) are here too;
// `events` lives in events.cpp.

#include "cli/client.hpp"

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/inputs.hpp"
#include "cli/output.hpp"
#include "config/duration.hpp"
#include "messages/status.hpp"
#include "messages/text.hpp"
#include "runtime/tls.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

namespace quiesce::cli {

using nlohmann::json;

// -- shared pieces ------------------------------------------------------------

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (config::parse_duration(text))
          return {};
        return "'" + text + "' is not a duration (e.g. 250ms, 30s, 1m30s)";
      },
      "DURATION");
}

CLI::Validator endpoint_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        endpoint tmp;
        return parse_endpoint(text, tmp);
      },
      "HOST:PORT");
}

std::chrono::milliseconds parse_ms(const std::string& text) {
  auto x = config::parse_duration(text);
  if (!x)
    return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(*x);
}

std::string client_name() {
  return "cli:" + default_process_name();
}

void add_client_options(CLI::App* sub, client_options& o,
                        const std::string& default_timeout,
                        const std::string& timeout_help) {
  o.timeout = default_timeout;
  sub->add_option("--head", o.head,
                  "the head, HOST:PORT (default: $QUIESCE_HEAD, else "
                      + settings{}.head + ")")
      ->envname("QUIESCE_HEAD")
      ->check(endpoint_validator());
  sub->add_option("--timeout", o.timeout,
                  timeout_help + " (default " + default_timeout + ")")
      ->check(duration_validator());
  sub->add_flag("--json", o.json,
                "print one JSON document on stdout (with \"code\" and "
                "\"detail\")");
  sub->add_option("--tls-ca", o.tls_ca,
                  "PEM file of the CA the head's certificate must chain to; "
                  "turns mutual TLS on")
      ->envname("QUIESCE_TLS_CA")
      ->group("TLS");
  sub->add_option("--tls-cert", o.tls_cert,
                  "PEM file of this client's certificate")
      ->envname("QUIESCE_TLS_CERT")
      ->group("TLS");
  sub->add_option("--tls-key", o.tls_key, "PEM file of this client's key")
      ->envname("QUIESCE_TLS_KEY")
      ->group("TLS");
  sub->add_option("--tls-passphrase", o.tls_passphrase,
                  "where the key's passphrase is read: file:PATH or env:NAME")
      ->envname("QUIESCE_TLS_PASSPHRASE")
      ->group("TLS");
}

client_session::client_session(const client_options& o) : opts_(o) {
  parse_endpoint(opts_.head, where_);
  timeout_ = parse_ms(opts_.timeout);
  if (timeout_.count() <= 0)
    timeout_ = std::chrono::milliseconds{1};
}

bool client_session::open() {
  settings s;
  s.head = opts_.head;
  // A client never waits longer to connect than for its reply.
  s.connect_timeout = std::min(timeout_, s.connect_timeout);
  s.request_timeout = timeout_;
  s.tls_ca = opts_.tls_ca;
  s.tls_cert = opts_.tls_cert;
  s.tls_key = opts_.tls_key;
  s.tls_passphrase = opts_.tls_passphrase;
  // Unusable TLS settings are bad input: nothing is sent.
  if (auto err = tls::check(s); !err.empty()) {
    status_ = exit_invalid_input;
    std::cerr << "quiesce: " << err << std::endl;
    if (opts_.json) {
      json doc;
      doc["code"] = std::string{to_name(result_code::invalid_argument)};
      doc["detail"] = err;
      std::cout << doc.dump(2) << std::endl;
    }
    return false;
  }
  auto connected = connect(s, client_name());
  if (connected.client) {
    client_ = std::move(connected.client);
    return true;
  }
  auto code = connected.code;
  auto& error = connected.error;
  status_ = exit_status_for_reply(code);
  std::cerr << "quiesce: " << error << std::endl;
  if (opts_.json) {
    json doc;
    doc["code"] = std::string{to_name(code)};
    doc["detail"] = error;
    doc["head"] = to_string(where_);
    std::cout << doc.dump(2) << std::endl;
  }
  return false;
}

int client_session::finish(result_code code, const std::string& detail,
                           json doc, const std::string& human) {
  auto text = detail;
  if (code == result_code::unavailable)
    text = "lost the head at " + to_string(where_)
           + (detail.empty() ? std::string{} : ": " + detail);
  else if (code == result_code::request_timeout)
    text = "no reply from the head at " + to_string(where_) + " within "
           + opts_.timeout;
  if (opts_.json) {
    doc["code"] = std::string{to_name(code)};
    doc["detail"] = text;
    std::cout << doc.dump(2) << std::endl;
  } else {
    std::cout << to_name(code)
              << (text.empty() ? "" : ": " + escape_controls(text)) << '\n';
    if (!human.empty())
      std::cout << human;
    std::cout << std::flush;
  }
  return exit_status_for_reply(code);
}

namespace {

// -- tables -------------------------------------------------------------------

std::string join_labels(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels)
    out += (out.empty() ? "" : ",") + l;
  return out.empty() ? "-" : out;
}

// -- submit -------------------------------------------------------------------

struct submit_options {
  client_options client;
  std::string file;
  std::string runtime_file;
  /// Print only the submitted jobs' ids, one a line (as `sbatch --parsable`).
  bool parsable = false;
};

int run_submit(const submit_options& o) {
  // Nothing is sent from a file with any error.
  auto loaded = load_inputs(o.file, o.runtime_file);
  if (!loaded.ok()) {
    for (const auto& d : loaded.errors)
      std::cerr << to_string(d) << '\n';
    std::cerr << std::flush;
    if (o.client.json) {
      json doc;
      doc["code"] = "invalid_argument";
      doc["detail"] = "the file has errors; nothing was sent";
      auto errs = json::array();
      for (const auto& d : loaded.errors)
        errs.push_back(to_json(d));
      doc["errors"] = std::move(errs);
      std::cout << doc.dump(2) << std::endl;
    }
    return exit_invalid_input;
  }
  client_session s{o.client};
  if (!s.open())
    return s.status();
  const auto& specs = loaded.file.jobs;
  auto reply = s.client().add_jobs(specs, true);
  auto jobs = json::array();
  std::string human;
  for (size_t i = 0; i < reply.jobs.size(); ++i) {
    auto submitted = i < reply.submitted;
    jobs.push_back({{"id", reply.jobs[i]},
                    {"name", specs[i].name},
                    {"submitted", submitted}});
    if (submitted)
      human += "job " + std::to_string(reply.jobs[i]) + " (" + specs[i].name
               + "): submitted\n";
  }
  std::string detail;
  if (reply.code != result_code::ok) {
    auto n = reply.jobs.size();
    if (n > reply.submitted)
      detail = "job " + std::to_string(reply.jobs.back()) + " ('"
               + specs[n - 1].name
               + "') added but not submitted: " + reply.detail;
    else
      detail = "job '" + specs[n].name + "' not added: " + reply.detail;
  }
  if (o.parsable && !o.client.json) {
    // Ids only on stdout, for `id=$(quiesce submit --parsable f.toml)`; a
    // refusal goes to stderr and sets the exit status as usual.
    for (size_t i = 0; i < reply.submitted && i < reply.jobs.size(); ++i)
      std::cout << reply.jobs[i] << '\n';
    std::cout << std::flush;
    if (reply.code != result_code::ok)
      std::cerr << "quiesce: " << to_name(reply.code) << ": " << detail
                << std::endl;
    return exit_status_for_reply(reply.code);
  }
  json doc;
  doc["jobs"] = std::move(jobs);
  return s.finish(reply.code, detail, std::move(doc), human);
}

} // namespace

installed_command install_submit(CLI::App& app) {
  auto o = std::make_shared<submit_options>();
  auto* sub = app.add_subcommand(
      "submit", "Add and submit a job file's jobs to a head; print their ids");
  sub->add_option("FILE", o->file, "job file (TOML)")->required();
  sub->add_option("--runtime", o->runtime_file,
                  "runtime file read before FILE (its grace and retries are "
                  "the jobs' defaults)");
  sub->add_flag("--parsable", o->parsable,
                "print only the submitted jobs' ids, one a line");
  add_client_options(sub, o->client);
  sub->footer(
      "The file is validated here first: on any error nothing is "
      "sent (exit 2).\n\nExamples:\n"
      "  quiesce submit --head 10.0.0.5:7700 nightly.toml\n"
      "  id=$(quiesce submit --parsable nightly.toml) && quiesce wait \"$id\"\n"
      "  QUIESCE_HEAD=127.0.0.1:7700 quiesce submit --json jobs.toml\n");
  return {sub, [o] {
            return run_submit(*o);
          }};
}

namespace {

// -- cancel, terminate, requeue
// -------------------------------------------------

struct op_options {
  client_options client;
  job_id job = invalid_id;
  task_id task = invalid_id;
  assessment_index index = 0;
  std::vector<task_id> tasks;
  std::string message;
  /// `cancel job --if-active`: a job already cancelling or ended is success.
  bool if_active = false;
  /// `requeue job --cancelled`: cancelled tasks are queued again too.
  bool cancelled = false;
};

// Sends one job operation: `op` calls it on the connected client. A reply
// whose code is in `fine` exits 0; it is still printed with its own code.
int send_op(const op_options& o,
            const std::function<op_reply(quiesce::client&)>& op,
            const std::string& what,
            const std::vector<result_code>& fine = {}) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = op(s.client());
  json doc;
  doc["request"] = what;
  doc["job"] = o.job;
  auto status = s.finish(reply.code, reply.detail, std::move(doc));
  for (auto code : fine)
    if (reply.code == code)
      return exit_ok;
  return status;
}

// Sends one task operation: `op` calls it on the connected client.
int send_task_op(const op_options& o,
                 const std::function<task_op_reply(quiesce::client&)>& op,
                 const std::string& what) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = op(s.client());
  json doc;
  doc["request"] = what;
  doc["job"] = o.job;
  doc["task"] = o.task;
  std::string human;
  if (reply.code == result_code::ok || reply.code == result_code::invalid_state
      || reply.code == result_code::not_rerunnable) {
    doc["status"] = std::string{to_name(reply.status)};
    human = "task " + std::to_string(o.task) + " is "
            + std::string{to_name(reply.status)} + "\n";
  }
  return s.finish(reply.code, reply.detail, std::move(doc), human);
}

int send_cancel_tasks(const op_options& o) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = s.client().cancel_tasks(o.job, o.tasks, o.message);
  json doc;
  doc["request"] = "cancel_tasks";
  doc["job"] = o.job;
  auto per_task = json::array();
  std::string human;
  for (size_t i = 0; i < o.tasks.size(); ++i) {
    auto code
        = i < reply.codes.size() ? reply.codes[i] : result_code::not_attempted;
    per_task.push_back(
        {{"task", o.tasks[i]}, {"code", std::string{to_name(code)}}});
    human += "task " + std::to_string(o.tasks[i]) + ": "
             + std::string{to_name(code)} + "\n";
  }
  doc["tasks"] = std::move(per_task);
  return s.finish(reply.code, reply.detail, std::move(doc), human);
}

CLI::App* add_leaf(CLI::App* parent, const char* name, const char* help,
                   const std::shared_ptr<op_options>& o) {
  auto* sub = parent->add_subcommand(name, help);
  add_client_options(sub, o->client);
  return sub;
}

void add_message(CLI::App* sub, const std::shared_ptr<op_options>& o) {
  sub->add_option("--message,-m", o->message,
                  "the reason, stored as the error message (at most 320 "
                  "characters)");
}

// Runs whichever leaf of `parent` the command line selected.
int run_leaf(
    CLI::App* parent,
    const std::vector<std::pair<CLI::App*, std::function<int()>>>& leaves) {
  for (const auto& [leaf, fn] : leaves)
    if (leaf->parsed())
      return fn();
  std::cerr << parent->help() << std::flush;
  return exit_invalid_input;
}

} // namespace

installed_command install_cancel(CLI::App& app) {
  auto o = std::make_shared<op_options>();
  auto* sub = app.add_subcommand(
      "cancel", "Cancel a job, an assessment or tasks on a head");
  sub->require_subcommand(1);
  sub->footer("The reply means the cancel is signalled; follow the end with "
              "`quiesce status`\nor `quiesce events`.\n\nExamples:\n"
              "  quiesce cancel job 3 --message \"superseded\"\n"
              "  quiesce cancel assessment 3 1\n"
              "  quiesce cancel task 3 7\n"
              "  quiesce cancel tasks 3 7 8 9 -m \"not needed\"\n");
  auto* job = add_leaf(sub, "job",
                       "cancel a job: at once if not running yet, else after "
                       "its current assessment",
                       o);
  job->add_option("JOB", o->job, "job id")->required();
  add_message(job, o);
  job->add_flag("--if-active", o->if_active,
                "exit 0 when the job is already cancelling or has ended "
                "(the reply keeps its code: invalid_state, no_job_running); "
                "for scripts that retry");
  auto* assessment = add_leaf(
      sub, "assessment", "cancel the running assessment INDEX of a job", o);
  assessment->add_option("JOB", o->job, "job id")->required();
  assessment->add_option("INDEX", o->index, "assessment index (from 0)")
      ->required();
  auto* task = add_leaf(sub, "task", "cancel one task", o);
  task->add_option("JOB", o->job, "job id")->required();
  task->add_option("TASK", o->task, "task id")->required();
  add_message(task, o);
  auto* tasks = add_leaf(sub, "tasks",
                         "cancel tasks in order, stopping at the first "
                         "refusal",
                         o);
  tasks->add_option("JOB", o->job, "job id")->required();
  tasks->add_option("TASK", o->tasks, "task ids")->required();
  add_message(tasks, o);
  return {
      sub, [o, sub, job, assessment, task, tasks] {
        return run_leaf(
            sub,
            {{job,
              [o] {
                return send_op(
                    *o,
                    [o](quiesce::client& c) {
                      return c.cancel_job(o->job, o->message);
                    },
                    "cancel_job",
                    o->if_active
                        ? std::vector<result_code>{result_code::invalid_state,
                                                   result_code::no_job_running}
                        : std::vector<result_code>{});
              }},
             {assessment,
              [o] {
                return send_op(
                    *o,
                    [o](quiesce::client& c) {
                      return c.cancel_assessment(o->job, o->index);
                    },
                    "cancel_assessment");
              }},
             {task,
              [o] {
                return send_task_op(
                    *o,
                    [o](quiesce::client& c) {
                      return c.cancel_task(o->job, o->task, o->message);
                    },
                    "cancel_task");
              }},
             {tasks, [o] {
                return send_cancel_tasks(*o);
              }}});
      }};
}

installed_command install_terminate(CLI::App& app) {
  auto o = std::make_shared<op_options>();
  auto* sub
      = app.add_subcommand("terminate", "Kill a job's work now, on every node");
  sub->require_subcommand(1);
  sub->footer("Examples:\n  quiesce terminate job 3\n");
  auto* job = add_leaf(sub, "job",
                       "kill a job's running work now; reply once it is "
                       "confirmed dead",
                       o);
  job->add_option("JOB", o->job, "job id")->required();
  return {sub, [o, sub, job] {
            return run_leaf(sub, {{job, [o] {
                                     return send_op(
                                         *o,
                                         [o](quiesce::client& c) {
                                           return c.terminate_job(o->job);
                                         },
                                         "terminate_job");
                                   }}});
          }};
}

installed_command install_requeue(CLI::App& app) {
  auto o = std::make_shared<op_options>();
  auto* sub
      = app.add_subcommand("requeue", "Queue a failed or cancelled task or job "
                                      "again");
  sub->require_subcommand(1);
  sub->footer("Examples:\n  quiesce requeue task 3 7\n"
              "  quiesce requeue job 3\n");
  auto* task
      = add_leaf(sub, "task", "queue a failed or cancelled task again", o);
  task->add_option("JOB", o->job, "job id")->required();
  task->add_option("TASK", o->task, "task id")->required();
  auto* job = add_leaf(sub, "job",
                       "queue a failed or cancelled job again: its failed "
                       "rerunnable tasks (finished ones stay finished)",
                       o);
  job->add_option("JOB", o->job, "job id")->required();
  job->add_flag("--cancelled", o->cancelled,
                "queue its cancelled rerunnable tasks too (the way to rerun "
                "a cancelled task of an ended job)");
  return {sub, [o, sub, task, job] {
            return run_leaf(
                sub, {{task,
                       [o] {
                         return send_task_op(
                             *o,
                             [o](quiesce::client& c) {
                               return c.requeue_task(o->job, o->task);
                             },
                             "requeue_task");
                       }},
                      {job, [o] {
                         return send_op(
                             *o,
                             [o](quiesce::client& c) {
                               return c.requeue_job(o->job, o->cancelled);
                             },
                             "requeue_job");
                       }}});
          }};
}

namespace {

// -- list, status, wait
// ---------------------------------------------------------

struct query_options {
  client_options client;
  job_id job = invalid_id;
  std::string status;
  // list jobs: history from the journal, a page at a time.
  bool all = false;
  uint32_t limit = 0;
  job_id before = invalid_id;
};

int run_list_jobs(const query_options& o) {
  std::optional<job_status> status;
  if (!o.status.empty()) {
    job_status x;
    from_name(o.status, x);
    status = x;
  }
  client_session s{o.client};
  if (!s.open())
    return s.status();
  quiesce::list_jobs req;
  req.filter_by_status = status.has_value();
  req.status = status.value_or(job_status::not_submitted);
  req.history = o.all;
  req.limit = o.limit;
  req.before = o.before;
  auto reply = s.client().list_jobs(req);
  json doc;
  auto jobs = json::array();
  for (const auto& j : reply.jobs)
    jobs.push_back(to_json(j, {}));
  doc["jobs"] = std::move(jobs);
  doc["more"] = reply.more;
  std::string human;
  if (reply.code == result_code::ok) {
    human = render_jobs_table(reply.jobs, caf::make_timestamp());
    // The next page: the jobs below the lowest id listed.
    if (reply.more && !reply.jobs.empty()) {
      doc["before"] = reply.jobs.front().id;
      human += "more: quiesce list jobs" + std::string{o.all ? " --all" : ""}
               + " --before " + std::to_string(reply.jobs.front().id) + "\n";
    }
  }
  return s.finish(reply.code, {}, std::move(doc), human);
}

int run_list_tasks(const query_options& o) {
  std::optional<task_status> status;
  if (!o.status.empty()) {
    task_status x;
    from_name(o.status, x);
    status = x;
  }
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = s.client().list_tasks(o.job, status);
  // The job's record names the assessments, as `status` shows them, and
  // holds the output directories the tasks' paths are made of.
  job_record job;
  if (reply.code == result_code::ok)
    job = s.client().job_status(o.job).job;
  job.id = o.job;
  json doc;
  doc["job"] = o.job;
  auto tasks = json::array();
  for (const auto& t : reply.tasks)
    tasks.push_back(to_json(t, &job));
  doc["tasks"] = std::move(tasks);
  auto detail = !reply.detail.empty() ? reply.detail
                : reply.code == result_code::job_not_found
                    ? "no job " + std::to_string(o.job)
                    : std::string{};
  std::string human;
  if (reply.code == result_code::ok)
    human = render_tasks_table(job, reply.tasks, caf::make_timestamp());
  return s.finish(reply.code, detail, std::move(doc), human);
}

int run_list_nodes(const query_options& o) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = s.client().nodes();
  json doc;
  auto nodes = json::array();
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "SLOTS", "RUNNING", "LABELS", "STATUS"});
  for (const auto& n : reply.nodes) {
    nodes.push_back({{"name", n.name},
                     {"slots", n.slots},
                     {"running", n.running},
                     {"labels", n.labels},
                     {"status", to_string(n.status)},
                     {"stale_reports", n.stale_reports}});
    rows.push_back({n.name, std::to_string(n.slots), std::to_string(n.running),
                    join_labels(n.labels), to_string(n.status)});
  }
  doc["nodes"] = std::move(nodes);
  return s.finish(reply.code, reply.detail, std::move(doc),
                  reply.code == result_code::ok ? render_table(rows)
                                                : std::string{});
}

CLI::Validator job_status_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        job_status x;
        return from_name(text, x) ? "" : "'" + text + "' is not a job status";
      },
      "STATUS");
}

CLI::Validator task_status_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        task_status x;
        return from_name(text, x) ? "" : "'" + text + "' is not a task status";
      },
      "STATUS");
}

} // namespace

installed_command install_list(CLI::App& app) {
  auto o = std::make_shared<query_options>();
  auto* sub = app.add_subcommand("list", "List a head's jobs, tasks or nodes");
  sub->require_subcommand(1);
  sub->footer("Examples:\n  quiesce list jobs --status running\n"
              "  quiesce list jobs --all --status failed --limit 50\n"
              "  quiesce list tasks 3 --json\n  quiesce list nodes\n");
  auto* jobs = sub->add_subcommand("jobs", "list jobs");
  jobs->add_option("--status", o->status,
                   "only jobs in this status (not_submitted, queued, "
                   "running, cancelling, finished, failed, cancelled)")
      ->check(job_status_validator());
  jobs->add_flag("--all", o->all,
                 "also jobs retired from the head's memory (ended more than "
                 "job_retention ago), read from its journal; the newest "
                 "1000 unless --limit says otherwise (at most 10000)");
  jobs->add_option("--limit", o->limit,
                   "at most this many jobs, the newest (highest ids)")
      ->check(CLI::Range(1u, max_history_limit));
  jobs->add_option("--before", o->before,
                   "only jobs with a lower id: the next page of a listing "
                   "that printed \"more: ...\"")
      ->check(CLI::PositiveNumber);
  add_client_options(jobs, o->client);
  auto* tasks = sub->add_subcommand("tasks", "list a job's tasks");
  tasks->add_option("JOB", o->job, "job id")->required();
  tasks
      ->add_option("--status", o->status,
                   "only tasks in this status (not_submitted, queued, "
                   "running, finished, failed, cancelled)")
      ->check(task_status_validator());
  add_client_options(tasks, o->client);
  auto* nodes
      = sub->add_subcommand("nodes", "list nodes: slots, running tasks, "
                                     "status (ready, unreachable)");
  add_client_options(nodes, o->client);
  return {sub, [o, sub, jobs, tasks, nodes] {
            return run_leaf(sub, {{jobs,
                                   [o] {
                                     return run_list_jobs(*o);
                                   }},
                                  {tasks,
                                   [o] {
                                     return run_list_tasks(*o);
                                   }},
                                  {nodes, [o] {
                                     return run_list_nodes(*o);
                                   }}});
          }};
}

namespace {

// Prints a job's record and tasks: the summary tables of `run`, or JSON.
int print_job(client_session& s, result_code code, const job_record& job,
              const std::vector<task_record>& tasks, int ok_status,
              const std::string& why = {}) {
  json doc;
  std::string human;
  if (code == result_code::ok) {
    doc["job"] = to_json(job, tasks);
    human = render_summary({job_report{job, tasks}});
  }
  auto detail = !why.empty() ? why
                : code == result_code::job_not_found
                    ? "no job " + std::to_string(job.id)
                    : std::string{};
  auto status = s.finish(code, detail, std::move(doc), human);
  return code == result_code::ok ? ok_status : status;
}

int run_status(const query_options& o) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  auto reply = s.client().job_status(o.job);
  std::vector<task_record> tasks;
  if (reply.code == result_code::ok) {
    auto listed = s.client().list_tasks(o.job);
    if (listed.code != result_code::ok)
      return s.finish(listed.code, listed.detail);
    tasks = std::move(listed.tasks);
  } else {
    reply.job.id = o.job;
  }
  return print_job(s, reply.code, reply.job, tasks, exit_ok, reply.detail);
}

int run_wait(const query_options& o) {
  client_session s{o.client};
  if (!s.open())
    return s.status();
  // On stderr, so that stdout carries the outcome alone; it also tells a
  // caller that the head was reached, after which losing it is reported as
  // `unavailable: lost the head` rather than `cannot reach`.
  std::cerr << "quiesce: waiting for job " << o.job << " at "
            << to_string(s.head()) << std::endl;
  // The call ends early with `unavailable` when the head is lost.
  auto reply = s.client().wait(o.job, s.timeout());
  if (reply.code == result_code::request_timeout) {
    auto detail = "job " + std::to_string(o.job) + " has not ended within "
                  + o.client.timeout;
    json doc;
    doc["job"] = o.job;
    if (s.json_output()) {
      doc["code"] = "request_timeout";
      doc["detail"] = detail;
      std::cout << doc.dump(2) << std::endl;
    } else {
      std::cout << "request_timeout: " << detail << std::endl;
    }
    return exit_runtime_error;
  }
  std::vector<task_record> tasks;
  if (reply.code == result_code::ok) {
    auto listed = s.client().list_tasks(o.job);
    tasks = std::move(listed.tasks);
  } else {
    reply.job.id = o.job;
  }
  return print_job(s, reply.code, reply.job, tasks,
                   exit_status_for(std::vector<job_status>{reply.job.status}),
                   reply.detail);
}

} // namespace

installed_command install_status(CLI::App& app) {
  auto o = std::make_shared<query_options>();
  auto* sub
      = app.add_subcommand("status", "Print a job's record and its tasks");
  sub->add_option("JOB", o->job, "job id")->required();
  add_client_options(sub, o->client);
  sub->footer("Exit status 0 when the job is known, whatever its status.\n\n"
              "Examples:\n  quiesce status 3\n  quiesce status 3 --json\n");
  return {sub, [o] {
            return run_status(*o);
          }};
}

installed_command install_wait(CLI::App& app) {
  auto o = std::make_shared<query_options>();
  auto* sub = app.add_subcommand("wait", "Wait until a job ends; exit with its "
                                         "outcome");
  sub->add_option("JOB", o->job, "job id")->required();
  add_client_options(sub, o->client, "1h",
                     "how long to wait for the job's end");
  sub->footer("Exit status as for `run`: 0 finished, 1 failed, 3 cancelled; "
              "4 when the job\nhas not ended within --timeout. Once the head "
              "is reached, "
              "stderr says\n`quiesce: waiting for job JOB at HEAD`.\n\n"
              "Examples:\n  quiesce wait 3\n  quiesce wait 3 --timeout 10m "
              "--json\n");
  return {sub, [o] {
            return run_wait(*o);
          }};
}

} // namespace quiesce::cli
