#include "compile.h"

#include <cstring>
#include <utility>

#include "ark/runtime/model.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

void UnsupportedError(const std::string& type_name, const std::string& detail) {
  static_assert(kUnsupportedCode == ErrorCode::kUnsupported);
  throw UnsupportedModelError(type_name, detail,
                              "the native runtime does not support " + type_name +
                                  (detail.empty() ? "" : " (" + detail + ")") +
                                  "; load the model in Python with ark.load() to use it");
}

namespace {

// UTF-8 of one UCS-4 code point.
void AppendUtf8(uint32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

Label LabelOf(const ObjectTree& tree, const Value& item, const Obj& est) {
  const Value& v = tree.Deref(item);
  switch (v.kind()) {
    case Kind::kString:
      return Label::String(v.as_string());
    case Kind::kInt:
      return Label::Int(v.as_int());
    case Kind::kFloat:
      return Label::Float(v.as_float());
    case Kind::kBool:
      return Label::Bool(v.as_bool());
    case Kind::kObject: {
      const std::string& t = v.type_name();
      const Value& s = v.state();
      if (t == "numpy.str_" && s.is(Kind::kString)) return Label::String(s.as_string());
      if (t == "numpy.bool_" && s.is(Kind::kBool)) return Label::Bool(s.as_bool());
      if (t.rfind("numpy.float", 0) == 0 && s.is(Kind::kFloat)) return Label::Float(s.as_float());
      if ((t.rfind("numpy.int", 0) == 0 || t.rfind("numpy.uint", 0) == 0) && s.is(Kind::kInt)) {
        return Label::Int(s.as_int());
      }
      break;
    }
    default:
      break;
  }
  est.Fail(std::string("a class label of an unsupported kind (") + model::KindName(v.kind()) + ")");
}

void Flatten(const Obj& est, std::vector<Obj>* out) {
  if (est.type_name() != "sklearn.pipeline.Pipeline") {
    out->push_back(est);
    return;
  }
  const Value& steps = est.Get("steps");
  if (!steps.is(Kind::kList)) est.Fail("'steps' is not a list");
  for (const Value& item : steps.items()) {
    const Value& pair = est.tree().Deref(item);
    if (!(pair.is(Kind::kTuple) || pair.is(Kind::kList)) || pair.items().size() != 2) {
      est.Fail("a step is not a (name, estimator) pair");
    }
    const Value& step = est.tree().Deref(pair.items()[1]);
    if (step.is(Kind::kNull) || (step.is(Kind::kString) && step.as_string() == "passthrough")) {
      continue;
    }
    std::string name = pair.items()[0].is(Kind::kString) ? pair.items()[0].as_string() : "step";
    Flatten(Obj(est.tree(), step, name), out);
  }
}

}  // namespace

std::vector<std::string> StringArray(const NdArray& a, const Obj& est, const std::string& what) {
  std::vector<std::string> out;
  if (a.is_object()) {
    for (const Value& item : a.items) {
      if (item.is(Kind::kString)) {
        out.push_back(item.as_string());
      } else if (item.is(Kind::kObject) && item.type_name() == "numpy.str_" &&
                 item.state().is(Kind::kString)) {
        out.push_back(item.state().as_string());
      } else {
        est.Fail(what + " holds a value that is not a string");
      }
    }
    return out;
  }
  if (IsUnicodeArray(a)) return UnicodeStrings(a);
  est.Fail(what + " is not an array of strings");
}

bool IsUnicodeArray(const NdArray& a) {
  const std::string descr = a.dtype.descr.is_string() ? a.dtype.descr.get<std::string>() : "";
  return !a.is_object() && descr.size() > 2 && descr[0] == '<' && descr[1] == 'U';
}

std::vector<std::string> UnicodeStrings(const NdArray& a) {
  std::vector<std::string> out;
  const size_t chars = a.dtype.itemsize / 4;
  if (a.data.bytes.size() < a.size() * chars * 4) return out;
  out.reserve(a.size());
  for (uint64_t i = 0; i < a.size(); ++i) {
    std::string s;
    for (size_t k = 0; k < chars; ++k) {
      uint32_t c;
      std::memcpy(&c, a.data.bytes.data() + (i * chars + k) * 4, 4);
      if (c == 0) break;
      AppendUtf8(c, &s);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<const Classes> ReadClasses(const Obj& est, const std::string& key) {
  return ReadClassesOf(est, est.Get(key), key);
}

std::shared_ptr<const Classes> ReadClassesOf(const Obj& est, const Value& value,
                                             const std::string& key) {
  const NdArray a = est.tree().Array(value, key);
  auto classes = std::make_shared<Classes>();
  if (a.is_object()) {
    for (const Value& item : a.items) classes->push_back(LabelOf(est.tree(), item, est));
  } else {
    const std::string descr = a.dtype.descr.is_string() ? a.dtype.descr.get<std::string>() : "";
    const char kind = descr.size() > 1 ? descr[1] : '?';
    if (kind == 'i' || kind == 'u') {
      for (int64_t v : a.ToInts(key)) classes->push_back(Label::Int(v));
    } else if (kind == 'f') {
      for (double v : a.ToDoubles(key)) classes->push_back(Label::Float(v));
    } else if (kind == 'b') {
      for (double v : a.ToDoubles(key)) classes->push_back(Label::Bool(v != 0));
    } else if (kind == 'U') {
      for (std::string& s : StringArray(a, est, key)) classes->push_back(Label::String(s));
    } else {
      UnsupportedError(est.type_name(), "class labels of dtype " + a.dtype.descr.dump());
    }
  }
  if (classes->empty()) est.Fail("'" + key + "' is empty");
  return classes;
}

size_t FeaturesIn(const Obj& est, size_t fallback) {
  if (!est.Has("n_features_in_")) return fallback;
  const int64_t n = est.Int("n_features_in_");
  if (n <= 0 || n > (int64_t{1} << 28)) est.Fail("n_features_in_ out of range");
  return static_cast<size_t>(n);
}

std::unique_ptr<Program> CompileProgram(const Value& root, const ArraySource& arrays) {
  ObjectTree tree(root, arrays);
  const Value& top_value = tree.Deref(root);
  if (!top_value.is(Kind::kObject)) {
    UnsupportedError(std::string("a model that is a ") + model::KindName(top_value.kind()),
                     "the root is not an estimator");
  }
  Obj top(tree, top_value);
  auto program = std::make_unique<Program>();
  std::vector<Obj> chain;
  Flatten(top, &chain);
  if (chain.empty()) UnsupportedError(top.type_name(), "a pipeline with no steps");
  // A final RFE/RFECV predicts with its estimator_ on the features it keeps:
  // it compiles as a selection step followed by that estimator.
  const std::string& last = chain.back().type_name();
  if (last == "sklearn.feature_selection._rfe.RFE" ||
      last == "sklearn.feature_selection._rfe.RFECV") {
    chain.push_back(chain.back().Child("estimator_"));
    program->transform_skips_head = true;
  }

  // A FeatureUnion records its input through its first transformer, a
  // SelectFromModel through its estimator.
  Obj first = chain.front();
  while (!first.Has("n_features_in_")) {
    if (first.type_name() == "sklearn.feature_selection._from_model.SelectFromModel") {
      const char* key = first.Has("estimator_") ? "estimator_" : "estimator";
      if (!first.Has(key) || !tree.Deref(first.Get(key)).is(Kind::kObject)) break;
      first = first.Child(key);
      continue;
    }
    if (first.type_name() != "sklearn.pipeline.FeatureUnion") break;
    const Value& list = first.Get("transformer_list");
    if (!list.is(Kind::kList) || list.items().empty()) break;
    const Value& pair = tree.Deref(list.items()[0]);
    if (!(pair.is(Kind::kTuple) || pair.is(Kind::kList)) || pair.items().size() != 2) break;
    const Value& t = tree.Deref(pair.items()[1]);
    if (!t.is(Kind::kObject)) break;
    first = Obj(tree, t);
  }
  size_t width = FeaturesIn(first, 0);
  if (first.Has("feature_names_in_")) {
    for (std::string& name :
         StringArray(first.Array("feature_names_in_"), first, "feature_names_in_")) {
      program->schema.push_back({std::move(name), ColumnType::kFloat64});
    }
    if (width == 0) width = program->schema.size();
    if (program->schema.size() != width)
      first.Fail("feature_names_in_ and n_features_in_ disagree");
  } else {
    if (width == 0) UnsupportedError(first.type_name(), "it does not record n_features_in_");
    program->positional = true;
    for (size_t j = 0; j < width; ++j) {
      std::string name = "x";
      name += std::to_string(j);
      program->schema.push_back({std::move(name), ColumnType::kFloat64});
    }
  }

  CompileContext ctx;
  ctx.program = program.get();
  ctx.codes.resize(program->schema.size());
  ctx.numeric_used.assign(program->schema.size(), 0);
  program->strict.resize(program->schema.size());
  std::vector<DenseColumn> columns(width);
  for (size_t j = 0; j < width; ++j) columns[j].input = static_cast<int>(j);

  std::string names;
  for (size_t i = 0; i < chain.size(); ++i) {
    const Obj& est = chain[i];
    if (i > 0) names += ", ";
    names += est.short_name();
    std::unique_ptr<Head> head;
    if (i + 1 == chain.size()) {
      head = CompileTreeHead(est, width);
      if (!head) head = CompileLinearHead(est, width);
      if (!head) head = CompileAnomalyHead(est, width);
    }
    if (head) {
      if (head->n_in != width) {
        est.Fail("expects " + std::to_string(head->n_in) + " features, the step before gives " +
                 std::to_string(width));
      }
      for (const DenseColumn& c : columns) {
        if (c.codes) {
          UnsupportedError(est.type_name(), "string features reach it unencoded");
        }
      }
      if (head->name.empty()) head->name = est.short_name();
      program->head = std::move(head);
      break;
    }
    std::unique_ptr<Step> step = CompileStep(est, &columns, &ctx);
    if (!step) UnsupportedError(est.type_name());
    if (step->n_in != width) {
      est.Fail("expects " + std::to_string(step->n_in) + " features, the step before gives " +
               std::to_string(width));
    }
    if (step->name.empty()) step->name = est.short_name();
    width = step->n_out;
    program->steps.push_back(std::move(step));
  }
  if (!program->head) {
    for (const DenseColumn& c : columns) {
      if (c.codes) UnsupportedError(top.type_name(), "a transform whose output holds strings");
    }
  }
  for (const DenseColumn& c : columns) {
    if (c.input >= 0 && !c.codes) ctx.numeric_used[static_cast<size_t>(c.input)] = 1;
  }
  // A column no step reads (dropped by a ColumnTransformer) takes any text.
  for (size_t j = 0; j < program->schema.size(); ++j) {
    if (!ctx.numeric_used[j] && !ctx.codes[j]) program->schema[j].type = ColumnType::kString;
  }
  program->codes.assign(ctx.codes.begin(), ctx.codes.end());
  program->description =
      top.type_name() == "sklearn.pipeline.Pipeline" ? "Pipeline(" + names + ")" : names;
  return program;
}

}  // namespace ark::runtime
