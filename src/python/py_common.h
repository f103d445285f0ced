// Private declarations shared by the files of the `_ark` module.
//
// The module is split by concern: exceptions (py_errors.cc), object trees and
// JSON sections (py_tree.cc), numpy dtypes (py_dtype.cc), the writer
// (py_writer.cc) and the reader (py_reader.cc); _ark.cc only stitches them
// together. python/_ark.pyi is the contract these files implement.
//
// Every function here must be called with the GIL held. Failures surface as
// Python exceptions (pybind11's type_error / value_error / error_already_set)
// for bad Python input, and as ark::Error for problems of a file, which the
// translator of py_errors.cc turns into _ark.FormatError subclasses.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ark/model/value.h"

namespace ark::python {

namespace py = pybind11;

void RegisterErrors(py::module_& m);
void RegisterTree(py::module_& m);
void RegisterWriter(py::module_& m);
void RegisterReader(py::module_& m);

// The marker classes that stand for the tree nodes Python has no type for.
// `id` is mutable because the dump walker assigns it only once it learns that
// an object is shared.
struct ObjectMarker {
  std::string type_name;
  py::object state;
  std::optional<int64_t> id;
};
struct ArrayRefMarker {
  uint64_t index = 0;
};
struct RefMarker {
  int64_t id = 0;
};

// Python tree -> model::Value. Accepts exactly None, bool, int, float, str,
// bytes, list, tuple, dict and the markers (subclasses of the builtins are
// refused: silently storing an np.float64 as a float would lose its type).
// Raises TypeError / ValueError naming the offending node's path, e.g.
// "root['steps'][0].state". Also refuses trees nested deeper than the
// manifest's JSON depth limit (which catches self-containing lists).
model::Value ValueFromPython(py::handle tree);

// model::Value -> Python tree of the same shapes. Throws
// ark::Error(kBadManifest) for a dict key Python cannot hash (a list key can
// only come from a crafted file).
py::object ValueToPython(const model::Value& value);

// JSON-compatible Python (as json.dumps accepts: None, bool, int, float, str,
// list, tuple, dict with str keys; subclasses allowed) -> JSON. NaN and
// infinities are refused with ValueError because JSON cannot carry them.
// `name` starts error paths; `depth` is the number of JSON containers that
// will enclose the value in the manifest.
nlohmann::ordered_json JsonFromPython(py::handle value, const char* name, int depth);
py::object JsonToPython(const nlohmann::ordered_json& json);

// numpy dtype -> descriptor of FORMAT.md §4. REQUIRES: no big-endian parts
// (see NeedsByteSwap). Raises TypeError for object dtypes and field titles.
nlohmann::ordered_json DescrFromDtype(py::handle dtype);
// True when the dtype (or a field of it) is not little-endian.
bool NeedsByteSwap(py::handle dtype);
// Descriptor -> numpy dtype. Throws ark::Error(kUnknownDtype) when numpy
// rejects it or when it would produce a dtype holding Python objects.
py::dtype DtypeFromDescr(const nlohmann::ordered_json& descr);

// A filesystem path as bytes for the OS: str, bytes or os.PathLike.
std::string FsPath(py::handle path);

// "module.QualName" of an object's type, for messages.
std::string TypeName(py::handle obj);

}  // namespace ark::python
