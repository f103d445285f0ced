// Compiles the column-wise part of a pipeline: nested Pipelines,
// ColumnTransformer, OneHotEncoder, OrdinalEncoder, SimpleImputer and
// FunctionTransformer(func=None), tracking which dense columns hold string
// codes (string_codes.h). Semantics follow scikit-learn 1.2.1's transform().
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "column_transformer_step.h"
#include "compile.h"
#include "encoder_steps.h"
#include "transform_steps.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The name of dense column `j` in messages.
std::string ColumnName(const std::vector<DenseColumn>& cols, size_t j, const CompileContext& ctx,
                       const Obj& est) {
  if (cols[j].input >= 0) {
    return "column '" + ctx.program->schema[static_cast<size_t>(cols[j].input)].name + "'";
  }
  return "feature " + std::to_string(j) + " of the input of " + est.short_name();
}

// Makes dense column `j` a string column; returns its codes.
std::shared_ptr<StringCodes> NeedStrings(std::vector<DenseColumn>* cols, size_t j,
                                         CompileContext* ctx, const Obj& est) {
  DenseColumn& c = (*cols)[j];
  if (c.codes) return c.codes;
  if (c.input < 0) {
    UnsupportedError(est.type_name(), "string categories on a computed feature");
  }
  const auto in = static_cast<size_t>(c.input);
  if (ctx->numeric_used[in]) {
    UnsupportedError(est.type_name(), "column '" + ctx->program->schema[in].name +
                                          "' is used both as numbers and as strings");
  }
  if (!ctx->codes[in]) ctx->codes[in] = std::make_shared<StringCodes>();
  ctx->program->schema[in].type = ColumnType::kString;
  c.codes = ctx->codes[in];
  return c.codes;
}

void NeedNumbers(const std::vector<DenseColumn>& cols, size_t j, CompileContext* ctx,
                 const Obj& est) {
  if (cols[j].codes) {
    est.Fail(ColumnName(cols, j, *ctx, est) + " holds strings, and " + est.short_name() +
             " expects numbers");
  }
  if (cols[j].input >= 0) ctx->numeric_used[static_cast<size_t>(cols[j].input)] = 1;
}

// A value of an object array: a string, a number, or missing (None / NaN).
struct Item {
  enum { kString, kNumber, kMissing } kind;
  std::string text;
  double number = 0;
};

Item ReadItem(const ObjectTree& tree, const Value& raw, const Obj& est, const std::string& what) {
  const Value& v = tree.Deref(raw);
  if (v.is(Kind::kNull)) return {Item::kMissing, {}, 0};
  if (v.is(Kind::kString)) return {Item::kString, v.as_string(), 0};
  if (v.is(Kind::kObject) && v.type_name() == "numpy.str_" && v.state().is(Kind::kString)) {
    return {Item::kString, v.state().as_string(), 0};
  }
  if (tree.IsNumber(v)) {
    const double d = tree.Number(v, what);
    if (std::isnan(d)) return {Item::kMissing, {}, 0};
    return {Item::kNumber, {}, d};
  }
  est.Fail(what + " holds a value that is neither a string nor a number");
}

// The fitted categories of one feature, as items in order.
std::vector<Item> ReadCategories(const Obj& est, const Value& v, const std::string& what) {
  const NdArray a = est.tree().Array(v, what);
  std::vector<Item> out;
  if (a.is_object()) {
    for (const Value& item : a.items) out.push_back(ReadItem(est.tree(), item, est, what));
    return out;
  }
  const std::string descr = a.dtype.descr.is_string() ? a.dtype.descr.get<std::string>() : "";
  if (descr.size() > 1 && descr[1] == 'U') {
    for (std::string& s : StringArray(a, est, what)) out.push_back({Item::kString, s, 0});
    return out;
  }
  for (double d : a.ToDoubles(what)) {
    out.push_back(std::isnan(d) ? Item{Item::kMissing, {}, 0} : Item{Item::kNumber, {}, d});
  }
  return out;
}

