// Tests of ReadPickle: real scikit-learn / numpy / joblib fixtures written by
// testdata/make_pickles.py, and hand-written byte strings for each way a
// pickle can be bad.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"

namespace ark::interop {
namespace {

using namespace std::string_literals;

std::string TestDataDir() {
  const char* env = std::getenv("ARK_SOURCE_DIR");
  return std::string(env != nullptr ? env : ARK_SOURCE_DIR) + "/src/interop/testdata/";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Fixture(const std::string& name) { return Slurp(TestDataDir() + name); }

PickleGraph Read(std::string bytes, const PickleLimits& limits = PickleLimits{}) {
  return ReadPickle(std::make_shared<const std::string>(std::move(bytes)), limits);
}

// Reads `bytes`, expecting an ark::Error with `code` whose message contains
// `fragment`.
void ExpectError(const std::string& bytes, ErrorCode code, const std::string& fragment = "",
                 const PickleLimits& limits = PickleLimits{}) {
  try {
    Read(bytes, limits);
    ADD_FAILURE() << "no error for " << testing::PrintToString(bytes);
  } catch (const Error& e) {
    EXPECT_EQ(ErrorCodeName(e.code()), std::string(ErrorCodeName(code))) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << fragment;
  }
}

std::vector<std::string> GlobalNames(const PickleGraph& g) {
  std::vector<std::string> names;
  for (const GlobalUse& use : g.globals) names.push_back(g.GlobalName(use.node));
  return names;
}

bool HasGlobal(const PickleGraph& g, const std::string& name) {
  for (const std::string& n : GlobalNames(g)) {
    if (n == name) return true;
  }
  return false;
}

// The class a kCall node instantiates: NEWOBJ/INST/OBJ's class, or
// copyreg._reconstructor's first argument.
std::string ClassOf(const PickleGraph& g, NodeId call) {
  const PickleNode& n = g.at(call);
  if (n.kind != PickleKind::kCall) return "<not a call>";
  const std::string callable = g.GlobalName(n.callable);
  if (callable == "copyreg._reconstructor") return g.GlobalName(g.at(n.args).items.at(0));
  return callable;
}

// The value of a string key in a kDict node, or kNoNode.
NodeId DictGet(const PickleGraph& g, NodeId dict, const std::string& key) {
  const PickleNode& d = g.at(dict);
  for (size_t i = 0; i + 1 < d.items.size(); i += 2) {
    if (g.at(d.items[i]).kind == PickleKind::kString && g.at(d.items[i]).text == key)
      return d.items[i + 1];
  }
  return kNoNode;
}

// Wrappers of a joblib graph in stream order (node order is stream order).
std::vector<NodeId> Wrappers(const PickleGraph& g) {
  std::vector<NodeId> out;
  for (NodeId i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].kind == PickleKind::kCall &&
        ClassOf(g, i) == "joblib.numpy_pickle.NumpyArrayWrapper") {
      out.push_back(i);
    }
  }
  return out;
}

// ------------------------------------------------------------ fixtures ---

TEST(PickleReaderFixtures, LogisticRegressionAtEveryProtocol) {
  for (int proto = 0; proto <= 5; ++proto) {
    SCOPED_TRACE("protocol " + std::to_string(proto));
    const PickleGraph g = Read(Fixture("logreg_p" + std::to_string(proto) + ".pkl"));
    EXPECT_EQ(g.protocol, proto < 2 ? 0 : proto);
    EXPECT_FALSE(g.joblib);
    EXPECT_EQ(g.compression, "");
    EXPECT_TRUE(g.unfollowable.empty());
    ASSERT_EQ(g.at(g.root).kind, PickleKind::kCall);
    EXPECT_EQ(ClassOf(g, g.root), "sklearn.linear_model._logistic.LogisticRegression");
    EXPECT_EQ(g.at(g.root).call, proto < 2 ? CallKind::kReduce : CallKind::kNewObj);
    ASSERT_EQ(g.at(g.root).states.size(), 1u);
    const NodeId state = g.at(g.root).states[0];
    ASSERT_EQ(g.at(state).kind, PickleKind::kDict);
    const NodeId max_iter = DictGet(g, state, "max_iter");
    ASSERT_NE(max_iter, kNoNode);
    EXPECT_EQ(g.at(max_iter).kind, PickleKind::kInt);
    EXPECT_EQ(g.at(max_iter).int_value, 200);
    const NodeId version = DictGet(g, state, "_sklearn_version");
    ASSERT_NE(version, kNoNode);
    EXPECT_EQ(g.at(version).text, "1.2.1");
    // numpy arrays inside: reconstructed by numpy's own functions.
    EXPECT_TRUE(HasGlobal(g, "numpy.core.multiarray._reconstruct") ||
                HasGlobal(g, "numpy.core.numeric._frombuffer"));
    if (proto < 2) {
      // Python 3 writes copy_reg / __builtin__ for old protocols; the reader
      // reports the names Python 3 would import (fix_imports).
      EXPECT_TRUE(HasGlobal(g, "copyreg._reconstructor"));
      EXPECT_TRUE(HasGlobal(g, "builtins.object"));
      EXPECT_FALSE(HasGlobal(g, "copy_reg._reconstructor"));
    }
    for (const GlobalUse& use : g.globals) EXPECT_FALSE(use.computed);
  }
}

TEST(PickleReaderFixtures, RandomForestTreesAndNodeArrays) {
  for (const char* name : {"forest_p0.pkl", "forest_p2.pkl", "forest_p4.pkl", "forest_p5.pkl"}) {
    SCOPED_TRACE(name);
    const PickleGraph g = Read(Fixture(name));
    EXPECT_EQ(ClassOf(g, g.root), "sklearn.ensemble._forest.RandomForestClassifier");
    EXPECT_TRUE(HasGlobal(g, "sklearn.ensemble._forest.RandomForestClassifier"));
    EXPECT_TRUE(HasGlobal(g, "sklearn.tree._classes.DecisionTreeClassifier"));
    EXPECT_TRUE(HasGlobal(g, "sklearn.tree._tree.Tree"));
    // Two trees, each a Tree kCall (REDUCE of Tree(n_features, n_classes,
    // n_outputs)) with a state dict holding the node array.
    int trees = 0;
    for (NodeId i = 0; i < g.nodes.size(); ++i) {
      const PickleNode& n = g.nodes[i];
      if (n.kind != PickleKind::kCall || g.at(n.callable).kind != PickleKind::kGlobal ||
          g.GlobalName(n.callable) != "sklearn.tree._tree.Tree") {
        continue;
      }
      ++trees;
      ASSERT_EQ(n.states.size(), 1u);
      EXPECT_NE(DictGet(g, n.states[0], "nodes"), kNoNode);
      EXPECT_NE(DictGet(g, n.states[0], "values"), kNoNode);
      EXPECT_EQ(g.at(DictGet(g, n.states[0], "node_count")).kind, PickleKind::kInt);
    }
    EXPECT_EQ(trees, 2);
  }
}

TEST(PickleReaderFixtures, PipelineSteps) {
  const PickleGraph g = Read(Fixture("pipeline_p4.pkl"));
  EXPECT_EQ(g.protocol, 4);
  EXPECT_EQ(ClassOf(g, g.root), "sklearn.pipeline.Pipeline");
  const NodeId steps = DictGet(g, g.at(g.root).states.at(0), "steps");
  ASSERT_NE(steps, kNoNode);
  ASSERT_EQ(g.at(steps).kind, PickleKind::kList);
  ASSERT_EQ(g.at(steps).items.size(), 2u);
  const PickleNode& first = g.at(g.at(steps).items[0]);
  ASSERT_EQ(first.kind, PickleKind::kTuple);
  EXPECT_EQ(g.at(first.items[0]).text, "scale");
  EXPECT_EQ(ClassOf(g, first.items[1]), "sklearn.preprocessing._data.StandardScaler");
}

TEST(PickleReaderFixtures, MemoSharesNodes) {
  // Protocol 4 memoizes each global once: every numpy.dtype use in the forest
  // is the same node.
  const PickleGraph g = Read(Fixture("forest_p4.pkl"));
  std::map<std::string, int> nodes_per_name;
  for (NodeId i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].kind == PickleKind::kGlobal) ++nodes_per_name[g.GlobalName(i)];
  }
  EXPECT_EQ(nodes_per_name["numpy.dtype"], 1);
  int dtype_calls = 0;
  for (const PickleNode& n : g.nodes) {
    if (n.kind == PickleKind::kCall && g.at(n.callable).kind == PickleKind::kGlobal &&
        g.GlobalName(n.callable) == "numpy.dtype") {
      ++dtype_calls;
    }
  }
  EXPECT_GE(dtype_calls, 2);
}

