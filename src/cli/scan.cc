// `ark scan`: see scan.h. Files are found here (folders walked recursively,
// by extension or, with --all, by content); each is scanned by the interop
// layer and reported as one headline, or with -v every global, or as JSON.
#include "scan.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "ark/format/error.h"
#include "ark/interop/scan.h"
#include "commands.h"

namespace ark::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using interop::ScanReport;
using interop::Verdict;

// Extensions people give pickles, joblib and skops files.
const std::set<std::string> kScanExtensions = {
    ".pkl", ".pickle", ".pck", ".pcl", ".joblib", ".jl", ".skops", ".sav",
    ".p",   ".gz",     ".z",   ".bz2", ".xz",     ".lzma"};

constexpr char kScanHelp[] =
    "Lists every global (class or function) a pickle, joblib or skops file would\n"
    "import when loaded, and classifies each by name:\n"
    "  safe       on ark's trust list (scikit-learn, numpy and scipy data types,\n"
    "             pure numpy functions, plain builtins) or pickle plumbing that\n"
    "             ark interprets itself (copyreg._reconstructor, numpy arrays...)\n"
    "  unknown    anything else, e.g. your own classes: ark loads them only when\n"
    "             you trust them by name (ark convert --trust NAME)\n"
    "  dangerous  process, file, network or code access, imports, nested\n"
    "             unpickling, attribute tricks (os.system, builtins.eval,\n"
    "             subprocess.Popen, pickle.loads, getattr...); also any construct\n"
    "             the scanner cannot follow without running it (a computed name,\n"
    "             a call of a call's result, a persistent id, EXT codes)\n"
    "Nothing in the files is executed or imported. The lists are one reviewed\n"
    "file, python/ark/trust_lists.json (docs/SCAN.md).\n"
    "\n"
    "A folder is scanned recursively: files named *.pkl *.pickle *.pck *.pcl\n"
    "*.joblib *.jl *.skops *.sav *.p and compressed *.gz *.z *.bz2 *.xz *.lzma;\n"
    "with --all, every file whose first bytes look like a pickle (protocol 2+),\n"
    "a compressed stream or a zip. Files named on the command line are always\n"
    "scanned.\n"
    "\n"
    "Exit status (the worst over all files, for CI gates):\n"
    "  0   every file is safe\n"
    "  1   unknown types, nothing dangerous (also: a PATH that does not exist)\n"
    "  2   at least one file is dangerous: do not load it with pickle/joblib\n"
    "  3   at least one file is unreadable (truncated, corrupt, not a pickle)\n"
    "  64  the command line was not understood\n"
    "\n"
    "Examples:\n"
    "  ark scan model.pkl              one line: SAFE / UNKNOWN / DANGEROUS / UNREADABLE\n"
    "  ark scan -v model.joblib        every global, where it is used, and why\n"
    "  ark scan models/ --json         a JSON list, one report per file\n";

int ExitFor(Verdict verdict) { return static_cast<int>(verdict); }

std::string Upper(Verdict verdict) {
  std::string text = interop::VerdictName(verdict);
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Hex(uint64_t offset) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(offset));
  return buffer;
}

bool HasScanExtension(const fs::path& path) {
  std::string name = path.filename().string();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string& ext : kScanExtensions) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      return true;
    }
  }
  return false;
}

bool HeadLooksScannable(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return interop::LooksScannable(std::string_view(head, static_cast<size_t>(in.gcount())));
}

// The files to scan under `folder`, sorted for a stable report.
std::vector<std::string> FilesUnder(const std::string& folder, bool all_files) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    if (all_files ? HeadLooksScannable(it->path()) : HasScanExtension(it->path())) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

ScanReport ScanOne(const std::string& path) {
  try {
    return interop::ScanFile(path);
  } catch (const Error& e) {
    ScanReport report;
    report.path = path;
    report.verdict = Verdict::kUnreadable;
    report.error = e.what();
    report.headline = "UNREADABLE — " + report.error;
    return report;
  }
}

