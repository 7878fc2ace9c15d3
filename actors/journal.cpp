#include "actors/journal.hpp"

#include "messages/events.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

namespace quiesce {

namespace {

// Version 3: the tables below and `output_dirs_sql`. Version 2 had no table
// `output_dirs`: a version 2 journal is migrated when opened. Version 1 had
// no task usage columns and no resource limits in a task's spec. A journal
// with another version is refused.
constexpr int schema_version = 3;

// The table added by version 3: where each node put a job's output files.
// A new journal gets it after `schema_sql`; a version 2 one gets it when
// migrated.
const char* output_dirs_sql = R"sql(
CREATE TABLE output_dirs (
  job  INTEGER NOT NULL,
  node TEXT NOT NULL,
  dir  TEXT NOT NULL,
  PRIMARY KEY (job, node)
) WITHOUT ROWID;
)sql";

const char* schema_sql = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE jobs (
  id                       INTEGER PRIMARY KEY,
  name                     TEXT NOT NULL,
  status                   TEXT NOT NULL,
  end_code                 TEXT NOT NULL,
  error_message            TEXT NOT NULL,
  current                  INTEGER NOT NULL,
  created                  INTEGER NOT NULL,
  submitted                INTEGER NOT NULL,
  started                  INTEGER NOT NULL,
  ended                    INTEGER NOT NULL,
  requeue_count            INTEGER NOT NULL,
  owner                    TEXT NOT NULL,
  stop_on_assessment_error INTEGER NOT NULL,
  grace_ns                 INTEGER NOT NULL,
  retries                  INTEGER NOT NULL,
  stop_commands_on_cancel  INTEGER NOT NULL
);
CREATE INDEX jobs_by_status ON jobs (status);
CREATE TABLE assessments (
  job     INTEGER NOT NULL,
  idx     INTEGER NOT NULL,
  name    TEXT NOT NULL,
  status  TEXT NOT NULL,
  outcome TEXT NOT NULL,
  started INTEGER NOT NULL,
  ended   INTEGER NOT NULL,
  PRIMARY KEY (job, idx)
) WITHOUT ROWID;
CREATE TABLE tasks (
  job           INTEGER NOT NULL,
  id            INTEGER NOT NULL,
  assessment    INTEGER NOT NULL,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  status        TEXT NOT NULL,
  end_code      TEXT NOT NULL,
  error_message TEXT NOT NULL,
  exit_code     INTEGER NOT NULL,
  node          TEXT NOT NULL,
  created       INTEGER NOT NULL,
  submitted     INTEGER NOT NULL,
  started       INTEGER NOT NULL,
  ended         INTEGER NOT NULL,
  requeue_count INTEGER NOT NULL,
  attempts      INTEGER NOT NULL,
  node_losses   INTEGER NOT NULL,
  spec          BLOB NOT NULL,
  cpu_time_ns   INTEGER NOT NULL,
  peak_memory   INTEGER NOT NULL,
  PRIMARY KEY (job, id)
) WITHOUT ROWID;
CREATE TABLE changes (
  seq         INTEGER PRIMARY KEY,
  job         INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  subject     INTEGER NOT NULL,
  from_status TEXT NOT NULL,
  to_status   TEXT NOT NULL,
  code        TEXT NOT NULL,
  message     TEXT NOT NULL,
  who         TEXT NOT NULL,
  time        INTEGER NOT NULL
);
CREATE INDEX changes_by_job ON changes (job, seq);
INSERT INTO meta VALUES ('application', 1364543827), ('schema_version', 2),
                        ('next_job', 1), ('seq', 0);
)sql";

// 'QUIE' as an integer: marks the database as a Quiesce journal.
constexpr int64_t application_mark = 1364543827;

int64_t to_ns(caf::timestamp t) {
  return t.time_since_epoch().count();
}

caf::timestamp from_ns(int64_t ns) {
  return caf::timestamp{caf::timestamp::duration{ns}};
}

std::string text(sqlite3_stmt* st, int col) {
  auto p = sqlite3_column_text(st, col);
  return p ? std::string{reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(st, col))}
           : std::string{};
}