TEST(PickleReaderFixtures, OutOfBandBuffers) {
  const PickleGraph g = Read(Fixture("numpy_oob_p5.pkl"));
  EXPECT_EQ(g.protocol, 5);
  std::vector<const PickleNode*> buffers;
  for (const PickleNode& n : g.nodes) {
    if (n.kind == PickleKind::kBuffer) buffers.push_back(&n);
  }
  // NEXT_BUFFER twice, the second then made read-only (a copy of the node).
  ASSERT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[0]->int_value, 0);
  EXPECT_FALSE(buffers[0]->readonly);
  EXPECT_EQ(buffers[1]->int_value, 1);
  EXPECT_FALSE(buffers[1]->readonly);
  EXPECT_EQ(buffers[2]->int_value, 1);
  EXPECT_TRUE(buffers[2]->readonly);
  EXPECT_TRUE(HasGlobal(g, "numpy.core.numeric._frombuffer"));

  const PickleGraph inband = Read(Fixture("numpy_inband_p5.pkl"));
  bool found = false;
  for (const PickleNode& n : inband.nodes) {
    if (n.kind == PickleKind::kByteArray || n.kind == PickleKind::kBytes) {
      if (n.data.size() == 96) found = true;  // 12 float64
      // Views point into the source.
      EXPECT_GE(n.data.data(), inband.source->data());
      EXPECT_LE(n.data.data() + n.data.size(), inband.source->data() + inband.source->size());
    }
  }
  EXPECT_TRUE(found);
}

// joblib_arrays.txt: "<fixture> <nbytes>,<nbytes>,..." ("O": object array).
std::map<std::string, std::vector<std::string>> JoblibListing() {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream lines(Fixture("joblib_arrays.txt"));
  for (std::string line; std::getline(lines, line);) {
    const size_t space = line.find(' ');
    std::vector<std::string> sizes;
    std::istringstream items(line.substr(space + 1));
    for (std::string item; std::getline(items, item, ',');) sizes.push_back(item);
    out[line.substr(0, space)] = sizes;
  }
  return out;
}

TEST(PickleReaderJoblib, ArraysMatchWhatJoblibWrote) {
  const auto listing = JoblibListing();
  ASSERT_GE(listing.size(), 9u);
  const PickleGraph plain = Read(Fixture("forest.joblib"));
  const std::vector<NodeId> plain_wrappers = Wrappers(plain);
  const std::map<std::string, std::string> codecs = {
      {"forest.joblib", ""},        {"forest_p2.joblib", ""},    {"forest_p0.joblib", ""},
      {"labels.joblib", ""},        {"forest.joblib.z", "zlib"}, {"forest.joblib.gz", "gzip"},
      {"forest.joblib.bz2", "bz2"}, {"forest.joblib.xz", "xz"},  {"forest.joblib.lzma", "lzma"}};
  for (const auto& [name, sizes] : listing) {
    SCOPED_TRACE(name);
    const PickleGraph g = ReadPickleFile(TestDataDir() + name);
    EXPECT_TRUE(g.joblib);
    EXPECT_EQ(g.compression, codecs.at(name));
    const std::vector<NodeId> wrappers = Wrappers(g);
    ASSERT_EQ(wrappers.size(), sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      const PickleNode& w = g.at(wrappers[i]);
      if (sizes[i] == "O") {
        EXPECT_TRUE(w.inline_data.empty());
        ASSERT_NE(w.inline_pickle, kNoNode);
      } else {
        EXPECT_EQ(w.inline_pickle, kNoNode);
        EXPECT_EQ(std::to_string(w.inline_data.size()), sizes[i]) << "array " << i;
      }
    }
    if (name.starts_with("forest.joblib")) {
      // The same arrays, byte for byte, whatever the codec.
      ASSERT_EQ(wrappers.size(), plain_wrappers.size());
      for (size_t i = 0; i < wrappers.size(); ++i) {
        EXPECT_EQ(g.at(wrappers[i]).inline_data, plain.at(plain_wrappers[i]).inline_data);
      }
    }
  }
}

