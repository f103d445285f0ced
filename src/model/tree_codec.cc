#include "ark/model/tree_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "ark/format/error.h"

namespace ark::model {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the compact tree encoding reads little-endian integers in place");

constexpr size_t kRecord = sizeof(SklearnTreeNode);
constexpr int64_t kTreeLeaf = -1;       // sklearn.tree._tree.TREE_LEAF
constexpr int64_t kTreeUndefined = -2;  // sklearn.tree._tree.TREE_UNDEFINED
constexpr double kUndefinedThreshold = -2.0;
constexpr int64_t kMaxNodes = int64_t{1} << 31;  // as sklearn_checks.h
constexpr int64_t kMaxDim = int64_t{1} << 31;
constexpr double kMaxWhole = 9007199254740992.0;  // 2^53: larger doubles are not all integers

// Field offsets inside a record.
constexpr size_t kRightOffset = offsetof(SklearnTreeNode, right_child);
constexpr size_t kImpurityOffset = offsetof(SklearnTreeNode, impurity);
constexpr size_t kSamplesOffset = offsetof(SklearnTreeNode, n_node_samples);
constexpr size_t kWeightOffset = offsetof(SklearnTreeNode, weighted_n_node_samples);

[[noreturn]] void Fail(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "compact tree: " + what);
}

template <typename T>
T Load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void Store(std::byte* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

bool SameBits(double a, double b) { return Bits(a) == Bits(b); }

uint64_t LoadUint(const std::byte* base, size_t index, int width) {
  const std::byte* p = base + index * static_cast<size_t>(width);
  switch (width) {
    case 1:
      return Load<uint8_t>(p);
    case 2:
      return Load<uint16_t>(p);
    case 4:
      return Load<uint32_t>(p);
    default:
      return Load<uint64_t>(p);
  }
}

int WidthFor(uint64_t max) {
  if (max <= std::numeric_limits<uint8_t>::max()) return 1;
  if (max <= std::numeric_limits<uint16_t>::max()) return 2;
  if (max <= std::numeric_limits<uint32_t>::max()) return 4;
  return 8;
}

PackedUints Pack(const std::vector<uint64_t>& values) {
  uint64_t max = 0;
  for (uint64_t v : values) max = std::max(max, v);
  PackedUints out;
  out.width = WidthFor(max);
  out.bytes.resize(values.size() * static_cast<size_t>(out.width));
  std::byte* p = out.bytes.data();
  for (uint64_t v : values) {
    switch (out.width) {
      case 1:
        Store(p, static_cast<uint8_t>(v));
        break;
      case 2:
        Store(p, static_cast<uint16_t>(v));
        break;
      case 4:
        Store(p, static_cast<uint32_t>(v));
        break;
      default:
        Store(p, v);
    }
    p += out.width;
  }
  return out;
}

// A whole number a double holds exactly, >= +0.0 (not -0.0, not NaN).
bool IsWholeCount(double v) {
  if (!(v >= 0.0 && v <= kMaxWhole)) return false;
  return SameBits(static_cast<double>(static_cast<uint64_t>(v)), v);
}

// scikit-learn's Gini.node_impurity / children_impurity for one node: per
// output, 1 - (sum of squared class counts) / weight^2, averaged over the
// outputs, in the same order of operations (the padding classes of
// outputs with fewer classes add +0.0, which changes nothing).
double Gini(const std::byte* row, int64_t n_outputs, int64_t n_classes, double weight) {
  double gini = 0.0;
  for (int64_t k = 0; k < n_outputs; ++k) {
    double sq_count = 0.0;
    for (int64_t c = 0; c < n_classes; ++c) {
      const double count = Load<double>(row + static_cast<size_t>(k * n_classes + c) * 8);
      sq_count += count * count;
    }
    gini += 1.0 - sq_count / (weight * weight);
  }
  // Dividing by 1.0 is exact in IEEE-754 (NaNs pass through): skip the
  // slow division for the common single-output tree.
  return n_outputs == 1 ? gini : gini / static_cast<double>(n_outputs);
}

double ValueSum(const std::byte* row, int64_t n_classes) {
  double sum = 0.0;
  for (int64_t c = 0; c < n_classes; ++c) sum += Load<double>(row + static_cast<size_t>(c) * 8);
  return sum;
}

// Checked sizes of a shape: values per node and in all.
struct Sizes {
  size_t nodes = 0;
  size_t row = 0;
  size_t values = 0;
};

std::optional<Sizes> SizesOf(const TreeShape& s) {
  if (s.node_count < 1 || s.node_count >= kMaxNodes || s.n_outputs < 1 || s.n_outputs >= kMaxDim ||
      s.max_n_classes < 1 || s.max_n_classes >= kMaxDim) {
    return std::nullopt;
  }
  Sizes out;
  out.nodes = static_cast<size_t>(s.node_count);
  out.row = static_cast<size_t>(s.n_outputs) * static_cast<size_t>(s.max_n_classes);
  if (__builtin_mul_overflow(out.row, out.nodes, &out.values) || out.values > (SIZE_MAX >> 4)) {
    return std::nullopt;
  }
  return out;
}

void CheckUints(const UintsView& v, size_t count, const char* what) {
  if (v.width != 1 && v.width != 2 && v.width != 4 && v.width != 8) {
    Fail(std::string(what) + ": integer width " + std::to_string(v.width) +
         " is not 1, 2, 4 or 8");
  }
  if (v.bytes.size() != count * static_cast<size_t>(v.width)) {
    Fail(std::string(what) + ": " + std::to_string(v.bytes.size() / static_cast<size_t>(v.width)) +
         " entries, expected " + std::to_string(count));
  }
}

void CheckDoubles(std::span<const std::byte> v, size_t count, const char* what) {
  if (v.size() != count * 8) {
    Fail(std::string(what) + ": " + std::to_string(v.size() / 8) + " float64 entries, expected " +
         std::to_string(count));
  }
}

void CheckField(const FieldView& f, std::initializer_list<FieldForm> allowed, size_t per_node,
                size_t n_nodes, size_t n_leaves, const char* what) {
  if (std::find(allowed.begin(), allowed.end(), f.form) == allowed.end()) {
    Fail(std::string(what) + ": this form is not allowed for the field");
  }
  if (f.form == FieldForm::kDoubles) CheckDoubles(f.doubles, n_nodes * per_node, what);
  if (f.form == FieldForm::kLeafCounts) CheckUints(f.counts, n_leaves * per_node, what);
}

int64_t CheckedSum(int64_t a, int64_t b, const char* what) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) Fail(std::string(what) + ": a sum overflows");
  return sum;
}

}  // namespace

