#include "tree_walk_avx512.h"

#include <immintrin.h>

// GCC 12's AVX-512 gather and extract intrinsics start from an undefined
// register, which its uninitialized-use warnings flag inside the headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <atomic>

#define ARK_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

namespace ark::runtime::avx512 {

namespace {

using Node = TreeEnsemble::CompactNode;

constexpr int kFarMask = (1 << TreeEnsemble::kCompactFarBits) - 1;
constexpr int kFeatureMask = (1 << TreeEnsemble::kCompactFeatureBits) - 1;
constexpr int kLeafMask = (1 << TreeEnsemble::kCompactLeafBits) - 1;

// Sixteen nodes, split into their two words.
struct Nodes16 {
  __m512 threshold;
  __m512i word;
};

// The nodes at the sixteen indices: two gathers of eight whole nodes, then
// the thresholds and the words picked out of them.
ARK_AVX512 inline Nodes16 Fetch(const Node* nodes, __m512i idx) {
  const __m512i lo = _mm512_i32gather_epi64(_mm512_castsi512_si256(idx), nodes, 8);
  const __m512i hi = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(idx, 1), nodes, 8);
  const __m512i even =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  return {_mm512_castsi512_ps(_mm512_permutex2var_epi32(lo, even, hi)),
          _mm512_permutex2var_epi32(lo, odd, hi)};
}

ARK_AVX512 inline __m512i Feature(__m512i word) {
  return _mm512_and_si512(_mm512_srli_epi32(word, TreeEnsemble::kCompactFarBits),
                          _mm512_set1_epi32(kFeatureMask));
}

// Lanes not yet on a leaf.
ARK_AVX512 inline __mmask16 Moving(const Nodes16& n) {
  return _mm512_test_epi32_mask(n.word, _mm512_set1_epi32(kFarMask));
}

// The lanes whose walk goes on to the stored-next child, given the value of
// each lane's split feature (at a leaf: none).
template <bool kNan>
ARK_AVX512 inline __mmask16 TakesNext(const Nodes16& n, __m512 v) {
  __mmask16 left = _mm512_cmp_ps_mask(v, n.threshold, _CMP_LE_OQ);
  if constexpr (kNan) {
    const __mmask16 nan_left = _mm512_test_epi32_mask(
        n.word, _mm512_set1_epi32(static_cast<int>(TreeEnsemble::kNanLeft)));
    left |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & nan_left;
  }
  const __mmask16 hot_left = _mm512_movepi32_mask(n.word);  // kHotLeft is bit 31
  return static_cast<__mmask16>(~(left ^ hot_left));
}

// One step of every lane.
template <bool kNan>
ARK_AVX512 inline __m512i Next(__m512i idx, const Nodes16& n, __m512 v) {
  const __m512i far = _mm512_and_si512(n.word, _mm512_set1_epi32(kFarMask));
  return _mm512_add_epi32(
      idx, _mm512_mask_blend_epi32(TakesNext<kNan>(n, v), far, _mm512_set1_epi32(1)));
}

ARK_AVX512 inline __m512i LeafNumber(const Nodes16& n) {
  return _mm512_and_si512(_mm512_castps_si512(n.threshold), _mm512_set1_epi32(kLeafMask));
}

// The feature values of one row: held in one or two registers (kWidth 16 or
// 32 features) and permuted, or gathered from memory (kWidth 0).
template <int kWidth>
struct RowValues {
  __m512 lo, hi;
  const float* x;
  ARK_AVX512 RowValues(const float* row, size_t n_features) : x(row) {
    if constexpr (kWidth == 16) {
      lo = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n_features) - 1), row);
    } else if constexpr (kWidth == 32) {
      lo = _mm512_loadu_ps(row);
      hi = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n_features - 16)) - 1), row + 16);
    }
  }
  ARK_AVX512 __m512 operator()(__m512i feature) const {
    if constexpr (kWidth == 16) return _mm512_permutexvar_ps(feature, lo);
    if constexpr (kWidth == 32) return _mm512_permutex2var_ps(lo, feature, hi);
    return _mm512_i32gather_ps(feature, x, 4);
  }
};

// Lanes that take new work whenever they reach a leaf, so that a vector
// step costs the same whatever the paths' lengths: a lane's new item (tree
// or row) is the next one in order, handed out by `next`.
struct Refill {
  uint32_t next = 0;
  // Gives the `done` lanes of `item` the next items in order.
  ARK_AVX512 __m512i Take(__m512i item, __mmask16 done) {
    const __m512i fresh = _mm512_add_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(static_cast<int>(next)));
    next += static_cast<uint32_t>(__builtin_popcount(done));
    return _mm512_mask_expand_epi32(item, done, fresh);
  }
};

