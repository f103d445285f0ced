// Fuzz target of the .ark reader: LLVMFuzzerTestOneInput runs ExerciseReader
// on the input as given, then again with its footer repaired (see
// reader_fuzz.h). Built as a libFuzzer binary (`reader_fuzz`, clang,
// -DARK_FUZZ=ON, scripts/fuzz.sh) and, with ARK_CORPUS_MAIN defined and
// corpus_main.cc, as the plain test `reader_corpus_test` that replays
// fuzz/corpus/ (corpus_main.h).
//
// Findings are crashes, sanitizer reports, exceptions other than ark::Error,
// and the aborts below, each naming the broken contract. Every step is
// bounded (kMaxBlobBytes, kMaxTotalBytes), so a timeout or an out-of-memory
// report is a finding too.
#include "reader_fuzz.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "ark/format/reader.h"
#include "ark/format/sha256.h"
#include "ark/model/value.h"

namespace ark::fuzz {
namespace {

using format::BlobInfo;
using format::CodecKind;
using format::Filter;
using format::Reader;
using format::ReaderOptions;
using Json = nlohmann::ordered_json;

[[noreturn]] void Violation(const std::string& what) {
  std::fprintf(stderr, "reader_fuzz: CONTRACT VIOLATION: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void Check(bool condition, const std::string& what) {
  if (!condition) Violation(what);
}

// Keeps the compiler from dropping reads whose only purpose is to make the
// sanitizers look at every byte.
volatile uint64_t g_sink = 0;

void Touch(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t acc = 0;
  for (size_t i = 0; i < size; ++i) acc = acc * 31 + p[i];
  g_sink = g_sink + acc;
}

uint64_t AlignUp(uint64_t n) {
  return (n + format::kAlignment - 1) / format::kAlignment * format::kAlignment;
}

// What Open() promises about each blob-table entry (reader.h, FORMAT.md §1.3,
// §3, §7): checked here with independent arithmetic.
void CheckBlobTable(const Reader& reader) {
  const std::vector<BlobInfo>& blobs = reader.blobs();
  const uint64_t file_size = reader.file_size();
  Check(blobs.size() <= format::kMaxBlobs, "more blobs than kMaxBlobs");
  Check(file_size >= format::kHeaderSize + format::kFooterSize, "file smaller than header+footer");
  uint64_t expected_offset = format::kHeaderSize;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const BlobInfo& b = blobs[i];
    const std::string at = "blob " + std::to_string(i) + ": ";
    Check(b.offset == expected_offset, at + "offset " + std::to_string(b.offset) +
                                           ", layout says " + std::to_string(expected_offset));
    uint64_t end = 0;
    Check(!__builtin_add_overflow(b.offset, b.stored_size, &end),
          at + "offset + stored_size wraps");
    Check(end <= file_size - format::kFooterSize, at + "stored bytes reach past the manifest area");
    expected_offset = AlignUp(end);
    Check(b.dtype.itemsize > 0, at + "itemsize 0");
    Check(b.shape.size() <= format::kMaxDims, at + "more than kMaxDims dimensions");
    uint64_t bytes = b.dtype.itemsize;
    for (uint64_t d : b.shape) {
      Check(!__builtin_mul_overflow(bytes, d, &bytes), at + "itemsize x shape overflows");
    }
    Check(bytes == b.raw_size, at + "raw_size differs from itemsize x shape");
    if (b.codec.kind == CodecKind::kNone) {
      Check(b.stored_size == b.raw_size, at + "uncompressed but stored_size != raw_size");
      Check(b.filter == Filter::kNone, at + "filter on an uncompressed blob");
      Check(b.chunks.empty(), at + "chunks on an uncompressed blob");
      continue;
    }
    Check(b.chunk_size >= format::kMinChunkSize && b.chunk_size <= format::kMaxChunkSize,
          at + "chunk_size outside the limits");
    if (b.filter == Filter::kShuffle) {
      Check(b.chunk_size % b.dtype.itemsize == 0,
            at + "shuffle chunk_size not a multiple of itemsize");
    }
    const uint64_t n_chunks = b.raw_size / b.chunk_size + (b.raw_size % b.chunk_size != 0);
    Check(b.chunks.size() == n_chunks, at + "chunk count != ceil(raw_size / chunk_size)");
    uint64_t stored_sum = 0;
    for (size_t k = 0; k < b.chunks.size(); ++k) {
      Check(!__builtin_add_overflow(stored_sum, b.chunks[k], &stored_sum), at + "chunk sizes wrap");
      const uint64_t raw_chunk = std::min<uint64_t>(b.chunk_size, b.raw_size - k * b.chunk_size);
      Check(b.chunks[k] > 0 && raw_chunk / b.chunks[k] <= format::kMaxExpansion,
            at + "chunk " + std::to_string(k) + " expands beyond kMaxExpansion");
    }
    Check(stored_sum == b.stored_size, at + "chunk sizes do not add up to stored_size");
  }
  Check(reader.manifest_bytes().size() <= format::kMaxManifestSize, "manifest over the size limit");
  Check(reader.sections().is_object(), "sections() is not an object");
}

// Leaves compare by their serialisation (so 1 and 1.0 differ); objects in
// order, except the keys of an object node, whose order FromJson may ignore.
bool SameJson(const Json& a, const Json& b) {
  if (a.type() != b.type() && !(a.is_number_integer() && b.is_number_integer())) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameJson(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    if (a.contains("$object")) {
      for (const auto& [key, value] : a.items()) {
        if (!b.contains(key) || !SameJson(value, b.at(key))) return false;
      }
      return true;
    }
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !SameJson(ia.value(), ib.value())) return false;
    }
    return true;
  }
  return a.dump() == b.dump();
}

