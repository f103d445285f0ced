// Tests of the compact tree encoding (ark/model/tree_codec.h): trees shaped
// like scikit-learn's decode to the very same bytes, each derivation is used
// exactly when it holds, trees outside the assumptions are refused by the
// encoder, and hostile compact input is refused by the decoder without
// reading or writing out of bounds.
#include "ark/model/tree_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ark/format/error.h"

namespace ark::model {
namespace {

using ::testing::HasSubstr;

// A tree as scikit-learn's depth-first builder leaves it.
struct Tree {
  TreeShape shape;
  std::vector<SklearnTreeNode> nodes;
  std::vector<double> values;

  std::span<const std::byte> node_bytes() const { return std::as_bytes(std::span(nodes)); }
  std::span<const std::byte> value_bytes() const { return std::as_bytes(std::span(values)); }
};

double GiniOf(const double* row, int64_t n_outputs, int64_t n_classes, double w) {
  double gini = 0.0;
  for (int64_t k = 0; k < n_outputs; ++k) {
    double sq = 0.0;
    for (int64_t c = 0; c < n_classes; ++c) {
      const double x = row[k * n_classes + c];
      sq += x * x;
    }
    gini += 1.0 - sq / (w * w);
  }
  return gini / static_cast<double>(n_outputs);
}

// A random full binary tree in pre-order with `leaves` leaves. Leaves get
// whole class counts (`n_classes[k]` real classes per output, padded with
// zeros to the maximum), inner nodes the sums; weights are the count sums;
// impurity is Gini.
Tree RandomClassifier(std::mt19937_64& rng, int leaves, std::vector<int> n_classes,
                      int max_count = 40) {
  Tree t;
  const int64_t n_outputs = static_cast<int64_t>(n_classes.size());
  int64_t k_max = 0;
  for (int c : n_classes) k_max = std::max<int64_t>(k_max, c);
  t.shape = {2 * leaves - 1, n_outputs, k_max};
  const size_t row = static_cast<size_t>(n_outputs * k_max);
  t.nodes.resize(static_cast<size_t>(t.shape.node_count));
  t.values.assign(t.nodes.size() * row, 0.0);
  // Build recursively in pre-order: a node with `m` leaves below.
  int64_t next = 0;
  std::function<int64_t(int)> build = [&](int m) -> int64_t {
    const int64_t id = next++;
    SklearnTreeNode& node = t.nodes[static_cast<size_t>(id)];
    double* vrow = &t.values[static_cast<size_t>(id) * row];
    if (m == 1) {
      node = {-1, -1, -2, -2.0, 0.0, 0, 0.0};
      int64_t samples = 0;
      for (int64_t k = 0; k < n_outputs; ++k) {
        for (int c = 0; c < n_classes[static_cast<size_t>(k)]; ++c) {
          const int count = std::uniform_int_distribution<int>(0, max_count)(rng);
          vrow[k * k_max + c] = count;
          if (k == 0) samples += count;
        }
      }
      if (samples == 0) {  // a leaf holds at least one sample
        vrow[0] = 1;
        for (int64_t k = 1; k < n_outputs; ++k) vrow[k * k_max] += 1;
        samples = 1;
      }
      // Weighted (bootstrap) counts exceed the distinct samples.
      node.n_node_samples = std::max<int64_t>(1, samples - std::uniform_int_distribution<int>(0, 3)(rng));
    } else {
      const int left_leaves = std::uniform_int_distribution<int>(1, m - 1)(rng);
      node.left_child = build(left_leaves);
      const int64_t right = build(m - left_leaves);
      SklearnTreeNode& again = t.nodes[static_cast<size_t>(id)];  // `node` is still valid: no resize
      again.right_child = right;
      again.feature = std::uniform_int_distribution<int>(0, 299)(rng);
      again.threshold = std::uniform_real_distribution<double>(-3, 3)(rng);
      const SklearnTreeNode& l = t.nodes[static_cast<size_t>(again.left_child)];
      const SklearnTreeNode& r = t.nodes[static_cast<size_t>(right)];
      again.n_node_samples = l.n_node_samples + r.n_node_samples;
      for (size_t j = 0; j < row; ++j) {
        vrow[j] = t.values[static_cast<size_t>(again.left_child) * row + j] +
                  t.values[static_cast<size_t>(right) * row + j];
      }
    }
    SklearnTreeNode& done = t.nodes[static_cast<size_t>(id)];
    double w = 0.0;
    for (int64_t c = 0; c < k_max; ++c) w += vrow[c];
    done.weighted_n_node_samples = w;
    done.impurity = GiniOf(vrow, n_outputs, k_max, w);
    return id;
  };
  build(leaves);
  return t;
}

// Decodes into fresh arrays.
Tree Decode(const CompactTreeView& view) {
  Tree t;
  t.shape = view.shape;
  t.nodes.resize(static_cast<size_t>(view.shape.node_count));
  t.values.resize(t.nodes.size() *
                  static_cast<size_t>(view.shape.n_outputs * view.shape.max_n_classes));
  DecodeTree(view, std::as_writable_bytes(std::span(t.nodes)),
             std::as_writable_bytes(std::span(t.values)));
  return t;
}

void ExpectSameBytes(const Tree& a, const Tree& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  ASSERT_EQ(a.values.size(), b.values.size());
  EXPECT_EQ(0, std::memcmp(a.nodes.data(), b.nodes.data(), a.nodes.size() * sizeof(SklearnTreeNode)));
  EXPECT_EQ(0, std::memcmp(a.values.data(), b.values.data(), a.values.size() * 8));
}

CompactTree MustEncode(const Tree& t) {
  std::string why;
  std::optional<CompactTree> c = EncodeTree(t.node_bytes(), t.value_bytes(), t.shape, &why);
  EXPECT_TRUE(c.has_value()) << why;
  return c.value_or(CompactTree{});
}

TEST(TreeCodec, SingleLeafTree) {
  std::mt19937_64 rng(1);
  Tree t = RandomClassifier(rng, 1, {2});
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.leaf_bits.size(), 1u);
  EXPECT_EQ(c.threshold.size(), 0u);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, ClassifierUsesEveryDerivation) {
  std::mt19937_64 rng(2);
  for (int leaves : {2, 3, 9, 100, 1000}) {
    Tree t = RandomClassifier(rng, leaves, {3});
    CompactTree c = MustEncode(t);
    EXPECT_EQ(c.impurity.form, FieldForm::kGini);
    EXPECT_EQ(c.weighted_n_node_samples.form, FieldForm::kValueSums);
    EXPECT_EQ(c.values.form, FieldForm::kLeafCounts);
    EXPECT_EQ(c.values.counts.width, 1);
    int64_t max_feature = 0;
    for (const auto& node : t.nodes) max_feature = std::max(max_feature, node.feature);
    EXPECT_EQ(c.feature.width, max_feature > 255 ? 2 : 1);
    EXPECT_EQ(c.feature.size(), static_cast<size_t>(leaves - 1));
    EXPECT_EQ(c.n_node_samples.size(), static_cast<size_t>(leaves));
    ExpectSameBytes(Decode(ViewOf(c)), t);
  }
}

TEST(TreeCodec, WideCountsGetWideIntegers) {
  std::mt19937_64 rng(3);
  Tree t = RandomClassifier(rng, 50, {2}, 70000);
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.values.counts.width, 4);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, MultiOutputWithPaddedClasses) {
  std::mt19937_64 rng(4);
  Tree t = RandomClassifier(rng, 200, {2, 5, 3});
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.impurity.form, FieldForm::kGini);
  EXPECT_EQ(c.values.form, FieldForm::kLeafCounts);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, FractionalWeightsStoreValuesAsDoubles) {
  // class_weight: counts times non-integer weights.
  std::mt19937_64 rng(5);
  Tree t = RandomClassifier(rng, 300, {2});
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    double* row = &t.values[i * 2];
    row[0] *= 0.7;
    row[1] *= 1.3;
    t.nodes[i].weighted_n_node_samples = row[0] + row[1];
    t.nodes[i].impurity = GiniOf(row, 1, 2, t.nodes[i].weighted_n_node_samples);
  }
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.values.form, FieldForm::kDoubles);
  EXPECT_EQ(c.weighted_n_node_samples.form, FieldForm::kValueSums);
  EXPECT_EQ(c.impurity.form, FieldForm::kGini);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, RegressorKeepsWhatCannotBeDerived) {
  std::mt19937_64 rng(6);
  Tree t = RandomClassifier(rng, 400, {1});
  std::normal_distribution<double> noise;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    t.values[i] = noise(rng);  // means, not sums
    t.nodes[i].impurity = std::abs(noise(rng));
    t.nodes[i].weighted_n_node_samples = static_cast<double>(t.nodes[i].n_node_samples);
  }
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.values.form, FieldForm::kDoubles);
  EXPECT_EQ(c.impurity.form, FieldForm::kDoubles);
  EXPECT_EQ(c.weighted_n_node_samples.form, FieldForm::kSampleCounts);
  ExpectSameBytes(Decode(ViewOf(c)), t);

  // Bootstrap weights: whole numbers that sum up the tree.
  for (size_t i = t.nodes.size(); i-- > 0;) {
    SklearnTreeNode& node = t.nodes[i];
    node.weighted_n_node_samples =
        node.left_child == -1
            ? static_cast<double>(node.n_node_samples + static_cast<int64_t>(i % 3))
            : t.nodes[static_cast<size_t>(node.left_child)].weighted_n_node_samples +
                  t.nodes[static_cast<size_t>(node.right_child)].weighted_n_node_samples;
  }
  c = MustEncode(t);
  EXPECT_EQ(c.weighted_n_node_samples.form, FieldForm::kLeafCounts);
  ExpectSameBytes(Decode(ViewOf(c)), t);

  // Fractional sample weights: stored.
  t.nodes[3].weighted_n_node_samples += 0.25;
  c = MustEncode(t);
  EXPECT_EQ(c.weighted_n_node_samples.form, FieldForm::kDoubles);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, SpecialFloatsRoundTrip) {
  std::mt19937_64 rng(7);
  Tree t = RandomClassifier(rng, 20, {2});
  t.nodes[0].threshold = std::numeric_limits<double>::quiet_NaN();
  t.values[5] = -0.0;  // not a whole count: values stored as doubles
  t.nodes[2].impurity = std::numeric_limits<double>::infinity();
  CompactTree c = MustEncode(t);
  EXPECT_EQ(c.values.form, FieldForm::kDoubles);
  EXPECT_EQ(c.impurity.form, FieldForm::kDoubles);
  ExpectSameBytes(Decode(ViewOf(c)), t);
}

