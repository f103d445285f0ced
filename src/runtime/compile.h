// The compile step: an ark object tree (docs/OBJECTS.md) to a Program.
//
// This is the only part of the runtime that knows how scikit-learn objects
// are encoded; the kernels below it see plain arrays. Each estimator family
// has its own compile_*.cc; compile.cc dispatches on the class name and
// composes pipelines.
//
// An object the runtime does not support is refused with an ark::Error
// naming its class and pointing at ark.load() in Python (see
// UnsupportedError); an object whose fields are missing or malformed is
// refused with kBadManifest.
#pragma once

#include <memory>
#include <string>

#include "ark/format/error.h"
#include "ark/model/value.h"
#include "object_tree.h"
#include "program.h"

namespace ark::runtime {

// The code of "the runtime cannot run this model" errors. The error enum has
// no kUnsupported yet; this is the one place to change when it does.
inline constexpr ErrorCode kUnsupportedCode = ErrorCode::kUnsupported;

[[noreturn]] void UnsupportedError(const std::string& type_name, const std::string& detail = {});

// Compiles the model at `root`. REQUIRES: root and arrays outlive the call
// only (the Program copies what it keeps).
std::unique_ptr<Program> CompileProgram(const model::Value& root, const ArraySource& arrays);

// --- shared by the compile_*.cc files ---------------------------------------

// A Head for a supported final estimator, or null when `est` is not one
// (it may still be a transformer). `n_in`: width of its input.
std::unique_ptr<Head> CompileTreeHead(const Obj& est, size_t n_in);
std::unique_ptr<Head> CompileLinearHead(const Obj& est, size_t n_in);
// A Step for a supported transformer, or null.
std::unique_ptr<Step> CompilePreprocessingStep(const Obj& est, size_t n_in);

// The classes_ of a classifier as labels (numeric or object arrays).
std::shared_ptr<const Classes> ReadClasses(const Obj& est, const std::string& key = "classes_");

// The number of input features an estimator was fitted with
// (n_features_in_), or `fallback` when it does not say.
size_t FeaturesIn(const Obj& est, size_t fallback);

}  // namespace ark::runtime