const char* DerivedFormName(FieldForm form) {
  switch (form) {
    case FieldForm::kGini:
      return "gini";
    case FieldForm::kValueSums:
      return "values";
    case FieldForm::kSampleCounts:
      return "n_node_samples";
    default:
      return nullptr;
  }
}

std::optional<FieldForm> ParseDerivedForm(std::string_view name) {
  for (FieldForm f : {FieldForm::kGini, FieldForm::kValueSums, FieldForm::kSampleCounts}) {
    if (name == DerivedFormName(f)) return f;
  }
  return std::nullopt;
}

CompactTreeView ViewOf(const CompactTree& t) {
  auto uints = [](const PackedUints& p) { return UintsView{p.width, p.bytes}; };
  auto doubles = [](const std::vector<double>& v) {
    return std::as_bytes(std::span<const double>(v));
  };
  auto field = [&](const CompactField& f) {
    return FieldView{f.form, uints(f.counts), doubles(f.doubles)};
  };
  CompactTreeView v;
  v.shape = t.shape;
  v.leaf_bits = t.leaf_bits;
  v.feature = uints(t.feature);
  v.threshold = doubles(t.threshold);
  v.n_node_samples = uints(t.n_node_samples);
  v.impurity = field(t.impurity);
  v.weighted_n_node_samples = field(t.weighted_n_node_samples);
  v.values = field(t.values);
  return v;
}

