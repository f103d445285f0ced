// reader_corpus_test: replays fuzz inputs without libFuzzer.
//
//   reader_corpus_test [--no-expect] [--verbose] PATH...
//
// Runs LLVMFuzzerTestOneInput over every file given, directories searched
// recursively in name order, so a plain (gcc, sanitizer) build replays the
// stored corpus and any crash reproducer. A crash, a sanitizer report, an
// exception other than ark::Error or a contract abort ends the run (the name
// of the file is printed first). Unless --no-expect, files named by
// fuzz/make_corpus.py's convention are also checked against their expected
// outcome:
//   ok-*                  must pass every step;
//   bad-CODE[+CODE...]-*  must fail with an ark::Error of one of the codes
//                         (ErrorCodeName spelling; `any` accepts every code).
// Exit status: 0 when every file behaved, 1 when one missed its expectation,
// 2 on usage errors. --verbose prints every file's outcome.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "reader_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

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

// Returns an empty string when the outcome meets the expectation the file
// name states (or states none), else what went wrong.
std::string Describe(const ark::fuzz::Outcome& outcome) {
  return outcome.ok ? std::string("success")
                    : "ark::Error(" + std::string(ark::ErrorCodeName(outcome.code)) + ") at " +
                          outcome.stage + ": " + outcome.message;
}

std::string CheckExpectation(const std::string& name, const ark::fuzz::Outcome& outcome) {
  const std::string got = Describe(outcome);
  if (name.starts_with("ok-")) {
    return outcome.ok ? "" : "expected success, got " + got;
  }
  if (!name.starts_with("bad-")) return "";
  const std::vector<std::string> parts = Split(name, '-');
  if (parts.size() < 2) return "";
  const std::vector<std::string> codes = Split(parts[1], '+');
  if (outcome.ok) return "expected an ark::Error (" + parts[1] + "), got success";
  const std::string code = ark::ErrorCodeName(outcome.code);
  if (std::find(codes.begin(), codes.end(), "any") != codes.end() ||
      std::find(codes.begin(), codes.end(), code) != codes.end()) {
    return "";
  }
  return "expected ark::Error(" + parts[1] + "), got " + got;
}

}  // namespace

int main(int argc, char** argv) {
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
      std::fprintf(stderr, "reader_corpus_test: no such file or directory: %s\n", arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: reader_corpus_test [--no-expect] [--verbose] FILE_OR_DIR...\n");
    return 2;
  }

  int failures = 0, checked = 0;
  for (const fs::path& path : files) {
    std::vector<uint8_t> data;
    if (!ReadFile(path, &data)) {
      std::fprintf(stderr, "reader_corpus_test: cannot read %s\n", path.c_str());
      return 2;
    }
    // Printed before running so that a crash names its input.
    std::printf("%s\n", path.c_str());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(data.data(), data.size());
    if (!expect && !verbose) continue;
    const std::string name = path.filename().string();
    const ark::fuzz::Outcome outcome = ark::fuzz::ExerciseReader(data);
    if (verbose) std::printf("  -> %s\n", Describe(outcome).c_str());
    if (!expect) continue;
    const std::string problem = CheckExpectation(name, outcome);
    if (name.starts_with("ok-") || name.starts_with("bad-")) ++checked;
    if (!problem.empty()) {
      ++failures;
      std::fprintf(stderr, "FAIL %s: %s\n", name.c_str(), problem.c_str());
    }
  }
  std::printf("reader_corpus_test: %zu inputs, %d with an expected outcome, %d failed\n",
              files.size(), checked, failures);
  return failures == 0 ? 0 : 1;
}
