#pragma once

// Reading a journal file with SQLite directly, as an operator would: the
// durability tests check what is on disk, not what the runtime says.

#include <catch2/catch.hpp>

#include <cstdint>
#include <sqlite3.h>
#include <string>

namespace quiesce::test {

/// Returns the integer the one-row query `sql` (e.g. `SELECT count(*) ...`)
/// gives on the database file `path`, opened read-only.
inline int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

} // namespace quiesce::test
