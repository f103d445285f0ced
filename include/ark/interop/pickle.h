// Reading pickle and joblib files as data: nothing in them is ever executed.
//
// ReadPickle interprets the opcodes of pickle protocols 0-5 with a data-only
// virtual machine. Where pickle would import a name, the graph records a
// kGlobal node; where it would call something (REDUCE, NEWOBJ, NEWOBJ_EX,
// INST, OBJ), a kCall node; BUILD, APPENDS and SETITEMS on such a node are
// recorded on it. The memo is followed, so an object reached twice is one
// node (the graph may have cycles through lists, dicts and kCall states).
//
// joblib: a joblib file is a pickle in which each numpy array is a
// `joblib.numpy_pickle.NumpyArrayWrapper` object followed, right after its
// BUILD, by the array's raw bytes (or, for object arrays, a nested pickle).
// The reader recognises the wrapper and records those bytes on the node
// (PickleNode::inline_data / inline_pickle). The whole file may be
// compressed with zlib, gzip, bz2, lzma or xz (joblib's `compress=`); the
// codec is detected from the content, never from the file name.
//
// Semantics follow CPython's pure-Python unpickler (Lib/pickle.py, 3.11):
//   - Names: for protocols < 3 the Python 2 names Python 3 renames
//     (fix_imports: copy_reg, __builtin__, ...) are reported renamed, as
//     the names Python 3 would import.
//   - STRING / BINSTRING / SHORT_BINSTRING (Python 2 str) give kBytes.
//   - None, True and False are one shared node each.
//   - READONLY_BUFFER on a kBuffer or kByteArray gives a new node with
//     `readonly` set; on kBytes it is a no-op.
//   - BUILD, APPEND(S), SETITEM(S), ADDITEMS on a kGlobal, kPersistentId or
//     kBuffer (an object Python would have to import or be handed) are
//     recorded on it and listed in `unfollowable`. On other kinds where
//     Python would fail (APPEND to a tuple, BUILD with state on an int) the
//     reader fails.
//   - An operand may not straddle the end of a FRAME (pickle.py's rule).
//   - Protocol-0 numbers are strict: INT, LONG, GET, PUT take an optional
//     sign and decimal digits only; FLOAT what Python's repr writes.
//   - Nothing may follow STOP (kBadManifest): joblib writes its arrays
//     between opcodes, so trailing bytes are damage or a second pickle a
//     loop of pickle.load would run unseen.
//
// Untrusted input is the normal case: every length is checked against the
// bytes left, the memo, stack and graph sizes are bounded (PickleLimits), and
// a truncated, malformed or oversized pickle throws ark::Error - never a
// crash, a hang or an allocation sized by the file. The message names the
// opcode and its offset ("pickle: BINGET of memo key 7 not defined at offset
// 0x1f2"). Codes: kTruncated (the stream or an operand ends early),
// kBadManifest (malformed: stack underflow, MARK misuse, unknown opcode,
// missing memo key, bad UTF-8 or number text, data after STOP),
// kLimitExceeded (PickleLimits; a LONG1/LONG4 over 8192 bytes),
// kSizeOverflow (a joblib array's byte size overflows), kCodecError (a bad
// compressed stream), kUnsupported (protocol > 5, lz4 or joblib < 0.9.3
// files, joblib array bytes inside a pickle frame), kIo (ReadPickleFile).
// Parsing never recurses on the input's nesting depth.
//
// Thread safety: the functions are reentrant; a PickleGraph is immutable
// after it is returned and may be read from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ark::interop {

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = 0xFFFFFFFFu;

enum class PickleKind : uint8_t {
  kNone,
  kBool,          // int_value 0 / 1
  kInt,           // fits int64: int_value
  kBigInt,        // LONG1 / LONG4 / protocol-0 long beyond int64: text = decimal
                  // digits ("-" first if negative, no leading zeros)
  kFloat,         // float_value
  kString,        // text (UTF-8; protocol-0 escapes decoded)
  kBytes,         // data (SHORT_BINBYTES, BINBYTES, BINBYTES8; STRING, BINSTRING
                  // and SHORT_BINSTRING, Python 2's str, read as bytes)
  kByteArray,     // data (BYTEARRAY8)
  kTuple,         // items
  kList,          // items
  kDict,          // items: key, value, key, value, ...
  kSet,           // items (EMPTY_SET + ADDITEMS)
  kFrozenSet,     // items
  kGlobal,        // module, name (GLOBAL, STACK_GLOBAL, INST/OBJ class operands);
                  // "<computed>" for a STACK_GLOBAL part that is not a string
                  // literal; EXT1/2/4: module "<extension>", name = the code
  kCall,          // an object pickle would create by a call; see PickleNode
  kBuffer,        // protocol 5 out-of-band buffer: int_value = its index, readonly flag
  kPersistentId,  // PERSID / BINPERSID: items[0] = the id (joblib never writes these)
};

