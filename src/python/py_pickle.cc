// _ark.read_pickle and _ark.scan: the data-only pickle reader and the
// scanner of src/interop for Python (ark/_convert.py is their only user).
//
// read_pickle(source) parses a pickle or joblib file (a path, or bytes) into
// a dict {"nodes", "root", "source", "protocol", "compression", "joblib",
// "unfollowable"}. Each node is a tuple, its kind first (python/_ark.pyi
// lists the shapes); node references are list indices, -1 for none. Byte
// payloads are (offset, length) pairs into "source", a read-only memoryview
// over the graph's decompressed bytes: nothing is copied, and the bytes stay
// alive for as long as any view of them does. (A payload decoded from
// protocol-0 escapes is not in the stream: its node holds the bytes instead.)
//
// scan(path) returns ScanReport as a dict.
//
// The GIL is released while C++ reads, decompresses and parses; failures of
// the file surface as _ark.FormatError subclasses (py_errors.cc).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"
#include "ark/interop/scan.h"
#include "py_common.h"

namespace ark::python {
namespace {

using interop::CallKind;
using interop::NodeId;
using interop::PickleGraph;
using interop::PickleKind;
using interop::PickleNode;

// Owns a graph's bytes (a string, a decompressed buffer or a file mapping)
// and lends them to Python through the buffer protocol.
struct PickleBuffer {
  interop::PickleSource bytes;
};

py::int_ Index(NodeId id) {
  return id == interop::kNoNode ? py::int_(-1) : py::int_(static_cast<size_t>(id));
}

// A list of node indices, built in place (the graph has one per container).
py::list Indices(const std::vector<NodeId>& ids) {
  py::list out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    PyObject* index = ids[i] == interop::kNoNode ? PyLong_FromLong(-1)
                                                 : PyLong_FromSize_t(static_cast<size_t>(ids[i]));
    if (index == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), index);  // steals the reference
  }
  return out;
}

const char* KindName(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "none";
    case PickleKind::kBool: return "bool";
    case PickleKind::kInt:
    case PickleKind::kBigInt: return "int";
    case PickleKind::kFloat: return "float";
    case PickleKind::kString: return "str";
    case PickleKind::kBytes: return "bytes";
    case PickleKind::kByteArray: return "bytearray";
    case PickleKind::kTuple: return "tuple";
    case PickleKind::kList: return "list";
    case PickleKind::kDict: return "dict";
    case PickleKind::kSet: return "set";
    case PickleKind::kFrozenSet: return "frozenset";
    case PickleKind::kGlobal: return "global";
    case PickleKind::kCall: return "call";
    case PickleKind::kBuffer: return "buffer";
    case PickleKind::kPersistentId: return "persid";
  }
  return "unknown";
}

const char* CallName(CallKind kind) {
  switch (kind) {
    case CallKind::kReduce: return "reduce";
    case CallKind::kNewObj: return "newobj";
    case CallKind::kNewObjEx: return "newobj_ex";
    case CallKind::kInst: return "inst";
    case CallKind::kObj: return "obj";
  }
  return "unknown";
}

// Converts one graph; `kinds` holds the interned kind strings.
class GraphConverter {
 public:
  explicit GraphConverter(const PickleGraph& graph) : graph_(graph) {
    base_ = graph.source ? graph.source->data() : nullptr;
    size_ = graph.source ? graph.source->size() : 0;
  }

  bool InSource(std::string_view view) const {
    const char* begin = view.data();
    return base_ != nullptr && begin >= base_ && view.size() <= size_ &&
           static_cast<size_t>(begin - base_) <= size_ - view.size();
  }

  // (offset, length) of a view into the source; throws if it is not one.
  py::tuple Span(std::string_view view) const {
    if (view.empty()) return py::make_tuple(0, 0);
    if (!InSource(view)) {
      throw Error(ErrorCode::kInvalidArgument, "pickle reader: a payload outside its source");
    }
    return py::make_tuple(static_cast<size_t>(view.data() - base_), view.size());
  }

  py::tuple Node(const PickleNode& n) {
    const py::object& kind = Kind(n.kind);
    switch (n.kind) {
      case PickleKind::kNone:
        return py::make_tuple(kind, py::none(), py::none());
      case PickleKind::kBool:
        return py::make_tuple(kind, py::bool_(n.int_value != 0), py::none());
      case PickleKind::kInt:
        return py::make_tuple(kind, py::int_(n.int_value), py::none());
      case PickleKind::kBigInt: {
        py::object value = py::reinterpret_steal<py::object>(
            PyLong_FromString(n.text.c_str(), nullptr, 10));
        if (!value) throw py::error_already_set();
        return py::make_tuple(kind, value, py::none());
      }
      case PickleKind::kFloat:
        return py::make_tuple(kind, py::float_(n.float_value), py::none());
      case PickleKind::kString: {
        py::object text = py::reinterpret_steal<py::object>(
            PyUnicode_DecodeUTF8(n.text.data(), static_cast<Py_ssize_t>(n.text.size()),
                                 "surrogatepass"));
        if (!text) throw py::error_already_set();
        return py::make_tuple(kind, text, py::none());
      }
      case PickleKind::kBytes:
      case PickleKind::kByteArray: {
        // Payloads decoded from escapes (PickleGraph::decoded) are copied.
        if (n.data.empty()) return py::make_tuple(kind, 0, 0);
        if (!InSource(n.data)) {
          return py::make_tuple(kind, py::bytes(n.data.data(), n.data.size()), py::none());
        }
        return py::make_tuple(kind, static_cast<size_t>(n.data.data() - base_), n.data.size());
      }
      case PickleKind::kTuple:
      case PickleKind::kList:
      case PickleKind::kDict:
      case PickleKind::kSet:
      case PickleKind::kFrozenSet:
      case PickleKind::kPersistentId:
        return py::make_tuple(kind, Indices(n.items), py::none());
      case PickleKind::kGlobal:
        return py::make_tuple(kind, py::str(n.module), py::str(n.name));
      case PickleKind::kBuffer:
        return py::make_tuple(kind, py::int_(n.int_value), py::bool_(n.readonly));
      case PickleKind::kCall: {
        py::object inline_data = py::none();
        if (n.inline_data.data() != nullptr) inline_data = Span(n.inline_data);
        py::tuple call = py::make_tuple(
            Call(n.call), Index(n.callable), Index(n.args), Index(n.kwargs),
            Indices(n.states), Indices(n.list_items), Indices(n.dict_items), inline_data,
            Index(n.inline_pickle), py::int_(n.offset));
        return py::make_tuple(kind, call, py::none());
      }
    }
    throw Error(ErrorCode::kInvalidArgument, "pickle reader: unknown node kind");
  }

