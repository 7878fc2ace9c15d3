// Prints the supervisor's rules table as Promela for the model in
// model/cancel.pml. It calls the rules the supervisor calls (actors/rules.hpp)
// on the model's job -- assessment 0 with tasks 1 and 2, assessment 1 with
// task 3 -- over every job status, assessment status, task status and
// request, and prints what they decide. model/rules.pml is its checked-in
// output; the ctest model.rules_in_sync fails when the two differ.
//
// Usage: quiesce_model_rules > model/rules.pml

#include "actors/rules.hpp"

#include <cstdio>
#include <set>
#include <string>
#include <utility>

namespace {

using namespace quiesce;

constexpr int n_js = 7; // job_status values
constexpr int n_as = 3; // assessment_status values
constexpr int n_ts = 6; // task_status values
constexpr uint8_t none = 255;

// The requests of the generic table, in the order of the model's REQ_ ids.
enum req_kind {
  req_submit,
  req_cancel_job,
  req_terminate,
  req_cancel_task,
  req_requeue_task,
  req_requeue_job,
  n_req,
};

const char* req_names[] = {"SUBMIT",      "CANCEL_JOB",   "TERMINATE",
                           "CANCEL_TASK", "REQUEUE_TASK", "REQUEUE_JOB"};

// Every (from, to) pair of a job or task change the rules produced.
std::set<std::pair<int, int>> job_moves;
std::set<std::pair<int, int>> task_moves;

// Returns the numeric value of the status `x` holds, which must be a
// `Status`: the model numbers statuses as the enums do.
template <class Status>
int num(const entity_status& x) {
  return static_cast<int>(caf::get<Status>(x));
}

bool active(job_status js) {
  return js == job_status::running || js == job_status::cancelling;
}

// Returns the model's job: task 1 in status `ts` in assessment 0 (status
// `as`), task 2 finished beside it, task 3 in assessment 1 (status `next`).
job_books make_books(job_status js, assessment_status as, task_status ts,
                     assessment_status next = assessment_status::not_yet_run) {
  job_books b;
  b.job.id = 1;
  b.job.status = js;
  b.job.policy.retries = 1;
  b.job.policy.stop_on_assessment_error = false;
  for (assessment_index i = 0; i < 2; ++i) {
    assessment_record a;
    a.index = i;
    b.job.assessments.push_back(a);
  }
  b.job.assessments[0].status = as;
  b.job.assessments[0].tasks = {1, 2};
  b.job.assessments[1].status = next;
  b.job.assessments[1].tasks = {3};
  b.job.current = as == assessment_status::running ? 0 : -1;
  for (task_id id = 1; id <= 3; ++id) {
    task_record t;
    t.id = id;
    t.job = 1;
    t.assessment = id == 3 ? 1 : 0;
    t.spec.kind = work_kind::command;
    t.spec.command.argv = {"x"};
    t.spec.rerunnable = true;
    b.tasks.push_back(t);
  }
  b.tasks[0].status = ts;
  b.tasks[1].status = task_status::finished;
  b.tasks[2].status = js == job_status::not_submitted
                          ? task_status::not_submitted
                          : task_status::queued;
  if (ts == task_status::running) {
    b.tasks[0].attempts = 1;
    b.live[1] = 1;
  }
  return b;
}

// What a decision does to task 1, the job and assessment 0.
struct effect {
  int code = 0;
  int task_to = 0;
  int stop = 0; // 0: task 1 not stopped; else 1 + stop_mode
  int job_to = 0;
  int as_to = 0;
  int as_out = none; // outcome set on assessment 0; none when unchanged
  int next_to = 0;   // status after of assessment 1
};

effect observe(const job_books& b, const decision& d) {
  effect e;
  e.code = static_cast<int>(d.code);
  e.task_to = static_cast<int>(b.tasks[0].status);
  e.job_to = static_cast<int>(b.job.status);
  e.as_to = static_cast<int>(b.job.assessments[0].status);
  e.next_to = static_cast<int>(b.job.assessments[1].status);
  for (auto id : d.stop)
    if (id == 1)
      e.stop = 1 + static_cast<int>(d.mode);
  for (const auto& c : d.changes) {
    if (c.kind == event_kind::job) {
      e.job_to = num<job_status>(c.to);
      job_moves.emplace(num<job_status>(c.from), num<job_status>(c.to));
    } else if (c.kind == event_kind::task) {
      if (c.from != c.to)
        task_moves.emplace(num<task_status>(c.from), num<task_status>(c.to));
      if (c.subject == 1)
        e.task_to = num<task_status>(c.to);
    } else if (c.kind == event_kind::assessment) {
      if (c.subject == 0) {
        e.as_to = num<assessment_status>(c.to);
        e.as_out = static_cast<int>(c.code);
      } else if (c.subject == 1) {
        e.next_to = num<assessment_status>(c.to);
      }
    }
  }
  return e;
}

decision decide_kind(const job_books& b, int req) {
  switch (req) {
    case req_submit:
      return decide(b, submit_job{1, {}});
    case req_cancel_job:
      return decide(b, cancel_job{1, {}, {}});
    case req_terminate:
      return decide(b, terminate_job{1, {}});
    case req_cancel_task:
      return decide(b, cancel_task{1, 1, {}, {}});
    case req_requeue_task:
      return decide(b, requeue_task{1, 1, {}});
    default:
      return decide(b, requeue_job{1, {}});
  }
}

void print_requests() {
  std::printf("/* Client requests: {req, job, assessment of the task, task, "
              "code,\n   task after, stop (1 + stop_mode, 0 none), job after, "
              "assessment after,\n   its outcome set (255 none), assessment 1 "
              "after} */\n");
  std::printf("static const unsigned char rules_rq[][11] = {\n");
  for (int req = 0; req < n_req; ++req) {
    std::printf("  /* %s */\n", req_names[req]);
    for (int js = 0; js < n_js; ++js)
      for (int as = 0; as < n_as; ++as)
        for (int ts = 0; ts < n_ts; ++ts) {
          auto b = make_books(static_cast<job_status>(js),
                              static_cast<assessment_status>(as),
                              static_cast<task_status>(ts));
          auto e = observe(b, decide_kind(b, req));
          std::printf("  {%d,%d,%d,%d, %d,%d,%d,%d,%d,%d,%d},\n", req, js, as,
                      ts, e.code, e.task_to, e.stop, e.job_to, e.as_to,
                      e.as_out, e.next_to);
        }
  }
  std::printf("};\n\n");
}

void print_cancel_assessment() {
  std::printf("/* cancel_assessment: {job, index is current, outcome "
              "already cancelled,\n   task, code, task after, stop, outcome "
              "set}. Assessment 0 runs when the\n   job is active. */\n");
  std::printf("static const unsigned char rules_ca[][8] = {\n");
  for (int js = 0; js < n_js; ++js)
    for (int cur = 0; cur < 2; ++cur)
      for (int pre = 0; pre < 2; ++pre)
        for (int ts = 0; ts < n_ts; ++ts) {
          auto jst = static_cast<job_status>(js);
          auto b = make_books(jst,
                              active(jst) ? assessment_status::running
                                          : assessment_status::not_yet_run,
                              static_cast<task_status>(ts));
          if (pre)
            b.job.assessments[0].outcome = result_code::assessment_cancelled;
          cancel_assessment req{
              1, static_cast<assessment_index>(cur ? 0 : 1), {}};
          auto e = observe(b, decide(b, req));
          std::printf("  {%d,%d,%d,%d, %d,%d,%d,%d},\n", js, cur, pre, ts,
                      e.code, e.task_to, e.stop, e.as_out);
        }
  std::printf("};\n\n");
}

void print_attempt_ended() {
  std::printf("/* An attempt's end reported to the supervisor: {outcome, "
              "stop requested,\n   job, task, a node-loss retry left, task "
              "after}. Outcomes: 0 succeeded,\n   1 failed, 2 stopped, 5 "
              "lost. */\n");
  std::printf("static const unsigned char rules_ae[][6] = {\n");
  const attempt_outcome outcomes[]
      = {attempt_outcome::succeeded, attempt_outcome::failed,
         attempt_outcome::stopped, attempt_outcome::lost};
  for (auto out : outcomes)
    for (int sr = 0; sr < 2; ++sr)
      for (int js = 0; js < n_js; ++js)
        for (int ts = 0; ts < n_ts; ++ts)
          for (int left = 0; left < 2; ++left) {
            auto jst = static_cast<job_status>(js);
            auto b = make_books(jst,
                                active(jst) ? assessment_status::running
                                            : assessment_status::completed,
                                static_cast<task_status>(ts));
            b.tasks[0].attempts = 1;
            b.tasks[0].node_losses = left ? 0 : 1;
            attempt_ended end;
            end.key = attempt_key{1, 1, 1};
            end.outcome = out;
            end.code = out == attempt_outcome::lost ? result_code::node_lost
                       : out == attempt_outcome::failed
                           ? result_code::task_failed
                           : result_code::ok;
            end.stop_requested = sr != 0;
            auto e = observe(b, decide(b, end));
            std::printf("  {%d,%d,%d,%d,%d, %d},\n", static_cast<int>(out), sr,
                        js, ts, left, e.task_to);
          }
  std::printf("};\n\n");
}

void print_advance() {
  std::printf("/* advance: {job, complete, all finished, any cancelled, "
              "outcome already\n   cancelled, a later assessment not yet run, "
              "an earlier outcome not ok,\n   outcome (255: nothing due), job "
              "after, next begins} */\n");
  std::printf("static const unsigned char rules_ad[][10] = {\n");
  for (int js = 0; js < n_js; ++js)
    for (int done = 0; done < 2; ++done)
      for (int fin = 0; fin < 2; ++fin)
        for (int canc = 0; canc < 2; ++canc)
          for (int pre = 0; pre < 2; ++pre)
            for (int next = 0; next < 2; ++next)
              for (int bad = 0; bad < 2; ++bad) {
                auto jst = static_cast<job_status>(js);
                auto ts = fin    ? task_status::finished
                          : canc ? task_status::cancelled
                                 : task_status::failed;
                auto b = make_books(jst, assessment_status::running, ts,
                                    next ? assessment_status::not_yet_run
                                         : assessment_status::completed);
                b.job.current = 0;
                if (pre)
                  b.job.assessments[0].outcome
                      = result_code::assessment_cancelled;
                b.job.assessments[1].outcome
                    = bad ? result_code::assessment_failed : result_code::ok;
                if (!done) {
                  b.tasks[1].status = task_status::running;
                  b.live[2] = 1;
                }
                auto d = advance(b);
                auto e = observe(b, d);
                auto begins
                    = e.next_to == static_cast<int>(assessment_status::running);
                std::printf("  {%d,%d,%d,%d,%d,%d,%d, %d,%d,%d},\n", js, done,
                            fin, canc, pre, next, bad, e.as_out, e.job_to,
                            begins ? 1 : 0);
              }
  std::printf("};\n\n");
}

void print_start() {
  std::printf("/* start: {job, an assessment not yet run, an outcome not ok, "
              "job after,\n   first begins} */\n");
  std::printf("static const unsigned char rules_st[][5] = {\n");
  for (int js = 0; js < n_js; ++js)
    for (int left = 0; left < 2; ++left)
      for (int bad = 0; bad < 2; ++bad) {
        auto b = make_books(static_cast<job_status>(js),
                            left ? assessment_status::not_yet_run
                                 : assessment_status::completed,
                            task_status::queued,
                            left ? assessment_status::not_yet_run
                                 : assessment_status::completed);
        b.job.assessments[1].outcome
            = bad ? result_code::assessment_failed : result_code::ok;
        auto d = start(b);
        auto e = observe(b, d);
        std::printf(
            "  {%d,%d,%d, %d,%d},\n", js, left, bad, e.job_to,
            e.as_to == static_cast<int>(assessment_status::running) ? 1 : 0);
      }
  std::printf("};\n\n");
}

void print_moves() {
  // Dispatching is the one change the supervisor makes outside decide().
  task_moves.emplace(static_cast<int>(task_status::queued),
                     static_cast<int>(task_status::running));
  std::printf("/* Every status change the rules make: {from, to} of jobs, "
              "then of tasks. */\n");
  std::printf("static const unsigned char rules_jm[][2] = {\n");
  for (auto [from, to] : job_moves)
    std::printf("  {%d,%d},\n", from, to);
  std::printf("};\nstatic const unsigned char rules_tm[][2] = {\n");
  for (auto [from, to] : task_moves)
    std::printf("  {%d,%d},\n", from, to);
  std::printf("};\n");
}

} // namespace

int main() {
  std::printf("/* model/rules.pml: the supervisor's rules table for the model "
              "in\n   model/cancel.pml. GENERATED by quiesce_model_rules "
              "(model/rules_table.cpp)\n   from actors/rules.cpp; do not edit. "
              "Regenerate with\n     build/model/quiesce_model_rules > "
              "model/rules.pml\n   The ctest model.rules_in_sync fails when "
              "this file and the rules differ. */\n\nc_code {\n");
  print_requests();
  print_cancel_assessment();
  print_attempt_ended();
  print_advance();
  print_start();
  print_moves();
  std::printf("}\n");
  return 0;
}