// Text and blobs are bound without a copy: every value bound lives until
// the statement's step, and every parameter is bound again before the next.
void bind_value(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

void bind_value(sqlite3_stmt* st, int i, std::string_view s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

void bind_value(sqlite3_stmt* st, int i, int64_t x) {
  sqlite3_bind_int64(st, i, x);
}

void bind_value(sqlite3_stmt* st, int i, caf::timestamp t) {
  sqlite3_bind_int64(st, i, to_ns(t));
}

template <class Status>
Status status_of(const std::string& name, const char* what) {
  Status x{};
  if (!from_name(name, x))
    throw journal_error(std::string{"unknown "} + what + " '" + name + "'");
  return x;
}

result_code code_of(const std::string& name) {
  result_code x{};
  if (!from_name(name, x))
    throw journal_error("unknown result code '" + name + "'");
  return x;
}

assessment_status assessment_status_of(const std::string& name) {
  for (auto x : {assessment_status::not_yet_run, assessment_status::running,
                 assessment_status::completed})
    if (to_name(x) == name)
      return x;
  throw journal_error("unknown assessment status '" + name + "'");
}

// Reads one job row (columns in the order of `job_columns`).
constexpr const char* job_columns
    = "id, name, status, end_code, error_message, current, created, "
      "submitted, started, ended, requeue_count, owner, "
      "stop_on_assessment_error, grace_ns, retries, stop_commands_on_cancel";

job_record read_job(sqlite3_stmt* st) {
  job_record j;
  j.id = static_cast<job_id>(sqlite3_column_int64(st, 0));
  j.name = text(st, 1);
  j.status = status_of<job_status>(text(st, 2), "job status");
  j.end_code = code_of(text(st, 3));
  j.error_message = text(st, 4);
  j.current = sqlite3_column_int(st, 5);
  j.created = from_ns(sqlite3_column_int64(st, 6));
  j.submitted = from_ns(sqlite3_column_int64(st, 7));
  j.started = from_ns(sqlite3_column_int64(st, 8));
  j.ended = from_ns(sqlite3_column_int64(st, 9));
  j.requeue_count = static_cast<uint32_t>(sqlite3_column_int64(st, 10));
  j.owner = text(st, 11);
  j.policy.stop_on_assessment_error = sqlite3_column_int(st, 12) != 0;
  j.policy.grace = caf::timespan{sqlite3_column_int64(st, 13)};
  j.policy.retries = static_cast<uint32_t>(sqlite3_column_int64(st, 14));
  j.policy.stop_commands_on_cancel = sqlite3_column_int(st, 15) != 0;
  return j;
}

constexpr const char* task_columns
    = "job, id, assessment, status, end_code, error_message, exit_code, node, "
      "created, submitted, started, ended, requeue_count, attempts, "
      "node_losses, spec, cpu_time_ns, peak_memory";

task_record read_task(sqlite3_stmt* st) {
  task_record t;
  t.job = static_cast<job_id>(sqlite3_column_int64(st, 0));
  t.id = static_cast<task_id>(sqlite3_column_int64(st, 1));
  t.assessment = static_cast<assessment_index>(sqlite3_column_int64(st, 2));
  t.status = status_of<task_status>(text(st, 3), "task status");
  t.end_code = code_of(text(st, 4));
  t.error_message = text(st, 5);
  t.exit_code = sqlite3_column_int(st, 6);
  t.node = text(st, 7);
  t.created = from_ns(sqlite3_column_int64(st, 8));
  t.submitted = from_ns(sqlite3_column_int64(st, 9));
  t.started = from_ns(sqlite3_column_int64(st, 10));
  t.ended = from_ns(sqlite3_column_int64(st, 11));
  t.requeue_count = static_cast<uint32_t>(sqlite3_column_int64(st, 12));
  t.attempts = static_cast<uint32_t>(sqlite3_column_int64(st, 13));
  t.node_losses = static_cast<uint32_t>(sqlite3_column_int64(st, 14));
  auto p = static_cast<const char*>(sqlite3_column_blob(st, 15));
  std::vector<char> buf(p, p + sqlite3_column_bytes(st, 15));
  caf::binary_deserializer source{nullptr, buf};
  if (auto err = source(t.spec))
    throw journal_error("the definition of task " + std::to_string(t.id)
                        + " of job " + std::to_string(t.job)
                        + " cannot be read");
  t.cpu_time = caf::timespan{sqlite3_column_int64(st, 16)};
  t.peak_memory = static_cast<uint64_t>(sqlite3_column_int64(st, 17));
  return t;
}

// Finalizes a statement when it goes out of scope.
struct statement {
  sqlite3_stmt* st = nullptr;
  ~statement() {
    sqlite3_finalize(st);
  }
};

} // namespace

std::string journal::file_of(const std::string& state_dir) {
  return state_dir + "/quiesce.db";
}

journal::journal(const std::string& state_dir, bool writer_thread)
    : file_(file_of(state_dir)), threaded_(writer_thread) {
  struct stat info;
  bool exists = ::stat(file_.c_str(), &info) == 0;
  if (!exists) {
    if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw journal_error("cannot create the state directory " + state_dir
                          + ": " + std::strerror(errno));
  }
  bool migrate = false;
  auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
               | (exists ? 0 : SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr) != SQLITE_OK)
    fail("cannot open");
  try {
    if (exists) {
      // Checks before anything is written: a damaged file stays as it is.
      // A truncated or overwritten file fails here ("file is not a
      // database", "database disk image is malformed").
      statement check;
      if (sqlite3_prepare_v2(db_, "PRAGMA quick_check", -1, &check.st, nullptr)
          != SQLITE_OK)
        fail("is damaged");
      auto rc = sqlite3_step(check.st);
      if (rc != SQLITE_ROW)
        fail("is damaged");
      if (auto result = text(check.st, 0); result != "ok")
        throw journal_error(file_ + " is damaged: " + result);
      statement mark;
      if (sqlite3_prepare_v2(db_,
                             "SELECT value FROM meta WHERE key IN "
                             "('application','schema_version') ORDER BY key",
                             -1, &mark.st, nullptr)
          != SQLITE_OK)
        fail("is not a Quiesce journal");
      int64_t values[2] = {0, 0};
      for (int i = 0; i < 2 && sqlite3_step(mark.st) == SQLITE_ROW; ++i)
        values[i] = sqlite3_column_int64(mark.st, 0);
      if (values[0] != application_mark)
        throw journal_error(file_ + " is not a Quiesce journal");
      migrate = values[1] == 2;
      if (values[1] != schema_version && !migrate)
        throw journal_error(file_ + " has schema version "
                            + std::to_string(values[1]) + ", this head reads "
                            + std::to_string(schema_version));
    }
    exec("PRAGMA journal_mode=WAL");
    // In WAL mode, NORMAL syncs at checkpoints only: a committed
    // transaction survives a crash of the process (SIGKILL), not
    // necessarily one of the machine (docs/durability.md).
    exec("PRAGMA synchronous=NORMAL");
    if (!exists || migrate) {
      // A new journal is made as version 2 and migrated: one way to reach
      // version 3, taken in one transaction.
      exec("BEGIN");
      if (!exists)
        exec(schema_sql);
      exec(output_dirs_sql);
      exec("UPDATE meta SET value = 3 WHERE key = 'schema_version'");
      exec("COMMIT");
    }
    // A connection of its own for the writer's thread; the first one reads
    // (WAL: readers see the last commit and do not wait for the writer).
    if (sqlite3_open_v2(file_.c_str(), &wdb_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr)
        != SQLITE_OK)
      fail("cannot open");
    for (auto db : {db_, wdb_}) {
      sqlite3_busy_timeout(db, 5000);
      char* msg = nullptr;
      if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, &msg)
          != SQLITE_OK) {
        std::string why = msg ? msg : "unknown error";
        sqlite3_free(msg);
        throw journal_error(file_ + ": " + why);
      }
    }
    put_job_ = prepare(
        wdb_, "INSERT OR REPLACE INTO jobs VALUES "
              "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)");
    put_assessment_ = prepare(wdb_, "INSERT OR REPLACE INTO assessments VALUES "
                                    "(?1,?2,?3,?4,?5,?6,?7)");
    put_output_dir_
        = prepare(wdb_, "INSERT OR REPLACE INTO output_dirs VALUES (?1,?2,?3)");
    get_output_dirs_
        = prepare("SELECT node, dir FROM output_dirs WHERE job = ?1");
    put_task_
        = prepare(wdb_, "INSERT OR REPLACE INTO tasks VALUES "
                        "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
                        "?16,?17,?18,?19,?20)");
    // Columns in the order of put_task's bindings, the definition left out.
    put_task_state_ = prepare(
        wdb_,
        "UPDATE tasks SET status = ?3, end_code = ?4, error_message = ?5, "
        "exit_code = ?6, node = ?7, submitted = ?8, started = ?9, "
        "ended = ?10, requeue_count = ?11, attempts = ?12, "
        "node_losses = ?13, cpu_time_ns = ?14, peak_memory = ?15 "
        "WHERE job = ?1 AND id = ?2");
    put_change_ = prepare(
        wdb_, "INSERT INTO changes VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    put_counters_
        = prepare(wdb_, "UPDATE meta SET value = CASE key WHEN 'next_job' "
                        "THEN ?1 ELSE ?2 END WHERE key IN "
                        "('next_job','seq')");
    begin_ = prepare(wdb_, "BEGIN");
    commit_ = prepare(wdb_, "COMMIT");
    get_job_ = prepare(
        (std::string{"SELECT "} + job_columns + " FROM jobs WHERE id = ?1")
            .c_str());
    get_assessments_
        = prepare("SELECT idx, name, status, outcome, started, ended FROM "
                  "assessments WHERE job = ?1 ORDER BY idx");
    get_task_ids_ = prepare(
        "SELECT id, assessment FROM tasks WHERE job = ?1 ORDER BY id");
    get_tasks_ = prepare((std::string{"SELECT "} + task_columns
                          + " FROM tasks WHERE job = ?1 ORDER BY id")
                             .c_str());
  } catch (...) {
    for (auto st :
         {put_job_, put_assessment_, put_task_, put_task_state_, put_change_,
          put_counters_, begin_, commit_, get_job_, get_assessments_,
          get_task_ids_, get_tasks_, put_output_dir_, get_output_dirs_})
      sqlite3_finalize(st);
    sqlite3_close(wdb_);
    sqlite3_close(db_);
    throw;
  }
}

