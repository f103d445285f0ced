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
// A file whose imports the reader cannot fully follow (a name computed at
// load time, a nested pickle payload) is kDangerous. A file that cannot be
// parsed is kUnreadable.
//
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
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
  std::vector<uint64_t> offsets;  // where the file imports it
  bool called = false;  // used as the callable of REDUCE/NEWOBJ/INST/OBJ
};

struct ScanReport {
  std::string path;
  std::string format;  // "pickle", "joblib", "skops"
  std::string compression;
  int protocol = 0;
  Verdict verdict = Verdict::kSafe;  // the worst of the globals and findings
  std::vector<ScannedGlobal> globals;  // sorted by name
  std::vector<std::string> findings;   // unfollowable constructs, parse errors
  std::string error;                   // kUnreadable: what is wrong
};

// Scans a file; never throws for bad content (the report says unreadable).
// Throws ark::Error(kIo) only when the file cannot be read at all.
ScanReport ScanFile(const std::string& path);
// Scans an already parsed graph.
ScanReport ScanGraph(const PickleGraph& graph);

}  // namespace ark::interop
