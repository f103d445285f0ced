// Thin RAII helpers over the SQLite C API for the SQLite store: a connection
// (Db) with WAL, foreign keys and a busy timeout; prepared statements (Stmt,
// cached per connection); and transactions that retry on SQLITE_BUSY.
//
// Errors: ark::Error(kIo) naming the database path and SQLite's message
// ("disk full" for SQLITE_FULL). Not thread-safe: one thread per Db.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ark/format/error.h"
#include "util.h"

namespace ark::registry::internal {

using SqlValue = std::variant<int64_t, double, std::string>;

// SQL text with its bound values in order.
struct SqlText {
  std::string sql;
  std::vector<SqlValue> binds;
};

// SQLITE_BUSY / SQLITE_LOCKED: the transaction is rolled back and retried.
struct BusyError {};

inline constexpr int kBusyTimeoutMs = 10'000;
inline constexpr int kBusyRetries = 6;  // BEGIN retried this often after a timeout

class Db {
 public:
  Db(const std::string& path, bool create) : path_(path) {
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(ErrorCode::kIo, "cannot open registry database " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      for (int attempt = 0;; ++attempt) {
        try {
          ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
          break;
        } catch (const BusyError&) {
          if (attempt >= kBusyRetries) Busy();
        }
      }
    } catch (...) {
      Close();
      throw;
    }
  }
  ~Db() { Close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void Fail(int rc) const {
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError{};
    if (primary == SQLITE_FULL) {
      throw Error(ErrorCode::kIo, "registry database " + path_ + ": disk full");
    }
    throw Error(ErrorCode::kIo, "registry database " + path_ + ": " + sqlite3_errmsg(db_));
  }
  [[noreturn]] void Busy() const {
    throw Error(ErrorCode::kIo, "registry database " + path_ +
                                    " stayed locked by another process; try again");
  }

  void ExecScript(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) Fail(rc);
  }

  bool TableExists(const char* name);
  int64_t LastId() const { return sqlite3_last_insert_rowid(db_); }
  int64_t Changes() const { return sqlite3_changes(db_); }

  // Runs fn() in BEGIN IMMEDIATE ... COMMIT, retrying the whole transaction
  // on SQLITE_BUSY; any exception rolls back and propagates.
  template <class F>
  auto Write(F&& fn, bool crash_points = true) {
    return Transaction("BEGIN IMMEDIATE", std::forward<F>(fn), crash_points);
  }
  // A read transaction (a consistent snapshot for several queries).
  template <class F>
  auto Read(F&& fn) {
    return Transaction("BEGIN", std::forward<F>(fn), false);
  }

  // Statement cache (used by Stmt).
  sqlite3_stmt* Take(const std::string& sql);
  void Give(const std::string& sql, sqlite3_stmt* stmt);

 private:
  template <class F>
  auto Transaction(const char* begin, F&& fn, bool crash_points) {
    for (int attempt = 0;; ++attempt) {
      try {
        ExecScript(begin);
      } catch (const BusyError&) {
        if (attempt >= kBusyRetries) Busy();
        continue;
      }
      try {
        if constexpr (std::is_void_v<decltype(fn())>) {
          fn();
          Commit(crash_points);
          return;
        } else {
          auto result = fn();
          Commit(crash_points);
          return result;
        }
      } catch (const BusyError&) {
        Rollback();
        if (attempt >= kBusyRetries) Busy();
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * (attempt + 1)));
      } catch (...) {
        Rollback();
        throw;
      }
    }
  }
  void Commit(bool crash_points) {
    if (crash_points) CrashPoint("before commit");
    ExecScript("COMMIT");
    if (crash_points) CrashPoint("after commit");
  }
  void Rollback() {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Close();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::multimap<std::string, sqlite3_stmt*> cache_;
};

class Stmt {
 public:
  Stmt(Db& db, std::string sql) : db_(db), sql_(std::move(sql)), s_(db.Take(sql_)) {}
  ~Stmt() { db_.Give(sql_, s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v) { return Check(sqlite3_bind_double(s_, i, v)); }
  Stmt& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string(v)); }
  Stmt& BindBlob(int i, const std::string& bytes) {
    return Check(sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const SqlValue& v) {
    return std::visit([&](const auto& x) -> Stmt& { return Bind(i, x); }, v);
  }

  // True for a row, false when done.
  bool Step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.Fail(rc);
  }
  void Run() {
    while (Step()) {
    }
  }
  // Ready to run again with new bindings.
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Real(int col) const { return sqlite3_column_double(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK) db_.Fail(rc);
    return *this;
  }
  Db& db_;
  std::string sql_;
  sqlite3_stmt* s_;
};

}  // namespace ark::registry::internal
