// The SQLite MetadataStore: <registry>/registry.db in WAL mode, with foreign
// keys, a busy timeout, BEGIN IMMEDIATE write transactions retried on
// SQLITE_BUSY, and the schema of docs/REGISTRY.md (created on first open;
// the audit table guarded by triggers that refuse UPDATE and DELETE).
//
// Crash points (util.h CrashPoint) in every write transaction:
// "before commit" and "after commit".
#pragma once

#include <memory>
#include <string>

#include "metadata_store.h"

namespace ark::registry::internal {

// Opens (create: creates) the database at `db_path`. Throws ark::Error(kIo)
// naming the path when SQLite cannot open it or it is not a registry database.
std::unique_ptr<MetadataStore> OpenSqliteStore(const std::string& db_path, bool create);

}  // namespace ark::registry::internal
