#include "object_tree.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "ark/format/error.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

[[noreturn]] void Bad(const std::string& what) { throw Error(ErrorCode::kBadManifest, what); }

// A simple numeric dtype: kind 'f', 'i', 'u', 'b' and item size.
struct Simple {
  char kind;
  size_t size;
};

bool ParseSimple(const nlohmann::ordered_json& descr, Simple* out) {
  if (!descr.is_string()) return false;
  const std::string s = descr.get<std::string>();
  if (s.size() < 3 || (s[0] != '<' && s[0] != '|')) return false;
  const char kind = s[1];
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') return false;
  const std::string digits = s.substr(2);
  if (digits != "1" && digits != "2" && digits != "4" && digits != "8") return false;
  out->kind = kind;
  out->size = static_cast<size_t>(digits[0] - '0');
  return kind != 'f' || out->size >= 4;
}

double ReadAsDouble(const std::byte* p, Simple t) {
  switch (t.kind) {
    case 'f':
      if (t.size == 8) {
        double v;
        std::memcpy(&v, p, 8);
        return v;
      } else {
        float v;
        std::memcpy(&v, p, 4);
        return v;
      }
    case 'b':
      return static_cast<uint8_t>(*p) != 0 ? 1.0 : 0.0;
    case 'i': {
      int64_t v = 0;
      switch (t.size) {
        case 1: {
          int8_t x;
          std::memcpy(&x, p, 1);
          v = x;
          break;
        }
        case 2: {
          int16_t x;
          std::memcpy(&x, p, 2);
          v = x;
          break;
        }
        case 4: {
          int32_t x;
          std::memcpy(&x, p, 4);
          v = x;
          break;
        }
        default:
          std::memcpy(&v, p, 8);
      }
      return static_cast<double>(v);
    }
    default: {
      uint64_t v = 0;
      switch (t.size) {
        case 1: {
          uint8_t x;
          std::memcpy(&x, p, 1);
          v = x;
          break;
        }
        case 2: {
          uint16_t x;
          std::memcpy(&x, p, 2);
          v = x;
          break;
        }
        case 4: {
          uint32_t x;
          std::memcpy(&x, p, 4);
          v = x;
          break;
        }
        default:
          std::memcpy(&v, p, 8);
      }
      return static_cast<double>(v);
    }
  }
}

int64_t ReadAsInt(const std::byte* p, Simple t, const std::string& what) {
  if (t.kind == 'f') {
    const double d = ReadAsDouble(p, t);
    if (!(d >= -9.2e18 && d <= 9.2e18) || d != std::trunc(d)) Bad(what + ": not an integer");
    return static_cast<int64_t>(d);
  }
  if (t.kind == 'u' && t.size == 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if (v > static_cast<uint64_t>(INT64_MAX)) Bad(what + ": integer out of range");
    return static_cast<int64_t>(v);
  }
  if (t.kind == 'i' && t.size == 8) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  return static_cast<int64_t>(ReadAsDouble(p, t));
}

// Offsets of the logical C-order elements in the stored C-order data: the
// identity, or the transpose for a Fortran-order array.
template <typename F>
void ForEachElement(const NdArray& a, F&& f) {
  const uint64_t n = a.size();
  if (!a.transposed || a.shape.size() < 2) {
    for (uint64_t i = 0; i < n; ++i) f(i);
    return;
  }
  // Stored shape is the reverse of the logical one.
  const size_t d = a.shape.size();
  std::vector<uint64_t> stored_stride(d);  // stride in the stored array of logical axis k
  uint64_t s = 1;
  for (size_t k = 0; k < d; ++k) {  // stored axes are logical axes reversed
    stored_stride[k] = s;           // logical axis k is stored axis d-1-k (the fastest when k=0)
    s *= a.shape[k];
  }
  std::vector<uint64_t> index(d, 0);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t off = 0;
    for (size_t k = 0; k < d; ++k) off += index[k] * stored_stride[k];
    f(off);
    for (size_t k = d; k-- > 0;) {
      if (++index[k] < a.shape[k]) break;
      index[k] = 0;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------

namespace {

class ReaderSource : public ArraySource {
 public:
  explicit ReaderSource(std::shared_ptr<const format::Reader> reader)
      : reader_(std::move(reader)) {}
  uint64_t size() const override { return reader_->blobs().size(); }
  const format::BlobInfo& Info(uint64_t index) const override { return reader_->blobs().at(index); }
  format::BlobView Read(uint64_t index) const override { return reader_->ReadBlob(index); }

 private:
  std::shared_ptr<const format::Reader> reader_;
};

}  // namespace

std::unique_ptr<ArraySource> ReaderArrays(std::shared_ptr<const format::Reader> reader) {
  return std::make_unique<ReaderSource>(std::move(reader));
}

uint64_t NdArray::size() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

std::vector<double> NdArray::ToDoubles(const std::string& what) const {
  Simple t;
  if (is_object() || !ParseSimple(dtype.descr, &t)) {
    Bad(what + ": expected a numeric array, found dtype " + dtype.descr.dump());
  }
  std::vector<double> out;
  out.reserve(size());
  const std::byte* base = data.bytes.data();
  ForEachElement(*this, [&](uint64_t i) { out.push_back(ReadAsDouble(base + i * t.size, t)); });
  return out;
}

std::vector<int64_t> NdArray::ToInts(const std::string& what) const {
  Simple t;
  if (is_object() || !ParseSimple(dtype.descr, &t)) {
    Bad(what + ": expected an integer array, found dtype " + dtype.descr.dump());
  }
  std::vector<int64_t> out;
  out.reserve(size());
  const std::byte* base = data.bytes.data();
  ForEachElement(*this, [&](uint64_t i) { out.push_back(ReadAsInt(base + i * t.size, t, what)); });
  return out;
}

namespace {

// Offset and simple type of a structured field; false when absent.
bool FindField(const format::Dtype& dtype, const std::string& field, size_t* offset, Simple* t,
               const std::string& what) {
  if (!dtype.structured) Bad(what + ": expected a structured array");
  const auto& d = dtype.descr;
  const auto& names = d.at("names");
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != field) continue;
    if (!ParseSimple(d.at("formats")[i], t)) {
      Bad(what + ": field '" + field + "' has an unsupported type " + d.at("formats")[i].dump());
    }
    *offset = d.at("offsets")[i].get<size_t>();
    return true;
  }
  return false;
}

}  // namespace