TEST(TreeCodec, RefusesTreesOutsideTheAssumptions) {
  std::mt19937_64 rng(8);
  const Tree good = RandomClassifier(rng, 30, {2});
  auto refused = [](const Tree& t) {
    std::string why;
    const bool ok = EncodeTree(t.node_bytes(), t.value_bytes(), t.shape, &why).has_value();
    EXPECT_FALSE(why.empty() && !ok);
    return !ok;
  };
  EXPECT_FALSE(refused(good));

  // Best-first numbering: swap the numbers of two sibling subtrees' roots is
  // not pre-order any more. Simplest case: root's right child numbered 1.
  Tree best_first = RandomClassifier(rng, 2, {2});
  std::swap(best_first.nodes[0].left_child, best_first.nodes[0].right_child);
  EXPECT_TRUE(refused(best_first));

  Tree marker = good;
  for (auto& node : marker.nodes) {
    if (node.left_child == -1) {
      node.feature = 0;
      break;
    }
  }
  EXPECT_TRUE(refused(marker));

  Tree samples = good;
  samples.nodes[0].n_node_samples += 1;
  EXPECT_TRUE(refused(samples));

  Tree sizes = good;
  sizes.shape.node_count -= 1;
  EXPECT_TRUE(refused(sizes));
}

// --- hostile input to the decoder ----------------------------------------

