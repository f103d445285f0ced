// Fuzz target of the data-only pickle reader (include/ark/interop/pickle.h).
//
// LLVMFuzzerTestOneInput runs ReadPickle on the input and, when it returns a
// graph, checks the header's promises about it; an ark::Error is the expected
// way to refuse bad input. Findings are crashes, sanitizer reports,
// exceptions other than ark::Error, and the aborts below, each naming the
// broken contract. Limits are lowered (64 MiB decompressed, 2^22 nodes) so
// that a timeout or an out-of-memory report is a finding too.
//
// Built as a libFuzzer binary (`pickle_fuzz`, clang, -DARK_FUZZ=ON) and, with
// ARK_PICKLE_CORPUS_MAIN defined, as the plain test `pickle_corpus_test`:
//
//   pickle_corpus_test [--verbose] FILE_OR_DIR...
//
// which replays every file (directories recursively, in name order) and
// checks those named by convention against their expected outcome:
//   ok-*                  must parse;
//   bad-CODE[+CODE...]-*  must fail with an ark::Error of one of the codes
//                         (ErrorCodeName spelling; `any` accepts every code).
// Exit status 0 when every file behaved, 1 otherwise, 2 on usage errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"

namespace ark::fuzz {
namespace {

using interop::kNoNode;
using interop::NodeId;
using interop::PickleGraph;
using interop::PickleKind;
using interop::PickleNode;

[[noreturn]] void Violation(const std::string& what) {
  std::fprintf(stderr, "pickle_fuzz: CONTRACT VIOLATION: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void Check(bool condition, const std::string& what) {
  if (!condition) Violation(what);
}

volatile uint64_t g_sink = 0;

void Touch(std::string_view bytes) {
  uint64_t acc = 0;
  for (const char c : bytes) acc = acc * 31 + static_cast<unsigned char>(c);
  g_sink = g_sink + acc;
}

// A view must point into the source or into one of the decoded payloads.
bool Within(const PickleGraph& g, std::string_view view) {
  if (view.empty()) return true;
  const auto inside = [&](std::string_view owner) {
    return view.data() >= owner.data() && view.data() + view.size() <= owner.data() + owner.size();
  };
  if (inside(*g.source)) return true;
  for (const auto& d : g.decoded) {
    if (inside(*d)) return true;
  }
  return false;
}

void CheckGraph(const PickleGraph& g) {
  Check(g.source != nullptr, "graph without a source");
  const size_t n = g.nodes.size();
  const auto valid = [&](NodeId id) { return id < n; };
  const auto optional = [&](NodeId id) { return id == kNoNode || id < n; };
  Check(valid(g.root), "root is not a node");
  Check(g.protocol >= 0 && g.protocol <= 5, "protocol out of range");
  for (NodeId i = 0; i < n; ++i) {
    const PickleNode& node = g.nodes[i];
    const std::string at = "node " + std::to_string(i) + ": ";
    Check(node.offset < g.source->size(), at + "offset beyond the source");
    for (const std::vector<NodeId>* list :
         {&node.items, &node.states, &node.list_items, &node.dict_items}) {
      for (const NodeId id : *list) Check(valid(id), at + "refers to a missing node");
    }
    Check(optional(node.inline_pickle), at + "inline_pickle is not a node");
    Check(Within(g, node.data) && Within(g, node.inline_data),
          at + "a view points outside the source");
    Touch(node.data);
    Touch(node.inline_data);
    Touch(node.text);
    switch (node.kind) {
      case PickleKind::kDict:
        Check(node.items.size() % 2 == 0, at + "dict with an odd number of items");
        break;
      case PickleKind::kCall:
        Check(valid(node.callable), at + "call without a callable");
        Check(valid(node.args) && g.nodes[node.args].kind == PickleKind::kTuple,
              at + "call args not a tuple");
        Check(optional(node.kwargs), at + "kwargs is not a node");
        Check(node.dict_items.size() % 2 == 0, at + "odd dict_items");
        break;
      case PickleKind::kPersistentId:
        Check(node.items.size() == 1, at + "persistent id without its id");
        break;
      case PickleKind::kGlobal:
        Touch(g.GlobalName(i));
        break;
      default:
        break;
    }
    if (node.kind != PickleKind::kCall) {
      Check(node.inline_data.empty() && node.inline_pickle == kNoNode,
            at + "inline data on a non-call");
    }
  }
  for (const interop::GlobalUse& use : g.globals) {
    Check(valid(use.node) && g.nodes[use.node].kind == PickleKind::kGlobal,
          "GlobalUse not on a kGlobal");
    Check(use.offset < g.source->size(), "GlobalUse offset beyond the source");
    if (use.computed) Check(!g.unfollowable.empty(), "computed global but nothing unfollowable");
  }
}

struct Outcome {
  bool ok = true;
  ErrorCode code = ErrorCode::kIo;
  std::string message;
};

Outcome Exercise(const uint8_t* data, size_t size) {
  interop::PickleLimits limits;
  limits.max_decompressed_bytes = uint64_t{64} << 20;
  limits.max_nodes = uint64_t{1} << 22;
  Outcome outcome;
  try {
    const PickleGraph g = interop::ReadPickle(
        std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size), limits);
    CheckGraph(g);
  } catch (const Error& e) {
    Check(e.what()[0] != '\0', "ark::Error with an empty message");
    outcome.ok = false;
    outcome.code = e.code();
    outcome.message = e.what();
  }
  return outcome;
}

}  // namespace
}  // namespace ark::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ark::fuzz::Exercise(data, size);
  return 0;
}

