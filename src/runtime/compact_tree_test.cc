// Compact trees ("ark.tree.v1", docs/OBJECTS.md §5.1) read from hand-built
// object trees: states made with model::EncodeTree decode to the very
// arrays encoded, compile into a predictor, and corrupted states are refused
// with an ark::Error.
#include "compact_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/model/tree_codec.h"
#include "compile.h"

namespace ark::runtime {
namespace {

using model::SklearnTreeNode;
using model::Value;
using ::testing::HasSubstr;

class Blobs : public ArraySource {
 public:
  // `shape` need not match `bytes`: tests use that to forge arrays.
  Value Add(const nlohmann::ordered_json& descr, std::vector<uint64_t> shape, const void* data,
            size_t bytes) {
    format::BlobInfo info;
    info.dtype = format::ParseDtype(descr);
    info.shape = std::move(shape);
    info.raw_size = bytes;
    infos_.push_back(info);
    auto buffer = std::make_shared<std::vector<std::byte>>(bytes);
    if (bytes != 0) std::memcpy(buffer->data(), data, bytes);
    buffers_.push_back(buffer);
    return Value::Array(infos_.size() - 1);
  }
  Value Vector(const std::string& descr, std::span<const std::byte> bytes) {
    const uint64_t item = format::ItemSizeOf(descr);
    return Add(descr, {bytes.size() / item}, bytes.data(), bytes.size());
  }
  Value Ints(std::vector<int64_t> v) { return Add("<i8", {v.size()}, v.data(), v.size() * 8); }

  uint64_t size() const override { return infos_.size(); }
  const format::BlobInfo& Info(uint64_t i) const override { return infos_.at(i); }
  format::BlobView Read(uint64_t i) const override {
    return {std::span<const std::byte>(buffers_.at(i)->data(), buffers_.at(i)->size()),
            buffers_.at(i), false};
  }

 private:
  std::vector<format::BlobInfo> infos_;
  std::vector<std::shared_ptr<std::vector<std::byte>>> buffers_;
};

const char* UintDescr(int width) {
  switch (width) {
    case 1:
      return "|u1";
    case 2:
      return "<u2";
    case 4:
      return "<u4";
    default:
      return "<u8";
  }
}

using Fields = std::vector<std::pair<std::string, Value>>;

Value Dict(const Fields& items) {
  std::vector<std::pair<Value, Value>> pairs;
  for (const auto& [k, v] : items) pairs.emplace_back(Value::String(k), v);
  return Value::Dict(std::move(pairs));
}

Value FieldValue(Blobs& blobs, const model::CompactField& f) {
  switch (f.form) {
    case model::FieldForm::kDoubles:
      return blobs.Vector("<f8", std::as_bytes(std::span<const double>(f.doubles)));
    case model::FieldForm::kLeafCounts:
      return blobs.Vector(UintDescr(f.counts.width), f.counts.bytes);
    default:
      return Value::String(model::DerivedFormName(f.form));
  }
}

// The state the Python walker writes for `tree` (python/ark/_walk.py).
Fields CompactState(Blobs& blobs, const model::CompactTree& tree) {
  return {
      {"encoding", Value::String(std::string(model::kTreeEncodingV1))},
      {"max_depth", Value::Int(2)},
      {"node_count", Value::Int(tree.shape.node_count)},
      {"leaf", blobs.Vector("|u1", tree.leaf_bits)},
      {"feature", blobs.Vector(UintDescr(tree.feature.width), tree.feature.bytes)},
      {"threshold", blobs.Vector("<f8", std::as_bytes(std::span<const double>(tree.threshold)))},
      {"n_node_samples",
       blobs.Vector(UintDescr(tree.n_node_samples.width), tree.n_node_samples.bytes)},
      {"impurity", FieldValue(blobs, tree.impurity)},
      {"weighted_n_node_samples", FieldValue(blobs, tree.weighted_n_node_samples)},
      {"values", FieldValue(blobs, tree.values)},
  };
}

Value TreeNode(Blobs& blobs, const Fields& state, int64_t n_outputs, std::vector<int64_t> classes) {
  return Value::Object(
      "sklearn.tree._tree.Tree",
      Value::Tuple({Value::Tuple({Value::Int(2), blobs.Ints(std::move(classes)),
                                  Value::Int(n_outputs)}),
                    Dict(state)}));
}

void Set(Fields* fields, const std::string& key, Value v) {
  for (auto& [k, old] : *fields) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  fields->emplace_back(key, std::move(v));
}

void Erase(Fields* fields, const std::string& key) {
  std::erase_if(*fields, [&](const auto& kv) { return kv.first == key; });
}

double Gini(double a, double b) {
  const double w = a + b;
  return 1.0 - (a * a + b * b) / (w * w);
}

// A depth-2 classifier tree as scikit-learn's depth-first builder writes it:
//   0: x0 <= 0.5 ? 1 : 4;  1: x1 <= 1.5 ? 2 : 3;  leaves 2 [3, 0], 3 [0, 2], 4 [1, 4].
struct SmallTree {
  std::vector<SklearnTreeNode> nodes;
  std::vector<double> values;
  model::TreeShape shape{5, 1, 2};

