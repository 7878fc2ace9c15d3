#pragma once

// The journal: the books written to an SQLite database (WAL mode) under a
// state directory, so that a head that restarts finds its jobs again. Plain
// SQL tables a user can query (docs/durability.md has the schema); no CAF
// scheduling. The books (actors/books.hpp) collect what changed while the
// supervisor serves its messages and hand it over as a batch; a writer
// thread of the journal writes every batch handed over while it wrote the
// previous transaction in one transaction (group commit) and tells the
// supervisor, which lets the replies and events of those batches go.

#include "actors/rules.hpp"

#include <caf/timestamp.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace quiesce {

/// A journal that cannot be opened, read or written; the message names the
/// file and says why.
class journal_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One status change as the journal keeps it (table `changes`).
struct journal_change {
  uint64_t seq = 0;
  job_id job = invalid_id;
  transition change;
  std::string who;
  caf::timestamp time{};
};

/// The rows of what changed while the supervisor served some messages:
/// written in one transaction, with others handed over meanwhile.
struct journal_batch {
  /// Job records with their assessments (the assessments' task lists are
  /// not written, and left empty).
  std::vector<job_record> jobs;
  /// New tasks: whole records, with their definitions.
  std::vector<task_record> tasks;
  /// Tasks written before: their state (everything but the definition,
  /// which never changes; left empty).
  std::vector<task_record> task_states;
  std::vector<journal_change> changes;
  /// The next job id and the last change number when it was taken.
  job_id next_job = 1;
  uint64_t seq = 0;

  /// Removes the rows of job `job` (and its changes); with a task, only
  /// the rows of that task.
  void drop(job_id job, task_id task = invalid_id);

  /// Replaces the rows of job `j.id` by `j`.
  void replace(const job_record& j);

  bool empty() const noexcept {
    return jobs.empty() && tasks.empty() && task_states.empty()
           && changes.empty();
  }
};

/// How far the journal's writer got.
struct journal_progress {
  /// The number of the last batch written (committed).
  uint64_t written = 0;
  /// The number of the last batch handed over.
  uint64_t handed = 0;
  /// Why the last transaction failed; empty when it did not (the batches
  /// not written are tried again).
  std::string failure;
};

/// What a journal holds when it is opened.
struct journal_contents {
  /// Every job, with its tasks (live attempts empty).
  std::vector<job_books> jobs;
  /// The next job id to hand out: above every id ever handed out.
  job_id next_job = 1;
  /// The number of the last change.
  uint64_t seq = 0;
};

/// An open journal: one SQLite database file, one writer.
class journal {
public:
  /// The database file under `state_dir`.
  static std::string file_of(const std::string& state_dir);

  /// Opens the journal under `state_dir` (creating the directory and an
  /// empty journal when there is none). Throws journal_error, naming the
  /// file, if the file is not a Quiesce journal, is corrupted or truncated,
  /// or cannot be opened; nothing is written then. Without
  /// `writer_thread`, `write` writes on the caller's thread before it
  /// returns (for tests on CAF's deterministic scheduler).
  explicit journal(const std::string& state_dir, bool writer_thread = true);

  ~journal();

  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Returns the path of the database file.
  const std::string& file() const noexcept {
    return file_;
  }

  /// Reads what the journal holds: every job that is not terminal, and the
  /// terminal ones that ended at `kept_since` or later (all of them with
  /// the default).
  journal_contents load(caf::timestamp kept_since = caf::timestamp{});

  /// Reads job `id` with its assessments (and their task ids) and output
  /// directories, and with
  /// `with_tasks` its task records; returns false if the journal has no
  /// such job. Throws journal_error when the journal cannot be read.
  bool find_job(job_id id, bool with_tasks, job_books& out);

  /// Calls `fn` with the record of each job (with its assessments, without
  /// its output directories) whose id
  /// is below `before` (every id when `before` is invalid_id) and, with a
  /// status, in that status, highest id first, until `fn` returns false.
  /// Throws journal_error when the journal cannot be read.
  void scan_jobs(job_id before, const job_status* status,
                 const std::function<bool(job_record&)>& fn);