journal::~journal() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  work_cv_.notify_all();
  // The writer writes what it holds (one more try after a failure) first.
  if (writer_.joinable())
    writer_.join();
  rollback();
  for (auto st :
       {put_job_, put_assessment_, put_task_, put_task_state_, put_change_,
        put_counters_, begin_, commit_, get_job_, get_assessments_,
        get_task_ids_, get_tasks_, put_output_dir_, get_output_dirs_})
    sqlite3_finalize(st);
  sqlite3_close(wdb_);
  sqlite3_close(db_);
}

void journal::damaged(const journal_error& e) {
  // Errors of SQLite name the file already; those of the rows do not.
  std::string why = e.what();
  if (why.rfind(file_, 0) == 0)
    throw e;
  throw journal_error(file_ + " is damaged: " + why);
}

void journal::fail(const std::string& what) {
  throw journal_error(file_ + " " + what + ": "
                      + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

sqlite3_stmt* journal::prepare(const char* sql) {
  return prepare(db_, sql);
}

sqlite3_stmt* journal::prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
    fail("cannot be read");
  return st;
}

void journal::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string why = msg ? msg : "unknown error";
    sqlite3_free(msg);
    throw journal_error(file_ + ": " + why);
  }
}

namespace {

void step_done(sqlite3_stmt* st, const journal& j, sqlite3* db) {
  auto rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    throw journal_error(j.file() + " cannot be written: " + sqlite3_errmsg(db));
}

} // namespace

