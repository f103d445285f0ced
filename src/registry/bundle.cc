// Export and import of tar bundles (registry.h, docs/REGISTRY.md §Bundles).
//
// A bundle is a POSIX (pax) tar written with libarchive:
//   bundle.json            what the registry knows: the model, each version's
//                          record (digest, content SHA-256, size, stage,
//                          aliases, tags, lineage)
//   versions/<n>.ark       each exported version's file, byte for byte
// Import extracts only those names (nothing else, no paths with '/..'),
// checks every artifact whole (it parses, every blob checksum, its file
// digest and its SHA-256 match bundle.json) before storing a piece, then
// records all versions in one transaction.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "ark/format/error.h"
#include "ark/format/sha256.h"
#include "registry_impl.h"
#include "util.h"

namespace ark::registry::internal {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kBundleFormat[] = "ark-registry-bundle";
constexpr int kBundleVersion = 1;
constexpr int64_t kMaxBundleJson = 64 << 20;
constexpr size_t kMaxVersionsInBundle = 100'000;
constexpr size_t kChunk = 1 << 20;

[[noreturn]] void ArchiveFail(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  throw Error(ErrorCode::kIo, what + ": " + (msg ? msg : "libarchive error"));
}

// Removes a directory tree at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& parent) {
    std::random_device entropy;
    path_ = parent + "/import-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()) + ".tmp-";
    std::error_code ec;
    fs::create_directories(path_ + "/versions", ec);
    if (ec) throw Error(ErrorCode::kIo, "cannot create " + path_ + ": " + ec.message());
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Json VersionRecord(const VersionInfo& v) {
  return Json{{"version", v.version},
              {"file", "versions/" + std::to_string(v.version) + ".ark"},
              {"label", v.label},
              {"description", v.description},
              {"digest", v.digest},
              {"model_digest", v.model_digest},
              {"content_sha256", v.content_sha256},
              {"size", v.size},
              {"stage", v.stage},
              {"aliases", v.aliases},
              {"tags", v.tags},
              {"source_ref", v.source_ref},
              {"data_fingerprint", v.data_fingerprint},
              {"parent_version", v.parent_version},
              {"created_by", v.created_by},
              {"created_ms", v.created_ms}};
}

void AddEntry(struct archive* a, const std::string& tar_path, const std::string& name,
              int64_t size, const std::function<void()>& write_body) {
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_size(e, size);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, NowMs() / 1000, 0);
  const int rc = archive_write_header(a, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) ArchiveFail(a, "cannot write " + tar_path);
  write_body();
}

std::string Str(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  if (!j[key].is_string()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("bundle.json: '") + key + "' is not a string");
  }
  return j[key].get<std::string>();
}

int64_t Int(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return 0;
  if (!j[key].is_number_integer()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("bundle.json: '") + key + "' is not an integer");
  }
  return j[key].get<int64_t>();
}