TEST(PickleReaderJoblib, TreeNodeArrayHasStructuredItemsize) {
  const PickleGraph g = Read(Fixture("forest.joblib"));
  int node_arrays = 0;
  for (const NodeId w : Wrappers(g)) {
    const NodeId dtype = DictGet(g, g.at(w).states.at(0), "dtype");
    const NodeId shape = DictGet(g, g.at(w).states.at(0), "shape");
    const PickleNode& descr = g.at(g.at(g.at(dtype).args).items.at(0));
    if (descr.text != "V56") continue;  // sklearn 1.2's NODE_DTYPE
    ++node_arrays;
    EXPECT_EQ(g.at(w).inline_data.size(),
              56u * static_cast<uint64_t>(g.at(g.at(shape).items.at(0)).int_value));
  }
  EXPECT_EQ(node_arrays, 2);
}

TEST(PickleReaderJoblib, ObjectArrayIsANestedPickle) {
  const PickleGraph g = Read(Fixture("labels.joblib"));
  const std::vector<NodeId> wrappers = Wrappers(g);
  ASSERT_EQ(wrappers.size(), 1u);
  const NodeId nested = g.at(wrappers[0]).inline_pickle;
  ASSERT_NE(nested, kNoNode);
  EXPECT_EQ(g.at(nested).kind, PickleKind::kCall);
  EXPECT_EQ(g.GlobalName(g.at(nested).callable), "numpy.core.multiarray._reconstruct");
  std::vector<std::string> strings;
  for (const PickleNode& n : g.nodes) {
    if (n.kind == PickleKind::kString) strings.push_back(n.text);
  }
  for (const char* label : {"setosa", "versicolor", "virginica"}) {
    EXPECT_NE(std::find(strings.begin(), strings.end(), label), strings.end()) << label;
  }
}

TEST(PickleReaderJoblib, DecompressionLimitIsEnforcedWhileDecompressing) {
  PickleLimits limits;
  limits.max_decompressed_bytes = 1000;  // forest.joblib is ~3 KB
  for (const char* name : {"forest.joblib.z", "forest.joblib.gz", "forest.joblib.bz2",
                           "forest.joblib.xz", "forest.joblib.lzma"}) {
    SCOPED_TRACE(name);
    ExpectError(Fixture(name), ErrorCode::kLimitExceeded, "more than the limit of 1000 bytes",
                limits);
  }
  ExpectError(Fixture("forest.joblib"), ErrorCode::kLimitExceeded, "", limits);
  limits.max_decompressed_bytes = Fixture("forest.joblib").size();  // exactly enough
  EXPECT_NO_THROW(Read(Fixture("forest.joblib.gz"), limits));
}

TEST(PickleReaderJoblib, DamagedCompressedStreams) {
  for (const char* name : {"forest.joblib.z", "forest.joblib.gz", "forest.joblib.bz2",
                           "forest.joblib.xz", "forest.joblib.lzma"}) {
    SCOPED_TRACE(name);
    const std::string good = Fixture(name);
    // Cut short.
    ExpectError(good.substr(0, good.size() / 2), ErrorCode::kTruncated);
    // Junk after the stream.
    try {
      Read(good + "junk");
      ADD_FAILURE() << "junk after the stream accepted";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kCodecError || e.code() == ErrorCode::kBadManifest)
          << ErrorCodeName(e.code()) << ": " << e.what();
    }
    // A flipped byte in the middle: an error of some kind, never a crash.
    std::string flipped = good;
    flipped[flipped.size() / 2] ^= 0x5a;
    EXPECT_THROW(Read(flipped), Error);
  }
}

TEST(PickleReaderJoblib, EveryTruncationOfACompressedFileIsTruncated) {
  for (const char* name : {"forest.joblib.z", "forest.joblib.gz", "forest.joblib.bz2",
                           "forest.joblib.xz", "forest.joblib.lzma"}) {
    SCOPED_TRACE(name);
    const std::string full = Fixture(name);
    for (size_t n = 0; n < full.size(); ++n) {
      try {
        Read(full.substr(0, n));
        ADD_FAILURE() << "prefix of " << n << " bytes accepted";
      } catch (const Error& e) {
        // Shorter than the longest magic (xz: 5 bytes), a prefix may not be
        // recognisable as compressed at all: then any error will do.
        if (n >= 5) {
          ASSERT_EQ(e.code(), ErrorCode::kTruncated) << "prefix of " << n << " bytes: " << e.what();
        }
      }
    }
  }
}

TEST(PickleReaderJoblib, ConcatenatedStreams) {
  // gzip, bz2 and xz readers accept several streams back to back (Python's
  // do too); each stream here holds half of logreg_p4.pkl.
  const std::string plain = Fixture("logreg_p4.pkl");
  for (const auto& [name, codec] :
       std::map<std::string, std::string>{{"logreg_p4_concat.gz", "gzip"},
                                          {"logreg_p4_concat.bz2", "bz2"},
                                          {"logreg_p4_concat.xz", "xz"}}) {
    SCOPED_TRACE(name);
    const PickleGraph g = Read(Fixture(name));
    EXPECT_EQ(g.compression, codec);
    EXPECT_EQ(*g.source, plain);
    EXPECT_EQ(ClassOf(g, g.root), "sklearn.linear_model._logistic.LogisticRegression");
  }
  // xz stream padding must be a multiple of four zero bytes.
  const std::string xz = Fixture("logreg_p4_concat.xz");
  ExpectError(xz.substr(0, xz.size() - 1), ErrorCode::kCodecError, "7 bytes follow the end");
}

