// The SQLite MetadataStore (sqlite_store.h). Schema: docs/REGISTRY.md §Schema.
#include "sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>
#include <nlohmann/json.hpp>
#include <thread>
#include <type_traits>
#include <utility>

#include "ark/format/error.h"
#include "sql_util.h"
#include "util.h"

namespace ark::registry::internal {
namespace {

using Json = nlohmann::json;

constexpr int kSchemaVersion = 2;  // 2: piece index + pack files

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_version INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS versions(
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  digest TEXT NOT NULL,
  model_digest TEXT NOT NULL DEFAULT '',
  content_sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  new_bytes INTEGER NOT NULL DEFAULT 0,
  stage TEXT NOT NULL DEFAULT 'None'
    CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
  status TEXT NOT NULL DEFAULT 'READY' CHECK (status IN ('READY', 'DELETED')),
  metadata TEXT NOT NULL DEFAULT '{}',
  data_fingerprint TEXT NOT NULL DEFAULT '',
  source_ref TEXT NOT NULL DEFAULT '',
  parent_version INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  UNIQUE(model_id, version));
CREATE INDEX IF NOT EXISTS versions_stage ON versions(stage, model_id);
CREATE INDEX IF NOT EXISTS versions_created ON versions(created_ms);
CREATE INDEX IF NOT EXISTS versions_label ON versions(label);
CREATE INDEX IF NOT EXISTS versions_digest ON versions(digest);
CREATE TABLE IF NOT EXISTS model_tags(
  model_id INTEGER NOT NULL REFERENCES models(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(model_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS version_tags(
  version_id INTEGER NOT NULL REFERENCES versions(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(version_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS version_tags_kv ON version_tags(key, value, version_id);
CREATE TABLE IF NOT EXISTS metrics(
  version_id INTEGER NOT NULL REFERENCES versions(id),
  key TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY(version_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metrics_kv ON metrics(key, value, version_id);
CREATE TABLE IF NOT EXISTS aliases(
  model_id INTEGER NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL,
  version_id INTEGER NOT NULL REFERENCES versions(id),
  PRIMARY KEY(model_id, alias)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_version ON aliases(version_id);
CREATE INDEX IF NOT EXISTS aliases_alias ON aliases(alias);
CREATE TABLE IF NOT EXISTS version_pieces(
  version_id INTEGER PRIMARY KEY REFERENCES versions(id),
  shas BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS packs(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS pieces(
  sha BLOB PRIMARY KEY,
  pack_id INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  model TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  before_json TEXT NOT NULL DEFAULT 'null',
  after_json TEXT NOT NULL DEFAULT 'null',
  reason TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS audit_model ON audit(model, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

constexpr const char* kVersionColumns =
    "m.name, v.version, v.label, v.description, v.digest, v.model_digest, v.content_sha256, "
    "v.size, v.new_bytes, v.stage, v.status, v.metadata, v.data_fingerprint, v.source_ref, "
    "v.parent_version, v.created_by, v.created_ms, v.id";


// Piece digests are stored as their 32 raw bytes (half the size of hex).
std::string RawSha(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

std::string HexSha(const std::string& raw) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

struct VersionRow {
  int64_t model_id = 0;
  int64_t id = 0;
  std::string status;
  std::string stage;
};

class SqliteStore final : public MetadataStore {
 public:
  SqliteStore(const std::string& path, bool create) : db_(path, create) {
    db_.Write([&] {
      if (!create && !db_.TableExists("meta")) {
        throw Error(ErrorCode::kIo, path + " is not a registry database");
      }
      db_.ExecScript(kSchema);
      Stmt get(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
      if (get.Step()) {
        const int v = std::atoi(get.Text(0).c_str());
        if (v > kSchemaVersion) {
          throw Error(ErrorCode::kUnsupportedVersion,
                      "registry " + path + " has schema version " + std::to_string(v) +
                          "; this ark knows up to " + std::to_string(kSchemaVersion));
        }
      } else {
        Stmt(db_, "INSERT INTO meta(key, value) VALUES ('schema_version', ?)")
            .Bind(1, std::to_string(kSchemaVersion))
            .Run();
      }
    }, /*crash_points=*/false);
  }

  std::vector<VersionInfo> AddVersions(const std::string& name,
                                       const std::vector<NewVersion>& versions,
                                       const ModelFields* model_fields,
                                       const std::string& actor) override {
    return db_.Write([&] {
      const int64_t now = NowMs();
      int64_t model_id = 0;
      {
        Stmt find(db_, "SELECT id, deleted FROM models WHERE name = ?");
        find.Bind(1, name);
        if (find.Step()) {
          model_id = find.Int(0);
          if (find.Int(1) != 0) {
            Stmt(db_, "UPDATE models SET deleted = 0, updated_ms = ? WHERE id = ?")
                .Bind(1, now).Bind(2, model_id).Run();
          }
        } else {
          Stmt ins(db_,
                   "INSERT INTO models(name, description, created_ms, updated_ms) VALUES (?, ?, ?, ?)");
          ins.Bind(1, name).Bind(2, model_fields ? model_fields->description : std::string())
              .Bind(3, now).Bind(4, now).Run();
          model_id = db_.LastId();
          if (model_fields != nullptr) {
            for (const auto& [k, v] : model_fields->tags) {
              Stmt(db_, "INSERT INTO model_tags(model_id, key, value) VALUES (?, ?, ?)")
                  .Bind(1, model_id).Bind(2, k).Bind(3, v).Run();
            }
          }
          Audit(actor, "create", name, 0, Json(nullptr),
                Json{{"description", model_fields ? model_fields->description : ""}}, "");
        }
      }
      std::vector<int64_t> ids;
      std::vector<int64_t> numbers;
      for (const NewVersion& nv : versions) {
        VersionInfo in = nv.info;
        if (nv.parent_index >= 0 && static_cast<size_t>(nv.parent_index) < numbers.size()) {
          in.parent_version = numbers[static_cast<size_t>(nv.parent_index)];
        }
        int64_t number = 0;
        {
          Stmt last(db_, "SELECT last_version FROM models WHERE id = ?");
          last.Bind(1, model_id);
          last.Step();
          number = last.Int(0) + 1;
        }
        if (in.parent_version != 0) {
          Stmt p(db_, "SELECT 1 FROM versions WHERE model_id = ? AND version = ?");
          p.Bind(1, model_id).Bind(2, in.parent_version);
          if (!p.Step()) {
            throw Error(ErrorCode::kInvalidArgument,
                        "parent version " + std::to_string(in.parent_version) + " of model '" +
                            name + "' does not exist");
          }
        }
        Stmt(db_, "UPDATE models SET last_version = ?, updated_ms = ? WHERE id = ?")
            .Bind(1, number).Bind(2, now).Bind(3, model_id).Run();
        Stmt ins(db_,
                 "INSERT INTO versions(model_id, version, label, description, digest, model_digest,"
                 " content_sha256, size, new_bytes, stage, status, metadata, data_fingerprint,"
                 " source_ref, parent_version, created_by, created_ms)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY', ?, ?, ?, ?, ?, ?)");
        const std::string stage = in.stage.empty() ? "None" : in.stage;
        ins.Bind(1, model_id).Bind(2, number).Bind(3, in.label).Bind(4, in.description)
            .Bind(5, in.digest).Bind(6, in.model_digest).Bind(7, in.content_sha256)
            .Bind(8, static_cast<int64_t>(in.size)).Bind(9, static_cast<int64_t>(in.new_bytes))
            .Bind(10, stage).Bind(11, in.metadata_json.empty() ? "{}" : in.metadata_json)
            .Bind(12, in.data_fingerprint).Bind(13, in.source_ref).Bind(14, in.parent_version)
            .Bind(15, actor).Bind(16, now).Run();
        const int64_t vid = db_.LastId();
        ids.push_back(vid);
        numbers.push_back(number);
        for (const auto& [k, v] : in.tags) {
          Stmt(db_, "INSERT INTO version_tags(version_id, key, value) VALUES (?, ?, ?)")
              .Bind(1, vid).Bind(2, k).Bind(3, v).Run();
        }
        for (const auto& [k, v] : in.metrics) {
          if (!std::isfinite(v)) continue;
          Stmt(db_, "INSERT INTO metrics(version_id, key, value) VALUES (?, ?, ?)")
              .Bind(1, vid).Bind(2, k).Bind(3, v).Run();
        }
        std::map<std::string, int64_t> pack_ids;
        for (const PieceLocation& p : nv.new_pieces) {
          auto pid = pack_ids.find(p.pack);
          if (pid == pack_ids.end()) pid = pack_ids.emplace(p.pack, PackId(p.pack)).first;
          // A concurrent registration may have indexed the same piece in its
          // own pack: the first entry stays, gc reclaims the other copy.
          Stmt(db_, "INSERT OR IGNORE INTO pieces(sha, pack_id, offset, size) VALUES (?, ?, ?, ?)")
              .BindBlob(1, RawSha(p.sha)).Bind(2, pid->second)
              .Bind(3, static_cast<int64_t>(p.offset)).Bind(4, static_cast<int64_t>(p.size)).Run();
        }
        std::string shas;
        shas.reserve(nv.pieces.size() * 32);
        Stmt known(db_, "SELECT 1 FROM pieces WHERE sha = ?");
        for (const PieceRef& p : nv.pieces) {
          const std::string raw = RawSha(p.sha);
          known.Reset();
          known.BindBlob(1, raw);
          if (!known.Step()) {
            throw Error(ErrorCode::kIo, "piece " + p.sha + " of '" + name +
                                            "' is not stored (nothing was registered)");
          }
          shas += raw;
        }
        Stmt(db_, "INSERT INTO version_pieces(version_id, shas) VALUES (?, ?)")
            .Bind(1, vid).BindBlob(2, shas).Run();
        Json after = {{"digest", in.digest},       {"size", in.size},
                      {"new_bytes", in.new_bytes}, {"label", in.label},
                      {"stage", stage},            {"tags", in.tags},
                      {"source_ref", in.source_ref}, {"data_fingerprint", in.data_fingerprint},
                      {"parent_version", in.parent_version}};
        Audit(actor, nv.audit_action, name, number, Json(nullptr), after, nv.audit_reason);
        for (const std::string& alias : nv.aliases) {
          Stmt has(db_, "SELECT 1 FROM aliases WHERE model_id = ? AND alias = ?");
          has.Bind(1, model_id).Bind(2, alias);
          if (has.Step()) continue;  // taken in this registry: left where it is
          Stmt(db_, "INSERT INTO aliases(model_id, alias, version_id) VALUES (?, ?, ?)")
              .Bind(1, model_id).Bind(2, alias).Bind(3, vid).Run();
          Audit(actor, "alias", name, number, Json(nullptr),
                Json{{"alias", alias}, {"version", number}}, nv.audit_action);
        }
      }
      std::vector<VersionInfo> out;
      for (int64_t id : ids) out.push_back(LoadVersion(id));
      return out;
    });
  }

  std::vector<ModelInfo> ListModels() override {
    return db_.Read([&] {
      std::vector<ModelInfo> out;
      Stmt s(db_, "SELECT id FROM models WHERE deleted = 0 ORDER BY name");
      std::vector<int64_t> ids;
      while (s.Step()) ids.push_back(s.Int(0));
      for (int64_t id : ids) out.push_back(LoadModel(id));
      return out;
    });
  }

  ModelInfo GetModel(const std::string& name) override {
    return db_.Read([&] { return LoadModel(LiveModelId(name)); });
  }

  std::vector<VersionInfo> ListVersions(const std::string& name, bool include_deleted) override {
    return db_.Read([&] {
      const int64_t model_id = include_deleted ? AnyModelId(name) : LiveModelId(name);
      Stmt s(db_, std::string("SELECT id FROM versions WHERE model_id = ?") +
                      (include_deleted ? "" : " AND status = 'READY'") + " ORDER BY version");
      s.Bind(1, model_id);
      std::vector<int64_t> ids;
      while (s.Step()) ids.push_back(s.Int(0));
      std::vector<VersionInfo> out;
      for (int64_t id : ids) out.push_back(LoadVersion(id));
      return out;
    });
  }

  VersionInfo GetVersion(const std::string& name, int64_t version) override {
    return db_.Read([&] { return LoadVersion(FindVersion(name, version, false).id); });
  }

  VersionInfo Resolve(const ModelUri& uri) override {
    return db_.Read([&] {
      const std::string& name = uri.name;
      if (uri.version != 0) return LoadVersion(FindVersion(name, uri.version, true).id);
      const int64_t model_id = LiveModelId(name);
      if (!uri.alias.empty()) {
        Stmt s(db_, "SELECT version_id FROM aliases WHERE model_id = ? AND alias = ?");
        s.Bind(1, model_id).Bind(2, uri.alias);
        if (!s.Step()) {
          throw Error(ErrorCode::kInvalidArgument,
                      "model '" + name + "' has no alias '" + uri.alias + "'" + AliasList(model_id));
        }
        return LoadVersion(s.Int(0));
      }
      if (!uri.stage.empty()) {
        Stmt s(db_, "SELECT id FROM versions WHERE model_id = ? AND stage = ? AND status = 'READY'"
                    " ORDER BY version DESC LIMIT 1");
        s.Bind(1, model_id).Bind(2, uri.stage);
        if (!s.Step()) {
          throw Error(ErrorCode::kInvalidArgument,
                      "model '" + name + "' has no version in stage " + uri.stage);
        }
        return LoadVersion(s.Int(0));
      }
      Stmt s(db_, "SELECT id FROM versions WHERE model_id = ? AND status = 'READY'"
                  " ORDER BY version DESC LIMIT 1");
      s.Bind(1, model_id);
      if (!s.Step()) throw Error(ErrorCode::kInvalidArgument, "model '" + name + "' has no live version");
      return LoadVersion(s.Int(0));
    });
  }

  std::vector<PieceLocation> Pieces(const std::string& name, int64_t version) override {
    return db_.Read([&] {
      const VersionRow row = FindVersion(name, version, false);
      Stmt s(db_, "SELECT shas FROM version_pieces WHERE version_id = ?");
      s.Bind(1, row.id);
      const std::string shas = s.Step() ? s.Blob(0) : std::string();
      Stmt at(db_, "SELECT k.name, p.offset, p.size FROM pieces p JOIN packs k ON k.id = p.pack_id"
                   " WHERE p.sha = ?");
      std::vector<PieceLocation> out;
      for (size_t i = 0; i + 32 <= shas.size(); i += 32) {
        const std::string raw = shas.substr(i, 32);
        PieceLocation loc;
        loc.sha = HexSha(raw);
        at.Reset();
        at.BindBlob(1, raw);
        if (at.Step()) {
          loc.pack = at.Text(0);
          loc.offset = static_cast<uint64_t>(at.Int(1));
          loc.size = static_cast<uint64_t>(at.Int(2));
        }
        out.push_back(std::move(loc));
      }
      return out;
    });
  }

  std::set<std::string> KnownPieces(const std::vector<std::string>& shas) override {
    return db_.Read([&] {
      std::set<std::string> out;
      Stmt s(db_, "SELECT 1 FROM pieces WHERE sha = ?");
      for (const std::string& sha : shas) {
        s.Reset();
        s.BindBlob(1, RawSha(sha));
        if (s.Step()) out.insert(sha);
      }
      return out;
    });
  }

  void SetAlias(const std::string& name, const std::string& alias, int64_t version,
                const std::string& reason, const std::string& actor) override {
    db_.Write([&] {
      const VersionRow row = FindVersion(name, version, true);
      Stmt cur(db_, "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id"
                    " WHERE a.model_id = ? AND a.alias = ?");
      cur.Bind(1, row.model_id).Bind(2, alias);
      Json before = nullptr;
      if (cur.Step()) {
        if (cur.Int(0) == version) return;  // already there: nothing changes, nothing audited
        before = Json{{"alias", alias}, {"version", cur.Int(0)}};
      }
      Stmt(db_, "INSERT OR REPLACE INTO aliases(model_id, alias, version_id) VALUES (?, ?, ?)")
          .Bind(1, row.model_id).Bind(2, alias).Bind(3, row.id).Run();
      Touch(row.model_id);
      Audit(actor, "alias", name, version, before, Json{{"alias", alias}, {"version", version}},
            reason);
    });
  }

  void DeleteAlias(const std::string& name, const std::string& alias, const std::string& reason,
                   const std::string& actor) override {
    db_.Write([&] {
      const int64_t model_id = LiveModelId(name);
      Stmt cur(db_, "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id"
                    " WHERE a.model_id = ? AND a.alias = ?");
      cur.Bind(1, model_id).Bind(2, alias);
      if (!cur.Step()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "model '" + name + "' has no alias '" + alias + "'" + AliasList(model_id));
      }
      const int64_t version = cur.Int(0);
      Stmt(db_, "DELETE FROM aliases WHERE model_id = ? AND alias = ?")
          .Bind(1, model_id).Bind(2, alias).Run();
      Touch(model_id);
      Audit(actor, "unalias", name, version, Json{{"alias", alias}, {"version", version}},
            Json(nullptr), reason);
    });
  }

  void SetStage(const std::string& name, int64_t version, const std::string& stage,
                bool archive_existing, const std::string& reason,
                const std::string& actor) override {
    db_.Write([&] {
      const VersionRow row = FindVersion(name, version, true);
      if (archive_existing && stage != "None" && stage != "Archived") {
        Stmt others(db_, "SELECT id, version FROM versions WHERE model_id = ? AND stage = ?"
                         " AND status = 'READY' AND id != ? ORDER BY version");
        others.Bind(1, row.model_id).Bind(2, stage).Bind(3, row.id);
        std::vector<std::pair<int64_t, int64_t>> moved;
        while (others.Step()) moved.emplace_back(others.Int(0), others.Int(1));
        for (const auto& [id, v] : moved) {
          Stmt(db_, "UPDATE versions SET stage = 'Archived' WHERE id = ?").Bind(1, id).Run();
          Audit(actor, "stage", name, v, Json{{"stage", stage}}, Json{{"stage", "Archived"}},
                "archived: version " + std::to_string(version) + " moved to " + stage +
                    (reason.empty() ? "" : " (" + reason + ")"));
        }
      }
      if (row.stage == stage) return;
      Stmt(db_, "UPDATE versions SET stage = ? WHERE id = ?").Bind(1, stage).Bind(2, row.id).Run();
      Touch(row.model_id);
      Audit(actor, "stage", name, version, Json{{"stage", row.stage}}, Json{{"stage", stage}},
            reason);
    });
  }

  void SetTag(const std::string& name, int64_t version, const std::string& key,
              const std::string& value, const std::string& actor) override {
    db_.Write([&] {
      Json before = nullptr;
      if (version == 0) {
        const int64_t model_id = LiveModelId(name);
        Stmt cur(db_, "SELECT value FROM model_tags WHERE model_id = ? AND key = ?");
        cur.Bind(1, model_id).Bind(2, key);
        if (cur.Step()) {
          if (cur.Text(0) == value) return;
          before = Json{{"key", key}, {"value", cur.Text(0)}};
        }
        Stmt(db_, "INSERT OR REPLACE INTO model_tags(model_id, key, value) VALUES (?, ?, ?)")
            .Bind(1, model_id).Bind(2, key).Bind(3, value).Run();
        Touch(model_id);
      } else {
        const VersionRow row = FindVersion(name, version, true);
        Stmt cur(db_, "SELECT value FROM version_tags WHERE version_id = ? AND key = ?");
        cur.Bind(1, row.id).Bind(2, key);
        if (cur.Step()) {
          if (cur.Text(0) == value) return;
          before = Json{{"key", key}, {"value", cur.Text(0)}};
        }
        Stmt(db_, "INSERT OR REPLACE INTO version_tags(version_id, key, value) VALUES (?, ?, ?)")
            .Bind(1, row.id).Bind(2, key).Bind(3, value).Run();
        Touch(row.model_id);
      }
      Audit(actor, "tag", name, version, before, Json{{"key", key}, {"value", value}}, "");
    });
  }

  void DeleteTag(const std::string& name, int64_t version, const std::string& key,
                 const std::string& actor) override {
    db_.Write([&] {
      std::string old;
      const std::string where = version == 0 ? "model '" + name + "'"
                                             : "version " + std::to_string(version) + " of '" + name + "'";
      if (version == 0) {
        const int64_t model_id = LiveModelId(name);
        Stmt cur(db_, "SELECT value FROM model_tags WHERE model_id = ? AND key = ?");
        cur.Bind(1, model_id).Bind(2, key);
        if (!cur.Step()) throw Error(ErrorCode::kInvalidArgument, where + " has no tag '" + key + "'");
        old = cur.Text(0);
        Stmt(db_, "DELETE FROM model_tags WHERE model_id = ? AND key = ?")
            .Bind(1, model_id).Bind(2, key).Run();
        Touch(model_id);
      } else {
        const VersionRow row = FindVersion(name, version, true);
        Stmt cur(db_, "SELECT value FROM version_tags WHERE version_id = ? AND key = ?");
        cur.Bind(1, row.id).Bind(2, key);
        if (!cur.Step()) throw Error(ErrorCode::kInvalidArgument, where + " has no tag '" + key + "'");
        old = cur.Text(0);
        Stmt(db_, "DELETE FROM version_tags WHERE version_id = ? AND key = ?")
            .Bind(1, row.id).Bind(2, key).Run();
        Touch(row.model_id);
      }
      Audit(actor, "untag", name, version, Json{{"key", key}, {"value", old}}, Json(nullptr), "");
    });
  }

  void SetDescription(const std::string& name, int64_t version, const std::string& description,
                      const std::string& actor) override {
    db_.Write([&] {
      std::string old;
      if (version == 0) {
        const int64_t model_id = LiveModelId(name);
        Stmt cur(db_, "SELECT description FROM models WHERE id = ?");
        cur.Bind(1, model_id);
        cur.Step();
        old = cur.Text(0);
        if (old == description) return;
        Stmt(db_, "UPDATE models SET description = ?, updated_ms = ? WHERE id = ?")
            .Bind(1, description).Bind(2, NowMs()).Bind(3, model_id).Run();
      } else {
        const VersionRow row = FindVersion(name, version, true);
        Stmt cur(db_, "SELECT description FROM versions WHERE id = ?");
        cur.Bind(1, row.id);
        cur.Step();
        old = cur.Text(0);
        if (old == description) return;
        Stmt(db_, "UPDATE versions SET description = ? WHERE id = ?")
            .Bind(1, description).Bind(2, row.id).Run();
        Touch(row.model_id);
      }
      Audit(actor, "describe", name, version, Json{{"description", old}},
            Json{{"description", description}}, "");
    });
  }

  void Delete(const std::string& name, int64_t version, const std::string& reason,
              const std::string& actor) override {
    db_.Write([&] {
      if (version == 0) {
        const int64_t model_id = LiveModelId(name);
        Json aliases = Json::object();
        {
          Stmt a(db_, "SELECT a.alias, v.version FROM aliases a JOIN versions v ON v.id = a.version_id"
                      " WHERE a.model_id = ? ORDER BY a.alias");
          a.Bind(1, model_id);
          while (a.Step()) aliases[a.Text(0)] = a.Int(1);
        }
        Json live = Json::array();
        {
          Stmt v(db_, "SELECT version FROM versions WHERE model_id = ? AND status = 'READY' ORDER BY version");
          v.Bind(1, model_id);
          while (v.Step()) live.push_back(v.Int(0));
        }
        Stmt(db_, "DELETE FROM aliases WHERE model_id = ?").Bind(1, model_id).Run();
        Stmt(db_, "UPDATE versions SET status = 'DELETED' WHERE model_id = ?").Bind(1, model_id).Run();
        Stmt(db_, "UPDATE models SET deleted = 1, updated_ms = ? WHERE id = ?")
            .Bind(1, NowMs()).Bind(2, model_id).Run();
        Audit(actor, "delete", name, 0, Json{{"versions", live}, {"aliases", aliases}},
              Json{{"status", "DELETED"}}, reason);
        return;
      }
      const VersionRow row = FindVersion(name, version, false);
      if (row.status != "READY") {
        throw Error(ErrorCode::kInvalidArgument,
                    "version " + std::to_string(version) + " of model '" + name + "' is already deleted");
      }
      std::vector<std::string> aliases;
      {
        Stmt a(db_, "SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias");
        a.Bind(1, row.id);
        while (a.Step()) aliases.push_back(a.Text(0));
      }
      for (const std::string& alias : aliases) {
        Stmt(db_, "DELETE FROM aliases WHERE model_id = ? AND alias = ?")
            .Bind(1, row.model_id).Bind(2, alias).Run();
        Audit(actor, "unalias", name, version, Json{{"alias", alias}, {"version", version}},
              Json(nullptr), "version deleted");
      }
      Stmt(db_, "UPDATE versions SET status = 'DELETED' WHERE id = ?").Bind(1, row.id).Run();
      Touch(row.model_id);
      Audit(actor, "delete", name, version, Json{{"status", "READY"}, {"stage", row.stage}},
            Json{{"status", "DELETED"}}, reason);
    });
  }

  std::vector<VersionInfo> Search(const FilterExpr* filter, const std::vector<OrderTerm>& order,
                                  int64_t max_results, int64_t offset,
                                  bool include_deleted) override {
    if (max_results < 0 || offset < 0) {
      throw Error(ErrorCode::kInvalidArgument, "max_results and offset must not be negative");
    }
    // Plans. (1) The first order term is a metric that a top-level AND term
    // of the filter also constrains: walk that metric's index in order
    // (versions lacking it cannot match) checking the rest per row; the scan
    // stops after the page. (2) No filter and a metric first: the same walk,
    // then the versions lacking the metric (they sort last). (3) Otherwise
    // the filter's IN-lists drive and the matches are sorted.
    const bool metric_first = !order.empty() && order[0].field.kind == FilterField::kMetric;
    bool constrained = false;
    if (filter != nullptr && metric_first) {
      std::vector<const FilterExpr*> conjuncts;
      if (filter->kind == FilterExpr::kAnd) {
        for (const auto& c : filter->children) conjuncts.push_back(&c);
      } else {
        conjuncts.push_back(filter);
      }
      for (const FilterExpr* c : conjuncts) {
        if (c->kind == FilterExpr::kCompare && c->field.kind == FilterField::kMetric &&
            c->field.name == order[0].field.name && c->op != "!=" && c->op != "NOT IN") {
          constrained = true;
        }
      }
    }
    const std::string* driving =
        metric_first && (constrained || filter == nullptr) ? &order[0].field.name : nullptr;
    const SqlText walk = BuildSearch(filter, order, include_deleted, driving, false);
    return db_.Read([&] {
      std::vector<int64_t> ids = RunIds(walk, max_results, offset);
      if (driving != nullptr && !constrained && static_cast<int64_t>(ids.size()) < max_results) {
        // Versions without the metric follow those with it.
        int64_t with_metric = offset + static_cast<int64_t>(ids.size());
        if (ids.empty() && offset > 0) {
          SqlText count = BuildSearch(filter, {}, include_deleted, driving, false);
          count.sql = "SELECT COUNT(*) FROM (" + count.sql + ")";
          Stmt c(db_, count.sql);
          for (size_t i = 0; i < count.binds.size(); ++i) c.Bind(static_cast<int>(i + 1), count.binds[i]);
          c.Step();
          with_metric = c.Int(0);
        }
        const SqlText rest = BuildSearch(filter, order, include_deleted, nullptr, true);
        for (int64_t id : RunIds(rest, max_results - static_cast<int64_t>(ids.size()),
                                 std::max<int64_t>(0, offset - with_metric))) {
          ids.push_back(id);
        }
      }
      std::vector<VersionInfo> out;
      out.reserve(ids.size());
      for (int64_t id : ids) out.push_back(LoadVersion(id));
      return out;
    });
  }

  std::vector<AuditEvent> History(const std::string& name, int64_t limit) override {
    return db_.Read([&] {
      if (!name.empty()) AnyModelId(name);
      std::string inner = "SELECT id, time_ms, actor, action, model, version, before_json, after_json,"
                          " reason FROM audit";
      if (!name.empty()) inner += " WHERE model = ?";
      inner += " ORDER BY id DESC";
      if (limit > 0) inner += " LIMIT ?";
      Stmt s(db_, "SELECT * FROM (" + inner + ") ORDER BY id");
      int i = 1;
      if (!name.empty()) s.Bind(i++, name);
      if (limit > 0) s.Bind(i++, limit);
      std::vector<AuditEvent> out;
      while (s.Step()) {
        AuditEvent e;
        e.id = s.Int(0);
        e.time_ms = s.Int(1);
        e.actor = s.Text(2);
        e.action = s.Text(3);
        e.model = s.Text(4);
        e.version = s.Int(5);
        e.before = s.Text(6);
        e.after = s.Text(7);
        e.reason = s.Text(8);
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  uint64_t DropDeadPieces() override {
    return db_.Write([&] {
      std::unordered_set<std::string> live;
      Stmt s(db_, "SELECT vp.shas FROM version_pieces vp JOIN versions v ON v.id = vp.version_id"
                  " WHERE v.status = 'READY'");
      while (s.Step()) {
        const std::string shas = s.Blob(0);
        for (size_t i = 0; i + 32 <= shas.size(); i += 32) live.insert(shas.substr(i, 32));
      }
      std::vector<std::string> dead;
      Stmt all(db_, "SELECT sha FROM pieces");
      while (all.Step()) {
        std::string sha = all.Blob(0);
        if (live.count(sha) == 0) dead.push_back(std::move(sha));
      }
      Stmt del(db_, "DELETE FROM pieces WHERE sha = ?");
      for (const std::string& sha : dead) {
        del.Reset();
        del.BindBlob(1, sha);
        del.Run();
      }
      Stmt(db_, "DELETE FROM packs WHERE id NOT IN (SELECT pack_id FROM pieces)").Run();
      return static_cast<uint64_t>(dead.size());
    });
  }

  std::vector<PieceLocation> IndexedPieces() override {
    return db_.Read([&] {
      std::vector<PieceLocation> out;
      Stmt s(db_, "SELECT p.sha, k.name, p.offset, p.size FROM pieces p JOIN packs k ON k.id = p.pack_id"
                  " ORDER BY p.pack_id, p.offset");
      while (s.Step()) {
        out.push_back({HexSha(s.Blob(0)), s.Text(1), static_cast<uint64_t>(s.Int(2)),
                       static_cast<uint64_t>(s.Int(3))});
      }
      return out;
    });
  }

  void MovePieces(const std::string& from, const std::vector<PieceLocation>& moved) override {
    db_.Write([&] {
      int64_t from_id = 0;
      {
        Stmt old(db_, "SELECT id FROM packs WHERE name = ?");
        old.Bind(1, from);
        if (!old.Step()) return;
        from_id = old.Int(0);
      }
      std::map<std::string, int64_t> pack_ids;
      Stmt s(db_, "UPDATE pieces SET pack_id = ?, offset = ? WHERE sha = ? AND pack_id = ?");
      for (const PieceLocation& p : moved) {
        auto pid = pack_ids.find(p.pack);
        if (pid == pack_ids.end()) pid = pack_ids.emplace(p.pack, PackId(p.pack)).first;
        s.Reset();
        s.Bind(1, pid->second).Bind(2, static_cast<int64_t>(p.offset)).BindBlob(3, RawSha(p.sha))
            .Bind(4, from_id).Run();
      }
      Stmt(db_, "DELETE FROM packs WHERE id = ? AND id NOT IN (SELECT pack_id FROM pieces)")
          .Bind(1, from_id).Run();
    });
  }

  std::set<std::string> LiveContents() override {
    return db_.Read([&] {
      std::set<std::string> out;
      Stmt s(db_, "SELECT DISTINCT content_sha256 FROM versions WHERE status = 'READY'");
      while (s.Step()) out.insert(s.Text(0));
      return out;
    });
  }

  void RecordGc(uint64_t pieces, uint64_t bytes, const std::string& actor) override {
    db_.Write([&] {
      Audit(actor, "gc", "", 0, Json(nullptr),
            Json{{"pieces_removed", pieces}, {"bytes_freed", bytes}}, "");
    });
  }

 private:
  // The id of pack `name` in table packs (inserted when new). In a write
  // transaction.
  int64_t PackId(const std::string& name) {
    Stmt(db_, "INSERT OR IGNORE INTO packs(name) VALUES (?)").Bind(1, name).Run();
    Stmt s(db_, "SELECT id FROM packs WHERE name = ?");
    s.Bind(1, name);
    if (!s.Step()) throw Error(ErrorCode::kIo, "registry database: pack " + name + " vanished");
    return s.Int(0);
  }

  void Audit(const std::string& actor, const std::string& action, const std::string& model,
             int64_t version, const Json& before, const Json& after, const std::string& reason) {
    Stmt(db_, "INSERT INTO audit(time_ms, actor, action, model, version, before_json, after_json,"
              " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .Bind(1, NowMs()).Bind(2, actor).Bind(3, action).Bind(4, model).Bind(5, version)
        .Bind(6, before.dump(-1, ' ', false, Json::error_handler_t::replace))
        .Bind(7, after.dump(-1, ' ', false, Json::error_handler_t::replace))
        .Bind(8, reason)
        .Run();
  }

  void Touch(int64_t model_id) {
    Stmt(db_, "UPDATE models SET updated_ms = ? WHERE id = ?").Bind(1, NowMs()).Bind(2, model_id).Run();
  }

  int64_t AnyModelId(const std::string& name) {
    Stmt s(db_, "SELECT id FROM models WHERE name = ?");
    s.Bind(1, name);
    if (!s.Step()) throw Error(ErrorCode::kInvalidArgument, "unknown model '" + name + "'");
    return s.Int(0);
  }

  int64_t LiveModelId(const std::string& name) {
    Stmt s(db_, "SELECT id, deleted FROM models WHERE name = ?");
    s.Bind(1, name);
    if (!s.Step()) throw Error(ErrorCode::kInvalidArgument, "unknown model '" + name + "'");
    if (s.Int(1) != 0) throw Error(ErrorCode::kInvalidArgument, "model '" + name + "' was deleted");
    return s.Int(0);
  }

  // REQUIRES: inside a transaction. live: the version must be READY.
  VersionRow FindVersion(const std::string& name, int64_t version, bool live) {
    VersionRow row;
    row.model_id = live ? LiveModelId(name) : AnyModelId(name);
    Stmt s(db_, "SELECT id, status, stage FROM versions WHERE model_id = ? AND version = ?");
    s.Bind(1, row.model_id).Bind(2, version);
    if (!s.Step()) {
      Stmt last(db_, "SELECT MAX(version) FROM versions WHERE model_id = ? AND status = 'READY'");
      last.Bind(1, row.model_id);
      last.Step();
      const std::string hint = last.IsNull(0) ? " (it has no live version)"
                                              : " (latest is " + std::to_string(last.Int(0)) + ")";
      throw Error(ErrorCode::kInvalidArgument,
                  "unknown version " + std::to_string(version) + " of model '" + name + "'" + hint);
    }
    row.id = s.Int(0);
    row.status = s.Text(1);
    row.stage = s.Text(2);
    if (live && row.status != "READY") {
      throw Error(ErrorCode::kInvalidArgument,
                  "version " + std::to_string(version) + " of model '" + name + "' is deleted");
    }
    return row;
  }

  std::string AliasList(int64_t model_id) {
    Stmt s(db_, "SELECT alias FROM aliases WHERE model_id = ? ORDER BY alias");
    s.Bind(1, model_id);
    std::string list;
    while (s.Step()) list += (list.empty() ? "" : ", ") + s.Text(0);
    return list.empty() ? " (it has none)" : " (aliases: " + list + ")";
  }

  ModelInfo LoadModel(int64_t id) {
    ModelInfo m;
    Stmt s(db_, "SELECT name, description, created_ms, updated_ms FROM models WHERE id = ?");
    s.Bind(1, id);
    s.Step();
    m.name = s.Text(0);
    m.description = s.Text(1);
    m.created_ms = s.Int(2);
    m.updated_ms = s.Int(3);
    Stmt t(db_, "SELECT key, value FROM model_tags WHERE model_id = ?");
    t.Bind(1, id);
    while (t.Step()) m.tags[t.Text(0)] = t.Text(1);
    Stmt a(db_, "SELECT a.alias, v.version FROM aliases a JOIN versions v ON v.id = a.version_id"
                " WHERE a.model_id = ?");
    a.Bind(1, id);
    while (a.Step()) m.aliases[a.Text(0)] = a.Int(1);
    Stmt l(db_, "SELECT MAX(version) FROM versions WHERE model_id = ? AND status = 'READY'");
    l.Bind(1, id);
    l.Step();
    m.latest_version = l.IsNull(0) ? 0 : l.Int(0);
    return m;
  }

  VersionInfo LoadVersion(int64_t id) {
    VersionInfo v;
    Stmt s(db_, std::string("SELECT ") + kVersionColumns +
                    " FROM versions v JOIN models m ON m.id = v.model_id WHERE v.id = ?");
    s.Bind(1, id);
    if (!s.Step()) throw Error(ErrorCode::kIo, "registry: version row vanished");
    v.name = s.Text(0);
    v.version = s.Int(1);
    v.label = s.Text(2);
    v.description = s.Text(3);
    v.digest = s.Text(4);
    v.model_digest = s.Text(5);
    v.content_sha256 = s.Text(6);
    v.size = static_cast<uint64_t>(s.Int(7));
    v.new_bytes = static_cast<uint64_t>(s.Int(8));
    v.stage = s.Text(9);
    v.status = s.Text(10);
    v.metadata_json = s.Text(11);
    v.data_fingerprint = s.Text(12);
    v.source_ref = s.Text(13);
    v.parent_version = s.Int(14);
    v.created_by = s.Text(15);
    v.created_ms = s.Int(16);
    Stmt t(db_, "SELECT key, value FROM version_tags WHERE version_id = ?");
    t.Bind(1, id);
    while (t.Step()) v.tags[t.Text(0)] = t.Text(1);
    Stmt mt(db_, "SELECT key, value FROM metrics WHERE version_id = ?");
    mt.Bind(1, id);
    while (mt.Step()) v.metrics[mt.Text(0)] = mt.Real(1);
    Stmt a(db_, "SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias");
    a.Bind(1, id);
    while (a.Step()) v.aliases.push_back(a.Text(0));
    return v;
  }

  // The SELECT of a search, without LIMIT. `driving`: plan over metric
  // `o` (see Search); `lacking_first_metric`: only versions without the
  // first order term's metric.
  SqlText BuildSearch(const FilterExpr* filter, const std::vector<OrderTerm>& order,
                      bool include_deleted, const std::string* driving,
                      bool lacking_first_metric) {
    SqlText q;
    if (driving != nullptr) {
      q.sql = "SELECT v.id FROM metrics o CROSS JOIN versions v CROSS JOIN models m"
              " WHERE o.key = ? AND v.id = o.version_id AND m.id = v.model_id AND ";
      q.binds.emplace_back(*driving);
    } else {
      q.sql = "SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id WHERE ";
    }
    q.sql += include_deleted ? "1" : "v.status = 'READY'";
    if (lacking_first_metric) {
      q.sql += " AND NOT EXISTS (SELECT 1 FROM metrics WHERE version_id = v.id AND key = ?)";
      q.binds.emplace_back(order.at(0).field.name);
    }
    if (filter != nullptr) {
      q.sql += " AND (";
      CompileFilter(*filter, driving, &q);
      q.sql += ")";
    }
    if (order.empty() && driving != nullptr) return q;  // for COUNT(*)
    q.sql += " ORDER BY ";
    for (size_t i = lacking_first_metric ? 1 : 0; i < order.size(); ++i) {
      const OrderTerm& term = order[i];
      if (i == 0 && driving != nullptr) {
        q.sql += "o.value";
      } else {
        CompileOrderKey(term.field, &q);
      }
      q.sql += term.descending ? " DESC NULLS LAST, " : " ASC NULLS LAST, ";
    }
    q.sql += "m.name, v.version";
    return q;
  }

  std::vector<int64_t> RunIds(const SqlText& q, int64_t limit, int64_t offset) {
    Stmt s(db_, q.sql + " LIMIT ? OFFSET ?");
    size_t i = 0;
    for (; i < q.binds.size(); ++i) s.Bind(static_cast<int>(i + 1), q.binds[i]);
    s.Bind(static_cast<int>(i + 1), limit);
    s.Bind(static_cast<int>(i + 2), offset);
    std::vector<int64_t> ids;
    while (s.Step()) ids.push_back(s.Int(0));
    return ids;
  }

  // ---- filter -> SQL, user values always bound ----

  static const char* ColumnSql(const std::string& name) {
    static const std::map<std::string, const char*> kMap = {
        {"name", "m.name"},
        {"version", "v.version"},
        {"label", "v.label"},
        {"stage", "v.stage"},
        {"status", "v.status"},
        {"description", "v.description"},
        {"digest", "v.digest"},
        {"model_digest", "v.model_digest"},
        {"created", "v.created_ms"},
        {"created_by", "v.created_by"},
        {"source_ref", "v.source_ref"},
        {"data_fingerprint", "v.data_fingerprint"},
        {"parent_version", "v.parent_version"},
        {"size", "v.size"},
    };
    const auto it = kMap.find(name);
    if (it == kMap.end()) throw Error(ErrorCode::kInvalidArgument, "unknown field " + name);
    return it->second;
  }

  // '$."a"."b"': each key quoted, so no key can change the path's meaning.
  static std::string JsonPath(const std::vector<std::string>& parts) {
    std::string path = "$";
    for (const std::string& p : parts) {
      if (p.find('"') != std::string::npos || p.find('\\') != std::string::npos) {
        throw Error(ErrorCode::kInvalidArgument, "metadata key '" + p + "' may not contain quotes");
      }
      path += ".\"" + p + "\"";
    }
    return path;
  }

  static void BindValue(const FilterValue& v, SqlText* q) {
    if (v.is_number) {
      q->binds.emplace_back(v.number);
    } else {
      q->binds.emplace_back(v.text);
    }
  }

  // "<lhs> op ?", "<lhs> IN (?, ?)", with the values bound.
  static void Predicate(const std::string& lhs, const std::string& op,
                        const std::vector<FilterValue>& values, SqlText* q) {
    q->sql += lhs;
    if (op == "IN" || op == "NOT IN") {
      q->sql += " " + op + " (";
      for (size_t i = 0; i < values.size(); ++i) {
        q->sql += i == 0 ? "?" : ", ?";
        BindValue(values[i], q);
      }
      q->sql += ")";
      return;
    }
    q->sql += " " + op + " ?";
    BindValue(values.at(0), q);
  }

  // `driving`: the metric whose row is `o` in a metric-driven plan (else
  // null); terms on it read o.value, other metric and tag terms become
  // correlated EXISTS checks instead of IN-lists.
  static void CompileFilter(const FilterExpr& e, const std::string* driving, SqlText* q) {
    if (e.kind != FilterExpr::kCompare) {
      const char* joiner = e.kind == FilterExpr::kAnd ? " AND " : " OR ";
      for (size_t i = 0; i < e.children.size(); ++i) {
        if (i > 0) q->sql += joiner;
        q->sql += "(";
        CompileFilter(e.children[i], driving, q);
        q->sql += ")";
      }
      return;
    }
    const FilterField& f = e.field;
    switch (f.kind) {
      case FilterField::kColumn:
        Predicate(ColumnSql(f.name), e.op, e.values, q);
        return;
      case FilterField::kMetadata:
        q->binds.emplace_back(JsonPath(f.path));
        Predicate("json_extract(v.metadata, ?)", e.op, e.values, q);
        return;
      case FilterField::kMetric:
      case FilterField::kTag: {
        const bool metric = f.kind == FilterField::kMetric;
        if (metric && driving != nullptr && f.name == *driving) {
          Predicate("o.value", e.op, e.values, q);
          return;
        }
        const char* table = metric ? "metrics" : "version_tags";
        q->sql += driving != nullptr
                      ? std::string("EXISTS (SELECT 1 FROM ") + table + " WHERE version_id = v.id AND key = ? AND "
                      : std::string("v.id IN (SELECT version_id FROM ") + table + " WHERE key = ? AND ";
        q->binds.emplace_back(f.name);
        Predicate("value", e.op, e.values, q);
        q->sql += ")";
        return;
      }
      case FilterField::kAlias: {
        // alias != 'x' / NOT IN / NOT LIKE: versions that hold no matching alias.
        std::string op = e.op;
        bool negated = false;
        if (op == "!=") op = "=", negated = true;
        if (op == "NOT IN") op = "IN", negated = true;
        if (op == "NOT LIKE") op = "LIKE", negated = true;
        q->sql += negated ? "v.id NOT IN (SELECT version_id FROM aliases WHERE "
                          : "v.id IN (SELECT version_id FROM aliases WHERE ";
        Predicate("alias", op, e.values, q);
        q->sql += ")";
        return;
      }
    }
  }

  static void CompileOrderKey(const FilterField& f, SqlText* q) {
    switch (f.kind) {
      case FilterField::kColumn:
        q->sql += ColumnSql(f.name);
        return;
      case FilterField::kMetadata:
        q->sql += "json_extract(v.metadata, ?)";
        q->binds.emplace_back(JsonPath(f.path));
        return;
      case FilterField::kMetric:
        q->sql += "(SELECT value FROM metrics WHERE version_id = v.id AND key = ?)";
        q->binds.emplace_back(f.name);
        return;
      case FilterField::kTag:
        q->sql += "(SELECT value FROM version_tags WHERE version_id = v.id AND key = ?)";
        q->binds.emplace_back(f.name);
        return;
      case FilterField::kAlias:
        q->sql += "(SELECT MIN(alias) FROM aliases WHERE version_id = v.id)";
        return;
    }
  }

  Db db_;
};

}  // namespace

std::unique_ptr<MetadataStore> OpenSqliteStore(const std::string& db_path, bool create) {
  return std::make_unique<SqliteStore>(db_path, create);
}

}  // namespace ark::registry::internal
