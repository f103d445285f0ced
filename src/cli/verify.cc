// `ark verify FILE`: checks a file end to end — its structure on open, the
// object tree's tags and references, then every digest (file, blobs, model)
// and the zero padding — and reports OK or the first problem.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ark/model/value.h"
#include "commands.h"
#include "registry_cmd.h"

namespace ark::cli {
namespace {

using Json = nlohmann::ordered_json;

// Below this size a check finishes before a progress line would be read.
constexpr uint64_t kProgressMinBytes = 32'000'000;

// Redraws one status line on a terminal, at most ten times a second.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label) : label_(std::move(label)) {}
  ~ProgressLine() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Update(uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    std::fprintf(stderr, "\r\033[Kverifying %s: %3d%% (%s of %s)", label_.c_str(), percent,
                 HumanSize(done).c_str(), HumanSize(total).c_str());
    std::fflush(stderr);
  }

 private:
  std::string label_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

int Fail(const VerifyOptions& options, ErrorCode code, const std::string& message) {
  const int status = ExitCodeFor(code);
  if (options.json) {
    Json out = Json::object();
    out["file"] = options.path;
    out["ok"] = false;
    out["error"] = {{"code", ErrorCodeName(code)}, {"message", message}, {"exit_code", status}};
    std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  } else {
    std::cerr << "FAILED: " << DescribeError(options.path, message) << "\n";
  }
  return status;
}

constexpr char kVerifyHelp[] =
    "Checks that FILE is a valid .ark file whose bytes are exactly those written:\n"
    "the layout and manifest schema, the object tree's tags and references, the\n"
    "file digest, the SHA-256 of every blob (decompressing it), the zero padding\n"
    "between blobs, and the model digest. Nothing is loaded and no code runs.\n"
    "Prints 'OK: FILE ...' or 'FAILED: FILE: reason' (on stderr) and sets the\n"
    "exit status, so it fits in scripts and CI.";

}  // namespace

CLI::App* AddVerifyCommand(CLI::App& app, VerifyOptions& options) {
  CLI::App* cmd =
      app.add_subcommand("verify", "Check a file's integrity: structure, tree and every SHA-256");
  cmd->add_option("file", options.path, "The .ark file to check, or a models:/ URI")->required()->type_name("FILE");
  cmd->add_flag("--json", options.json,
                "Print one JSON object {file, ok, error | blob_count, file_size, digests}");
  cmd->add_flag("-q,--quiet", options.quiet,
                "Print nothing on success; the exit status alone tells the result");
  cmd->footer(std::string(kVerifyHelp) +
              "\n\nExamples:\n"
              "  ark verify model.ark\n"
              "  ark verify -q model.ark && deploy model.ark\n"
              "  ark verify --json model.ark | jq .ok\n\n" +
              kExitCodeHelp);
  return cmd;
}

int RunVerify(const VerifyOptions& options) {
  try {
    // Verify everything once, explicitly, rather than again on access.
    auto reader = OpenArk(ResolveModelPath(options.path), /*verify_on_access=*/false);
    model::FromJsonText(reader->root_json_text(), reader->blobs().size());

    const bool show_progress = !options.quiet && !options.json && isatty(STDERR_FILENO) &&
                               reader->file_size() >= kProgressMinBytes;
    if (show_progress) {
      ProgressLine progress(options.path);
      reader->VerifyAll([&](uint64_t done, uint64_t total) { progress.Update(done, total); });
    } else {
      reader->VerifyAll();
    }

    const size_t blob_count = reader->blobs().size();
    if (options.json) {
      Json out = Json::object();
      out["file"] = options.path;
      out["ok"] = true;
      out["format_version"] = {reader->major_version(), reader->minor_version()};
      out["blob_count"] = blob_count;
      out["file_size"] = reader->file_size();
      out["model_digest"] = reader->model_digest();
      out["file_digest"] = DigestLabel(reader->file_digest());
      std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    } else if (!options.quiet) {
      std::cout << "OK: " << options.path << " — " << WithThousands(blob_count)
                << (blob_count == 1 ? " blob, " : " blobs, ") << HumanSize(reader->file_size())
                << ", model " << reader->model_digest() << "\n";
    }
    return kExitOk;
  } catch (const Error& e) {
    return Fail(options, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return Fail(options, ErrorCode::kIo, "out of memory");
  }
}

}  // namespace ark::cli