bool NdArray::HasField(const std::string& field) const {
  size_t offset;
  Simple t;
  return dtype.structured && FindField(dtype, field, &offset, &t, "array");
}

std::vector<double> NdArray::FieldDoubles(const std::string& field, const std::string& what) const {
  size_t offset;
  Simple t;
  if (!FindField(dtype, field, &offset, &t, what)) Bad(what + ": no field '" + field + "'");
  std::vector<double> out;
  out.reserve(size());
  const std::byte* base = data.bytes.data() + offset;
  ForEachElement(*this,
                 [&](uint64_t i) { out.push_back(ReadAsDouble(base + i * dtype.itemsize, t)); });
  return out;
}

std::vector<int64_t> NdArray::FieldInts(const std::string& field, const std::string& what,
                                        bool optional) const {
  size_t offset;
  Simple t;
  if (!FindField(dtype, field, &offset, &t, what)) {
    if (optional) return {};
    Bad(what + ": no field '" + field + "'");
  }
  std::vector<int64_t> out;
  out.reserve(size());
  const std::byte* base = data.bytes.data() + offset;
  ForEachElement(*this, [&](uint64_t i) {
    out.push_back(ReadAsInt(base + i * dtype.itemsize, t, what + "." + field));
  });
  return out;
}

// ---------------------------------------------------------------------------

ObjectTree::ObjectTree(const Value& root, const ArraySource& arrays)
    : root_(root), arrays_(arrays) {
  Index(root, 0);
}

void ObjectTree::Index(const Value& v, int depth) {
  if (depth > 512) Bad("object tree nested too deeply");
  switch (v.kind()) {
    case Kind::kObject:
      if (v.object_id()) ids_[*v.object_id()] = &v;
      Index(v.state(), depth + 1);
      break;
    case Kind::kList:
    case Kind::kTuple:
      for (const Value& item : v.items()) Index(item, depth + 1);
      break;
    case Kind::kDict:
      for (const auto& [k, item] : v.dict_items()) {
        Index(k, depth + 1);
        Index(item, depth + 1);
      }
      break;
    default:
      break;
  }
}

const Value& ObjectTree::Deref(const Value& v) const {
  if (!v.is(Kind::kRef)) return v;
  auto it = ids_.find(v.ref_id());
  if (it == ids_.end()) Bad("reference to an unknown object id " + std::to_string(v.ref_id()));
  return *it->second;
}

NdArray ObjectTree::Array(const Value& value, const std::string& what) const {
  const Value& v = Deref(value);
  NdArray a;
  if (v.is(Kind::kArray)) {
    if (v.blob_index() >= arrays_.size()) Bad(what + ": blob index out of range");
    const format::BlobInfo& info = arrays_.Info(v.blob_index());
    a.dtype = info.dtype;
    a.shape = info.shape;
    a.data = arrays_.Read(v.blob_index());
    return a;
  }
  if (v.is(Kind::kObject) && v.type_name() == "numpy.ndarray") {
    const Value& s = v.state();
    if (s.is(Kind::kArray)) return Array(s, what);
    const Value* order = s.Find("order");
    const Value* data = s.Find("data");
    if (order && data) {
      a = Array(*data, what);
      std::vector<uint64_t> logical(a.shape.rbegin(), a.shape.rend());
      a.shape = std::move(logical);
      a.transposed = true;
      return a;
    }
    const Value* items = s.Find("items");
    const Value* shape = s.Find("shape");
    if (items && shape && items->is(Kind::kList) && shape->is(Kind::kList)) {
      a.dtype.descr = "|O";
      for (const Value& d : shape->items()) {
        if (!d.is(Kind::kInt) || d.as_int() < 0) Bad(what + ": bad shape");
        a.shape.push_back(static_cast<uint64_t>(d.as_int()));
      }
      a.items = items->items();
      if (a.items.size() != a.size()) Bad(what + ": object array of the wrong size");
      for (Value& item : a.items) item = Deref(item);
      return a;
    }
  }
  if (v.is(Kind::kList) || v.is(Kind::kTuple)) {
    // A plain list or tuple, e.g. a parameter such as feature_range.
    a.dtype.descr = "|O";
    a.shape = {v.items().size()};
    for (const Value& item : v.items()) a.items.push_back(Deref(item));
    return a;
  }
  Bad(what + ": expected an array, found " + model::KindName(v.kind()));
}

