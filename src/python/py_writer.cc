// _ark.Writer: ark::format::Writer for Python.
//
// add_array() hands the array's memory to the C++ writer without copying
// (unless it must be made C-contiguous little-endian first) and keeps a
// reference to the array until the writer is done with it, because the
// writer may compress in the background until Finish(). The GIL is released
// around the C++ work (hashing, compression, I/O) so other Python threads run.
//
// Life cycle: open -> finished (after a successful finish()) or closed (after
// abort(), a failed finish(), or destruction without finish(), all of which
// remove the temporary file). A Writer is for one thread at a time; a second
// thread calling in while the first is inside C++ gets a RuntimeError rather
// than a data race.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/codec.h"
#include "ark/format/error.h"
#include "ark/format/sha256.h"
#include "ark/format/writer.h"
#include "ark/model/value.h"
#include "py_common.h"

namespace ark::python {
namespace {

using Json = nlohmann::ordered_json;
using py::literals::operator""_a;

class PyWriter {
 public:
  PyWriter(const py::object& path, int threads, bool fsync) {
    format::WriterOptions options;
    options.threads = threads;
    options.fsync = fsync;
    in_memory_ = path.is_none();
    std::string fs_path = in_memory_ ? std::string() : FsPath(path);
    py::gil_scoped_release release;
    writer_ =
        in_memory_ ? format::Writer::ToMemory(options) : format::Writer::ToFile(fs_path, options);
  }

  PyWriter(const PyWriter&) = delete;
  PyWriter& operator=(const PyWriter&) = delete;

  ~PyWriter() { Close(); }

  uint64_t AddArray(const py::object& array, const std::string& codec, std::optional<int> level,
                    bool shuffle, uint64_t chunk_size, bool aux) {
    RequireOpen("add_array");
    if (!py::isinstance<py::array>(array)) {
      throw py::type_error("add_array() needs a numpy.ndarray, not " + TypeName(array));
    }
    py::array data = py::reinterpret_borrow<py::array>(array);
    py::dtype dtype = data.dtype();
    if (dtype.attr("hasobject").cast<bool>()) DescrFromDtype(dtype);  // raises the clear error
    if (NeedsByteSwap(dtype) || !(data.flags() & py::array::c_style)) {
      py::object little = dtype.attr("newbyteorder")("<");
      data = data.attr("astype")(little, "order"_a = "C");
      dtype = data.dtype();
    }
    Json descr = DescrFromDtype(dtype);
    std::vector<uint64_t> shape(static_cast<size_t>(data.ndim()));
    for (size_t i = 0; i < shape.size(); ++i) {
      shape[i] = static_cast<uint64_t>(data.shape(static_cast<py::ssize_t>(i)));
    }
    std::span<const std::byte> bytes(static_cast<const std::byte*>(data.data()),
                                     static_cast<size_t>(data.nbytes()));

    format::BlobOptions options;
    options.codec = MakeCodec(codec, level);
    options.filter = shuffle ? format::Filter::kShuffle : format::Filter::kNone;
    options.chunk_size = chunk_size;
    options.aux = aux;

    // Referenced before the C++ writer sees the bytes: it may read them until
    // Finish(), even if AddBlob throws after queuing work.
    keep_alive_.append(data);
    uint64_t index = 0;
    {
      Busy busy(this);
      py::gil_scoped_release release;
      index = writer_->AddBlob(descr, shape, bytes, options);
    }
    blob_count_ = std::max(blob_count_, index + 1);
    return index;
  }

  void Finish(const py::object& root, const py::object& sections) {
    RequireOpen("finish");
    // Converted with the GIL; a TypeError here leaves the writer open, so the
    // caller may fix the tree and call finish() again.
    model::Value tree = ValueFromPython(root);
    Json sections_json = Json::object();
    if (!sections.is_none()) {
      if (!py::isinstance<py::dict>(sections)) {
        throw py::type_error("sections must be a dict or None, not " + TypeName(sections));
      }
      // The manifest object and `sections` enclose each section.
      sections_json = JsonFromPython(sections, "sections", 1);
    }
    Busy busy(this);
    try {
      py::gil_scoped_release release;
      Json root_json = model::ToJson(tree);
      // Refuse now what every reader would refuse later: an $array past the
      // blobs written, a $ref to an id not yet defined, duplicate ids.
      model::FromJson(root_json, blob_count_);
      writer_->Finish(root_json, sections_json);
      file_digest_ = format::ToHex(writer_->file_digest());
      model_digest_ = writer_->model_digest();
      file_size_ = writer_->file_size();
      if (in_memory_) buffer_ = writer_->TakeBuffer();
    } catch (...) {
      Close();
      throw;
    }
    Close();
    finished_ = true;
  }

