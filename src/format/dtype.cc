// Dtype descriptors (docs/FORMAT.md §4): validation and item sizes.
//
// A descriptor is accepted only in the exact spelling numpy's `dtype.str`
// gives for a little-endian dtype ('|' for one-byte and byte-string kinds,
// '<' otherwise; no leading zeros; no explicit datetime multiplier of 1).
// One spelling per dtype keeps the model digest, which hashes descriptors as
// text, a function of the array alone. Zero-sized dtypes ('<U0', '|S0', an
// empty structure) are refused: every blob element occupies at least a byte,
// which keeps ByteCountOf and element counts in one-to-one correspondence.
//
// Everything here runs on untrusted manifest JSON, so every number is range
// checked before use and nesting is bounded before recursion can go deep.
#include "ark/format/dtype.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "ark/format/error.h"
#include "ark/format/limits.h"

namespace ark::format {
namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxItemSize = uint64_t{1} << 31;
// Structured dtypes of real models nest one or two levels; anything deeper
// is refused before it can drive the recursion below.
constexpr int kMaxDtypeDepth = 8;
// numpy stores a datetime multiplier in a C int.
constexpr uint64_t kMaxDatetimeMultiplier = (uint64_t{1} << 31) - 1;
constexpr size_t kMaxQuotedLength = 120;

// The descriptor as JSON text, cut short so that a hostile multi-megabyte
// descriptor cannot turn into a multi-megabyte error message.
std::string Quote(const Json& descr) {
  std::string text = descr.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxQuotedLength) {
    text.resize(kMaxQuotedLength);
    text += "...";
  }
  return text;
}

[[noreturn]] void Refuse(const Json& descr, const std::string& field, const std::string& why) {
  std::string message = "unknown dtype " + Quote(descr);
  if (!field.empty()) message += " (field '" + field + "')";
  message += ": " + why;
  throw Error(ErrorCode::kUnknownDtype, message);
}

// Parses canonical decimal digits (no sign, no leading zero) not above `max`.
bool ParseDecimal(std::string_view text, uint64_t max, uint64_t* value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + static_cast<uint64_t>(c - '0');
    // max < 2^63, so checking after every digit keeps `result` from wrapping.
    if (result > max) return false;
  }
  *value = result;
  return true;
}

