// ark::runtime::CheckValidation: re-predicts the validation samples stored in
// an .ark file (docs/METADATA.md §4) with the native runtime and compares
// them with the outputs scikit-learn gave at dump time, under the tolerance
// policy of docs/METADATA.md ("Comparison on load"), as python/ark/_validation.py
// applies it on load:
//   - labels, integers, booleans, strings: exactly equal;
//   - floats: NaN and infinities at the same places, finite values within
//     rtol × (largest |expected| of the column; of the output when 1-d),
//     rtol at least 4 ulp of the stored dtype.
// rtol is kRtolSameEnvironment when the file was written by the scikit-learn
// version the runtime reproduces (kReferenceSklearnVersion) on a machine of
// the same type as this one, else kRtolOtherEnvironment. (Python compares the
// whole recorded environment with its own; the runtime has no numpy or
// Python version, and stands for scikit-learn kReferenceSklearnVersion.)
//
// What is compared: predict, predict_proba, decision_function and transform
// outputs stored as arrays (a list of arrays for a multi-output
// predict_proba). Inputs: numeric or object arrays, lists, and DataFrames of
// numeric, object (str / missing) and category columns. Anything else (a
// score_samples output, a sparse input, a DataFrame output, a method the
// runtime has not compiled) is listed in `unchecked` with the reason and does
// not fail the check; rows the runtime refuses are reported the same way.
//
// Never throws for a malformed section: it becomes a kMismatch report naming
// what is wrong (the section comes from the file and is treated as hostile:
// array positions are range-checked, sizes bounded). Throws only what the
// Reader throws when a blob cannot be read.
//
// Thread safety: pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ark/format/reader.h"
#include "ark/runtime/model.h"

namespace ark::runtime {

inline constexpr double kRtolSameEnvironment = 1e-12;
inline constexpr double kRtolOtherEnvironment = 1e-7;
inline constexpr char kReferenceSklearnVersion[] = "1.2.1";

struct ValidationReport {
  enum class Status {
    kAbsent,      // the file has no validation samples
    kNotChecked,  // nothing could be compared natively (see `reason`)
    kMatch,       // every method in `checked` reproduces
    kMismatch,    // the first difference is described in `reason`
  };
  Status status = Status::kAbsent;
  uint64_t rows = 0;                  // validation rows re-predicted
  std::vector<std::string> checked;   // methods compared ("predict_proba[1]" for list items)
  std::vector<std::string> unchecked; // "score_samples: the runtime has no score_samples", ...
  double rtol = 0;                    // the tolerance applied to float outputs
  uint64_t max_ulp = 0;               // largest float64 ulp distance seen (finite values)
  double max_abs_diff = 0;            // largest absolute difference seen
  std::string reason;                 // kNotChecked: why; kMismatch: the first difference
  // kMismatch: where (row/column -1 when the difference is not one cell's).
  std::string method;
  int64_t row = -1;
  int64_t column = -1;
};

// "absent", "not_checked", "match", "mismatch".
const char* ValidationStatusName(ValidationReport::Status status);

// Compares the validation samples of `reader` with `model`'s outputs.
// REQUIRES: `model` was compiled from `reader`'s tree.
ValidationReport CheckValidation(const format::Reader& reader, const Model& model);

}  // namespace ark::runtime