size_t CheckCompactTree(const CompactTreeView& t) {
  const std::optional<Sizes> sizes = SizesOf(t.shape);
  if (!sizes) Fail("node_count, n_outputs or max_n_classes out of range");
  const size_t n = sizes->nodes;
  const size_t row = sizes->row;

  // Leaf flags: ceil(n / 8) bytes, unused bits clear, one more leaf than
  // inner nodes.
  if (t.leaf_bits.size() != (n + 7) / 8) {
    Fail("the leaf flags have " + std::to_string(t.leaf_bits.size()) + " bytes, expected " +
         std::to_string((n + 7) / 8));
  }
  size_t n_leaves = 0;
  for (std::byte b : t.leaf_bits) n_leaves += static_cast<size_t>(std::popcount(static_cast<uint8_t>(b)));
  if (n % 8 != 0 && (static_cast<uint8_t>(t.leaf_bits.back()) >> (n % 8)) != 0) {
    Fail("the leaf flags set bits past the last node");
  }
  if (n_leaves != n - n_leaves + 1) Fail("the leaf flags do not describe a full binary tree");
  const size_t n_inner = n - n_leaves;
  CheckUints(t.feature, n_inner, "feature");
  CheckDoubles(t.threshold, n_inner, "threshold");
  CheckUints(t.n_node_samples, n_leaves, "n_node_samples");
  CheckField(t.impurity, {FieldForm::kDoubles, FieldForm::kGini}, 1, n, n_leaves, "impurity");
  CheckField(t.weighted_n_node_samples,
             {FieldForm::kDoubles, FieldForm::kLeafCounts, FieldForm::kValueSums,
              FieldForm::kSampleCounts},
             1, n, n_leaves, "weighted_n_node_samples");
  CheckField(t.values, {FieldForm::kDoubles, FieldForm::kLeafCounts}, row, n, n_leaves, "values");
  return n_leaves;
}