  explicit SmallTree(double scale = 1.0) {
    const double v[5][2] = {{4, 6}, {3, 2}, {3, 0}, {0, 2}, {1, 4}};
    const int64_t n[5] = {10, 5, 3, 2, 5};
    const int64_t left[5] = {1, 2, -1, -1, -1}, right[5] = {4, 3, -1, -1, -1};
    const int64_t feature[5] = {0, 1, -2, -2, -2};
    const double threshold[5] = {0.5, 1.5, -2.0, -2.0, -2.0};
    for (int i = 0; i < 5; ++i) {
      const double a = v[i][0] * scale, b = v[i][1] * scale;
      values.push_back(a);
      values.push_back(b);
      nodes.push_back({left[i], right[i], feature[i], threshold[i], Gini(a, b), n[i], a + b});
    }
  }
  std::span<const std::byte> node_bytes() const {
    return std::as_bytes(std::span<const SklearnTreeNode>(nodes));
  }
  std::span<const std::byte> value_bytes() const {
    return std::as_bytes(std::span<const double>(values));
  }
  model::CompactTree Encode() const {
    std::string why;
    std::optional<model::CompactTree> tree =
        model::EncodeTree(node_bytes(), value_bytes(), shape, &why);
    EXPECT_TRUE(tree.has_value()) << why;
    return tree.value_or(model::CompactTree{});
  }
};

TreeArrays Decode(const Value& node, const Blobs& blobs) {
  const ObjectTree tree(node, blobs);
  return DecodeCompactTree(Obj(tree, node, "tree_"));
}

void ExpectDecodesTo(const Value& node, const Blobs& blobs, const SmallTree& expected) {
  const ObjectTree tree(node, blobs);
  const Obj t(tree, node, "tree_");
  ASSERT_TRUE(IsEncodedTree(t));
  const TreeArrays out = DecodeCompactTree(t);
  ASSERT_EQ(out.nodes.shape, std::vector<uint64_t>{5});
  ASSERT_EQ(out.values.shape, (std::vector<uint64_t>{5, 1, 2}));
  EXPECT_TRUE(out.nodes.dtype.structured);
  EXPECT_EQ(out.nodes.dtype.itemsize, sizeof(SklearnTreeNode));
  ASSERT_EQ(out.nodes.data.bytes.size(), expected.node_bytes().size());
  ASSERT_EQ(out.values.data.bytes.size(), expected.value_bytes().size());
  EXPECT_EQ(std::memcmp(out.nodes.data.bytes.data(), expected.node_bytes().data(),
                        expected.node_bytes().size()),
            0);
  EXPECT_EQ(std::memcmp(out.values.data.bytes.data(), expected.value_bytes().data(),
                        expected.value_bytes().size()),
            0);
  // The fields read as the plain arrays' would.
  EXPECT_EQ(out.nodes.FieldInts("right_child", "nodes"), (std::vector<int64_t>{4, 3, -1, -1, -1}));
  EXPECT_EQ(out.nodes.FieldDoubles("threshold", "nodes"),
            (std::vector<double>{0.5, 1.5, -2.0, -2.0, -2.0}));
}

TEST(CompactTree, DerivedFieldsDecodeToTheEncodedArrays) {
  const SmallTree small;
  const model::CompactTree compact = small.Encode();
  // Whole class counts: everything but leaf counts, features and thresholds
  // is derived.
  EXPECT_EQ(compact.values.form, model::FieldForm::kLeafCounts);
  EXPECT_EQ(compact.impurity.form, model::FieldForm::kGini);
  EXPECT_EQ(compact.weighted_n_node_samples.form, model::FieldForm::kValueSums);
  Blobs blobs;
  const Value node = TreeNode(blobs, CompactState(blobs, compact), 1, {2});
  ExpectDecodesTo(node, blobs, small);
}

TEST(CompactTree, FloatFieldsDecodeToTheEncodedArrays) {
  const SmallTree small(0.3);  // fractional weights: values stored as float64
  const model::CompactTree compact = small.Encode();
  EXPECT_EQ(compact.values.form, model::FieldForm::kDoubles);
  Blobs blobs;
  const Value node = TreeNode(blobs, CompactState(blobs, compact), 1, {2});
  ExpectDecodesTo(node, blobs, small);
}

TEST(CompactTree, PlainTreeIsNotEncoded) {
  Blobs blobs;
  const Value node = TreeNode(blobs, {{"max_depth", Value::Int(0)}}, 1, {2});
  const ObjectTree tree(node, blobs);
  EXPECT_FALSE(IsEncodedTree(Obj(tree, node)));
}

TEST(CompactTree, ClassifierCompilesFromACompactTree) {
  const SmallTree small;
  Blobs blobs;
  const Value tree = TreeNode(blobs, CompactState(blobs, small.Encode()), 1, {2});
  const Value clf = Value::Object("sklearn.tree._classes.DecisionTreeClassifier",
                                  Dict({{"n_features_in_", Value::Int(2)},
                                        {"n_outputs_", Value::Int(1)},
                                        {"classes_", blobs.Ints({0, 1})},
                                        {"tree_", tree}}));
  const auto program = CompileProgram(clf, blobs);
  const double x[] = {0.0, 0.0, 0.0, 2.0, 1.0, 0.0};  // leaves 2, 3, 4
  Scratch scratch;
  double proba[6];
  program->Run(Method::kPredictProba, x, 3, 0, proba, nullptr, scratch);
  EXPECT_EQ(proba[0], 1.0);
  EXPECT_EQ(proba[1], 0.0);
  EXPECT_EQ(proba[2], 0.0);
  EXPECT_EQ(proba[3], 1.0);
  EXPECT_EQ(proba[4], 1.0 / 5.0);
  EXPECT_EQ(proba[5], 4.0 / 5.0);
}

// Decoding `state` (args n_outputs 1, n_classes [2] unless changed) throws
// an ark::Error with `code` whose message contains `message`.
void ExpectRefused(const std::function<void(Blobs&, Fields*)>& corrupt, ErrorCode code,
                   const std::string& message, std::vector<int64_t> classes = {2},
                   int64_t n_outputs = 1) {
  const SmallTree small;
  Blobs blobs;
  Fields state = CompactState(blobs, small.Encode());
  corrupt(blobs, &state);
  const Value node = TreeNode(blobs, state, n_outputs, std::move(classes));
  try {
    Decode(node, blobs);
    ADD_FAILURE() << "not refused; expected: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(message));
    EXPECT_THAT(e.what(), HasSubstr("tree_"));
  }
}

const std::byte kBits[] = {std::byte{0x1c}};  // nodes 2, 3, 4 are leaves

TEST(CompactTree, CorruptStatesAreRefused) {
  const auto bad = ErrorCode::kBadManifest;
  auto set = [](const std::string& key, std::function<Value(Blobs&)> make) {
    return [key, make](Blobs& b, Fields* s) { Set(s, key, make(b)); };
  };
  // Unknown encodings and missing or mistyped keys.
  ExpectRefused(set("encoding", [](Blobs&) { return Value::String("ark.tree.v9"); }),
                ErrorCode::kUnsupported, "ark.tree.v9");
  ExpectRefused(set("encoding", [](Blobs&) { return Value::Int(1); }), bad, "encoding");
  ExpectRefused([](Blobs&, Fields* s) { Erase(s, "threshold"); }, bad, "threshold");
  ExpectRefused([](Blobs&, Fields* s) { Erase(s, "max_depth"); }, bad, "max_depth");
  // Sizes and shapes.
  ExpectRefused(set("node_count", [](Blobs&) { return Value::Int(int64_t{1} << 40); }), bad,
                "node_count");
  ExpectRefused(set("node_count", [](Blobs&) { return Value::Int(0); }), bad, "node_count");
  ExpectRefused(set("node_count", [](Blobs&) { return Value::Int(6); }), bad, "compact tree");
  ExpectRefused(set("node_count", [](Blobs&) { return Value::Float(4.5); }), bad, "node_count");
  ExpectRefused(set("leaf", [](Blobs& b) { return b.Add("|u1", {0}, nullptr, 0); }), bad,
                "leaf flags");
  ExpectRefused(set("leaf", [](Blobs& b) { return b.Add("|u1", {3}, kBits, 1); }), bad,
                "does not match");
  ExpectRefused(set("leaf", [](Blobs& b) { return b.Add("|u1", {1, 1}, kBits, 1); }), bad,
                "leaf is not a 1-D");
  ExpectRefused(set("threshold", [](Blobs& b) {
                  const double t[] = {0.5, 1.5, 2.5};
                  return b.Add("<f8", {3}, t, sizeof t);
                }),
                bad, "threshold");
  ExpectRefused(set("threshold", [](Blobs& b) {
                  const double t[] = {0.5, 1.5};
                  return b.Add("<f8", {2}, t, 12);  // bytes short of the shape
                }),
                bad, "threshold: the data does not match");
  ExpectRefused(set("values", [](Blobs& b) {
                  const uint8_t v[] = {3, 0, 0, 2, 1};  // one entry short
                  return b.Add("|u1", {5}, v, sizeof v);
                }),
                bad, "values");
  // Dtypes and forms.
  ExpectRefused(set("feature", [](Blobs& b) { return b.Ints({0, 1}); }), bad,
                "feature must hold unsigned integers");
  ExpectRefused(set("threshold", [](Blobs& b) {
                  const float t[] = {0.5f, 1.5f};
                  return b.Add("<f4", {2}, t, sizeof t);
                }),
                bad, "threshold must hold float64");
  ExpectRefused(set("leaf", [](Blobs& b) {
                  const uint16_t bits[] = {0x1c};
                  return b.Add("<u2", {1}, bits, sizeof bits);
                }),
                bad, "leaf must be uint8");
  ExpectRefused(set("impurity", [](Blobs&) { return Value::String("entropy"); }), bad,
                "impurity cannot be derived");
  ExpectRefused(set("impurity", [](Blobs&) { return Value::String("values"); }), bad,
                "impurity cannot be derived");
  ExpectRefused(set("values", [](Blobs&) { return Value::String("gini"); }), bad,
                "values cannot be derived");
  ExpectRefused(set("values", [](Blobs& b) { return b.Ints({3, 0, 0, 2, 1, 4}); }), bad,
                "values must hold unsigned integers or float64");
  ExpectRefused(set("values", [](Blobs&) { return Value::List({}); }), bad, "values");
  // The leaf flags must describe one full binary tree.
  ExpectRefused(set("leaf", [](Blobs& b) {
                  const std::byte bits[] = {std::byte{0x1e}};
                  return b.Add("|u1", {1}, bits, 1);
                }),
                bad, "compact tree: the leaf flags");
  ExpectRefused(set("leaf", [](Blobs& b) {
                  const std::byte bits[] = {std::byte{0x3c}};  // a bit past the last node
                  return b.Add("|u1", {1}, bits, 1);
                }),
                bad, "compact tree: the leaf flags");
  ExpectRefused(set("leaf", [](Blobs& b) {
                  const std::byte bits[] = {std::byte{0x19}};  // a leaf first: two trees
                  return b.Add("|u1", {1}, bits, 1);
                }),
                bad, "compact tree: the leaf flags");
  // Constructor arguments.
  ExpectRefused([](Blobs&, Fields*) {}, bad, "n_classes", {2, 2});
  ExpectRefused([](Blobs&, Fields*) {}, bad, "n_classes", {0});
  ExpectRefused([](Blobs&, Fields*) {}, bad, "n_outputs", {}, 0);
  ExpectRefused([](Blobs&, Fields*) {}, bad, "compact tree", {3});  // values: 2 per leaf
}

}  // namespace
}  // namespace ark::runtime
