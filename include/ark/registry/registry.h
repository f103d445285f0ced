// The model registry: registered models, their versions, aliases, stages,
// lineage and an append-only audit log, in one folder.
//
// Layout of a registry folder (docs/REGISTRY.md is the spec):
//   registry.db      SQLite (WAL): models, versions, tags, metrics, aliases,
//                    audit, each version's piece list, and the piece index
//                    (sha -> pack, offset, size)
//   registry.lock    flock: shared by Register/Import/Get/Materialize, exclusive by Gc
//   packs/<id>.pack  pack files: the pieces of registered .ark files, appended
//                    once and never modified (one new pack per registration)
//   cache/           re-assembled files handed out by Materialize (safe to delete)
//
// Storage: a registered .ark file is cut into its blobs' stored bytes and
// the rest (header, manifest, padding, footer); each piece is stored once,
// by the SHA-256 of its bytes, so versions that share arrays share storage.
// A registration writes the pieces the index lacks into one new pack (temp,
// one fsync, rename, one directory fsync). Get re-assembles the file byte for
// byte from the packs, checking every piece's SHA-256 and the file's digest.
//
// Reliability: every mutation is one SQLite transaction; the pack holding
// the new pieces of a version is durable before the transaction that indexes
// them and references them commits, so a process killed at any point leaves
// either the whole version or none, and never a reference to a missing piece
// (an unindexed pack or temporary is reclaimed by Gc). Several processes may
// use one registry at once: writers serialise on SQLite's lock (busy
// timeout), each operation re-reads what it changes inside its transaction.
// Two concurrent registrations may both store a piece; the index keeps one
// copy and Gc reclaims the other.
//
// Gc rule: Gc holds registry.lock exclusively while Register, Import, Get and
// Materialize hold it shared, so it never runs beside a registration whose
// pack is written but not yet committed, nor beside a read. It drops the index
// entries of pieces no READY version references (one transaction), deletes
// packs with no indexed piece, and repacks a pack whose bytes are more than
// half dead (copies its live pieces into a new pack, commits the index change,
// then deletes the old pack); it touches only packs older than its start.
//
// Fault injection (crash tests): with $ARK_REGISTRY_CRASH_AT=n, the n-th crash
// point this process reaches calls _exit(86). The points, in order of use:
//   "pack written, not yet published"  Register / Import, new pieces written
//                             to the temporary pack (not fsynced or renamed)
//   "after pack written"      Register / Import, the pack renamed into place
//                             (skipped when every piece was stored already)
//   "before commit"           every write transaction, just before COMMIT
//                             (register, alias, stage, tag, describe, delete,
//                             import, gc's index changes and audit record)
//   "after commit"            every write transaction, just after COMMIT
//   "gc: after a pack removed"          Gc, after a pack with no live piece
//   "gc: after a repacked pack written" Gc, new pack published, index not yet
//   "gc: after a repacked pack removed" Gc, index moved and old pack unlinked
// A crash at any of them leaves each version whole or absent; stray packs
// and temporaries are reclaimed by the next Gc.
//
// Errors: every call throws ark::Error with a message naming what is wrong
// (unknown model or version, invalid name, alias on a deleted version,
// corrupt artifact, I/O such as a full disk); a failed call changes nothing.
//
// Thread safety: a Registry object may be used from several threads (calls
// are serialised internally); for parallelism open one per process.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ark::registry {

// The four stages (compatible with MLflow's).
inline constexpr const char* kStages[] = {"None", "Staging", "Production", "Archived"};

struct ModelInfo {
  std::string name;
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, int64_t> aliases;  // alias -> version
  int64_t latest_version = 0;              // 0 when the model has no live version
  int64_t created_ms = 0;                  // Unix time, milliseconds
  int64_t updated_ms = 0;
};

struct VersionInfo {
  std::string name;
  int64_t version = 0;
  std::string label;        // optional semantic-version label, "" when none
  std::string description;
  std::string digest;       // "sha256:<hex>": the .ark file digest (SHA-256 of its manifest)
  std::string content_sha256;  // "sha256:<hex>" of the whole file's bytes (checked on Get)
  std::string model_digest; // "sha256:<hex>" of the model (metadata excluded), "" if absent
  uint64_t size = 0;        // bytes of the .ark file
  uint64_t new_bytes = 0;   // bytes this version added to storage
  std::string stage = "None";
  std::string status = "READY";  // READY or DELETED
  std::map<std::string, std::string> tags;
  std::map<std::string, double> metrics;      // from the artifact's metadata
  std::string metadata_json;                  // the artifact's metadata section, JSON text
  std::vector<std::string> aliases;           // aliases pointing here
  // Lineage.
  std::string data_fingerprint;  // training-data fingerprint from the metadata, or given
  std::string source_ref;        // git commit, script hash, ...
  int64_t parent_version = 0;    // 0 when none
  std::string created_by;
  int64_t created_ms = 0;
};

struct AuditEvent {
  int64_t id = 0;
  int64_t time_ms = 0;
  std::string actor;
  std::string action;  // create, register, import, alias, unalias, stage, tag, untag, describe, delete, gc
  std::string model;
  int64_t version = 0;  // 0 when the event is about the model
  std::string before;   // JSON text (null when nothing before)
  std::string after;    // JSON text
  std::string reason;
};

struct RegisterOptions {
  std::string description;
  std::map<std::string, std::string> tags;
  std::string label;
  std::string source_ref;
  std::string data_fingerprint;  // overrides the one in the artifact's metadata
  int64_t parent_version = 0;
  std::string actor;             // "" = $ARK_ACTOR, else $USER, else "unknown"
};

