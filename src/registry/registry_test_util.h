// Test-only helpers for the registry's tests: temporary folders and small
// .ark files written with the real ark::format::Writer. Header-only;
// included by *_test.cc files only.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ark/format/writer.h"
#include "piece_store.h"

namespace ark::registry::testing {

using Json = nlohmann::ordered_json;

class TempDir {
 public:
  TempDir() {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("ark-registry-test-" + std::to_string(entropy()) + "-" + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An array of n doubles: seed, seed+1, ...
inline std::vector<double> Ramp(size_t n, double seed) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = seed + static_cast<double>(i);
  return v;
}

// Writes an .ark file holding `arrays` (float64) and `metadata` as
// sections.metadata (omitted when null).
inline void WriteArk(const std::string& path, const std::vector<std::vector<double>>& arrays,
                     const Json& metadata = nullptr) {
  auto writer = format::Writer::ToFile(path);
  Json root = Json::array();
  for (const auto& a : arrays) {
    const auto bytes = std::as_bytes(std::span<const double>(a));
    const uint64_t index = writer->AddBlob("<f8", {a.size()}, bytes, {});
    root.push_back(Json{{"$array", index}});
  }
  Json sections = Json::object();
  if (!metadata.is_null()) sections["metadata"] = metadata;
  writer->Finish(root, sections);
}

inline std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Number and total size of the pieces in the pack files under <registry>/packs
// (pack and record headers not counted).
inline std::pair<size_t, uint64_t> PieceFiles(const std::string& registry) {
  const internal::PackStore packs(registry + "/packs");
  size_t n = 0;
  uint64_t bytes = 0;
  for (const auto& pack : packs.List()) {
    for (const auto& piece : packs.Records(pack.id)) {
      ++n;
      bytes += piece.size;
    }
  }
  return {n, bytes};
}

}  // namespace ark::registry::testing
