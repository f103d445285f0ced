// The scanner (include/ark/interop/scan.h): pickle graphs and skops schemas
// to a ScanReport. Names are classified by names.h; this file finds the names,
// the call sites and the constructs the reader could not follow.
#include "ark/interop/scan.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <utility>

#include "ark/format/error.h"
#include "names.h"
#include "scan_skops.h"  // ScanSkops, FinishReport

namespace ark::interop {
namespace {

// A dangerous thing found in the stream, for the headline (first by offset).
struct Event {
  uint64_t offset = 0;
  std::string text;
};

std::string Hex(uint64_t offset) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(offset));
  return buffer;
}

// Python-like repr of a string argument, cut to a readable length.
std::string Repr(std::string_view text, bool bytes) {
  constexpr size_t kMaxShown = 60;
  // Python's choice: single quotes unless the text holds one and no double quote.
  const char quote = text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos
                         ? '"'
                         : '\'';
  std::string out = bytes ? "b" : "";
  out += quote;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  if (text.size() > kMaxShown) out += "...";
  return out;
}

// "('rm -rf /')" when the call's first argument is a string, "(...)" otherwise.
std::string ArgumentText(const PickleGraph& graph, const PickleNode& call) {
  if (call.args == kNoNode || call.args >= graph.nodes.size()) return "(...)";
  const PickleNode& args = graph.at(call.args);
  if (args.kind != PickleKind::kTuple) return "(...)";
  if (args.items.empty()) return "()";
  const NodeId first = args.items.front();
  if (first >= graph.nodes.size()) return "(...)";
  const PickleNode& arg = graph.at(first);
  const std::string more = args.items.size() > 1 ? ", ...)" : ")";
  if (arg.kind == PickleKind::kString) return "(" + Repr(arg.text, false) + more;
  if (arg.kind == PickleKind::kBytes) return "(" + Repr(arg.data, true) + more;
  return "(...)";
}

// What a non-global callable is, for the finding.
std::string DescribeCallable(const PickleGraph& graph, NodeId id) {
  if (id == kNoNode || id >= graph.nodes.size()) return "nothing";
  const PickleNode& node = graph.at(id);
  if (node.kind == PickleKind::kCall && node.callable < graph.nodes.size() &&
      graph.at(node.callable).kind == PickleKind::kGlobal) {
    return "the result of " + graph.GlobalName(node.callable) + "(...)";
  }
  if (node.kind == PickleKind::kCall) return "the result of another call";
  if (node.kind == PickleKind::kPersistentId) return "a persistent id";
  return "a plain value";
}

int Rank(Verdict verdict) { return static_cast<int>(verdict); }

void Worsen(Verdict* verdict, Verdict other) {
  if (Rank(other) > Rank(*verdict)) *verdict = other;
}

ScanReport Unreadable(const std::string& path, std::string format, std::string error) {
  ScanReport report;
  report.path = path;
  report.format = std::move(format);
  report.verdict = Verdict::kUnreadable;
  report.error = std::move(error);
  return report;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kSafe:
      return "safe";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kDangerous:
      return "dangerous";
    case Verdict::kUnreadable:
      return "unreadable";
  }
  return "unreadable";
}

