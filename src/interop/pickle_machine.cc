#include "pickle_machine.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "pickle_fix_imports.h"
#include "pickle_opcodes.h"
#include "pickle_text.h"

namespace ark::interop {
namespace {

constexpr int kHighestProtocol = 5;

}  // namespace

PickleMachine::PickleMachine(PickleGraph* graph, PickleShared* shared, std::string_view data,
                             const PickleLimits& limits, bool joblib_hooks)
    : graph_(graph), shared_(shared), data_(data), limits_(limits), joblib_hooks_(joblib_hooks) {}

// ---------------------------------------------------------------- input ---

void PickleMachine::Fail(ErrorCode code, const std::string& what) const {
  throw Error(code, "pickle: " + what + " at offset " + HexOffset(op_offset_));
}

std::string PickleMachine::OpName() const { return PickleOpName(op_); }

uint64_t PickleMachine::Left() const {
  // Inside a frame an operand may not run past the frame's end.
  const uint64_t limit = pos_ < frame_end_ ? frame_end_ : data_.size();
  return limit - pos_;
}

std::string_view PickleMachine::Take(uint64_t n) {
  if (n > Left()) {
    if (pos_ < frame_end_ && n <= data_.size() - pos_) {
      Fail(ErrorCode::kBadManifest, OpName() + " operand runs past the end of its FRAME");
    }
    Fail(ErrorCode::kTruncated, OpName() + " needs " + std::to_string(n) + " bytes but " +
                                    std::to_string(data_.size() - pos_) + " are left");
  }
  std::string_view out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string_view PickleMachine::TakeLine() {
  const std::string_view rest = data_.substr(pos_, Left());
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    if (pos_ < frame_end_)
      Fail(ErrorCode::kBadManifest, OpName() + " line runs past the end of its FRAME");
    Fail(ErrorCode::kTruncated, OpName() + " line has no terminating newline");
  }
  pos_ += nl + 1;
  return rest.substr(0, nl);
}

uint64_t PickleMachine::TakeUint(int bytes) {
  const std::string_view b = Take(static_cast<uint64_t>(bytes));
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

int64_t PickleMachine::TakeInt32() {
  return static_cast<int32_t>(static_cast<uint32_t>(TakeUint(4)));
}

// ---------------------------------------------------------------- graph ---

NodeId PickleMachine::Add(PickleNode&& node) {
  std::vector<PickleNode>& nodes = graph_->nodes;
  if (nodes.size() >= limits_.max_nodes || nodes.size() >= kNoNode) {
    Fail(ErrorCode::kLimitExceeded,
         "more than " + std::to_string(limits_.max_nodes) + " objects (PickleLimits::max_nodes)");
  }
  if (nodes.size() == nodes.capacity()) {
    // Grow geometrically but never past max_nodes: the limit bounds memory.
    const uint64_t grown = std::max<uint64_t>(1024, uint64_t{nodes.capacity()} * 2);
    nodes.reserve(static_cast<size_t>(std::min<uint64_t>(grown, limits_.max_nodes)));
  }
  node.offset = op_offset_;
  nodes.push_back(std::move(node));
  return static_cast<NodeId>(nodes.size() - 1);
}

void PickleMachine::Push(NodeId id) {
  if (stack_.size() + marks_.size() >= limits_.max_stack_depth) {
    Fail(ErrorCode::kLimitExceeded, "stack deeper than " + std::to_string(limits_.max_stack_depth) +
                                        " (PickleLimits::max_stack_depth)");
  }
  stack_.push_back(id);
}

NodeId PickleMachine::Pop() {
  const size_t base = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= base) {
    Fail(ErrorCode::kBadManifest,
         OpName() + (marks_.empty() ? " with an empty stack" : " reaches below a MARK"));
  }
  const NodeId id = stack_.back();
  stack_.pop_back();
  return id;
}

NodeId PickleMachine::Top() {
  const size_t base = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= base) {
    Fail(ErrorCode::kBadManifest,
         OpName() + (marks_.empty() ? " with an empty stack" : " reaches below a MARK"));
  }
  return stack_.back();
}

