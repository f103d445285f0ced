// ark::Error: the one exception type of the ark core.
//
// Every fallible call in the format, model and runtime layers reports failure
// by throwing ark::Error. The code tells a boundary (CLI exit status, Python
// exception class, HTTP status) what kind of failure it was; the message
// names what is wrong and, where possible, what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace ark {

enum class ErrorCode {
  kIo,                  // the operating system refused a read, write or map
  kInvalidArgument,     // the caller passed something unusable
  kTruncated,           // the file is shorter than its structure says
  kBadMagic,            // not an .ark file (header or footer magic wrong)
  kUnsupportedVersion,  // a major version (or minor feature) this reader lacks
  kOutOfBounds,         // an offset or size points outside the file
  kOverlap,             // blobs overlap, leave holes, or are misaligned
  kLimitExceeded,       // a documented reader limit (docs/FORMAT.md §7) is broken
  kBadManifest,         // the manifest is not valid JSON or breaks the schema
  kUnknownDtype,        // a dtype descriptor the reader does not know
  kSizeOverflow,        // a size computation overflows 64 bits
  kChecksumMismatch,    // a SHA-256 does not match the bytes
  kCodecError,          // a compressed stream is invalid or has the wrong size
  kUnsupported,         // valid, but beyond what this build can do (e.g. a model the runtime lacks)
};

// Short stable name of a code, e.g. "checksum_mismatch".
const char* ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace ark