void FinishReport(ScanReport* report, std::vector<std::pair<uint64_t, std::string>> dangerous_events) {
  std::sort(report->globals.begin(), report->globals.end(),
            [](const ScannedGlobal& a, const ScannedGlobal& b) { return a.name < b.name; });
  for (const ScannedGlobal& global : report->globals) Worsen(&report->verdict, global.verdict);
  if (!report->findings.empty()) Worsen(&report->verdict, Verdict::kDangerous);
  if (!report->error.empty()) report->verdict = Verdict::kUnreadable;

  switch (report->verdict) {
    case Verdict::kSafe: {
      const size_t n = report->globals.size();
      report->headline = n == 0 ? "SAFE — plain data, no globals"
                                : "SAFE — " + std::to_string(n) +
                                      (n == 1 ? " global, on the trust list" : " globals, all on the trust list");
      break;
    }
    case Verdict::kUnknown: {
      std::string names;
      size_t shown = 0, total = 0;
      for (const ScannedGlobal& global : report->globals) {
        if (global.verdict != Verdict::kUnknown) continue;
        ++total;
        if (shown < 3) {
          names += (shown ? ", " : "") + global.name;
          ++shown;
        }
      }
      if (total > shown) names += " and " + std::to_string(total - shown) + " more";
      report->headline = "UNKNOWN — " + names + (total == 1 ? " (unknown: not on the trust list)"
                                                            : " (unknown: not on the trust list)");
      break;
    }
    case Verdict::kDangerous: {
      std::stable_sort(dangerous_events.begin(), dangerous_events.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string text = dangerous_events.empty() ? "dangerous names" : dangerous_events.front().second;
      if (dangerous_events.size() > 1) {
        text += " (+" + std::to_string(dangerous_events.size() - 1) + " more)";
      }
      report->headline = "DANGEROUS — " + text;
      break;
    }
    case Verdict::kUnreadable:
      report->headline = "UNREADABLE — " + report->error;
      break;
  }
}

ScanReport ScanGraph(const PickleGraph& graph) {
  ScanReport report;
  report.format = graph.joblib ? "joblib" : "pickle";
  report.compression = graph.compression;
  report.protocol = graph.protocol;
  std::vector<std::pair<uint64_t, std::string>> events;

  std::map<std::string, ScannedGlobal> by_name;
  std::map<NodeId, std::string> node_names;  // kGlobal node -> its name
  auto add_global = [&](NodeId id, uint64_t offset, bool computed) {
    const PickleNode& node = graph.at(id);
    const std::string name = node.module + "." + node.name;
    node_names[id] = name;
    ScannedGlobal& global = by_name[name];
    if (global.name.empty()) {
      global.name = name;
      const NameVerdict verdict = ClassifyGlobal(node.module, node.name);
      global.verdict = verdict.verdict;
      global.reason = verdict.reason;
    }
    if (computed) {
      global.verdict = Verdict::kDangerous;
      global.reason = "the name is computed when the pickle is loaded, not written in the file";
    }
    if (std::find(global.offsets.begin(), global.offsets.end(), offset) == global.offsets.end()) {
      global.offsets.push_back(offset);
    }
  };
  for (const GlobalUse& use : graph.globals) {
    if (use.node < graph.nodes.size() && graph.at(use.node).kind == PickleKind::kGlobal) {
      add_global(use.node, use.offset, use.computed);
    }
  }
  // Calls, persistent ids, and any global the use list missed.
  for (NodeId id = 0; id < graph.nodes.size(); ++id) {
    const PickleNode& node = graph.at(id);
    if (node.kind == PickleKind::kGlobal && node_names.count(id) == 0) add_global(id, node.offset, false);
    if (node.kind == PickleKind::kPersistentId) {
      const std::string text = "a persistent id at offset " + Hex(node.offset) +
                               ": the object comes from the loading program's persistent_load "
                               "hook, outside the file, and cannot be checked";
      report.findings.push_back(text);
      events.emplace_back(node.offset, text);
    }
    if (node.kind != PickleKind::kCall) continue;
    const bool named = node.callable < graph.nodes.size() &&
                       graph.at(node.callable).kind == PickleKind::kGlobal;
    if (!named) {
      const std::string text = "calls " + DescribeCallable(graph, node.callable) + " at offset " +
                               Hex(node.offset) + ": what runs is decided when the pickle is loaded";
      report.findings.push_back(text);
      events.emplace_back(node.offset, text);
      continue;
    }
    if (node_names.count(node.callable) == 0) add_global(node.callable, graph.at(node.callable).offset, false);
    ScannedGlobal& global = by_name[node_names[node.callable]];
    global.called = true;
    // A large forest rebuilds thousands of arrays: keep the first call sites.
    constexpr size_t kMaxCallSites = 64;
    if (global.calls.size() >= kMaxCallSites && global.verdict != Verdict::kDangerous) continue;
    const std::string site = global.name + ArgumentText(graph, node) + " at offset " + Hex(node.offset);
    if (global.calls.size() < kMaxCallSites) global.calls.push_back(site);
    if (global.verdict == Verdict::kDangerous) events.emplace_back(node.offset, "calls " + site);
  }
  for (const std::string& reason : graph.unfollowable) {
    const std::string text = "cannot be followed without running it: " + reason;
    report.findings.push_back(text);
    events.emplace_back(UINT64_MAX - 1, text);
  }
  for (auto& [name, global] : by_name) {
    if (global.verdict == Verdict::kDangerous && !global.called) {
      const uint64_t at = global.offsets.empty() ? 0 : global.offsets.front();
      events.emplace_back(at, "imports " + name + " at offset " + Hex(at) + " (" + global.reason + ")");
    }
    report.globals.push_back(std::move(global));
  }
  FinishReport(&report, std::move(events));
  return report;
}

// Not compressed: offsets in reader messages are offsets in these bytes.
static bool LooksLikeOpcodeStream(std::string_view bytes) {
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  return !(starts("\x78") || starts("\x1f\x8b") || starts("BZ") || starts("\xfd" "7zXZ") ||
           starts(std::string_view("\x5d\x00", 2)));
}

bool LooksScannable(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x80 &&
      static_cast<unsigned char>(head[1]) >= 2 && static_cast<unsigned char>(head[1]) <= 5) {
    return true;  // PROTO 2..5
  }
  if (head.size() >= 2 && head[0] == '\x78' &&
      (head[1] == '\x01' || head[1] == '\x5e' || head[1] == '\x9c' || head[1] == '\xda')) {
    return true;  // zlib
  }
  return starts("\x1f\x8b") || starts("BZh") || starts(std::string_view("\xfd" "7zXZ\x00", 6)) ||
         starts(std::string_view("\x5d\x00\x00", 3)) || starts("PK\x03\x04");
}