// A non-negative JSON integer; floats, booleans and negatives are refused.
bool JsonUnsigned(const Json& j, uint64_t* value) {
  if (j.is_number_unsigned()) {
    *value = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *value = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

bool IsDatetimeUnit(std::string_view unit) {
  static constexpr std::string_view kUnits[] = {"Y",  "M",  "W",  "D",  "h",  "m", "s",
                                                "ms", "us", "ns", "ps", "fs", "as"};
  return std::find(std::begin(kUnits), std::end(kUnits), unit) != std::end(kUnits);
}

// Item size of a simple descriptor, or 0 with `why` set.
uint64_t SimpleItemSize(std::string_view s, std::string* why) {
  if (s.size() < 3) {
    *why = "too short for a byte order, a kind and a size";
    return 0;
  }
  const char order = s[0];
  const char kind = s[1];
  const std::string_view rest = s.substr(2);
  if (order == '>') {
    *why = "big-endian descriptors are refused; writers store little-endian";
    return 0;
  }
  if (order != '<' && order != '|') {
    *why = std::string("byte order '") + order + "' is not '<' or '|'";
    return 0;
  }
  if (kind == 'O') {
    *why = "object arrays are never stored as blobs; they belong in the object tree";
    return 0;
  }

  uint64_t itemsize = 0;
  char expected_order = '<';
  switch (kind) {
    case 'b':
    case 'i':
    case 'u':
    case 'f':
    case 'c': {
      if (!ParseDecimal(rest, 16, &itemsize)) {
        *why = "malformed item size";
        return 0;
      }
      bool known = false;
      switch (kind) {
        case 'b':
          known = itemsize == 1;
          break;
        case 'i':
        case 'u':
          known = itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8;
          break;
        case 'f':
          known = itemsize == 2 || itemsize == 4 || itemsize == 8;
          break;
        case 'c':
          known = itemsize == 8 || itemsize == 16;
          break;
      }
      if (!known) {
        *why = "no such item size for this kind";
        return 0;
      }
      expected_order = itemsize == 1 ? '|' : '<';
      break;
    }
    case 'U': {
      uint64_t chars = 0;
      if (!ParseDecimal(rest, kMaxItemSize / 4, &chars)) {
        *why = "malformed or too large string length";
        return 0;
      }
      itemsize = chars * 4;
      break;
    }
    case 'S':
    case 'V':
      if (!ParseDecimal(rest, kMaxItemSize, &itemsize)) {
        *why = "malformed or too large item size";
        return 0;
      }
      expected_order = '|';
      break;
    case 'M':
    case 'm': {
      // "8[unit]" or "8[<multiplier><unit>]"; a generic (unit-less) datetime
      // carries no meaning a reader could act on.
      if (rest.size() < 4 || rest[0] != '8' || rest[1] != '[' || rest.back() != ']') {
        *why = "datetime descriptors have the form <M8[unit] or <m8[unit]";
        return 0;
      }
      const std::string_view inner = rest.substr(2, rest.size() - 3);
      const size_t digits = inner.find_first_not_of("0123456789");
      if (digits == std::string_view::npos || !IsDatetimeUnit(inner.substr(digits))) {
        *why = "unknown datetime unit";
        return 0;
      }
      if (digits > 0) {
        uint64_t multiplier = 0;
        // numpy writes "[s]", never "[1s]".
        if (!ParseDecimal(inner.substr(0, digits), kMaxDatetimeMultiplier, &multiplier) ||
            multiplier < 2) {
          *why = "malformed datetime multiplier";
          return 0;
        }
      }
      itemsize = 8;
      break;
    }
    default:
      *why = std::string("unknown kind '") + kind + "'";
      return 0;
  }
  if (itemsize == 0) {
    *why = "zero-sized items are not stored";
    return 0;
  }
  if (order != expected_order) {
    *why = std::string("numpy writes this type with byte order '") + expected_order + "'";
    return 0;
  }
  return itemsize;
}

uint64_t ParseFormat(const Json& descr, int depth, const std::string& field, bool allow_subarray);

uint64_t ParseSubarray(const Json& descr, int depth, const std::string& field) {
  if (descr.size() != 2 || !descr[1].is_array()) {
    Refuse(descr, field, "a sub-array is [descriptor, [dims]]");
  }
  // numpy folds a sub-array of a sub-array into one, so the base is never one.
  const uint64_t base = ParseFormat(descr[0], depth + 1, field, /*allow_subarray=*/false);
  const Json& dims = descr[1];
  if (dims.empty() || dims.size() > kMaxDims) {
    Refuse(descr, field, "a sub-array has 1 to " + std::to_string(kMaxDims) + " dimensions");
  }
  uint64_t itemsize = base;
  for (const Json& dim : dims) {
    uint64_t extent = 0;
    if (!JsonUnsigned(dim, &extent) || extent == 0) {
      Refuse(descr, field, "sub-array dimensions are positive integers");
    }
    // Both factors are at most 2^31, so the product cannot wrap.
    if (extent > kMaxItemSize || (itemsize *= extent) > kMaxItemSize) {
      Refuse(descr, field, "item size exceeds 2^31 bytes");
    }
  }
  return itemsize;
}

uint64_t ParseStructured(const Json& descr, int depth, const std::string& field) {
  if (depth > kMaxDtypeDepth) {
    Refuse(descr, field, "nested deeper than " + std::to_string(kMaxDtypeDepth) + " levels");
  }
  static constexpr const char* kKeys[] = {"names", "formats", "offsets", "itemsize"};
  for (const char* key : kKeys) {
    if (!descr.contains(key)) Refuse(descr, field, std::string("missing \"") + key + "\"");
  }
  if (descr.size() != std::size(kKeys)) {
    Refuse(descr, field, "a structured dtype has exactly names, formats, offsets and itemsize");
  }
  const Json& names = descr["names"];
  const Json& formats = descr["formats"];
  const Json& offsets = descr["offsets"];
  if (!names.is_array() || !formats.is_array() || !offsets.is_array() ||
      formats.size() != names.size() || offsets.size() != names.size()) {
    Refuse(descr, field, "names, formats and offsets are arrays of equal length");
  }
  uint64_t itemsize = 0;
  if (!JsonUnsigned(descr["itemsize"], &itemsize) || itemsize == 0 || itemsize > kMaxItemSize) {
    Refuse(descr, field, "itemsize is an integer from 1 to 2^31");
  }

  std::set<std::string> seen;
  std::vector<std::pair<uint64_t, uint64_t>> extents;  // (offset, size) per field
  extents.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string() || names[i].get_ref<const std::string&>().empty()) {
      Refuse(descr, field, "field names are non-empty strings");
    }
    const std::string& name = names[i].get_ref<const std::string&>();
    if (!seen.insert(name).second) Refuse(descr, field, "duplicate field name '" + name + "'");
    const std::string path = field.empty() ? name : field + "." + name;
    const uint64_t size = ParseFormat(formats[i], depth, path, /*allow_subarray=*/true);
    uint64_t offset = 0;
    if (!JsonUnsigned(offsets[i], &offset)) {
      Refuse(descr, path, "offsets are non-negative integers");
    }
    // size <= 2^31 and offset is bounded first, so the sum cannot wrap.
    if (offset > itemsize || size > itemsize - offset) {
      Refuse(descr, path, "field reaches past itemsize");
    }
    extents.emplace_back(offset, size);
  }
  std::sort(extents.begin(), extents.end());
  for (size_t i = 1; i < extents.size(); ++i) {
    if (extents[i - 1].first + extents[i - 1].second > extents[i].first) {
      Refuse(descr, field, "fields overlap at byte " + std::to_string(extents[i].first));
    }
  }
  return itemsize;
}

