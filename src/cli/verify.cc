// `ark verify FILE`: checks a file end to end — its structure on open, the
// object tree's tags and references, then every digest (file, blobs, model)
// and the zero padding — and reports OK or the first problem. When the file
// holds validation samples and the native runtime supports the model, the
// samples are re-predicted natively and compared under the tolerance policy
// of docs/METADATA.md (ark/runtime/validation.h); a difference fails the
// check (exit status 3). A model the runtime lacks is said so, not failed.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ark/model/value.h"
#include "ark/runtime/model.h"
#include "ark/runtime/validation.h"
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

// The validation samples re-predicted natively; `not_native` is set to why
// the runtime could not run the model (then nothing was compared).
struct NativeCheck {
  runtime::ValidationReport report;
  std::string not_native;
};

NativeCheck CheckNatively(std::shared_ptr<const format::Reader> reader) {
  NativeCheck check;
  if (!reader->sections().contains("validation")) return check;
  runtime::ModelOptions options;
  options.threads = 1;
  const runtime::Support support = runtime::CheckSupport(reader, options);
  if (support.supported()) {
    check.report = runtime::CheckValidation(*reader, *support.model);
    return check;
  }
  check.not_native = support.unsupported_type.empty()
                         ? "runtime cannot compile the model: " + support.message
                         : "runtime lacks " + support.unsupported_type +
                               (support.detail.empty() ? "" : ": " + support.detail);
  check.report.status = runtime::ValidationReport::Status::kNotChecked;
  check.report.reason = check.not_native;
  return check;
}

// Text from the file (labels, column names) with control characters shown
// as '?', so that a hostile file cannot drive the terminal.
std::string Printable(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return s;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One line for the human report ("" when the file has no samples).
std::string ValidationLine(const NativeCheck& check) {
  using Status = runtime::ValidationReport::Status;
  const runtime::ValidationReport& r = check.report;
  switch (r.status) {
    case Status::kAbsent:
      return "";
    case Status::kNotChecked:
      return "validation samples: not checked natively (" + r.reason +
             "); run ark.load in Python";
    case Status::kMismatch:
      return "validation: " + r.reason;
    case Status::kMatch: {
      char diff[64];
      std::snprintf(diff, sizeof diff, "max diff %llu ulp",
                    static_cast<unsigned long long>(r.max_ulp));
      std::string line = "validation: " + WithThousands(r.rows) + " samples re-predicted natively (" +
                         Join(r.checked) + "), all match (" + diff + ")";
      if (!r.unchecked.empty()) line += "; not checked natively: " + Join(r.unchecked);
      return line;
    }
  }
  return "";
}

Json ValidationJson(const NativeCheck& check) {
  const runtime::ValidationReport& r = check.report;
  Json j = Json::object();
  j["status"] = runtime::ValidationStatusName(r.status);
  if (r.status == runtime::ValidationReport::Status::kAbsent) return j;
  j["rows"] = r.rows;
  j["checked"] = r.checked;
  j["unchecked"] = r.unchecked;
  if (r.rtol > 0) j["rtol"] = r.rtol;
  j["max_ulp"] = r.max_ulp;
  j["max_abs_diff"] = std::isfinite(r.max_abs_diff) ? Json(r.max_abs_diff) : Json("inf");
  if (!r.reason.empty()) j["message"] = r.reason;
  if (r.status == runtime::ValidationReport::Status::kMismatch) {
    j["method"] = r.method;
    j["row"] = r.row >= 0 ? Json(r.row) : Json(nullptr);
    j["column"] = r.column >= 0 ? Json(r.column) : Json(nullptr);
  }
  return j;
}

constexpr char kVerifyHelp[] =
    "Checks that FILE is a valid .ark file whose bytes are exactly those written:\n"
    "the layout and manifest schema, the object tree's tags and references, the\n"
    "file digest, the SHA-256 of every blob (decompressing it), the zero padding\n"
    "between blobs, and the model digest. No code from the file runs.\n"
    "When the file holds validation samples and the native runtime supports the\n"
    "model, the samples are re-predicted natively and must match the stored\n"
    "outputs (the tolerance policy of docs/METADATA.md); a difference fails with\n"
    "status 3. A model the runtime lacks is reported, not failed: ark.load in\n"
    "Python checks its samples.\n"
    "Prints 'OK: FILE ...' or 'FAILED: FILE: reason' (on stderr) and sets the\n"
    "exit status, so it fits in scripts and CI.";

}  // namespace

CLI::App* AddVerifyCommand(CLI::App& app, VerifyOptions& options) {
  CLI::App* cmd =
      app.add_subcommand("verify", "Check a file's integrity: structure, tree and every SHA-256");
  cmd->add_option("file", options.path, "The .ark file to check, or a models:/ URI")->required()->type_name("FILE");
  cmd->add_flag("--json", options.json,
                "Print one JSON object {file, ok, error | blob_count, file_size, digests,\n"
                "validation}");
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

    const NativeCheck native = CheckNatively(reader);
    if (native.report.status == runtime::ValidationReport::Status::kMismatch) {
      if (options.json) {
        Json out = Json::object();
        out["file"] = options.path;
        out["ok"] = false;
        out["error"] = {{"code", "validation_mismatch"},
                        {"message", "validation: " + native.report.reason},
                        {"exit_code", kExitCorrupt}};
        out["validation"] = ValidationJson(native);
        std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
      } else {
        std::cerr << "FAILED: " << options.path << ": validation: "
                  << Printable(native.report.reason)
                  << (native.report.method.empty()
                          ? "\n"
                          : " (the model does not reproduce the outputs stored with it)\n");
      }
      return kExitCorrupt;
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
      out["validation"] = ValidationJson(native);
      std::cout << out.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    } else if (!options.quiet) {
      std::cout << "OK: " << options.path << " — " << WithThousands(blob_count)
                << (blob_count == 1 ? " blob, " : " blobs, ") << HumanSize(reader->file_size())
                << ", model " << reader->model_digest() << "\n";
      const std::string line = ValidationLine(native);
      if (!line.empty()) std::cout << Printable(line) << "\n";
    }
    return kExitOk;
  } catch (const Error& e) {
    return Fail(options, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return Fail(options, ErrorCode::kIo, "out of memory");
  }
}

}  // namespace ark::cli
