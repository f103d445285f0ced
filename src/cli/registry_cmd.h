// `ark registry ...`: the model registry from the command line, and the
// models:/ URIs that `ark predict` and `ark verify` accept.
//
// Contract: RunRegistry returns the process exit status and never throws;
// a failure is one line on stderr ("ark registry: ..."), or with --json a
// JSON error record on stdout. Read commands print tables for people and,
// with --json, the records of registry.h as JSON for scripts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ark::cli {

struct RegistryOptions {
  std::string registry;  // --registry; empty: $ARK_REGISTRY, else ./ark-registry
  std::string actor;     // --actor; empty: $ARK_ACTOR, else $USER
  bool json = false;
  // Positional and per-command values, shared by the subcommands.
  std::string name, file, alias, stage, uri, key_value, text, filter, order_by, out, reason;
  std::vector<std::string> tags;
  std::vector<int64_t> versions;
  int64_t version = 0, parent = 0, limit = 0, max_results = 100, offset = 0;
  std::string label, source_ref, data_fingerprint, description;
  bool archive_existing = false, all = false, remove = false;
  CLI::App* app = nullptr;      // `ark registry`
  CLI::App* command = nullptr;  // the registry subcommand that was parsed
};

// Adds `ark registry` and its subcommands to `app`, and the global option
// `--registry PATH` to `app` itself (read by ResolveModelPath too).
CLI::App* AddRegistryCommand(CLI::App& app, RegistryOptions& options);
int RunRegistry(RegistryOptions& options);

// For `ark predict` / `ark verify`: a models:/ URI becomes the path of a
// checked copy in the registry's cache (registry from --registry, else
// $ARK_REGISTRY, else ./ark-registry); any other text is returned as is.
// Throws ark::Error.
std::string ResolveModelPath(const std::string& path_or_uri);

}  // namespace ark::cli