void journal::begin() {
  step_done(begin_, *this, wdb_);
  in_transaction_ = true;
}

void journal::commit() {
  auto rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errmsg(wdb_);
    rollback();
    throw journal_error(file_ + " cannot be written: " + why);
  }
  in_transaction_ = false;
}

void journal::rollback() noexcept {
  if (in_transaction_ && sqlite3_get_autocommit(wdb_) == 0)
    sqlite3_exec(wdb_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_transaction_ = false;
}

void journal_batch::drop(job_id job, task_id task) {
  auto of_job = [job](const auto& x) {
    return x.job == job;
  };
  if (task == invalid_id) {
    jobs.erase(
        std::remove_if(jobs.begin(), jobs.end(),
                       [job](const job_record& j) { return j.id == job; }),
        jobs.end());
    tasks.erase(std::remove_if(tasks.begin(), tasks.end(), of_job),
                tasks.end());
    task_states.erase(
        std::remove_if(task_states.begin(), task_states.end(), of_job),
        task_states.end());
    changes.erase(std::remove_if(changes.begin(), changes.end(), of_job),
                  changes.end());
    return;
  }
  auto of_task = [job, task](const task_record& t) {
    return t.job == job && t.id == task;
  };
  tasks.erase(std::remove_if(tasks.begin(), tasks.end(), of_task), tasks.end());
  task_states.erase(
      std::remove_if(task_states.begin(), task_states.end(), of_task),
      task_states.end());
}

void journal_batch::replace(const job_record& j) {
  for (auto& x : jobs)
    if (x.id == j.id)
      x = j;
}

uint64_t journal::write(journal_batch batch) {
  std::unique_lock<std::mutex> guard{mtx_};
  next_job_ = batch.next_job;
  seq_ = batch.seq;
  queue_.push_back(std::move(batch));
  auto number = ++handed_;
  if (!threaded_) {
    write_queue(guard);
    return number;
  }
  if (!writer_.joinable())
    writer_ = std::thread{[this] {
      run_writer();
    }};
  // A busy writer takes it with its next transaction.
  auto idle = !busy_;
  guard.unlock();
  if (idle)
    work_cv_.notify_one();
  return number;
}

void journal::on_written(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  notify_ = std::move(fn);
}

journal_progress journal::progress() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {written_, handed_, failure_};
}