#ifdef ARK_PICKLE_CORPUS_MAIN

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(s);
  for (std::string part; std::getline(stream, part, sep);) parts.push_back(part);
  return parts;
}

// Empty when the outcome meets what the file name expects.
std::string Expectation(const std::string& name, const ark::fuzz::Outcome& outcome) {
  const std::string got =
      outcome.ok ? "success"
                 : std::string(ark::ErrorCodeName(outcome.code)) + ": " + outcome.message;
  if (name.starts_with("ok-")) return outcome.ok ? "" : "expected success, got " + got;
  if (!name.starts_with("bad-")) return "";
  const std::vector<std::string> parts = Split(name, '-');
  if (parts.size() < 2) return "";
  if (outcome.ok) return "expected an ark::Error (" + parts[1] + "), got success";
  const std::vector<std::string> codes = Split(parts[1], '+');
  const std::string code = ark::ErrorCodeName(outcome.code);
  if (std::find(codes.begin(), codes.end(), "any") != codes.end() ||
      std::find(codes.begin(), codes.end(), code) != codes.end()) {
    return "";
  }
  return "expected ark::Error(" + parts[1] + "), got " + got;
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
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
      std::fprintf(stderr, "pickle_corpus_test: no such file or directory: %s\n", arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: pickle_corpus_test [--verbose] FILE_OR_DIR...\n");
    return 2;
  }
  int failures = 0, checked = 0;
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
      std::fprintf(stderr, "pickle_corpus_test: cannot open %s\n", path.c_str());
      return 2;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      std::fprintf(stderr, "pickle_corpus_test: cannot read %s\n", path.c_str());
      return 2;
    }
    std::printf("%s\n", path.c_str());  // before running, so that a crash names its input
    std::fflush(stdout);
    const ark::fuzz::Outcome outcome =
        ark::fuzz::Exercise(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (verbose) {
      std::printf(
          "  -> %s\n",
          outcome.ok
              ? "success"
              : (ark::ErrorCodeName(outcome.code) + std::string(": ") + outcome.message).c_str());
    }
    const std::string name = path.filename().string();
    if (name.starts_with("ok-") || name.starts_with("bad-")) ++checked;
    const std::string problem = Expectation(name, outcome);
    if (!problem.empty()) {
      ++failures;
      std::fprintf(stderr, "FAIL %s: %s\n", name.c_str(), problem.c_str());
    }
  }
  std::printf("pickle_corpus_test: %zu inputs, %d with an expected outcome, %d failed\n",
              files.size(), checked, failures);
  return failures == 0 ? 0 : 1;
}

#endif  // ARK_PICKLE_CORPUS_MAIN