// The node where each walk starts (StartNodes, StartRows), walk by walk in
// the order Refill hands the walks out.
template <uint32_t kCapacity>
struct Starts {
  alignas(64) uint32_t index[kCapacity];
  alignas(64) float threshold[kCapacity];
  alignas(64) uint32_t word[kCapacity];
  uint32_t count = 0;

  // Puts the `lanes` of a vector on the start nodes of walks from, from + 1,
  // ... in lane order; lanes past the last walk are left as they are (a
  // masked load reads nothing past the end).
  ARK_AVX512 void Restart(uint32_t from, __mmask16 lanes, __m512i& idx, Nodes16& n) const {
    const uint32_t remain = count > from ? count - from : 0;
    const __mmask16 exist = remain >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << remain) - 1);
    idx = _mm512_mask_expand_epi32(idx, lanes, _mm512_maskz_loadu_epi32(exist, index + from));
    n.threshold =
        _mm512_mask_expand_ps(n.threshold, lanes, _mm512_maskz_loadu_ps(exist, threshold + from));
    n.word = _mm512_mask_expand_epi32(n.word, lanes, _mm512_maskz_loadu_epi32(exist, word + from));
  }
};

// A lane with no walk: node 0 (a valid node, whatever tree it belongs to),
// seen as a leaf that records nothing.
ARK_AVX512 inline void Idle(__m512i& idx, Nodes16& n) {
  idx = _mm512_setzero_si512();
  n = {_mm512_set1_ps(__builtin_nanf("")),
       _mm512_set1_epi32(static_cast<int>(TreeEnsemble::kHotLeft))};
}

// Where one row's walk of each tree starts: the top levels decided from the
// breadth-first slots, sixteen trees per vector, with plain loads (each
// slot is an array over trees) instead of gathers. Writes each tree's node
// at level kTopLevels (index, threshold, word).
template <int kWidth, bool kNan, uint32_t kCapacity>
ARK_AVX512 void StartNodes(const TreeEnsemble::TopLevels& top, uint32_t n_trees,
                           const RowValues<kWidth>& values, Starts<kCapacity>& starts) {
  starts.count = n_trees;
  for (uint32_t t = 0; t < n_trees; t += 16) {
    const uint32_t remain = n_trees - t;
    const __mmask16 exist = remain >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << remain) - 1);
    Nodes16 n{_mm512_maskz_loadu_ps(exist, top.threshold[0] + t),
              _mm512_maskz_loadu_epi32(exist, top.word[0] + t)};
    __m512i slot = _mm512_setzero_si512();
    for (size_t level = 0; level < TreeEnsemble::kTopLevels; ++level) {
      const __mmask16 next = TakesNext<kNan>(n, values(Feature(n.word)));
      // slot = 2 * slot + 1, plus 1 for the far child.
      slot = _mm512_add_epi32(_mm512_add_epi32(slot, slot), _mm512_set1_epi32(1));
      slot = _mm512_mask_add_epi32(slot, static_cast<__mmask16>(~next), slot,
                                   _mm512_set1_epi32(1));
      const size_t first = (size_t{1} << (level + 1)) - 1;
      for (size_t c = first; c < 2 * first + 1; ++c) {
        const __mmask16 here =
            exist & _mm512_cmpeq_epi32_mask(slot, _mm512_set1_epi32(static_cast<int>(c)));
        n.threshold = _mm512_mask_loadu_ps(n.threshold, here, top.threshold[c] + t);
        n.word = _mm512_mask_loadu_epi32(n.word, here, top.word[c] + t);
      }
    }
    __m512i at = _mm512_setzero_si512();
    const size_t first = (size_t{1} << TreeEnsemble::kTopLevels) - 1;
    for (size_t c = first; c < 2 * first + 1; ++c) {
      const __mmask16 here =
          exist & _mm512_cmpeq_epi32_mask(slot, _mm512_set1_epi32(static_cast<int>(c)));
      at = _mm512_mask_loadu_epi32(at, here, top.index[c] + t);
    }
    _mm512_mask_storeu_epi32(starts.index + t, exist, at);
    _mm512_mask_storeu_ps(starts.threshold + t, exist, n.threshold);
    _mm512_mask_storeu_epi32(starts.word + t, exist, n.word);
  }
}

