// `ark inspect FILE`: what a file holds, from the footer and manifest: a
// summary, the metadata, the object tree, and which parts of the model take
// the space; and whether the native runtime can run the model, found by
// compiling it (runtime::CheckSupport, which reads the model's arrays;
// --no-native skips it and then no blob is read, so it is instant on any size).
//
// Everything printed from the file goes through a sanitiser first: a hostile
// file must not be able to send escape sequences to the user's terminal.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "ark/model/value.h"
#include "ark/runtime/model.h"
#include "commands.h"

namespace ark::cli {
namespace {

using Json = nlohmann::ordered_json;
using model::Kind;
using model::Value;

// Worth a hint: below this, compression saves too little to matter.
constexpr uint64_t kCompressionHintBytes = 10'000'000;
// Longest inline rendering of a value before it gets its own lines.
constexpr size_t kInlineWidth = 60;
// Rows of the components table in the human view (the JSON has them all).
constexpr size_t kComponentRows = 10;

std::string JsonString(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// True when `s` can go to a terminal as is: no C0/C1 controls, valid UTF-8
// is not checked here because the manifest parser already required it.
bool IsPrintable(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return false;
  }
  return true;
}

std::string PrintableText(const std::string& s) { return IsPrintable(s) ? s : JsonString(s); }

bool IsIdentifier(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// One component of the model for the space table: an object node at the top
// or second level of the tree, and every blob referenced inside it.
struct Component {
  std::string path;
  std::string type;
  std::vector<uint64_t> blobs;
  uint64_t stored = 0;
  uint64_t raw = 0;
};

// One pass over the tree collecting what the views need: the type of each
// object id (for back-references), the first path referencing each blob, and
// the components.
class TreeIndex {
 public:
  TreeIndex(const Value& root, size_t blob_count) : blob_paths_(blob_count) {
    std::vector<size_t> active;
    Walk(root, "root", 0, active);
  }

  const std::unordered_map<int64_t, std::string>& id_types() const { return id_types_; }
  const std::vector<std::string>& blob_paths() const { return blob_paths_; }
  std::vector<Component>& components() { return components_; }

 private:
  static bool MayHoldReferences(const Value& v) {
    return v.is(Kind::kArray) || v.is(Kind::kList) || v.is(Kind::kTuple) || v.is(Kind::kDict) ||
           v.is(Kind::kObject);
  }

  void Walk(const Value& v, const std::string& path, int object_level,
            std::vector<size_t>& active) {
    // Paths cost a string each: build them only where something may need one.
    if (!MayHoldReferences(v)) return;
    switch (v.kind()) {
      case Kind::kArray: {
        const uint64_t index = v.blob_index();
        if (blob_paths_[index].empty()) blob_paths_[index] = path;
        for (size_t c : active) components_[c].blobs.push_back(index);
        return;
      }
      case Kind::kList:
      case Kind::kTuple:
        for (size_t i = 0; i < v.items().size(); ++i) {
          if (!MayHoldReferences(v.items()[i])) continue;
          Walk(v.items()[i], path + "[" + std::to_string(i) + "]", object_level, active);
        }
        return;
      case Kind::kDict:
        for (const auto& [key, value] : v.dict_items()) {
          Walk(key, path + "<key>", object_level, active);
          Walk(value, path + "[" + KeyRepr(key) + "]", object_level, active);
        }
        return;
      case Kind::kObject: {
        if (v.object_id()) id_types_[*v.object_id()] = v.type_name();
        const int level = object_level + 1;
        const bool is_component = level <= 2;
        if (is_component) {
          components_.push_back({path, v.type_name(), {}, 0, 0});
          active.push_back(components_.size() - 1);
        }
        // An object's state is its attributes: show them as such.
        const Value& state = v.state();
        if (state.is(Kind::kDict)) {
          for (const auto& [key, value] : state.dict_items()) {
            Walk(value, path + AttributeLabel(key), level, active);
          }
        } else {
          Walk(state, path + ".state", level, active);
        }
        if (is_component) active.pop_back();
        return;
      }
      default:
        return;
    }
  }

 public:
  // Python's spelling of a dict key in a path: 'name', 3, (1, 2).
  static std::string KeyRepr(const Value& key) {
    switch (key.kind()) {
      case Kind::kString:
        return IsPrintable(key.as_string()) && key.as_string().find('\'') == std::string::npos
                   ? "'" + key.as_string() + "'"
                   : JsonString(key.as_string());
      case Kind::kInt:
        return std::to_string(key.as_int());
      case Kind::kBigInt:
        return key.as_string();
      case Kind::kFloat:
        return FloatRepr(key.as_float());
      case Kind::kNull:
        return "None";
      case Kind::kBool:
        return key.as_bool() ? "True" : "False";
      default:
        return std::string("<") + model::KindName(key.kind()) + ">";
    }
  }

  static std::string AttributeLabel(const Value& key) {
    if (key.is(Kind::kString) && IsIdentifier(key.as_string())) return "." + key.as_string();
    return "[" + KeyRepr(key) + "]";
  }

 private:
  std::unordered_map<int64_t, std::string> id_types_;
  std::vector<std::string> blob_paths_;
  std::vector<Component> components_;
};

// Renders the object tree as an indented outline.
class TreeRenderer {
 public:
  // `support` (may be null: not checked) marks objects in the tree: the root
  // "[native ✓]" when the runtime runs the model, and each object of the
  // class it lacks "[native ✗]".
  TreeRenderer(const format::Reader& reader, const TreeIndex& index, const InspectOptions& options,
               const runtime::Support* support)
      : reader_(reader), index_(index), options_(options), support_(support) {}

  std::string Render(const Value& root) {
    Entry("", root, 1, 1);
    return out_.str();
  }

 private:
  bool Expandable(int level) const { return options_.depth <= 0 || level <= options_.depth; }
  size_t ItemLimit() const { return static_cast<size_t>(std::max(options_.items, 0)); }

  // A one-line rendering of scalars, references and small flat containers;
  // nullopt for what needs lines of its own.
  std::optional<std::string> Inline(const Value& v) const {
    switch (v.kind()) {
      case Kind::kNull:
        return "None";
      case Kind::kBool:
        return v.as_bool() ? "True" : "False";
      case Kind::kInt:
        return std::to_string(v.as_int());
      case Kind::kBigInt:
        return v.as_string();
      case Kind::kFloat:
        return FloatRepr(v.as_float());
      case Kind::kString: {
        const std::string& s = v.as_string();
        if (s.size() <= kInlineWidth) return JsonString(s);
        // Cut on a UTF-8 character boundary.
        size_t cut = kInlineWidth;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
        return JsonString(s.substr(0, cut)) + "… (" + WithThousands(s.size()) + " bytes)";
      }
      case Kind::kBytes:
        return "bytes[" + WithThousands(v.as_string().size()) + "]";
      case Kind::kArray:
        return ArrayLabel(v.blob_index());
      case Kind::kRef: {
        auto it = index_.id_types().find(v.ref_id());
        return "same object as #" + std::to_string(v.ref_id()) +
               (it != index_.id_types().end() ? " (" + it->second + ")" : "");
      }
      case Kind::kList:
      case Kind::kTuple:
        return FlatSequence(v, v.items().size());
      case Kind::kDict: {
        if (v.dict_items().empty()) return "{}";
        std::string text = "{";
        for (const auto& [key, value] : v.dict_items()) {
          if (!IsScalar(key) || !IsScalar(value)) return std::nullopt;
          if (text.size() > 1) text += ", ";
          text += *Inline(key) + ": " + *Inline(value);
          if (text.size() > kInlineWidth) return std::nullopt;
        }
        return text + "}";
      }
      case Kind::kObject:
        return std::nullopt;
    }
    return std::nullopt;
  }

  static bool IsScalar(const Value& v) {
    switch (v.kind()) {
      case Kind::kNull:
      case Kind::kBool:
      case Kind::kInt:
      case Kind::kBigInt:
      case Kind::kFloat:
        return true;
      case Kind::kString:
        return v.as_string().size() <= 24;
      default:
        return false;
    }
  }

  // "[1, 2, 3]" of the first `count` items when all are scalars and the text
  // stays short; a "…" marks items left out.
  std::optional<std::string> FlatSequence(const Value& v, size_t count) const {
    const auto& items = v.items();
    const bool tuple = v.is(Kind::kTuple);
    std::string text = tuple ? "(" : "[";
    for (size_t i = 0; i < count && i < items.size(); ++i) {
      if (!IsScalar(items[i])) return std::nullopt;
      if (i > 0) text += ", ";
      text += *Inline(items[i]);
      if (text.size() > kInlineWidth) return std::nullopt;
    }
    if (count < items.size()) text += ", …";
    if (tuple && items.size() == 1) text += ",";
    return text + (tuple ? ")" : "]");
  }

  std::string ArrayLabel(uint64_t index) const {
    const format::BlobInfo& blob = reader_.blobs()[index];
    std::string label = DtypeLabel(blob.dtype) + ShapeLabel(blob.shape) + ", " +
                        CodecLabel(blob.codec, blob.filter) + ", " + HumanSize(blob.stored_size);
    if (blob.codec.kind != format::CodecKind::kNone) {
      label += " (" + HumanSize(blob.raw_size) + " raw)";
    }
    return label + ", blob " + std::to_string(index);
  }

  void Line(int indent, const std::string& label, const std::string& text) {
    out_ << std::string(static_cast<size_t>(indent) * 2, ' ');
    if (!label.empty()) out_ << label << ": ";
    out_ << text << "\n";
  }

  void Entry(const std::string& label, const Value& v, int indent, int level) {
    if (auto text = Inline(v)) {
      Line(indent, label, *text);
      return;
    }
    const bool expand = Expandable(level);
    switch (v.kind()) {
      case Kind::kObject: {
        std::string head = v.type_name();
        if (v.object_id()) head += " #" + std::to_string(*v.object_id());
        if (support_ && support_->supported() && level == 1) head += "  [native ✓]";
        if (support_ && !support_->unsupported_type.empty() &&
            v.type_name() == support_->unsupported_type) {
          head += "  [native ✗]";
        }
        if (!expand) {
          Line(indent, label, head + " {…}");
          return;
        }
        Line(indent, label, head);
        const Value& state = v.state();
        if (state.is(Kind::kDict)) {
          // Attributes are what a user looks for: all of them, not a sample.
          for (const auto& [key, value] : state.dict_items()) {
            Entry(KeyLabel(key), value, indent + 1, level + 1);
          }
        } else {
          Entry("state", state, indent + 1, level + 1);
        }
        return;
      }
      case Kind::kList:
      case Kind::kTuple: {
        const auto& items = v.items();
        std::string head = std::string(v.is(Kind::kTuple) ? "tuple" : "list") + " of " +
                           WithThousands(items.size()) + (items.size() == 1 ? " item" : " items");
        if (auto sample = FlatSequence(v, ItemLimit())) {
          Line(indent, label, head + ": " + *sample);
          return;
        }
        if (!expand) {
          Line(indent, label, head);
          return;
        }
        Line(indent, label, head);
        const size_t shown = std::min(items.size(), ItemLimit());
        for (size_t i = 0; i < shown; ++i) {
          Entry("[" + std::to_string(i) + "]", items[i], indent + 1, level + 1);
        }
        if (shown < items.size()) {
          Line(indent + 1, "", "… " + WithThousands(items.size() - shown) + " more");
        }
        return;
      }
      case Kind::kDict: {
        const auto& pairs = v.dict_items();
        std::string head =
            "dict of " + WithThousands(pairs.size()) + (pairs.size() == 1 ? " key" : " keys");
        Line(indent, label, head);
        if (!expand) return;
        const size_t shown = std::min(pairs.size(), std::max<size_t>(ItemLimit(), 10));
        for (size_t i = 0; i < shown; ++i) {
          Entry(KeyLabel(pairs[i].first), pairs[i].second, indent + 1, level + 1);
        }
        if (shown < pairs.size()) {
          Line(indent + 1, "", "… " + WithThousands(pairs.size() - shown) + " more");
        }
        return;
      }
      default:
        Line(indent, label, "?");
    }
  }

  static std::string KeyLabel(const Value& key) {
    if (key.is(Kind::kString) && IsIdentifier(key.as_string())) return key.as_string();
    return "[" + TreeIndex::KeyRepr(key) + "]";
  }

  const format::Reader& reader_;
  const TreeIndex& index_;
  const InspectOptions& options_;
  const runtime::Support* support_;
  std::ostringstream out_;
};

// The one-line verdict on the native runtime.
std::string NativeLine(const runtime::Support& support) {
  if (support.supported()) return "supported: " + support.model->description();
  if (!support.unsupported_type.empty()) {
    return "not supported: " + support.unsupported_type +
           (support.detail.empty() ? "" : ": " + support.detail) + " (use ark.load in Python)";
  }
  return "not supported: " + support.message;
}

Json NativeJson(const runtime::Support& support) {
  Json j = Json::object();
  j["supported"] = support.supported();
  if (support.supported()) {
    j["description"] = support.model->description();
  } else {
    j["unsupported_class"] =
        support.unsupported_type.empty() ? Json(nullptr) : Json(support.unsupported_type);
    if (!support.detail.empty()) j["detail"] = support.detail;
    j["message"] = support.message;
  }
  return j;
}

struct Summary {
  uint64_t stored = 0;
  uint64_t raw = 0;
  uint64_t aux_count = 0;
  uint64_t aux_stored = 0;
  bool any_compressed = false;
  // Codec label -> blob count, in order of first use.
  std::vector<std::pair<std::string, uint64_t>> codecs;
};

Summary Summarize(const format::Reader& reader) {
  Summary s;
  for (const format::BlobInfo& blob : reader.blobs()) {
    s.stored += blob.stored_size;
    s.raw += blob.raw_size;
    if (blob.aux) {
      ++s.aux_count;
      s.aux_stored += blob.stored_size;
    }
    if (blob.codec.kind != format::CodecKind::kNone) s.any_compressed = true;
    const std::string label = CodecLabel(blob.codec, blob.filter);
    auto it = std::find_if(s.codecs.begin(), s.codecs.end(),
                           [&](const auto& entry) { return entry.first == label; });
    if (it == s.codecs.end()) {
      s.codecs.emplace_back(label, 1);
    } else {
      ++it->second;
    }
  }
  return s;
}

void FinishComponents(const format::Reader& reader, std::vector<Component>& components) {
  for (Component& c : components) {
    std::sort(c.blobs.begin(), c.blobs.end());
    c.blobs.erase(std::unique(c.blobs.begin(), c.blobs.end()), c.blobs.end());
    for (uint64_t index : c.blobs) {
      c.stored += reader.blobs()[index].stored_size;
      c.raw += reader.blobs()[index].raw_size;
    }
  }
  std::stable_sort(components.begin(), components.end(),
                   [](const Component& a, const Component& b) { return a.stored > b.stored; });
}

double PercentOf(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// Metadata as "key: value" lines, nested objects indented.
void PrintJsonOutline(std::ostream& out, const Json& j, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  auto scalar_text = [](const Json& v) {
    if (v.is_string()) return PrintableText(v.get_ref<const std::string&>());
    return v.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  auto is_flat = [](const Json& v) {
    if (!v.is_structured()) return true;
    if (v.empty()) return true;
    return v.is_array() &&
           std::none_of(v.begin(), v.end(), [](const Json& e) { return e.is_structured(); }) &&
           v.dump().size() <= 2 * kInlineWidth;
  };
  auto flat_text = [&](const Json& v) {
    if (!v.is_array()) return v.is_object() ? std::string("{}") : scalar_text(v);
    std::string text = "[";
    for (const Json& item : v) {
      if (text.size() > 1) text += ", ";
      text += item.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    return text + "]";
  };
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string key = PrintableText(it.key());
      if (is_flat(it.value())) {
        out << pad << key << ": " << flat_text(it.value()) << "\n";
      } else {
        out << pad << key << ":\n";
        PrintJsonOutline(out, it.value(), indent + 1);
      }
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      if (is_flat(j[i])) {
        out << pad << "- " << flat_text(j[i]) << "\n";
      } else {
        out << pad << "-\n";
        PrintJsonOutline(out, j[i], indent + 1);
      }
    }
  } else {
    out << pad << scalar_text(j) << "\n";
  }
}

std::string DescribeSection(const Json& j) {
  if (j.is_object())
    return "object with " + std::to_string(j.size()) + (j.size() == 1 ? " key" : " keys");
  if (j.is_array())
    return "list of " + std::to_string(j.size()) + (j.size() == 1 ? " item" : " items");
  return j.type_name();
}

void PrintHuman(const InspectOptions& options, const format::Reader& reader, const Value& root,
                TreeIndex& index, const Summary& summary, const runtime::Support* support) {
  std::ostream& out = std::cout;
  const auto& blobs = reader.blobs();
  const uint64_t file_size = reader.file_size();

  out << PrintableText(options.path) << "\n";
  auto field = [&](const char* name, const std::string& value) {
    out << "  " << name << std::string(14 - std::string(name).size(), ' ') << value << "\n";
  };
  field("format",
        std::to_string(reader.major_version()) + "." + std::to_string(reader.minor_version()));
  field("file size", HumanSize(file_size) + " (" + WithThousands(file_size) + " bytes)");
  field("model digest", PrintableText(reader.model_digest()));
  field("file digest", DigestLabel(reader.file_digest()));
  std::string blob_line = WithThousands(blobs.size());
  if (summary.aux_count > 0) blob_line += " (" + WithThousands(summary.aux_count) + " aux)";
  blob_line += ", stored " + HumanSize(summary.stored) + ", raw " + HumanSize(summary.raw);
  if (summary.any_compressed && summary.stored > 0) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, " (%.1fx smaller)",
                  static_cast<double>(summary.raw) / static_cast<double>(summary.stored));
    blob_line += ratio;
  }
  field("blobs", blob_line);
  if (!summary.codecs.empty()) {
    std::string codecs;
    for (const auto& [label, count] : summary.codecs) {
      if (!codecs.empty()) codecs += ", ";
      codecs += label + " (" + WithThousands(count) + (count == 1 ? " blob)" : " blobs)");
    }
    field("codecs", codecs);
  }
  field("manifest", HumanSize(reader.manifest_bytes().size()));
  if (support) field("native", PrintableText(NativeLine(*support)));

  const Json& sections = reader.sections();
  if (sections.contains("metadata")) {
    out << "\nMetadata\n";
    PrintJsonOutline(out, sections["metadata"], 1);
  }
  bool other_sections = false;
  for (auto it = sections.begin(); it != sections.end(); ++it) {
    if (it.key() == "metadata") continue;
    if (!other_sections) out << "\nSections\n";
    other_sections = true;
    out << "  " << PrintableText(it.key()) << ": " << DescribeSection(it.value()) << "\n";
  }

  out << "\nTree\n";
  out << TreeRenderer(reader, index, options, support).Render(root);

  // The space table: components, plus what lies outside the tree.
  struct Row {
    std::string name;
    uint64_t stored;
  };
  std::vector<Row> rows;
  for (const Component& c : index.components()) {
    if (c.stored > 0) rows.push_back({c.path + "  " + c.type, c.stored});
  }
  if (summary.aux_stored > 0) rows.push_back({"(aux blobs: validation data)", summary.aux_stored});
  rows.push_back({"(manifest)", reader.manifest_bytes().size()});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.stored > b.stored; });
  out << "\nLargest components (stored bytes, % of file)\n";
  for (size_t i = 0; i < rows.size() && i < kComponentRows; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "  %10s %6.1f%%  ", HumanSize(rows[i].stored).c_str(),
                  PercentOf(rows[i].stored, file_size));
    out << line << rows[i].name << "\n";
  }
  if (rows.size() > kComponentRows) {
    uint64_t rest = 0;
    for (size_t i = kComponentRows; i < rows.size(); ++i) rest += rows[i].stored;
    out << "  … " << WithThousands(rows.size() - kComponentRows) << " more, " << HumanSize(rest)
        << " together (see --json)\n";
  }

  if (!summary.any_compressed && file_size > kCompressionHintBytes) {
    out << "\nhint: no blob is compressed. Writing this model with a codec (zstd is fast)\n"
           "      often makes it several times smaller, at the cost of zero-copy mmap loading.\n";
  }
}

