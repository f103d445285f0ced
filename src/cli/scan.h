// `ark scan PATH...`: which names pickle, joblib and skops files would import,
// classified safe / unknown / dangerous, without running or importing
// anything (the classification is ark::interop::ScanFile's).
//
// Exit status is the worst verdict over every file scanned: 0 all safe,
// 1 unknown types (nothing dangerous), 2 dangerous, 3 a file could not be
// read as a pickle/joblib/skops file. A path named on the command line that
// does not exist is kExitError (1, with a message on stderr); 64 for a bad
// command line. Never throws.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace ark::cli {

struct ScanOptions {
  std::vector<std::string> paths;
  bool json = false;
  bool verbose = false;
  bool all_files = false;  // in folders: every file whose content looks scannable
};

CLI::App* AddScanCommand(CLI::App& app, ScanOptions& options);
int RunScan(const ScanOptions& options);

}  // namespace ark::cli
