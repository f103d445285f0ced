#include "hist_bitvector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <immintrin.h>

namespace ark::runtime {

namespace {

constexpr size_t kMaxLeaves = 64;

struct Entry {
  double threshold;
  uint32_t feature;
  uint32_t tree;
  uint64_t keep;
  bool nan_left;
};

// Numbers the leaves of one tree left to right and records, for each split,
// the leaves that survive it being false (all but its left subtree's).
// Iterative (a file's tree depth costs no C stack). False when the tree has
// too many leaves or is not a tree.
bool CollectTree(const LeafBitvectors::TreeView& t, uint32_t tree, std::vector<Entry>& entries,
                 std::vector<double>& leaf_values) {
  const size_t n = t.node_count;
  std::vector<uint32_t> first(n, 0), end(n, 0);  // leaf range [first, end) under each node
  std::vector<uint8_t> state(n, 0);              // 0 new, 1 left done, 2 done
  std::vector<uint32_t> stack{0};
  uint32_t leaves = 0;
  const size_t first_value = leaf_values.size();
  while (!stack.empty()) {
    const uint32_t i = stack.back();
    if (i >= n) return false;
    if (t.is_leaf[i]) {
      if (leaves == kMaxLeaves) return false;
      first[i] = leaves;
      end[i] = ++leaves;
      leaf_values.push_back(t.leaf_value[i]);
      state[i] = 2;
      stack.pop_back();
      continue;
    }
    if (state[i] == 0) {
      state[i] = 1;
      stack.push_back(t.left[i]);
    } else if (state[i] == 1) {
      state[i] = 3;
      first[i] = first[t.left[i]];
      stack.push_back(t.right[i]);
    } else {
      end[i] = end[t.right[i]];
      const uint32_t lo = first[i], hi = end[t.left[i]];
      const uint64_t span = hi - lo == 64 ? ~uint64_t{0} : ((uint64_t{1} << (hi - lo)) - 1);
      if (std::isnan(t.threshold[i])) return false;
      entries.push_back({t.threshold[i], t.feature[i], tree, ~(span << lo), t.nan_left[i] != 0});
      state[i] = 2;
      stack.pop_back();
    }
    if (stack.size() > n) return false;
  }
  (void)first_value;
  return true;
}

}  // namespace

bool LeafBitvectors::Build(size_t n_features, const std::vector<TreeView>& trees) {
  std::vector<Entry> entries;
  std::vector<double> leaf_values;
  std::vector<uint32_t> first_leaf, column;
  for (size_t t = 0; t < trees.size(); ++t) {
    first_leaf.push_back(static_cast<uint32_t>(leaf_values.size()));
    column.push_back(trees[t].column);
    if (!CollectTree(trees[t], static_cast<uint32_t>(t), entries, leaf_values)) return false;
  }
  for (const Entry& e : entries) {
    if (e.feature >= n_features) return false;
  }
  // By feature, then threshold; equal thresholds keep tree order (any order
  // is correct: the clears commute).
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.feature != b.feature ? a.feature < b.feature : a.threshold < b.threshold;
  });
  n_features_ = n_features;
  feature_begin_.assign(n_features + 1, 0);
  nan_begin_.assign(n_features + 1, 0);
  thresholds_.clear();
  clear_.clear();
  nan_clear_.clear();
  size_t k = 0;
  for (size_t f = 0; f < n_features; ++f) {
    feature_begin_[f] = static_cast<uint32_t>(thresholds_.size());
    nan_begin_[f] = static_cast<uint32_t>(nan_clear_.size());
    for (; k < entries.size() && entries[k].feature == f; ++k) {
      thresholds_.push_back(entries[k].threshold);
      clear_.push_back({entries[k].keep, entries[k].tree});
      if (!entries[k].nan_left) nan_clear_.push_back({entries[k].keep, entries[k].tree});
    }
  }
  feature_begin_[n_features] = static_cast<uint32_t>(thresholds_.size());
  nan_begin_[n_features] = static_cast<uint32_t>(nan_clear_.size());
  column_ = std::move(column);
  first_leaf_ = std::move(first_leaf);
  leaf_values_ = std::move(leaf_values);
  return true;
}

bool LeafBitvectors::HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

