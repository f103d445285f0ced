// Dtype descriptors of blobs (docs/FORMAT.md §4): numpy's descriptor strings
// for simple types and an object form for structured types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ark::format {

struct Dtype {
  nlohmann::ordered_json descr;  // a string, or the structured object form
  uint64_t itemsize = 0;         // bytes per element, > 0
  bool structured = false;
};

// Validates a descriptor and computes its item size.
// Throws ark::Error(kUnknownDtype) naming the descriptor when it is not one
// of the forms of FORMAT.md §4 (big-endian and object dtypes included).
Dtype ParseDtype(const nlohmann::ordered_json& descr);

// Item size of a simple descriptor string such as "<f8"; throws like ParseDtype.
uint64_t ItemSizeOf(const std::string& simple_descr);

// itemsize × Π shape with overflow checks; throws kSizeOverflow.
uint64_t ByteCountOf(uint64_t itemsize, const std::vector<uint64_t>& shape);

}  // namespace ark::format
