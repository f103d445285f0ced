// _ark.Reader: ark::format::Reader for Python.
//
// Opening parses only the manifest. array(i) returns a numpy array over the
// blob's bytes without copying them: an uncompressed blob is a read-only view
// of the mapped file (or of the in-memory buffer), a compressed blob's decoded
// buffer is handed to numpy as a writable array. Either way the array's base
// is a capsule owning the BlobView's keep-alive handle, so arrays stay valid
// after the Reader is gone. The GIL is released around decoding, hashing and
// opening, and re-taken only to call a progress callback.
//
// Thread safety: the C++ reader's const methods are thread-safe, so several
// Python threads may read blobs of one Reader at once.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/format/reader.h"
#include "ark/format/sha256.h"
#include "ark/model/value.h"
#include "py_common.h"

namespace ark::python {
namespace {

using Json = nlohmann::ordered_json;
using py::literals::operator""_a;

using Owner = std::shared_ptr<const void>;

// A capsule that keeps `owner` alive for as long as numpy holds the array.
py::capsule OwnerCapsule(Owner owner) {
  auto holder = std::make_unique<Owner>(std::move(owner));
  py::capsule capsule(holder.get(), [](void* p) { delete static_cast<Owner*>(p); });
  holder.release();  // the capsule owns it now
  return capsule;
}

class PyReader {
 public:
  PyReader(const py::object& source, bool verify_on_access) {
    format::ReaderOptions options;
    options.verify_on_access = verify_on_access;
    if (PyObject_CheckBuffer(source.ptr()) && !PyUnicode_Check(source.ptr())) {
      // PyBUF_SIMPLE insists on contiguous bytes, and holding the export
      // stops a bytearray from being resized while the GIL is released.
      Py_buffer view;
      if (PyObject_GetBuffer(source.ptr(), &view, PyBUF_SIMPLE) != 0) {
        throw py::error_already_set();
      }
      std::unique_ptr<Py_buffer, void (*)(Py_buffer*)> release_view(&view, PyBuffer_Release);
      auto begin = static_cast<const std::byte*>(view.buf);
      auto size = static_cast<size_t>(view.len);
      py::gil_scoped_release release;
      auto buffer = std::make_shared<const std::vector<std::byte>>(begin, begin + size);
      reader_ = format::Reader::FromBuffer(std::move(buffer), options);
    } else if (PyUnicode_Check(source.ptr()) || py::hasattr(source, "__fspath__")) {
      std::string path = FsPath(source);
      py::gil_scoped_release release;
      reader_ = format::Reader::Open(path, options);
    } else {
      throw py::type_error("Reader needs a path (str or os.PathLike) or bytes, not " +
                           TypeName(source));
    }
    dtypes_.resize(reader_->blobs().size());
  }

  py::tuple version() const {
    return py::make_tuple(reader_->major_version(), reader_->minor_version());
  }
  uint64_t file_size() const { return reader_->file_size(); }
  std::string file_digest() const { return format::ToHex(reader_->file_digest()); }
  const std::string& model_digest() const { return reader_->model_digest(); }
  size_t blob_count() const { return reader_->blobs().size(); }

  py::str ManifestJson() const {
    std::string_view text = reader_->manifest_bytes();
    return py::str(text.data(), text.size());
  }

  py::object Root() const {
    model::Value tree;
    {
      py::gil_scoped_release release;
      tree = model::FromJsonText(reader_->root_json_text(), reader_->blobs().size());
    }
    return ValueToPython(tree);
  }

  // (type names, global states or None): see RegisterReader.
  py::tuple TypeNames() const {
    model::TypeNames names;
    {
      py::gil_scoped_release release;
      names = model::CollectTypeNames(reader_->root_json_text(), reader_->blobs().size());
    }
    py::set types;
    for (const std::string& name : names.types) types.add(py::str(name));
    if (names.malformed_global) return py::make_tuple(types, py::none());
    py::set globals;
    for (const std::string& state : names.globals) globals.add(py::str(state));
    return py::make_tuple(types, globals);
  }

  py::object Sections() const { return JsonToPython(reader_->sections()); }

  py::dict BlobInfo(int64_t index) {
    const format::BlobInfo& info = Info(index);
    py::tuple shape(info.shape.size());
    for (size_t i = 0; i < info.shape.size(); ++i) shape[i] = py::int_(info.shape[i]);
    bool none = info.codec.kind == format::CodecKind::kNone;
    return py::dict("offset"_a = info.offset, "stored_size"_a = info.stored_size,
                    "raw_size"_a = info.raw_size, "dtype"_a = Dtype(index), "shape"_a = shape,
                    "codec"_a = format::CodecName(info.codec.kind),
                    "level"_a = none ? 0 : info.codec.level,
                    "filter"_a = info.filter == format::Filter::kShuffle ? "shuffle" : "none",
                    "sha256"_a = format::ToHex(info.sha256), "aux"_a = info.aux);
  }