namespace {

// The reader refuses bytes after STOP ("... bytes after STOP at offset 0x1a2").
// Returns that offset, or 0 when `message` is not that error.
uint64_t TrailingBytesOffset(const Error& e) {
  static constexpr std::string_view kMarker = "bytes after STOP at offset 0x";
  const std::string_view message = e.what();
  const size_t at = message.find(kMarker);
  if (e.code() != ErrorCode::kBadManifest || at == std::string_view::npos) return 0;
  uint64_t offset = 0;
  for (size_t i = at + kMarker.size(); i < message.size() && i < at + kMarker.size() + 16; ++i) {
    const char c = message[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) break;
    offset = offset * 16 + static_cast<uint64_t>(digit);
  }
  return offset;
}

// A pickle followed by more pickles (a loader calling pickle.load in a loop
// runs them all; pickle.load once, and ark, see only the first): each is
// scanned, and the smuggling itself is a dangerous finding. Uncompressed
// streams only; at most kMaxPickles.
ScanReport ScanConcatenated(const PickleSource& bytes, uint64_t end) {
  constexpr int kMaxPickles = 16;
  ScanReport report;
  std::vector<std::pair<uint64_t, std::string>> events;
  uint64_t start = 0;
  for (int count = 0; start < bytes->size(); ++count) {
    if (count == kMaxPickles) throw Error(ErrorCode::kLimitExceeded, "more than 16 pickles one after another");
    auto part = std::make_shared<const std::string>(bytes->substr(start, end - start));
    ScanReport one = ScanGraph(ReadPickle(part));
    if (count == 0) {
      report.format = one.format;
      report.protocol = one.protocol;
    } else {
      const std::string text = "a second pickle is hidden after STOP, at offset " + Hex(start) +
                               ": a program that calls pickle.load in a loop runs it";
      report.findings.push_back(text);
      events.emplace_back(start, text);
    }
    for (ScannedGlobal& global : one.globals) {
      for (uint64_t& offset : global.offsets) offset += start;
      report.globals.push_back(std::move(global));
    }
    for (std::string& finding : one.findings) report.findings.push_back(std::move(finding));
    start = end;
    if (start >= bytes->size()) break;
    // Find where the next pickle ends.
    try {
      ReadPickle(std::make_shared<const std::string>(bytes->substr(start)));
      end = bytes->size();
    } catch (const Error& e) {
      const uint64_t next = TrailingBytesOffset(e);
      if (next == 0) throw;
      end = start + next;
    }
  }
  // Merge globals of the same name.
  std::map<std::string, ScannedGlobal> merged;
  for (ScannedGlobal& global : report.globals) {
    ScannedGlobal& into = merged[global.name];
    if (into.name.empty()) {
      into = std::move(global);
      continue;
    }
    into.offsets.insert(into.offsets.end(), global.offsets.begin(), global.offsets.end());
    into.calls.insert(into.calls.end(), global.calls.begin(), global.calls.end());
    into.called = into.called || global.called;
  }
  report.globals.clear();
  for (auto& [name, global] : merged) {
    if (global.verdict == Verdict::kDangerous) {
      const uint64_t at = global.offsets.empty() ? 0 : global.offsets.front();
      events.emplace_back(at, (global.called && !global.calls.empty() ? "calls " + global.calls.front()
                                                                       : "imports " + name + " at offset " + Hex(at)) +
                                  " (in the hidden pickle)");
    }
    report.globals.push_back(std::move(global));
  }
  FinishReport(&report, std::move(events));
  return report;
}

}  // namespace

ScanReport ScanBytes(PickleSource bytes, const std::string& path) {
  if (bytes == nullptr) return Unreadable(path, "", "no bytes");
  ScanReport report;
  try {
    if (bytes->size() >= 4 && std::string_view(*bytes).substr(0, 4) == "PK\x03\x04") {
      report = ScanSkops(*bytes);
    } else {
      try {
        report = ScanGraph(ReadPickle(bytes));
      } catch (const Error& e) {
        const uint64_t end = TrailingBytesOffset(e);
        if (end == 0 || end >= bytes->size() || !LooksLikeOpcodeStream(*bytes)) throw;
        try {
          report = ScanConcatenated(bytes, end);
        } catch (const Error&) {
          throw e;  // the trailing bytes are not pickles: report the first error
        }
      }
    }
  } catch (const Error& e) {
    report = Unreadable(path, "", e.what());
    FinishReport(&report, {});
  } catch (const std::bad_alloc&) {
    report = Unreadable(path, "", "too large to scan in memory");
    FinishReport(&report, {});
  }
  report.path = path;
  return report;
}

ScanReport ScanFile(const std::string& path) {
  // Mapped, not copied: an uncompressed pickle is parsed in place.
  PickleSource bytes;
  try {
    bytes = ReadPickleSource(path);
  } catch (const std::bad_alloc&) {
    ScanReport report = Unreadable(path, "", "too large to read into memory");
    FinishReport(&report, {});
    return report;
  }
  return ScanBytes(std::move(bytes), path);
}

}  // namespace ark::interop
