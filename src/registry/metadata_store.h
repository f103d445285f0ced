// MetadataStore: the registry's database behind an interface, so that the
// SQLite store of one folder (sqlite_store.h) and a PostgreSQL store (later)
// are interchangeable. The Registry (registry.cc) owns the files (packs,
// cache) and checks names and artifacts; a store owns the rows.
//
// Contract of every method:
//   - A mutating method is one transaction: it re-reads what it changes,
//     checks it (unknown model or version, deleted version, ...), applies it
//     and appends its audit rows, or throws ark::Error and changes nothing.
//     Writers from several processes serialise; a busy database is waited
//     for and retried, never reported as an error unless it stays busy for
//     the busy timeout.
//   - Version numbers are allocated inside the transaction that inserts them.
//   - The audit table is append-only: no method updates or deletes its rows.
//   - `actor` is already resolved (never empty); times are taken inside.
// Thread safety: a store is used from one thread at a time (the Registry
// serialises its calls).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ark/registry/registry.h"
#include "filter.h"
#include "piece_store.h"

namespace ark::registry::internal {

struct PieceRef {
  std::string sha;  // hex
  uint64_t size = 0;
};

// A version to insert. `info.version` is ignored (allocated by the store).
struct NewVersion {
  VersionInfo info;
  std::vector<PieceRef> pieces;      // in file order
  // Piece index entries to add (pieces this registration wrote into a pack,
  // durable already). Every piece of `pieces` must be indexed after the
  // insert (these plus those indexed before), or AddVersions throws.
  std::vector<PieceLocation> new_pieces;
  std::string audit_action = "register";
  std::string audit_reason;
  std::vector<std::string> aliases;  // set on the new version when free (import)
  int64_t parent_index = -1;         // >= 0: parent = the version made from versions[i] (import)
};

struct ModelFields {  // model-level fields applied when the model is created (import)
  std::string description;
  std::map<std::string, std::string> tags;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Inserts the versions of model `name` (created when absent, revived when
  // deleted) in one transaction; returns them with their numbers.
  virtual std::vector<VersionInfo> AddVersions(const std::string& name,
                                               const std::vector<NewVersion>& versions,
                                               const ModelFields* model_fields,
                                               const std::string& actor) = 0;

  virtual std::vector<ModelInfo> ListModels() = 0;
  virtual ModelInfo GetModel(const std::string& name) = 0;
  virtual std::vector<VersionInfo> ListVersions(const std::string& name, bool include_deleted) = 0;
  virtual VersionInfo GetVersion(const std::string& name, int64_t version) = 0;
  virtual VersionInfo Resolve(const ModelUri& uri) = 0;
  // The pieces of a version (any status) in file order, with their index
  // entries (pack empty when not indexed).
  virtual std::vector<PieceLocation> Pieces(const std::string& name, int64_t version) = 0;
  // Which of `shas` the piece index holds.
  virtual std::set<std::string> KnownPieces(const std::vector<std::string>& shas) = 0;

  virtual void SetAlias(const std::string& name, const std::string& alias, int64_t version,
                        const std::string& reason, const std::string& actor) = 0;
  virtual void DeleteAlias(const std::string& name, const std::string& alias,
                           const std::string& reason, const std::string& actor) = 0;
  virtual void SetStage(const std::string& name, int64_t version, const std::string& stage,
                        bool archive_existing, const std::string& reason,
                        const std::string& actor) = 0;
  virtual void SetTag(const std::string& name, int64_t version, const std::string& key,
                      const std::string& value, const std::string& actor) = 0;
  virtual void DeleteTag(const std::string& name, int64_t version, const std::string& key,
                         const std::string& actor) = 0;
  virtual void SetDescription(const std::string& name, int64_t version,
                              const std::string& description, const std::string& actor) = 0;
  virtual void Delete(const std::string& name, int64_t version, const std::string& reason,
                      const std::string& actor) = 0;

  // `filter` may be null (no filter).
  virtual std::vector<VersionInfo> Search(const FilterExpr* filter,
                                          const std::vector<OrderTerm>& order,
                                          int64_t max_results, int64_t offset,
                                          bool include_deleted) = 0;
  virtual std::vector<AuditEvent> History(const std::string& name, int64_t limit) = 0;

  // Piece index maintenance (Gc, under the exclusive folder lock):
  // Drops the index entries of pieces no READY version references; returns
  // how many.
  virtual uint64_t DropDeadPieces() = 0;
  // Every index entry.
  virtual std::vector<PieceLocation> IndexedPieces() = 0;
  // Points the entries of `moved` (copied out of pack `from`) at their new
  // pack and offset, in one transaction.
  virtual void MovePieces(const std::string& from, const std::vector<PieceLocation>& moved) = 0;
  // content_sha256 ("sha256:<hex>") of every READY version (to prune cache/).
  virtual std::set<std::string> LiveContents() = 0;
  // Records that Gc ran (an audit row: action "gc").
  virtual void RecordGc(uint64_t pieces, uint64_t bytes, const std::string& actor) = 0;
};

}  // namespace ark::registry::internal