struct Owned {
  CompactTree tree;
  CompactTreeView view;
};

Owned Valid() {
  std::mt19937_64 rng(9);
  Tree t = RandomClassifier(rng, 37, {2});  // 73 nodes: the last flag byte is partial
  Owned o{MustEncode(t), {}};
  o.view = ViewOf(o.tree);
  return o;
}

std::string DecodeError(const CompactTreeView& view, int64_t nodes = -1, int64_t values = -1) {
  const TreeShape& s = view.shape;
  const size_t n = nodes >= 0 ? static_cast<size_t>(nodes) : static_cast<size_t>(std::max<int64_t>(s.node_count, 0));
  const size_t v = values >= 0 ? static_cast<size_t>(values)
                               : n * static_cast<size_t>(std::max<int64_t>(s.n_outputs, 0) *
                                                         std::max<int64_t>(s.max_n_classes, 0));
  std::vector<SklearnTreeNode> node_out(std::min<size_t>(n, 1u << 20));
  std::vector<double> value_out(std::min<size_t>(v, 1u << 20));
  try {
    DecodeTree(view, std::as_writable_bytes(std::span(node_out)),
               std::as_writable_bytes(std::span(value_out)));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(TreeCodecHostile, ValidInputDecodes) { EXPECT_EQ(DecodeError(Valid().view), ""); }

TEST(TreeCodecHostile, Shapes) {
  Owned o = Valid();
  for (TreeShape s : {TreeShape{0, 1, 2}, TreeShape{-5, 1, 2}, TreeShape{int64_t{1} << 40, 1, 2},
                      TreeShape{73, 0, 2}, TreeShape{73, 1, 0},
                      TreeShape{73, int64_t{1} << 40, 2}}) {
    CompactTreeView v = o.view;
    v.shape = s;
    EXPECT_THAT(DecodeError(v), HasSubstr("compact tree"));
  }
  // Output spans of the wrong size.
  EXPECT_THAT(DecodeError(o.view, 72), HasSubstr("output arrays"));
  EXPECT_THAT(DecodeError(o.view, -1, 145), HasSubstr("output arrays"));
}

TEST(TreeCodecHostile, LeafFlags) {
  Owned o = Valid();
  std::vector<std::byte> bits(o.tree.leaf_bits);
  CompactTreeView v = o.view;
  v.leaf_bits = std::span(bits).first(bits.size() - 1);
  EXPECT_THAT(DecodeError(v), HasSubstr("leaf flags"));

  v = o.view;
  v.leaf_bits = bits;
  bits.back() |= std::byte{0x80};  // past node 72
  EXPECT_THAT(DecodeError(v), HasSubstr("past the last node"));

  // Right counts, wrong order: a forest (leaf first) and a trailing inner node.
  std::vector<std::byte> forest(bits.size(), std::byte{0});
  for (size_t i = 0; i < 37; ++i) forest[i / 8] |= std::byte{static_cast<uint8_t>(1u << (i % 8))};
  v.leaf_bits = forest;
  EXPECT_THAT(DecodeError(v), HasSubstr("more than one tree"));
  std::vector<std::byte> trailing(bits.size(), std::byte{0});
  for (size_t i = 36; i < 73; ++i) {
    if (i != 72) trailing[i / 8] |= std::byte{static_cast<uint8_t>(1u << (i % 8))};
  }
  trailing[0] |= std::byte{1};  // 37 leaves: node 0 is a leaf too -> more than one tree
  v.leaf_bits = trailing;
  EXPECT_THAT(DecodeError(v), HasSubstr("compact tree"));

  std::vector<std::byte> too_many(bits.size(), std::byte{0xff});
  too_many.back() = std::byte{0x01};
  v.leaf_bits = too_many;
  EXPECT_THAT(DecodeError(v), HasSubstr("full binary tree"));
}

TEST(TreeCodecHostile, ColumnSizesAndWidths) {
  Owned o = Valid();
  CompactTreeView v = o.view;
  v.feature.width = 3;
  EXPECT_THAT(DecodeError(v), HasSubstr("width"));
  v = o.view;
  v.feature.bytes = v.feature.bytes.first(v.feature.bytes.size() - 1);
  EXPECT_THAT(DecodeError(v), HasSubstr("feature"));
  v = o.view;
  v.threshold = v.threshold.first(8);
  EXPECT_THAT(DecodeError(v), HasSubstr("threshold"));
  v = o.view;
  v.n_node_samples.width = 8;  // same bytes read as fewer, wider entries
  EXPECT_THAT(DecodeError(v), HasSubstr("n_node_samples"));
  v = o.view;
  v.values.counts.bytes = v.values.counts.bytes.first(10);
  EXPECT_THAT(DecodeError(v), HasSubstr("values"));
  v = o.view;
  v.values.form = FieldForm::kDoubles;  // no doubles given
  EXPECT_THAT(DecodeError(v), HasSubstr("values"));
  v = o.view;
  v.values.form = FieldForm::kGini;
  EXPECT_THAT(DecodeError(v), HasSubstr("not allowed"));
  v = o.view;
  v.impurity.form = FieldForm::kValueSums;
  EXPECT_THAT(DecodeError(v), HasSubstr("not allowed"));
  v = o.view;
  v.impurity.form = FieldForm::kLeafCounts;
  EXPECT_THAT(DecodeError(v), HasSubstr("not allowed"));
}

TEST(TreeCodecHostile, Overflow) {
  Owned o = Valid();
  std::vector<std::byte> huge(37 * 8);
  for (size_t i = 0; i < 37; ++i) {
    const uint64_t x = uint64_t{1} << 62;
    std::memcpy(&huge[i * 8], &x, 8);
  }
  CompactTreeView v = o.view;
  v.n_node_samples = {8, huge};
  EXPECT_THAT(DecodeError(v), HasSubstr("overflows"));
  std::vector<std::byte> too_big(37 * 8, std::byte{0xff});
  v.n_node_samples = {8, too_big};
  EXPECT_THAT(DecodeError(v), HasSubstr("exceeds int64"));
  v = o.view;
  std::vector<std::byte> features(36 * 8, std::byte{0xff});
  v.feature = {8, features};
  EXPECT_THAT(DecodeError(v), HasSubstr("exceeds int64"));
}

// Random corruption of every part of a valid compact tree: the decoder
// either succeeds or throws ark::Error; it never crashes (run under ASan).
TEST(TreeCodecHostile, RandomCorruption) {
  std::mt19937_64 rng(10);
  for (int round = 0; round < 3000; ++round) {
    Tree t = RandomClassifier(rng, std::uniform_int_distribution<int>(1, 40)(rng), {2});
    CompactTree c = MustEncode(t);
    auto flip = [&](std::vector<std::byte>& bytes) {
      if (bytes.empty()) return;
      bytes[rng() % bytes.size()] ^= std::byte{static_cast<uint8_t>(1u << (rng() % 8))};
    };
    switch (rng() % 6) {
      case 0:
        flip(c.leaf_bits);
        break;
      case 1:
        flip(c.feature.bytes);
        break;
      case 2:
        flip(c.n_node_samples.bytes);
        break;
      case 3:
        flip(c.values.counts.bytes);
        break;
      case 4:
        c.values.counts.width = 1 << (rng() % 4);
        break;
      default:
        c.shape.node_count += static_cast<int64_t>(rng() % 5) - 2;
    }
    (void)DecodeError(ViewOf(c));
  }
}

TEST(TreeCodec, DerivedFormNames) {
  for (FieldForm f : {FieldForm::kGini, FieldForm::kValueSums, FieldForm::kSampleCounts}) {
    EXPECT_EQ(ParseDerivedForm(DerivedFormName(f)), f);
  }
  EXPECT_EQ(DerivedFormName(FieldForm::kDoubles), nullptr);
  EXPECT_EQ(ParseDerivedForm("entropy"), std::nullopt);
}

}  // namespace
}  // namespace ark::model