Json ToJson(const ScanReport& report) {
  Json out = Json::object();
  out["path"] = report.path;
  out["verdict"] = interop::VerdictName(report.verdict);
  out["exit_code"] = ExitFor(report.verdict);
  out["headline"] = report.headline;
  out["format"] = report.format;
  out["compression"] = report.compression;
  out["protocol"] = report.protocol;
  Json globals = Json::array();
  for (const auto& global : report.globals) {
    globals.push_back({{"name", global.name},
                       {"verdict", interop::VerdictName(global.verdict)},
                       {"reason", global.reason},
                       {"offsets", global.offsets},
                       {"called", global.called},
                       {"calls", global.calls}});
  }
  out["globals"] = std::move(globals);
  out["findings"] = report.findings;
  if (!report.error.empty()) out["error"] = report.error;
  return out;
}

void PrintHuman(const ScanReport& report, bool verbose) {
  std::cout << report.path << ": " << report.headline << "\n";
  if (!verbose) return;
  for (const auto& global : report.globals) {
    std::string where;
    for (size_t i = 0; i < global.offsets.size() && i < 8; ++i) where += (i ? ", " : "") + Hex(global.offsets[i]);
    if (global.offsets.size() > 8) where += ", ... (" + std::to_string(global.offsets.size()) + " uses)";
    std::printf("  %-10s %s%s%s\n", interop::VerdictName(global.verdict), global.name.c_str(),
                where.empty() ? "" : ("  at " + where).c_str(), global.called ? "  (called)" : "");
    std::printf("             %s\n", global.reason.c_str());
    // Call sites of trusted names are ordinary (thousands of array rebuilds).
    for (size_t i = 0; global.verdict != Verdict::kSafe && i < global.calls.size() && i < 5; ++i) {
      std::printf("             call: %s\n", global.calls[i].c_str());
    }
  }
  for (const auto& finding : report.findings) std::printf("  finding    %s\n", finding.c_str());
  std::fflush(stdout);
}

}  // namespace

CLI::App* AddScanCommand(CLI::App& app, ScanOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "scan", "Check pickle, joblib and skops files for code they would run (nothing is executed)");
  cmd->add_option("paths", options.paths, "Files or folders to scan (folders recursively)")
      ->required()
      ->type_name("PATH...");
  cmd->add_flag("--json", options.json,
                "Print JSON: one report object for one file, a list for a folder or several paths");
  cmd->add_flag("-v,--verbose", options.verbose,
                "List every global with its verdict, offsets, call sites and reason");
  cmd->add_flag("--all", options.all_files,
                "In folders, scan every file whose content looks like a pickle, compressed "
                "stream or zip, whatever its name");
  cmd->footer(std::string("\n") + kScanHelp);
  return cmd;
}

int RunScan(const ScanOptions& options) {
  try {
    std::vector<std::string> files;
    bool as_list = options.paths.size() > 1;
    for (const std::string& path : options.paths) {
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        std::cerr << "ark scan: " << path << ": no such file or directory\n";
        return kExitError;
      }
      if (fs::is_directory(path, ec)) {
        as_list = true;
        const auto found = FilesUnder(path, options.all_files);
        files.insert(files.end(), found.begin(), found.end());
      } else {
        files.push_back(path);
      }
    }
    int status = kExitOk;
    Json list = Json::array();
    for (const std::string& file : files) {
      const ScanReport report = ScanOne(file);
      status = std::max(status, ExitFor(report.verdict));
      if (options.json) {
        list.push_back(ToJson(report));
      } else {
        PrintHuman(report, options.verbose);
      }
    }
    if (options.json) {
      const Json& out = as_list ? list : list.at(0);
      std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    } else if (as_list) {
      std::cout << files.size() << (files.size() == 1 ? " file" : " files") << " scanned; worst: "
                << (files.empty() ? std::string("SAFE") : Upper(static_cast<Verdict>(status))) << "\n";
    }
    return status;
  } catch (const std::exception& e) {
    std::cerr << "ark scan: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace ark::cli
