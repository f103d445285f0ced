// ErrorCodeName: the stable snake_case name of each ark::ErrorCode.
//
// These names cross process boundaries (CLI messages, Python exception
// attributes, HTTP error bodies), so they never change once released; a new
// code gets a new name and old names keep their meaning.
#include "ark/format/error.h"

namespace ark {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kTruncated:
      return "truncated";
    case ErrorCode::kBadMagic:
      return "bad_magic";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::kOutOfBounds:
      return "out_of_bounds";
    case ErrorCode::kOverlap:
      return "overlap";
    case ErrorCode::kLimitExceeded:
      return "limit_exceeded";
    case ErrorCode::kBadManifest:
      return "bad_manifest";
    case ErrorCode::kUnknownDtype:
      return "unknown_dtype";
    case ErrorCode::kSizeOverflow:
      return "size_overflow";
    case ErrorCode::kChecksumMismatch:
      return "checksum_mismatch";
    case ErrorCode::kCodecError:
      return "codec_error";
    case ErrorCode::kUnsupported:
      return "unsupported";
  }
  // A value outside the enum (a cast from a corrupt integer) still gets a
  // printable name rather than a null pointer.
  return "unknown";
}

}  // namespace ark
