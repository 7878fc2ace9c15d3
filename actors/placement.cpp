#include "actors/placement.hpp"

#include "actors/owners.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace quiesce {

node_entry* pick_node(std::vector<node_entry>& nodes, const task_record& t,
                      const std::string& owner) {
  auto function = t.spec.kind == work_kind::function;
  node_entry* best = nullptr;
  node_entry* refusing = nullptr;
  bool runs_elsewhere = false;
  // Free slots first, then room to hold attempts (pipelining).
  auto room = [](const node_entry& n) {
    auto used = static_cast<int64_t>(n.running);
    auto slots = static_cast<int64_t>(n.slots);
    return std::make_pair(std::max<int64_t>(slots - used, 0),
                          slots + n.pipeline - used);
  };
  auto roomier = [&room](const node_entry& n, const node_entry* than) {
    return than == nullptr || room(n) > room(*than);
  };
  for (auto& n : nodes) {
    if (n.status != node_status::ready)
      continue;
    if (!t.spec.label.empty()
        && std::find(n.labels.begin(), n.labels.end(), t.spec.label)
               == n.labels.end())
      continue;
    auto runs = runs_owner(n.owners, owner, function);
    runs_elsewhere = runs_elsewhere || runs;
    if (!n.has_free_slot())
      continue;
    if (runs && roomier(n, best))
      best = &n;
    else if (!runs && roomier(n, refusing))
      refusing = &n;
  }
  if (best != nullptr || runs_elsewhere)
    return best;
  // No ready node runs the owner's tasks: one of them refuses the attempt
  // and says why, rather than the task waiting for a node that may never
  // join.
  return refusing;
}

run_task make_run_task(const job_books& b, const task_record& t,
                       const node_entry& n) {
  run_task msg;
  msg.key = attempt_key{b.job.id, t.id, t.attempts};
  msg.spec = t.spec;
  msg.grace = t.spec.grace.count() >= 0 ? t.spec.grace : b.job.policy.grace;
  msg.stop_commands_on_cancel = b.job.policy.stop_commands_on_cancel;
  msg.node = n.hdl;
  msg.port = n.port;
  msg.node_name = n.name;
  msg.incarnation = n.incarnation;
  msg.owner = b.job.owner;
  return msg;
}

void placement::job_queued(job_id id) {
  start_queue_.push_back(id);
}

job_id placement::next_start() {
  if (start_queue_.empty()
      || (max_running_jobs_ != 0 && running_jobs_ >= max_running_jobs_))
    return invalid_id;
  auto id = start_queue_.front();
  start_queue_.pop_front();
  return id;
}

void placement::begin_assessment(const job_books& b, assessment_index index) {
  auto& q = queues_[b.job.id];
  q.ready.clear();
  for (auto id : b.job.assessments[index].tasks)
    if (b.tasks[id - 1].status == task_status::queued)
      q.ready.push_back(id);
  add_to_ring(b.job.id, q);
}

void placement::ready(job_id job, task_id task) {
  auto& q = queues_[job];
  q.ready.push_back(task);
  add_to_ring(job, q);
}

void placement::forget(job_id id) {
  // A ring entry left behind is skipped: its job is no longer in the books.
  queues_.erase(id);
}

void placement::add_to_ring(job_id id, queue& q) {
  if (q.in_ring || q.ready.empty())
    return;
  q.in_ring = true;
  ring_.push_back(id);
}

caf::optional<placement::choice> placement::next(books& jobs,
                                                 node_table& nodes) {
  while (!ring_.empty() && nodes.has_free_slot()) {
    auto id = ring_.front();
    ring_.pop_front();
    auto* b = jobs.find(id);
    if (b == nullptr)
      continue;
    auto& q = queues_[id];
    q.in_ring = false;
    caf::optional<choice> found;
    while (!q.ready.empty()) {
      auto& t = b->tasks[q.ready.front() - 1];
      if (!dispatchable(*b, t)) {
        q.ready.pop_front();
        continue;
      }
      auto* n = pick_node(nodes.entries(), t, b->job.owner);
      if (n == nullptr) {
        blocked_.push_back(id);
        q.in_ring = true;
        break;
      }
      q.ready.pop_front();
      found = choice{b, &t, n};
      break;
    }
    add_to_ring(id, q);
    if (found)
      return found;
  }
  ring_.insert(ring_.end(), blocked_.begin(), blocked_.end());
  blocked_.clear();
  return caf::none;
}

} // namespace quiesce
