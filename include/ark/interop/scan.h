// Scanning a pickle, joblib or skops file: which names it would import, and
// whether that is safe. Nothing in the file is executed or imported.
//
// Every global the file names is classified (names.h holds the lists, one
// reviewed place shared with the Python trust list):
//   kSafe       on the trust list (scikit-learn, numpy and scipy data types,
//               pure numpy functions and ufuncs, plain builtins) or pickle
//               plumbing that ark interprets itself (copyreg._reconstructor,
//               numpy.core.multiarray._reconstruct, joblib's array wrapper...);
//   kUnknown    anything else (user classes): needs the user's trust;
//   kDangerous  process, file, network or code access, imports, nested
//               unpickling, attribute indirection (os, posix, subprocess,
//               builtins.eval/exec/getattr/__import__/open, importlib, runpy,
//               pickle, pkgutil.resolve_name, socket, ctypes, ...).
// A file whose imports the reader cannot fully follow is kDangerous: a name
// computed at load time (STACK_GLOBAL of a non-literal), a call of something
// that is not a named global (the result of getattr), a persistent id (the
// object comes from the loading program's hook, outside the file), a copyreg
// extension code (EXT1/2/4), BUILD on a global. A file that cannot be parsed
// is kUnreadable. Out-of-band buffers (protocol 5) are plain data. Pickles
// written one after another in one (uncompressed) file are each scanned, and
// the hiding is itself a dangerous finding.
//
// .skops files (a zip holding schema.json and .npy members) are scanned from
// schema.json alone: every "__module__"."__class__" (and a FunctionNode's or
// TypeNode's content) is a global, every "__loader__" must be one of skops'
// loaders (unknown otherwise); a MethodNode (a bound method) is at least
// kUnknown.
//
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ark/interop/pickle.h"

namespace ark::interop {

enum class Verdict : uint8_t { kSafe = 0, kUnknown = 1, kDangerous = 2, kUnreadable = 3 };

// "safe", "unknown", "dangerous", "unreadable".
const char* VerdictName(Verdict verdict);

// One global name and every place the file uses it.
struct ScannedGlobal {
  std::string name;     // "module.qualname"
  Verdict verdict = Verdict::kSafe;
  std::string reason;   // why it is dangerous or unknown, for the report
  std::vector<uint64_t> offsets;  // where the file imports it (empty for skops)
  bool called = false;  // used as the callable of REDUCE/NEWOBJ/INST/OBJ
  // Each call site: "posix.system('rm -rf /') at offset 0x2f" (the first
  // string argument shown when there is one), in stream order; at most the
  // first 64.
  std::vector<std::string> calls;
};

struct ScanReport {
  std::string path;
  std::string format;  // "pickle", "joblib", "skops"
  std::string compression;
  int protocol = 0;
  Verdict verdict = Verdict::kSafe;  // the worst of the globals and findings
  std::vector<ScannedGlobal> globals;  // sorted by name
  std::vector<std::string> findings;   // unfollowable constructs, each dangerous
  std::string error;                   // kUnreadable: what is wrong
  // One line for humans, without the path: "SAFE — 12 globals, all on the
  // trust list", "UNKNOWN — mypkg.Thing (unknown)", "DANGEROUS — calls
  // posix.system('rm -rf /') at offset 0x2f", "UNREADABLE — truncated ...".
  std::string headline;
};

// Scans a file, recognising its format from its content (a zip is skops,
// anything else goes to the pickle reader, which detects joblib and
// compression). Never throws for bad content (the report says unreadable).
// Throws ark::Error(kIo) only when the file cannot be read at all.
ScanReport ScanFile(const std::string& path);
// Scans the bytes of a pickle, joblib or skops file; `path` only names it in
// the report. Never throws.
ScanReport ScanBytes(PickleSource bytes, const std::string& path = "");
// Scans an already parsed graph.
ScanReport ScanGraph(const PickleGraph& graph);

// Whether `head` (the first bytes of a file, 8 are enough) looks like a file
// ScanFile reads: a pickle with a PROTO header (protocol 2+), a zlib, gzip,
// bz2, xz or lzma stream (joblib's compressions), or a zip (skops). Protocol
// 0-1 pickles have no signature; callers pick them by file name.
bool LooksScannable(std::string_view head);

}  // namespace ark::interop