 private:
  // Interned names: one Python str per kind for the whole graph.
  const py::object& Kind(PickleKind kind) {
    auto index = static_cast<size_t>(kind);
    if (index >= kinds_.size()) kinds_.resize(index + 1);
    if (!kinds_[index]) kinds_[index] = py::str(KindName(kind));
    return kinds_[index];
  }
  const py::object& Call(CallKind call) {
    auto index = static_cast<size_t>(call);
    if (index >= calls_.size()) calls_.resize(index + 1);
    if (!calls_[index]) calls_[index] = py::str(CallName(call));
    return calls_[index];
  }

  const PickleGraph& graph_;
  const char* base_ = nullptr;
  size_t size_ = 0;
  std::vector<py::object> kinds_;
  std::vector<py::object> calls_;
};

py::dict ReportToPython(const interop::ScanReport& report);

py::dict GraphToPython(PickleGraph graph, const interop::ScanReport& report) {
  GraphConverter converter(graph);
  py::list nodes(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    PyList_SET_ITEM(nodes.ptr(), static_cast<Py_ssize_t>(i),
                    converter.Node(graph.nodes[i]).release().ptr());  // steals the reference
  }
  auto source = std::make_unique<PickleBuffer>();
  source->bytes = std::move(graph.source);  // shared: the views stay valid
  py::object owner = py::cast(std::move(source));
  py::dict out;
  out["nodes"] = nodes;
  out["root"] = Index(graph.root);
  out["source"] = py::memoryview(owner);
  out["protocol"] = graph.protocol;
  out["compression"] = graph.compression;
  out["joblib"] = graph.joblib;
  py::list unfollowable;
  for (const std::string& reason : graph.unfollowable) unfollowable.append(reason);
  out["unfollowable"] = unfollowable;
  out["scan"] = ReportToPython(report);
  return out;
}

py::dict ReadPickleForPython(const py::object& source) {
  PickleGraph graph;
  interop::ScanReport report;
  if (PyBytes_Check(source.ptr())) {
    auto bytes = std::make_shared<const std::string>(source.cast<std::string>());
    py::gil_scoped_release release;
    graph = interop::ReadPickle(std::move(bytes));
    report = interop::ScanGraph(graph);
  } else if (PyUnicode_Check(source.ptr()) || py::hasattr(source, "__fspath__")) {
    std::string path = FsPath(source);
    py::gil_scoped_release release;
    graph = interop::ReadPickleFile(path);
    report = interop::ScanGraph(graph);
    report.path = path;
  } else {
    throw py::type_error("read_pickle needs a path or bytes, not " + TypeName(source));
  }
  return GraphToPython(std::move(graph), report);
}

py::dict ReportToPython(const interop::ScanReport& report) {
  py::list globals;
  for (const interop::ScannedGlobal& g : report.globals) {
    py::dict entry;
    entry["name"] = g.name;
    entry["verdict"] = interop::VerdictName(g.verdict);
    entry["reason"] = g.reason;
    entry["offsets"] = g.offsets;
    entry["called"] = g.called;
    globals.append(entry);
  }
  py::dict out;
  out["path"] = report.path;
  out["format"] = report.format;
  out["compression"] = report.compression;
  out["protocol"] = report.protocol;
  out["verdict"] = interop::VerdictName(report.verdict);
  out["globals"] = globals;
  out["findings"] = report.findings;
  out["error"] = report.error;
  return out;
}

py::dict ScanForPython(const py::object& path_object) {
  std::string path = FsPath(path_object);
  interop::ScanReport report;
  {
    py::gil_scoped_release release;
    report = interop::ScanFile(path);
  }
  return ReportToPython(report);
}

}  // namespace

void RegisterPickle(py::module_& m) {
  py::class_<PickleBuffer>(m, "_PickleSource", py::buffer_protocol())
      .def_buffer([](PickleBuffer& s) {
        static char empty = 0;  // a graph without bytes lends an empty buffer
        const char* data = s.bytes && s.bytes->data() != nullptr ? s.bytes->data() : &empty;
        return py::buffer_info(const_cast<char*>(data), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(s.bytes ? s.bytes->size() : 0)}, {1},
                               /*readonly=*/true);
      });
  m.def("read_pickle", &ReadPickleForPython, py::arg("source"),
        "Parses a pickle or joblib file (path or bytes) as data; see python/_ark.pyi.");
  m.def("scan", &ScanForPython, py::arg("path"),
        "Scans a pickle, joblib or skops file; the ScanReport as a dict.");
}

}  // namespace ark::python