// Calls every accessor of every node, as a loader or a predictor would.
void Walk(const model::Value& v, int depth) {
  Check(depth <= 2 * format::kMaxJsonDepth, "tree deeper than the JSON depth allows");
  Touch(model::KindName(v.kind()), 1);
  switch (v.kind()) {
    case model::Kind::kNull:
      break;
    case model::Kind::kBool:
      g_sink = g_sink + v.as_bool();
      break;
    case model::Kind::kInt:
      g_sink = g_sink + static_cast<uint64_t>(v.as_int());
      break;
    case model::Kind::kFloat: {
      const double d = v.as_float();
      Touch(&d, sizeof d);
      break;
    }
    case model::Kind::kBigInt:
    case model::Kind::kString:
    case model::Kind::kBytes:
      Touch(v.as_string().data(), v.as_string().size());
      break;
    case model::Kind::kList:
    case model::Kind::kTuple:
      for (const model::Value& item : v.items()) Walk(item, depth + 1);
      break;
    case model::Kind::kDict:
      for (const auto& [key, value] : v.dict_items()) {
        Walk(key, depth + 1);
        Walk(value, depth + 1);
      }
      (void)v.Find("n_features_in_");
      break;
    case model::Kind::kObject:
      Touch(v.type_name().data(), v.type_name().size());
      g_sink = g_sink + v.object_id().value_or(0);
      Walk(v.state(), depth + 1);
      break;
    case model::Kind::kArray:
      g_sink = g_sink + v.blob_index();
      break;
    case model::Kind::kRef:
      g_sink = g_sink + static_cast<uint64_t>(v.ref_id());
      break;
  }
}

class Exerciser {
 public:
  explicit Exerciser(std::span<const uint8_t> data)
      : buffer_(std::make_shared<std::vector<std::byte>>(
            reinterpret_cast<const std::byte*>(data.data()),
            reinterpret_cast<const std::byte*>(data.data()) + data.size())) {}

  Outcome Run() {
    std::shared_ptr<Reader> reader;
    ReaderOptions options;
    options.verify_on_access = false;  // decode blobs even when their digest is wrong
    options.threads = 1;
    if (!Step("open", [&] { reader = Reader::FromBuffer(buffer_, options); })) return outcome_;
    Check(reader != nullptr, "FromBuffer returned null");

    Step("metadata", [&] { Metadata(*reader); });
    const std::vector<BlobInfo>& blobs = reader->blobs();
    uint64_t total_raw = 0;
    bool within_budget = true;
    for (const BlobInfo& b : blobs) {
      within_budget = within_budget && b.raw_size <= kMaxBlobBytes &&
                      !__builtin_add_overflow(total_raw, b.raw_size, &total_raw) &&
                      total_raw <= kMaxTotalBytes;
    }
    uint64_t decoded = 0;
    for (size_t i = 0; i < blobs.size(); ++i) {
      if (blobs[i].raw_size > kMaxBlobBytes || decoded + blobs[i].raw_size > kMaxTotalBytes)
        continue;
      decoded += blobs[i].raw_size;
      Step("read_blob " + std::to_string(i), [&] { ReadOne(*reader, i); });
    }
    BadIndex(*reader, blobs.size());
    BadIndex(*reader, ~uint64_t{0});
    Step("tree", [&] { Tree(*reader); });
    if (within_budget) {
      Step("verify", [&] { Verify(); });
    }
    return outcome_;
  }

