// The reader fuzz target's exercise, shared by the libFuzzer entry point
// (reader_fuzz.cc) and the corpus test driver (corpus_main.cc).
//
// ExerciseReader() does with a byte string everything a user of the format
// and model layers could: open it from memory, look at every accessor and
// blob-table entry, decode each blob (bounded: see kMaxBlobBytes), decode and
// re-encode the object tree, and verify the whole file. An ark::Error is the
// expected way to refuse bad input: the first one is returned in the Outcome
// and the remaining steps that do not depend on it still run. Anything else is
// a finding: another exception type propagates to the caller, and a broken
// contract of the public headers (a blob view of the wrong size, a blob table
// that Open() should have refused, a tree that does not round-trip) aborts
// with a message on stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ark/format/error.h"
#include "corpus_main.h"

namespace ark::fuzz {

// Blobs larger than this are not decoded, and decoding stops once this many
// bytes in total were produced for one input, so that the fuzzer spends its
// time on structure rather than on inflating zeros (a chunk may legally
// expand 65,536 times, FORMAT.md §7).
inline constexpr uint64_t kMaxBlobBytes = 64ull << 20;
inline constexpr uint64_t kMaxTotalBytes = 128ull << 20;

Outcome ExerciseReader(std::span<const uint8_t> data);

// The same input with the footer's manifest_size and file digest rewritten
// to match the bytes (when the footer's offset is in range and no flag is
// set), so that mutations of the manifest reach the code behind those checks.
// Returns false when no such repair applies or it changes nothing.
bool RepairFooter(std::span<const uint8_t> data, std::string* repaired);

}  // namespace ark::fuzz
