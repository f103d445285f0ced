// `ark registry ...` (registry_cmd.h): the subcommands, their help, and
// dispatch. Printing lives in registry_cmd_print.cc.
#include "registry_cmd.h"

#include <cstdlib>
#include <iostream>

#include "ark/format/error.h"
#include "ark/registry/registry.h"
#include "commands.h"
#include "registry_cmd_print.h"

namespace ark::cli {
namespace {

using registry::Registry;

const std::string* g_registry_path = nullptr;  // the global --registry, once added

constexpr char kRegistryFooter[] =
    "\nThe registry is one folder (SQLite database + content-addressed pieces):\n"
    "--registry PATH, else $ARK_REGISTRY, else ./ark-registry. Every change is\n"
    "recorded in an append-only audit log with --actor (else $ARK_ACTOR, $USER).\n"
    "\nModel URIs: models:/NAME/VERSION  models:/NAME@ALIAS  models:/NAME/STAGE\n"
    "            models:/NAME/latest   (also accepted by 'ark predict' and 'ark verify')\n"
    "\nExamples:\n"
    "  ark registry init ./models\n"
    "  ark registry register fraud model.ark --tag team=risk --description \"first cut\"\n"
    "  ark registry alias fraud production 3 --reason \"beats v2 on f1\"\n"
    "  ark registry stage fraud 3 Production --archive-existing\n"
    "  ark registry versions fraud\n"
    "  ark registry history fraud\n"
    "  ark registry search \"metrics.f1 > 0.85 and tags.team = 'risk'\" --order-by \"metrics.f1 DESC\"\n"
    "  ark registry diff fraud 2 3\n"
    "  ark registry get models:/fraud@production -o out.ark\n"
    "  ark registry delete fraud 1 && ark registry gc\n"
    "  ark registry export fraud bundle.tar && ark registry import bundle.tar\n"
    "  ark predict models:/fraud@production --input rows.csv\n";

constexpr char kSearchFooter[] =
    "\nFilter: comparisons joined by and / or, with parentheses.\n"
    "  fields     name version label stage status alias created created_by source_ref\n"
    "             data_fingerprint parent_version size description digest\n"
    "             tags.<key>  metrics.<key>  metadata.<dotted.path>\n"
    "  operators  = != < <= > >= LIKE ILIKE NOT LIKE IN (...) NOT IN (...)\n"
    "  values     'single-quoted text' ('' for a quote), numbers; created also\n"
    "             takes a date such as '2025-03-01'\n"
    "Order: comma-separated fields, each ASC (default) or DESC; missing values last.\n"
    "\nExamples:\n"
    "  ark registry search \"metrics.f1 > 0.85 and tags.team = 'risk'\" --order-by \"metrics.f1 DESC\"\n"
    "  ark registry search \"stage = 'Production'\"\n"
    "  ark registry search \"metadata.estimator.type LIKE '%Forest%'\" --max-results 10\n"
    "  ark registry search \"created >= '2025-01-01' and alias IN ('production', 'canary')\" --json\n";

int64_t ParseVersionArg(const std::string& text, const char* what) {
  if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " must be a version number, not '" + text + "'");
  }
  return std::stoll(text);
}

std::map<std::string, std::string> ParseTags(const std::vector<std::string>& items) {
  std::map<std::string, std::string> tags;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::kInvalidArgument, "tag '" + item + "' is not KEY=VALUE");
    }
    tags[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return tags;
}

std::string RegistryPath(const RegistryOptions& o) {
  return o.registry.empty() ? Registry::DefaultPath() : o.registry;
}

// A URI, or NAME with an optional VERSION argument.
registry::VersionInfo ResolveTarget(Registry& reg, const std::string& name_or_uri, int64_t version) {
  if (registry::IsModelUri(name_or_uri)) return reg.Resolve(registry::ParseModelUri(name_or_uri));
  registry::ModelUri uri;
  uri.name = name_or_uri;
  uri.version = version;
  uri.latest = version == 0;
  return reg.Resolve(uri);
}