bool ObjectTree::IsNumber(const Value& value) const {
  const Value& v = Deref(value);
  if (v.is(Kind::kFloat) || v.is(Kind::kInt) || v.is(Kind::kBool)) return true;
  if (v.is(Kind::kObject) && v.type_name().rfind("numpy.", 0) == 0) {
    const Value& s = v.state();
    return s.is(Kind::kFloat) || s.is(Kind::kInt) || s.is(Kind::kBool);
  }
  return false;
}

double ObjectTree::Number(const Value& value, const std::string& what) const {
  const Value& v = Deref(value);
  switch (v.kind()) {
    case Kind::kFloat:
      return v.as_float();
    case Kind::kInt:
      return static_cast<double>(v.as_int());
    case Kind::kBool:
      return v.as_bool() ? 1.0 : 0.0;
    case Kind::kObject:
      if (v.type_name().rfind("numpy.", 0) == 0 && v.type_name() != "numpy.ndarray") {
        return Number(v.state(), what);
      }
      if (v.type_name() == "numpy.ndarray") {
        const NdArray a = Array(v, what);
        if (a.size() == 1) return a.ToDoubles(what)[0];
      }
      break;
    case Kind::kArray: {
      const NdArray a = Array(v, what);
      if (a.size() == 1) return a.ToDoubles(what)[0];
      break;
    }
    default:
      break;
  }
  Bad(what + ": expected a number, found " + model::KindName(v.kind()));
}

// ---------------------------------------------------------------------------

Obj::Obj(const ObjectTree& tree, const Value& v, std::string what)
    : tree_(&tree), node_(&tree.Deref(v)), what_(std::move(what)) {
  if (!node_->is(Kind::kObject)) {
    Bad((what_.empty() ? std::string("value") : what_) + ": expected an object, found " +
        model::KindName(node_->kind()));
  }
  if (what_.empty()) what_ = short_name();
  const Value& s = node_->state();
  if (s.is(Kind::kDict)) {
    dict_ = &s;
  } else if (s.is(Kind::kTuple) && s.items().size() >= 2 && s.items()[1].is(Kind::kDict)) {
    dict_ = &s.items()[1];
  }
}

std::string Obj::short_name() const {
  const std::string& t = node_->type_name();
  const size_t dot = t.rfind('.');
  return dot == std::string::npos ? t : t.substr(dot + 1);
}

const std::vector<Value>& Obj::args() const {
  static const std::vector<Value> kNone;
  const Value& s = node_->state();
  if (s.is(Kind::kTuple) && !s.items().empty() && s.items()[0].is(Kind::kTuple)) {
    return s.items()[0].items();
  }
  return kNone;
}

void Obj::Fail(const std::string& what) const { Bad(what_ + ": " + what); }

const Value* Obj::Find(const std::string& key) const {
  if (!dict_) return nullptr;
  const Value* v = dict_->Find(key);
  return v ? &tree_->Deref(*v) : nullptr;
}

bool Obj::Has(const std::string& key) const { return Find(key) != nullptr; }

const Value& Obj::Get(const std::string& key) const {
  const Value* v = Find(key);
  if (!v) Fail("attribute '" + key + "' is missing");
  return *v;
}

bool Obj::IsNone(const std::string& key) const {
  const Value* v = Find(key);
  return !v || v->is(Kind::kNull);
}

Obj Obj::Child(const std::string& key) const { return Obj(*tree_, Get(key), what_ + "." + key); }

NdArray Obj::Array(const std::string& key) const {
  return tree_->Array(Get(key), what_ + "." + key);
}

double Obj::Number(const std::string& key) const {
  return tree_->Number(Get(key), what_ + "." + key);
}

int64_t Obj::Int(const std::string& key) const {
  const double d = Number(key);
  if (d != std::trunc(d) || !(std::fabs(d) < 9.2e18)) Fail("'" + key + "' is not an integer");
  return static_cast<int64_t>(d);
}

bool Obj::Bool(const std::string& key) const { return Number(key) != 0; }

std::string Obj::String(const std::string& key) const {
  const Value& v = Get(key);
  if (!v.is(Kind::kString)) Fail("'" + key + "' is not a string");
  return v.as_string();
}

}  // namespace ark::runtime
