// AVX-512 kernels that walk TreeEnsemble's compact trees sixteen walks per
// vector: the nodes of the walks are fetched by gathers, their feature values
// by a permute (one row, at most 32 features) or a gather, and the next node
// is chosen by mask arithmetic, so no branch depends on the data.
//
// The walks are exactly TreeEnsemble's scalar Step: go left when
// x <= threshold (float32, ordered: false for NaN), or when x is NaN and the
// node's kNanLeft bit is set (`nan`); take the stored-next child when that
// agrees with kHotLeft, else jump `far` nodes. A leaf steps to itself. Each
// kernel writes leaf numbers (the payload of the leaf's NaN threshold), the
// same numbers the scalar walk finds.
//
// Each vector lane takes a new walk (the next tree, or the next row) as soon
// as its walk reaches a leaf, so a vector step does useful work in every
// lane whatever the lengths of the paths.
//
// REQUIRES: Available() (the caller checks once) and every tree well formed
// (TreeEnsemble::AddTree validated it). Nothing is allocated; thread-safe
// (reads only).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tree_ensemble.h"

namespace ark::runtime::avx512 {

// The CPU runs AVX-512 F, BW, DQ and VL (and tests have not turned the
// kernels off).
bool Available();

// Tests: makes Available() false, so that callers take their scalar paths.
void DisableForTesting(bool disabled);

// One row `x` (n_features floats) through n_trees (at most 512) trees, whose
// top levels `top` describes; leaves[t] receives the number of the leaf tree
// t reaches.
void LeavesOfRow(const TreeEnsemble::CompactNode* nodes, const TreeEnsemble::TopLevels& top,
                 uint32_t n_trees, const float* x, size_t n_features, bool nan,
                 uint32_t* leaves);

// The top levels of one tree, slots as in TreeEnsemble::TopLevels, the
// indices relative to the tree's first node.
struct TreeTop {
  static constexpr size_t kCapacity = 32;  // slots held in two registers
  static_assert(TreeEnsemble::kTopSlots <= kCapacity);
  alignas(64) float threshold[kCapacity];
  alignas(64) uint32_t word[kCapacity];
  alignas(64) uint32_t index[kCapacity];
};

// Rows per LeavesOfRows call.
constexpr uint32_t kMaxRows = 2048;

// `rows` (at most kMaxRows) rows (row r at x + r * x_stride) through the one
// tree rooted at nodes[0], whose top levels `top` describes. Writes one
// (row, leaf number) pair per row to out_rows[i], out_leaves[i], in no
// particular row order, and returns the count (rows). Each output array
// needs room for rows + 16 entries.
// REQUIRES: rows * x_stride < 2^31.
size_t LeavesOfRows(const TreeEnsemble::CompactNode* nodes, const TreeTop& top, const float* x,
                    size_t x_stride, uint32_t rows, bool nan, uint32_t* out_rows,
                    uint32_t* out_leaves);

}  // namespace ark::runtime::avx512