 private:
  // Runs one step; records the first ark::Error. Other exceptions propagate.
  template <typename F>
  bool Step(const std::string& stage, F&& f) {
    try {
      f();
      return true;
    } catch (const Error& e) {
      if (outcome_.ok) {
        outcome_.ok = false;
        outcome_.stage = stage;
        outcome_.code = e.code();
        outcome_.message = e.what();
      }
      Check(e.what()[0] != '\0', "ark::Error with an empty message at " + stage);
      return false;
    }
  }

  void Metadata(const Reader& reader) {
    Check(reader.file_size() == buffer_->size(), "file_size() differs from the buffer size");
    Check(reader.major_version() == format::kMajorVersion,
          "opened a file of another major version");
    g_sink = g_sink + reader.minor_version();
    Touch(reader.file_digest().data(), reader.file_digest().size());
    Touch(reader.model_digest().data(), reader.model_digest().size());
    Touch(reader.manifest_bytes().data(), reader.manifest_bytes().size());
    const std::string dumped = reader.root().dump() + reader.sections().dump();  // as `ark inspect`
    Touch(dumped.data(), dumped.size());
    CheckBlobTable(reader);
  }

  void ReadOne(const Reader& reader, size_t i) {
    const BlobInfo& info = reader.blobs()[i];
    format::BlobView view = reader.ReadBlob(i);
    const std::string at = "ReadBlob(" + std::to_string(i) + "): ";
    Check(view.bytes.size() == info.raw_size, at + "returned " + std::to_string(view.bytes.size()) +
                                                  " bytes, raw_size is " +
                                                  std::to_string(info.raw_size));
    Check(view.bytes.empty() || view.owner != nullptr, at + "no owner keeps the bytes alive");
    if (view.zero_copy && !view.bytes.empty()) {
      Check(view.bytes.data() == buffer_->data() + info.offset,
            at + "zero_copy view does not point at the blob's offset");
    }
    Touch(view.bytes.data(), view.bytes.size());
    // A second read gives the same bytes (first-access caching must not differ).
    format::BlobView again = reader.ReadBlob(i);
    Check(again.bytes.size() == view.bytes.size() &&
              (view.bytes.empty() ||
               std::memcmp(again.bytes.data(), view.bytes.data(), view.bytes.size()) == 0),
          at + "two reads differ");
  }

  void BadIndex(const Reader& reader, uint64_t index) {
    try {
      reader.ReadBlob(index);
    } catch (const Error& e) {
      Check(e.code() == ErrorCode::kInvalidArgument,
            "ReadBlob(bad index) threw " + std::string(ErrorCodeName(e.code())));
      return;
    }
    Violation("ReadBlob(" + std::to_string(index) + ") with " +
              std::to_string(reader.blobs().size()) + " blobs did not throw");
  }

