// The manifest (docs/FORMAT.md §2, §3, §7) on both sides of the file:
// parsing untrusted manifest text safely, validating the blob table and its
// layout, and serialising blob-table entries for the writer.
//
// Every failure throws ark::Error naming the field (and blob index) at fault.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ark/format/reader.h"

namespace ark::format {

// Deepest nesting of arrays and objects in `text`, found by scanning bytes
// outside strings; stops early (returning a value > limit) once `limit` is
// exceeded. Needs no valid JSON: it runs before any parser sees the text.
int JsonNestingDepth(std::string_view text, int limit);

// Parses manifest text. Refuses (kLimitExceeded) nesting deeper than
// kMaxJsonDepth before parsing, and (kBadManifest) invalid JSON, invalid
// UTF-8, non-finite numbers and duplicate object keys. Objects are built in
// linear time however many keys they have.
nlohmann::ordered_json ParseManifestJson(std::string_view text);

// Where the manifest sits, which bounds every blob.
struct ManifestPlacement {
  uint64_t manifest_offset = 0;
  uint64_t footer_offset = 0;  // file size minus the footer: where data ends
  uint16_t file_major = 0;
  uint16_t file_minor = 0;
};

struct ValidatedManifest {
  std::vector<BlobInfo> blobs;
  std::string model_digest;
};

// Checks the whole schema of a parsed manifest and the layout of its blobs
// (first at 64, each at the aligned end of the previous one, the manifest at
// the aligned end of the last). Tags inside `root` are not checked here.
ValidatedManifest ValidateManifest(const nlohmann::ordered_json& manifest,
                                   const ManifestPlacement& placement);

// The blob-table entry of `blob`, keys in the order of FORMAT.md §3.
nlohmann::ordered_json BlobEntryToJson(const BlobInfo& blob);

}  // namespace ark::format
