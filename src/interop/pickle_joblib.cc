// joblib's NumpyArrayWrapper: the array bytes that follow its BUILD.
//
// joblib 1.2 (numpy_pickle.py) pickles each numpy array as a
// NumpyArrayWrapper whose state dict holds subclass, shape, order, dtype,
// allow_mmap and (since joblib 0.12.2 ... 1.2) numpy_array_alignment_bytes;
// right after the wrapper's BUILD, outside any pickle frame, it writes
//   - for a dtype holding Python objects: a complete protocol-2 pickle of the
//     array (read by plain pickle.load: fresh memo, no joblib hooks);
//   - otherwise: when the state has numpy_array_alignment_bytes (not None),
//     one byte N and N padding bytes; then count * itemsize raw bytes, count
//     the product of the shape (1 for shape ()).
// The dtype is itself a pickled numpy.dtype: a kCall whose args[0] is the
// descriptor ('f8', 'V56', 'U5', 'O8') and whose BUILD state is numpy's
// tuple (version, byteorder, subarray, names, fields, elsize, alignment,
// flags[, metadata]); elsize (when not -1) is the itemsize, and flag bit 0
// (NPY_ITEM_REFCOUNT) means the dtype holds objects.
#include <optional>

#include "pickle_machine.h"

namespace ark::interop {
namespace {

constexpr uint64_t kItemRefcountFlag = 1;

bool IsGlobal(const PickleGraph& g, NodeId id, std::string_view module, std::string_view name) {
  if (id >= g.nodes.size()) return false;
  const PickleNode& n = g.nodes[id];
  return n.kind == PickleKind::kGlobal && n.module == module && n.name == name;
}

// The value of `key` in a kDict node, or kNoNode.
NodeId DictGet(const PickleGraph& g, const PickleNode& dict, std::string_view key) {
  NodeId found = kNoNode;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PickleNode& k = g.nodes[dict.items[i]];
    if (k.kind == PickleKind::kString && k.text == key)
      found = dict.items[i + 1];  // last wins, as in dict
  }
  return found;
}

struct DtypeInfo {
  uint64_t itemsize = 0;
  bool has_object = false;
};

std::optional<DtypeInfo> ReadDtype(const PickleGraph& g, NodeId id) {
  const PickleNode& d = g.nodes[id];
  if (d.kind != PickleKind::kCall || d.args == kNoNode) return std::nullopt;
  const PickleNode& args = g.nodes[d.args];
  if (args.kind != PickleKind::kTuple || args.items.empty()) return std::nullopt;
  const PickleNode& descr = g.nodes[args.items[0]];
  if (descr.kind != PickleKind::kString || descr.text.empty()) return std::nullopt;
  DtypeInfo info;
  const char kind = descr.text[0];
  info.has_object = kind == 'O';
  // The descriptor's digits: bytes, except 'U' (UCS-4 characters).
  uint64_t digits = 0;
  bool have_digits = false;
  for (size_t i = 1; i < descr.text.size(); ++i) {
    const char c = descr.text[i];
    if (c < '0' || c > '9' || digits > (uint64_t{1} << 40)) return std::nullopt;
    digits = digits * 10 + static_cast<uint64_t>(c - '0');
    have_digits = true;
  }
  if (have_digits) info.itemsize = kind == 'U' ? digits * 4 : digits;
  if (!d.states.empty()) {
    const PickleNode& state = g.nodes[d.states.back()];
    if (state.kind == PickleKind::kTuple && state.items.size() >= 8) {
      const PickleNode& elsize = g.nodes[state.items[5]];
      const PickleNode& flags = g.nodes[state.items[7]];
      if (elsize.kind == PickleKind::kInt && elsize.int_value > 0) {
        info.itemsize = static_cast<uint64_t>(elsize.int_value);
      }
      if (flags.kind == PickleKind::kInt &&
          (static_cast<uint64_t>(flags.int_value) & kItemRefcountFlag)) {
        info.has_object = true;
      }
    }
  }
  if (info.itemsize == 0 && !info.has_object) return std::nullopt;
  return info;
}

}  // namespace