TEST(PickleReaderJoblib, UnsupportedJoblibFormats) {
  ExpectError("\x04\x22\x4d\x18rest"s, ErrorCode::kUnsupported, "lz4");
  ExpectError("ZF0x1234"s, ErrorCode::kUnsupported, "0.9.3");
}

// ------------------------------------------------------------ opcodes ---

TEST(PickleReaderOpcodes, SharingAndCycles) {
  // l = []; l.append(l)
  const PickleGraph g = Read(
      "\x80\x02]q\x00h\x00"
      "a."s);
  ASSERT_EQ(g.at(g.root).kind, PickleKind::kList);
  ASSERT_EQ(g.at(g.root).items.size(), 1u);
  EXPECT_EQ(g.at(g.root).items[0], g.root);
  // DUP and MEMOIZE share too: [x, x] with x = {}.
  const PickleGraph d = Read(
      "\x80\x04](}\x94h\x00"
      "e."s);
  ASSERT_EQ(d.at(d.root).items.size(), 2u);
  EXPECT_EQ(d.at(d.root).items[0], d.at(d.root).items[1]);
}

TEST(PickleReaderOpcodes, Integers) {
  EXPECT_EQ(Read("I01\n."s).at(0).kind, PickleKind::kBool);
  EXPECT_EQ(Read("I00\n."s).at(0).int_value, 0);
  EXPECT_EQ(Read("I-42\n."s).at(0).int_value, -42);
  const PickleGraph big = Read("I12345678901234567890\n."s);
  EXPECT_EQ(big.at(big.root).kind, PickleKind::kBigInt);
  EXPECT_EQ(big.at(big.root).text, "12345678901234567890");
  const PickleGraph l = Read("L-00100000000000000000000L\n."s);
  EXPECT_EQ(l.at(l.root).text, "-100000000000000000000");
  EXPECT_EQ(Read("L-5L\n."s).at(0).int_value, -5);
  EXPECT_EQ(Read("J\xff\xff\xff\xff."s).at(0).int_value, -1);
  EXPECT_EQ(Read("K\xff."s).at(0).int_value, 255);
  EXPECT_EQ(Read("M\xff\xff."s).at(0).int_value, 65535);
  // LONG1: 2**70, -2**63, 2**63, -2**70; LONG4.
  EXPECT_EQ(Read("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40."s).at(0).text,
            "1180591620717411303424");
  const PickleGraph min = Read("\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."s);
  EXPECT_EQ(min.at(0).kind, PickleKind::kInt);
  EXPECT_EQ(min.at(0).int_value, INT64_MIN);
  EXPECT_EQ(Read("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00."s).at(0).text,
            "9223372036854775808");
  EXPECT_EQ(Read("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0."s).at(0).text,
            "-1180591620717411303424");
  EXPECT_EQ(Read("\x80\x02\x8a\x00."s).at(0).int_value, 0);
  EXPECT_EQ(Read("\x80\x02\x8b\x02\x00\x00\x00\xff\xff."s).at(0).int_value, -1);
  ExpectError("Iabc\n."s, ErrorCode::kBadManifest,
              "INT operand is not a decimal integer at offset 0x0");
  ExpectError("I\n."s, ErrorCode::kBadManifest, "INT");
  ExpectError("I 1\n."s, ErrorCode::kBadManifest, "INT");
  ExpectError("\x8b\xff\xff\xff\xff."s, ErrorCode::kBadManifest, "negative");
  ExpectError("\x8b\x00\x00\x00\x40."s, ErrorCode::kLimitExceeded, "LONG4");
}

TEST(PickleReaderOpcodes, Floats) {
  EXPECT_EQ(Read("F1.5\n."s).at(0).float_value, 1.5);
  EXPECT_EQ(Read("F-1e-3\n."s).at(0).float_value, -1e-3);
  EXPECT_TRUE(std::isinf(Read("Finf\n."s).at(0).float_value));
  EXPECT_TRUE(std::isnan(Read("Fnan\n."s).at(0).float_value));
  EXPECT_EQ(Read("G\x3f\xf8\x00\x00\x00\x00\x00\x00."s).at(0).float_value, 1.5);
  ExpectError("F1.5x\n."s, ErrorCode::kBadManifest, "FLOAT");
  ExpectError("F\n."s, ErrorCode::kBadManifest, "FLOAT");
  ExpectError("F--1\n."s, ErrorCode::kBadManifest, "FLOAT");
}

TEST(PickleReaderOpcodes, Strings) {
  // Protocol-0 STRING: quotes and escapes (read as bytes).
  const PickleGraph s = Read("S'a\\x41\\n\\'b\\\\\\101'\n."s);
  EXPECT_EQ(s.at(0).kind, PickleKind::kBytes);
  EXPECT_EQ(s.at(0).data, "aA\n'b\\A");
  EXPECT_EQ(Read("S\"plain\"\n."s).at(0).data, "plain");
  ExpectError("S'abc\n."s, ErrorCode::kBadManifest, "must be quoted");
  ExpectError("S'\n."s, ErrorCode::kBadManifest, "must be quoted");
  ExpectError("S'a\\x4'\n."s, ErrorCode::kBadManifest, "invalid \\x escape");
  ExpectError("S'a\\'\n."s, ErrorCode::kBadManifest, "trailing \\ in string");
  // UNICODE: raw-unicode-escape, exactly as Python 3 writes 'caf\xe9€😀\\u'.
  const PickleGraph u = Read("Vcaf\xe9\\u20ac\\U0001f600\\u005cu\n."s);
  EXPECT_EQ(u.at(0).text, "caf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u");
  EXPECT_EQ(Read("Va\\\\u0041\n."s).at(0).text, "a\\\\u0041");  // even backslashes: no escape
  ExpectError("V\\u12\n."s, ErrorCode::kBadManifest, "UNICODE");
  ExpectError("V\\U00110000\n."s, ErrorCode::kBadManifest, "out of range");
  // Binary strings.
  EXPECT_EQ(Read("X\x02\x00\x00\x00\xc3\xa9."s).at(0).text, "\xc3\xa9");
  EXPECT_EQ(Read("\x8c\x01x."s).at(0).text, "x");
  EXPECT_EQ(Read("\x8d\x01\x00\x00\x00\x00\x00\x00\x00y."s).at(0).text, "y");
  EXPECT_EQ(Read("X\x03\x00\x00\x00\xed\xa0\x80."s).at(0).text, "\xed\xa0\x80");  // surrogatepass
  ExpectError("X\x01\x00\x00\x00\xff."s, ErrorCode::kBadManifest, "BINUNICODE is not UTF-8");
  ExpectError("\x8c\x02\xc0\x80."s, ErrorCode::kBadManifest, "not UTF-8");  // overlong
  EXPECT_EQ(Read("C\x03"
                 "abc."s)
                .at(0)
                .data,
            "abc");
  EXPECT_EQ(Read("B\x01\x00\x00\x00z."s).at(0).data, "z");
  EXPECT_EQ(Read("T\x01\x00\x00\x00z."s).at(0).data, "z");
  EXPECT_EQ(Read("U\x01z."s).at(0).data, "z");
  const PickleGraph ba = Read("\x96\x02\x00\x00\x00\x00\x00\x00\x00hi."s);
  EXPECT_EQ(ba.at(0).kind, PickleKind::kByteArray);
  EXPECT_EQ(ba.at(0).data, "hi");
  ExpectError("T\xff\xff\xff\xff."s, ErrorCode::kBadManifest, "negative");
}