// Builds the lookup of feature `j` from its categories.
CategoryLookup MakeLookup(const std::vector<Item>& cats, std::vector<DenseColumn>* cols, size_t j,
                          CompileContext* ctx, const Obj& est) {
  CategoryLookup f;
  f.size = cats.size();
  f.column = ColumnName(*cols, j, *ctx, est);
  const bool strings =
      std::any_of(cats.begin(), cats.end(), [](const Item& i) { return i.kind == Item::kString; });
  const bool numbers =
      std::any_of(cats.begin(), cats.end(), [](const Item& i) { return i.kind == Item::kNumber; });
  if (strings && numbers)
    UnsupportedError(est.type_name(), "categories mixing strings and numbers");
  if (strings || (*cols)[j].codes) {
    auto codes = NeedStrings(cols, j, ctx, est);
    f.codes = codes;
    for (size_t k = 0; k < cats.size(); ++k) {
      if (cats[k].kind == Item::kMissing) {
        if (f.nan_index < 0) f.nan_index = static_cast<int32_t>(k);
        continue;
      }
      if (cats[k].kind != Item::kString) est.Fail("categories_ mix strings and numbers");
      const auto code = static_cast<size_t>(codes->Intern(cats[k].text));
      if (f.by_code.size() <= code) f.by_code.resize(code + 1, -1);
      if (f.by_code[code] < 0) f.by_code[code] = static_cast<int32_t>(k);
    }
    return f;
  }
  NeedNumbers(*cols, j, ctx, est);
  std::vector<std::pair<double, int32_t>> sorted;
  for (size_t k = 0; k < cats.size(); ++k) {
    if (cats[k].kind == Item::kMissing) {
      if (f.nan_index < 0) f.nan_index = static_cast<int32_t>(k);
    } else {
      sorted.emplace_back(cats[k].number, static_cast<int32_t>(k));
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [value, index] : sorted) {
    if (!f.numbers.empty() && f.numbers.back() == value) continue;  // first match wins
    f.numbers.push_back(value);
    f.number_index.push_back(index);
  }
  return f;
}

const std::vector<Value>& ListOf(const Obj& est, const std::string& key) {
  const Value& v = est.Get(key);
  if (!(v.is(Kind::kList) || v.is(Kind::kTuple))) est.Fail("'" + key + "' is not a list");
  return v.items();
}

std::string StringOr(const Obj& est, const std::string& key, const std::string& fallback) {
  const Value* v = est.Find(key);
  return v && v->is(Kind::kString) ? v->as_string() : fallback;
}

// True for None (an entry of drop_idx_ or _default_to_infrequent_mappings).
bool IsNoneValue(const ObjectTree& tree, const Value& v) { return tree.Deref(v).is(Kind::kNull); }

// drop_idx_: per feature the (grouped) category dropped, -1 for none.
std::vector<int64_t> DropIndices(const Obj& est, size_t n) {
  std::vector<int64_t> out(n, -1);
  if (!est.Has("drop_idx_") || est.IsNone("drop_idx_")) return out;
  const NdArray d = est.Array("drop_idx_");
  if (d.size() != n) est.Fail("drop_idx_ does not have one entry per feature");
  if (!d.is_object()) return d.ToInts("drop_idx_");
  for (size_t j = 0; j < n; ++j) {
    if (!IsNoneValue(est.tree(), d.items[j])) {
      out[j] = static_cast<int64_t>(est.tree().Number(d.items[j], "drop_idx_"));
    }
  }
  return out;
}

std::unique_ptr<Step> OneHotEncoder(const Obj& est, std::vector<DenseColumn>* cols,
                                    CompileContext* ctx) {
  const auto& cats = ListOf(est, "categories_");
  const size_t n = cols->size();
  if (cats.size() != n) est.Fail("categories_ does not have one entry per feature");
  const std::string handle = StringOr(est, "handle_unknown", "error");
  if (handle != "error" && handle != "ignore" && handle != "infrequent_if_exist") {
    UnsupportedError(est.type_name(), "handle_unknown='" + handle + "'");
  }
  const bool infrequent = est.Has("_infrequent_enabled") && est.Bool("_infrequent_enabled");
  const std::vector<int64_t> drop = DropIndices(est, n);
  auto step = std::make_unique<OneHotStep>();
  step->n_in = n;
  size_t offset = 0;
  for (size_t j = 0; j < n; ++j) {
    OneHotStep::Feature f;
    f.lookup = MakeLookup(ReadCategories(est, cats[j], "categories_"), cols, j, ctx, est);
    std::vector<int64_t> group(f.lookup.size);
    for (size_t k = 0; k < group.size(); ++k) group[k] = static_cast<int64_t>(k);
    int64_t groups = static_cast<int64_t>(f.lookup.size);
    int64_t infrequent_group = -1;
    if (infrequent) {
      const auto& maps = ListOf(est, "_default_to_infrequent_mappings");
      if (maps.size() != n) est.Fail("_default_to_infrequent_mappings is malformed");
      if (!IsNoneValue(est.tree(), maps[j])) {
        const std::vector<int64_t> m =
            est.tree().Array(maps[j], "_default_to_infrequent_mappings").ToInts("mapping");
        if (m.size() != group.size() || m.empty()) est.Fail("an infrequent mapping is malformed");
        group = m;
        groups = *std::max_element(m.begin(), m.end()) + 1;
        infrequent_group = groups - 1;
      }
    }
    const int64_t dropped = drop[j];
    if (dropped >= groups) est.Fail("drop_idx_ out of range");
    auto out_col = [&](int64_t g) -> int32_t {
      if (g == dropped) return -1;
      return static_cast<int32_t>(dropped >= 0 && g > dropped ? g - 1 : g);
    };
    for (int64_t g : group) {
      if (g < 0 || g >= groups) est.Fail("an infrequent mapping is out of range");
      f.out_of_category.push_back(out_col(g));
    }
    if (handle == "infrequent_if_exist" && infrequent_group >= 0) {
      f.unknown_out = out_col(infrequent_group);
    } else {
      f.unknown_out = handle == "error" ? -2 : -1;
    }
    if (handle == "error" && (*cols)[j].codes && (*cols)[j].input >= 0) {
      ctx->program->strict[static_cast<size_t>((*cols)[j].input)] = "OneHotEncoder";
    }
    f.offset = offset;
    offset += static_cast<size_t>(groups - (dropped >= 0 ? 1 : 0));
    step->features.push_back(std::move(f));
  }
  step->n_out = offset;
  *cols = std::vector<DenseColumn>(offset);
  return step;
}

std::unique_ptr<Step> OrdinalEncoder(const Obj& est, std::vector<DenseColumn>* cols,
                                     CompileContext* ctx) {
  const auto& cats = ListOf(est, "categories_");
  const size_t n = cols->size();
  if (cats.size() != n) est.Fail("categories_ does not have one entry per feature");
  const std::string handle = StringOr(est, "handle_unknown", "error");
  if (handle != "error" && handle != "use_encoded_value") {
    UnsupportedError(est.type_name(), "handle_unknown='" + handle + "'");
  }
  const double unknown_value = handle == "use_encoded_value" ? est.Number("unknown_value") : 0.0;
  const double encoded_missing =
      est.Has("encoded_missing_value") ? est.Number("encoded_missing_value") : kNaN;
  // dtype: np.float64 is stored as a global ("numpy:float64") or a numpy.dtype node.
  std::string dtype = "float64";
  if (est.Has("dtype")) {
    const Value& d = est.tree().Deref(est.Get("dtype"));
    dtype = d.is(Kind::kObject) && d.state().is(Kind::kString) ? d.state().as_string()
            : d.is(Kind::kString)                              ? d.as_string()
                                                               : "?";
  }
  auto step = std::make_unique<OrdinalStep>();
  step->n_in = n;
  step->n_out = n;
  for (size_t j = 0; j < n; ++j) {
    OrdinalStep::Feature f;
    const std::vector<Item> items = ReadCategories(est, cats[j], "categories_");
    f.lookup = MakeLookup(items, cols, j, ctx, est);
    // _missing_indices: a trailing None / NaN category encodes as
    // encoded_missing_value; the others by their index.
    for (size_t k = 0; k < items.size(); ++k) {
      f.value_of_category.push_back(static_cast<double>(k));
    }
    if (!items.empty() && items.back().kind == Item::kMissing) {
      f.value_of_category.back() = encoded_missing;
    }
    f.unknown_error = handle == "error";
    f.unknown_value = unknown_value;
    if (f.unknown_error && (*cols)[j].codes && (*cols)[j].input >= 0) {
      ctx->program->strict[static_cast<size_t>((*cols)[j].input)] = "OrdinalEncoder";
    }
    step->features.push_back(std::move(f));
  }
  if (dtype != "numpy:float64" && dtype != "float64" && dtype != "<f8") {
    UnsupportedError(est.type_name(), "dtype other than float64");
  }
  *cols = std::vector<DenseColumn>(n);
  return step;
}

std::unique_ptr<Step> SimpleImputer(const Obj& est, std::vector<DenseColumn>* cols,
                                    CompileContext* ctx) {
  const size_t n = cols->size();
  const NdArray stats_array = est.Array("statistics_");
  if (stats_array.size() != n) est.Fail("statistics_ does not have one value per feature");
  std::vector<Item> stats;
  if (stats_array.is_object()) {
    for (const Value& v : stats_array.items) {
      stats.push_back(ReadItem(est.tree(), v, est, "statistics_"));
    }
  } else {
    for (double d : stats_array.ToDoubles("statistics_")) {
      stats.push_back(std::isnan(d) ? Item{Item::kMissing, {}, 0} : Item{Item::kNumber, {}, d});
    }
  }
  const bool strings = std::any_of(stats.begin(), stats.end(),
                                   [](const Item& i) { return i.kind == Item::kString; }) ||
                       std::any_of(cols->begin(), cols->end(),
                                   [](const DenseColumn& c) { return c.codes != nullptr; });
  auto step = std::make_unique<ImputerStep>();
  step->n_in = n;
  const Value& mv = est.tree().Deref(est.Get("missing_values"));
  if (mv.is(Kind::kNull) && strings) {
    step->missing_is_nan = true;
  } else if (est.tree().IsNumber(mv)) {
    const double m = est.tree().Number(mv, "missing_values");
    step->missing_is_nan = std::isnan(m);
    step->missing_value = m;
    if (strings && !step->missing_is_nan) {
      UnsupportedError(est.type_name(), "a numeric missing_values on strings");
    }
  } else {
    UnsupportedError(est.type_name(), "missing_values that is not NaN or a number");
  }
  const std::string strategy = StringOr(est, "strategy", "mean");
  const bool keep_all =
      strategy == "constant" || (est.Has("keep_empty_features") && est.Bool("keep_empty_features"));
  std::vector<DenseColumn> out_cols;
  for (size_t j = 0; j < n; ++j) {
    ImputerStep::Feature f;
    const Item& s = stats[j];
    if (strings) {
      auto codes = NeedStrings(cols, j, ctx, est);
      if (s.kind == Item::kString) {
        f.fill = codes->Intern(s.text);
      } else if (s.kind == Item::kMissing) {
        f.keep = keep_all;
        f.fill = kNaN;
      } else {
        UnsupportedError(est.type_name(), "a number imputed into a string column");
      }
    } else {
      NeedNumbers(*cols, j, ctx, est);
      f.fill = s.kind == Item::kNumber ? s.number : kNaN;
      f.keep = keep_all || s.kind == Item::kNumber;
    }
    if (f.keep) out_cols.push_back((*cols)[j]);
    step->features.push_back(f);
  }
  if (est.Has("indicator_") && !est.IsNone("indicator_")) {
    const Obj indicator = est.Child("indicator_");
    for (int64_t j : indicator.Array("features_").ToInts("features_")) {
      if (j < 0 || static_cast<size_t>(j) >= n) indicator.Fail("features_ out of range");
      step->indicator.push_back(static_cast<size_t>(j));
      out_cols.push_back({});
    }
  }
  step->n_out = out_cols.size();
  step->check = strings                ? InputCheck::kNone
                : step->missing_is_nan ? InputCheck::kAllowNan
                                       : InputCheck::kFinite;
  *cols = std::move(out_cols);
  return step;
}

// Column indices of a ColumnTransformer entry: from the fitted
// _transformer_to_input_indices when present, else the column specifier.
std::vector<size_t> BranchColumns(const Obj& ct, const std::string& name, const Value& spec,
                                  size_t width, const std::vector<std::string>& names) {
  std::vector<size_t> out;
  if (ct.Has("_transformer_to_input_indices")) {
    const Value* found = ct.Get("_transformer_to_input_indices").Find(name);
    if (found) {
      const Value* node = &ct.tree().Deref(*found);
      // A list shared with transformers_ is written once, as a builtins.list node.
      if (node->is(Kind::kObject) && node->type_name() == "builtins.list") node = &node->state();
      const Value& v = *node;
      if (v.is(Kind::kObject) && v.type_name() == "builtins.range" && v.state().is(Kind::kList) &&
          v.state().items().size() == 3) {
        const auto& r = v.state().items();
        const auto start = static_cast<int64_t>(ct.tree().Number(r[0], "range"));
        const auto stop = static_cast<int64_t>(ct.tree().Number(r[1], "range"));
        const auto by = static_cast<int64_t>(ct.tree().Number(r[2], "range"));
        if (by <= 0 || start < 0 || stop > static_cast<int64_t>(width)) {
          ct.Fail("a column range is out of bounds");
        }
        for (int64_t i = start; i < stop; i += by) out.push_back(static_cast<size_t>(i));
      } else if (v.is(Kind::kList) || v.is(Kind::kTuple)) {
        for (const Value& i : v.items()) {
          out.push_back(static_cast<size_t>(ct.tree().Number(i, "column index")));
        }
      } else {
        for (int64_t i : ct.tree().Array(v, "column indices").ToInts("column indices")) {
          out.push_back(static_cast<size_t>(i));
        }
      }
      for (size_t i : out) {
        if (i >= width) ct.Fail("a column index is out of range");
      }
      return out;
    }
  }
  auto by_name = [&](const std::string& s) {
    const auto it = std::find(names.begin(), names.end(), s);
    if (it == names.end()) ct.Fail("no column named '" + s + "'");
    return static_cast<size_t>(it - names.begin());
  };
  auto by_index = [&](double d) {
    auto i = static_cast<int64_t>(d);
    if (i < 0) i += static_cast<int64_t>(width);
    if (i < 0 || static_cast<size_t>(i) >= width) ct.Fail("a column index is out of range");
    return static_cast<size_t>(i);
  };
  const Value* node = &ct.tree().Deref(spec);
  if (node->is(Kind::kObject) && node->type_name() == "builtins.list") node = &node->state();
  const Value& v = *node;
  if (v.is(Kind::kString)) return {by_name(v.as_string())};
  if (ct.tree().IsNumber(v)) return {by_index(ct.tree().Number(v, "column"))};
  if (v.is(Kind::kList) || v.is(Kind::kTuple)) {
    for (const Value& raw : v.items()) {
      const Value& item = ct.tree().Deref(raw);
      if (item.is(Kind::kString)) {
        out.push_back(by_name(item.as_string()));
      } else {
        out.push_back(by_index(ct.tree().Number(item, "column")));
      }
    }
    return out;
  }
  UnsupportedError(ct.type_name(),
                   "a column specifier it cannot read (refit to record "
                   "_transformer_to_input_indices)");
}

std::unique_ptr<Step> ColumnTransformer(const Obj& est, std::vector<DenseColumn>* cols,
                                        CompileContext* ctx) {
  const size_t width = cols->size();
  std::vector<std::string> names;
  if (est.Has("feature_names_in_")) {
    names = StringArray(est.Array("feature_names_in_"), est, "feature_names_in_");
  }
  const Value* weights = est.Find("transformer_weights");
  auto step = std::make_unique<ColumnTransformerStep>();
  step->n_in = width;
  std::vector<DenseColumn> out_cols;
  for (const Value& raw : ListOf(est, "transformers_")) {
    const Value& entry = est.tree().Deref(raw);
    if (!(entry.is(Kind::kTuple) || entry.is(Kind::kList)) || entry.items().size() != 3) {
      est.Fail("an entry of transformers_ is not (name, transformer, columns)");
    }
    const Value& name_value = est.tree().Deref(entry.items()[0]);
    const std::string name = name_value.is(Kind::kString) ? name_value.as_string() : "";
    const Value& trans = est.tree().Deref(entry.items()[1]);
    if (trans.is(Kind::kString) && trans.as_string() == "drop") continue;
    ColumnTransformerStep::Branch branch;
    branch.columns = BranchColumns(est, name, entry.items()[2], width, names);
    if (branch.columns.empty()) continue;
    std::vector<DenseColumn> sub;
    for (size_t i : branch.columns) sub.push_back((*cols)[i]);
    if (trans.is(Kind::kString) && trans.as_string() == "passthrough") {
      branch.width = sub.size();
      for (const DenseColumn& c : sub) {
        if (c.input >= 0 && !c.codes) ctx->numeric_used[static_cast<size_t>(c.input)] = 1;
      }
    } else if (trans.is(Kind::kObject)) {
      const Obj t(est.tree(), trans, name);
      std::unique_ptr<Step> inner = CompileStep(t, &sub, ctx);
      if (!inner) UnsupportedError(t.type_name());
      if (inner->n_in != branch.columns.size()) {
        t.Fail("expects " + std::to_string(inner->n_in) + " features, its columns are " +
               std::to_string(branch.columns.size()));
      }
      if (inner->name.empty()) inner->name = t.short_name();
      branch.width = inner->n_out;
      branch.step = std::move(inner);
    } else {
      est.Fail("transformer '" + name + "' is neither an estimator nor drop/passthrough");
    }
    if (weights && weights->Find(name)) {
      branch.weighted = true;
      branch.weight = est.tree().Number(*weights->Find(name), "transformer_weights");
    }
    if (!branch.step || branch.weighted) {
      for (DenseColumn& c : sub) {
        if (c.codes) {
          UnsupportedError(est.type_name(), "strings passed through to the output");
        }
      }
    }
    if (branch.weighted) sub.assign(sub.size(), DenseColumn{});
    out_cols.insert(out_cols.end(), sub.begin(), sub.end());
    step->branches.push_back(std::move(branch));
  }
  step->n_out = out_cols.size();
  *cols = std::move(out_cols);
  return step;
}

std::unique_ptr<Step> NestedPipeline(const Obj& est, std::vector<DenseColumn>* cols,
                                     CompileContext* ctx) {
  auto chain = std::make_unique<ChainStep>();
  chain->n_in = cols->size();
  std::string names;
  for (const Value& raw : ListOf(est, "steps")) {
    const Value& pair = est.tree().Deref(raw);
    if (!(pair.is(Kind::kTuple) || pair.is(Kind::kList)) || pair.items().size() != 2) {
      est.Fail("a step is not a (name, estimator) pair");
    }
    const Value& s = est.tree().Deref(pair.items()[1]);
    if (s.is(Kind::kNull) || (s.is(Kind::kString) && s.as_string() == "passthrough")) continue;
    const Obj sub(est.tree(), s);
    const size_t width = cols->size();
    std::unique_ptr<Step> step = CompileStep(sub, cols, ctx);
    if (!step) UnsupportedError(sub.type_name());
    if (step->n_in != width) {
      sub.Fail("expects " + std::to_string(step->n_in) + " features, the step before gives " +
               std::to_string(width));
    }
    if (step->name.empty()) step->name = sub.short_name();
    names += (names.empty() ? "" : ", ") + step->name;
    chain->steps.push_back(std::move(step));
  }
  if (chain->steps.empty()) {
    auto identity = std::make_unique<SelectStep>();
    identity->n_in = identity->n_out = cols->size();
    for (size_t j = 0; j < cols->size(); ++j) identity->columns.push_back(j);
    identity->name = "Pipeline()";
    return identity;
  }
  chain->n_out = cols->size();
  chain->name = "Pipeline(" + names + ")";
  return chain;
}

std::unique_ptr<Step> FeatureUnion(const Obj& est, std::vector<DenseColumn>* cols,
                                   CompileContext* ctx) {
  const size_t width = cols->size();
  const Value* weights = est.Find("transformer_weights");
  auto step = std::make_unique<ColumnTransformerStep>();
  step->n_in = width;
  std::vector<DenseColumn> out_cols;
  for (const Value& raw : ListOf(est, "transformer_list")) {
    const Value& entry = est.tree().Deref(raw);
    if (!(entry.is(Kind::kTuple) || entry.is(Kind::kList)) || entry.items().size() != 2) {
      est.Fail("an entry of transformer_list is not (name, transformer)");
    }
    const Value& name_value = est.tree().Deref(entry.items()[0]);
    const std::string name = name_value.is(Kind::kString) ? name_value.as_string() : "";
    const Value& trans = est.tree().Deref(entry.items()[1]);
    if (trans.is(Kind::kString) && trans.as_string() == "drop") continue;
    ColumnTransformerStep::Branch branch;
    for (size_t j = 0; j < width; ++j) branch.columns.push_back(j);
    std::vector<DenseColumn> sub = *cols;
    if (trans.is(Kind::kString) && trans.as_string() == "passthrough") {
      for (size_t j = 0; j < width; ++j) NeedNumbers(sub, j, ctx, est);
      branch.width = width;
    } else if (trans.is(Kind::kObject)) {
      const Obj t(est.tree(), trans, name);
      std::unique_ptr<Step> inner = CompileStep(t, &sub, ctx);
      if (!inner) UnsupportedError(t.type_name());
      if (inner->n_in != width) t.Fail("expects " + std::to_string(inner->n_in) + " features");
      if (inner->name.empty()) inner->name = t.short_name();
      branch.width = inner->n_out;
      branch.step = std::move(inner);
    } else {
      est.Fail("transformer '" + name + "' is neither an estimator nor drop/passthrough");
    }
    if (weights && weights->Find(name)) {
      const Value& w = est.tree().Deref(*weights->Find(name));
      if (!w.is(Kind::kNull)) {
        branch.weighted = true;
        branch.weight = est.tree().Number(w, "transformer_weights");
      }
    }
    for (const DenseColumn& c : sub) {
      if (c.codes) UnsupportedError(est.type_name(), "strings in its output");
    }
    if (branch.weighted) sub.assign(sub.size(), DenseColumn{});
    out_cols.insert(out_cols.end(), sub.begin(), sub.end());
    step->branches.push_back(std::move(branch));
  }
  step->n_out = out_cols.size();
  step->name = "FeatureUnion";
  *cols = std::move(out_cols);
  return step;
}

std::unique_ptr<Step> KBinsDiscretizer(const Obj& est, std::vector<DenseColumn>* cols,
                                       CompileContext* ctx) {
  const size_t n = cols->size();
  for (size_t j = 0; j < n; ++j) NeedNumbers(*cols, j, ctx, est);
  auto bins = std::make_unique<BinsStep>();
  bins->n_in = bins->n_out = n;
  bins->check = InputCheck::kFinite;
  bins->name = "KBinsDiscretizer";
  const NdArray edges = est.Array("bin_edges_");
  if (!edges.is_object() || edges.items.size() != n)
    est.Fail("bin_edges_ is not one array per feature");
  for (const Value& item : edges.items) {
    std::vector<double> e = est.tree().Array(item, "bin_edges_").ToDoubles("bin_edges_");
    if (e.size() < 2) est.Fail("bin_edges_ has fewer than two edges");
    if (!std::is_sorted(e.begin(), e.end())) est.Fail("bin_edges_ is not sorted");
    bins->inner_edges.emplace_back(e.begin() + 1, e.end() - 1);
  }
  *cols = std::vector<DenseColumn>(n);
  const std::string encode = StringOr(est, "encode", "onehot");
  if (encode == "ordinal") return bins;
  if (encode != "onehot" && encode != "onehot-dense") {
    UnsupportedError(est.type_name(), "encode='" + encode + "'");
  }
  auto chain = std::make_unique<ChainStep>();
  chain->n_in = n;
  chain->steps.push_back(std::move(bins));
  std::unique_ptr<Step> onehot = OneHotEncoder(est.Child("_encoder"), cols, ctx);
  onehot->name = "KBinsDiscretizer";
  chain->n_out = onehot->n_out;
  chain->steps.push_back(std::move(onehot));
  chain->name = "KBinsDiscretizer";
  return chain;
}

}  // namespace

