// Tests of the scanner: name classification (names.h), hand-built graphs
// (ScanGraph), and real files written by pickle/joblib (testdata/).
#include "ark/interop/scan.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "ark/format/error.h"
#include "names.h"

namespace ark::interop {
namespace {

Verdict Classify(const std::string& module, const std::string& name) {
  return ClassifyGlobal(module, name).verdict;
}

TEST(ClassifyGlobal, ProcessFileAndCodeAccessIsDangerous) {
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"os", "system"}, {"posix", "system"}, {"nt", "system"}, {"subprocess", "Popen"},
           {"subprocess", "check_output"}, {"builtins", "eval"}, {"builtins", "exec"},
           {"builtins", "compile"}, {"builtins", "__import__"}, {"builtins", "open"},
           {"builtins", "getattr"}, {"importlib", "import_module"}, {"runpy", "run_path"},
           {"pickle", "loads"}, {"_pickle", "loads"}, {"pkgutil", "resolve_name"},
           {"socket", "create_connection"}, {"ctypes", "CDLL"}, {"shutil", "rmtree"},
           {"os", "remove"}, {"marshal", "loads"}, {"types", "FunctionType"},
           {"operator", "attrgetter"}, {"numpy", "load"}, {"numpy.lib.npyio", "load"},
           {"joblib", "load"}, {"torch", "load"}, {"webbrowser", "open"}}) {
    const NameVerdict verdict = ClassifyGlobal(module, name);
    EXPECT_EQ(verdict.verdict, Verdict::kDangerous) << module << "." << name;
    EXPECT_FALSE(verdict.reason.empty()) << module << "." << name;
  }
  EXPECT_EQ(ClassifyGlobal("posix", "system").reason, "runs a shell command");
}

TEST(ClassifyGlobal, Python2NamesAreMappedLikeFixImports) {
  EXPECT_EQ(Classify("__builtin__", "eval"), Verdict::kDangerous);
  EXPECT_EQ(Classify("commands", "getoutput"), Verdict::kDangerous);  // -> subprocess
  EXPECT_EQ(Classify("copy_reg", "_reconstructor"), Verdict::kSafe);
  EXPECT_EQ(Classify("__builtin__", "set"), Verdict::kSafe);
  EXPECT_EQ(Classify("__builtin__", "xrange"), Verdict::kSafe);  // -> builtins.range
}

