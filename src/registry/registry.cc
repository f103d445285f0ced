// Registry: opening a folder, registering artifacts as content-addressed
// pieces, reading them back, gc, and models:/ URIs (registry.h).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "ark/format/error.h"
#include "ark/format/sha256.h"
#include "filter.h"
#include "registry_impl.h"
#include "sqlite_store.h"
#include "util.h"

namespace ark::registry {
namespace fs = std::filesystem;
using internal::Artifact;
using internal::CheckAliasName;
using internal::CheckModelName;
using internal::CheckTag;
using internal::CrashPoint;
using internal::FolderLock;
using internal::NewVersion;
using internal::PackReader;
using internal::PackWriter;
using internal::PieceLocation;
using internal::PieceRef;
using internal::RegistryImpl;
using internal::ResolveActor;

namespace {

constexpr char kDbName[] = "registry.db";
constexpr size_t kReadChunk = 1 << 20;
// StorePieces looks pieces up in the index in batches of this many or bytes.
constexpr size_t kLookupBatch = 1024;
constexpr size_t kLookupBatchBytes = 32 << 20;
// Gc repacks a pack when more than this fraction of its bytes is dead.
constexpr double kRepackDeadFraction = 0.5;
constexpr int64_t kStaleTempMs = 0;  // under the exclusive lock every temporary is stale

std::string Hex(const format::Digest& d) { return format::ToHex(d); }

// Reads [begin, end) of `fd` into `buf`. Throws kIo naming `path`.
void ReadRange(int fd, const std::string& path, uint64_t begin, uint64_t end,
               std::vector<std::byte>* buf) {
  buf->resize(end - begin);
  uint64_t done = 0;
  while (done < buf->size()) {
    const ssize_t n = ::pread(fd, buf->data() + done, buf->size() - done,
                              static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw Error(ErrorCode::kIo, "cannot read " + path + ": " +
                                      (n == 0 ? std::string("file shrank while reading")
                                              : std::string(std::strerror(errno))));
    }
    done += static_cast<uint64_t>(n);
  }
}

// Numbers of metadata.metrics, nested objects flattened with '.'.
void FlattenMetrics(const nlohmann::json& j, const std::string& prefix,
                    std::map<std::string, double>* out) {
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_number()) {
      const double d = v.get<double>();
      if (std::isfinite(d)) (*out)[key] = d;
    } else if (v.is_object() && prefix.size() < 200) {
      FlattenMetrics(v, key, out);
    }
  }
}

void CheckTags(const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) CheckTag(k, v);
}

}  // namespace

// ---------------------------------------------------------------- URIs

bool IsModelUri(const std::string& text) { return text.rfind("models:/", 0) == 0; }

ModelUri ParseModelUri(const std::string& uri) {
  auto bad = [&](const std::string& why) -> Error {
    return Error(ErrorCode::kInvalidArgument,
                 "bad model URI '" + uri + "': " + why +
                     " (forms: models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE, "
                     "models:/NAME/latest)");
  };
  if (!IsModelUri(uri)) throw bad("it does not start with models:/");
  const std::string rest = uri.substr(8);
  ModelUri out;
  const size_t at = rest.find('@');
  const size_t slash = rest.find('/');
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    out.name = rest.substr(0, at);
    out.alias = rest.substr(at + 1);
    CheckModelName(out.name);
    if (out.alias.empty()) throw bad("empty alias");
    CheckAliasName(out.alias);
    return out;
  }
  if (slash == std::string::npos) throw bad("no version, alias or stage");
  out.name = rest.substr(0, slash);
  const std::string sel = rest.substr(slash + 1);
  CheckModelName(out.name);
  if (sel.empty()) throw bad("nothing after the model name");
  if (sel.find_first_not_of("0123456789") == std::string::npos) {
    if (sel.size() > 15) throw bad("version number too large");
    out.version = std::stoll(sel);
    if (out.version <= 0) throw bad("versions start at 1");
    return out;
  }
  std::string lower = sel;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "latest") {
    out.latest = true;
    return out;
  }
  if (internal::IsStageName(sel)) {
    out.stage = internal::CanonicalStage(sel);
    return out;
  }
  throw bad("'" + sel + "' is not a version number, a stage or latest");
}

