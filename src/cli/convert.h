// `ark convert SRC DST`: a pickle, joblib or skops file -> .ark, refusing
// files that would run code.
//
// The conventions of the object tree and the trust-checked rebuild live in
// the Python package (ark/_convert.py), so the command runs it:
// `python3 -m ark._convert_main SRC DST ...` with PYTHONPATH pointing at the
// package ($ARK_PYTHONPATH, else the build's ARK_CONVERT_PYTHONPATH) and the
// interpreter $ARK_PYTHON, else /usr/bin/python3.
//
// Exit status (the same meaning as `ark scan`): 0 converted; 1 refused,
// unknown types (or any other error: missing file, I/O); 2 refused, dangerous
// names; 3 the source is unreadable or holds something ark cannot convert;
// 64 bad command line. On any non-zero status DST is not written.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace ark::cli {

struct ConvertOptions {
  std::string source;
  std::string destination;
  std::string compress;  // "", "zstd", "zlib", "lzma", optionally "-<level>"
  std::vector<std::string> trusted;
  bool quiet = false;
};

CLI::App* AddConvertCommand(CLI::App& app, ConvertOptions& options);

// Runs the conversion in a child Python process; returns its exit status.
int RunConvert(const ConvertOptions& options);

}  // namespace ark::cli
