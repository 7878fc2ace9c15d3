#pragma once

// The journal: the books written to an SQLite database (WAL mode) under a
// state directory, so that a head that restarts finds its jobs again. Plain
// SQL tables a user can query (docs/durability.md has the schema); no CAF
// scheduling. The books (actors/books.hpp) collect what changed while the
// supervisor serves one message; the supervisor writes it here in one
// transaction before any reply or event of that message leaves.

#include "actors/rules.hpp"

#include <caf/timestamp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
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
  /// or cannot be opened; nothing is written then.
  explicit journal(const std::string& state_dir);

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

  /// Starts a transaction.
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

  /// Appends a change.
  void put_change(const journal_change& c);

  /// Writes the next job id and the last change number.
  void put_counters(job_id next_job, uint64_t seq);

private:
  sqlite3_stmt* prepare(const char* sql);
  void read_assessments(job_record& j, bool task_ids);
  void read_output_dirs(job_record& j);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);
  [[noreturn]] void damaged(const journal_error& e);

  std::string file_;
  sqlite3* db_ = nullptr;
  bool in_transaction_ = false;
  sqlite3_stmt* put_job_ = nullptr;
  sqlite3_stmt* put_assessment_ = nullptr;
  sqlite3_stmt* put_task_ = nullptr;
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