journal_progress journal::wait(uint64_t number) {
  std::unique_lock<std::mutex> guard{mtx_};
  done_cv_.wait(guard, [&] {
    return written_ >= number || failed_ >= number || !threaded_
           || !writer_.joinable();
  });
  return {written_, handed_, failure_};
}

bool journal::undo(uint64_t number,
                   const std::function<void(journal_batch&)>& fn) {
  std::unique_lock<std::mutex> guard{mtx_};
  done_cv_.wait(guard, [&] { return !busy_; });
  if (written_ >= number)
    return false;
  for (auto& b : queue_)
    fn(b);
  return true;
}

void journal::write_rows(const std::vector<journal_batch>& work,
                         job_id next_job, uint64_t seq) {
  begin();
  try {
    for (const auto& b : work) {
      for (const auto& j : b.jobs)
        put_job(j);
      for (const auto& t : b.tasks)
        put_task(t);
      for (const auto& t : b.task_states)
        put_task_state(t);
      for (const auto& c : b.changes)
        put_change(c);
    }
    put_counters(next_job, seq);
    commit();
  } catch (...) {
    rollback();
    throw;
  }
}

void journal::run_writer() {
  // Named apart from the CAF thread that started it (perf, top -H).
  pthread_setname_np(pthread_self(), "quiesce.journal");
  std::unique_lock<std::mutex> guard{mtx_};
  for (;;) {
    if (failure_.empty())
      work_cv_.wait(guard, [&] { return stop_ || !queue_.empty(); });
    else if (!stop_)
      work_cv_.wait_until(guard, retry_at_, [&] { return stop_; });
    // After a failure the counters are written even with no batch: a
    // write that succeeds again tells that the journal can be written.
    if (queue_.empty() && failure_.empty())
      return; // stopped, with nothing to write
    write_queue(guard);
    if (stop_ && !failure_.empty())
      return; // one last try, failed: what is left is lost with the head
  }
}

void journal::write_queue(std::unique_lock<std::mutex>& guard) {
  std::vector<journal_batch> work;
  work.swap(queue_);
  auto last = handed_;
  auto next_job = next_job_;
  auto seq = seq_;
  busy_ = true;
  guard.unlock();
  std::string why;
  try {
    write_rows(work, next_job, seq);
  } catch (const journal_error& e) {
    why = e.what();
  } catch (const std::exception& e) {
    why = file_ + " cannot be written: " + e.what();
  }
  guard.lock();
  busy_ = false;
  if (why.empty()) {
    written_ = last;
    failure_.clear();
  } else {
    failed_ = last;
    failure_ = why;
    retry_at_ = std::chrono::steady_clock::now() + retry_interval;
    // Tried again first, in their order, with what comes meanwhile.
    work.insert(work.end(), std::make_move_iterator(queue_.begin()),
                std::make_move_iterator(queue_.end()));
    queue_.swap(work);
  }
  auto notify = notify_;
  guard.unlock();
  done_cv_.notify_all();
  if (notify)
    notify();
  guard.lock();
}

