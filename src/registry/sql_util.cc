// Connection and statement cache of sql_util.h.
#include "sql_util.h"

namespace ark::registry::internal {

bool Db::TableExists(const char* name) {
  Stmt s(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.Bind(1, name);
  return s.Step();
}

sqlite3_stmt* Db::Take(const std::string& sql) {
  const auto it = cache_.find(sql);
  if (it != cache_.end()) {
    sqlite3_stmt* s = it->second;
    cache_.erase(it);
    return s;
  }
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    Fail(rc);
  }
  return s;
}

void Db::Give(const std::string& sql, sqlite3_stmt* stmt) {
  if (stmt == nullptr) return;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // Fixed statements are few; dynamic search SQL is not kept.
  if (cache_.size() < 256 && sql.find("json_extract") == std::string::npos &&
      sql.rfind("SELECT v.id FROM ", 0) != 0) {
    cache_.emplace(sql, stmt);
  } else {
    sqlite3_finalize(stmt);
  }
}

void Db::Close() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  cache_.clear();
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

}  // namespace ark::registry::internal
