// Helpers shared by the subcommands (commands.h): exit statuses, opening
// files with messages a user can act on, and the formatting of sizes, codecs
// and dtypes in numpy's and Python's vocabulary.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "commands.h"

namespace ark::cli {

const char kExitCodeHelp[] =
    "Exit status:\n"
    "  0   success\n"
    "  1   error: missing or unreadable file, bad argument, I/O failure\n"
    "  2   not a valid .ark file: bad magic, unsupported version, truncated,\n"
    "      malformed manifest or object tree, a broken limit\n"
    "  3   corrupt content: a SHA-256 does not match or a compressed blob\n"
    "      does not decode\n"
    "  64  the command line was not understood\n";

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
      return kExitError;
    case ErrorCode::kChecksumMismatch:
    case ErrorCode::kCodecError:
      return kExitCorrupt;
    case ErrorCode::kTruncated:
    case ErrorCode::kBadMagic:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kOutOfBounds:
    case ErrorCode::kOverlap:
    case ErrorCode::kLimitExceeded:
    case ErrorCode::kBadManifest:
    case ErrorCode::kUnknownDtype:
    case ErrorCode::kSizeOverflow:
      return kExitFormat;
  }
  return kExitError;
}

std::shared_ptr<format::Reader> OpenArk(const std::string& path, bool verify_on_access) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw Error(ErrorCode::kIo, "no such file");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw Error(ErrorCode::kIo, "is a directory, not an .ark file");
  }
  format::ReaderOptions options;
  options.verify_on_access = verify_on_access;
  return format::Reader::Open(path, options);
}

std::string DescribeError(const std::string& path, const std::string& message) {
  // Messages quote bytes from the file (tag names, dtypes): escape control
  // characters so a hostile file cannot drive the user's terminal.
  std::string safe;
  for (size_t i = 0; i < message.size(); ++i) {
    const auto c = static_cast<unsigned char>(message[i]);
    const bool c1 =
        c == 0xc2 && i + 1 < message.size() && static_cast<unsigned char>(message[i + 1]) < 0xa0;
    if (c < 0x20 || c == 0x7f || c1) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      safe += escaped;
    } else {
      safe += message[i];
    }
  }
  if (safe.find("'" + path + "'") != std::string::npos) return safe;
  return path + ": " + safe;
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1000.0;
  size_t unit = 0;
  // Round first, so that 999,960 bytes reads "1.0 MB" and not "1000.0 KB".
  while (std::round(value * 10.0) >= 10000.0 && unit + 1 < std::size(kUnits)) {
    value /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string CodecLabel(const format::Codec& codec, format::Filter filter) {
  std::string label = format::CodecName(codec.kind);
  if (codec.kind != format::CodecKind::kNone) label += "-" + std::to_string(codec.level);
  if (filter == format::Filter::kShuffle) label += "+shuffle";
  return label;
}

std::string DtypeLabel(const format::Dtype& dtype) {
  if (dtype.structured || !dtype.descr.is_string()) {
    size_t fields =
        dtype.descr.is_object() && dtype.descr.contains("names") ? dtype.descr["names"].size() : 0;
    return "struct(" + std::to_string(fields) + (fields == 1 ? " field)" : " fields)");
  }
  const std::string& d = dtype.descr.get_ref<const std::string&>();
  if (d.size() < 3) return d;
  const char kind = d[1];
  const std::string rest = d.substr(2);
  uint64_t itemsize = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), itemsize);
  if (ec != std::errc() || end != rest.data() + rest.size()) itemsize = 0;
  const auto bits = [&] { return std::to_string(itemsize * 8); };
  if (itemsize == 0 && kind != 'M' && kind != 'm') return d;
  switch (kind) {
    case 'b':
      return "bool";
    case 'i':
      return "int" + bits();
    case 'u':
      return "uint" + bits();
    case 'f':
      return "float" + bits();
    case 'c':
      return "complex" + bits();
    case 'M':
      return "datetime64" + d.substr(3);
    case 'm':
      return "timedelta64" + d.substr(3);
    default:
      return d;  // <U12, |S8, |V16 read best in numpy's own notation
  }
}

std::string ShapeLabel(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string FloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  std::string out(text, end);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string DigestLabel(const format::Digest& digest) { return "sha256:" + format::ToHex(digest); }

}  // namespace ark::cli
