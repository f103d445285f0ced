// Name rules, clocks, durable writes and crash points (util.h).
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>

#include "ark/format/error.h"
#include "ark/registry/registry.h"

namespace ark::registry::internal {
namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

bool Alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128 || !Alnum(name[0])) return false;
  for (char c : name) {
    if (!NameChar(c)) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) {
    out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  }
  return out + "'";
}

}  // namespace

void CheckModelName(std::string_view name) {
  if (!ValidName(name)) {
    throw Error(ErrorCode::kInvalidArgument,
                "invalid model name " + Quoted(name) +
                    ": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
}

void CheckAliasName(std::string_view alias) {
  const bool all_digits = !alias.empty() && alias.find_first_not_of("0123456789") == alias.npos;
  bool stage = false;  // exact spelling: "production" is a fine alias, "Production" a stage
  for (const char* s : kStages) stage = stage || alias == s;
  if (!ValidName(alias) || all_digits || Lower(alias) == "latest" || stage) {
    throw Error(ErrorCode::kInvalidArgument,
                "invalid alias " + Quoted(alias) +
                    ": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or "
                    "digit; not all digits, not 'latest', not a stage name (None, Staging, Production, Archived)");
  }
}

void CheckTag(std::string_view key, std::string_view value) {
  bool ok = !key.empty() && key.size() <= 250;
  for (char c : key) {
    if (!(NameChar(c) || c == '/' || c == ' ' || c == ':')) ok = false;
  }
  if (!ok) {
    throw Error(ErrorCode::kInvalidArgument,
                "invalid tag key " + Quoted(key) +
                    ": use 1-250 letters, digits, '.', '_', '-', '/', ':' or spaces");
  }
  if (value.size() > 5000) {
    throw Error(ErrorCode::kInvalidArgument, "tag " + std::string(key) + ": value over 5000 bytes");
  }
}

bool IsStageName(std::string_view text) {
  const std::string lower = Lower(text);
  for (const char* stage : kStages) {
    if (Lower(stage) == lower) return true;
  }
  return false;
}

std::string CanonicalStage(std::string_view stage) {
  const std::string lower = Lower(stage);
  for (const char* s : kStages) {
    if (Lower(s) == lower) return s;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown stage " + Quoted(stage) + ": use None, Staging, Production or Archived");
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoTime(int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

bool ParseIsoTime(std::string_view text, int64_t* ms) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0;
  const std::string t(text);
  char tail[8] = {0};
  int n = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return false;
  if (t.size() > 10) {
    int n2 = 0;
    if (std::sscanf(t.c_str() + 10, "T%2d:%2d:%2d%n", &h, &mi, &s, &n2) != 3 || n2 != 9) return false;
    size_t pos = 19;
    if (pos < t.size() && t[pos] == '.') {
      int digits = 0;
      ++pos;
      while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
        if (digits < 3) frac = frac * 10 + (t[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return false;
      for (int i = digits; i < 3; ++i) frac *= 10;
    }
    const std::string rest = t.substr(pos);
    if (rest.size() > 1 || (rest.size() == 1 && rest != "Z")) return false;
  }
  (void)tail;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  *ms = static_cast<int64_t>(timegm(&tm)) * 1000 + frac;
  return true;
}

std::string ResolveActor(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* var : {"ARK_ACTOR", "USER"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "unknown";
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

void WriteFileAtomic(const std::string& path, std::span<const std::byte> data) {
  static std::atomic<uint64_t> counter{0};
  std::random_device entropy;
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter++) + "-" + std::to_string(entropy());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorCode::kIo, "cannot create " + tmp + ": " + std::strerror(errno));
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, std::string("cannot ") + what + " " + path + ": " +
                                    std::strerror(err));
  };
  const std::byte* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot rename into " + path + ": " + std::strerror(err));
  }
  const auto slash = path.rfind('/');
  SyncDir(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

void CrashPoint(const char* where) {
  static std::atomic<int64_t> reached{0};
  const char* env = std::getenv("ARK_REGISTRY_CRASH_AT");
  if (env == nullptr || *env == '\0') return;
  const int64_t target = std::atoll(env);
  if (target <= 0) return;
  const int64_t n = ++reached;
  if (n == target) {
    if (std::getenv("ARK_REGISTRY_CRASH_VERBOSE") != nullptr) {
      std::fprintf(stderr, "ark registry: crash point %lld (%s)\n", static_cast<long long>(n), where);
    }
    ::_exit(kCrashExitStatus);
  }
}

}  // namespace ark::registry::internal