void PrintJson(const InspectOptions& options, const format::Reader& reader, TreeIndex& index,
               const Summary& summary, const runtime::Support* support) {
  const uint64_t file_size = reader.file_size();
  Json out = Json::object();
  out["file"] = options.path;
  out["format_version"] = {reader.major_version(), reader.minor_version()};
  out["file_size"] = file_size;
  out["model_digest"] = reader.model_digest();
  out["file_digest"] = DigestLabel(reader.file_digest());
  out["manifest_size"] = reader.manifest_bytes().size();

  Json codecs = Json::object();
  for (const auto& [label, count] : summary.codecs) codecs[label] = count;
  out["summary"] = {{"blob_count", reader.blobs().size()},  {"aux_blob_count", summary.aux_count},
                    {"stored_bytes", summary.stored},       {"raw_bytes", summary.raw},
                    {"compressed", summary.any_compressed}, {"codecs", codecs}};

  Json blobs = Json::array();
  for (size_t i = 0; i < reader.blobs().size(); ++i) {
    const format::BlobInfo& blob = reader.blobs()[i];
    Json entry = Json::object();
    entry["index"] = i;
    entry["offset"] = blob.offset;
    entry["stored_size"] = blob.stored_size;
    entry["raw_size"] = blob.raw_size;
    entry["dtype"] = blob.dtype.descr;
    entry["dtype_name"] = DtypeLabel(blob.dtype);
    entry["shape"] = blob.shape;
    entry["codec"] = format::CodecName(blob.codec.kind);
    if (blob.codec.kind != format::CodecKind::kNone) entry["level"] = blob.codec.level;
    entry["filter"] = blob.filter == format::Filter::kShuffle ? "shuffle" : "none";
    entry["sha256"] = format::ToHex(blob.sha256);
    entry["aux"] = blob.aux;
    const std::string& path = index.blob_paths()[i];
    entry["path"] = path.empty() ? Json(nullptr) : Json(path);
    blobs.push_back(std::move(entry));
  }
  out["blobs"] = std::move(blobs);
  out["sections"] = reader.sections();
  out["native_runtime"] = support ? NativeJson(*support) : Json(nullptr);

  Json components = Json::array();
  for (const Component& c : index.components()) {
    components.push_back({{"path", c.path},
                          {"type", c.type},
                          {"stored_bytes", c.stored},
                          {"raw_bytes", c.raw},
                          {"blob_count", c.blobs.size()},
                          {"percent_of_file", PercentOf(c.stored, file_size)}});
  }
  out["components"] = std::move(components);
  out["root"] = reader.root();
  std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

constexpr char kInspectHelp[] =
    "Shows an .ark file from its manifest, and runs no code from the file:\n"
    "  - a summary: format version, size, model and file digests, blob count,\n"
    "    stored vs raw bytes, codecs, and whether the native runtime (`ark\n"
    "    predict`) can run the model, found by compiling it: this reads the\n"
    "    model's arrays; --no-native skips it, and then no array is read;\n"
    "  - the metadata (versions, parameters, metrics) when the file has some;\n"
    "  - the object tree: each object by its Python type with its attributes\n"
    "    (the root marked [native ✓] when the runtime runs the model, the class\n"
    "    it lacks marked [native ✗]),\n"
    "    arrays as dtype[shape], codec and size, long lists shortened;\n"
    "  - the largest components: the bytes of the arrays inside each top-level\n"
    "    and second-level object (e.g. each step of a Pipeline).\n"
    "Sizes use decimal units (1 MB = 1,000,000 bytes).\n"
    "To check the content's checksums as well, use 'ark verify'.";

}  // namespace

