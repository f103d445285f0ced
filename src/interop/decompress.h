// Whole-file decompression of joblib / pickle files, the codec found from the
// content. Private to ark_interop.
//
// DetectCompression looks only at the first bytes, as joblib does
// (numpy_pickle_utils._detect_compressor): zlib (0x78), gzip (1f 8b), bz2
// ("BZ"), xz (fd 37 7a 58 5a), lzma-alone (5d 00). None of these starts a
// pickle: a pickle begins with an opcode, and 0x78, 0x1f, 0xfd are none, nor
// is ']' followed by 0x00; "BZ" would be a protocol-3 BINBYTES without the
// PROTO that every protocol-3 pickler writes, and joblib reads it as bz2 too.
//
// Decompress inflates the whole stream (gzip, bz2 and xz may hold several
// concatenated streams, as Python's readers accept). Output size is checked
// while decompressing, never taken from a header: more than `max_bytes`
// throws kLimitExceeded. An invalid stream, or bytes after the last stream
// that do not start another one, throw kCodecError; input ending inside a
// stream throws kTruncated. Reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ark/interop/pickle.h"

namespace ark::interop {

// "" when the bytes are not compressed; else "zlib", "gzip", "bz2", "lzma",
// "xz". Throws kUnsupported for formats joblib knows but this build cannot
// read (lz4, joblib < 0.9.3 "ZF" files).
std::string DetectCompression(std::string_view bytes);

// REQUIRES: codec is one DetectCompression returns, other than "".
// The output is a malloc'd buffer the returned source owns.
PickleSource Decompress(const std::string& codec, std::string_view bytes, uint64_t max_bytes);

}  // namespace ark::interop
