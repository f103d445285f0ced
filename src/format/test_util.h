// Test-only helpers for the format layer's tests: sample files written by the
// real writer, and byte-level surgery on them (rewriting the manifest while
// keeping the footer's digest consistent, patching header and footer fields).
// Header-only; included by *_test.cc files only, never by the library.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "ark/format/reader.h"
#include "ark/format/sha256.h"
#include "ark/format/writer.h"
#include "layout.h"

namespace ark::format::testing {

using Json = nlohmann::ordered_json;
using Bytes = std::vector<std::byte>;

inline std::string SourceDir() {
  if (const char* env = std::getenv("ARK_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
#ifdef ARK_SOURCE_DIR
  return ARK_SOURCE_DIR;
#else
  return ".";
#endif
}

// A fresh directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("ark-test-" + std::to_string(entropy()) + "-" + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline Bytes ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* data = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(data, data + text.size());
}

inline void WriteFileBytes(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Deterministic pseudo-random bytes (incompressible) and a compressible ramp.
inline Bytes NoiseBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<std::byte>(random() & 0xff);
  return bytes;
}

template <typename T>
Bytes AsBytes(const std::vector<T>& values) {
  const auto* data = reinterpret_cast<const std::byte*>(values.data());
  return Bytes(data, data + values.size() * sizeof(T));
}

inline Bytes RampDoubles(size_t count) {
  std::vector<double> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = static_cast<double>(i % 1000) * 0.25;
  return AsBytes(values);
}

inline std::shared_ptr<Reader> OpenBytes(const Bytes& bytes, const ReaderOptions& options = {}) {
  return Reader::FromBuffer(std::make_shared<const Bytes>(bytes), options);
}

// Runs `fn`, which must throw ark::Error; returns the code (and message).
inline ErrorCode CodeOf(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& error) {
    if (message != nullptr) *message = error.what();
    return error.code();
  }
  ADD_FAILURE() << "expected an ark::Error, but the call succeeded";
  return ErrorCode::kIo;
}

inline ErrorCode OpenError(const Bytes& bytes, std::string* message = nullptr) {
  return CodeOf([&] { OpenBytes(bytes); }, message);
}

inline Footer FooterOf(const Bytes& file) {
  return DecodeFooter(std::span(file).subspan(file.size() - kFooterSize));
}

inline void SetFooter(Bytes* file, const Footer& footer) {
  const auto encoded = EncodeFooter(footer);
  std::copy(encoded.begin(), encoded.end(), file->end() - kFooterSize);
}

inline void PatchLe(Bytes* file, size_t at, size_t width, uint64_t value) {
  StoreLe(*file, at, width, value);
}

inline std::string ManifestText(const Bytes& file) {
  const Footer footer = FooterOf(file);
  return std::string(reinterpret_cast<const char*>(file.data()) + footer.manifest_offset,
                     footer.manifest_size);
}

// Replaces the manifest with `text` (at the same offset) and rewrites the
// footer's size and digest, so that only the content of the text is wrong.
inline Bytes ReplaceManifest(const Bytes& file, std::string_view text) {
  const Footer old_footer = FooterOf(file);
  Bytes result(file.begin(), file.begin() + static_cast<ptrdiff_t>(old_footer.manifest_offset));
  const auto* data = reinterpret_cast<const std::byte*>(text.data());
  result.insert(result.end(), data, data + text.size());
  Footer footer = old_footer;
  footer.manifest_size = text.size();
  footer.file_digest = Sha256Of(text);
  const auto encoded = EncodeFooter(footer);
  result.insert(result.end(), encoded.begin(), encoded.end());
  return result;
}

inline Bytes EditManifest(const Bytes& file, const std::function<void(Json&)>& edit) {
  Json manifest = Json::parse(ManifestText(file));
  edit(manifest);
  return ReplaceManifest(file, manifest.dump());
}

// Sets the format version in header, footer and manifest consistently.
inline Bytes WithVersion(const Bytes& file, uint16_t major, uint16_t minor) {
  Bytes result = EditManifest(file, [&](Json& m) { m["ark"]["version"] = {major, minor}; });
  PatchLe(&result, kHeaderMajorAt, 2, major);
  PatchLe(&result, kHeaderMinorAt, 2, minor);
  Footer footer = FooterOf(result);
  footer.major = major;
  footer.minor = minor;
  SetFooter(&result, footer);
  return result;
}

// The arrays of the standard sample file, in blob order.
struct SampleArray {
  Json dtype;
  std::vector<uint64_t> shape;
  Bytes data;
  BlobOptions options;
};

inline std::vector<SampleArray> SampleArrays() {
  std::vector<SampleArray> arrays;
  arrays.push_back({"<f8", {4, 3}, RampDoubles(12), {}});
  arrays.push_back({"<i4", {5}, NoiseBytes(20, 1), {}});
  BlobOptions zstd;
  zstd.codec = Codec::Zstd(3);
  zstd.chunk_size = kMinChunkSize;
  arrays.push_back({"<f8", {1500}, RampDoubles(1500), zstd});  // 3 chunks
  BlobOptions shuffled = zstd;
  shuffled.filter = Filter::kShuffle;
  arrays.push_back({"<u2", {3000}, NoiseBytes(6000, 2), shuffled});
  BlobOptions zlib;
  zlib.codec = Codec::Zlib(6);
  arrays.push_back({"|u1", {2, 2}, NoiseBytes(4, 3), zlib});
  return arrays;
}

inline Json SampleRoot() {
  return Json::parse(R"({"$object": "sklearn.dummy.Thing", "id": 1, "state": {
      "a": {"$array": 0}, "b": {"$array": 1}, "c": {"$array": 2}, "d": {"$array": 3},
      "e": {"$array": 4}, "x": 1.5, "n": [1, 2, null, true], "self": {"$ref": 1}}})");
}

inline Bytes SampleFile(const WriterOptions& options = {}) {
  auto writer = Writer::ToMemory(options);
  const auto arrays = SampleArrays();
  for (const auto& array : arrays)
    writer->AddBlob(array.dtype, array.shape, array.data, array.options);
  writer->Finish(SampleRoot(), Json{{"metadata", {{"created_at", "2024-01-01"}}}});
  return writer->TakeBuffer();
}

// Index of the first zstd blob of SampleFile (a 3-chunk blob).
inline constexpr size_t kSampleZstdBlob = 2;

}  // namespace ark::format::testing
