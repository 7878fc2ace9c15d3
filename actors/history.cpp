#include "actors/history.hpp"

#include <algorithm>

namespace quiesce {

job_list list_with_history(const books& jobs, journal* log,
                           const list_jobs& req) {
  auto query = req;
  query.limit = req.limit == 0 ? default_history_limit
                               : std::min(req.limit, max_history_limit);
  if (!req.history || log == nullptr)
    return jobs.list(query);
  // Both sources newest first; the journal's rows of jobs in memory are
  // skipped (memory may be ahead of them by one group commit).
  const auto& mem = jobs.jobs();
  auto end
      = query.before == invalid_id ? mem.end() : mem.lower_bound(query.before);
  auto m = std::make_reverse_iterator(end);
  auto matches = [&](const job_record& j) {
    return !query.filter_by_status || j.status == query.status;
  };
  job_list out;
  auto full = [&] {
    if (out.jobs.size() < query.limit)
      return false;
    out.more = true;
    return true;
  };
  // Takes the jobs of memory with an id above `id`; false once full.
  auto take_memory_above = [&](job_id id) {
    for (; m != mem.rend() && m->first > id; ++m) {
      if (!matches(m->second.job))
        continue;
      if (full())
        return false;
      out.jobs.push_back(m->second.job);
    }
    return true;
  };
  bool open = true;
  const job_status* status = query.filter_by_status ? &query.status : nullptr;
  log->scan_jobs(query.before, status, [&](job_record& j) {
    if (!take_memory_above(j.id)) {
      open = false;
      return false;
    }
    if (mem.count(j.id) > 0)
      return true;
    if (full()) {
      open = false;
      return false;
    }
    out.jobs.push_back(std::move(j));
    return true;
  });
  if (open)
    take_memory_above(invalid_id);
  std::reverse(out.jobs.begin(), out.jobs.end());
  return out;
}

task_list tasks_of(const job_books& b, const list_tasks& req) {
  task_list out;
  for (const auto& t : b.tasks)
    if (!req.filter_by_status || t.status == req.status)
      out.tasks.push_back(t);
  return out;
}

} // namespace quiesce