std::vector<NodeId> PickleMachine::PopMark() {
  if (marks_.empty()) Fail(ErrorCode::kBadManifest, OpName() + " without a MARK");
  const size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<NodeId> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

NodeId PickleMachine::Interned(NodeId* slot, PickleKind kind, int64_t value) {
  if (*slot == kNoNode) {
    PickleNode n;
    n.kind = kind;
    n.int_value = value;
    *slot = Add(std::move(n));
  }
  return *slot;
}

NodeId PickleMachine::MakeGlobal(std::string module, std::string name, bool computed) {
  if (protocol_ < 3) FixImports(&module, &name);
  PickleNode n;
  n.kind = PickleKind::kGlobal;
  n.module = std::move(module);
  n.name = std::move(name);
  const NodeId id = Add(std::move(n));
  graph_->globals.push_back(GlobalUse{id, op_offset_, computed});
  return id;
}

NodeId PickleMachine::MakeCall(CallKind kind, NodeId callable, NodeId args, NodeId kwargs) {
  PickleNode n;
  n.kind = PickleKind::kCall;
  n.call = kind;
  n.callable = callable;
  n.args = args;
  n.kwargs = kwargs;
  return Add(std::move(n));
}

NodeId PickleMachine::MakeString(std::string_view utf8) {
  PickleNode n;
  n.kind = PickleKind::kString;
  n.text.assign(utf8);
  return Add(std::move(n));
}

NodeId PickleMachine::MakeBytes(PickleKind kind, std::string_view data) {
  PickleNode n;
  n.kind = kind;
  n.data = data;
  return Add(std::move(n));
}

NodeId PickleMachine::MakeContainer(PickleKind kind, std::vector<NodeId> items) {
  PickleNode n;
  n.kind = kind;
  n.items = std::move(items);
  return Add(std::move(n));
}

// APPEND(S) (expected kList), SETITEM(S) (kDict), ADDITEMS (kSet).
void PickleMachine::AddToContainer(NodeId target, std::span<const NodeId> items,
                                   PickleKind expected) {
  PickleNode& t = Node(target);
  if (t.kind == expected) {
    t.items.insert(t.items.end(), items.begin(), items.end());
    return;
  }
  switch (t.kind) {
    case PickleKind::kGlobal:
    case PickleKind::kPersistentId:
    case PickleKind::kBuffer:
      // Python would call a method of an object it imported or was handed:
      // code the reader cannot follow.
      Unfollowable(OpName() + " on " +
                   (t.kind == PickleKind::kGlobal ? "the imported " + graph_->GlobalName(target)
                                                  : std::string("an external object")) +
                   " at " + HexOffset(op_offset_));
      [[fallthrough]];
    case PickleKind::kCall: {
      PickleNode& c = Node(target);
      std::vector<NodeId>& dst = expected == PickleKind::kDict ? c.dict_items : c.list_items;
      dst.insert(dst.end(), items.begin(), items.end());
      return;
    }
    default:
      Fail(ErrorCode::kBadManifest, OpName() + " on an object that cannot take items");
  }
}

void PickleMachine::Build(NodeId target, NodeId state) {
  PickleNode& t = Node(target);
  switch (t.kind) {
    case PickleKind::kNone:
    case PickleKind::kBool:
    case PickleKind::kInt:
    case PickleKind::kBigInt:
    case PickleKind::kFloat:
    case PickleKind::kString:
    case PickleKind::kBytes:
      // Python sets no state on these: None is ignored, anything else fails.
      // (None, True and False are shared nodes: never record on them.)
      if (Node(state).kind == PickleKind::kNone) return;
      Fail(ErrorCode::kBadManifest, "BUILD on an object that takes no state");
    default:
      break;
  }
  t.states.push_back(state);
  if (t.kind == PickleKind::kGlobal || t.kind == PickleKind::kPersistentId ||
      t.kind == PickleKind::kBuffer) {
    Unfollowable("BUILD on " +
                 (t.kind == PickleKind::kGlobal ? "the imported " + graph_->GlobalName(target)
                                                : std::string("an external object")) +
                 " at " + HexOffset(op_offset_));
  }
  if (joblib_hooks_ && IsNumpyArrayWrapper(target)) ReadJoblibArray(target);
}

void PickleMachine::MemoPut(uint64_t key) {
  const NodeId value = Top();
  if (key >= memo_dense_.size() && key < 2 * memo_count_ + 1024) {
    // Dense enough: extend the array (at most ~2 slots per entry).
    memo_dense_.resize(static_cast<size_t>(key) + 1, kNoNode);
  }
  bool is_new = false;
  if (key < memo_dense_.size()) {
    NodeId& slot = memo_dense_[key];
    is_new = slot == kNoNode;
    if (is_new && !memo_sparse_.empty()) {
      // Set while it was scattered: move it here.
      is_new = memo_sparse_.erase(key) == 0;
    }
    slot = value;
  } else {
    auto [it, inserted] = memo_sparse_.try_emplace(key, value);
    if (!inserted) it->second = value;
    is_new = inserted;
  }
  if (!is_new) return;
  if (++memo_count_ > limits_.max_memo_entries) {
    Fail(ErrorCode::kLimitExceeded, "more than " + std::to_string(limits_.max_memo_entries) +
                                        " memo entries (PickleLimits::max_memo_entries)");
  }
}

void PickleMachine::MemoGet(uint64_t key) {
  if (key < memo_dense_.size() && memo_dense_[key] != kNoNode) {
    Push(memo_dense_[key]);
    return;
  }
  const auto it = memo_sparse_.find(key);
  if (it == memo_sparse_.end()) {
    Fail(ErrorCode::kBadManifest,
         OpName() + " of memo key " + std::to_string(key) + " not defined");
  }
  Push(it->second);
}

// ------------------------------------------------------- text operands ---

void PickleMachine::ReadDecimalInt(bool long_opcode) {
  std::string_view line = TakeLine();
  if (!long_opcode && (line == "00" || line == "01")) {
    Push(line == "01" ? Interned(&shared_->true_node, PickleKind::kBool, 1)
                      : Interned(&shared_->false_node, PickleKind::kBool, 0));
    return;
  }
  if (long_opcode && !line.empty() && line.back() == 'L') line.remove_suffix(1);
  int64_t value = 0;
  std::string decimal;
  bool fits = false;
  if (!pickle_text::ParseDecimal(line, &value, &decimal, &fits)) {
    Fail(ErrorCode::kBadManifest, OpName() + " operand is not a decimal integer");
  }
  PickleNode n;
  n.kind = fits ? PickleKind::kInt : PickleKind::kBigInt;
  n.int_value = value;
  n.text = std::move(decimal);
  Push(Add(std::move(n)));
}

void PickleMachine::ReadBinaryLong(uint64_t size) {
  if (size > kMaxBigIntBytes) {
    Fail(ErrorCode::kLimitExceeded, OpName() + " of " + std::to_string(size) +
                                        " bytes (the reader's limit is " +
                                        std::to_string(kMaxBigIntBytes) + ")");
  }
  const std::string_view bytes = Take(size);
  PickleNode n;
  if (const std::optional<int64_t> v = pickle_text::LittleEndianToInt64(bytes)) {
    n.kind = PickleKind::kInt;
    n.int_value = *v;
  } else {
    n.kind = PickleKind::kBigInt;
    n.text = pickle_text::LittleEndianToDecimal(bytes);
  }
  Push(Add(std::move(n)));
}

void PickleMachine::ReadStringLine() {
  const std::string_view line = TakeLine();
  if (line.size() < 2 || line.front() != line.back() ||
      (line.front() != '\'' && line.front() != '"')) {
    Fail(ErrorCode::kBadManifest, "the STRING opcode argument must be quoted");
  }
  const std::string_view body = line.substr(1, line.size() - 2);
  if (body.find('\\') == std::string_view::npos) {
    Push(MakeBytes(PickleKind::kBytes, body));
    return;
  }
  auto decoded = std::make_shared<std::string>();
  std::string error;
  if (!pickle_text::EscapeDecode(body, decoded.get(), &error))
    Fail(ErrorCode::kBadManifest, "STRING: " + error);
  const NodeId id = MakeBytes(PickleKind::kBytes, *decoded);
  graph_->decoded.push_back(std::move(decoded));
  Push(id);
}

void PickleMachine::ReadUnicodeLine() {
  const std::string_view line = TakeLine();
  std::string text, error;
  if (!pickle_text::RawUnicodeEscapeToUtf8(line, &text, &error)) {
    Fail(ErrorCode::kBadManifest, "UNICODE: " + error);
  }
  Push(MakeString(text));
}

void PickleMachine::ReadGlobalOperands(std::string* module, std::string* name) {
  const std::string_view m = TakeLine();
  const std::string_view n = TakeLine();
  if (!pickle_text::IsUtf8SurrogatePass(m) || !pickle_text::IsUtf8SurrogatePass(n)) {
    Fail(ErrorCode::kBadManifest, OpName() + " module or name is not UTF-8");
  }
  module->assign(m);
  name->assign(n);
}

void PickleMachine::StackGlobal() {
  const NodeId name_id = Pop();
  const NodeId module_id = Pop();
  const PickleNode& module = Node(module_id);
  const PickleNode& name = Node(name_id);
  const bool computed = module.kind != PickleKind::kString || name.kind != PickleKind::kString;
  std::string module_text = module.kind == PickleKind::kString ? module.text : "<computed>";
  std::string name_text = name.kind == PickleKind::kString ? name.text : "<computed>";
  if (computed) {
    Unfollowable("STACK_GLOBAL with a computed module or name at " + HexOffset(op_offset_));
  }
  Push(MakeGlobal(std::move(module_text), std::move(name_text), computed));
}

void PickleMachine::Unfollowable(std::string reason) {
  std::vector<std::string>& list = graph_->unfollowable;
  if (list.size() < kMaxUnfollowable) {
    list.push_back(std::move(reason));
  } else if (list.size() == kMaxUnfollowable) {
    list.push_back("... and more (only the first " + std::to_string(kMaxUnfollowable) +
                   " are listed)");
  }
}

// ------------------------------------------------------------- opcodes ---

void PickleMachine::Step(uint8_t op) {
  switch (op) {
    // Framing and protocol.
    case kProto: {
      const uint64_t proto = TakeUint(1);
      if (proto > kHighestProtocol) {
        Fail(ErrorCode::kUnsupported, "unsupported pickle protocol " + std::to_string(proto));
      }
      protocol_ = static_cast<int>(proto);
      return;
    }
    case kFrame: {
      if (pos_ < frame_end_)
        Fail(ErrorCode::kBadManifest, "FRAME before the end of the current frame");
      const uint64_t size = TakeUint(8);
      if (size > data_.size() - pos_) {
        Fail(ErrorCode::kTruncated, "FRAME of " + std::to_string(size) + " bytes but " +
                                        std::to_string(data_.size() - pos_) + " are left");
      }
      frame_end_ = pos_ + size;
      return;
    }
    case kStop:
      stopped_ = true;
      return;

    // Stack manipulation.
    case kMark:
      if (stack_.size() + marks_.size() >= limits_.max_stack_depth) {
        Fail(ErrorCode::kLimitExceeded, "stack deeper than " +
                                            std::to_string(limits_.max_stack_depth) +
                                            " (PickleLimits::max_stack_depth)");
      }
      marks_.push_back(stack_.size());
      return;
    case kPop: {
      const size_t base = marks_.empty() ? 0 : marks_.back();
      if (stack_.size() > base) {
        stack_.pop_back();
      } else if (!marks_.empty()) {
        marks_.pop_back();  // as pickle.py: POP on an empty frame discards the MARK
      } else {
        Fail(ErrorCode::kBadManifest, "POP with an empty stack");
      }
      return;
    }
    case kPopMark:
      PopMark();
      return;
    case kDup:
      Push(Top());
      return;

    // Memo.
    case kPut:
    case kGet: {
      int64_t key = 0;
      std::string big;
      bool fits = false;
      const std::string_view line = TakeLine();
      if (!pickle_text::ParseDecimal(line, &key, &big, &fits)) {
        Fail(ErrorCode::kBadManifest, OpName() + " operand is not a decimal integer");
      }
      if (!fits || key < 0) {
        Fail(fits ? ErrorCode::kBadManifest : ErrorCode::kLimitExceeded,
             OpName() + " of memo key " + std::string(line) +
                 (fits ? " (negative)" : " (too large)"));
      }
      if (op == kPut) {
        MemoPut(static_cast<uint64_t>(key));
      } else {
        MemoGet(static_cast<uint64_t>(key));
      }
      return;
    }
    case kBinPut:
      MemoPut(TakeUint(1));
      return;
    case kLongBinPut:
      MemoPut(TakeUint(4));
      return;
    case kMemoize:
      MemoPut(memo_count_);
      return;
    case kBinGet:
      MemoGet(TakeUint(1));
      return;
    case kLongBinGet:
      MemoGet(TakeUint(4));
      return;

    // Scalars.
    case kNone:
      Push(Interned(&shared_->none, PickleKind::kNone, 0));
      return;
    case kNewTrue:
      Push(Interned(&shared_->true_node, PickleKind::kBool, 1));
      return;
    case kNewFalse:
      Push(Interned(&shared_->false_node, PickleKind::kBool, 0));
      return;
    case kInt:
      ReadDecimalInt(false);
      return;
    case kLong:
      ReadDecimalInt(true);
      return;
    case kBinInt:
    case kBinInt1:
    case kBinInt2: {
      PickleNode n;
      n.kind = PickleKind::kInt;
      n.int_value =
          op == kBinInt ? TakeInt32() : static_cast<int64_t>(TakeUint(op == kBinInt1 ? 1 : 2));
      Push(Add(std::move(n)));
      return;
    }
    case kLong1:
      ReadBinaryLong(TakeUint(1));
      return;
    case kLong4: {
      const int64_t size = TakeInt32();
      if (size < 0) Fail(ErrorCode::kBadManifest, "LONG4 with a negative byte count");
      ReadBinaryLong(static_cast<uint64_t>(size));
      return;
    }
    case kFloat: {
      const std::string_view line = TakeLine();
      PickleNode n;
      n.kind = PickleKind::kFloat;
      if (!pickle_text::ParseFloat(line, &n.float_value)) {
        Fail(ErrorCode::kBadManifest, "FLOAT operand is not a number");
      }
      Push(Add(std::move(n)));
      return;
    }
    case kBinFloat: {
      const uint64_t bits = __builtin_bswap64(TakeUint(8));  // big-endian on the wire
      PickleNode n;
      n.kind = PickleKind::kFloat;
      n.float_value = std::bit_cast<double>(bits);
      Push(Add(std::move(n)));
      return;
    }

    // Strings and bytes.
    case kString:
      ReadStringLine();
      return;
    case kBinString: {
      const int64_t size = TakeInt32();
      if (size < 0) Fail(ErrorCode::kBadManifest, "BINSTRING with a negative byte count");
      Push(MakeBytes(PickleKind::kBytes, Take(static_cast<uint64_t>(size))));
      return;
    }
    case kShortBinString:
    case kShortBinBytes:
      Push(MakeBytes(PickleKind::kBytes, Take(TakeUint(1))));
      return;
    case kBinBytes:
      Push(MakeBytes(PickleKind::kBytes, Take(TakeUint(4))));
      return;
    case kBinBytes8:
      Push(MakeBytes(PickleKind::kBytes, Take(TakeUint(8))));
      return;
    case kByteArray8:
      Push(MakeBytes(PickleKind::kByteArray, Take(TakeUint(8))));
      return;
    case kUnicode:
      ReadUnicodeLine();
      return;
    case kShortBinUnicode:
    case kBinUnicode:
    case kBinUnicode8: {
      const std::string_view text = Take(TakeUint(op == kShortBinUnicode ? 1
                                                  : op == kBinUnicode    ? 4
                                                                         : 8));
      if (!pickle_text::IsUtf8SurrogatePass(text))
        Fail(ErrorCode::kBadManifest, OpName() + " is not UTF-8");
      Push(MakeString(text));
      return;
    }

    // Out-of-band buffers (protocol 5).
    case kNextBuffer: {
      PickleNode n;
      n.kind = PickleKind::kBuffer;
      n.int_value = shared_->next_buffer++;
      Push(Add(std::move(n)));
      return;
    }
    case kReadOnlyBuffer: {
      const NodeId top = Pop();
      const PickleKind kind = Node(top).kind;
      if (kind == PickleKind::kBytes) {
        Push(top);  // already immutable
      } else if (kind == PickleKind::kBuffer || kind == PickleKind::kByteArray) {
        // A new read-only view of the same buffer: only what identifies it
        // (copying states or items would make repeated views quadratic).
        PickleNode view;
        view.kind = kind;
        view.int_value = Node(top).int_value;
        view.data = Node(top).data;
        view.readonly = true;
        Push(Add(std::move(view)));
      } else {
        Fail(ErrorCode::kBadManifest, "READONLY_BUFFER on an object that is not a buffer");
      }
      return;
    }

    // Containers.
    case kEmptyList:
      Push(MakeContainer(PickleKind::kList, {}));
      return;
    case kEmptyTuple:
      Push(MakeContainer(PickleKind::kTuple, {}));
      return;
    case kEmptyDict:
      Push(MakeContainer(PickleKind::kDict, {}));
      return;
    case kEmptySet:
      Push(MakeContainer(PickleKind::kSet, {}));
      return;
    case kList:
      Push(MakeContainer(PickleKind::kList, PopMark()));
      return;
    case kTuple:
      Push(MakeContainer(PickleKind::kTuple, PopMark()));
      return;
    case kFrozenSet:
      Push(MakeContainer(PickleKind::kFrozenSet, PopMark()));
      return;
    case kDict: {
      std::vector<NodeId> items = PopMark();
      if (items.size() % 2 != 0) Fail(ErrorCode::kBadManifest, "DICT with an odd number of items");
      Push(MakeContainer(PickleKind::kDict, std::move(items)));
      return;
    }
    case kTuple1:
    case kTuple2:
    case kTuple3: {
      std::vector<NodeId> items(op - kTuple1 + 1);
      for (size_t i = items.size(); i-- > 0;) items[i] = Pop();
      Push(MakeContainer(PickleKind::kTuple, std::move(items)));
      return;
    }
    case kAppend: {
      const NodeId value[] = {Pop()};  // no vector per APPEND
      AddToContainer(Top(), value, PickleKind::kList);
      return;
    }
    case kAppends: {
      const std::vector<NodeId> items = PopMark();
      AddToContainer(Top(), items, PickleKind::kList);
      return;
    }
    case kSetItem: {
      const NodeId value = Pop();
      const NodeId key = Pop();
      const NodeId pair[] = {key, value};
      AddToContainer(Top(), pair, PickleKind::kDict);
      return;
    }
    case kSetItems: {
      const std::vector<NodeId> items = PopMark();
      if (items.size() % 2 != 0)
        Fail(ErrorCode::kBadManifest, "SETITEMS with an odd number of items");
      AddToContainer(Top(), items, PickleKind::kDict);
      return;
    }
    case kAddItems: {
      const std::vector<NodeId> items = PopMark();
      AddToContainer(Top(), items, PickleKind::kSet);
      return;
    }

    // Imports and calls.
    case kGlobal: {
      std::string module, name;
      ReadGlobalOperands(&module, &name);
      Push(MakeGlobal(std::move(module), std::move(name), false));
      return;
    }
    case kStackGlobal:
      StackGlobal();
      return;
    case kInst: {
      std::string module, name;
      ReadGlobalOperands(&module, &name);
      std::vector<NodeId> items = PopMark();
      const NodeId cls = MakeGlobal(std::move(module), std::move(name), false);
      const NodeId args = MakeContainer(PickleKind::kTuple, std::move(items));
      Push(MakeCall(CallKind::kInst, cls, args, kNoNode));
      return;
    }
    case kObj: {
      std::vector<NodeId> items = PopMark();
      if (items.empty()) Fail(ErrorCode::kBadManifest, "OBJ without a class");
      const NodeId cls = items.front();
      items.erase(items.begin());
      const NodeId args = MakeContainer(PickleKind::kTuple, std::move(items));
      Push(MakeCall(CallKind::kObj, cls, args, kNoNode));
      return;
    }
    case kReduce:
    case kNewObj: {
      const NodeId args = Pop();
      const NodeId callable = Pop();
      if (Node(args).kind != PickleKind::kTuple)
        Fail(ErrorCode::kBadManifest, OpName() + " arguments are not a tuple");
      Push(
          MakeCall(op == kReduce ? CallKind::kReduce : CallKind::kNewObj, callable, args, kNoNode));
      return;
    }
    case kNewObjEx: {
      const NodeId kwargs = Pop();
      const NodeId args = Pop();
      const NodeId cls = Pop();
      if (Node(args).kind != PickleKind::kTuple)
        Fail(ErrorCode::kBadManifest, "NEWOBJ_EX arguments are not a tuple");
      if (Node(kwargs).kind != PickleKind::kDict) {
        Fail(ErrorCode::kBadManifest, "NEWOBJ_EX keyword arguments are not a dict");
      }
      Push(MakeCall(CallKind::kNewObjEx, cls, args, kwargs));
      return;
    }
    case kBuild: {
      const NodeId state = Pop();
      Build(Top(), state);
      return;
    }
    case kExt1:
    case kExt2:
    case kExt4: {
      const int64_t code =
          op == kExt4 ? TakeInt32() : static_cast<int64_t>(TakeUint(op == kExt1 ? 1 : 2));
      if (code <= 0) Fail(ErrorCode::kBadManifest, OpName() + " code is not positive");
      Unfollowable(OpName() + " (copyreg extension registry code " + std::to_string(code) +
                   ") at " + HexOffset(op_offset_));
      Push(MakeGlobal("<extension>", std::to_string(code), true));
      return;
    }
    case kPersId:
    case kBinPersId: {
      NodeId pid;
      if (op == kPersId) {
        const std::string_view line = TakeLine();
        for (const char c : line) {
          if (static_cast<unsigned char>(c) >= 0x80)
            Fail(ErrorCode::kBadManifest, "PERSID operand is not ASCII");
        }
        pid = MakeString(line);
      } else {
        pid = Pop();
      }
      Unfollowable(OpName() + " (a persistent id, resolved by the loader's own code) at " +
                   HexOffset(op_offset_));
      Push(MakeContainer(PickleKind::kPersistentId, {pid}));
      return;
    }
    default:
      Fail(ErrorCode::kBadManifest, PickleOpName(op));
  }
}

NodeId PickleMachine::Run(uint64_t start, uint64_t* end, bool record_protocol) {
  pos_ = start;
  while (!stopped_) {
    op_offset_ = pos_;
    if (pos_ >= data_.size()) {
      Fail(ErrorCode::kTruncated, "the stream ends without STOP");
    }
    op_ = static_cast<uint8_t>(data_[pos_]);
    ++pos_;
    Step(op_);
  }
  const NodeId root = Pop();
  if (record_protocol) graph_->protocol = protocol_;
  *end = pos_;
  return root;
}

}  // namespace ark::interop