void journal::put_job(const job_record& j) {
  auto st = put_job_;
  bind_value(st, 1, static_cast<int64_t>(j.id));
  bind_value(st, 2, j.name);
  bind_value(st, 3, to_name(j.status));
  bind_value(st, 4, to_name(j.end_code));
  bind_value(st, 5, j.error_message);
  bind_value(st, 6, int64_t{j.current});
  bind_value(st, 7, j.created);
  bind_value(st, 8, j.submitted);
  bind_value(st, 9, j.started);
  bind_value(st, 10, j.ended);
  bind_value(st, 11, int64_t{j.requeue_count});
  bind_value(st, 12, j.owner);
  bind_value(st, 13, int64_t{j.policy.stop_on_assessment_error});
  bind_value(st, 14, static_cast<int64_t>(j.policy.grace.count()));
  bind_value(st, 15, int64_t{j.policy.retries});
  bind_value(st, 16, int64_t{j.policy.stop_commands_on_cancel});
  step_done(st, *this, wdb_);
  for (const auto& a : j.assessments) {
    auto sa = put_assessment_;
    bind_value(sa, 1, static_cast<int64_t>(j.id));
    bind_value(sa, 2, int64_t{a.index});
    bind_value(sa, 3, a.name);
    bind_value(sa, 4, to_name(a.status));
    bind_value(sa, 5, to_name(a.outcome));
    bind_value(sa, 6, a.started);
    bind_value(sa, 7, a.ended);
    step_done(sa, *this, wdb_);
  }
  for (const auto& d : j.output_dirs) {
    auto sd = put_output_dir_;
    bind_value(sd, 1, static_cast<int64_t>(j.id));
    bind_value(sd, 2, d.node);
    bind_value(sd, 3, d.dir);
    step_done(sd, *this, wdb_);
  }
}

void journal::put_task(const task_record& t) {
  auto st = put_task_;
  bind_value(st, 1, static_cast<int64_t>(t.job));
  bind_value(st, 2, static_cast<int64_t>(t.id));
  bind_value(st, 3, int64_t{t.assessment});
  bind_value(st, 4, t.spec.name);
  bind_value(st, 5,
             t.spec.kind == work_kind::function ? std::string_view{"function"}
                                                : std::string_view{"command"});
  bind_value(st, 6, to_name(t.status));
  bind_value(st, 7, to_name(t.end_code));
  bind_value(st, 8, t.error_message);
  bind_value(st, 9, int64_t{t.exit_code});
  bind_value(st, 10, t.node);
  bind_value(st, 11, t.created);
  bind_value(st, 12, t.submitted);
  bind_value(st, 13, t.started);
  bind_value(st, 14, t.ended);
  bind_value(st, 15, int64_t{t.requeue_count});
  bind_value(st, 16, int64_t{t.attempts});
  bind_value(st, 17, int64_t{t.node_losses});
  auto& buf = spec_buffer_;
  buf.clear();
  caf::binary_serializer sink{nullptr, buf};
  // Serializing reads the spec only; CAF's inspect wants a mutable one.
  if (auto err = sink(const_cast<task_spec&>(t.spec)))
    throw journal_error(file_ + ": cannot encode the definition of task "
                        + std::to_string(t.id));
  sqlite3_bind_blob(st, 18, buf.data(), static_cast<int>(buf.size()),
                    SQLITE_STATIC);
  bind_value(st, 19, static_cast<int64_t>(t.cpu_time.count()));
  bind_value(st, 20, static_cast<int64_t>(t.peak_memory));
  step_done(st, *this, wdb_);
}

void journal::put_task_state(const task_record& t) {
  auto st = put_task_state_;
  bind_value(st, 1, static_cast<int64_t>(t.job));
  bind_value(st, 2, static_cast<int64_t>(t.id));
  bind_value(st, 3, to_name(t.status));
  bind_value(st, 4, to_name(t.end_code));
  bind_value(st, 5, t.error_message);
  bind_value(st, 6, int64_t{t.exit_code});
  bind_value(st, 7, t.node);
  bind_value(st, 8, t.submitted);
  bind_value(st, 9, t.started);
  bind_value(st, 10, t.ended);
  bind_value(st, 11, int64_t{t.requeue_count});
  bind_value(st, 12, int64_t{t.attempts});
  bind_value(st, 13, int64_t{t.node_losses});
  bind_value(st, 14, static_cast<int64_t>(t.cpu_time.count()));
  bind_value(st, 15, static_cast<int64_t>(t.peak_memory));
  step_done(st, *this, wdb_);
  if (sqlite3_changes(wdb_) != 1)
    throw journal_error(file_ + " has no row for task " + std::to_string(t.id)
                        + " of job " + std::to_string(t.job));
}

void journal::put_change(const journal_change& c) {
  auto st = put_change_;
  bind_value(st, 1, static_cast<int64_t>(c.seq));
  bind_value(st, 2, static_cast<int64_t>(c.job));
  // Short names: no allocation; bound without a copy, alive until the step.
  auto kind = to_string(c.change.kind);
  bind_value(st, 3, kind);
  bind_value(st, 4, static_cast<int64_t>(c.change.subject));
  bind_value(st, 5, to_name(c.change.from));
  bind_value(st, 6, to_name(c.change.to));
  bind_value(st, 7, to_name(c.change.code));
  bind_value(st, 8, c.change.message);
  bind_value(st, 9, c.who);
  bind_value(st, 10, c.time);
  step_done(st, *this, wdb_);
}