// One row through every tree, kVectors vectors of trees in flight. A lane
// that reaches its leaf records (tree, leaf) and takes the next tree, from
// the node StartNodes found for it.
template <int kWidth, bool kNan, size_t kVectors>
ARK_AVX512 void RowKernel(const Node* nodes, const TreeEnsemble::TopLevels& top,
                          uint32_t n_trees, const float* x, size_t n_features, uint32_t* leaves) {
  constexpr uint32_t kMaxTrees = 512;
  const RowValues<kWidth> values(x, n_features);
  Starts<kMaxTrees> starts;
  StartNodes<kWidth, kNan>(top, n_trees, values, starts);

  const __m512i limit = _mm512_set1_epi32(static_cast<int>(n_trees));
  Refill refill;
  __m512i tree[kVectors], idx[kVectors];
  Nodes16 n[kVectors];
  __mmask16 active[kVectors];
  __mmask16 any = 0;
  for (size_t k = 0; k < kVectors; ++k) {
    tree[k] = refill.Take(_mm512_setzero_si512(), 0xFFFF);
    active[k] = _mm512_cmplt_epu32_mask(tree[k], limit);
    Idle(idx[k], n[k]);
    starts.Restart(static_cast<uint32_t>(k * 16), active[k], idx[k], n[k]);
    any |= active[k];
  }
  alignas(64) uint32_t done_trees[16], done_leaves[16];
  while (any != 0) {
    any = 0;
    for (size_t k = 0; k < kVectors; ++k) {
      idx[k] = Next<kNan>(idx[k], n[k], values(Feature(n[k].word)));
      n[k] = Fetch(nodes, idx[k]);
      const __mmask16 done = active[k] & static_cast<__mmask16>(~Moving(n[k]));
      if (done != 0) {
        _mm512_store_si512(done_trees, _mm512_maskz_compress_epi32(done, tree[k]));
        _mm512_store_si512(done_leaves, _mm512_maskz_compress_epi32(done, LeafNumber(n[k])));
        const int count = __builtin_popcount(done);
        for (int i = 0; i < count; ++i) leaves[done_trees[i]] = done_leaves[i];
        // Lanes left without a tree stay on their leaf.
        const uint32_t from = refill.next;
        tree[k] = refill.Take(tree[k], done);
        active[k] = _mm512_cmplt_epu32_mask(tree[k], limit);
        starts.Restart(from, done & active[k], idx[k], n[k]);
      }
      any |= active[k];
    }
  }
}

// Where each row's walk of one tree starts: the top levels decided sixteen
// rows at a time, the nodes permuted out of registers instead of gathered.
// Writes each row's node at level kTopLevels (index, threshold, word).
template <bool kNan, uint32_t kCapacity>
ARK_AVX512 void StartRows(const TreeTop& top, const float* x, size_t x_stride, uint32_t rows,
                          Starts<kCapacity>& starts) {
  starts.count = rows;
  const __m512 threshold_lo = _mm512_load_ps(top.threshold);
  const __m512 threshold_hi = _mm512_load_ps(top.threshold + 16);
  const __m512i word_lo = _mm512_load_si512(top.word);
  const __m512i word_hi = _mm512_load_si512(top.word + 16);
  const __m512i index_lo = _mm512_load_si512(top.index);
  const __m512i index_hi = _mm512_load_si512(top.index + 16);
  const __m512i stride = _mm512_set1_epi32(static_cast<int>(x_stride));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (uint32_t r = 0; r < rows; r += 16) {
    const uint32_t remain = rows - r;
    const __mmask16 exist = remain >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << remain) - 1);
    const __m512i offset =
        _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(r))), stride);
    __m512i slot = _mm512_setzero_si512();
    Nodes16 n{_mm512_set1_ps(top.threshold[0]), _mm512_set1_epi32(static_cast<int>(top.word[0]))};
    for (size_t level = 0; level < TreeEnsemble::kTopLevels; ++level) {
      const __m512 v = _mm512_mask_i32gather_ps(
          _mm512_setzero_ps(), exist, _mm512_add_epi32(offset, Feature(n.word)), x, 4);
      const __mmask16 next = TakesNext<kNan>(n, v);
      slot = _mm512_add_epi32(_mm512_add_epi32(slot, slot), _mm512_set1_epi32(1));
      slot = _mm512_mask_add_epi32(slot, static_cast<__mmask16>(~next), slot,
                                   _mm512_set1_epi32(1));
      n = {_mm512_permutex2var_ps(threshold_lo, slot, threshold_hi),
           _mm512_permutex2var_epi32(word_lo, slot, word_hi)};
    }
    _mm512_mask_storeu_epi32(starts.index + r, exist,
                             _mm512_permutex2var_epi32(index_lo, slot, index_hi));
    _mm512_mask_storeu_ps(starts.threshold + r, exist, n.threshold);
    _mm512_mask_storeu_epi32(starts.word + r, exist, n.word);
  }
}

