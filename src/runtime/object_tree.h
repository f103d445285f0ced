// Reading scikit-learn objects out of an ark object tree (docs/OBJECTS.md):
// object nodes and their state, back-references, numpy arrays (blob
// references, Fortran-order and object arrays), numpy scalars.
//
// Everything here treats the tree as untrusted: a missing field, a field of
// the wrong kind, an array of the wrong dtype or shape is an
// ark::Error(kBadManifest) that names the object and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/reader.h"
#include "ark/model/value.h"

namespace ark::runtime {

// Where array bytes come from: an open file, or memory in tests.
class ArraySource {
 public:
  virtual ~ArraySource() = default;
  virtual uint64_t size() const = 0;
  virtual const format::BlobInfo& Info(uint64_t index) const = 0;
  virtual format::BlobView Read(uint64_t index) const = 0;
};

// An ArraySource over a Reader (kept alive).
std::unique_ptr<ArraySource> ReaderArrays(std::shared_ptr<const format::Reader> reader);

// A numpy array as stored: C-order bytes of its dtype, or object items.
struct NdArray {
  format::Dtype dtype;              // descr "|O" for object arrays
  std::vector<uint64_t> shape;      // the logical shape (transposed back for Fortran order)
  format::BlobView data;            // numeric and structured arrays
  bool transposed = false;          // Fortran order: `data` holds the C-order transpose
  std::vector<model::Value> items;  // object arrays, C order

  bool is_object() const { return !items.empty() || dtype.descr == "|O"; }
  uint64_t size() const;  // Π shape

  // Values of a numeric array (bool, int, uint, float) as float64 / int64,
  // in C order of the logical shape. Throws kBadManifest for another dtype;
  // ToInts also for a float that is not a whole number.
  std::vector<double> ToDoubles(const std::string& what) const;
  std::vector<int64_t> ToInts(const std::string& what) const;
  // One field of a structured array, converted like ToDoubles / ToInts.
  // Throws kBadManifest when the field is absent; `optional` returns an
  // empty vector instead.
  std::vector<double> FieldDoubles(const std::string& field, const std::string& what) const;
  std::vector<int64_t> FieldInts(const std::string& field, const std::string& what,
                                 bool optional = false) const;
  bool HasField(const std::string& field) const;
};

class ObjectTree {
 public:
  // `root` and `arrays` must outlive the ObjectTree.
  ObjectTree(const model::Value& root, const ArraySource& arrays);

  const model::Value& root() const { return root_; }
  // Follows a back-reference to its object node; other values as they are.
  const model::Value& Deref(const model::Value& v) const;

  // Reads an array from `v` ($array, a numpy.ndarray node, or a list of
  // numbers); `what` names it in errors.
  NdArray Array(const model::Value& v, const std::string& what) const;
  // A Python/numpy number (int, float, bool, numpy scalar node).
  bool IsNumber(const model::Value& v) const;
  double Number(const model::Value& v, const std::string& what) const;

 private:
  void Index(const model::Value& v, int depth);

  const model::Value& root_;
  const ArraySource& arrays_;
  std::map<int64_t, const model::Value*> ids_;
};

// An estimator (or any object node) and its attributes.
class Obj {
 public:
  // `v` must be an object node (after Deref); throws kBadManifest otherwise.
  Obj(const ObjectTree& tree, const model::Value& v, std::string what = {});

  const std::string& type_name() const { return node_->type_name(); }
  // The class name without its module, e.g. "RandomForestClassifier".
  std::string short_name() const;
  // The constructor arguments of a reduced object (e.g. Tree), else empty.
  const std::vector<model::Value>& args() const;

  bool Has(const std::string& key) const;
  // The attribute, dereferenced; throws kBadManifest when absent.
  const model::Value& Get(const std::string& key) const;
  const model::Value* Find(const std::string& key) const;
  bool IsNone(const std::string& key) const;

  Obj Child(const std::string& key) const;
  NdArray Array(const std::string& key) const;
  double Number(const std::string& key) const;
  int64_t Int(const std::string& key) const;
  bool Bool(const std::string& key) const;
  std::string String(const std::string& key) const;

  const ObjectTree& tree() const { return *tree_; }
  [[noreturn]] void Fail(const std::string& what) const;

 private:
  const ObjectTree* tree_;
  const model::Value* node_;
  const model::Value* dict_ = nullptr;  // the attribute dict
  std::string what_;
};

}  // namespace ark::runtime