// ---------------------------------------------------------------- Open

std::string Registry::DefaultPath() {
  if (const char* env = std::getenv("ARK_REGISTRY"); env != nullptr && *env != '\0') return env;
  return "./ark-registry";
}

std::unique_ptr<Registry> Registry::Open(const std::string& path, bool create) {
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "empty registry path");
  const std::string db = path + "/" + kDbName;
  std::error_code ec;
  if (create) {
    fs::create_directories(path + "/packs", ec);
    if (!ec) fs::create_directories(path + "/cache", ec);
    if (ec) throw Error(ErrorCode::kIo, "cannot create registry " + path + ": " + ec.message());
  } else if (!fs::exists(db, ec)) {
    throw Error(ErrorCode::kInvalidArgument,
                "no registry at " + path + " (no " + kDbName +
                    "); create one with 'ark registry init " + path + "'");
  }
  auto store = internal::OpenSqliteStore(db, create);
  fs::create_directories(path + "/packs", ec);
  fs::create_directories(path + "/cache", ec);
  return std::make_unique<RegistryImpl>(path, std::move(store));
}

namespace internal {

FolderLock::FolderLock(const std::string& registry_path, bool exclusive) {
  const std::string path = registry_path + "/registry.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd_);
    throw Error(ErrorCode::kIo, "cannot lock " + path + ": " + std::strerror(err));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

RegistryImpl::RegistryImpl(std::string path, std::unique_ptr<MetadataStore> store)
    : path_(std::move(path)), store_(std::move(store)), packs_(path_ + "/packs") {}

// ---------------------------------------------------------------- Register

Artifact RegistryImpl::Check(const std::string& ark_path, const std::string& doing) const {
  Artifact a;
  a.path = ark_path;
  try {
    format::ReaderOptions ro;
    ro.verify_on_access = true;
    a.reader = format::Reader::Open(ark_path, ro);
    a.reader->VerifyAll();
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(ark_path) == std::string::npos) msg = ark_path + ": " + msg;
    throw Error(e.code(), "cannot " + doing + ": " + msg + " (nothing was changed)");
  }
  const format::Reader& r = *a.reader;
  // Piece boundaries: the header, each blob with the zero padding after it,
  // then the manifest, extension block and footer in one piece.
  std::set<uint64_t> cuts = {0, r.file_size()};
  uint64_t blobs_end = 64;
  cuts.insert(64);
  for (const auto& b : r.blobs()) {
    cuts.insert(b.offset);
    blobs_end = std::max(blobs_end, b.offset + b.stored_size);
  }
  cuts.insert(std::min(r.file_size(), (blobs_end + 63) / 64 * 64));
  uint64_t prev = 0;
  for (auto it = std::next(cuts.begin()); it != cuts.end(); ++it) {
    if (*it > prev) a.ranges.emplace_back(prev, *it);
    prev = *it;
  }

  VersionInfo& v = a.info;
  v.digest = "sha256:" + Hex(r.file_digest());
  v.model_digest = r.model_digest();
  v.size = r.file_size();
  const auto& sections = r.sections();
  if (sections.is_object() && sections.contains("metadata")) {
    const nlohmann::json meta = nlohmann::json::parse(sections["metadata"].dump());
    v.metadata_json = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (meta.is_object()) {
      if (meta.contains("metrics")) FlattenMetrics(meta["metrics"], "", &v.metrics);
      if (meta.contains("training_data") && meta["training_data"].is_object() &&
          meta["training_data"].contains("X_sha256") && meta["training_data"]["X_sha256"].is_string()) {
        v.data_fingerprint = meta["training_data"]["X_sha256"].get<std::string>();
      }
      if (meta.contains("description") && meta["description"].is_string()) {
        v.description = meta["description"].get<std::string>();
      }
      if (meta.contains("tags") && meta["tags"].is_object()) {
        for (const auto& [k, val] : meta["tags"].items()) {
          const std::string text = val.is_string() ? val.get<std::string>() : val.dump();
          try {
            CheckTag(k, text);
            v.tags[k] = text;
          } catch (const Error&) {
            // A tag the registry cannot index stays in the metadata only.
          }
        }
      }
    }
  } else {
    v.metadata_json = "{}";
  }
  return a;
}

void RegistryImpl::StorePieces(const Artifact& artifact, NewVersion* nv, PackWriter* pack) {
  const int fd = ::open(artifact.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot open " + artifact.path + ": " + std::strerror(errno));
  format::Sha256 whole;
  struct Pending {
    std::string hex;
    std::vector<std::byte> bytes;
  };
  std::vector<Pending> pending;
  size_t pending_bytes = 0;
  uint64_t new_bytes = 0;
  // Pieces the index lacks go into the pack; looked up in batches so that a
  // forest of thousands of pieces costs a few queries.
  auto flush = [&] {
    std::vector<std::string> shas;
    shas.reserve(pending.size());
    for (const Pending& p : pending) shas.push_back(p.hex);
    const std::set<std::string> known = store_->KnownPieces(shas);
    for (const Pending& p : pending) {
      if (known.count(p.hex) != 0 || pack->Contains(p.hex)) continue;
      uint64_t offset = 0;
      try {
        offset = pack->Add(p.hex, p.bytes);
      } catch (const Error& e) {
        throw Error(e.code(), std::string("registry ") + path_ + ": " + e.what() +
                                  " (the registration was not recorded)");
      }
      nv->new_pieces.push_back(PieceLocation{p.hex, "", offset, p.bytes.size()});
      new_bytes += p.bytes.size();
    }
    pending.clear();
    pending_bytes = 0;
  };
  try {
    for (const auto& [begin, end] : artifact.ranges) {
      Pending p;
      ReadRange(fd, artifact.path, begin, end, &p.bytes);
      whole.Update(std::span<const std::byte>(p.bytes));
      p.hex = Hex(format::Sha256Of(std::span<const std::byte>(p.bytes)));
      nv->pieces.push_back(PieceRef{p.hex, p.bytes.size()});
      pending_bytes += p.bytes.size();
      pending.push_back(std::move(p));
      if (pending.size() >= kLookupBatch || pending_bytes >= kLookupBatchBytes) flush();
    }
    flush();
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  nv->info.new_bytes = new_bytes;
  nv->info.content_sha256 = "sha256:" + Hex(whole.Finish());
}

void RegistryImpl::FinishPack(PackWriter* pack, std::vector<NewVersion>* versions) {
  if (pack->empty()) return;  // everything was stored already
  CrashPoint("pack written, not yet published");
  std::string id;
  try {
    id = pack->Finish();
  } catch (const Error& e) {
    throw Error(e.code(), std::string("registry ") + path_ + ": " + e.what() +
                              " (the registration was not recorded)");
  }
  for (NewVersion& nv : *versions) {
    for (PieceLocation& p : nv.new_pieces) p.pack = id;
  }
  CrashPoint("after pack written");
}

VersionInfo RegistryImpl::Register(const std::string& name, const std::string& ark_path,
                                   const RegisterOptions& options) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  CheckTags(options.tags);
  if (options.label.size() > 128) throw Error(ErrorCode::kInvalidArgument, "label over 128 bytes");
  if (options.parent_version < 0) throw Error(ErrorCode::kInvalidArgument, "negative parent version");
  const std::string actor = ResolveActor(options.actor);
  Artifact artifact = Check(ark_path, "register " + ark_path);
  NewVersion nv;
  nv.info = artifact.info;
  if (!options.description.empty()) nv.info.description = options.description;
  for (const auto& [k, v] : options.tags) nv.info.tags[k] = v;
  nv.info.label = options.label;
  nv.info.source_ref = options.source_ref;
  if (!options.data_fingerprint.empty()) nv.info.data_fingerprint = options.data_fingerprint;
  nv.info.parent_version = options.parent_version;
  FolderLock lock(path_, /*exclusive=*/false);
  PackWriter pack(packs_);
  StorePieces(artifact, &nv, &pack);
  std::vector<NewVersion> nvs = {std::move(nv)};
  FinishPack(&pack, &nvs);
  return store_->AddVersions(name, nvs, nullptr, actor).at(0);
}

// ---------------------------------------------------------------- reads

std::vector<ModelInfo> RegistryImpl::ListModels() {
  std::lock_guard<std::mutex> guard(mu_);
  return store_->ListModels();
}

ModelInfo RegistryImpl::GetModel(const std::string& name) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  return store_->GetModel(name);
}

std::vector<VersionInfo> RegistryImpl::ListVersions(const std::string& name, bool include_deleted) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  return store_->ListVersions(name, include_deleted);
}