// Rows through one tree, kVectors vectors of rows in flight; a lane that
// reaches its leaf appends (row, leaf) and takes the next row, from the node
// StartRows found for it. Returns the pairs written (== rows).
template <bool kNan, size_t kVectors>
ARK_AVX512 size_t RowsKernel(const Node* nodes, const TreeTop& top, const float* x,
                             size_t x_stride, uint32_t rows, uint32_t* out_rows,
                             uint32_t* out_leaves) {
  Starts<kMaxRows> starts;
  StartRows<kNan>(top, x, x_stride, rows, starts);

  const __m512i limit = _mm512_set1_epi32(static_cast<int>(rows));
  const __m512i stride = _mm512_set1_epi32(static_cast<int>(x_stride));
  Refill refill;
  __m512i row[kVectors], offset[kVectors], idx[kVectors];
  Nodes16 n[kVectors];
  __mmask16 active[kVectors];
  __mmask16 any = 0;
  for (size_t k = 0; k < kVectors; ++k) {
    row[k] = refill.Take(_mm512_setzero_si512(), 0xFFFF);
    active[k] = _mm512_cmplt_epu32_mask(row[k], limit);
    offset[k] = _mm512_maskz_mullo_epi32(active[k], row[k], stride);
    Idle(idx[k], n[k]);
    starts.Restart(static_cast<uint32_t>(k * 16), active[k], idx[k], n[k]);
    any |= active[k];
  }
  size_t written = 0;
  while (any != 0) {
    any = 0;
    for (size_t k = 0; k < kVectors; ++k) {
      // Lanes without a row read nothing (masked).
      const __m512i at = _mm512_add_epi32(offset[k], Feature(n[k].word));
      const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active[k], at, x, 4);
      idx[k] = Next<kNan>(idx[k], n[k], v);
      n[k] = Fetch(nodes, idx[k]);
      const __mmask16 done = active[k] & static_cast<__mmask16>(~Moving(n[k]));
      // Branch-free: with no lane done, every line below changes nothing (a
      // branch here would be mispredicted about every other step; the walk
      // is bound by throughput, so the extra work costs less).
      _mm512_storeu_si512(out_rows + written, _mm512_maskz_compress_epi32(done, row[k]));
      _mm512_storeu_si512(out_leaves + written,
                          _mm512_maskz_compress_epi32(done, LeafNumber(n[k])));
      written += static_cast<size_t>(__builtin_popcount(done));
      const uint32_t from = refill.next;
      row[k] = refill.Take(row[k], done);
      active[k] = _mm512_cmplt_epu32_mask(row[k], limit);
      const __mmask16 restart = done & active[k];
      offset[k] = _mm512_mask_mullo_epi32(offset[k], restart, row[k], stride);
      starts.Restart(from, restart, idx[k], n[k]);
      any |= active[k];
    }
  }
  return written;
}

std::atomic<bool> disabled_for_testing{false};

}  // namespace

bool Available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return has && !disabled_for_testing.load(std::memory_order_relaxed);
}

void DisableForTesting(bool disabled) { disabled_for_testing.store(disabled); }

void LeavesOfRow(const Node* nodes, const TreeEnsemble::TopLevels& top, uint32_t n_trees,
                 const float* x, size_t n_features, bool nan, uint32_t* leaves) {
  constexpr size_t kV = 4;
  if (n_trees == 0) return;
  if (n_features <= 16) {
    nan ? RowKernel<16, true, kV>(nodes, top, n_trees, x, n_features, leaves)
        : RowKernel<16, false, kV>(nodes, top, n_trees, x, n_features, leaves);
  } else if (n_features <= 32) {
    nan ? RowKernel<32, true, kV>(nodes, top, n_trees, x, n_features, leaves)
        : RowKernel<32, false, kV>(nodes, top, n_trees, x, n_features, leaves);
  } else {
    nan ? RowKernel<0, true, kV>(nodes, top, n_trees, x, n_features, leaves)
        : RowKernel<0, false, kV>(nodes, top, n_trees, x, n_features, leaves);
  }
}

size_t LeavesOfRows(const Node* nodes, const TreeTop& top, const float* x, size_t x_stride,
                    uint32_t rows, bool nan, uint32_t* out_rows, uint32_t* out_leaves) {
  constexpr size_t kV = 2;
  if (rows == 0) return 0;
  return nan ? RowsKernel<true, kV>(nodes, top, x, x_stride, rows, out_rows, out_leaves)
             : RowsKernel<false, kV>(nodes, top, x, x_stride, rows, out_rows, out_leaves);
}

}  // namespace ark::runtime::avx512