// How a kCall node was made.
enum class CallKind : uint8_t {
  kReduce,    // REDUCE: callable(*args)
  kNewObj,    // NEWOBJ: cls.__new__(cls, *args)
  kNewObjEx,  // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
  kInst,      // INST (protocol 0): class from the operand, args from the mark
  kObj,       // OBJ (protocol 1): class and args from the mark
};

struct PickleNode {
  // Laid out without padding holes (264 bytes on LP64 with libstdc++):
  // PickleLimits::max_nodes is computed from this size.
  PickleKind kind = PickleKind::kNone;
  bool readonly = false;  // kBuffer / kByteArray: READONLY_BUFFER was applied

  // kCall: how it was made (see CallKind).
  CallKind call = CallKind::kReduce;
  NodeId callable = kNoNode;  // a kGlobal for INST/OBJ/NEWOBJ; any node for REDUCE
  NodeId args = kNoNode;      // a kTuple
  NodeId kwargs = kNoNode;    // NEWOBJ_EX only: a kDict
  // joblib object-dtype array: the root of the nested pickle joblib writes
  // instead of raw bytes (see inline_data), in this same graph, or kNoNode.
  NodeId inline_pickle = kNoNode;

  // One number per node: which one is meaningful depends on `kind` (kBool,
  // kInt, kBuffer: int_value; kFloat: float_value).
  union {
    int64_t int_value = 0;
    double float_value;
  };

  // Byte offset of the opcode that created the node, in the (decompressed)
  // pickle stream: for reports ("calls posix.system at offset 0x2f").
  uint64_t offset = 0;

  std::string text;    // kString, kBigInt; kGlobal: unused
  std::string module;  // kGlobal
  std::string name;    // kGlobal (may be dotted: "Outer.Inner")
  // kBytes / kByteArray payload: a view into PickleGraph::source (no copy).
  std::string_view data;
  // joblib NumpyArrayWrapper (a kCall whose class is
  // joblib.numpy_pickle.NumpyArrayWrapper): the array bytes joblib wrote
  // after the BUILD, a view into PickleGraph::source. data() is null when
  // none was read; an array of no elements gives an empty view whose data()
  // is not null.
  std::string_view inline_data;

  std::vector<NodeId> items;  // containers; kPersistentId
  // kCall: BUILD states applied, in order (usually zero or one).
  std::vector<NodeId> states;
  // kCall: APPEND(S) / ADDITEMS and SETITEM(S) applied to this object (list,
  // set and dict subclasses):
  std::vector<NodeId> list_items;
  std::vector<NodeId> dict_items;  // key, value, key, value, ...
};

// Every place an opcode imported a name, for the scanner.
struct GlobalUse {
  NodeId node = kNoNode;  // the kGlobal node
  uint64_t offset = 0;    // where the import happened
  // True when STACK_GLOBAL took its module or name from something other than
  // a string literal pushed by the pickle (a memo lookup of a computed value,
  // the result of a call): the name is not knowable without running code.
  bool computed = false;
};