VersionInfo RegistryImpl::GetVersion(const std::string& name, int64_t version) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  return store_->GetVersion(name, version);
}

VersionInfo RegistryImpl::Resolve(const ModelUri& uri) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(uri.name);
  if (!uri.alias.empty()) CheckAliasName(uri.alias);
  return store_->Resolve(uri);
}

std::vector<VersionInfo> RegistryImpl::Search(const SearchOptions& options) {
  bool empty = true;
  const internal::FilterExpr filter = internal::ParseFilter(options.filter, &empty);
  const std::vector<internal::OrderTerm> order = internal::ParseOrderBy(options.order_by);
  if (options.max_results > 100'000) {
    throw Error(ErrorCode::kInvalidArgument, "max_results over 100000");
  }
  std::lock_guard<std::mutex> guard(mu_);
  return store_->Search(empty ? nullptr : &filter, order, options.max_results, options.offset,
                        options.include_deleted);
}

std::vector<AuditEvent> RegistryImpl::History(const std::string& name, int64_t limit) {
  std::lock_guard<std::mutex> guard(mu_);
  if (!name.empty()) CheckModelName(name);
  return store_->History(name, limit);
}

// ---------------------------------------------------------------- mutations

void RegistryImpl::SetAlias(const std::string& name, const std::string& alias, int64_t version,
                            const std::string& reason, const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  CheckAliasName(alias);
  store_->SetAlias(name, alias, version, reason, ResolveActor(actor));
}

