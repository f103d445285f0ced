#include "corpus_main.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace ark::fuzz {

namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(s);
  for (std::string part; std::getline(stream, part, sep);) parts.push_back(part);
  return parts;
}

std::string Describe(const Outcome& outcome) {
  if (outcome.ok) return "success";
  return "ark::Error(" + std::string(ErrorCodeName(outcome.code)) + ")" +
         (outcome.stage.empty() ? "" : " at " + outcome.stage) + ": " + outcome.message;
}

// Empty when the outcome meets the expectation the file name states (or
// states none), else what went wrong.
std::string CheckExpectation(const std::string& name, const Outcome& outcome) {
  const std::string got = Describe(outcome);
  if (name.starts_with("ok-")) return outcome.ok ? "" : "expected success, got " + got;
  if (!name.starts_with("bad-")) return "";
  const std::vector<std::string> parts = Split(name, '-');
  if (parts.size() < 2) return "";
  if (outcome.ok) return "expected an ark::Error (" + parts[1] + "), got success";
  const std::vector<std::string> codes = Split(parts[1], '+');
  const std::string code = ErrorCodeName(outcome.code);
  if (std::find(codes.begin(), codes.end(), "any") != codes.end() ||
      std::find(codes.begin(), codes.end(), code) != codes.end()) {
    return "";
  }
  return "expected ark::Error(" + parts[1] + "), got " + got;
}

}  // namespace

int CorpusMain(const CorpusTarget& target, int argc, char** argv) {
  bool expect = true, verbose = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-expect") {
      expect = false;
      continue;
    }
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(arg, ec)) {
      files.emplace_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such file or directory: %s\n", target.name, arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s [--no-expect] [--verbose] FILE_OR_DIR...\n", target.name);
    return 2;
  }

  int failures = 0, checked = 0;
  for (const fs::path& path : files) {
    std::vector<uint8_t> data;
    if (!ReadFile(path, &data)) {
      std::fprintf(stderr, "%s: cannot read %s\n", target.name, path.c_str());
      return 2;
    }
    // Printed before running so that a crash names its input.
    std::printf("%s\n", path.c_str());
    std::fflush(stdout);
    const Outcome outcome = target.run(data);
    if (verbose) std::printf("  -> %s\n", Describe(outcome).c_str());
    if (!expect) continue;
    const std::string name = path.filename().string();
    if (name.starts_with("ok-") || name.starts_with("bad-")) ++checked;
    const std::string problem = CheckExpectation(name, outcome);
    if (!problem.empty()) {
      ++failures;
      std::fprintf(stderr, "FAIL %s: %s\n", name.c_str(), problem.c_str());
    }
  }
  std::printf("%s: %zu inputs, %d with an expected outcome, %d failed\n", target.name,
              files.size(), checked, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace ark::fuzz