TEST(PickleReaderOpcodes, Containers) {
  const PickleGraph set =
      Read("\x80\x04\x95\t\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02\x90."s);
  EXPECT_EQ(set.at(set.root).kind, PickleKind::kSet);
  EXPECT_EQ(set.at(set.root).items.size(), 2u);
  const PickleGraph fs = Read("\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00(K\x01\x91\x94."s);
  EXPECT_EQ(fs.at(fs.root).kind, PickleKind::kFrozenSet);
  const PickleGraph dict = Read(
      "(K\x01K\x02K\x03K\x04"
      "d."s);
  EXPECT_EQ(dict.at(dict.root).kind, PickleKind::kDict);
  EXPECT_EQ(dict.at(dict.root).items.size(), 4u);
  ExpectError(
      "(K\x01K\x02K\x03"
      "d."s,
      ErrorCode::kBadManifest, "DICT with an odd number");
  ExpectError("}(K\x01u."s, ErrorCode::kBadManifest, "SETITEMS with an odd number");
  const PickleGraph t = Read("K\x01K\x02K\x03\x87."s);
  EXPECT_EQ(t.at(t.root).kind, PickleKind::kTuple);
  EXPECT_EQ(t.at(t.root).items.size(), 3u);
  EXPECT_EQ(t.at(t.at(t.root).items[0]).int_value, 1);
  ExpectError("K\x01\x86."s, ErrorCode::kBadManifest, "TUPLE2 with an empty stack");
  ExpectError(
      "K\x01K\x02"
      "a."s,
      ErrorCode::kBadManifest, "APPEND on an object that cannot take items");
  ExpectError("](K\x01\x90."s, ErrorCode::kBadManifest, "ADDITEMS");
}

TEST(PickleReaderOpcodes, CallsRecordTheirItemsAndState) {
  // OrderedDict([(1, 2)]) at protocol 2: SETITEM on a REDUCE result.
  const PickleGraph od = Read("\x80\x02\x63\x63ollections\nOrderedDict\nq\x00)Rq\x01K\x01K\x02s."s);
  const PickleNode& root = od.at(od.root);
  EXPECT_EQ(root.kind, PickleKind::kCall);
  EXPECT_EQ(root.call, CallKind::kReduce);
  EXPECT_EQ(od.GlobalName(root.callable), "collections.OrderedDict");
  ASSERT_EQ(root.dict_items.size(), 2u);
  EXPECT_EQ(od.at(root.dict_items[1]).int_value, 2);
  // APPENDS on a NEWOBJ result, and BUILD.
  const PickleGraph ls = Read(
      "\x80\x04\x63m\nL\n)\x81(K\x01K\x02"
      "e}b."s);
  EXPECT_EQ(ls.at(ls.root).call, CallKind::kNewObj);
  EXPECT_EQ(ls.at(ls.root).list_items.size(), 2u);
  EXPECT_EQ(ls.at(ls.root).states.size(), 1u);
  // INST, OBJ, NEWOBJ_EX.
  const PickleGraph inst = Read("(S'x'\ni__main__\nFoo\n."s);
  EXPECT_EQ(inst.at(inst.root).call, CallKind::kInst);
  EXPECT_EQ(inst.GlobalName(inst.at(inst.root).callable), "__main__.Foo");
  EXPECT_EQ(inst.at(inst.at(inst.root).args).items.size(), 1u);
  const PickleGraph obj = Read("(c__main__\nFoo\nI1\no."s);
  EXPECT_EQ(obj.at(obj.root).call, CallKind::kObj);
  EXPECT_EQ(obj.at(obj.at(obj.root).args).items.size(), 1u);
  ExpectError("(o."s, ErrorCode::kBadManifest, "OBJ without a class");
  const PickleGraph ex = Read("\x80\x04\x63m\nC\n)}\x92."s);
  EXPECT_EQ(ex.at(ex.root).call, CallKind::kNewObjEx);
  EXPECT_EQ(ex.at(ex.at(ex.root).kwargs).kind, PickleKind::kDict);
  ExpectError("\x80\x04\x63m\nC\n))\x92."s, ErrorCode::kBadManifest, "NEWOBJ_EX keyword arguments");
  ExpectError("cm\nf\nK\x01R."s, ErrorCode::kBadManifest, "REDUCE arguments are not a tuple");
  // BUILD / APPEND on an imported object: recorded, and unfollowable.
  const PickleGraph mut = Read(
      "cm\nlst\nK\x01"
      "a."s);
  EXPECT_EQ(mut.at(mut.root).list_items.size(), 1u);
  ASSERT_EQ(mut.unfollowable.size(), 1u);
  EXPECT_NE(mut.unfollowable[0].find("APPEND on the imported m.lst"), std::string::npos)
      << mut.unfollowable[0];
}