  py::array Array(int64_t index) {
    const format::BlobInfo& info = Info(index);
    py::dtype dtype = Dtype(index);
    std::vector<py::ssize_t> shape;
    shape.reserve(info.shape.size());
    for (uint64_t d : info.shape) {
      // Dimensions were checked against raw_size, which the file bounds.
      if (d > static_cast<uint64_t>(PY_SSIZE_T_MAX)) {
        throw Error(ErrorCode::kSizeOverflow, "blob " + std::to_string(index) + " is too large");
      }
      shape.push_back(static_cast<py::ssize_t>(d));
    }

    format::BlobView view;
    {
      py::gil_scoped_release release;
      view = reader_->ReadBlob(static_cast<uint64_t>(index));
    }
    // The last check before numpy indexes this memory: the view must hold
    // exactly the bytes the dtype and shape describe.
    uint64_t expected = format::ByteCountOf(static_cast<uint64_t>(dtype.itemsize()), info.shape);
    if (expected != view.bytes.size()) {
      throw Error(ErrorCode::kBadManifest,
                  "blob " + std::to_string(index) + " holds " + std::to_string(view.bytes.size()) +
                      " bytes but its dtype and shape need " + std::to_string(expected));
    }

    if (view.bytes.empty()) {
      py::array empty(dtype, shape);
      if (view.zero_copy) empty.attr("setflags")("write"_a = false);
      return empty;
    }
    void* data = const_cast<std::byte*>(view.bytes.data());
    if (view.zero_copy) {
      py::array array(dtype, shape, data, OwnerCapsule(std::move(view.owner)));
      // The mapping is shared by every view of the file and by the reader.
      array.attr("setflags")("write"_a = false);
      return array;
    }
    // A decoded buffer that nobody else holds can be handed over as writable
    // memory; one the reader shares (a cache) must not be written through.
    if (view.owner.use_count() == 1) {
      return py::array(dtype, shape, data, OwnerCapsule(std::move(view.owner)));
    }
    py::array copy(dtype, shape);
    std::memcpy(copy.mutable_data(), data, view.bytes.size());
    return copy;
  }

  void Verify(const py::object& progress) const {
    std::function<void(uint64_t, uint64_t)> callback;
    // A handle, not an object: the C++ reader may copy the callback on
    // threads that do not hold the GIL, and copying a handle touches no
    // reference count.
    py::handle fn = progress;
    if (!progress.is_none()) {
      callback = [fn](uint64_t done, uint64_t total) {
        py::gil_scoped_acquire acquire;
        fn(done, total);
      };
    }
    py::gil_scoped_release release;
    reader_->VerifyAll(callback);
  }

 private:
  const format::BlobInfo& Info(int64_t index) const {
    const auto& blobs = reader_->blobs();
    if (index < 0 || static_cast<uint64_t>(index) >= blobs.size()) {
      throw py::index_error("blob index " + std::to_string(index) + " out of range (the file has " +
                            std::to_string(blobs.size()) + " blobs)");
    }
    return blobs[static_cast<size_t>(index)];
  }

  // Built once per blob: a model reads many arrays of few dtypes, and the
  // structured ones take a few numpy calls to build.
  py::dtype Dtype(int64_t index) {
    py::object& cached = dtypes_[static_cast<size_t>(index)];
    if (!cached) {
      const format::BlobInfo& info = Info(index);
      py::dtype dtype = DtypeFromDescr(info.dtype.descr);
      if (static_cast<uint64_t>(dtype.itemsize()) != info.dtype.itemsize ||
          !dtype.attr("subdtype").is_none()) {
        throw Error(ErrorCode::kUnknownDtype, "blob " + std::to_string(index) +
                                                  ": numpy reads its dtype differently (" +
                                                  py::str(dtype).cast<std::string>() + ")");
      }
      cached = dtype;
    }
    return py::reinterpret_borrow<py::dtype>(cached);
  }

  std::shared_ptr<format::Reader> reader_;
  std::vector<py::object> dtypes_;
};

}  // namespace

void RegisterReader(py::module_& m) {
  py::class_<PyReader>(m, "Reader",
                       "Opens an .ark file (mmap) or bytes; only the manifest is parsed.")
      .def(py::init<const py::object&, bool>(), "source"_a, "verify_on_access"_a = true)
      .def_property_readonly("version", &PyReader::version)
      .def_property_readonly("file_size", &PyReader::file_size)
      .def_property_readonly("file_digest", &PyReader::file_digest)
      .def_property_readonly("model_digest", &PyReader::model_digest)
      .def_property_readonly("blob_count", &PyReader::blob_count)
      .def("manifest_json", &PyReader::ManifestJson)
      .def("root", &PyReader::Root,
           "The object tree as Python values (Object / ArrayRef / Ref markers).")
      .def("type_names", &PyReader::TypeNames,
           "(set of object type names but ark.global, set of ark.global states such as "
           "'numpy:log1p'), read from the manifest without building the tree; the tree is "
           "validated exactly as root() does. The second item is None when some ark.global "
           "state is not a string (root() shows it).")
      .def("sections", &PyReader::Sections)
      .def("blob_info", &PyReader::BlobInfo, "index"_a,
           "{offset, stored_size, raw_size, dtype (np.dtype), shape (tuple), codec, level, "
           "filter, sha256, aux}")
      .def("array", &PyReader::Array, "index"_a,
           "The blob as a numpy array. Uncompressed: a read-only view of the mapped file (no "
           "copy). Compressed: a fresh writable array.")
      .def("verify", &PyReader::Verify, "progress"_a = py::none(),
           "Checks every digest; raises the first problem.");
}

}  // namespace ark::python