struct SearchOptions {
  std::string filter;    // e.g. "metrics.f1 > 0.85 and tags.team = 'risk'" (docs/REGISTRY.md)
  std::string order_by;  // e.g. "metrics.f1 DESC", default "name, version"
  int64_t max_results = 100;
  int64_t offset = 0;
  bool include_deleted = false;
};

// A parsed models:/ URI: models:/<name>/<version>, models:/<name>@<alias>,
// models:/<name>/<stage> (any case; the newest live version in that stage),
// models:/<name>/latest (the newest live version).
// Names: models [A-Za-z0-9][A-Za-z0-9._-]{0,127}; aliases likewise, but not
// all digits, not "latest" (any case), not a stage name as spelled
// ("production" is a fine alias; "Production" is a stage).
struct ModelUri {
  std::string name;
  int64_t version = 0;  // set for /<version>
  std::string alias;    // set for @alias
  std::string stage;    // set for /<stage>
  bool latest = false;
};
// Throws ark::Error(kInvalidArgument) naming what is malformed.
ModelUri ParseModelUri(const std::string& uri);
bool IsModelUri(const std::string& text);

class Registry {
 public:
  // Opens the registry in `path`. With create = false a folder that is not a
  // registry is an error that says to run `ark registry init`.
  static std::unique_ptr<Registry> Open(const std::string& path, bool create = false);
  // $ARK_REGISTRY, else ./ark-registry.
  static std::string DefaultPath();
  virtual ~Registry() = default;

  // Registers `ark_path` (a valid .ark file; checked whole: structure, every
  // blob checksum, digests) as the next version of `name`, creating the model
  // on first use (or reviving a deleted one; numbers are never reused).
  // Metrics (numbers of metadata.metrics, nested keys joined by '.'), the
  // description, tags and the training-data fingerprint (X_sha256) come from
  // the artifact's metadata unless `options` gives them.
  virtual VersionInfo Register(const std::string& name, const std::string& ark_path,
                               const RegisterOptions& options) = 0;

  virtual std::vector<ModelInfo> ListModels() = 0;
  virtual ModelInfo GetModel(const std::string& name) = 0;
  virtual std::vector<VersionInfo> ListVersions(const std::string& name,
                                                bool include_deleted = false) = 0;
  virtual VersionInfo GetVersion(const std::string& name, int64_t version) = 0;
  // Resolves a models:/ URI to a live version.
  virtual VersionInfo Resolve(const ModelUri& uri) = 0;

  virtual void SetAlias(const std::string& name, const std::string& alias, int64_t version,
                        const std::string& reason = "", const std::string& actor = "") = 0;
  virtual void DeleteAlias(const std::string& name, const std::string& alias,
                           const std::string& reason = "", const std::string& actor = "") = 0;
  // Moves `version` to `stage`; with archive_existing, versions that held
  // `stage` move to Archived (each change audited).
  virtual void SetStage(const std::string& name, int64_t version, const std::string& stage,
                        bool archive_existing, const std::string& reason = "",
                        const std::string& actor = "") = 0;
  // version 0: a model tag.
  virtual void SetTag(const std::string& name, int64_t version, const std::string& key,
                      const std::string& value, const std::string& actor = "") = 0;
  virtual void DeleteTag(const std::string& name, int64_t version, const std::string& key,
                         const std::string& actor = "") = 0;
  virtual void SetDescription(const std::string& name, int64_t version,
                              const std::string& description, const std::string& actor = "") = 0;

  // Marks a version deleted (its aliases are removed, audited); its pieces
  // are reclaimed by Gc once no live version uses them. version 0: the whole
  // model (hidden from ListModels / GetModel until registered again).
  // Tags, descriptions, aliases and stages of a deleted version cannot change.
  virtual void Delete(const std::string& name, int64_t version, const std::string& reason = "",
                      const std::string& actor = "") = 0;
  struct GcResult {
    uint64_t pieces_removed = 0;  // index entries dropped + pieces of unindexed packs
    uint64_t bytes_freed = 0;  // packs deleted - packs written by repacking + cache files
  };
  virtual GcResult Gc() = 0;

  virtual std::vector<VersionInfo> Search(const SearchOptions& options) = 0;
  // name empty: every model's events. Oldest first.
  virtual std::vector<AuditEvent> History(const std::string& name, int64_t limit = 0) = 0;

  // Writes the version's .ark file to `out_path` atomically, digest checked.
  virtual void Get(const std::string& name, int64_t version, const std::string& out_path) = 0;
  // Path of a checked, re-assembled copy under cache/ (created on first use).
  virtual std::string Materialize(const std::string& name, int64_t version) = 0;

  // A tar bundle of the model's chosen versions (all live ones when empty),
  // with their metadata, tags, aliases and stages.
  virtual void Export(const std::string& name, const std::vector<int64_t>& versions,
                      const std::string& tar_path) = 0;
  // Imports a bundle; every artifact is checked whole, and its digest and
  // SHA-256 against bundle.json, before anything is committed. On a name
  // clash the versions get the next free numbers; each carries the tag
  // ark.source_version = its number in the bundle. Aliases already taken
  // in this registry stay where they are. Returns the versions created, in
  // bundle order.
  virtual std::vector<VersionInfo> Import(const std::string& tar_path,
                                          const std::string& actor = "") = 0;
};

}  // namespace ark::registry