// A shared, pointer-like handle on immutable bytes: `*source` and
// `source->data()` / `->size()` are the bytes as a std::string_view. What
// owns them is type-erased: a std::string (a PickleSource converts from
// std::shared_ptr<const std::string>), a decompressed buffer, or a read-only
// mapping of a file. Copies share the bytes; they live as long as any copy.
// A mapped file must not be truncated while mapped (access would fault): ark
// maps only files it is asked to read and never writes them.
class PickleSource {
 public:
  PickleSource() = default;
  PickleSource(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  // A shared string is a source (std::shared_ptr<std::string> or
  // <const std::string>). NOLINTNEXTLINE(google-explicit-constructor)
  template <class String>
    requires std::is_convertible_v<String*, const std::string*>
  PickleSource(std::shared_ptr<String> bytes)
      : bytes_(bytes ? std::string_view(*bytes) : std::string_view()), owner_(std::move(bytes)) {}
  // `bytes` stays valid as long as `owner` lives.
  PickleSource(std::shared_ptr<const void> owner, std::string_view bytes)
      : bytes_(owner ? bytes : std::string_view()), owner_(std::move(owner)) {}

  const std::string_view& operator*() const { return bytes_; }
  const std::string_view* operator->() const { return &bytes_; }
  explicit operator bool() const { return owner_ != nullptr; }
  friend bool operator==(const PickleSource& s, std::nullptr_t) { return s.owner_ == nullptr; }
  // What keeps the bytes alive (for bindings that lend them out).
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  std::string_view bytes_;
  std::shared_ptr<const void> owner_;
};

struct PickleGraph {
  // The decompressed bytes (for an uncompressed file read by ReadPickleFile,
  // a read-only mapping of the file); every string_view above points into
  // them, or into `decoded`.
  PickleSource source;
  // Payloads that do not appear verbatim in `source` (a protocol-0 STRING
  // with escapes): PickleNode::data of such a node points into one of these.
  // Shared, so that copies of the graph keep their views valid.
  std::vector<std::shared_ptr<const std::string>> decoded;
  std::vector<PickleNode> nodes;
  NodeId root = kNoNode;
  int protocol = 0;         // from PROTO (0 when absent)
  std::string compression;  // "" (none), "zlib", "gzip", "bz2", "lzma", "xz"
  bool joblib = false;      // a NumpyArrayWrapper was seen
  std::vector<GlobalUse> globals;
  // Reasons the reader could not fully follow the stream without executing
  // it (e.g. "STACK_GLOBAL with a computed name at 0x1a2"). Non-empty means
  // the scanner reports the file dangerous. At most 1000 reasons are listed,
  // then one "... and more" line.
  std::vector<std::string> unfollowable;

  const PickleNode& at(NodeId id) const { return nodes.at(id); }
  // "module.name" of a kGlobal node.
  std::string GlobalName(NodeId id) const;
};

// Bounds on what a stream may make the reader allocate. The defaults keep a
// hostile stream (a flood of one-byte EMPTY_LIST or MEMOIZE opcodes) under
// about 2 GiB of memory besides the stream itself:
//   - nodes: max_nodes * sizeof(PickleNode) = 2^22 * 264 bytes = 1.03 GiB;
//     the node array grows to exactly max_nodes, so at most ~2 GiB while its
//     last growth moves it (an empty list, tuple or dict allocates nothing
//     besides its node);
//   - memo: a flat array for the dense keys picklers write (at most 8 bytes
//     per entry: 32 MiB), a hash map for scattered keys (~64 bytes each:
//     256 MiB);
//   - stack: 4 bytes per entry, 2^20 entries.
// Item lists (APPENDS, SETITEMS, ...) are not in that bound: 4 bytes per
// item, each at least one byte of stream (so at most 4x the stream). rf500
// (a 500-tree RandomForest, 200 MB as joblib) needs about 25,000 nodes; a
// dict of a million strings (a text vectorizer's vocabulary) about 2 million.
struct PickleLimits {
  uint64_t max_decompressed_bytes = uint64_t{64} << 30;  // refused beyond this
  uint64_t max_nodes = uint64_t{1} << 22;
  uint64_t max_stack_depth = uint64_t{1} << 20;
  uint64_t max_memo_entries = uint64_t{1} << 22;
};

// Parses a pickle or joblib file held in `bytes` (decompressing it first
// when it is compressed). The graph keeps `bytes` (or the decompressed
// buffer) alive through PickleGraph::source. Throws ark::Error on malformed
// input.
// `bytes` may be a std::shared_ptr<const std::string>, which converts.
PickleGraph ReadPickle(PickleSource bytes, const PickleLimits& limits = PickleLimits{});

// The bytes of `path` as a PickleSource: a read-only mapping of the file
// (no copy; the page cache backs it), or, where it cannot be mapped (a pipe,
// an empty file), its contents read whole. Throws ark::Error: kIo for a
// missing, unreadable or directory path, kLimitExceeded beyond `max_bytes`.
PickleSource ReadPickleSource(const std::string& path,
                              uint64_t max_bytes = PickleLimits{}.max_decompressed_bytes);

// ReadPickle(ReadPickleSource(path)): an uncompressed file is parsed in
// place, mapped. Throws ark::Error (kIo for a missing or unreadable file).
PickleGraph ReadPickleFile(const std::string& path, const PickleLimits& limits = PickleLimits{});

}  // namespace ark::interop
