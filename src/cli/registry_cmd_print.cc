// Tables and JSON for `ark registry` (registry_cmd_print.h).
#include "registry_cmd_print.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>

#include "commands.h"

namespace ark::cli {
namespace {

using registry::AuditEvent;
using registry::ModelInfo;
using registry::VersionInfo;
using Table = std::vector<std::vector<std::string>>;

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void PrintTable(const Table& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

std::string Join(const std::vector<std::string>& items, const char* sep = ",") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Cut(const std::string& s, size_t n) {
  return DisplayWidth(s) <= n ? s : s.substr(0, n - 3) + "...";
}

RegJson ParseOrText(const std::string& text) {
  try {
    return RegJson::parse(text);
  } catch (const std::exception&) {
    return text;
  }
}

std::string Scalar(const RegJson& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump(-1, ' ', false, RegJson::error_handler_t::replace);
}

// Flattens objects into dotted keys; arrays and scalars are leaves.
void Flatten(const RegJson& j, const std::string& prefix, std::map<std::string, std::string>* out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  std::string text = Scalar(j);
  if (text.size() > 120) text = text.substr(0, 117) + "...";
  (*out)[prefix] = text;
}

struct DiffRow {
  std::string section, key, a, b;
};

std::map<std::string, std::map<std::string, std::string>> Sections(const VersionInfo& v) {
  std::map<std::string, std::map<std::string, std::string>> s;
  auto& ver = s["version"];
  ver["version"] = std::to_string(v.version);
  ver["label"] = v.label;
  ver["stage"] = v.stage;
  ver["status"] = v.status;
  ver["aliases"] = Join(v.aliases);
  ver["digest"] = v.digest;
  ver["model_digest"] = v.model_digest;
  ver["size"] = HumanSize(v.size);
  ver["created"] = IsoUtc(v.created_ms);
  ver["created_by"] = v.created_by;
  ver["source_ref"] = v.source_ref;
  ver["data_fingerprint"] = v.data_fingerprint;
  ver["parent_version"] = v.parent_version ? std::to_string(v.parent_version) : "";
  ver["description"] = v.description;
  for (const auto& [k, val] : v.tags) s["tags"][k] = val;
  for (const auto& [k, val] : v.metrics) s["metrics"][k] = FloatRepr(val);
  RegJson meta = ParseOrText(v.metadata_json);
  if (!meta.is_object()) return s;
  if (meta.contains("estimator") && meta["estimator"].is_object()) {
    RegJson est = meta["estimator"];
    if (est.contains("params")) {
      Flatten(est["params"], "", &s["params"]);
      est.erase("params");
    }
    Flatten(est, "estimator", &s["metadata"]);
    meta.erase("estimator");
  }
  if (meta.contains("versions")) {
    Flatten(meta["versions"], "", &s["versions"]);
    meta.erase("versions");
  }
  if (meta.contains("environment") && meta["environment"].is_array()) {
    for (const auto& item : meta["environment"]) {
      if (!item.is_string()) continue;
      const std::string text = item.get<std::string>();
      const size_t eq = text.find("==");
      s["environment"][text.substr(0, eq)] = eq == std::string::npos ? "" : text.substr(eq + 2);
    }
    meta.erase("environment");
  }
  meta.erase("metrics");  // shown as metrics
  meta.erase("tags");
  Flatten(meta, "", &s["metadata"]);
  return s;
}

std::vector<DiffRow> Diff(const VersionInfo& a, const VersionInfo& b, bool all) {
  auto sa = Sections(a), sb = Sections(b);
  std::vector<DiffRow> rows;
  for (const char* section : {"version", "metrics", "params", "tags", "versions", "metadata", "environment"}) {
    std::map<std::string, std::pair<std::string, std::string>> keys;
    for (const auto& [k, v] : sa[section]) keys[k].first = v;
    for (const auto& [k, v] : sb[section]) keys[k].second = v;
    for (const auto& [k, ab] : keys) {
      if (!all && ab.first == ab.second) continue;
      if (!all && std::string(section) == "version" && (k == "version")) continue;
      rows.push_back({section, k, ab.first, ab.second});
    }
  }
  return rows;
}

}  // namespace

std::string IsoUtc(int64_t ms) {
  if (ms == 0) return "";
  const time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ShortDigest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) + "…" : digest;
}

int PrintJson(const RegJson& j) {
  std::cout << j.dump(2, ' ', false, RegJson::error_handler_t::replace) << "\n";
  return kExitOk;
}

RegJson VersionJson(const VersionInfo& v) {
  return RegJson{{"name", v.name},
                 {"version", v.version},
                 {"label", v.label},
                 {"description", v.description},
                 {"digest", v.digest},
                 {"model_digest", v.model_digest},
                 {"content_sha256", v.content_sha256},
                 {"size", v.size},
                 {"new_bytes", v.new_bytes},
                 {"stage", v.stage},
                 {"status", v.status},
                 {"tags", v.tags},
                 {"metrics", v.metrics},
                 {"metadata", ParseOrText(v.metadata_json)},
                 {"aliases", v.aliases},
                 {"data_fingerprint", v.data_fingerprint},
                 {"source_ref", v.source_ref},
                 {"parent_version", v.parent_version},
                 {"created_by", v.created_by},
                 {"created_ms", v.created_ms},
                 {"created", IsoUtc(v.created_ms)}};
}

RegJson VersionsJson(const std::vector<VersionInfo>& versions) {
  RegJson out = RegJson::array();
  for (const auto& v : versions) out.push_back(VersionJson(v));
  return out;
}

RegJson ModelJson(const ModelInfo& m) {
  return RegJson{{"name", m.name},
                 {"description", m.description},
                 {"tags", m.tags},
                 {"aliases", m.aliases},
                 {"latest_version", m.latest_version},
                 {"created_ms", m.created_ms},
                 {"updated_ms", m.updated_ms},
                 {"created", IsoUtc(m.created_ms)},
                 {"updated", IsoUtc(m.updated_ms)}};
}

RegJson ModelsJson(const std::vector<ModelInfo>& models) {
  RegJson out = RegJson::array();
  for (const auto& m : models) out.push_back(ModelJson(m));
  return out;
}

RegJson EventsJson(const std::vector<AuditEvent>& events) {
  RegJson out = RegJson::array();
  for (const auto& e : events) {
    out.push_back(RegJson{{"id", e.id},
                          {"time_ms", e.time_ms},
                          {"time", IsoUtc(e.time_ms)},
                          {"actor", e.actor},
                          {"action", e.action},
                          {"model", e.model},
                          {"version", e.version},
                          {"before", ParseOrText(e.before)},
                          {"after", ParseOrText(e.after)},
                          {"reason", e.reason}});
  }
  return out;
}

RegJson DiffJson(const VersionInfo& a, const VersionInfo& b, bool all) {
  RegJson rows = RegJson::array();
  for (const auto& r : Diff(a, b, all)) {
    rows.push_back(RegJson{{"section", r.section}, {"key", r.key}, {"a", r.a}, {"b", r.b}});
  }
  return RegJson{{"name", a.name}, {"a", a.version}, {"b", b.version}, {"rows", rows}};
}

void PrintModels(const std::vector<ModelInfo>& models) {
  if (models.empty()) {
    std::cout << "no models yet; add one with 'ark registry register NAME FILE'\n";
    return;
  }
  Table t = {{"NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"}};
  for (const auto& m : models) {
    std::vector<std::string> aliases;
    for (const auto& [a, v] : m.aliases) aliases.push_back(a + "=" + std::to_string(v));
    t.push_back({m.name, m.latest_version ? std::to_string(m.latest_version) : "-", Join(aliases),
                 IsoUtc(m.updated_ms), Cut(m.description, 50)});
  }
  PrintTable(t);
}

void PrintVersionTable(const std::vector<VersionInfo>& versions, bool with_name) {
  if (versions.empty()) {
    std::cout << "no versions\n";
    return;
  }
  std::vector<std::string> header;
  if (with_name) header.push_back("NAME");
  for (const char* h : {"VERSION", "LABEL", "STAGE", "ALIASES", "SIZE", "CREATED", "BY", "METRICS"}) header.push_back(h);
  Table t = {header};
  for (const auto& v : versions) {
    std::vector<std::string> row;
    if (with_name) row.push_back(v.name);
    std::vector<std::string> metrics;
    for (const auto& [k, m] : v.metrics) metrics.push_back(k + "=" + FloatRepr(m));
    row.push_back(std::to_string(v.version) + (v.status == "READY" ? "" : " (deleted)"));
    row.push_back(v.label.empty() ? "-" : v.label);
    row.push_back(v.stage);
    row.push_back(v.aliases.empty() ? "-" : Join(v.aliases));
    row.push_back(HumanSize(v.size));
    row.push_back(IsoUtc(v.created_ms));
    row.push_back(v.created_by);
    row.push_back(Cut(Join(metrics, " "), 60));
    t.push_back(std::move(row));
  }
  PrintTable(t);
}

void PrintModel(const ModelInfo& m, const std::vector<VersionInfo>& versions) {
  std::cout << m.name << "\n";
  if (!m.description.empty()) std::cout << "  description  " << m.description << "\n";
  std::cout << "  created      " << IsoUtc(m.created_ms) << "\n";
  std::cout << "  updated      " << IsoUtc(m.updated_ms) << "\n";
  std::cout << "  latest       " << (m.latest_version ? std::to_string(m.latest_version) : "-") << "\n";
  for (const auto& [k, v] : m.tags) std::cout << "  tag          " << k << "=" << v << "\n";
  for (const auto& [a, v] : m.aliases) std::cout << "  alias        @" << a << " -> " << v << "\n";
  std::cout << "\n";
  PrintVersionTable(versions);
}

void PrintVersion(const VersionInfo& v) {
  Table t;
  auto field = [&](const char* k, const std::string& val) {
    if (!val.empty()) t.push_back({std::string("  ") + k, val});
  };
  std::cout << v.name << " version " << v.version << "\n";
  field("label", v.label);
  field("status", v.status);
  field("stage", v.stage);
  field("aliases", Join(v.aliases, ", "));
  field("description", v.description);
  field("size", HumanSize(v.size) + " (" + HumanSize(v.new_bytes) + " new when registered)");
  field("digest", v.digest);
  field("model digest", v.model_digest);
  field("created", IsoUtc(v.created_ms) + " by " + v.created_by);
  field("data", v.data_fingerprint);
  field("source", v.source_ref);
  field("parent", v.parent_version ? std::to_string(v.parent_version) : "");
  for (const auto& [k, val] : v.tags) field("tag", k + "=" + val);
  for (const auto& [k, val] : v.metrics) field("metric", k + " = " + FloatRepr(val));
  const RegJson meta = ParseOrText(v.metadata_json);
  if (meta.is_object() && meta.contains("estimator") && meta["estimator"].is_object()) {
    const RegJson& est = meta["estimator"];
    if (est.contains("summary")) field("estimator", Scalar(est["summary"]));
    else if (est.contains("type")) field("estimator", Scalar(est["type"]));
  }
  PrintTable(t);
}

void PrintHistory(const std::vector<AuditEvent>& events) {
  if (events.empty()) {
    std::cout << "no events\n";
    return;
  }
  Table t = {{"TIME", "ACTOR", "ACTION", "MODEL", "VERSION", "CHANGE", "REASON"}};
  for (const auto& e : events) {
    const RegJson before = ParseOrText(e.before), after = ParseOrText(e.after);
    std::string change;
    if (e.action == "alias" || e.action == "unalias") {
      const RegJson& any = after.is_null() ? before : after;
      change = "@" + Scalar(any.value("alias", RegJson(""))) + ": " +
               (before.is_null() ? "-" : Scalar(before.value("version", RegJson("")))) + " -> " +
               (after.is_null() ? "-" : Scalar(after.value("version", RegJson(""))));
    } else if (e.action == "stage") {
      change = Scalar(before.value("stage", RegJson(""))) + " -> " + Scalar(after.value("stage", RegJson("")));
    } else if (e.action == "tag" || e.action == "untag") {
      const RegJson& any = after.is_null() ? before : after;
      change = Scalar(any.value("key", RegJson(""))) + ": " +
               (before.is_null() ? "-" : Scalar(before.value("value", RegJson("")))) + " -> " +
               (after.is_null() ? "-" : Scalar(after.value("value", RegJson(""))));
    } else if (e.action == "register" || e.action == "import") {
      change = ShortDigest(Scalar(after.value("digest", RegJson("")))) +
               (after.contains("size") && after["size"].is_number_unsigned()
                    ? ", " + HumanSize(after["size"].get<uint64_t>())
                    : "");
    } else if (e.action == "describe") {
      change = Cut(Scalar(after.value("description", RegJson(""))), 40);
    } else if (e.action == "gc") {
      change = Scalar(after.value("pieces_removed", RegJson(0))) + " pieces";
    } else if (e.action == "delete") {
      change = "READY -> DELETED";
    }
    t.push_back({IsoUtc(e.time_ms), e.actor, e.action, e.model.empty() ? "-" : e.model,
                 e.version ? std::to_string(e.version) : "-", Cut(change, 60), Cut(e.reason, 60)});
  }
  PrintTable(t);
}

void PrintDiff(const VersionInfo& a, const VersionInfo& b, bool all) {
  const auto rows = Diff(a, b, all);
  if (rows.empty()) {
    std::cout << a.name << " versions " << a.version << " and " << b.version
              << " have the same params, metrics and metadata\n";
    return;
  }
  Table t = {{"", "", "version " + std::to_string(a.version), "version " + std::to_string(b.version)}};
  std::string last;
  for (const auto& r : rows) {
    t.push_back({r.section == last ? "" : r.section, r.key, Cut(r.a.empty() ? "-" : r.a, 60),
                 Cut(r.b.empty() ? "-" : r.b, 60)});
    last = r.section;
  }
  PrintTable(t);
}

}  // namespace ark::cli