std::map<std::string, std::string> StrMap(const Json& j, const char* key) {
  std::map<std::string, std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_object()) throw Error(ErrorCode::kInvalidArgument, std::string("bundle.json: '") + key + "' is not an object");
  for (const auto& [k, v] : j[key].items()) {
    if (!v.is_string()) throw Error(ErrorCode::kInvalidArgument, "bundle.json: tag '" + k + "' is not a string");
    CheckTag(k, v.get<std::string>());
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

void RegistryImpl::Export(const std::string& name, const std::vector<int64_t>& versions,
                          const std::string& tar_path) {
  std::lock_guard<std::mutex> guard(mu_);
  CheckModelName(name);
  FolderLock lock(path_, /*exclusive=*/false);
  const ModelInfo model = store_->GetModel(name);
  std::vector<VersionInfo> chosen;
  if (versions.empty()) {
    chosen = store_->ListVersions(name, false);
  } else {
    for (int64_t v : versions) {
      VersionInfo info = store_->GetVersion(name, v);
      if (info.status != "READY") {
        throw Error(ErrorCode::kInvalidArgument,
                    "version " + std::to_string(v) + " of model '" + name + "' is deleted");
      }
      chosen.push_back(std::move(info));
    }
  }
  if (chosen.empty()) throw Error(ErrorCode::kInvalidArgument, "model '" + name + "' has no live version to export");

  Json bundle = {{"format", kBundleFormat},
                 {"bundle_version", kBundleVersion},
                 {"exported_ms", NowMs()},
                 {"model",
                  {{"name", model.name},
                   {"description", model.description},
                   {"tags", model.tags},
                   {"created_ms", model.created_ms}}},
                 {"versions", Json::array()}};
  std::vector<std::string> files;
  for (const VersionInfo& v : chosen) {
    bundle["versions"].push_back(VersionRecord(v));
    files.push_back(MaterializeLocked(name, v.version));  // digest-checked copy
  }
  const std::string body = bundle.dump(2, ' ', false, Json::error_handler_t::replace);

  const std::string tmp = tar_path + ".tmp-" + std::to_string(::getpid());
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  try {
    if (archive_write_open_filename(a, tmp.c_str()) != ARCHIVE_OK) ArchiveFail(a, "cannot create " + tmp);
    AddEntry(a, tar_path, "bundle.json", static_cast<int64_t>(body.size()), [&] {
      if (archive_write_data(a, body.data(), body.size()) != static_cast<la_ssize_t>(body.size())) {
        ArchiveFail(a, "cannot write " + tar_path);
      }
    });
    std::vector<char> buf(kChunk);
    for (size_t i = 0; i < chosen.size(); ++i) {
      const VersionInfo& v = chosen[i];
      AddEntry(a, tar_path, "versions/" + std::to_string(v.version) + ".ark",
               static_cast<int64_t>(v.size), [&] {
                 std::ifstream in(files[i], std::ios::binary);
                 uint64_t done = 0;
                 while (in) {
                   in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
                   const std::streamsize n = in.gcount();
                   if (n <= 0) break;
                   if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n) {
                     ArchiveFail(a, "cannot write " + tar_path);
                   }
                   done += static_cast<uint64_t>(n);
                 }
                 if (done != v.size) throw Error(ErrorCode::kIo, "cannot read " + files[i]);
               });
    }
    if (archive_write_close(a) != ARCHIVE_OK) ArchiveFail(a, "cannot write " + tar_path);
    archive_write_free(a);
    a = nullptr;
    // libarchive does not fsync: do it before publishing the bundle.
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      throw Error(ErrorCode::kIo, "cannot write " + tar_path + ": " + std::strerror(errno));
    }
    ::close(fd);
    if (::rename(tmp.c_str(), tar_path.c_str()) != 0) {
      throw Error(ErrorCode::kIo, "cannot write " + tar_path + ": " + std::strerror(errno));
    }
  } catch (...) {
    if (a != nullptr) archive_write_free(a);
    ::unlink(tmp.c_str());
    throw;
  }
}