bool PickleMachine::IsNumpyArrayWrapper(NodeId id) const {
  const PickleGraph& g = *graph_;
  const PickleNode& n = g.nodes[id];
  if (n.kind != PickleKind::kCall) return false;
  constexpr std::string_view kModule = "joblib.numpy_pickle", kName = "NumpyArrayWrapper";
  if (IsGlobal(g, n.callable, kModule, kName)) return true;
  // Protocols 0 and 1: copyreg._reconstructor(cls, object, None).
  if (n.call == CallKind::kReduce && IsGlobal(g, n.callable, "copyreg", "_reconstructor") &&
      n.args != kNoNode) {
    const PickleNode& args = g.nodes[n.args];
    return !args.items.empty() && IsGlobal(g, args.items[0], kModule, kName);
  }
  return false;
}

void PickleMachine::ReadJoblibArray(NodeId wrapper) {
  graph_->joblib = true;
  const PickleNode& state = Node(Node(wrapper).states.back());
  if (state.kind != PickleKind::kDict)
    Fail(ErrorCode::kBadManifest, "joblib NumpyArrayWrapper state is not a dict");
  if (state.items.size() > 2 * kMaxJoblibStateEntries) {
    Fail(ErrorCode::kBadManifest, "joblib NumpyArrayWrapper state has " +
                                      std::to_string(state.items.size() / 2) +
                                      " entries (joblib writes 6)");
  }
  const NodeId shape_id = DictGet(*graph_, state, "shape");
  const NodeId dtype_id = DictGet(*graph_, state, "dtype");
  const NodeId align_id = DictGet(*graph_, state, "numpy_array_alignment_bytes");
  if (shape_id == kNoNode || dtype_id == kNoNode) {
    Fail(ErrorCode::kBadManifest, "joblib NumpyArrayWrapper without shape or dtype");
  }
  const PickleNode& shape = Node(shape_id);
  if (shape.kind != PickleKind::kTuple)
    Fail(ErrorCode::kBadManifest, "joblib array shape is not a tuple");
  if (shape.items.size() > kMaxJoblibDims) {
    Fail(ErrorCode::kBadManifest,
         "joblib array of " + std::to_string(shape.items.size()) + " dimensions");
  }
  uint64_t count = 1;
  for (const NodeId dim_id : shape.items) {
    const PickleNode& dim = Node(dim_id);
    if (dim.kind != PickleKind::kInt || dim.int_value < 0) {
      Fail(ErrorCode::kBadManifest, "joblib array shape holds something other than a size");
    }
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim.int_value), &count)) {
      Fail(ErrorCode::kSizeOverflow, "joblib array element count overflows 64 bits");
    }
  }
  const std::optional<DtypeInfo> dtype = ReadDtype(*graph_, dtype_id);
  if (!dtype) Fail(ErrorCode::kBadManifest, "joblib array dtype is not a pickled numpy.dtype");
  if (pos_ < frame_end_) {
    Fail(ErrorCode::kUnsupported,
         "joblib array data inside a pickle frame (joblib ends the frame first)");
  }
  if (dtype->has_object) {
    PickleMachine nested(graph_, shared_, data_, limits_, /*joblib_hooks=*/false);
    uint64_t end = 0;
    const NodeId root = nested.Run(pos_, &end, /*record_protocol=*/false);
    Node(wrapper).inline_pickle = root;
    pos_ = end;
    return;
  }
  if (align_id != kNoNode && Node(align_id).kind != PickleKind::kNone) {
    const uint64_t padding = TakeUint(1);
    Take(padding);
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(count, dtype->itemsize, &nbytes)) {
    Fail(ErrorCode::kSizeOverflow, "joblib array size overflows 64 bits");
  }
  if (nbytes > data_.size() - pos_) {
    Fail(ErrorCode::kTruncated, "joblib array of " + std::to_string(nbytes) + " bytes but " +
                                    std::to_string(data_.size() - pos_) + " are left");
  }
  Node(wrapper).inline_data = Take(nbytes);
}

}  // namespace ark::interop