  void Tree(const Reader& reader) {
    const uint64_t n = reader.blobs().size();
    // The decoders of the tree's text (what Python's load and audit use)
    // and of root() accept the same trees and build the same values.
    model::Value from_text;
    bool text_ok = true;
    try {
      from_text = model::FromJsonText(reader.root_json_text(), n);
    } catch (const Error&) {
      text_ok = false;
    }
    bool audit_ok = true;
    try {
      model::CollectTypeNames(reader.root_json_text(), n);
    } catch (const Error&) {
      audit_ok = false;
    }
    Check(text_ok == audit_ok, "CollectTypeNames and FromJsonText disagree on a tree");
    model::Value value;
    try {
      value = model::FromJson(reader.root(), n);
    } catch (const Error&) {
      Check(!text_ok, "FromJson refused a tree FromJsonText accepted");
      throw;
    }
    Check(text_ok, "FromJsonText refused a tree FromJson accepted");
    Check(from_text == value, "FromJsonText and FromJson decode a tree differently");
    Walk(value, 0);
    Json encoded;
    try {
      encoded = model::ToJson(value);
    } catch (const Error& e) {
      Violation(std::string("ToJson refused a tree FromJson accepted: ") + e.what());
    }
    Check(SameJson(encoded, reader.root()),
          "FromJson accepted a non-canonical tree: ToJson gives " + encoded.dump().substr(0, 200) +
              " for " + reader.root().dump().substr(0, 200));
    model::Value again;
    try {
      again = model::FromJson(encoded, n);
    } catch (const Error& e) {
      Violation(std::string("FromJson refused ToJson's output: ") + e.what());
    }
    Check(again == value, "tree changed through ToJson/FromJson");
  }

  // A second reader as a user would open it (checksums on access, threads),
  // which must agree with VerifyAll.
  void Verify() {
    ReaderOptions options;
    options.verify_on_access = true;
    options.threads = 2;
    std::shared_ptr<Reader> reader = Reader::FromBuffer(buffer_, options);
    uint64_t last_done = 0, last_total = 0;
    bool first = true;
    reader->VerifyAll([&](uint64_t done, uint64_t total) {
      Check(done <= total, "VerifyAll progress: done > total");
      Check(first || (done >= last_done && total == last_total),
            "VerifyAll progress goes backwards or changes its total");
      first = false;
      last_done = done;
      last_total = total;
    });
    Check(reader->file_digest() == format::Sha256Of(reader->manifest_bytes()),
          "VerifyAll passed but the file digest does not match the manifest");
    for (size_t i = 0; i < reader->blobs().size(); ++i) {
      try {
        format::BlobView view = reader->ReadBlob(i);
        Check(format::Sha256Of(view.bytes) == reader->blobs()[i].sha256,
              "verified blob " + std::to_string(i) + " does not match its SHA-256");
      } catch (const Error& e) {
        Violation("VerifyAll passed but ReadBlob(" + std::to_string(i) + ") threw: " + e.what());
      }
    }
  }

  std::shared_ptr<const std::vector<std::byte>> buffer_;
  Outcome outcome_;
};

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

}  // namespace

Outcome ExerciseReader(std::span<const uint8_t> data) { return Exerciser(data).Run(); }

bool RepairFooter(std::span<const uint8_t> data, std::string* repaired) {
  const size_t n = data.size();
  if (n < format::kHeaderSize + format::kFooterSize) return false;
  const uint8_t* footer = data.data() + n - format::kFooterSize;
  const uint64_t manifest_offset = LoadU64(footer);
  const uint32_t flags =
      footer[52] | footer[53] << 8 | footer[54] << 16 | uint32_t{footer[55]} << 24;
  if (flags != 0 || manifest_offset < format::kHeaderSize ||
      manifest_offset > n - format::kFooterSize) {
    return false;
  }
  repaired->assign(reinterpret_cast<const char*>(data.data()), n);
  char* f = repaired->data() + n - format::kFooterSize;
  StoreU64(f + 8, n - format::kFooterSize - manifest_offset);
  const format::Digest digest = format::Sha256Of(std::string_view(
      repaired->data() + manifest_offset, n - format::kFooterSize - manifest_offset));
  std::memcpy(f + 16, digest.data(), digest.size());
  return std::memcmp(repaired->data(), data.data(), n) != 0;
}

}  // namespace ark::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ark::fuzz::ExerciseReader({data, size});
  std::string repaired;
  if (ark::fuzz::RepairFooter({data, size}, &repaired)) {
    ark::fuzz::ExerciseReader({reinterpret_cast<const uint8_t*>(repaired.data()), repaired.size()});
  }
  return 0;
}

#ifdef ARK_CORPUS_MAIN
int main(int argc, char** argv) {
  const ark::fuzz::CorpusTarget target{
      "reader_corpus_test", [](std::span<const uint8_t> data) {
        LLVMFuzzerTestOneInput(data.data(), data.size());
        return ark::fuzz::ExerciseReader(data);
      }};
  return ark::fuzz::CorpusMain(target, argc, argv);
}
#endif
