// The data-only pickle virtual machine behind ReadPickle. Private to
// ark_interop.
//
// A PickleMachine runs one pickle stream, from a start offset to its STOP,
// appending nodes to a PickleGraph: the stack holds node ids, the memo maps
// keys to node ids, nothing is ever imported or called. It never recurses on
// input-controlled depth: nesting lives in the explicit stack (bounded by
// PickleLimits::max_stack_depth). With joblib hooks on, a BUILD of a
// joblib.numpy_pickle.NumpyArrayWrapper reads the array bytes that follow
// (pickle_joblib.cc); an object array's nested pickle is run by a second
// machine (fresh memo and stack, hooks off, as joblib's pickle.load does) on
// the same graph.
//
// Errors: ark::Error, the message "pickle: <what> at offset 0x<hex>", the
// offset that of the opcode at fault. kTruncated when the stream ends inside
// an opcode or before STOP; kLimitExceeded for PickleLimits and for reader
// bounds; kUnsupported for a protocol above 5; kBadManifest otherwise.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"
#include "pickle_opcodes.h"

namespace ark::interop {

// LONG1 / LONG4 payloads larger than this are refused (kLimitExceeded): their
// decimal conversion is quadratic, and Python itself refuses to print ints of
// more than 4300 digits (~1800 bytes).
inline constexpr uint64_t kMaxBigIntBytes = 8192;

// PickleGraph::unfollowable lists this many reasons, then one "... and more"
// line: a hostile file could otherwise produce one per opcode.
inline constexpr size_t kMaxUnfollowable = 1000;

// A joblib wrapper's state dict (joblib writes 6 keys) and shape (numpy
// allows 32 dimensions in 1.x, 64 in 2.x) are refused beyond these sizes, so
// that wrappers sharing one huge memoized state cannot make reading
// quadratic.
inline constexpr size_t kMaxJoblibStateEntries = 64;
inline constexpr size_t kMaxJoblibDims = 64;

// State shared by the machines working on one graph.
struct PickleShared {
  NodeId none = kNoNode, true_node = kNoNode, false_node = kNoNode;  // interned singletons
  int64_t next_buffer = 0;                                           // NEXT_BUFFER index
};

class PickleMachine {
 public:
  // `data` is the whole (decompressed) file; `graph->source` owns it.
  PickleMachine(PickleGraph* graph, PickleShared* shared, std::string_view data,
                const PickleLimits& limits, bool joblib_hooks);

  // Runs from `start` through STOP. Returns the root node; *end is the offset
  // just after STOP. Sets graph->protocol only when `record_protocol`.
  NodeId Run(uint64_t start, uint64_t* end, bool record_protocol);

 private:
  // Input.
  uint64_t Left() const;
  std::string_view Take(uint64_t n);
  std::string_view TakeLine();
  uint64_t TakeUint(int bytes);
  int64_t TakeInt32();

  // Errors name the current opcode's offset.
  [[noreturn]] void Fail(ErrorCode code, const std::string& what) const;
  std::string OpName() const;

  // Graph and stack.
  NodeId Add(PickleNode&& node);
  PickleNode& Node(NodeId id) { return graph_->nodes[id]; }
  void Push(NodeId id);
  NodeId Pop();
  NodeId Top();
  std::vector<NodeId> PopMark();
  NodeId Interned(NodeId* slot, PickleKind kind, int64_t value);

  // Opcode helpers.
  NodeId MakeGlobal(std::string module, std::string name, bool computed);
  NodeId MakeCall(CallKind kind, NodeId callable, NodeId args, NodeId kwargs);
  NodeId MakeString(std::string_view utf8);
  NodeId MakeBytes(PickleKind kind, std::string_view data);
  NodeId MakeContainer(PickleKind kind, std::vector<NodeId> items);
  void AddToContainer(NodeId target, std::span<const NodeId> items, PickleKind expected);
  void Build(NodeId target, NodeId state);
  void MemoPut(uint64_t key);
  void MemoGet(uint64_t key);
  void ReadDecimalInt(bool long_opcode);
  void ReadBinaryLong(uint64_t size);
  void ReadStringLine();
  void ReadUnicodeLine();
  void ReadGlobalOperands(std::string* module, std::string* name);
  void StackGlobal();
  void Step(uint8_t op);
  void Unfollowable(std::string reason);

  // joblib (pickle_joblib.cc).
  bool IsNumpyArrayWrapper(NodeId id) const;
  void ReadJoblibArray(NodeId wrapper);

  PickleGraph* graph_;
  PickleShared* shared_;
  std::string_view data_;
  const PickleLimits& limits_;
  bool joblib_hooks_;

  uint64_t pos_ = 0;
  uint64_t op_offset_ = 0;
  uint8_t op_ = 0;
  uint64_t frame_end_ = 0;  // in a frame while pos_ < frame_end_
  int protocol_ = 0;
  bool stopped_ = false;
  std::vector<NodeId> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  // The memo: keys below memo_dense_.size() in a flat array (kNoNode where
  // unset), since picklers number their PUTs 0, 1, 2, ...; scattered keys
  // (LONG_BINPUT 4000000000) in the map. memo_count_ = distinct keys set.
  std::vector<NodeId> memo_dense_;
  std::unordered_map<uint64_t, NodeId> memo_sparse_;
  uint64_t memo_count_ = 0;
};

}  // namespace ark::interop