void RegistryImpl::DeleteAlias(const std::string& name, const std::string& alias,
                               const std::string& reason, const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  CheckAliasName(alias);
  store_->DeleteAlias(name, alias, reason, ResolveActor(actor));
}

void RegistryImpl::SetStage(const std::string& name, int64_t version, const std::string& stage,
                            bool archive_existing, const std::string& reason,
                            const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  store_->SetStage(name, version, internal::CanonicalStage(stage), archive_existing, reason,
                   ResolveActor(actor));
}

void RegistryImpl::SetTag(const std::string& name, int64_t version, const std::string& key,
                          const std::string& value, const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  CheckTag(key, value);
  store_->SetTag(name, version, key, value, ResolveActor(actor));
}

void RegistryImpl::DeleteTag(const std::string& name, int64_t version, const std::string& key,
                             const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  CheckTag(key, "");
  store_->DeleteTag(name, version, key, ResolveActor(actor));
}

void RegistryImpl::SetDescription(const std::string& name, int64_t version,
                                  const std::string& description, const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  if (description.size() > 100'000) {
    throw Error(ErrorCode::kInvalidArgument, "description over 100000 bytes");
  }
  store_->SetDescription(name, version, description, ResolveActor(actor));
}

void RegistryImpl::Delete(const std::string& name, int64_t version, const std::string& reason,
                          const std::string& actor) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  store_->Delete(name, version, reason, ResolveActor(actor));
}