TEST(PickleReaderOpcodes, BuildOnScalars) {
  // BUILD with None on None is a no-op (and must not touch the shared node).
  const PickleGraph g = Read("NNb."s);
  EXPECT_EQ(g.at(g.root).kind, PickleKind::kNone);
  EXPECT_TRUE(g.at(g.root).states.empty());
  ExpectError(
      "NK\x01"
      "b."s,
      ErrorCode::kBadManifest, "BUILD on an object that takes no state");
  ExpectError("\x88}b."s, ErrorCode::kBadManifest, "BUILD on an object that takes no state");
  ExpectError("N}a."s, ErrorCode::kBadManifest, "APPEND on an object that cannot take items");
}

TEST(PickleReaderOpcodes, StackGlobalLiteralAndComputed) {
  // Literal strings, also through the memo: followable.
  const PickleGraph lit = Read("\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93."s);
  ASSERT_EQ(lit.globals.size(), 1u);
  EXPECT_FALSE(lit.globals[0].computed);
  EXPECT_EQ(lit.GlobalName(lit.root), "os.system");
  EXPECT_TRUE(lit.unfollowable.empty());
  // Module computed by a call (str('os')).
  const PickleGraph call =
      Read("\x80\x04\x63\x62uiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93."s);
  ASSERT_EQ(call.globals.size(), 2u);
  EXPECT_TRUE(call.globals[1].computed);
  EXPECT_EQ(call.at(call.root).name, "system");
  ASSERT_EQ(call.unfollowable.size(), 1u);
  EXPECT_NE(call.unfollowable[0].find("STACK_GLOBAL"), std::string::npos);
  // Name fetched from the memo, where the memo holds a call result.
  const PickleGraph memo =
      Read("\x80\x04\x63\x62uiltins\nstr\n\x8c\x06system\x85R\x94\x8c\x02os\x94h\x01h\x00\x93."s);
  EXPECT_TRUE(memo.globals.back().computed);
  EXPECT_FALSE(memo.unfollowable.empty());
  // Bytes are not a str either.
  EXPECT_TRUE(Read("\x80\x04\x43\x02os\x8c\x06system\x93."s).globals[0].computed);
}

TEST(PickleReaderOpcodes, ExtensionsAndPersistentIds) {
  const PickleGraph ext = Read("\x80\x02\x82\x07."s);
  EXPECT_EQ(ext.at(ext.root).kind, PickleKind::kGlobal);
  ASSERT_EQ(ext.globals.size(), 1u);
  EXPECT_TRUE(ext.globals[0].computed);
  EXPECT_EQ(ext.unfollowable.size(), 1u);
  EXPECT_EQ(Read("\x80\x02\x83\x01\x01."s).at(0).name, "257");
  ExpectError("\x80\x02\x84\x00\x00\x00\x00."s, ErrorCode::kBadManifest,
              "EXT4 code is not positive");
  const PickleGraph pid = Read("Pabc\n."s);
  EXPECT_EQ(pid.at(pid.root).kind, PickleKind::kPersistentId);
  EXPECT_EQ(pid.at(pid.at(pid.root).items[0]).text, "abc");
  EXPECT_EQ(pid.unfollowable.size(), 1u);
  EXPECT_EQ(Read("K\x05Q."s).at(1).kind, PickleKind::kPersistentId);
}

TEST(PickleReaderOpcodes, FixImportsOnlyBelowProtocol3) {
  EXPECT_EQ(Read("c__builtin__\nobject\n."s).GlobalName(0), "builtins.object");
  EXPECT_EQ(Read("c__builtin__\nxrange\n."s).GlobalName(0), "builtins.range");
  EXPECT_EQ(Read("\x80\x02\x63\x63opy_reg\n_reconstructor\n."s).GlobalName(0),
            "copyreg._reconstructor");
  EXPECT_EQ(Read("\x80\x03\x63\x63opy_reg\n_reconstructor\n."s).GlobalName(0),
            "copy_reg._reconstructor");
  // Exactly Python's renames: exceptions.ValueError is a builtin, but
  // exceptions.eval stays what Python would try (and fail) to import.
  EXPECT_EQ(Read("cexceptions\nValueError\n."s).GlobalName(0), "builtins.ValueError");
  EXPECT_EQ(Read("cexceptions\nStandardError\n."s).GlobalName(0), "builtins.Exception");
  EXPECT_EQ(Read("cexceptions\neval\n."s).GlobalName(0), "exceptions.eval");
  EXPECT_EQ(Read("ccommands\ngetoutput\n."s).GlobalName(0), "subprocess.getoutput");
}

TEST(PickleReaderOpcodes, Framing) {
  EXPECT_NO_THROW(Read("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N."s));
  // An operand may start right after its frame (pickle.py reads on from the
  // file) but not straddle the frame's end.
  EXPECT_EQ(Read("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00\x8c\x01x."s).at(0).text, "x");
  ExpectError("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x02xy."s, ErrorCode::kBadManifest,
              "SHORT_BINUNICODE operand runs past the end of its FRAME at offset 0xb");
  ExpectError("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00I12\n."s, ErrorCode::kBadManifest,
              "INT line runs past the end of its FRAME");
  ExpectError("\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N."s,
              ErrorCode::kBadManifest, "FRAME before the end");
  ExpectError("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x10N."s, ErrorCode::kTruncated, "FRAME of");
}

// --------------------------------------------------------------- errors ---

TEST(PickleReaderErrors, BadMemo) {
  ExpectError("\x80\x02h\x07."s, ErrorCode::kBadManifest,
              "BINGET of memo key 7 not defined at offset 0x2");
  ExpectError("N0g7\n."s, ErrorCode::kBadManifest, "GET of memo key 7 not defined at offset 0x2");
  ExpectError("j\x00\x00\x00\x01."s, ErrorCode::kBadManifest, "LONG_BINGET of memo key 16777216");
  ExpectError("q\x00."s, ErrorCode::kBadManifest, "BINPUT with an empty stack");
  ExpectError("Np-1\n."s, ErrorCode::kBadManifest, "negative");
  ExpectError("Np99999999999999999999999\n."s, ErrorCode::kLimitExceeded, "too large");
  PickleLimits limits;
  limits.max_memo_entries = 2;
  ExpectError("N\x94\x94\x94."s, ErrorCode::kLimitExceeded, "memo entries", limits);
}

