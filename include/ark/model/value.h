// ark::model::Value: the object tree of a persisted model (docs/FORMAT.md §5).
//
// A Value is an immutable-once-built tree of typed nodes: the scalars, strings,
// bytes and containers of Python, object nodes (a qualified type name and a
// state value), references to blobs (arrays), and back-references to object
// nodes by id (shared objects and cycles). The Python front builds it when
// dumping and rebuilds Python objects from it when loading; the runtime
// compiles predictors from it.
//
// Values are cheap to copy (children are shared). Thread safety: const use
// from several threads is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ark::model {

enum class Kind {
  kNull,
  kBool,
  kInt,     // fits int64
  kBigInt,  // outside int64: decimal digits with optional '-'
  kFloat,   // any float64, NaN and ±inf included, bits preserved
  kString,  // UTF-8
  kBytes,
  kList,
  kTuple,
  kDict,    // ordered (key, value) pairs; keys are any Value
  kObject,  // qualified type name + state, optional id
  kArray,   // blob index
  kRef,     // id of an object node
};

const char* KindName(Kind kind);

class Value {
 public:
  Value();  // null

  static Value Null();
  static Value Bool(bool v);
  static Value Int(int64_t v);
  // REQUIRES: digits is an optional '-' then decimal digits, no leading zeros.
  // Throws ark::Error(kInvalidArgument) otherwise, and for values inside
  // int64 (those are Int: each integer has one encoding).
  static Value BigInt(std::string digits);
  static Value Float(double v);
  static Value String(std::string v);
  static Value Bytes(std::string v);
  static Value List(std::vector<Value> items);
  static Value Tuple(std::vector<Value> items);
  static Value Dict(std::vector<std::pair<Value, Value>> items);
  static Value Object(std::string type_name, Value state, std::optional<int64_t> id = std::nullopt);
  static Value Array(uint64_t blob_index);
  static Value Ref(int64_t id);

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }

  // Accessors. REQUIRES: the matching kind (checked; throws ark::Error
  // kInvalidArgument on a mismatch rather than misbehaving).
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;
  const std::string& as_string() const;   // kString, kBytes, kBigInt (digits)
  const std::vector<Value>& items() const;  // kList, kTuple
  const std::vector<std::pair<Value, Value>>& dict_items() const;
  const std::string& type_name() const;   // kObject
  const Value& state() const;             // kObject
  std::optional<int64_t> object_id() const;  // kObject
  uint64_t blob_index() const;            // kArray
  int64_t ref_id() const;                 // kRef

  // Looks up a string key of a kDict; nullptr when absent or not a dict.
  const Value* Find(const std::string& key) const;

  // Structural equality (floats compare by bits).
  bool operator==(const Value& other) const;

 private:
  struct Node;
  void Expect(Kind k) const;  // throws kInvalidArgument unless kind_ == k

  Kind kind_ = Kind::kNull;
  // Scalars (bool, int, float bits, blob index, ref id) live inline so that
  // big lists of numbers cost no allocation per item.
  uint64_t scalar_ = 0;
  std::shared_ptr<const Node> node_;  // strings, containers, objects; else null
};

// Encodes a tree as the manifest's JSON (FORMAT.md §5), in the one canonical
// spelling that FromJson accepts. Throws ark::Error(kInvalidArgument) for a
// tree no reader could accept: nesting beyond the format's depth limit, a
// string that is not UTF-8, a plain-string-keyed dict with a repeated key.
nlohmann::ordered_json ToJson(const Value& value);

// Decodes and validates a manifest tree: every tag well formed, `$array`
// below `blob_count`, `$ref` naming an id defined earlier or enclosing, ids
// unique, depth within the format limit. Throws ark::Error(kBadManifest)
// naming the JSON path of the first problem.
Value FromJson(const nlohmann::ordered_json& json, uint64_t blob_count);

// The same decoding, straight from the JSON text of a tree (such as
// format::Reader::root_json_text()), without building an ordered_json first.
// Also refuses what only text can hold: invalid JSON or UTF-8, duplicate keys,
// integers beyond 64 bits, non-finite number literals. Throws
// ark::Error(kBadManifest) naming the JSON path of the first problem.
Value FromJsonText(std::string_view json_text, uint64_t blob_count);

// The type name of a global reference node (docs/OBJECTS.md §6), whose state
// is a string "module:qualname".
inline constexpr std::string_view kGlobalTypeName = "ark.global";

// The names a tree asks a loader to resolve, for a trust audit.
struct TypeNames {
  std::vector<std::string> types;    // distinct object-node type names but kGlobalTypeName, sorted
  std::vector<std::string> globals;  // distinct string states of kGlobalTypeName nodes, sorted
  bool malformed_global = false;     // some kGlobalTypeName node's state is not a string
};

// Validates the tree in `json_text` exactly as FromJsonText does (same
// errors) and returns its names, without building any Value.
TypeNames CollectTypeNames(std::string_view json_text, uint64_t blob_count);

}  // namespace ark::model