// ---------------------------------------------------------------- gc

Registry::GcResult RegistryImpl::Gc() {
  std::lock_guard<std::mutex> guard(mu_);
  FolderLock lock(path_, /*exclusive=*/true);
  const int64_t start = NowMs();
  GcResult result;
  // Rule: a pack is only removed or rewritten if it was last changed before
  // this gc started (belt and braces: the exclusive lock already keeps
  // registrations out).
  std::map<std::string, uint64_t> indexed_before;  // pack -> index entries
  for (const PieceLocation& p : store_->IndexedPieces()) ++indexed_before[p.pack];
  // 1. Forget the pieces no READY version references (one transaction).
  result.pieces_removed += store_->DropDeadPieces();
  // 2. Per pack: what is still live.
  std::map<std::string, std::vector<PieceLocation>> live;
  for (PieceLocation& p : store_->IndexedPieces()) live[p.pack].push_back(std::move(p));
  for (const auto& pack : packs_.List()) {
    if (pack.mtime_ms >= start) continue;
    const auto it = live.find(pack.id);
    if (it == live.end()) {
      // No live piece: a pack of deleted versions, or an orphan left by a
      // registration killed before its commit (its pieces were never indexed).
      if (indexed_before.count(pack.id) == 0) result.pieces_removed += packs_.Records(pack.id).size();
      result.bytes_freed += packs_.Remove(pack.id);
      CrashPoint("gc: after a pack removed");
      continue;
    }
    uint64_t live_bytes = internal::kPackHeaderSize;
    for (const PieceLocation& p : it->second) live_bytes += internal::PackRecordHeaderSize(p.size) + p.size;
    if (static_cast<double>(live_bytes) >= (1.0 - kRepackDeadFraction) * static_cast<double>(pack.size)) {
      continue;
    }
    // 3. Repack: copy the live pieces (checked) into a new pack, point the
    // index at it, then remove the old pack.
    std::vector<PieceLocation> moved;
    {
      PackReader reader(packs_);
      PackWriter writer(packs_);
      std::vector<std::byte> buf;
      bool damaged = false;
      for (const PieceLocation& p : it->second) {
        reader.Read(p, &buf);
        if (Hex(format::Sha256Of(std::span<const std::byte>(buf))) != p.sha) {
          damaged = true;  // leave the pack as it is: Get reports the damage
          break;
        }
        const uint64_t offset = writer.Add(p.sha, buf);
        moved.push_back(PieceLocation{p.sha, writer.id(), offset, p.size});
      }
      if (damaged) continue;
      const uint64_t written = writer.size();
      writer.Finish();
      CrashPoint("gc: after a repacked pack written");
      store_->MovePieces(pack.id, moved);
      const uint64_t removed = packs_.Remove(pack.id);
      result.bytes_freed += removed > written ? removed - written : 0;
      CrashPoint("gc: after a repacked pack removed");
    }
  }
  result.bytes_freed += packs_.RemoveStaleTemporaries(start - kStaleTempMs);
  // Cached files of versions no longer live.
  const std::set<std::string> contents = store_->LiveContents();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path_ + "/cache", ec)) {
    const std::string file = entry.path().filename().string();
    const bool temp = file.find(".tmp-") != std::string::npos;
    const std::string stem = entry.path().stem().string();
    if (temp || contents.count("sha256:" + stem) == 0) {
      std::error_code ec2;
      if (entry.is_directory(ec2)) {
        fs::remove_all(entry.path(), ec2);  // an import's scratch folder left by a crash
        continue;
      }
      const uint64_t size = entry.is_regular_file() ? entry.file_size(ec2) : 0;
      if (fs::remove(entry.path(), ec2)) result.bytes_freed += size;
    }
  }
  store_->RecordGc(result.pieces_removed, result.bytes_freed, ResolveActor(""));
  return result;
}

