#pragma once

// History: jobs retired from the head's memory (their end older than the
// retention age, docs/durability.md) read back from the journal, so that
// listing and status answer for them as for jobs in memory. Plain functions
// over the books and the journal; no CAF scheduling.

#include "actors/books.hpp"
#include "actors/journal.hpp"

namespace quiesce {

/// Returns the jobs `req` asks for from memory and, with `req.history`, from
/// `log` too (which may be nullptr: memory only): the newest matching jobs
/// below `req.before`, at most the limit (`default_history_limit` when 0,
/// capped at `max_history_limit`), listed by id. A job in memory counts as
/// it is there. Throws journal_error when the journal cannot be read.
job_list list_with_history(const books& jobs, journal* log,
                           const list_jobs& req);

/// Returns the tasks of `b` that `req` asks for.
task_list tasks_of(const job_books& b, const list_tasks& req);

} // namespace quiesce
