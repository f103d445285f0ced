// Scanning a .skops file (scan.h): a zip whose schema.json describes the
// object tree as nested nodes {"__class__", "__module__", "__loader__",
// "content", ...}, arrays stored as .npy members. Only schema.json is read:
// the .npy members are loaded by skops with allow_pickle=False.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "ark/format/error.h"
#include "names.h"
#include "scan_skops.h"

namespace ark::interop {
namespace {

using Json = nlohmann::json;

// schema.json of real models is kilobytes to a few megabytes.
constexpr uint64_t kMaxSchemaBytes = uint64_t{64} << 20;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::string ReadSchema(std::string_view bytes) {
  std::unique_ptr<archive, ArchiveCloser> zip(archive_read_new());
  if (!zip) throw Error(ErrorCode::kIo, "skops: out of memory opening the zip");
  archive_read_support_format_zip(zip.get());
  if (archive_read_open_memory(zip.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    throw Error(ErrorCode::kBadManifest,
                std::string("skops: not a readable zip: ") + archive_error_string(zip.get()));
  }
  archive_entry* entry = nullptr;
  while (true) {
    const int status = archive_read_next_header(zip.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      const char* why = archive_error_string(zip.get());
      throw Error(ErrorCode::kBadManifest, std::string("skops: damaged zip: ") + (why ? why : "?"));
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr || std::string_view(name) != "schema.json") continue;
    std::string schema;
    char buffer[1 << 16];
    while (true) {
      const la_ssize_t n = archive_read_data(zip.get(), buffer, sizeof buffer);
      if (n < 0) {
        const char* why = archive_error_string(zip.get());
        throw Error(ErrorCode::kCodecError,
                    std::string("skops: schema.json does not decompress: ") + (why ? why : "?"));
      }
      if (n == 0) break;
      if (schema.size() + static_cast<uint64_t>(n) > kMaxSchemaBytes) {
        throw Error(ErrorCode::kLimitExceeded, "skops: schema.json is larger than 64 MiB");
      }
      schema.append(buffer, static_cast<size_t>(n));
    }
    return schema;
  }
  throw Error(ErrorCode::kBadManifest, "a zip without schema.json: not a skops file");
}

const std::string* StringAt(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

class SkopsScanner {
 public:
  void Walk(const Json& root) {
    std::vector<const Json*> stack{&root};
    while (!stack.empty()) {
      const Json* node = stack.back();
      stack.pop_back();
      if (node->is_object()) {
        Visit(*node);
        for (const auto& item : node->items()) stack.push_back(&item.value());
      } else if (node->is_array()) {
        for (const Json& item : *node) stack.push_back(&item);
      }
    }
  }

  ScanReport Finish() {
    ScanReport report;
    report.format = "skops";
    std::vector<std::pair<uint64_t, std::string>> events;
    uint64_t order = 0;
    for (auto& [name, global] : by_name_) {
      if (global.verdict == Verdict::kDangerous) {
        events.emplace_back(order++, "names " + name + " in schema.json (" + global.reason + ")");
      }
      report.globals.push_back(std::move(global));
    }
    FinishReport(&report, std::move(events));
    return report;
  }

 private:
  void Add(const std::string& module, const std::string& name, const std::string& loader,
           bool bound_method = false) {
    const std::string full = module + "." + name;
    ScannedGlobal& global = by_name_[full];
    if (global.name.empty()) {
      global.name = full;
      const NameVerdict verdict = ClassifyGlobal(module, name);
      global.verdict = verdict.verdict;
      global.reason = verdict.reason;
    }
    if (bound_method && global.verdict == Verdict::kSafe) {
      global.verdict = Verdict::kUnknown;
      global.reason = "a bound method (skops MethodNode): ark stores functions by name only";
    }
    if (!loader.empty() && !IsKnownSkopsLoader(loader) && global.verdict == Verdict::kSafe) {
      global.verdict = Verdict::kUnknown;
      global.reason = "loaded by '" + loader + "', a skops loader ark does not know";
    }
    global.called = global.called || loader == "ObjectNode" || loader == "ReduceNode";
  }

  void Visit(const Json& node) {
    const std::string* module = StringAt(node, "__module__");
    const std::string* cls = StringAt(node, "__class__");
    const std::string* loader_ptr = StringAt(node, "__loader__");
    const std::string loader = loader_ptr ? *loader_ptr : "";
    if (module && cls) Add(*module, *cls, loader);
    if (!module && !cls && loader_ptr && !IsKnownSkopsLoader(loader)) {
      ScannedGlobal& global = by_name_["<skops loader " + loader + ">"];
      global.name = "<skops loader " + loader + ">";
      global.verdict = Verdict::kUnknown;
      global.reason = "a skops loader ark does not know";
    }
    const auto content = node.find("content");
    if (content == node.end() || !content->is_object()) return;
    // skops >= 0.6 FunctionNode: {"module_path", "function"}.
    const std::string* module_path = StringAt(*content, "module_path");
    const std::string* function = StringAt(*content, "function");
    if (module_path && function) Add(*module_path, *function, "");
    if (loader == "MethodNode") {
      const std::string* func = StringAt(*content, "func");
      const auto obj = content->find("obj");
      if (func && obj != content->end() && obj->is_object()) {
        const std::string* obj_module = StringAt(*obj, "__module__");
        const std::string* obj_class = StringAt(*obj, "__class__");
        if (obj_module && obj_class) Add(*obj_module, *obj_class + "." + *func, "", true);
      }
    }
  }

  std::map<std::string, ScannedGlobal> by_name_;
};

}  // namespace

ScanReport ScanSkops(std::string_view bytes) {
  const std::string schema_text = ReadSchema(bytes);
  Json schema;
  try {
    schema = Json::parse(schema_text);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kBadManifest, std::string("skops: schema.json is not valid JSON: ") + e.what());
  }
  if (!schema.is_object()) throw Error(ErrorCode::kBadManifest, "skops: schema.json is not an object");
  SkopsScanner scanner;
  scanner.Walk(schema);
  ScanReport report = scanner.Finish();
  if (const auto protocol = schema.find("protocol"); protocol != schema.end() && protocol->is_number_integer()) {
    report.protocol = protocol->get<int>();
  }
  return report;
}

}  // namespace ark::interop