std::unique_ptr<Step> CompileStep(const Obj& est, std::vector<DenseColumn>* cols,
                                  CompileContext* ctx) {
  const std::string& t = est.type_name();
  const size_t n = cols->size();
  std::unique_ptr<Step> step;
  if (t == "sklearn.pipeline.Pipeline") return NestedPipeline(est, cols, ctx);
  if (t == "sklearn.compose._column_transformer.ColumnTransformer") {
    if (FeaturesIn(est, n) != n) est.Fail("n_features_in_ disagrees with its input");
    step = ColumnTransformer(est, cols, ctx);
  } else if (t == "sklearn.preprocessing._encoders.OneHotEncoder") {
    if (FeaturesIn(est, n) != n) est.Fail("n_features_in_ disagrees with its input");
    step = OneHotEncoder(est, cols, ctx);
  } else if (t == "sklearn.preprocessing._encoders.OrdinalEncoder") {
    if (FeaturesIn(est, n) != n) est.Fail("n_features_in_ disagrees with its input");
    step = OrdinalEncoder(est, cols, ctx);
  } else if (t == "sklearn.pipeline.FeatureUnion") {
    step = FeatureUnion(est, cols, ctx);
  } else if (t == "sklearn.preprocessing._discretization.KBinsDiscretizer") {
    if (FeaturesIn(est, n) != n) est.Fail("n_features_in_ disagrees with its input");
    step = KBinsDiscretizer(est, cols, ctx);
  } else if (t == "sklearn.impute._base.SimpleImputer") {
    if (FeaturesIn(est, n) != n) est.Fail("n_features_in_ disagrees with its input");
    step = SimpleImputer(est, cols, ctx);
  }
  if (step) return step;
  step = CompilePreprocessingStep(est, n);
  if (!step) step = CompileTransformerStep(est, n);
  if (!step) return nullptr;
  for (size_t j = 0; j < n; ++j) NeedNumbers(*cols, j, ctx, est);
  *cols = std::vector<DenseColumn>(step->n_out);
  return step;
}

}  // namespace ark::runtime
