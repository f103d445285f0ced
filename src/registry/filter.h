// The search filter language of the registry (docs/REGISTRY.md §Search),
// parsed into a small tree that a MetadataStore turns into SQL with bound
// parameters: user text never becomes SQL text.
//
//   filter   := or
//   or       := and ( ("or" | "OR") and )*
//   and      := unary ( ("and" | "AND") unary )*
//   unary    := "(" or ")" | compare
//   compare  := field op literal | field ["NOT"] "IN" "(" literal ("," literal)* ")"
//   op       := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | ["NOT"] ("LIKE" | "ILIKE")
//   field    := name | version | label | stage | status | description | digest |
//               model_digest | created | created_by | source_ref | data_fingerprint |
//               parent_version | size | alias | tags.<key> | metrics.<key> |
//               metadata.<dotted.path>         (a key part may be `back-quoted`)
//   literal  := 'single-quoted string' ('' for a quote) | number
//
// Keywords are case-insensitive. Types are checked here: metrics and the
// numeric columns take numbers (created also takes an ISO-8601 date, turned
// into milliseconds), the others strings; metadata.* takes either.
// Errors: ark::Error(kInvalidArgument) giving the position and what was
// expected. Limits: 4096 bytes of filter, 32 levels of nesting, 1000 values
// in an IN list, 8 order terms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ark::registry::internal {

struct FilterField {
  enum Kind { kColumn, kTag, kMetric, kMetadata, kAlias };
  Kind kind = kColumn;
  std::string name;  // column name, tag or metric key, or metadata path parts joined by '\0'
  std::vector<std::string> path;  // metadata only: the key parts
  bool numeric = false;           // kColumn: an integer column
};

struct FilterValue {
  bool is_number = false;
  double number = 0;
  std::string text;
};

struct FilterExpr {
  enum Kind { kAnd, kOr, kCompare };
  Kind kind = kCompare;
  std::vector<FilterExpr> children;  // kAnd, kOr
  FilterField field;                 // kCompare
  std::string op;                    // = != < <= > >= LIKE NOT LIKE IN NOT IN
  std::vector<FilterValue> values;   // one, or the IN list
};

struct OrderTerm {
  FilterField field;
  bool descending = false;
};

// Parses a filter; an empty (or all blank) filter gives std::nullopt-like
// `*empty = true`.
FilterExpr ParseFilter(std::string_view text, bool* empty);
// Parses "metrics.f1 DESC, version"; empty text gives no terms.
std::vector<OrderTerm> ParseOrderBy(std::string_view text);

}  // namespace ark::registry::internal