uint64_t ParseFormat(const Json& descr, int depth, const std::string& field, bool allow_subarray) {
  if (descr.is_string()) {
    std::string why;
    const uint64_t itemsize = SimpleItemSize(descr.get_ref<const std::string&>(), &why);
    if (itemsize == 0) Refuse(descr, field, why);
    return itemsize;
  }
  if (descr.is_object()) return ParseStructured(descr, depth + 1, field);
  if (descr.is_array() && allow_subarray) return ParseSubarray(descr, depth, field);
  Refuse(descr, field,
         allow_subarray ? "a field format is a descriptor string, a structured object or a "
                          "[descriptor, [dims]] sub-array"
                        : "a dtype is a descriptor string or a structured object");
}

}  // namespace

Dtype ParseDtype(const nlohmann::ordered_json& descr) {
  Dtype dtype;
  dtype.itemsize = ParseFormat(descr, 0, "", /*allow_subarray=*/false);
  dtype.structured = descr.is_object();
  dtype.descr = descr;
  return dtype;
}

uint64_t ItemSizeOf(const std::string& simple_descr) {
  std::string why;
  const uint64_t itemsize = SimpleItemSize(simple_descr, &why);
  if (itemsize == 0) Refuse(Json(simple_descr), "", why);
  return itemsize;
}

uint64_t ByteCountOf(uint64_t itemsize, const std::vector<uint64_t>& shape) {
  // The product of the non-zero factors must fit even when a zero extent
  // makes the total 0: readers derive strides and element counts from the
  // same factors, and those must not wrap either.
  uint64_t product = itemsize == 0 ? 1 : itemsize;
  bool empty = itemsize == 0;
  for (uint64_t extent : shape) {
    if (extent == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(product, extent, &product)) {
      std::string dims;
      for (size_t i = 0; i < shape.size() && i < 8; ++i) {
        dims += (i ? ", " : "") + std::to_string(shape[i]);
      }
      if (shape.size() > 8) dims += ", ...";
      throw Error(ErrorCode::kSizeOverflow, "array of itemsize " + std::to_string(itemsize) +
                                                " and shape [" + dims + "] overflows 64 bits");
    }
  }
  return empty ? 0 : product;
}

}  // namespace ark::format