CLI::App* Sub(CLI::App* parent, const char* name, const char* help) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  return cmd;
}

void AddJson(CLI::App* cmd, RegistryOptions& o) {
  cmd->add_flag("--json", o.json, "Print JSON for scripts");
}

void AddReason(CLI::App* cmd, RegistryOptions& o) {
  cmd->add_option("-r,--reason", o.reason, "Why (kept in the audit log)");
}

int Run(RegistryOptions& o) {
  const std::string cmd = o.command->get_name();
  const std::string path = RegistryPath(o);
  if (cmd == "init") {
    const std::string target = o.file.empty() ? path : o.file;
    Registry::Open(target, /*create=*/true);
    std::cout << "registry ready at " << target << "\n";
    return kExitOk;
  }
  auto reg = Registry::Open(path);
  if (cmd == "register") {
    registry::RegisterOptions ro;
    ro.description = o.description;
    ro.tags = ParseTags(o.tags);
    ro.label = o.label;
    ro.source_ref = o.source_ref;
    ro.data_fingerprint = o.data_fingerprint;
    ro.parent_version = o.parent;
    ro.actor = o.actor;
    const auto v = reg->Register(o.name, o.file, ro);
    if (o.json) return PrintJson(VersionJson(v));
    std::cout << v.name << " version " << v.version << " (" << ShortDigest(v.digest) << ", "
              << HumanSize(v.size) << ", " << HumanSize(v.new_bytes) << " new)\n";
    return kExitOk;
  }
  if (cmd == "list") {
    const auto models = reg->ListModels();
    if (o.json) return PrintJson(ModelsJson(models));
    PrintModels(models);
    return kExitOk;
  }
  if (cmd == "show") {
    if (!o.uri.empty() || registry::IsModelUri(o.name)) {
      const auto v = ResolveTarget(*reg, o.name, o.uri.empty() ? 0 : ParseVersionArg(o.uri, "VERSION"));
      if (o.json) return PrintJson(VersionJson(v));
      PrintVersion(v);
      return kExitOk;
    }
    const auto m = reg->GetModel(o.name);
    const auto versions = reg->ListVersions(o.name, false);
    if (o.json) {
      auto j = ModelJson(m);
      j["versions"] = VersionsJson(versions);
      return PrintJson(j);
    }
    PrintModel(m, versions);
    return kExitOk;
  }
  if (cmd == "versions") {
    const auto versions = reg->ListVersions(o.name, o.all);
    if (o.json) return PrintJson(VersionsJson(versions));
    PrintVersionTable(versions);
    return kExitOk;
  }
  if (cmd == "alias") {
    if (o.remove) {
      reg->DeleteAlias(o.name, o.alias, o.reason, o.actor);
      std::cout << o.name << ": alias '" << o.alias << "' removed\n";
      return kExitOk;
    }
    if (o.uri.empty()) throw Error(ErrorCode::kInvalidArgument, "give the VERSION the alias points at (or --delete)");
    const int64_t version = ParseVersionArg(o.uri, "VERSION");
    int64_t before = 0;
    const auto m = reg->GetModel(o.name);
    if (auto it = m.aliases.find(o.alias); it != m.aliases.end()) before = it->second;
    reg->SetAlias(o.name, o.alias, version, o.reason, o.actor);
    std::cout << o.name << "@" << o.alias << " -> version " << version;
    if (before != 0 && before != version) std::cout << " (was " << before << ")";
    std::cout << "\n";
    return kExitOk;
  }
  if (cmd == "stage") {
    const int64_t version = ParseVersionArg(o.uri, "VERSION");
    const std::string before = reg->GetVersion(o.name, version).stage;
    reg->SetStage(o.name, version, o.stage, o.archive_existing, o.reason, o.actor);
    const auto after = reg->GetVersion(o.name, version);
    std::cout << o.name << " version " << version << ": " << before << " -> " << after.stage << "\n";
    return kExitOk;
  }
  if (cmd == "tag") {
    const int64_t version = o.uri.empty() ? 0 : ParseVersionArg(o.uri, "VERSION");
    const std::string where = version == 0 ? o.name : o.name + " version " + std::to_string(version);
    if (o.remove) {
      reg->DeleteTag(o.name, version, o.key_value, o.actor);
      std::cout << where << ": tag '" << o.key_value << "' removed\n";
      return kExitOk;
    }
    const auto tags = ParseTags({o.key_value});
    reg->SetTag(o.name, version, tags.begin()->first, tags.begin()->second, o.actor);
    std::cout << where << ": " << tags.begin()->first << "=" << tags.begin()->second << "\n";
    return kExitOk;
  }
  if (cmd == "describe") {
    reg->SetDescription(o.name, o.version, o.text, o.actor);
    std::cout << (o.version == 0 ? o.name : o.name + " version " + std::to_string(o.version))
              << ": description set\n";
    return kExitOk;
  }
  if (cmd == "history") {
    const auto events = reg->History(o.name, o.limit);
    if (o.json) return PrintJson(EventsJson(events));
    PrintHistory(events);
    return kExitOk;
  }
  if (cmd == "search") {
    registry::SearchOptions so;
    so.filter = o.filter;
    so.order_by = o.order_by;
    so.max_results = o.max_results;
    so.offset = o.offset;
    so.include_deleted = o.all;
    const auto versions = reg->Search(so);
    if (o.json) return PrintJson(VersionsJson(versions));
    PrintVersionTable(versions, /*with_name=*/true);
    return kExitOk;
  }
  if (cmd == "diff") {
    const auto a = reg->GetVersion(o.name, ParseVersionArg(o.alias, "VERSION_A"));
    const auto b = reg->GetVersion(o.name, ParseVersionArg(o.uri, "VERSION_B"));
    if (o.json) return PrintJson(DiffJson(a, b, o.all));
    PrintDiff(a, b, o.all);
    return kExitOk;
  }
  if (cmd == "get") {
    const auto v = ResolveTarget(*reg, o.name, o.uri.empty() ? 0 : ParseVersionArg(o.uri, "VERSION"));
    const std::string out = o.out.empty() ? v.name + "-" + std::to_string(v.version) + ".ark" : o.out;
    reg->Get(v.name, v.version, out);
    std::cout << v.name << " version " << v.version << " -> " << out << " (" << HumanSize(v.size)
              << ", " << ShortDigest(v.digest) << ", checked)\n";
    return kExitOk;
  }
  if (cmd == "delete") {
    const int64_t version = o.uri.empty() ? 0 : ParseVersionArg(o.uri, "VERSION");
    reg->Delete(o.name, version, o.reason, o.actor);
    std::cout << (version == 0 ? "model " + o.name : o.name + " version " + std::to_string(version))
              << " deleted; run 'ark registry gc' to reclaim its storage\n";
    return kExitOk;
  }
  if (cmd == "gc") {
    const auto r = reg->Gc();
    if (o.json) return PrintJson({{"pieces_removed", r.pieces_removed}, {"bytes_freed", r.bytes_freed}});
    std::cout << "gc: removed " << r.pieces_removed << (r.pieces_removed == 1 ? " piece" : " pieces")
              << ", freed " << HumanSize(r.bytes_freed) << "\n";
    return kExitOk;
  }
  if (cmd == "export") {
    reg->Export(o.name, o.versions, o.file);
    std::cout << "exported " << o.name << " to " << o.file << "\n";
    return kExitOk;
  }
  if (cmd == "import") {
    const auto made = reg->Import(o.file, o.actor);
    if (o.json) return PrintJson(VersionsJson(made));
    for (const auto& v : made) {
      const auto it = v.tags.find("ark.source_version");
      const std::string was = it == v.tags.end() ? "" : it->second;
      std::cout << "imported " << v.name << " version " << v.version;
      if (!was.empty() && was != std::to_string(v.version)) {
        std::cout << " (version " << was << " in the bundle; the number was taken here)";
      }
      std::cout << " (" << HumanSize(v.size) << ", " << HumanSize(v.new_bytes) << " new)\n";
    }
    return kExitOk;
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown registry command " + cmd);
}

}  // namespace