TEST(ClassifyGlobal, AttributeWalksThroughTrustedPackagesAreDangerous) {
  EXPECT_EQ(Classify("sklearn.base", "os.system"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn.base", "os"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn.base", "BaseEstimator.__init__.__globals__"), Verdict::kDangerous);
  EXPECT_EQ(Classify("numpy", "sys.modules"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn.base", "BaseEstimator.__reduce__"), Verdict::kDangerous);
}

TEST(ClassifyGlobal, NamesThatAreNotPythonNamesAreDangerous) {
  EXPECT_EQ(Classify("os system", "x"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn", "a b"), Verdict::kDangerous);
  EXPECT_EQ(Classify("", "eval"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn.base", ""), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn..base", "X"), Verdict::kDangerous);
  EXPECT_EQ(Classify("sklearn.base", "<lambda>"), Verdict::kDangerous);
}

TEST(ClassifyGlobal, PicklePlumbingIsSafe) {
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"copyreg", "_reconstructor"}, {"copyreg", "__newobj__"}, {"_codecs", "encode"},
           {"numpy.core.multiarray", "_reconstruct"}, {"numpy.core.multiarray", "scalar"},
           {"numpy.core.numeric", "_frombuffer"}, {"numpy", "ndarray"}, {"numpy", "dtype"},
           {"numpy.random._pickle", "__randomstate_ctor"}, {"numpy.random._pickle", "__generator_ctor"},
           {"joblib.numpy_pickle", "NumpyArrayWrapper"}, {"builtins", "object"},
           {"builtins", "frozenset"}, {"functools", "partial"}, {"collections", "OrderedDict"},
           {"numpy.ma.core", "_mareconstruct"}, {"scipy.sparse._csr", "csr_matrix"},
           {"sklearn.tree._tree", "Tree"}, {"sklearn._loss._loss", "__pyx_unpickle_CyHalfBinomialLoss"},
           {"sklearn.neighbors._kd_tree", "newObj"}}) {
    EXPECT_EQ(Classify(module, name), Verdict::kSafe) << module << "." << name;
  }
  // The Cython rule holds only inside trusted scikit-learn modules.
  EXPECT_NE(Classify("sklearn.utils._testing", "__pyx_unpickle_X"), Verdict::kSafe);
  EXPECT_NE(Classify("mypkg", "__pyx_unpickle_X"), Verdict::kSafe);
}

TEST(ClassifyGlobal, TrustListMirrorsPython) {
  EXPECT_EQ(Classify("sklearn.linear_model._logistic", "LogisticRegression"), Verdict::kSafe);
  EXPECT_EQ(Classify("numpy", "float64"), Verdict::kSafe);
  EXPECT_EQ(Classify("numpy", "sin"), Verdict::kSafe);  // ufunc
  EXPECT_EQ(Classify("numpy.core._multiarray_umath", "log1p"), Verdict::kSafe);
  EXPECT_EQ(Classify("numpy._core._multiarray_umath", "sin"), Verdict::kSafe);  // numpy >= 2
  EXPECT_EQ(Classify("numpy._core.multiarray", "_reconstruct"), Verdict::kSafe);
  EXPECT_EQ(Classify("numpy", "median"), Verdict::kSafe);
  EXPECT_EQ(Classify("scipy.special", "expit"), Verdict::kSafe);
  EXPECT_EQ(Classify("scipy.interpolate._bsplines", "BSpline"), Verdict::kSafe);
  EXPECT_EQ(Classify("datetime", "datetime"), Verdict::kSafe);
  EXPECT_EQ(Classify("builtins", "float"), Verdict::kSafe);
  // Not trusted by default, but not dangerous either.
  EXPECT_EQ(Classify("mypkg.models", "Thing"), Verdict::kUnknown);
  EXPECT_EQ(Classify("sklearn.datasets", "load_iris"), Verdict::kUnknown);
  EXPECT_EQ(Classify("numpy", "trace"), Verdict::kUnknown);
  EXPECT_EQ(Classify("scipy.special", "jv"), Verdict::kUnknown);
  EXPECT_EQ(Classify("pandas.core.frame", "DataFrame"), Verdict::kUnknown);
}

TEST(ClassifyGlobal, EmbeddedListIsTheReviewedFile) {
  const std::string path = std::string(ARK_SOURCE_DIR) + "/python/ark/trust_lists.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(TrustListsJson(), text.str()) << "rebuild: the embedded copy is stale";
}

// Builds graphs by hand, as the reader would.
class GraphBuilder {
 public:
  GraphBuilder() { graph_.source = std::make_shared<const std::string>(); }
  NodeId Global(const std::string& module, const std::string& name, uint64_t offset,
                bool computed = false) {
    PickleNode node;
    node.kind = PickleKind::kGlobal;
    node.module = module;
    node.name = name;
    node.offset = offset;
    const NodeId id = Add(std::move(node));
    graph_.globals.push_back(GlobalUse{id, offset, computed});
    return id;
  }
  NodeId String(const std::string& text) {
    PickleNode node;
    node.kind = PickleKind::kString;
    node.text = text;
    return Add(std::move(node));
  }
  NodeId Tuple(std::vector<NodeId> items) {
    PickleNode node;
    node.kind = PickleKind::kTuple;
    node.items = std::move(items);
    return Add(std::move(node));
  }
  NodeId Call(NodeId callable, NodeId args, uint64_t offset, CallKind kind = CallKind::kReduce) {
    PickleNode node;
    node.kind = PickleKind::kCall;
    node.call = kind;
    node.callable = callable;
    node.args = args;
    node.offset = offset;
    return graph_.root = Add(std::move(node));
  }
  NodeId Add(PickleNode node) {
    graph_.nodes.push_back(std::move(node));
    return static_cast<NodeId>(graph_.nodes.size() - 1);
  }
  PickleGraph& graph() { return graph_; }

 private:
  PickleGraph graph_;
};

TEST(ScanGraph, DangerousCallNamesTheFunctionItsArgumentAndOffset) {
  GraphBuilder b;
  const NodeId system = b.Global("posix", "system", 0x2);
  b.Call(system, b.Tuple({b.String("rm -rf /")}), 0x2f);
  const ScanReport report = ScanGraph(b.graph());
  EXPECT_EQ(report.verdict, Verdict::kDangerous);
  EXPECT_EQ(report.headline, "DANGEROUS — calls posix.system('rm -rf /') at offset 0x2f");
  ASSERT_EQ(report.globals.size(), 1u);
  EXPECT_EQ(report.globals[0].name, "posix.system");
  EXPECT_TRUE(report.globals[0].called);
  EXPECT_EQ(report.globals[0].offsets, std::vector<uint64_t>{0x2});
  ASSERT_EQ(report.globals[0].calls.size(), 1u);
}

TEST(ScanGraph, CallingTheResultOfACallIsDangerousEvenWhenEveryNameLooksHarmless) {
  // functools.partial(...) is plumbing, but calling what it returns runs code.
  GraphBuilder b;
  const NodeId partial = b.Global("functools", "partial", 0x2);
  const NodeId made = b.Call(partial, b.Tuple({}), 0x10);
  b.Call(made, b.Tuple({}), 0x20);
  const ScanReport report = ScanGraph(b.graph());
  EXPECT_EQ(report.verdict, Verdict::kDangerous);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_NE(report.findings[0].find("the result of functools.partial(...)"), std::string::npos)
      << report.findings[0];
}

TEST(ScanGraph, ComputedNamesPersistentIdsAndUnfollowableStreamsAreDangerous) {
  {
    GraphBuilder b;
    b.Global("<computed>", "<computed>", 0x30, /*computed=*/true);
    EXPECT_EQ(ScanGraph(b.graph()).verdict, Verdict::kDangerous);
  }
  {
    GraphBuilder b;
    PickleNode pid;
    pid.kind = PickleKind::kPersistentId;
    pid.offset = 0x7;
    pid.items.push_back(b.String("storage"));
    b.Add(std::move(pid));
    const ScanReport report = ScanGraph(b.graph());
    EXPECT_EQ(report.verdict, Verdict::kDangerous);
    EXPECT_NE(report.headline.find("persistent id at offset 0x7"), std::string::npos) << report.headline;
  }
  {
    GraphBuilder b;
    b.graph().unfollowable.push_back("EXT1 (copyreg extension registry code 1) at 0x2");
    EXPECT_EQ(ScanGraph(b.graph()).verdict, Verdict::kDangerous);
  }
}

TEST(ScanGraph, UnknownAndSafeHeadlines) {
  GraphBuilder b;
  const NodeId cls = b.Global("mypkg", "Thing", 0x2);
  b.Call(b.Global("copyreg", "_reconstructor", 0x10),
         b.Tuple({cls, b.Global("builtins", "object", 0x20), b.String("x")}), 0x30);
  ScanReport report = ScanGraph(b.graph());
  EXPECT_EQ(report.verdict, Verdict::kUnknown);
  EXPECT_EQ(report.headline, "UNKNOWN — mypkg.Thing (unknown: not on the trust list)");
  EXPECT_EQ(report.globals.size(), 3u);

  GraphBuilder safe;
  safe.Call(safe.Global("sklearn.linear_model._logistic", "LogisticRegression", 0x4),
            safe.Tuple({}), 0x40, CallKind::kNewObj);
  report = ScanGraph(safe.graph());
  EXPECT_EQ(report.verdict, Verdict::kSafe);
  EXPECT_EQ(report.headline, "SAFE — 1 global, on the trust list");
  EXPECT_EQ(ScanGraph(GraphBuilder().graph()).headline, "SAFE — plain data, no globals");
}

TEST(ScanGraph, ImportedButNotCalledDangerousNameIsStillDangerous) {
  GraphBuilder b;
  b.Global("os", "system", 0x12);
  const ScanReport report = ScanGraph(b.graph());
  EXPECT_EQ(report.verdict, Verdict::kDangerous);
  EXPECT_EQ(report.headline, "DANGEROUS — imports os.system at offset 0x12 (runs a shell command)");
}

std::string TestData(const std::string& name) {
  return std::string(ARK_SOURCE_DIR) + "/src/interop/testdata/" + name;
}

std::shared_ptr<const std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return std::make_shared<const std::string>(text.str());
}