void journal::put_counters(job_id next_job, uint64_t seq) {
  bind_value(put_counters_, 1, static_cast<int64_t>(next_job));
  bind_value(put_counters_, 2, static_cast<int64_t>(seq));
  step_done(put_counters_, *this, wdb_);
}

journal_contents journal::load(caf::timestamp kept_since) {
  journal_contents out;
  try {
    {
      statement st{prepare("SELECT key, value FROM meta")};
      while (sqlite3_step(st.st) == SQLITE_ROW) {
        auto key = text(st.st, 0);
        auto value = static_cast<uint64_t>(sqlite3_column_int64(st.st, 1));
        if (key == "next_job")
          out.next_job = value;
        else if (key == "seq")
          out.seq = value;
      }
    }
    // Every job that is not terminal, and the terminal ones still within
    // the retention age: a restarted head lists what it listed before, and
    // reads older jobs from here when asked (docs/durability.md).
    auto where = std::string{" WHERE status NOT IN ('"}
                 + std::string{to_name(job_status::finished)} + "','"
                 + std::string{to_name(job_status::failed)} + "','"
                 + std::string{to_name(job_status::cancelled)}
                 + "') OR ended >= " + std::to_string(to_ns(kept_since));
    std::map<job_id, size_t> index;
    {
      auto sql = std::string{"SELECT "} + job_columns + " FROM jobs" + where
                 + " ORDER BY id";
      statement st{prepare(sql.c_str())};
      while (sqlite3_step(st.st) == SQLITE_ROW) {
        index[static_cast<job_id>(sqlite3_column_int64(st.st, 0))]
            = out.jobs.size();
        out.jobs.emplace_back();
        out.jobs.back().job = read_job(st.st);
      }
    }
    auto in_jobs = " WHERE job IN (SELECT id FROM jobs" + where + ")";
    {
      auto sql = std::string{"SELECT job, idx, name, status, outcome, started, "
                             "ended FROM assessments"}
                 + in_jobs + " ORDER BY job, idx";
      statement st{prepare(sql.c_str())};
      while (sqlite3_step(st.st) == SQLITE_ROW) {
        auto& j = out.jobs[index.at(static_cast<job_id>(
                               sqlite3_column_int64(st.st, 0)))]
                      .job;
        assessment_record a;
        a.index = static_cast<assessment_index>(sqlite3_column_int64(st.st, 1));
        a.name = text(st.st, 2);
        a.status = assessment_status_of(text(st.st, 3));
        a.outcome = code_of(text(st.st, 4));
        a.started = from_ns(sqlite3_column_int64(st.st, 5));
        a.ended = from_ns(sqlite3_column_int64(st.st, 6));
        j.assessments.push_back(std::move(a));
      }
    }
    {
      auto sql = std::string{"SELECT job, node, dir FROM output_dirs"} + in_jobs
                 + " ORDER BY job, node";
      statement st{prepare(sql.c_str())};
      while (sqlite3_step(st.st) == SQLITE_ROW)
        out.jobs[index.at(static_cast<job_id>(sqlite3_column_int64(st.st, 0)))]
            .job.output_dirs.push_back(
                output_dir{text(st.st, 1), text(st.st, 2)});
    }
    {
      auto sql = std::string{"SELECT "} + task_columns + " FROM tasks" + in_jobs
                 + " ORDER BY job, id";
      statement st{prepare(sql.c_str())};
      while (sqlite3_step(st.st) == SQLITE_ROW) {
        auto t = read_task(st.st);
        auto& b = out.jobs[index.at(t.job)];
        if (t.id != b.tasks.size() + 1
            || t.assessment >= b.job.assessments.size())
          throw journal_error("task " + std::to_string(t.id) + " of job "
                              + std::to_string(t.job) + " does not fit");
        b.job.assessments[t.assessment].tasks.push_back(t.id);
        b.tasks.push_back(std::move(t));
      }
    }
  } catch (const journal_error& e) {
    damaged(e);
  }
  return out;
}