CLI::App* AddRegistryCommand(CLI::App& app, RegistryOptions& o) {
  app.add_option("--registry", o.registry,
                 "Registry folder for 'registry' commands and models:/ URIs "
                 "(default: $ARK_REGISTRY, else ./ark-registry)")
      ->type_name("PATH");
  g_registry_path = &o.registry;
  CLI::App* reg = app.add_subcommand("registry", "Versioned model registry: register, alias, stage, search, audit");
  o.app = reg;
  reg->require_subcommand(1);
  reg->fallthrough();  // --registry may follow the subcommand
  reg->add_option("--actor", o.actor, "Who is acting, for the audit log (default: $ARK_ACTOR, else $USER)");
  reg->footer(kRegistryFooter);

  CLI::App* c = Sub(reg, "init", "Create a registry folder");
  c->add_option("path", o.file, "Folder (default: --registry, $ARK_REGISTRY or ./ark-registry)");

  c = Sub(reg, "register", "Register an .ark file as the next version of a model");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("file", o.file, "The .ark file (checked whole first)")->required();
  c->add_option("-t,--tag", o.tags, "KEY=VALUE (repeatable)");
  c->add_option("-d,--description", o.description, "What this version is");
  c->add_option("--label", o.label, "A semantic-version label, e.g. 1.4.0");
  c->add_option("--source-ref", o.source_ref, "Code that made it: git commit, script hash, ...");
  c->add_option("--data-fingerprint", o.data_fingerprint,
                "Training-data fingerprint (default: the one in the file's metadata)");
  c->add_option("--parent", o.parent, "The version this one derives from");
  AddJson(c, o);
  c->footer("\nExamples:\n  ark registry register fraud model.ark --tag team=risk --label 1.2.0\n");

  c = Sub(reg, "list", "List registered models");
  AddJson(c, o);

  c = Sub(reg, "show", "Show a model (its versions) or one version");
  c->add_option("name", o.name, "Model name or models:/ URI")->required();
  c->add_option("version", o.uri, "A version number (shows that version)");
  AddJson(c, o);
  c->footer("\nExamples:\n  ark registry show fraud\n  ark registry show fraud 3\n"
            "  ark registry show models:/fraud@production --json\n");

  c = Sub(reg, "versions", "List a model's versions");
  c->add_option("name", o.name, "Model name")->required();
  c->add_flag("-a,--all", o.all, "Include deleted versions");
  AddJson(c, o);

  c = Sub(reg, "alias", "Point an alias at a version (a rollback is a move back)");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("alias", o.alias, "Alias, e.g. production, champion")->required();
  c->add_option("version", o.uri, "Version number");
  c->add_flag("--delete", o.remove, "Remove the alias instead");
  AddReason(c, o);
  c->footer("\nExamples:\n  ark registry alias fraud production 3 --reason \"beats v2 on f1\"\n"
            "  ark registry alias fraud production 2 --reason \"rollback: v3 drifts\"\n"
            "  ark registry alias fraud canary --delete\n");

  c = Sub(reg, "stage", "Move a version to a stage: None, Staging, Production, Archived");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("version", o.uri, "Version number")->required();
  c->add_option("stage", o.stage, "None, Staging, Production or Archived")->required();
  c->add_flag("--archive-existing", o.archive_existing,
              "Move the versions that held this stage to Archived");
  AddReason(c, o);

  c = Sub(reg, "tag", "Set (or --delete) a tag on a model or a version");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("tag", o.key_value, "KEY=VALUE (with --delete: KEY)")->required();
  c->add_option("-v,--version", o.uri, "A version (default: the model)");
  c->add_flag("--delete", o.remove, "Remove the tag");
  c->footer("\nExamples:\n  ark registry tag fraud owner=risk-team\n  ark registry tag fraud validated=yes -v 3\n"
            "  ark registry tag fraud validated --delete -v 3\n");

  c = Sub(reg, "describe", "Set the description of a model or a version");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("text", o.text, "The description")->required();
  c->add_option("-v,--version", o.version, "A version (default: the model)");

  c = Sub(reg, "history", "The audit log: every registration, alias move, stage and tag change");
  c->add_option("name", o.name, "Model name (default: every model)");
  c->add_option("-n,--limit", o.limit, "Only the last N events");
  AddJson(c, o);

  c = Sub(reg, "search", "Find versions with a filter");
  c->add_option("filter", o.filter, "e.g. \"metrics.f1 > 0.85 and tags.team = 'risk'\"");
  c->add_option("--order-by", o.order_by, "e.g. \"metrics.f1 DESC, version\"");
  c->add_option("--max-results", o.max_results, "Page size")->capture_default_str();
  c->add_option("--offset", o.offset, "Skip this many results")->capture_default_str();
  c->add_flag("-a,--all", o.all, "Include deleted versions");
  AddJson(c, o);
  c->footer(kSearchFooter);

  c = Sub(reg, "diff", "Compare two versions: params, metrics, metadata, versions");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("a", o.alias, "First version")->required();
  c->add_option("b", o.uri, "Second version")->required();
  c->add_flag("-a,--all", o.all, "Show equal values too");
  AddJson(c, o);

  c = Sub(reg, "get", "Write a version's .ark file (byte-identical, digest checked)");
  c->add_option("model", o.name, "models:/ URI, or a model name")->required();
  c->add_option("version", o.uri, "With a name: the version (default: latest)");
  c->add_option("-o,--output", o.out, "Where to write (default: NAME-VERSION.ark)");
  c->footer("\nExamples:\n  ark registry get models:/fraud@production -o fraud.ark\n"
            "  ark registry get fraud 3 -o v3.ark\n");

  c = Sub(reg, "delete", "Delete a version (or, without VERSION, the whole model)");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("version", o.uri, "Version number");
  AddReason(c, o);

  c = Sub(reg, "gc", "Reclaim the storage of deleted versions");
  AddJson(c, o);

  c = Sub(reg, "export", "Write a model's versions to a tar bundle");
  c->add_option("name", o.name, "Model name")->required();
  c->add_option("bundle", o.file, "The .tar to write")->required();
  c->add_option("-v,--version", o.versions, "Versions to export (repeatable; default: all live)");

  c = Sub(reg, "import", "Import a tar bundle (every artifact checked first)");
  c->add_option("bundle", o.file, "The .tar to read")->required();
  AddJson(c, o);
  return reg;
}