CLI::App* AddInspectCommand(CLI::App& app, InspectOptions& options) {
  CLI::App* cmd = app.add_subcommand("inspect", "Show what a file holds and what takes the space");
  cmd->add_option("file", options.path, "The .ark file to inspect")->required()->type_name("FILE");
  cmd->add_flag("--json", options.json,
                "Print one JSON document instead: summary, blobs, sections, native_runtime,\n"
                "components and the tree exactly as stored in the manifest");
  cmd->add_flag("--requirements", options.requirements,
                "Print only the environment that saved the model (metadata.environment)\n"
                "as a requirements.txt, to recreate it: pip install -r <(ark inspect ...)");
  cmd->add_flag("--no-native", options.no_native,
                "Do not compile the model to tell whether the native runtime supports it\n"
                "(then no array is read)");
  cmd->add_option("--items", options.items,
                  "Items shown of each long list, tuple or dict in the tree")
      ->default_val(3)
      ->type_name("N")
      ->check(CLI::Range(0, 1'000'000).description(""));
  cmd->add_option("--depth", options.depth, "Levels of the tree to expand (0: all)")
      ->default_val(0)
      ->type_name("N")
      ->check(CLI::Range(0, 1'000).description(""));
  cmd->footer(std::string(kInspectHelp) +
              "\n\nExamples:\n"
              "  ark inspect model.ark\n"
              "  ark inspect model.ark --depth 2       just the outline\n"
              "  ark inspect model.ark --items 10      show more list items\n"
              "  ark inspect model.ark --requirements > requirements.txt\n"
              "  ark inspect model.ark --json | jq '.components[:5]'\n\n" +
              kExitCodeHelp);
  return cmd;
}

// The metadata's environment lock ("name==version" strings written by
// ark.dump) as requirements.txt text. Entries are printed only when they look
// like requirement lines, so a hostile file cannot smuggle other text through.
int PrintRequirements(const std::string& path, const format::Reader& reader) {
  const auto& sections = reader.sections();
  const auto metadata = sections.find("metadata");
  if (metadata == sections.end() || !metadata->is_object() || !metadata->contains("environment") ||
      !metadata->at("environment").is_array()) {
    std::cerr << "ark inspect: " << path
              << ": no environment was recorded (files written by ark.dump record one)\n";
    return kExitError;
  }
  std::cout << "# environment that saved " << path << "\n";
  for (const auto& entry : metadata->at("environment")) {
    if (!entry.is_string()) continue;
    const std::string& line = entry.get_ref<const std::string&>();
    bool plain = !line.empty() && line.size() < 256;
    for (char c : line) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                      c == '_' || c == '=' || c == '+' || c == '!' || c == '<' || c == '>';
      plain = plain && ok;
    }
    if (plain) std::cout << line << "\n";
  }
  return kExitOk;
}

int RunInspect(const InspectOptions& options) {
  try {
    auto reader = OpenArk(options.path, /*verify_on_access=*/true);
    if (options.requirements) return PrintRequirements(options.path, *reader);
    const Value root = model::FromJsonText(reader->root_json_text(), reader->blobs().size());
    TreeIndex index(root, reader->blobs().size());
    FinishComponents(*reader, index.components());
    const Summary summary = Summarize(*reader);
    std::optional<runtime::Support> support;
    if (!options.no_native) {
      runtime::ModelOptions model_options;
      model_options.threads = 1;
      support = runtime::CheckSupport(reader, model_options);
    }
    const runtime::Support* native = support ? &*support : nullptr;
    if (options.json) {
      PrintJson(options, *reader, index, summary, native);
    } else {
      PrintHuman(options, *reader, root, index, summary, native);
    }
    return kExitOk;
  } catch (const Error& e) {
    std::cerr << "ark inspect: " << DescribeError(options.path, e.what()) << "\n";
    return ExitCodeFor(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "ark inspect: " << options.path << ": out of memory\n";
    return kExitError;
  }
}

}  // namespace ark::cli
