#include "actors/books.hpp"

#include "actors/journal.hpp"

#include <algorithm>

namespace quiesce {

task_record make_task_record(job_id job, task_id id,
                             assessment_index assessment, task_spec spec,
                             caf::timestamp now) {
  task_record t;
  t.id = id;
  t.job = job;
  t.assessment = assessment;
  t.created = now;
  t.spec = std::move(spec);
  return t;
}

event make_event(job_id job, const transition& c, uint64_t seq, std::string who,
                 caf::timestamp now) {
  event ev;
  ev.seq = seq;
  ev.job = job;
  ev.kind = c.kind;
  ev.subject = c.subject;
  ev.previous = c.from;
  ev.current = c.to;
  ev.code = c.code;
  ev.message = c.message;
  ev.who = std::move(who);
  ev.time = now;
  return ev;
}

job_books* books::find(job_id id) noexcept {
  auto i = jobs_.find(id);
  return i != jobs_.end() ? &i->second : nullptr;
}

const job_books* books::find(job_id id) const noexcept {
  auto i = jobs_.find(id);
  return i != jobs_.end() ? &i->second : nullptr;
}

job_id books::add_job(job_spec spec, std::string owner, caf::timestamp now) {
  auto id = next_job_++;
  auto& b = jobs_[id];
  auto& j = b.job;
  j.id = id;
  j.name = std::move(spec.name);
  j.created = now;
  j.owner = std::move(owner);
  j.policy = spec.policy;
  // Sized once: a job of a million tasks is not copied while it grows.
  size_t count = 0;
  for (const auto& a : spec.assessments)
    count += a.tasks.size();
  b.tasks.reserve(count);
  j.assessments.reserve(spec.assessments.size());
  for (auto& a : spec.assessments) {
    auto index = static_cast<assessment_index>(j.assessments.size());
    j.assessments.emplace_back();
    j.assessments.back().index = index;
    j.assessments.back().name = std::move(a.name);
    j.assessments.back().tasks.reserve(a.tasks.size());
    for (auto& t : a.tasks)
      add_task(b, index, std::move(t), now);
  }
  touch(id);
  return id;
}

task_id books::add_task(job_books& b, assessment_index index, task_spec spec,
                        caf::timestamp now) {
  auto& j = b.job;
  if (index == j.assessments.size()) {
    j.assessments.emplace_back();
    j.assessments.back().index = index;
  }
  auto id = static_cast<task_id>(b.tasks.size() + 1);
  b.tasks.push_back(make_task_record(j.id, id, index, std::move(spec), now));
  j.assessments[index].tasks.push_back(id);
  touch(j.id, id);
  if (tracking_)
    new_tasks_.emplace(j.id, id);
  return id;
}

uint64_t books::commit(job_books& b, const transition& c, caf::timestamp now,
                       const std::string& who) {
  apply(b, c, now);
  ++seq_;
  if (tracking_) {
    touch(b.job.id, c.kind == event_kind::task ? c.subject : invalid_id);
    changes_.push_back(journal_change{seq_, b.job.id, c, who, now});
  }
  return seq_;
}

void books::begin_attempt(job_books& b, task_record& t, const std::string& node,
                          bool held) {
  t.node = node;
  if (held) {
    ++t.attempts;
    b.held.insert(t.id);
  }
  b.live[t.id] = t.attempts;
  touch(b.job.id, t.id);
}

void books::skip_attempts(job_books& b, task_record& t, uint32_t attempt) {
  if (attempt <= t.attempts)
    return;
  t.attempts = attempt;
  touch(b.job.id, t.id);
}

bool books::end_attempt(job_books& b, const attempt_ended& end) {
  auto i = b.live.find(end.key.task);
  if (i == b.live.end() || i->second != end.key.attempt)
    return false;
  b.live.erase(i);
  b.held.erase(end.key.task);
  if (auto* t = b.find(end.key.task);
      t != nullptr && t->attempts == end.key.attempt) {
    t->exit_code = end.exit_code;
    t->node = end.node;
    t->cpu_time = end.cpu_time;
    t->peak_memory = end.peak_memory;
    touch(b.job.id, t->id);
  }
  return true;
}

bool books::set_output_dir(job_books& b, const attempt_output& o) {
  const auto* t = b.find(o.key.task);
  // Only the task's latest attempt says which node `t->node` is.
  if (t == nullptr || t->attempts != o.key.attempt || t->node.empty()
      || o.dir.empty())
    return false;
  auto& dirs = b.job.output_dirs;
  auto i = std::find_if(dirs.begin(), dirs.end(),
                        [&](const output_dir& d) { return d.node == t->node; });
  if (i == dirs.end())
    dirs.push_back(output_dir{t->node, o.dir});
  else if (i->dir != o.dir)
    i->dir = o.dir;
  else
    return true;
  touch(b.job.id);
  return true;
}

void books::touch(job_id job, task_id task) {
  if (!tracking_)
    return;
  dirty_jobs_.insert(job);
  if (task != invalid_id)
    dirty_tasks_.emplace(job, task);
}

job_record row_of(const job_record& j) {
  // Copies everything but the task lists, whatever fields a record has.
  auto& src = const_cast<job_record&>(j);
  std::vector<std::vector<task_id>> lists;
  lists.reserve(src.assessments.size());
  for (auto& a : src.assessments)
    lists.push_back(std::move(a.tasks));
  job_record out = src;
  for (size_t i = 0; i < lists.size(); ++i)
    src.assessments[i].tasks = std::move(lists[i]);
  return out;
}

journal_batch books::take_batch() {
  journal_batch out;
  out.jobs.reserve(dirty_jobs_.size());
  for (auto id : dirty_jobs_)
    if (const auto* b = find(id))
      out.jobs.push_back(row_of(b->job));
  for (const auto& [job, task] : dirty_tasks_) {
    auto* b = find(job);
    auto* t = b != nullptr ? b->find(task) : nullptr;
    if (t == nullptr)
      continue;
    if (new_tasks_.count({job, task}) > 0) {
      out.tasks.push_back(*t);
      continue;
    }
    // Written before: its definition, which never changes, stays behind.
    auto spec = std::move(t->spec);
    out.task_states.push_back(*t);
    t->spec = std::move(spec);
  }
  out.changes.swap(changes_);
  out.next_job = next_job_;
  out.seq = seq_;
  dirty_jobs_.clear();
  dirty_tasks_.clear();
  new_tasks_.clear();
  return out;
}

void books::flush(journal& j) {
  if (!dirty())
    return;
  auto number = j.write(take_batch());
  auto done = j.wait(number);
  if (done.written < number)
    throw journal_error(done.failure);
}

void books::forget_task(job_books& b, task_id id, bool appended) {
  if (b.tasks.empty() || b.tasks.back().id != id)
    return;
  auto index = b.tasks.back().assessment;
  b.tasks.pop_back();
  auto& a = b.job.assessments[index];
  if (!a.tasks.empty() && a.tasks.back() == id)
    a.tasks.pop_back();
  if (appended && index + 1 == b.job.assessments.size())
    b.job.assessments.pop_back();
  dirty_tasks_.erase({b.job.id, id});
  new_tasks_.erase({b.job.id, id});
}

void books::restore(journal_contents contents) {
  next_job_ = std::max(next_job_, contents.next_job);
  seq_ = std::max(seq_, contents.seq);
  for (auto& b : contents.jobs) {
    for (const auto& t : b.tasks) {
      if (t.status == task_status::running)
        b.live[t.id] = t.attempts;
      // A queued task of the running assessment with an attempt number may
      // have been held by its node (the journal keeps no `held`): that
      // attempt may run there now, so it is live, in doubt like a running
      // one, until its node reports it or is known not to have it (R16).
      if (t.status == task_status::queued && t.attempts > 0
          && b.job.status == job_status::running
          && static_cast<int32_t>(t.assessment) == b.job.current) {
        b.live[t.id] = t.attempts;
        b.held.insert(t.id);
      }
    }
    auto id = b.job.id;
    jobs_[id] = std::move(b);
  }
}

void books::retire(job_id id) {
  jobs_.erase(id);
}

job_books& books::revive(job_books b) {
  auto id = b.job.id;
  auto& out = jobs_[id];
  out = std::move(b);
  return out;
}

caf::optional<event> books::progress(const attempt_progress& p,
                                     caf::timestamp now) {
  const auto* b = find(p.key.job);
  if (b == nullptr)
    return caf::none;
  const auto* t = b->find(p.key.task);
  if (t == nullptr || t->status != task_status::running
      || t->attempts != p.key.attempt)
    return caf::none;
  event ev;
  ev.seq = ++seq_;
  ev.job = p.key.job;
  ev.kind = event_kind::progress;
  ev.subject = p.key.task;
  ev.previous = ev.current = t->status;
  ev.message = p.text;
  ev.who = t->node;
  ev.percent = p.percent;
  ev.time = now;
  return ev;
}

job_list books::list(const list_jobs& req) const {
  job_list out;
  if (req.limit == 0 && req.before == invalid_id) {
    for (const auto& [id, b] : jobs_)
      if (!req.filter_by_status || b.job.status == req.status)
        out.jobs.push_back(b.job);
    return out;
  }
  // The newest `limit` jobs below `before`, listed by id.
  auto end
      = req.before == invalid_id ? jobs_.end() : jobs_.lower_bound(req.before);
  for (auto i = std::make_reverse_iterator(end); i != jobs_.rend(); ++i) {
    if (req.filter_by_status && i->second.job.status != req.status)
      continue;
    if (req.limit != 0 && out.jobs.size() == req.limit) {
      out.more = true;
      break;
    }
    out.jobs.push_back(i->second.job);
  }
  std::reverse(out.jobs.begin(), out.jobs.end());
  return out;
}

task_list books::list(const list_tasks& req) const {
  task_list out;
  const auto* b = find(req.job);
  if (b == nullptr) {
    out.code = result_code::job_not_found;
    return out;
  }
  for (const auto& t : b->tasks)
    if (!req.filter_by_status || t.status == req.status)
      out.tasks.push_back(t);
  return out;
}

job_status_reply books::status(const get_job_status& req) const {
  const auto* b = find(req.job);
  if (b == nullptr)
    return {result_code::job_not_found, {}, {}};
  return {result_code::ok, b->job, {}};
}

task_status_reply books::status(const get_task_status& req) const {
  const auto* b = find(req.job);
  if (b == nullptr)
    return {result_code::job_not_found, {}, {}};
  const auto* t = b->find(req.task);
  if (t == nullptr)
    return {result_code::task_not_found, {}, {}};
  return {result_code::ok, *t, {}};
}

} // namespace quiesce