void DecodeTree(const CompactTreeView& t, std::span<std::byte> nodes_out,
                std::span<std::byte> values_out) {
  const size_t n_leaves = CheckCompactTree(t);
  const Sizes sizes = *SizesOf(t.shape);
  const size_t n = sizes.nodes;
  const size_t row = sizes.row;
  const size_t n_inner = n - n_leaves;
  if (nodes_out.size() != n * kRecord || values_out.size() != sizes.values * 8) {
    Fail("output arrays do not match node_count, n_outputs and max_n_classes");
  }

  std::byte* const nodes = nodes_out.data();
  std::byte* const values = values_out.data();
  const FieldView& weights = t.weighted_n_node_samples;
  const bool value_counts = t.values.form == FieldForm::kLeafCounts;
  const bool weight_counts = weights.form == FieldForm::kLeafCounts;
  if (!value_counts) std::memcpy(values, t.values.doubles.data(), values_out.size());

  // Pass 1, in node order: the shape from the leaf flags (an inner node's
  // left child is the next node; a node after a leaf is the right child of
  // the nearest inner node still waiting for one), and every leaf's data.
  std::vector<int32_t> waiting;
  size_t inner_k = 0;
  size_t leaf_k = 0;
  bool previous_inner = false;
  for (size_t i = 0; i < n; ++i) {
    const bool leaf = (static_cast<uint8_t>(t.leaf_bits[i / 8]) >> (i % 8)) & 1;
    if (i > 0 && !previous_inner) {
      if (waiting.empty()) Fail("the leaf flags describe more than one tree");
      Store(nodes + static_cast<size_t>(waiting.back()) * kRecord + kRightOffset,
            static_cast<int64_t>(i));
      waiting.pop_back();
    }
    SklearnTreeNode node{};
    // The counts were checked above; checking again keeps every read inside
    // its span even if the flags changed meanwhile (shared memory).
    if (leaf ? leaf_k >= n_leaves : inner_k >= n_inner) {
      Fail("the leaf flags changed while decoding");
    }
    if (leaf) {
      node.left_child = kTreeLeaf;
      node.right_child = kTreeLeaf;
      node.feature = kTreeUndefined;
      node.threshold = kUndefinedThreshold;
      const uint64_t samples = LoadUint(t.n_node_samples.bytes.data(), leaf_k, t.n_node_samples.width);
      if (samples > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Fail("n_node_samples: a count exceeds int64");
      }
      node.n_node_samples = static_cast<int64_t>(samples);
      if (weight_counts) {
        node.weighted_n_node_samples =
            static_cast<double>(LoadUint(weights.counts.bytes.data(), leaf_k, weights.counts.width));
      }
      if (value_counts) {
        std::byte* out = values + i * row * 8;
        const size_t base = leaf_k * row;
        for (size_t j = 0; j < row; ++j) {
          Store(out + j * 8, static_cast<double>(LoadUint(t.values.counts.bytes.data(), base + j,
                                                           t.values.counts.width)));
        }
      }
      ++leaf_k;
    } else {
      node.left_child = static_cast<int64_t>(i) + 1;
      node.right_child = kTreeLeaf;  // set when its right child comes
      const uint64_t feature = LoadUint(t.feature.bytes.data(), inner_k, t.feature.width);
      if (feature > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Fail("feature: an index exceeds int64");
      }
      node.feature = static_cast<int64_t>(feature);
      node.threshold = Load<double>(t.threshold.data() + inner_k * 8);
      waiting.push_back(static_cast<int32_t>(i));
      ++inner_k;
    }
    Store(nodes + i * kRecord, node);
    previous_inner = !leaf;
  }
  if (!waiting.empty()) Fail("the leaf flags leave an inner node without a right child");

  // Pass 2, from the last node to the first (children follow their parent):
  // inner nodes' sums, then the derived fields of every node.
  const bool impurity_doubles = t.impurity.form == FieldForm::kDoubles;
  for (size_t i = n; i-- > 0;) {
    std::byte* rec = nodes + i * kRecord;
    std::byte* vrow = values + i * row * 8;
    const int64_t left = Load<int64_t>(rec);
    if (left != kTreeLeaf) {
      const size_t l = static_cast<size_t>(left);
      const size_t r = static_cast<size_t>(Load<int64_t>(rec + kRightOffset));
      const std::byte* lrec = nodes + l * kRecord;
      const std::byte* rrec = nodes + r * kRecord;
      Store(rec + kSamplesOffset,
            CheckedSum(Load<int64_t>(lrec + kSamplesOffset), Load<int64_t>(rrec + kSamplesOffset),
                       "n_node_samples"));
      if (weight_counts) {
        Store(rec + kWeightOffset,
              Load<double>(lrec + kWeightOffset) + Load<double>(rrec + kWeightOffset));
      }
      if (value_counts) {
        const std::byte* lrow = values + l * row * 8;
        const std::byte* rrow = values + r * row * 8;
        for (size_t j = 0; j < row; ++j) {
          Store(vrow + j * 8, Load<double>(lrow + j * 8) + Load<double>(rrow + j * 8));
        }
      }
    }
    switch (weights.form) {
      case FieldForm::kDoubles:
        Store(rec + kWeightOffset, Load<double>(weights.doubles.data() + i * 8));
        break;
      case FieldForm::kValueSums:
        Store(rec + kWeightOffset, ValueSum(vrow, t.shape.max_n_classes));
        break;
      case FieldForm::kSampleCounts:
        Store(rec + kWeightOffset, static_cast<double>(Load<int64_t>(rec + kSamplesOffset)));
        break;
      default:
        break;
    }
    Store(rec + kImpurityOffset,
          impurity_doubles ? Load<double>(t.impurity.doubles.data() + i * 8)
                           : Gini(vrow, t.shape.n_outputs, t.shape.max_n_classes,
                                  Load<double>(rec + kWeightOffset)));
  }
}