int RunRegistry(RegistryOptions& o) {
  if (o.command == nullptr && o.app != nullptr) {
    for (CLI::App* sub : o.app->get_subcommands()) {
      if (sub->parsed()) o.command = sub;
    }
  }
  if (o.command == nullptr) {
    std::cerr << "ark registry: no command given; run 'ark registry --help'\n";
    return kExitUsage;
  }
  try {
    return Run(o);
  } catch (const Error& e) {
    if (o.json) {
      PrintJson({{"ok", false},
                 {"error", {{"code", ErrorCodeName(e.code())}, {"message", e.what()}}}});
    } else {
      std::cerr << "ark registry: " << e.what() << "\n";
    }
    return ExitCodeFor(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "ark registry: out of memory\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "ark registry: " << e.what() << "\n";
    return kExitError;
  }
}

std::string ResolveModelPath(const std::string& path_or_uri) {
  if (!registry::IsModelUri(path_or_uri)) return path_or_uri;
  const std::string path =
      (g_registry_path != nullptr && !g_registry_path->empty()) ? *g_registry_path : Registry::DefaultPath();
  auto reg = Registry::Open(path);
  const auto v = reg->Resolve(registry::ParseModelUri(path_or_uri));
  return reg->Materialize(v.name, v.version);
}

}  // namespace ark::cli