// Eight rows at once: lane l of alive[t] is row l's bitvector of tree t. A
// feature's scan stops at the first threshold no lane's value exceeds.
__attribute__((target("avx512f"))) void LeafBitvectors::AccumulateEightRows(
    const double* x, size_t x_stride, double* out, size_t out_stride, EightLanes* lanes_of_tree) const {
  constexpr size_t kLanes = 8;
  __m512i* alive = reinterpret_cast<__m512i*>(lanes_of_tree);
  const size_t n_trees = column_.size();
  const __m512i all = _mm512_set1_epi64(-1);
  for (size_t t = 0; t < n_trees; ++t) _mm512_store_si512(alive + t, all);
  alignas(64) double xv[kLanes];
  for (size_t f = 0; f < n_features_; ++f) {
    for (size_t l = 0; l < kLanes; ++l) xv[l] = x[l * x_stride + f];
    const __m512d v = _mm512_load_pd(xv);
    const uint32_t end = feature_begin_[f + 1];
    for (uint32_t k = feature_begin_[f]; k < end; ++k) {
      // threshold < x, false for NaN lanes (ordered, quiet).
      const __mmask8 lt = _mm512_cmp_pd_mask(_mm512_set1_pd(thresholds_[k]), v, _CMP_LT_OQ);
      if (lt == 0) break;
      __m512i* a = alive + clear_[k].tree;
      _mm512_store_si512(
          a, _mm512_mask_and_epi64(_mm512_load_si512(a), lt, _mm512_load_si512(a),
                                   _mm512_set1_epi64(static_cast<long long>(clear_[k].keep))));
    }
    const __mmask8 nan = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
    if (nan != 0) {
      for (uint32_t k = nan_begin_[f]; k < nan_begin_[f + 1]; ++k) {
        __m512i* a = alive + nan_clear_[k].tree;
        _mm512_store_si512(
            a, _mm512_mask_and_epi64(_mm512_load_si512(a), nan, _mm512_load_si512(a),
                                     _mm512_set1_epi64(static_cast<long long>(nan_clear_[k].keep))));
      }
    }
  }
  for (size_t t = 0; t < n_trees; ++t) {
    alignas(64) uint64_t lanes[kLanes];
    _mm512_store_si512(lanes, alive[t]);
    const double* values = leaf_values_.data() + first_leaf_[t];
    double* o = out + column_[t];
    for (size_t l = 0; l < kLanes; ++l) {
      o[l * out_stride] += values[__builtin_ctzll(lanes[l])];
    }
  }
}

void LeafBitvectors::Accumulate(const double* x, size_t rows, size_t x_stride, double* out,
                                size_t out_stride) const {
  const size_t n_trees = column_.size();
  if (HasAvx512() && rows >= 8) {
    std::vector<EightLanes> alive(n_trees);
    size_t r = 0;
    for (; r + 8 <= rows; r += 8) {
      AccumulateEightRows(x + r * x_stride, x_stride, out + r * out_stride, out_stride,
                          alive.data());
    }
    x += r * x_stride;
    out += r * out_stride;
    rows -= r;
  }
  std::vector<uint64_t> alive(n_trees);
  for (size_t r = 0; r < rows; ++r) {
    const double* xr = x + r * x_stride;
    std::fill(alive.begin(), alive.end(), ~uint64_t{0});
    uint64_t* a = alive.data();
    for (size_t f = 0; f < n_features_; ++f) {
      const double v = xr[f];
      if (v != v) {
        for (uint32_t k = nan_begin_[f]; k < nan_begin_[f + 1]; ++k) {
          a[nan_clear_[k].tree] &= nan_clear_[k].keep;
        }
        continue;
      }
      const uint32_t end = feature_begin_[f + 1];
      for (uint32_t k = feature_begin_[f]; k < end && thresholds_[k] < v; ++k) {
        a[clear_[k].tree] &= clear_[k].keep;
      }
    }
    double* o = out + r * out_stride;
    for (size_t t = 0; t < n_trees; ++t) {
      o[column_[t]] += leaf_values_[first_leaf_[t] + static_cast<uint32_t>(__builtin_ctzll(a[t]))];
    }
  }
}

}  // namespace ark::runtime
