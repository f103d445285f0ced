// Classifying a global name ("module.qualname") by name alone: safe,
// unknown or dangerous, with a reason a user can act on. Private to
// ark_interop; the scanner (scan.cc) is its user.
//
// The lists are python/ark/trust_lists.json, embedded at build time: the same
// reviewed file python/ark/_trust.py reads, so `ark scan` and `ark.load` agree
// on what is trusted. The rules, in order (first match wins):
//   1. a name that is not a dotted Python identifier        -> dangerous
//   2. dangerous_names (explicit, each with its reason)      -> dangerous
//   3. pickle_plumbing, and sklearn's Cython __pyx_unpickle_* -> safe
//   4. a dotted name passing through a forbidden module or a
//      dangerous attribute (sklearn.base.os.system)          -> dangerous
//   5. _trust.is_forbidden: FORBIDDEN_MODULES, FORBIDDEN_NAMES,
//      FORBIDDEN_PREFIXES, any dunder but __init__            -> dangerous
//   6. _trust.trusted_by_default(name, is_global=True), plus
//      numpy ufuncs where pickle puts them
//      (numpy.core._multiarray_umath.sin)                     -> safe
//   7. anything else                                          -> unknown
// Python 2 names (__builtin__.eval, copy_reg._reconstructor) are mapped to
// their Python 3 names first, as pickle's fix_imports does.
//
// Thread safety: the lists are parsed once, on first use, thread-safely;
// every function is then reentrant.
#pragma once

#include <string>
#include <string_view>

#include "ark/interop/scan.h"

namespace ark::interop {

struct NameVerdict {
  Verdict verdict = Verdict::kUnknown;
  std::string reason;  // e.g. "runs a shell command", "on the trust list (scikit-learn)"
};

// Classifies the global `module`.`name` as a pickle GLOBAL / STACK_GLOBAL
// would import it (`name` may be dotted: "Outer.Inner").
NameVerdict ClassifyGlobal(std::string_view module, std::string_view name);

// Whether `loader` is one of skops' node loaders (skops_loaders).
bool IsKnownSkopsLoader(std::string_view loader);

// The embedded python/ark/trust_lists.json, verbatim.
std::string_view TrustListsJson();

}  // namespace ark::interop
