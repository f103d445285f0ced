#include "pickle_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace ark::interop::pickle_text {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool ParseDecimal(std::string_view text, int64_t* value, std::string* decimal, bool* fits) {
  bool negative = false;
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsDigit)) return false;
  const size_t first = digits.find_first_not_of('0');
  digits = first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
  // |int64 min| = 9223372036854775808 (19 digits).
  uint64_t magnitude = 0;
  bool overflow = digits.size() > 19;
  for (size_t i = 0; !overflow && i < digits.size(); ++i) {
    overflow =
        __builtin_mul_overflow(magnitude, 10u, &magnitude) ||
        __builtin_add_overflow(magnitude, static_cast<uint64_t>(digits[i] - '0'), &magnitude);
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (!overflow && magnitude <= limit) {
    *value = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    *fits = true;
    return true;
  }
  *fits = false;
  // (One sized write: GCC 12's -Wrestrict misfires on assign("-") + append.)
  decimal->resize(digits.size() + (negative ? 1 : 0));
  char* out = decimal->data();
  if (negative) *out++ = '-';
  std::memcpy(out, digits.data(), digits.size());
  return true;
}

bool ParseFloat(std::string_view text, double* value) {
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body[0] == '-' || body[0] == '+') return false;
  double parsed = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), parsed);
  if (end != body.data() + body.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Python rounds overflow to inf only for "inf" itself: 1e999 is inf too.
    parsed = std::strtod(std::string(body).c_str(), nullptr);
  } else if (ec != std::errc()) {
    return false;
  }
  *value = negative ? -parsed : parsed;
  return true;
}

bool EscapeDecode(std::string_view body, std::string* out, std::string* error) {
  out->clear();
  out->reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == body.size()) {
      *error = "trailing \\ in string";
      return false;
    }
    const char e = body[i];
    switch (e) {
      case '\n':
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '\'':
        out->push_back('\'');
        break;
      case '"':
        out->push_back('"');
        break;
      case 'a':
        out->push_back('\a');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case 'x': {
        const int hi = i + 1 < body.size() ? HexValue(body[i + 1]) : -1;
        const int lo = i + 2 < body.size() ? HexValue(body[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *error = "invalid \\x escape at position " + std::to_string(i - 1);
          return false;
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned v = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k) {
            v = v * 8 + (body[++i] - '0');
          }
          out->push_back(static_cast<char>(v & 0xFF));
        } else {
          out->push_back('\\');
          out->push_back(e);
        }
    }
  }
  return true;
}

bool RawUnicodeEscapeToUtf8(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c != '\\') {
      AppendUtf8(c, out);
      ++i;
      continue;
    }
    size_t run = 0;
    while (i < in.size() && in[i] == '\\') {
      ++run;
      ++i;
    }
    const bool escape = run % 2 == 1 && i < in.size() && (in[i] == 'u' || in[i] == 'U');
    out->append(escape ? run - 1 : run, '\\');
    if (!escape) continue;
    const size_t count = in[i] == 'u' ? 4 : 8;
    ++i;
    uint32_t cp = 0;
    for (size_t k = 0; k < count; ++k, ++i) {
      const int h = i < in.size() ? HexValue(in[i]) : -1;
      if (h < 0) {
        *error = count == 4 ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape";
        return false;
      }
      cp = cp * 16 + static_cast<uint32_t>(h);
    }
    if (cp > 0x10FFFF) {
      *error = "\\Uxxxxxxxx out of range";
      return false;
    }
    AppendUtf8(cp, out);
  }
  return true;
}

bool IsUtf8SurrogatePass(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    i += len;
  }
  return true;
}

std::optional<int64_t> LittleEndianToInt64(std::string_view bytes) {
  if (bytes.empty()) return 0;
  const bool negative = static_cast<unsigned char>(bytes.back()) & 0x80;
  // Bytes beyond the eighth must be pure sign extension.
  size_t significant = bytes.size();
  const unsigned char fill = negative ? 0xFF : 0x00;
  while (significant > 8 && static_cast<unsigned char>(bytes[significant - 1]) == fill)
    --significant;
  if (significant > 8) return std::nullopt;
  if (significant < bytes.size() &&
      ((static_cast<unsigned char>(bytes[significant - 1]) & 0x80) != 0) != negative) {
    return std::nullopt;
  }
  uint64_t v = negative ? ~uint64_t{0} : 0;
  for (size_t k = 0; k < significant; ++k) {
    v &= ~(uint64_t{0xFF} << (8 * k));
    v |= uint64_t{static_cast<unsigned char>(bytes[k])} << (8 * k);
  }
  return static_cast<int64_t>(v);
}

std::string LittleEndianToDecimal(std::string_view bytes) {
  if (bytes.empty()) return "0";
  const bool negative = static_cast<unsigned char>(bytes.back()) & 0x80;
  // Magnitude as little-endian bytes (two's complement negated when negative).
  std::vector<unsigned char> mag(bytes.begin(), bytes.end());
  if (negative) {
    unsigned carry = 1;
    for (unsigned char& b : mag) {
      const unsigned v = static_cast<unsigned char>(~b) + carry;
      b = static_cast<unsigned char>(v);
      carry = v >> 8;
    }
  }
  // Base-256 to base-1e9 by repeated division, most significant byte first.
  std::vector<uint32_t> big(mag.rbegin(), mag.rend());  // base 256, MSB first
  std::vector<uint32_t> chunks;                         // base 1e9, LSB first
  size_t start = 0;
  while (start < big.size()) {
    uint64_t rem = 0;
    for (size_t k = start; k < big.size(); ++k) {
      const uint64_t cur = rem * 256 + big[k];
      big[k] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    chunks.push_back(static_cast<uint32_t>(rem));
    while (start < big.size() && big[start] == 0) ++start;
  }
  std::string out = negative ? "-" : "";
  if (chunks.empty()) return "0";
  out += std::to_string(chunks.back());
  for (size_t k = chunks.size() - 1; k-- > 0;) {
    const std::string part = std::to_string(chunks[k]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

}  // namespace ark::interop::pickle_text