  py::bytes GetValue() {
    if (!in_memory_) {
      throw py::value_error(
          "getvalue() is for in-memory writers (Writer(None)); this one wrote "
          "a file");
    }
    RequireFinished("getvalue");
    if (!value_) {
      value_ = py::bytes(reinterpret_cast<const char*>(buffer_.data()), buffer_.size());
      std::vector<std::byte>().swap(buffer_);  // the bytes object is now the only copy
    }
    return py::reinterpret_borrow<py::bytes>(value_);
  }

  void Abort() {
    if (busy_) throw py::value_error("abort() while another thread is inside this Writer");
    Close();
  }

  const std::string& file_digest() const {
    RequireFinished("file_digest");
    return file_digest_;
  }
  const std::string& model_digest() const {
    RequireFinished("model_digest");
    return model_digest_;
  }
  uint64_t file_size() const {
    RequireFinished("file_size");
    return file_size_;
  }

 private:
  // Marks the writer in use while the GIL is released, so a second Python
  // thread cannot enter the (single-threaded) C++ writer concurrently.
  class Busy {
   public:
    explicit Busy(PyWriter* w) : w_(w) {
      if (w_->busy_) throw std::runtime_error("the Writer is in use by another thread");
      w_->busy_ = true;
    }
    ~Busy() { w_->busy_ = false; }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    PyWriter* w_;
  };

  static format::Codec MakeCodec(const std::string& name, std::optional<int> level) {
    format::Codec codec;
    codec.kind = format::ParseCodecName(name);
    switch (codec.kind) {
      case format::CodecKind::kNone:
        return codec;
      case format::CodecKind::kZstd:
        codec = format::Codec::Zstd();
        break;
      case format::CodecKind::kZlib:
        codec = format::Codec::Zlib();
        break;
      case format::CodecKind::kLzma:
        codec = format::Codec::Lzma();
        break;
    }
    // None selects the codec's default; 0 is a real level for lzma, so it
    // cannot double as "default".
    if (level) codec.level = *level;
    format::CheckLevel(codec);
    return codec;
  }

  void RequireOpen(const char* what) const {
    if (finished_) throw py::value_error(std::string(what) + "() on a finished Writer");
    if (!writer_) throw py::value_error(std::string(what) + "() on an aborted Writer");
  }

  void RequireFinished(const char* what) const {
    if (!finished_) throw py::value_error(std::string(what) + " is available after finish()");
  }

  // Destroys the C++ writer (removing its temporary file unless it finished)
  // before dropping the arrays its worker threads may still be reading.
  void Close() {
    if (writer_) {
      py::gil_scoped_release release;
      writer_.reset();
    }
    keep_alive_ = py::list();
  }

  bool in_memory_ = false;
  bool finished_ = false;
  bool busy_ = false;
  uint64_t blob_count_ = 0;
  py::list keep_alive_;  // declared before writer_: destroyed after it
  std::unique_ptr<format::Writer> writer_;
  std::string file_digest_;
  std::string model_digest_;
  uint64_t file_size_ = 0;
  std::vector<std::byte> buffer_;  // in-memory file until getvalue() moves it
  py::object value_;               // the bytes object getvalue() returns
};

}  // namespace

void RegisterWriter(py::module_& m) {
  py::class_<PyWriter>(m, "Writer",
                       "Writes an .ark file. Pass a path, or None to build the file in memory.")
      .def(py::init<const py::object&, int, bool>(), "path"_a, "threads"_a = 0, "fsync"_a = true)
      .def("add_array", &PyWriter::AddArray, "array"_a, "codec"_a = "none", "level"_a = py::none(),
           "shuffle"_a = false, "chunk_size"_a = 0, "aux"_a = false,
           "Adds a numpy array (any non-object dtype, structured included; made C-contiguous "
           "little-endian first if needed) and returns its blob index. The array is referenced, "
           "not copied: keep it unchanged until finish(). codec: none, zstd, zlib, lzma; level "
           "None means the codec's default.")
      .def("finish", &PyWriter::Finish, "root"_a, "sections"_a = py::none(),
           "Writes the manifest and publishes the file atomically. `sections` must be "
           "JSON-compatible (str keys; None/bool/int/float/str/list/dict; no NaN or inf).")
      .def("getvalue", &PyWriter::GetValue, "In-memory writers, after finish(): the file's bytes.")
      .def("abort", &PyWriter::Abort,
           "Discards everything written; the destination is left untouched.")
      .def_property_readonly("file_digest", &PyWriter::file_digest)
      .def_property_readonly("model_digest", &PyWriter::model_digest)
      .def_property_readonly("file_size", &PyWriter::file_size);
}

}  // namespace ark::python
