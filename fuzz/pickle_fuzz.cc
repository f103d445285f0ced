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
// ARK_CORPUS_MAIN defined and corpus_main.cc, as the plain test
// `pickle_corpus_test`, which replays fuzz/pickle_corpus/ and checks the
// files named by convention against their expected outcome (corpus_main.h;
// ok-* must parse).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"
#include "corpus_main.h"

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

#ifdef ARK_CORPUS_MAIN
int main(int argc, char** argv) {
  const ark::fuzz::CorpusTarget target{"pickle_corpus_test", [](std::span<const uint8_t> data) {
                                         return ark::fuzz::Exercise(data.data(), data.size());
                                       }};
  return ark::fuzz::CorpusMain(target, argc, argv);
}
#endif