std::vector<VersionInfo> RegistryImpl::Import(const std::string& tar_path, const std::string& actor_in) {
  std::lock_guard<std::mutex> guard(mu_);
  const std::string actor = ResolveActor(actor_in);
  // Shared from the start: gc (exclusive) would remove the scratch folder.
  FolderLock lock(path_, /*exclusive=*/false);
  ScratchDir scratch(path_ + "/cache");

  // 1. Extract bundle.json and versions/<n>.ark, nothing else.
  std::string bundle_text;
  bool have_json = false;
  std::map<std::string, std::string> extracted;  // tar name -> scratch path
  {
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    try {
      if (archive_read_open_filename(a, tar_path.c_str(), kChunk) != ARCHIVE_OK) {
        ArchiveFail(a, "cannot open bundle " + tar_path);
      }
      struct archive_entry* e = nullptr;
      std::vector<char> buf(kChunk);
      for (;;) {
        const int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK) ArchiveFail(a, "bad bundle " + tar_path);
        const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        if (name == "bundle.json") {
          if (archive_entry_size(e) > kMaxBundleJson) {
            throw Error(ErrorCode::kLimitExceeded, "bundle " + tar_path + ": bundle.json over 64 MB");
          }
          bundle_text.clear();
          la_ssize_t n;
          while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) {
            bundle_text.append(buf.data(), static_cast<size_t>(n));
            if (static_cast<int64_t>(bundle_text.size()) > kMaxBundleJson) {
              throw Error(ErrorCode::kLimitExceeded, "bundle " + tar_path + ": bundle.json over 64 MB");
            }
          }
          if (n < 0) ArchiveFail(a, "bad bundle " + tar_path);
          have_json = true;
          continue;
        }
        const std::string prefix = "versions/";
        const std::string stem = name.size() > prefix.size() + 4 ? name.substr(prefix.size(), name.size() - prefix.size() - 4) : "";
        if (name.rfind(prefix, 0) != 0 || name.size() < 4 || name.substr(name.size() - 4) != ".ark" ||
            stem.empty() || stem.size() > 15 || stem.find_first_not_of("0123456789") != std::string::npos) {
          continue;  // not ours: ignored, never written anywhere
        }
        const std::string out = scratch.path() + "/versions/" + stem + ".ark";
        std::ofstream f(out, std::ios::binary | std::ios::trunc);
        la_ssize_t n;
        while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) {
          f.write(buf.data(), n);
        }
        if (n < 0) ArchiveFail(a, "bad bundle " + tar_path);
        f.close();
        if (!f) throw Error(ErrorCode::kIo, "cannot write " + out + " (disk full?)");
        extracted[name] = out;
      }
      archive_read_free(a);
    } catch (...) {
      archive_read_free(a);
      throw;
    }
  }
  if (!have_json) {
    throw Error(ErrorCode::kInvalidArgument, "bundle " + tar_path + " has no bundle.json (not an ark registry bundle)");
  }

  // 2. Parse and check everything before storing anything.
  Json bundle;
  try {
    bundle = Json::parse(bundle_text);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, "bundle " + tar_path + ": bundle.json is not JSON: " + e.what());
  }
  if (!bundle.is_object() || bundle.value("format", "") != kBundleFormat) {
    throw Error(ErrorCode::kInvalidArgument, "bundle " + tar_path + " is not an ark registry bundle");
  }
  if (Int(bundle, "bundle_version") > kBundleVersion) {
    throw Error(ErrorCode::kUnsupportedVersion, "bundle " + tar_path + " is of a newer bundle version");
  }
  if (!bundle.contains("model") || !bundle["model"].is_object() || !bundle.contains("versions") ||
      !bundle["versions"].is_array() || bundle["versions"].empty() ||
      bundle["versions"].size() > kMaxVersionsInBundle) {
    throw Error(ErrorCode::kInvalidArgument, "bundle " + tar_path + ": bundle.json lacks the model or its versions");
  }
  const std::string name = Str(bundle["model"], "name");
  CheckModelName(name);
  ModelFields fields;
  fields.description = Str(bundle["model"], "description");
  fields.tags = StrMap(bundle["model"], "tags");

  std::vector<Artifact> artifacts;
  std::vector<NewVersion> nvs;
  std::map<int64_t, size_t> index_of;  // bundle version -> position
  for (const Json& rec : bundle["versions"]) {
    if (!rec.is_object()) throw Error(ErrorCode::kInvalidArgument, "bundle.json: a version is not an object");
    const int64_t number = Int(rec, "version");
    const std::string file = Str(rec, "file");
    const auto it = extracted.find(file);
    if (it == extracted.end()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "bundle " + tar_path + ": version " + std::to_string(number) + " lacks its file '" + file + "'");
    }
    Artifact art = Check(it->second, "import " + tar_path + " (version " + std::to_string(number) + ")");
    if (art.info.digest != Str(rec, "digest")) {
      throw Error(ErrorCode::kChecksumMismatch,
                  "bundle " + tar_path + ": version " + std::to_string(number) +
                      " does not match the digest bundle.json records (tampered?); nothing was imported");
    }
    NewVersion nv;
    nv.info = art.info;
    nv.info.label = Str(rec, "label");
    nv.info.description = Str(rec, "description");
    nv.info.tags = StrMap(rec, "tags");
    nv.info.tags["ark.source_version"] = std::to_string(number);
    nv.info.source_ref = Str(rec, "source_ref");
    if (!Str(rec, "data_fingerprint").empty()) nv.info.data_fingerprint = Str(rec, "data_fingerprint");
    const std::string stage = Str(rec, "stage");
    nv.info.stage = stage.empty() ? "None" : CanonicalStage(stage);
    nv.info.parent_version = Int(rec, "parent_version");  // remapped below
    if (rec.contains("aliases") && rec["aliases"].is_array()) {
      for (const Json& al : rec["aliases"]) {
        if (!al.is_string()) throw Error(ErrorCode::kInvalidArgument, "bundle.json: an alias is not a string");
        CheckAliasName(al.get<std::string>());
        nv.aliases.push_back(al.get<std::string>());
      }
    }
    nv.audit_action = "import";
    nv.audit_reason = "from " + tar_path + " (version " + std::to_string(number) + " there)";
    index_of[number] = nvs.size();
    artifacts.push_back(std::move(art));
    nvs.push_back(std::move(nv));
  }

  // 3. Store the pieces, then commit every version at once.
  size_t i = 0;
  PackWriter pack(packs_);
  for (const Json& rec : bundle["versions"]) {
    StorePieces(artifacts[i], &nvs[i], &pack);
    const std::string expected = Str(rec, "content_sha256");
    if (!expected.empty() && expected != nvs[i].info.content_sha256) {
      throw Error(ErrorCode::kChecksumMismatch,
                  "bundle " + tar_path + ": version " + std::to_string(Int(rec, "version")) +
                      " does not match its recorded SHA-256 (tampered?); nothing was imported");
    }
    ++i;
  }
  FinishPack(&pack, &nvs);
  // A parent inside the bundle points at its new number; one outside it is
  // dropped (it would name a version of another registry).
  for (auto& nv : nvs) {
    const auto it = index_of.find(nv.info.parent_version);
    nv.parent_index = (nv.info.parent_version != 0 && it != index_of.end() &&
                       it->second < static_cast<size_t>(&nv - nvs.data()))
                          ? static_cast<int64_t>(it->second)
                          : -1;
    nv.info.parent_version = 0;
  }
  std::vector<VersionInfo> created = store_->AddVersions(name, nvs, &fields, actor);
  return created;
}

}  // namespace ark::registry::internal