TEST(ScanFile, RealScikitLearnPicklesAndJoblibFilesAreSafe) {
  for (const char* name : {"logreg_p0.pkl", "logreg_p1.pkl", "logreg_p2.pkl", "logreg_p3.pkl",
                           "logreg_p4.pkl", "logreg_p5.pkl", "forest_p2.pkl", "forest_p4.pkl",
                           "forest_p5.pkl", "pipeline_p4.pkl", "forest.joblib", "forest.joblib.gz",
                           "forest.joblib.bz2", "forest.joblib.xz", "forest.joblib.lzma",
                           "forest.joblib.z", "forest_p0.joblib", "numpy_oob_p5.pkl"}) {
    const ScanReport report = ScanFile(TestData(name));
    EXPECT_EQ(report.verdict, Verdict::kSafe) << name << ": " << report.headline;
  }
  const ScanReport joblib = ScanFile(TestData("forest.joblib.gz"));
  EXPECT_EQ(joblib.format, "joblib");
  EXPECT_EQ(joblib.compression, "gzip");
}

TEST(ScanFile, TruncatedAndGarbageBytesAreUnreadableNotACrash) {
  const auto whole = Slurp(TestData("logreg_p4.pkl"));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, whole->size() / 2, whole->size() - 1}) {
    const ScanReport report =
        ScanBytes(std::make_shared<const std::string>(whole->substr(0, cut)), "cut");
    EXPECT_EQ(report.verdict, Verdict::kUnreadable) << cut;
    EXPECT_FALSE(report.error.empty());
    EXPECT_EQ(report.headline.rfind("UNREADABLE — ", 0), 0u) << report.headline;
  }
  EXPECT_EQ(ScanBytes(std::make_shared<const std::string>("PK\x03\x04garbage"), "z").verdict,
            Verdict::kUnreadable);
  EXPECT_EQ(ScanBytes(nullptr).verdict, Verdict::kUnreadable);
  EXPECT_THROW(ScanFile(TestData("no-such-file.pkl")), Error);
}

