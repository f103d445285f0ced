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

// Parses JSON text with nlohmann (the reference parser, used where an
// ordered_json is wanted: Reader::root() and VerifyAll). Refuses
// (kLimitExceeded) nesting deeper than kMaxJsonDepth before parsing, and
// (kBadManifest) invalid JSON, invalid UTF-8, non-finite numbers and
// duplicate object keys. Objects are built in linear time however many keys
// they have.
nlohmann::ordered_json ParseManifestJson(std::string_view text);

// Where the manifest sits, which bounds every blob.
struct ManifestPlacement {
  uint64_t manifest_offset = 0;
  uint64_t footer_offset = 0;  // file size minus the footer: where data ends
  uint16_t file_major = 0;
  uint16_t file_minor = 0;
};

struct ParsedManifest {
  std::vector<BlobInfo> blobs;
  std::string model_digest;
  // The exact bytes of the `root` value: a view into the text given to
  // ParseManifest, valid as long as that text is.
  std::string_view root_text;
  nlohmann::ordered_json sections;  // an object
};

// Parses and validates manifest text (simdjson): nesting depth (kLimitExceeded,
// before any parser runs), JSON syntax, UTF-8, numbers (integers beyond
// 64 bits and non-finite floats are refused), duplicate keys in every object
// of the document, then the whole schema of FORMAT.md §2-§4 and §7 and the
// layout of the blobs (first at 64, each at the aligned end of the previous
// one, the manifest at the aligned end of the last). Tags inside `root` are
// not checked here (model::FromJsonText does). Equal dtype descriptors are
// parsed once.
ParsedManifest ParseManifest(std::string_view text, const ManifestPlacement& placement);

// The blob-table entry of `blob`, keys in the order of FORMAT.md §3.
nlohmann::ordered_json BlobEntryToJson(const BlobInfo& blob);

}  // namespace ark::format
