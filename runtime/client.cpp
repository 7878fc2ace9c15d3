#include "runtime/client.hpp"

#include "runtime/transport.hpp"

#include <algorithm>
#include <iterator>

namespace quiesce {

namespace {

/// Returns a future and the function that fulfils it.
template <class Reply>
std::pair<std::future<Reply>, std::function<void(Reply)>> make_future() {
  auto promise = std::make_shared<std::promise<Reply>>();
  auto future = promise->get_future();
  return {std::move(future), [promise](Reply x) {
            promise->set_value(std::move(x));
          }};
}

} // namespace

client::client(std::shared_ptr<detail::transport> tr, std::string name,
               std::chrono::milliseconds request_timeout,
               std::chrono::milliseconds terminate_bound)
    : tr_(std::move(tr)), name_(std::move(name)),
      request_timeout_(request_timeout),
      terminate_timeout_(terminate_bound + request_timeout) {
  // nop
}

client::~client() {
  // A derived class closes in its own destructor; this is for plain clients.
  if (tr_)
    tr_->close();
}

void client::close() {
  tr_->close();
}

bool client::connected() const noexcept {
  return !tr_->events->lost && tr_->current_supervisor() != nullptr;
}

const std::string& client::name() const noexcept {
  return name_;
}

std::chrono::milliseconds client::request_timeout() const noexcept {
  return request_timeout_;
}

add_job_reply client::add_job(job_spec spec) {
  return tr_->call<add_job_reply>(quiesce::add_job{std::move(spec), name_},
                                  request_timeout_);
}

add_jobs_reply client::add_jobs(std::vector<job_spec> specs, bool submit) {
  // In batches: one request (and one journal write) per batch, not per job.
  add_jobs_reply out;
  for (size_t first = 0; first < specs.size(); first += add_job_batch_max) {
    auto last = std::min(specs.size(), first + add_job_batch_max);
    add_job_batch req{{std::make_move_iterator(specs.begin() + first),
                       std::make_move_iterator(specs.begin() + last)},
                      submit,
                      name_};
    auto reply
        = tr_->call<add_job_batch_reply>(std::move(req), request_timeout_);
    out.jobs.insert(out.jobs.end(), reply.jobs.begin(), reply.jobs.end());
    out.submitted += reply.submitted;
    if (reply.code != result_code::ok) {
      out.code = reply.code;
      out.detail = std::move(reply.detail);
      break;
    }
  }
  return out;
}

add_task_reply client::add_task(job_id job, assessment_index index,
                                task_spec spec) {
  return tr_->call<add_task_reply>(
      quiesce::add_task{job, index, std::move(spec), name_}, request_timeout_);
}

op_reply client::submit(job_id job) {
  return tr_->call<op_reply>(submit_job{job, name_}, request_timeout_);
}

op_reply client::cancel_job(job_id job, std::string message) {
  return tr_->call<op_reply>(
      quiesce::cancel_job{job, std::move(message), name_}, request_timeout_);
}

op_reply client::cancel_assessment(job_id job, assessment_index index) {
  return tr_->call<op_reply>(quiesce::cancel_assessment{job, index, name_},
                             request_timeout_);
}

op_reply client::terminate_job(job_id job) {
  // Bounded by the supervisor's terminate bound, plus slack for the reply.
  return tr_->call<op_reply>(quiesce::terminate_job{job, name_},
                             terminate_timeout_);
}

task_op_reply client::cancel_task(job_id job, task_id task,
                                  std::string message) {
  return tr_->call<task_op_reply>(
      quiesce::cancel_task{job, task, std::move(message), name_},
      request_timeout_);
}

cancel_tasks_reply client::cancel_tasks(job_id job, std::vector<task_id> tasks,
                                        std::string message) {
  return tr_->call<cancel_tasks_reply>(
      quiesce::cancel_tasks{job, std::move(tasks), std::move(message), name_},
      request_timeout_);
}

task_op_reply client::requeue_task(job_id job, task_id task) {
  return tr_->call<task_op_reply>(quiesce::requeue_task{job, task, name_},
                                  request_timeout_);
}

op_reply client::requeue_job(job_id job, bool cancelled) {
  return tr_->call<op_reply>(quiesce::requeue_job{job, name_, cancelled},
                             request_timeout_);
}

job_list client::list_jobs(std::optional<quiesce::job_status> status) {
  return tr_->call<job_list>(
      quiesce::list_jobs{status.has_value(),
                         status.value_or(job_status::not_submitted), false, 0,
                         invalid_id},
      request_timeout_);
}

job_list client::list_jobs(const quiesce::list_jobs& query) {
  return tr_->call<job_list>(query, request_timeout_);
}

task_list client::list_tasks(job_id job,
                             std::optional<quiesce::task_status> status) {
  return tr_->call<task_list>(
      quiesce::list_tasks{job, status.has_value(),
                          status.value_or(task_status::not_submitted)},
      request_timeout_);
}

job_status_reply client::job_status(job_id job) {
  return tr_->call<job_status_reply>(get_job_status{job}, request_timeout_);
}

task_status_reply client::task_status(job_id job, task_id task) {
  return tr_->call<task_status_reply>(get_task_status{job, task},
                                      request_timeout_);
}

node_list client::nodes() {
  return tr_->call<node_list>(list_nodes{}, request_timeout_);
}

job_status_reply client::wait(job_id job, std::chrono::milliseconds timeout) {
  return tr_->call<job_status_reply>(wait_job{job}, timeout);
}

std::future<op_reply> client::submit_async(job_id job) {
  auto [future, deliver] = make_future<op_reply>();
  tr_->call_async<op_reply>(submit_job{job, name_}, request_timeout_,
                            std::move(deliver));
  return std::move(future);
}

void client::submit_async(job_id job, reply_callback<op_reply> cb) {
  tr_->call_async<op_reply>(submit_job{job, name_}, request_timeout_,
                            tr_->on_event_thread(std::move(cb)));
}

std::future<job_status_reply>
client::wait_async(job_id job, std::chrono::milliseconds timeout) {
  auto [future, deliver] = make_future<job_status_reply>();
  tr_->call_async<job_status_reply>(wait_job{job}, timeout, std::move(deliver));
  return std::move(future);
}

void client::wait_async(job_id job, std::chrono::milliseconds timeout,
                        reply_callback<job_status_reply> cb) {
  tr_->call_async<job_status_reply>(wait_job{job}, timeout,
                                    tr_->on_event_thread(std::move(cb)));
}

std::future<op_reply> client::terminate_job_async(job_id job) {
  auto [future, deliver] = make_future<op_reply>();
  tr_->call_async<op_reply>(quiesce::terminate_job{job, name_},
                            terminate_timeout_, std::move(deliver));
  return std::move(future);
}

void client::terminate_job_async(job_id job, reply_callback<op_reply> cb) {
  tr_->call_async<op_reply>(quiesce::terminate_job{job, name_},
                            terminate_timeout_,
                            tr_->on_event_thread(std::move(cb)));
}

subscription_id client::subscribe(event_callback cb) {
  return tr_->subscribe(std::move(cb), request_timeout_);
}

void client::unsubscribe(subscription_id id) {
  tr_->unsubscribe(id);
}

} // namespace quiesce