TEST(PickleReaderErrors, StackAndMark) {
  ExpectError("."s, ErrorCode::kBadManifest, "STOP with an empty stack at offset 0x0");
  ExpectError("0."s, ErrorCode::kBadManifest, "POP with an empty stack");
  ExpectError("1."s, ErrorCode::kBadManifest, "POP_MARK without a MARK");
  ExpectError("t."s, ErrorCode::kBadManifest, "TUPLE without a MARK");
  ExpectError("N(."s, ErrorCode::kBadManifest, "STOP reaches below a MARK");
  ExpectError("](a."s, ErrorCode::kBadManifest, "APPEND reaches below a MARK");
  ExpectError("2."s, ErrorCode::kBadManifest, "DUP with an empty stack");
  // POP on an empty frame drops the MARK, as pickle.py does.
  EXPECT_EQ(Read("N(0."s).at(0).kind, PickleKind::kNone);
}

TEST(PickleReaderErrors, UnknownOpcodeMissingStopTrailingBytes) {
  ExpectError("\x80\x02\xff."s, ErrorCode::kBadManifest, "unknown opcode 0xff at offset 0x2");
  ExpectError("\x80\x06N."s, ErrorCode::kUnsupported, "protocol 6");
  ExpectError("N"s, ErrorCode::kTruncated, "ends without STOP at offset 0x1");
  ExpectError(""s, ErrorCode::kTruncated, "ends without STOP");
  ExpectError("N.x"s, ErrorCode::kBadManifest, "1 bytes after STOP at offset 0x2");
  ExpectError("N.N."s, ErrorCode::kBadManifest, "after STOP");
}

TEST(PickleReaderErrors, HugeLengthsDoNotAllocate) {
  ExpectError("\x8e\x00\x00\x00\x00\x00\x00\x00\x10."s, ErrorCode::kTruncated,
              "BINBYTES8 needs 1152921504606846976 bytes but 1 are left");
  ExpectError("\x8d\xff\xff\xff\xff\xff\xff\xff\xff."s, ErrorCode::kTruncated, "BINUNICODE8");
  ExpectError("\x96\xff\xff\xff\xff\xff\xff\xff\x7f."s, ErrorCode::kTruncated, "BYTEARRAY8");
  ExpectError("X\xff\xff\xff\xff."s, ErrorCode::kTruncated, "BINUNICODE");
  ExpectError("B\xff\xff\xff\xff."s, ErrorCode::kTruncated, "BINBYTES");
  ExpectError("T\xff\xff\xff\x7f."s, ErrorCode::kTruncated, "BINSTRING");
  ExpectError("\x95\xff\xff\xff\xff\xff\xff\xff\xff."s, ErrorCode::kTruncated, "FRAME");
}

TEST(PickleReaderErrors, EveryTruncationIsAClearError) {
  for (const char* name : {"logreg_p0.pkl", "logreg_p2.pkl", "logreg_p5.pkl", "forest.joblib",
                           "labels.joblib", "forest_p0.joblib", "numpy_oob_p5.pkl"}) {
    SCOPED_TRACE(name);
    const std::string full = Fixture(name);
    ASSERT_NO_THROW(Read(full));
    for (size_t n = 0; n < full.size(); ++n) {
      try {
        Read(full.substr(0, n));
        ADD_FAILURE() << "prefix of " << n << " bytes accepted";
      } catch (const Error& e) {
        ASSERT_EQ(e.code(), ErrorCode::kTruncated) << "prefix of " << n << " bytes: " << e.what();
      }
    }
  }
}

TEST(PickleReaderErrors, CorruptedBytesNeverCrash) {
  // Every single-byte change of a small joblib file: an error or a graph,
  // nothing else (run under ASan in CI).
  const std::string full = Fixture("labels.joblib");
  for (size_t i = 0; i < full.size(); ++i) {
    for (const unsigned char x : {0x01, 0x80, 0xff}) {
      std::string bad = full;
      bad[i] = static_cast<char>(bad[i] ^ x);
      try {
        Read(bad);
      } catch (const Error&) {
      }
    }
  }
}

TEST(PickleReaderErrors, JoblibArrayBounds) {
  // A wrapper whose shape claims 2^40 x 2^40 float64: overflow, not allocation.
  const std::string wrapper_head = "\x80\x02\x63joblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}("s;
  const std::string dtype = "\x8c\x05\x64type\x63numpy\ndtype\n\x8c\x02\x66\x38\x89\x88\x87R"s;
  ExpectError(wrapper_head + "\x8c\x05shape" +
                  "\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\x01"s + "\x86" +
                  dtype + "u" + "b.",
              ErrorCode::kSizeOverflow, "joblib array");
  // Shape (4,) of f8 but only 8 bytes follow.
  ExpectError(wrapper_head + "\x8c\x05shapeK\x04\x85" + dtype + "ub" + "12345678" + ".",
              ErrorCode::kTruncated, "joblib array of 32 bytes");
  // And a well-formed one with alignment padding: 3 padding bytes.
  const PickleGraph ok =
      Read(wrapper_head + "\x8c\x05shapeK\x01\x85" + dtype +
           "\x8c\x1bnumpy_array_alignment_bytesK\x10ub" + "\x03\xff\xff\xff" + "ABCDEFGH" + ".");
  EXPECT_TRUE(ok.joblib);
  EXPECT_EQ(ok.at(ok.root).inline_data, "ABCDEFGH");
  ExpectError(wrapper_head + "\x8c\x05shapeK\x01\x85ub."s, ErrorCode::kBadManifest,
              "without shape or dtype");
  // An array of no elements: an empty view, but one that says "read".
  const PickleGraph empty = Read(wrapper_head + "\x8c\x05shapeK\x00\x85"s + dtype + "ub.");
  EXPECT_TRUE(empty.at(empty.root).inline_data.empty());
  EXPECT_NE(empty.at(empty.root).inline_data.data(), nullptr);
  EXPECT_EQ(Read("N."s).at(0).inline_data.data(), nullptr);
  // Shape () is one element.
  const PickleGraph scalar = Read(wrapper_head + "\x8c\x05shape)" + dtype + "ub" + "ABCDEFGH.");
  EXPECT_EQ(scalar.at(scalar.root).inline_data, "ABCDEFGH");
}