TEST(ScanBytes, APickleHiddenAfterStopIsScannedAndReported) {
  const auto first = Slurp(TestData("logreg_p4.pkl"));
  const std::string attack = std::string("\x80\x02" "cposix\nsystem\n" "(X\x02\x00\x00\x00id" "tR.", 27);
  const ScanReport report =
      ScanBytes(std::make_shared<const std::string>(*first + attack), "two.pkl");
  EXPECT_EQ(report.verdict, Verdict::kDangerous) << report.headline;
  ASSERT_FALSE(report.findings.empty());
  EXPECT_NE(report.findings[0].find("hidden after STOP"), std::string::npos) << report.findings[0];
  bool found = false;
  for (const ScannedGlobal& global : report.globals) {
    if (global.name == "posix.system") {
      found = true;
      EXPECT_EQ(global.offsets, std::vector<uint64_t>{first->size() + 2});
    }
  }
  EXPECT_TRUE(found);
  // Trailing garbage stays a read error.
  EXPECT_EQ(ScanBytes(std::make_shared<const std::string>(*first + "garbage")).verdict,
            Verdict::kUnreadable);
}

TEST(ScanBytes, EveryFlippedByteGivesAReportNeverACrash) {
  for (const char* name : {"logreg_p4.pkl", "logreg_p0.pkl"}) {
    const auto whole = Slurp(TestData(name));
    for (size_t at = 0; at < whole->size(); ++at) {
      for (const char value : {'\x00', '\xff', 'R', '('}) {
        std::string bytes = *whole;
        bytes[at] = value;
        const ScanReport report = ScanBytes(std::make_shared<const std::string>(std::move(bytes)));
        ASSERT_FALSE(report.headline.empty()) << name << " byte " << at;
        if (report.verdict == Verdict::kUnreadable) {
          ASSERT_FALSE(report.error.empty());
        }
      }
    }
  }
}

TEST(LooksScannable, RecognisesHeadersOfReadableFormats) {
  EXPECT_TRUE(LooksScannable(std::string_view("\x80\x04\x95", 3)));
  EXPECT_TRUE(LooksScannable("\x1f\x8b\x08"));
  EXPECT_TRUE(LooksScannable("BZh9"));
  EXPECT_TRUE(LooksScannable("PK\x03\x04"));
  EXPECT_TRUE(LooksScannable("\x78\x9c"));
  EXPECT_FALSE(LooksScannable("hello"));
  EXPECT_FALSE(LooksScannable(""));
  EXPECT_FALSE(LooksScannable(std::string_view("\x80\x09", 2)));
}

}  // namespace
}  // namespace ark::interop