namespace {

// Resets a statement (and its bindings) when it goes out of scope.
struct reset_on_exit {
  sqlite3_stmt* st;
  ~reset_on_exit() {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

} // namespace

void journal::read_assessments(job_record& j, bool task_ids) {
  {
    reset_on_exit guard{get_assessments_};
    bind_value(get_assessments_, 1, static_cast<int64_t>(j.id));
    int rc;
    while ((rc = sqlite3_step(get_assessments_)) == SQLITE_ROW) {
      assessment_record a;
      a.index = static_cast<assessment_index>(
          sqlite3_column_int64(get_assessments_, 0));
      a.name = text(get_assessments_, 1);
      a.status = assessment_status_of(text(get_assessments_, 2));
      a.outcome = code_of(text(get_assessments_, 3));
      a.started = from_ns(sqlite3_column_int64(get_assessments_, 4));
      a.ended = from_ns(sqlite3_column_int64(get_assessments_, 5));
      if (a.index != j.assessments.size())
        throw journal_error("assessment " + std::to_string(a.index) + " of job "
                            + std::to_string(j.id) + " does not fit");
      j.assessments.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE)
      fail("cannot be read");
  }
  if (!task_ids)
    return;
  reset_on_exit guard{get_task_ids_};
  bind_value(get_task_ids_, 1, static_cast<int64_t>(j.id));
  int rc;
  while ((rc = sqlite3_step(get_task_ids_)) == SQLITE_ROW) {
    auto id = static_cast<task_id>(sqlite3_column_int64(get_task_ids_, 0));
    auto index
        = static_cast<assessment_index>(sqlite3_column_int64(get_task_ids_, 1));
    if (index >= j.assessments.size())
      throw journal_error("task " + std::to_string(id) + " of job "
                          + std::to_string(j.id) + " does not fit");
    j.assessments[index].tasks.push_back(id);
  }
  if (rc != SQLITE_DONE)
    fail("cannot be read");
}

void journal::read_output_dirs(job_record& j) {
  reset_on_exit guard{get_output_dirs_};
  bind_value(get_output_dirs_, 1, static_cast<int64_t>(j.id));
  int rc;
  while ((rc = sqlite3_step(get_output_dirs_)) == SQLITE_ROW)
    j.output_dirs.push_back(
        output_dir{text(get_output_dirs_, 0), text(get_output_dirs_, 1)});
  if (rc != SQLITE_DONE)
    fail("cannot be read");
}

bool journal::find_job(job_id id, bool with_tasks, job_books& out) {
  try {
    {
      reset_on_exit guard{get_job_};
      bind_value(get_job_, 1, static_cast<int64_t>(id));
      auto rc = sqlite3_step(get_job_);
      if (rc == SQLITE_DONE)
        return false;
      if (rc != SQLITE_ROW)
        fail("cannot be read");
      out.job = read_job(get_job_);
    }
    read_assessments(out.job, !with_tasks);
    read_output_dirs(out.job);
    if (!with_tasks)
      return true;
    reset_on_exit guard{get_tasks_};
    bind_value(get_tasks_, 1, static_cast<int64_t>(id));
    int rc;
    while ((rc = sqlite3_step(get_tasks_)) == SQLITE_ROW) {
      auto t = read_task(get_tasks_);
      if (t.id != out.tasks.size() + 1
          || t.assessment >= out.job.assessments.size())
        throw journal_error("task " + std::to_string(t.id) + " of job "
                            + std::to_string(t.job) + " does not fit");
      out.job.assessments[t.assessment].tasks.push_back(t.id);
      out.tasks.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE)
      fail("cannot be read");
  } catch (const journal_error& e) {
    damaged(e);
  }
  return true;
}

void journal::scan_jobs(job_id before, const job_status* status,
                        const std::function<bool(job_record&)>& fn) {
  auto sql = std::string{"SELECT "} + job_columns + " FROM jobs WHERE id < ?1"
             + (status != nullptr ? " AND status = ?2" : "")
             + " ORDER BY id DESC";
  statement st{prepare(sql.c_str())};
  bind_value(st.st, 1,
             before == invalid_id ? INT64_MAX : static_cast<int64_t>(before));
  if (status != nullptr)
    bind_value(st.st, 2, to_name(*status));
  try {
    int rc;
    while ((rc = sqlite3_step(st.st)) == SQLITE_ROW) {
      auto j = read_job(st.st);
      read_assessments(j, true);
      if (!fn(j))
        return;
    }
    if (rc != SQLITE_DONE)
      fail("cannot be read");
  } catch (const journal_error& e) {
    damaged(e);
  }
}

} // namespace quiesce
