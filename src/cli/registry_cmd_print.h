// Printing for `ark registry` (registry_cmd.cc): the registry's records as
// tables for people (sizes with HumanSize, times ISO-8601 UTC) and as JSON
// for scripts (the same keys as the Python binding's dicts).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ark/registry/registry.h"

namespace ark::cli {

using RegJson = nlohmann::ordered_json;

// Prints `j` indented on stdout; returns kExitOk.
int PrintJson(const RegJson& j);

RegJson VersionJson(const registry::VersionInfo& v);
RegJson VersionsJson(const std::vector<registry::VersionInfo>& v);
RegJson ModelJson(const registry::ModelInfo& m);
RegJson ModelsJson(const std::vector<registry::ModelInfo>& m);
RegJson EventsJson(const std::vector<registry::AuditEvent>& e);
// Rows {section, key, a, b} of the values that differ (all with `all`).
RegJson DiffJson(const registry::VersionInfo& a, const registry::VersionInfo& b, bool all);

void PrintModels(const std::vector<registry::ModelInfo>& models);
void PrintModel(const registry::ModelInfo& m, const std::vector<registry::VersionInfo>& versions);
void PrintVersion(const registry::VersionInfo& v);
void PrintVersionTable(const std::vector<registry::VersionInfo>& versions, bool with_name = false);
void PrintHistory(const std::vector<registry::AuditEvent>& events);
void PrintDiff(const registry::VersionInfo& a, const registry::VersionInfo& b, bool all);

// "sha256:0123456789ab…"
std::string ShortDigest(const std::string& digest);
// "2025-03-01T14:02:11Z"
std::string IsoUtc(int64_t ms);

}  // namespace ark::cli
