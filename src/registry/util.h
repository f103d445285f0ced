// Small helpers shared by the registry's files: name rules, clocks, the
// actor, durable file writes, and the fault-injection crash points.
//
// Every function throws ark::Error (kInvalidArgument for a bad name, kIo for
// an operating-system failure, naming the path) and never leaves a temporary
// file behind on failure. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ark::registry::internal {

// Models: [A-Za-z0-9][A-Za-z0-9._-]{0,127}. Throws kInvalidArgument naming `what`.
void CheckModelName(std::string_view name);
// Aliases: as model names, and not all digits, not "latest" (any case), not a
// stage name as spelled (None, Staging, Production, Archived: "production" is
// a fine alias), so that an alias never reads as a version or a stage.
void CheckAliasName(std::string_view alias);
// Tag keys: 1..250 bytes of [A-Za-z0-9._-/ :]. Values: at most 5000 bytes.
void CheckTag(std::string_view key, std::string_view value);
// The canonical spelling of a stage given in any case ("production" -> "Production");
// throws kInvalidArgument listing the four stages.
std::string CanonicalStage(std::string_view stage);
bool IsStageName(std::string_view text);  // any case

int64_t NowMs();
// "2025-03-01T14:02:11.204Z".
std::string IsoTime(int64_t ms);
// Parses "2025-03-01", "2025-03-01T14:02:11Z", "...11.204Z"; false otherwise.
bool ParseIsoTime(std::string_view text, int64_t* ms);

// `given`, else $ARK_ACTOR, else $USER, else "unknown".
std::string ResolveActor(const std::string& given);

// Writes `data` to `path` durably: a temporary file beside it, write, fsync,
// rename, fsync of the directory. ENOSPC and other failures: kIo naming
// `path`, the temporary removed.
void WriteFileAtomic(const std::string& path, std::span<const std::byte> data);
// fsyncs a directory (best effort on file systems that refuse it).
void SyncDir(const std::string& dir);

// Fault injection for crash tests: when $ARK_REGISTRY_CRASH_AT is n > 0, the
// n-th call of CrashPoint in this process calls _exit(86). `where` names the
// point (printed to stderr when $ARK_REGISTRY_CRASH_VERBOSE is set).
// The points are listed in include/ark/registry/registry.h.
void CrashPoint(const char* where);
inline constexpr int kCrashExitStatus = 86;

}  // namespace ark::registry::internal
