// Internals shared by the scanner's two halves (scan.cc: pickles,
// scan_skops.cc: skops zips). Private to ark_interop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ark/interop/scan.h"

namespace ark::interop {

// Scans a .skops file held in `bytes` from its schema.json (see scan.h).
// Throws ark::Error for a zip that cannot be read or holds no schema.json.
ScanReport ScanSkops(std::string_view bytes);

// Sorts the globals, sets the verdict (worst of globals, findings, error)
// and the headline; `dangerous_events` (offset, text) name the first
// dangerous thing for the headline.
void FinishReport(ScanReport* report, std::vector<std::pair<uint64_t, std::string>> dangerous_events);

}  // namespace ark::interop
