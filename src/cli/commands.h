// The subcommands of the `ark` command and what they share: exit codes,
// opening a file with user-facing errors, and text formatting helpers.
//
// Contract of every Run* function: it returns the process exit status and
// never throws; a failure of the core becomes one line on stderr that names
// the file (or, with --json, a JSON error record on stdout).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/codec.h"
#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/format/reader.h"

namespace ark::cli {

// Exit statuses, stable for scripts (documented in `ark --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;    // I/O, missing file, bad argument, anything else
inline constexpr int kExitFormat = 2;   // not a valid .ark file: structure, manifest, limits
inline constexpr int kExitCorrupt = 3;  // content damaged: checksum mismatch, undecodable blob
inline constexpr int kExitUsage = 64;   // command line not understood (EX_USAGE)

// The --help epilogue that explains the statuses above.
extern const char kExitCodeHelp[];

struct InspectOptions {
  std::string path;
  bool json = false;
  int items = 3;  // items of a long list, tuple or dict shown in the tree
  int depth = 0;  // levels of the tree expanded; 0: all
  bool requirements = false;  // print the recorded environment as requirements.txt
  bool no_native = false;     // skip compiling the model for the native-runtime verdict
};

struct VerifyOptions {
  std::string path;
  bool json = false;
  bool quiet = false;
};

// Registers the subcommand on `app`, binding its flags to `options`.
CLI::App* AddInspectCommand(CLI::App& app, InspectOptions& options);
CLI::App* AddVerifyCommand(CLI::App& app, VerifyOptions& options);

int RunInspect(const InspectOptions& options);
int RunVerify(const VerifyOptions& options);

// Exit status for a core error.
int ExitCodeFor(ErrorCode code);

// Opens an .ark file for reading. A missing path or a directory gets a plain
// message instead of the OS error. Throws ark::Error.
std::shared_ptr<format::Reader> OpenArk(const std::string& path, bool verify_on_access);

// The one-line form of an error about `path`, without repeating the path when
// the core's message already names it.
std::string DescribeError(const std::string& path, const std::string& message);

// "512 B", "12.3 KB", "45.6 MB", "1.2 GB" (decimal units, as disks are sold).
std::string HumanSize(uint64_t bytes);
// "12,345,678".
std::string WithThousands(uint64_t n);
// "none", "zstd-3"; "+shuffle" appended when filtered.
std::string CodecLabel(const format::Codec& codec, format::Filter filter = format::Filter::kNone);
// numpy's name of a dtype: "float64", "<U12", "datetime64[ns]", "struct(8 fields)".
std::string DtypeLabel(const format::Dtype& dtype);
// "[500, 3]"; "[]" for a scalar.
std::string ShapeLabel(const std::vector<uint64_t>& shape);
// Python's repr of a float: shortest round-trip digits, "1.0", "nan", "inf".
std::string FloatRepr(double value);
// "sha256:<hex>".
std::string DigestLabel(const format::Digest& digest);

}  // namespace ark::cli
