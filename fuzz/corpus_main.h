// The corpus replay driver shared by the fuzz targets' plain builds
// (reader_corpus_test, pickle_corpus_test): they replay stored fuzz inputs
// without libFuzzer, so that a gcc or sanitizer build runs the corpus and
// any crash reproducer.
//
//   <name> [--no-expect] [--verbose] FILE_OR_DIR...
//
// Runs the target on every file given, directories searched recursively in
// name order; the file's name is printed before it runs, so that a crash
// names its input. A crash, a sanitizer report, an exception other than
// ark::Error or a contract abort ends the run. Unless --no-expect, files
// named by fuzz/make_corpus.py's convention are checked against their
// expected outcome:
//   ok-*                  must succeed;
//   bad-CODE[+CODE...]-*  must fail with an ark::Error of one of the codes
//                         (ErrorCodeName spelling; `any` accepts every code).
// Exit status: 0 when every file behaved, 1 when one missed its expectation,
// 2 on usage errors. --verbose prints every file's outcome.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ark/format/error.h"

namespace ark::fuzz {

// What running a target on one input came to.
struct Outcome {
  bool ok = true;     // no ark::Error
  std::string stage;  // the step that threw first ("open", "read_blob 3", ...), if told
  ErrorCode code = ErrorCode::kIo;
  std::string message;
};

struct CorpusTarget {
  const char* name;  // the program's name, for messages
  // Runs the target on one input (everything its LLVMFuzzerTestOneInput
  // does) and returns the outcome to check.
  Outcome (*run)(std::span<const uint8_t> data);
};

// The driver's main.
int CorpusMain(const CorpusTarget& target, int argc, char** argv);

}  // namespace ark::fuzz
