// The `_ark` extension module: the private native half of the `ark` package.
//
// Thin by design (DESIGN.md, after re2's `_re2`): it reads and writes .ark
// containers and converts object trees; everything Pythonic lives in the
// plain Python package. python/_ark.pyi states the API; each part is defined
// in its own file (see py_common.h) and registered here, errors first so
// every later registration can raise them.
#include "py_common.h"

namespace ark::python {
void RegisterChecks(py::module_& m);  // py_checks.cc
void RegisterTreeCodec(py::module_& m);  // py_tree_codec.cc
void RegisterRegistry(py::module_& m);  // py_registry.cc
void RegisterPickle(py::module_& m);  // py_pickle.cc
}  // namespace ark::python

PYBIND11_MODULE(_ark, m) {
  m.doc() =
      "Private native module of ark: .ark container reader and writer, and object-tree "
      "conversion. Use the `ark` package instead.";
  // pybind11's numpy support looks numpy up lazily; importing it here makes a
  // missing numpy fail at import time with a clear ImportError.
  pybind11::module_::import("numpy");
  ark::python::RegisterErrors(m);
  ark::python::RegisterTree(m);
  ark::python::RegisterWriter(m);
  ark::python::RegisterReader(m);
  ark::python::RegisterChecks(m);
  ark::python::RegisterTreeCodec(m);
  ark::python::RegisterRegistry(m);
  ark::python::RegisterPickle(m);
}