TEST(PickleReaderErrors, DeepNestingNeedsNoRecursion) {
  constexpr size_t kDepth = 1000000;
  // [[[...]]] one million deep, built with EMPTY_LIST and APPEND.
  const PickleGraph g = Read(std::string(kDepth, ']') + std::string(kDepth - 1, 'a') + ".");
  EXPECT_EQ(g.nodes.size(), kDepth);
  // And with MARK / LIST.
  EXPECT_NO_THROW(Read(std::string(kDepth, '(') + std::string(kDepth, 'l') + "."));
  PickleLimits limits;
  limits.max_stack_depth = 1000;
  ExpectError(std::string(2000, '(') + std::string(2000, 'l') + ".", ErrorCode::kLimitExceeded,
              "max_stack_depth", limits);
  limits = PickleLimits{};
  limits.max_nodes = 100;
  ExpectError(std::string(200, ']') + ".", ErrorCode::kLimitExceeded, "max_nodes", limits);
}

TEST(PickleReaderErrors, EmptyListFloodStopsAtTheNodeLimit) {
  // The defaults bound the node array near 1 GiB (2 GiB while it grows).
  EXPECT_LE(PickleLimits{}.max_nodes * sizeof(PickleNode), uint64_t{1200} << 20);
  EXPECT_LE(PickleLimits{}.max_memo_entries * sizeof(NodeId) * 2, uint64_t{64} << 20);
  // One-byte EMPTY_LIST (each POPped, so the stack stays empty) beyond the
  // limit: kLimitExceeded, fast, with no allocation past the limit.
  PickleLimits limits;
  limits.max_nodes = 200000;
  std::string flood;
  for (uint64_t i = 0; i <= limits.max_nodes; ++i) flood += "]0";
  const auto started = std::chrono::steady_clock::now();
  ExpectError(flood + "N.", ErrorCode::kLimitExceeded, "max_nodes", limits);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // Exactly at the limit it reads, and the node array was not over-allocated.
  limits.max_nodes = 1500;
  std::string at_limit;
  for (int i = 0; i < 1499; ++i) at_limit += "]0";
  const PickleGraph g = Read(at_limit + "].", limits);
  EXPECT_EQ(g.nodes.size(), 1500u);
  EXPECT_LE(g.nodes.capacity(), 1500u);
  // MEMOIZE flood: bounded by max_memo_entries.
  limits = PickleLimits{};
  limits.max_memo_entries = 100000;
  ExpectError("N" + std::string(100001, '\x94') + ".", ErrorCode::kLimitExceeded, "memo entries",
              limits);
}

TEST(PickleReaderOpcodes, DenseAndScatteredMemoKeys) {
  // A scattered key (kept in a map), then keys 0..2999 (a flat array that
  // grows over it): a PUT of the old key replaces it without counting twice,
  // so MEMOIZE's key (the entry count) is 3001.
  std::string p = "\x80\x04K\x01r\x88\x13\x00\x00" "0"s;  // memo[5000] = 1
  for (uint32_t i = 0; i < 3000; ++i) {
    p += "K\x02r"s;
    for (int b = 0; b < 4; ++b) p += static_cast<char>((i >> (8 * b)) & 0xff);
    p += "0";
  }
  p += "K\x03r\x88\x13\x00\x00" "0"s;                  // memo[5000] = 3
  p += "j\x88\x13\x00\x00" "\x94" "0" "j\xb9\x0b\x00\x00."s;  // memo[3001] = memo[5000]
  const PickleGraph g = Read(p);
  EXPECT_EQ(g.at(g.root).kind, PickleKind::kInt);
  EXPECT_EQ(g.at(g.root).int_value, 3);
  // A key far from the others: no array sized by it.
  const PickleGraph far = Read("N" "r\xf0\xff\xff\xff" "0" "j\xf0\xff\xff\xff" "."s);
  EXPECT_EQ(far.at(far.root).kind, PickleKind::kNone);
  ExpectError("Nr\xf0\xff\xff\xff" "0j\xf1\xff\xff\xff."s, ErrorCode::kBadManifest,
              "memo key 4294967281 not defined");
}

TEST(PickleReaderFiles, FilesAreMappedAndSourcesShareTheirBytes) {
  const std::string path = TestDataDir() + "forest.joblib";
  const PickleGraph mapped = ReadPickleFile(path);
  const PickleGraph from_string = Read(Fixture("forest.joblib"));
  ASSERT_EQ(mapped.nodes.size(), from_string.nodes.size());
  EXPECT_EQ(*mapped.source, *from_string.source);
  const PickleSource bytes = ReadPickleSource(path);
  EXPECT_EQ(*bytes, Fixture("forest.joblib"));
  // A copy of the handle keeps the bytes alive after the graph is gone.
  PickleSource kept;
  {
    const PickleGraph g = ReadPickle(bytes);
    kept = g.source;
  }
  EXPECT_EQ(kept->size(), bytes->size());
  EXPECT_EQ(kept->data(), bytes->data());
  ExpectError(std::string(), ErrorCode::kTruncated, "ends without STOP");
}

TEST(PickleReaderFiles, MissingDirectoryAndGlobalName) {
  try {
    ReadPickleFile(TestDataDir() + "does-not-exist.pkl");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
  try {
    ReadPickleFile(TestDataDir());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos);
  }
  const PickleGraph g = ReadPickleFile(TestDataDir() + "logreg_p4.pkl");
  EXPECT_THROW(g.GlobalName(g.root), Error);  // a kCall
  EXPECT_THROW(ReadPickle(nullptr), Error);
  // A copy keeps its views valid (decoded STRING payloads are shared).
  PickleGraph copy;
  {
    const PickleGraph original = Read("S'a\\nb'\n."s);
    copy = original;
  }
  EXPECT_EQ(copy.at(0).data, "a\nb");
}

}  // namespace
}  // namespace ark::interop