std::optional<CompactTree> EncodeTree(std::span<const std::byte> nodes,
                                      std::span<const std::byte> values, const TreeShape& shape,
                                      std::string* why_not) {
  auto refuse = [why_not](const char* reason) -> std::optional<CompactTree> {
    if (why_not != nullptr) *why_not = reason;
    return std::nullopt;
  };
  const std::optional<Sizes> sizes = SizesOf(shape);
  if (!sizes) return refuse("node_count, n_outputs or max_n_classes out of range");
  const size_t n = sizes->nodes;
  const size_t row = sizes->row;
  if (nodes.size() != n * kRecord || values.size() != sizes->values * 8) {
    return refuse("the arrays do not match the shape");
  }
  const std::byte* const recs = nodes.data();
  const std::byte* const vals = values.data();

  CompactTree out;
  out.shape = shape;
  out.leaf_bits.assign((n + 7) / 8, std::byte{0});
  std::vector<uint64_t> features;
  std::vector<uint64_t> leaf_samples;
  std::vector<uint64_t> leaf_values;
  std::vector<uint64_t> leaf_weights;
  features.reserve(n / 2);
  out.threshold.reserve(n / 2);
  leaf_samples.reserve(n / 2 + 1);
  leaf_values.reserve((n / 2 + 1) * row);
  leaf_weights.reserve(n / 2 + 1);
  std::vector<int32_t> waiting;

  // One pass in node order: the shape (pre-order, checked with the same
  // stack the decoder uses), the leaf markers, and which derivations hold.
  bool value_counts = true;
  bool weight_counts = true;
  bool weight_value_sums = true;
  bool weight_samples = true;
  bool gini = true;
  bool previous_inner = false;
  for (size_t i = 0; i < n; ++i) {
    const SklearnTreeNode node = Load<SklearnTreeNode>(recs + i * kRecord);
    const std::byte* vrow = vals + i * row * 8;
    const double weight = node.weighted_n_node_samples;
    if (i > 0 && !previous_inner) {
      if (waiting.empty()) return refuse("the nodes are not one tree in depth-first order");
      if (Load<int64_t>(recs + static_cast<size_t>(waiting.back()) * kRecord + kRightOffset) !=
          static_cast<int64_t>(i)) {
        return refuse("the nodes are not numbered in depth-first pre-order");
      }
      waiting.pop_back();
    }
    if (node.left_child == kTreeLeaf) {
      if (node.right_child != kTreeLeaf || node.feature != kTreeUndefined ||
          !SameBits(node.threshold, kUndefinedThreshold) || node.n_node_samples < 0) {
        return refuse("a leaf lacks scikit-learn's TREE_LEAF / TREE_UNDEFINED markers");
      }
      out.leaf_bits[i / 8] |= std::byte{static_cast<uint8_t>(1u << (i % 8))};
      leaf_samples.push_back(static_cast<uint64_t>(node.n_node_samples));
      if (value_counts) {
        for (size_t j = 0; j < row; ++j) {
          const double v = Load<double>(vrow + j * 8);
          if (!IsWholeCount(v)) {
            value_counts = false;
            break;
          }
          leaf_values.push_back(static_cast<uint64_t>(v));
        }
      }
      if (weight_counts) {
        if (IsWholeCount(weight)) {
          leaf_weights.push_back(static_cast<uint64_t>(weight));
        } else {
          weight_counts = false;
        }
      }
      previous_inner = false;
    } else {
      // Children: the next node, and one further on (checked in range here;
      // that it is the right node is checked when the stack reaches it).
      if (node.left_child != static_cast<int64_t>(i) + 1 ||
          node.right_child <= node.left_child || node.right_child >= static_cast<int64_t>(n)) {
        return refuse("the nodes are not numbered in depth-first pre-order");
      }
      if (node.feature < 0 || node.feature > std::numeric_limits<uint32_t>::max()) {
        return refuse("a feature index is negative or too large");
      }
      features.push_back(static_cast<uint64_t>(node.feature));
      out.threshold.push_back(node.threshold);
      waiting.push_back(static_cast<int32_t>(i));
      previous_inner = true;

      const size_t l = i + 1;
      const size_t r = static_cast<size_t>(node.right_child);
      const SklearnTreeNode left = Load<SklearnTreeNode>(recs + l * kRecord);
      const SklearnTreeNode right = Load<SklearnTreeNode>(recs + r * kRecord);
      int64_t samples = 0;
      if (__builtin_add_overflow(left.n_node_samples, right.n_node_samples, &samples) ||
          samples != node.n_node_samples) {
        return refuse("an inner node's n_node_samples is not the sum of its children's");
      }
      if (weight_counts && !SameBits(weight, left.weighted_n_node_samples +
                                                 right.weighted_n_node_samples)) {
        weight_counts = false;
      }
      if (value_counts) {
        const std::byte* lrow = vals + l * row * 8;
        const std::byte* rrow = vals + r * row * 8;
        for (size_t j = 0; j < row; ++j) {
          if (!SameBits(Load<double>(vrow + j * 8),
                        Load<double>(lrow + j * 8) + Load<double>(rrow + j * 8))) {
            value_counts = false;
            break;
          }
        }
      }
    }
    if (weight_value_sums && !SameBits(weight, ValueSum(vrow, shape.max_n_classes))) {
      weight_value_sums = false;
    }
    if (weight_samples && !SameBits(weight, static_cast<double>(node.n_node_samples))) {
      weight_samples = false;
    }
    if (gini &&
        !SameBits(node.impurity, Gini(vrow, shape.n_outputs, shape.max_n_classes, weight))) {
      gini = false;
    }
  }
  if (!waiting.empty()) return refuse("an inner node has no right child");

  out.feature = Pack(features);
  out.n_node_samples = Pack(leaf_samples);
  auto all_doubles = [&](const std::byte* base, size_t stride, size_t offset, size_t per_node) {
    std::vector<double> v(n * per_node);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < per_node; ++j) {
        v[i * per_node + j] = Load<double>(base + i * stride + offset + j * 8);
      }
    }
    return v;
  };
  if (gini) {
    out.impurity.form = FieldForm::kGini;
  } else {
    out.impurity.doubles = all_doubles(recs, kRecord, kImpurityOffset, 1);
  }
  if (weight_value_sums) {
    out.weighted_n_node_samples.form = FieldForm::kValueSums;
  } else if (weight_samples) {
    out.weighted_n_node_samples.form = FieldForm::kSampleCounts;
  } else if (weight_counts) {
    out.weighted_n_node_samples.form = FieldForm::kLeafCounts;
    out.weighted_n_node_samples.counts = Pack(leaf_weights);
  } else {
    out.weighted_n_node_samples.doubles = all_doubles(recs, kRecord, kWeightOffset, 1);
  }
  if (value_counts) {
    out.values.form = FieldForm::kLeafCounts;
    out.values.counts = Pack(leaf_values);
  } else {
    out.values.doubles = all_doubles(vals, row * 8, 0, row);
  }

  // The guarantee: decoding gives back the input, byte for byte. The
  // scratch space is reused across calls (fresh pages cost more than the
  // decoding itself) unless it grew large.
  thread_local std::vector<std::byte> scratch;
  const size_t scratch_size = nodes.size() + values.size();
  if (scratch.size() < scratch_size) scratch.resize(scratch_size);
  const std::span<std::byte> nodes_back(scratch.data(), nodes.size());
  const std::span<std::byte> values_back(scratch.data() + nodes.size(), values.size());
  bool same = false;
  try {
    DecodeTree(ViewOf(out), nodes_back, values_back);
    same = std::memcmp(nodes_back.data(), recs, nodes.size()) == 0 &&
           std::memcmp(values_back.data(), vals, values.size()) == 0;
  } catch (const Error&) {
    same = false;
  }
  constexpr size_t kKeptScratch = size_t{64} << 20;
  if (scratch.size() > kKeptScratch) std::vector<std::byte>().swap(scratch);
  if (!same) return refuse("the encoding does not decode to the same bytes");
  return out;
}

}  // namespace ark::model
