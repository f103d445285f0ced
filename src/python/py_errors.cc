// The exceptions of _ark: FormatError and one subclass per ark::ErrorCode.
//
// Every ark::Error escaping a bound function is raised as the subclass of its
// code, with the C++ message and `.code` set to the stable ErrorCodeName, so
// Python callers can catch exactly the failure they handle. Other C++
// exceptions keep pybind11's default mapping (std::exception -> RuntimeError
// with the message, std::bad_alloc -> MemoryError, ...).
#include <array>
#include <exception>
#include <string>

#include "ark/format/error.h"
#include "py_common.h"

namespace ark::python {
namespace {

struct ErrorClass {
  ErrorCode code;
  const char* name;
  const char* doc;
};

// The order follows ErrorCode so that the table can be indexed by the code.
constexpr std::array<ErrorClass, 14> kErrorClasses = {{
    {ErrorCode::kIo, "IoError", "The operating system refused a read, write or map."},
    {ErrorCode::kInvalidArgument, "InvalidArgumentError", "The caller passed something unusable."},
    {ErrorCode::kTruncated, "TruncatedError", "The file is shorter than its structure says."},
    {ErrorCode::kBadMagic, "BadMagicError", "Not an .ark file (header or footer magic wrong)."},
    {ErrorCode::kUnsupportedVersion, "UnsupportedVersionError",
     "The file needs a format version this reader lacks."},
    {ErrorCode::kOutOfBounds, "OutOfBoundsError", "An offset or size points outside the file."},
    {ErrorCode::kOverlap, "OverlapError", "Blobs overlap, leave holes, or are misaligned."},
    {ErrorCode::kLimitExceeded, "LimitExceededError", "A documented reader limit is broken."},
    {ErrorCode::kBadManifest, "BadManifestError",
     "The manifest is not valid JSON or breaks the schema."},
    {ErrorCode::kUnknownDtype, "UnknownDtypeError", "A dtype descriptor the reader does not know."},
    {ErrorCode::kSizeOverflow, "SizeOverflowError", "A size computation overflows 64 bits."},
    {ErrorCode::kChecksumMismatch, "ChecksumMismatchError", "A SHA-256 does not match the bytes."},
    {ErrorCode::kCodecError, "CodecError",
     "A compressed stream is invalid or decodes to the wrong size."},
    {ErrorCode::kUnsupported, "UnsupportedError",
     "Valid, but beyond what this build can do (e.g. a model the native runtime lacks)."},
}};

// Owned for the life of the process: exception classes must outlive every
// translated error, and a module is never unloaded.
PyObject* g_base = nullptr;
std::array<PyObject*, kErrorClasses.size()> g_classes{};

PyObject* ClassOf(ErrorCode code) {
  size_t index = static_cast<size_t>(code);
  if (index < g_classes.size() && kErrorClasses[index].code == code) return g_classes[index];
  return g_base;  // a code added to the core before it got a class here
}

void RaiseArkError(const Error& error) {
  PyObject* cls = ClassOf(error.code());
  const char* what = error.what();
  // Messages quote file content, which need not be UTF-8.
  py::object message = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
      what, static_cast<Py_ssize_t>(std::char_traits<char>::length(what)), "replace"));
  if (!message) {
    PyErr_SetString(cls, what);
    return;
  }
  py::object instance = py::reinterpret_steal<py::object>(PyObject_CallOneArg(cls, message.ptr()));
  if (!instance || PyObject_SetAttrString(instance.ptr(), "code",
                                          py::str(ErrorCodeName(error.code())).ptr()) != 0) {
    PyErr_Clear();
    PyErr_SetObject(cls, message.ptr());
    return;
  }
  PyErr_SetObject(cls, instance.ptr());
}

PyObject* NewClass(const std::string& name, const char* doc, PyObject* base, const char* code) {
  std::string qualified = "_ark." + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (cls == nullptr) throw py::error_already_set();
  // A class-level code lets Python code raise these too and still read `.code`.
  if (PyObject_SetAttrString(cls, "code", py::str(code).ptr()) != 0) {
    throw py::error_already_set();
  }
  return cls;
}

}  // namespace

void RegisterErrors(py::module_& m) {
  g_base = NewClass("FormatError",
                    "The file is not a valid .ark file, or the core refused an operation.\n\n"
                    "`code` names the kind of failure (e.g. \"checksum_mismatch\").",
                    PyExc_Exception, "unknown");
  m.add_object("FormatError", py::handle(g_base));
  for (size_t i = 0; i < kErrorClasses.size(); ++i) {
    const ErrorClass& entry = kErrorClasses[i];
    g_classes[i] = NewClass(entry.name, entry.doc, g_base, ErrorCodeName(entry.code));
    m.add_object(entry.name, py::handle(g_classes[i]));
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& error) {
      RaiseArkError(error);
    }
  });
}

}  // namespace ark::python