// ---------------------------------------------------------------- Get

void RegistryImpl::Assemble(const VersionInfo& version, const std::string& out_path) {
  const std::vector<PieceLocation> pieces = store_->Pieces(version.name, version.version);
  const std::string where = "registry " + path_ + ": " + version.name + " version " +
                            std::to_string(version.version);
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = out_path + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter++);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw Error(ErrorCode::kIo, "cannot create " + tmp + ": " + std::strerror(errno));
  auto fail = [&](ErrorCode code, const std::string& msg) {
    ::close(out);
    ::unlink(tmp.c_str());
    throw Error(code, msg);
  };
  format::Sha256 whole;
  std::vector<std::byte> buf;
  PackReader reader(packs_);
  for (const PieceLocation& p : pieces) {
    if (p.pack.empty()) fail(ErrorCode::kIo, where + ": piece " + p.sha + " is not stored");
    try {
      reader.Read(p, &buf);
    } catch (const Error& e) {
      fail(ErrorCode::kIo, where + ": " + e.what());
    }
    if (Hex(format::Sha256Of(std::span<const std::byte>(buf))) != p.sha) {
      fail(ErrorCode::kChecksumMismatch, where + ": piece " + p.sha + " in " + packs_.PathOf(p.pack) +
                                             " is damaged (SHA-256 mismatch)");
    }
    whole.Update(std::span<const std::byte>(buf));
    size_t done = 0;
    while (done < buf.size()) {
      const ssize_t n = ::write(out, buf.data() + done, buf.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(ErrorCode::kIo, "cannot write " + out_path + ": " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  if ("sha256:" + Hex(whole.Finish()) != version.content_sha256) {
    fail(ErrorCode::kChecksumMismatch, where + ": re-assembled file does not match its SHA-256");
  }
  if (::fsync(out) != 0) fail(ErrorCode::kIo, "cannot write " + out_path + ": " + std::strerror(errno));
  if (::close(out) != 0) {
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + out_path + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), out_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + out_path + ": " + std::strerror(err));
  }
  const fs::path parent = fs::path(out_path).parent_path();
  internal::SyncDir(parent.empty() ? "." : parent.string());
}

void RegistryImpl::Get(const std::string& name, int64_t version, const std::string& out_path) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  FolderLock lock(path_, /*exclusive=*/false);
  const VersionInfo v = store_->GetVersion(name, version);
  if (v.status != "READY") {
    throw Error(ErrorCode::kInvalidArgument,
                "version " + std::to_string(version) + " of model '" + name + "' is deleted");
  }
  Assemble(v, out_path);
}

std::string RegistryImpl::CachePath(const VersionInfo& v) const {
  return path_ + "/cache/" + v.content_sha256.substr(7) + ".ark";
}

std::string RegistryImpl::Materialize(const std::string& name, int64_t version) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  FolderLock lock(path_, /*exclusive=*/false);
  return MaterializeLocked(name, version);
}

std::string RegistryImpl::MaterializeLocked(const std::string& name, int64_t version) {
  const VersionInfo v = store_->GetVersion(name, version);
  if (v.status != "READY") {
    throw Error(ErrorCode::kInvalidArgument,
                "version " + std::to_string(version) + " of model '" + name + "' is deleted");
  }
  const std::string cached = CachePath(v);
  const int fd = ::open(cached.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    // Checked on every use: a damaged cache copy is rebuilt from the pieces.
    format::Sha256 h;
    std::vector<std::byte> buf(kReadChunk);
    bool ok = true;
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ok = false;
        break;
      }
      if (n == 0) break;
      h.Update(std::span<const std::byte>(buf.data(), static_cast<size_t>(n)));
    }
    ::close(fd);
    if (ok && "sha256:" + Hex(h.Finish()) == v.content_sha256) return cached;
  }
  Assemble(v, cached);
  return cached;
}

}  // namespace internal
}  // namespace ark::registry
