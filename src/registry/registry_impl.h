// The one Registry implementation: a folder with a MetadataStore (SQLite) and
// a PackStore. registry.cc holds registration, retrieval and gc; bundle.cc
// holds export and import. Every public method takes mu_ (a Registry object
// may be shared by threads) and follows the contract of registry.h.
//
// Locking between processes (registry.lock, flock):
//   - Register, Import, Get and Materialize hold it shared while they write or
//     read packs and commit; Gc holds it exclusive. So Gc never runs while a
//     registration has written a pack it has not committed yet (or relies on
//     an index entry it looked up), and never removes or repacks a pack a
//     running Get is reading.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ark/format/reader.h"
#include "ark/registry/registry.h"
#include "metadata_store.h"
#include "piece_store.h"

namespace ark::registry::internal {

// flock on <registry>/registry.lock; released by the destructor (or by the
// kernel when the process dies).
class FolderLock {
 public:
  FolderLock(const std::string& registry_path, bool exclusive);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// A checked artifact ready to be stored: its reader, its pieces' byte
// ranges and what the registry records about it.
struct Artifact {
  std::string path;
  std::shared_ptr<format::Reader> reader;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) of each piece, file order
  VersionInfo info;  // digest, model_digest, size, metadata_json, metrics, tags, lineage
};

class RegistryImpl final : public Registry {
 public:
  RegistryImpl(std::string path, std::unique_ptr<MetadataStore> store);

  VersionInfo Register(const std::string& name, const std::string& ark_path,
                       const RegisterOptions& options) override;
  std::vector<ModelInfo> ListModels() override;
  ModelInfo GetModel(const std::string& name) override;
  std::vector<VersionInfo> ListVersions(const std::string& name, bool include_deleted) override;
  VersionInfo GetVersion(const std::string& name, int64_t version) override;
  VersionInfo Resolve(const ModelUri& uri) override;
  void SetAlias(const std::string& name, const std::string& alias, int64_t version,
                const std::string& reason, const std::string& actor) override;
  void DeleteAlias(const std::string& name, const std::string& alias, const std::string& reason,
                   const std::string& actor) override;
  void SetStage(const std::string& name, int64_t version, const std::string& stage,
                bool archive_existing, const std::string& reason,
                const std::string& actor) override;
  void SetTag(const std::string& name, int64_t version, const std::string& key,
              const std::string& value, const std::string& actor) override;
  void DeleteTag(const std::string& name, int64_t version, const std::string& key,
                 const std::string& actor) override;
  void SetDescription(const std::string& name, int64_t version, const std::string& description,
                      const std::string& actor) override;
  void Delete(const std::string& name, int64_t version, const std::string& reason,
              const std::string& actor) override;
  GcResult Gc() override;
  std::vector<VersionInfo> Search(const SearchOptions& options) override;
  std::vector<AuditEvent> History(const std::string& name, int64_t limit) override;
  void Get(const std::string& name, int64_t version, const std::string& out_path) override;
  std::string Materialize(const std::string& name, int64_t version) override;
  void Export(const std::string& name, const std::vector<int64_t>& versions,
              const std::string& tar_path) override;
  std::vector<VersionInfo> Import(const std::string& tar_path, const std::string& actor) override;

 private:
  // Opens and verifies `ark_path` whole; throws the reader's error prefixed
  // with what was being done. Fills everything of Artifact::info that comes
  // from the file.
  Artifact Check(const std::string& ark_path, const std::string& doing) const;
  // Cuts the artifact into pieces and appends those the piece index lacks
  // (and `pack` holds not yet) to `pack`; fills `new_version->pieces`,
  // `new_version->new_pieces` (pack id still empty: set by the caller after
  // pack->Finish()) and info.new_bytes / content_sha256.
  void StorePieces(const Artifact& artifact, NewVersion* new_version, PackWriter* pack);
  // Publishes `pack` (when not empty) and stamps its id on the versions' new
  // index entries; crash point after. Errors name the registry.
  void FinishPack(PackWriter* pack, std::vector<NewVersion>* versions);
  // Re-assembles a READY version into `out_path` (temp + fsync + rename),
  // checking every piece and the whole file's SHA-256.
  void Assemble(const VersionInfo& version, const std::string& out_path);
  std::string CachePath(const VersionInfo& version) const;
  // Materialize without taking mu_ or the folder lock (the caller holds them).
  std::string MaterializeLocked(const std::string& name, int64_t version);

  std::string path_;
  std::unique_ptr<MetadataStore> store_;
  PackStore packs_;
  std::mutex mu_;
};

}  // namespace ark::registry::internal