  /// Hands `batch` over to the writer thread (started on the first call);
  /// returns its number (1, 2, ...). The writer writes every batch handed
  /// over while it wrote the previous transaction in one transaction, and
  /// tries again (every `retry_interval`) after a failure.
  uint64_t write(journal_batch batch);

  /// Sets what the writer calls (on its thread) after each transaction,
  /// written or failed.
  void on_written(std::function<void()> fn);

  /// Returns how far the writer got.
  journal_progress progress() const;

  /// Waits until batch `number` is written or a transaction holding it
  /// failed; returns how far the writer got.
  journal_progress wait(uint64_t number);

  /// Unless batch `number` is written, applies `fn` to every batch not yet
  /// written (to take back rows of a refused change) and returns true; a
  /// transaction under way ends first. Returns false when it is written.
  bool undo(uint64_t number, const std::function<void(journal_batch&)>& fn);

  /// How long the writer waits before trying a failed write again.
  static constexpr std::chrono::milliseconds retry_interval{200};

  /// Starts a transaction (on the writer's thread, as the following).
  void begin();

  /// Commits the transaction; throws journal_error (then it is rolled back
  /// and nothing of it is kept).
  void commit();

  /// Rolls back the transaction, if one is open.
  void rollback() noexcept;

  /// Writes the record of a job (and its assessments).
  void put_job(const job_record& j);

  /// Writes the record of a task.
  void put_task(const task_record& t);

  /// Writes the state of a task written before (all but its definition).
  void put_task_state(const task_record& t);

  /// Appends a change.
  void put_change(const journal_change& c);

  /// Writes the next job id and the last change number.
  void put_counters(job_id next_job, uint64_t seq);

private:
  sqlite3_stmt* prepare(const char* sql);
  sqlite3_stmt* prepare(sqlite3* db, const char* sql);
  void read_assessments(job_record& j, bool task_ids);
  void read_output_dirs(job_record& j);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);
  [[noreturn]] void damaged(const journal_error& e);

  void run_writer();
  void write_queue(std::unique_lock<std::mutex>& guard);
  void write_rows(const std::vector<journal_batch>& work, job_id next_job,
                  uint64_t seq);

  std::string file_;
  // Read on the caller's thread (load, find_job, scan_jobs).
  sqlite3* db_ = nullptr;
  // Written on the writer's thread.
  sqlite3* wdb_ = nullptr;
  // The writer and what it shares.
  mutable std::mutex mtx_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::thread writer_;
  std::vector<journal_batch> queue_;
  std::function<void()> notify_;
  uint64_t handed_ = 0;
  uint64_t written_ = 0;
  uint64_t failed_ = 0;
  job_id next_job_ = 1;
  uint64_t seq_ = 0;
  bool threaded_ = true;
  bool busy_ = false;
  bool stop_ = false;
  std::string failure_;
  std::chrono::steady_clock::time_point retry_at_;
  // The encoded definition of the task being written (writer's thread).
  std::vector<char> spec_buffer_;
  bool in_transaction_ = false;
  sqlite3_stmt* put_job_ = nullptr;
  sqlite3_stmt* put_assessment_ = nullptr;
  sqlite3_stmt* put_task_ = nullptr;
  sqlite3_stmt* put_task_state_ = nullptr;
  sqlite3_stmt* put_change_ = nullptr;
  sqlite3_stmt* put_counters_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* get_job_ = nullptr;
  sqlite3_stmt* get_assessments_ = nullptr;
  sqlite3_stmt* get_task_ids_ = nullptr;
  sqlite3_stmt* get_tasks_ = nullptr;
  sqlite3_stmt* put_output_dir_ = nullptr;
  sqlite3_stmt* get_output_dirs_ = nullptr;
};

} // namespace quiesce
