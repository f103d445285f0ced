// Tests of ark::model::Value and its JSON encoding (docs/FORMAT.md §5): every
// kind round-trips bit for bit through the manifest text, the encoding is the
// canonical one the spec prints, and every malformed tree is refused with a
// kBadManifest error that names where it is.
#include "ark/model/value.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "ark/format/error.h"
#include "ark/format/limits.h"

namespace ark::model {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

// Decodes `text` by every path a reader has: FromJson over nlohmann's parse,
// FromJsonText, and the audit CollectTypeNames (which builds nothing). All
// must accept the same trees, give the same values, and refuse with the same
// message; the result (or the error) of FromJsonText is passed on.
Value Decode(const std::string& text, uint64_t blob_count) {
  struct Outcome {
    bool failed = false;
    std::string message;
  };
  auto run = [&](auto&& decode) {
    Outcome outcome;
    try {
      decode();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadManifest) << e.what();
      outcome = {true, e.what()};
    }
    return outcome;
  };
  Value from_json, from_text;
  const Outcome json = run([&] { from_json = FromJson(Json::parse(text), blob_count); });
  const Outcome direct = run([&] { from_text = FromJsonText(text, blob_count); });
  const Outcome audit = run([&] { CollectTypeNames(text, blob_count); });
  EXPECT_EQ(json.failed, direct.failed) << text;
  EXPECT_EQ(json.message, direct.message) << text;
  EXPECT_EQ(audit.failed, direct.failed) << text;
  EXPECT_EQ(audit.message, direct.message) << text;
  if (direct.failed) throw Error(ErrorCode::kBadManifest, direct.message);
  EXPECT_EQ(from_json, from_text) << text;
  return from_text;
}

// What the writer does: encode, print compactly, and what the reader does:
// parse the text, decode.
Value ThroughText(const Value& v, uint64_t blob_count = 100) {
  return Decode(ToJson(v).dump(), blob_count);
}

std::string Dump(const Value& v) { return ToJson(v).dump(); }

double FromBits(uint64_t bits) { return std::bit_cast<double>(bits); }
uint64_t Bits(double d) { return std::bit_cast<uint64_t>(d); }

// Parses `text`, expects FromJson to refuse it, and returns the message.
std::string RefusalOf(const std::string& text, uint64_t blob_count = 4) {
  try {
    Decode(text, blob_count);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadManifest) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

TEST(ValueTest, ScalarsRoundTrip) {
  std::vector<Value> values = {
      Value::Null(),
      Value::Bool(true),
      Value::Bool(false),
      Value::Int(0),
      Value::Int(-1),
      Value::Int(std::numeric_limits<int64_t>::max()),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::BigInt("9223372036854775808"),
      Value::BigInt("-9223372036854775809"),
      Value::BigInt("123456789012345678901234567890"),
      Value::Float(0.5),
      Value::String(""),
      Value::String("hello"),
      Value::Bytes(""),
      Value::Bytes(std::string("\0\1\2", 3)),
      Value::Array(0),
      Value::Array(99),
  };
  for (const Value& v : values) {
    EXPECT_EQ(ThroughText(v), v) << Dump(v);
  }
}

TEST(ValueTest, CanonicalScalarEncodings) {
  EXPECT_EQ(Dump(Value::Null()), "null");
  EXPECT_EQ(Dump(Value::Int(42)), "42");
  EXPECT_EQ(Dump(Value::Int(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(Dump(Value::BigInt("-9223372036854775809")), R"({"$int":"-9223372036854775809"})");
  EXPECT_EQ(Dump(Value::Float(1.0)), "1.0");
  EXPECT_EQ(Dump(Value::Float(0.1)), "0.1");
  EXPECT_EQ(Dump(Value::Float(-0.0)), "-0.0");
  EXPECT_EQ(Dump(Value::Float(1e300)), "1e+300");
  EXPECT_EQ(Dump(Value::Float(std::nan(""))), R"({"$float":"nan"})");
  EXPECT_EQ(Dump(Value::Float(std::numeric_limits<double>::infinity())), R"({"$float":"inf"})");
  EXPECT_EQ(Dump(Value::Float(-std::numeric_limits<double>::infinity())), R"({"$float":"-inf"})");
  EXPECT_EQ(Dump(Value::Float(FromBits(0xfff8000000000000ull))),
            R"({"$float":"0xfff8000000000000"})");
  EXPECT_EQ(Dump(Value::Float(FromBits(0x7ff0000000000001ull))),
            R"({"$float":"0x7ff0000000000001"})");
  EXPECT_EQ(Dump(Value::Array(3)), R"({"$array":3})");
  EXPECT_EQ(Dump(Value::Ref(7)), R"({"$ref":7})");
}

TEST(ValueTest, FloatsKeepTheirExactBits) {
  std::vector<double> specials = {
      0.0,
      -0.0,
      1.0,
      0.1,
      1e300,
      1e16,
      9007199254740993.0,
      std::numeric_limits<double>::max(),
      -std::numeric_limits<double>::max(),
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min(),
      FromBits(0x000fffffffffffffull),  // largest subnormal
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      FromBits(0x7ff8000000000000ull),
      FromBits(0xfff8000000000000ull),
      FromBits(0x7ff0000000000001ull),  // signalling NaN
      FromBits(0x7ff8dead0000beefull),  // NaN with a payload
  };
  std::mt19937_64 rng(20240607);
  for (int i = 0; i < 200000; ++i) specials.push_back(FromBits(rng()));  // every exponent
  std::uniform_real_distribution<double> uniform(-1e3, 1e3);
  for (int i = 0; i < 50000; ++i) specials.push_back(uniform(rng));
  for (double d : specials) {
    std::string text = Dump(Value::Float(d));
    Value back = Decode(text, 0);
    ASSERT_TRUE(back.is(Kind::kFloat)) << text;
    ASSERT_EQ(Bits(back.as_float()), Bits(d)) << text;
    if (std::isfinite(d)) {
      ASSERT_NE(text.find_first_of(".e"), std::string::npos) << text;
    }
  }
}

TEST(ValueTest, IntegralFloatStaysFloatAndIntStaysInt) {
  EXPECT_TRUE(Decode("3", 0).is(Kind::kInt));
  EXPECT_TRUE(Decode("3.0", 0).is(Kind::kFloat));
  EXPECT_TRUE(Decode("3e0", 0).is(Kind::kFloat));
  EXPECT_EQ(Decode("9223372036854775807", 0).as_int(), std::numeric_limits<int64_t>::max());
}

TEST(ValueTest, UnicodeStrings) {
  std::vector<std::string> strings = {"héllo",       "日本語",    "emoji 🎉",
                                      "nul\0inside", "\"quote\\", "\x7f\x01\n\t"};
  strings[3] = std::string("nul\0inside", 10);
  for (const std::string& s : strings) {
    Value v = Value::String(s);
    EXPECT_EQ(ThroughText(v), v);
    EXPECT_EQ(ThroughText(v).as_string(), s);
  }
  EXPECT_EQ(Dump(Value::String("é")), "\"é\"");  // UTF-8 kept, not \u-escaped
}

TEST(ValueTest, BytesBase64) {
  // RFC 4648 §10 test vectors.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [raw, encoded] : vectors) {
    EXPECT_EQ(Dump(Value::Bytes(raw)), std::string(R"({"$bytes":")") + encoded + "\"}");
    EXPECT_EQ(ThroughText(Value::Bytes(raw)).as_string(), raw);
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (size_t len = 0; len <= all.size(); len += (len < 8 ? 1 : 37)) {
    Value v = Value::Bytes(all.substr(all.size() - len));
    Value back = ThroughText(v);
    ASSERT_TRUE(back.is(Kind::kBytes));
    ASSERT_EQ(back.as_string(), v.as_string()) << len;
  }
  EXPECT_EQ(ThroughText(Value::Bytes(all)).as_string(), all);
}

TEST(ValueTest, ContainersRoundTrip) {
  Value list = Value::List({Value::Int(1), Value::String("a"), Value::List({})});
  Value tuple = Value::Tuple({Value::Float(2.5), Value::Tuple({})});
  EXPECT_EQ(Dump(list), R"([1,"a",[]])");
  EXPECT_EQ(Dump(tuple), R"({"$tuple":[2.5,{"$tuple":[]}]})");
  EXPECT_EQ(ThroughText(list), list);
  EXPECT_EQ(ThroughText(tuple), tuple);
  EXPECT_TRUE(ThroughText(Value::Tuple({})).is(Kind::kTuple));
  EXPECT_TRUE(ThroughText(Value::List({})).is(Kind::kList));
}

TEST(ValueTest, PlainDictKeepsInsertionOrder) {
  Value dict = Value::Dict({{Value::String("zeta"), Value::Int(1)},
                            {Value::String("alpha"), Value::Int(2)},
                            {Value::String(""), Value::Null()},
                            {Value::String("a$b"), Value::Bool(true)}});
  EXPECT_EQ(Dump(dict), R"({"zeta":1,"alpha":2,"":null,"a$b":true})");
  EXPECT_EQ(ThroughText(dict), dict);
  EXPECT_EQ(dict.Find("alpha")->as_int(), 2);
  EXPECT_EQ(dict.Find("missing"), nullptr);
  EXPECT_EQ(Value::Int(1).Find("x"), nullptr);
}

TEST(ValueTest, EmptyDictIsAPlainObject) {
  Value empty = Value::Dict({});
  EXPECT_EQ(Dump(empty), "{}");
  Value back = ThroughText(empty);
  EXPECT_TRUE(back.is(Kind::kDict));
  EXPECT_TRUE(back.dict_items().empty());
}

TEST(ValueTest, DollarKeysAndNonStringKeysUseTaggedDict) {
  Value dollar = Value::Dict({{Value::String("a"), Value::Int(1)},
                              {Value::String("$object"), Value::String("not a tag")}});
  EXPECT_EQ(Dump(dollar), R"({"$dict":[["a",1],["$object","not a tag"]]})");
  EXPECT_EQ(ThroughText(dollar), dollar);

  Value mixed = Value::Dict({{Value::Int(1), Value::String("one")},
                             {Value::Tuple({Value::Int(1), Value::Int(2)}), Value::Null()},
                             {Value::Float(0.5), Value::Bool(false)},
                             {Value::Null(), Value::Int(0)},
                             {Value::String("s"), Value::Int(3)}});
  EXPECT_EQ(ThroughText(mixed), mixed);
  EXPECT_EQ(mixed.Find("s")->as_int(), 3);
}

TEST(ValueTest, ObjectsArraysAndReferences) {
  // A forest whose estimators share one object, and an object whose state
  // refers to itself: both must survive the trip.
  Value shared = Value::Object("sklearn.tree.DecisionTreeClassifier",
                               Value::Dict({{Value::String("tree_"), Value::Array(0)}}), 1);
  Value cyclic =
      Value::Object("mypkg.Node", Value::Dict({{Value::String("self"), Value::Ref(2)}}), 2);
  Value root = Value::Object(
      "sklearn.ensemble.RandomForestClassifier",
      Value::Dict({{Value::String("estimators_"), Value::List({shared, Value::Ref(1)})},
                   {Value::String("cyclic"), cyclic},
                   {Value::String("plain"), Value::Object("builtins.object", Value::Null())}}));
  Value back = ThroughText(root, 1);
  EXPECT_EQ(back, root);
  EXPECT_EQ(back.type_name(), "sklearn.ensemble.RandomForestClassifier");
  EXPECT_FALSE(back.object_id().has_value());
  const Value& estimators = *back.state().Find("estimators_");
  EXPECT_EQ(estimators.items()[0].object_id(), 1);
  EXPECT_EQ(estimators.items()[1].ref_id(), 1);
  EXPECT_EQ(estimators.items()[0].state().Find("tree_")->blob_index(), 0u);
  EXPECT_EQ(
      Dump(shared),
      R"({"$object":"sklearn.tree.DecisionTreeClassifier","state":{"tree_":{"$array":0}},"id":1})");
}

TEST(ValueTest, ObjectKeysMayComeInEitherOrder) {
  Value v = Decode(R"({"$object":"a.B","id":5,"state":[{"$ref":5}]})", 0);
  EXPECT_EQ(v.object_id(), 5);
  EXPECT_EQ(v.state().items()[0].ref_id(), 5);
}

TEST(ValueTest, EqualityComparesFloatsByBits) {
  EXPECT_EQ(Value::Float(std::nan("")), Value::Float(std::nan("")));
  EXPECT_NE(Value::Float(0.0), Value::Float(-0.0));
  EXPECT_NE(Value::Int(1), Value::Float(1.0));
  EXPECT_NE(Value::String("a"), Value::Bytes("a"));
  EXPECT_NE(Value::List({}), Value::Tuple({}));
  EXPECT_NE(Value::Object("a.B", Value::Null(), 1), Value::Object("a.B", Value::Null(), 2));
}

TEST(ValueTest, AccessorsRefuseTheWrongKind) {
  try {
    (void)Value::Int(1).as_string();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("int"));
  }
  EXPECT_THROW((void)Value::Null().as_bool(), Error);
  EXPECT_THROW((void)Value::Float(1).as_int(), Error);
  EXPECT_THROW((void)Value::Int(1).as_float(), Error);
  EXPECT_THROW((void)Value::Dict({}).items(), Error);
  EXPECT_THROW((void)Value::List({}).dict_items(), Error);
  EXPECT_THROW((void)Value::List({}).type_name(), Error);
  EXPECT_THROW((void)Value::List({}).state(), Error);
  EXPECT_THROW((void)Value::Ref(1).blob_index(), Error);
  EXPECT_THROW((void)Value::Array(1).ref_id(), Error);
  EXPECT_STREQ(KindName(Kind::kTuple), "tuple");
}

TEST(ValueTest, BigIntFactoryRefusesNonCanonicalDigits) {
  for (const char* bad : {"", "-", "12", "-12", "007", "1e30", "+99999999999999999999",
                          "9223372036854775807", "-9223372036854775808", "-0", "12 "}) {
    EXPECT_THROW(Value::BigInt(bad), Error) << bad;
  }
}

TEST(ValueTest, ToJsonRefusesWhatNoReaderAccepts) {
  EXPECT_THROW(ToJson(Value::String("\xff")), Error);
  EXPECT_THROW(ToJson(Value::String("\xed\xa0\x80")), Error);  // a UTF-16 surrogate
  EXPECT_THROW(ToJson(Value::String("\xc0\xaf")), Error);      // overlong '/'
  EXPECT_THROW(ToJson(Value::Dict({{Value::String("\xe2\x82"), Value::Null()}})), Error);
  EXPECT_THROW(ToJson(Value::Dict(
                   {{Value::String("k"), Value::Int(1)}, {Value::String("k"), Value::Int(2)}})),
               Error);
  // The root sits at level 2 of the manifest, so 255 nested lists is the most.
  Value deep = Value::Int(0);
  for (int i = 0; i < format::kMaxJsonDepth - 1; ++i) deep = Value::List({deep});
  EXPECT_NO_THROW(ToJson(deep));
  deep = Value::List({deep});
  try {
    ToJson(deep);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("deeper"));
  }
  Value deep_tuple = Value::Int(0);
  for (int i = 0; i < format::kMaxJsonDepth; ++i) deep_tuple = Value::Tuple({deep_tuple});
  EXPECT_THROW(ToJson(deep_tuple), Error);
}

TEST(ValueTest, DepthLimitOnRead) {
  std::string ok =
      std::string(format::kMaxJsonDepth - 1, '[') + std::string(format::kMaxJsonDepth - 1, ']');
  EXPECT_NO_THROW(Decode(ok, 0));
  std::string deep = "[" + ok + "]";
  EXPECT_THAT(RefusalOf(deep), HasSubstr("nested deeper than 256"));
  std::string tuples;
  for (int i = 0; i < 200; ++i) tuples += R"({"$tuple":[)";
  tuples += "1";
  for (int i = 0; i < 200; ++i) tuples += "]}";
  EXPECT_THAT(RefusalOf(tuples), HasSubstr("nested deeper"));
}

TEST(ValueTest, ErrorsNameTheJsonPath) {
  std::string text = R"({"$object":"sklearn.ensemble.RandomForestClassifier","state":)"
                     R"({"n":1,"estimators_":[0,1,2,{"$foo":1}]}})";
  EXPECT_EQ(RefusalOf(text), "root.state.estimators_[3]: unknown tag $foo");
  EXPECT_THAT(RefusalOf(R"({"odd key":[{"$bytes":"!!"}]})"),
              HasSubstr(R"(root["odd key"][0].$bytes: )"));
  EXPECT_THAT(RefusalOf(R"({"$dict":[[1,{"$ref":9}]]})"),
              HasSubstr("root.$dict[0][1].$ref: reference to id 9"));
  EXPECT_THAT(RefusalOf(R"({"$tuple":[0,{"$array":8}]})"),
              HasSubstr("root.$tuple[1].$array: blob index 8 out of range (the file has 4 blobs)"));
}

TEST(ValueTest, RefusesUnknownOrMalformedTags) {
  EXPECT_THAT(RefusalOf(R"({"$foo":1})"), HasSubstr("unknown tag $foo"));
  EXPECT_THAT(RefusalOf(R"({"$":1})"), HasSubstr("unknown tag $"));
  EXPECT_THAT(RefusalOf(R"({"$int":"99999999999999999999","x":1})"),
              HasSubstr("unexpected key \"x\" beside $int"));
  EXPECT_THAT(RefusalOf(R"({"$array":1,"$ref":1})"), HasSubstr("unexpected key"));
  EXPECT_THAT(RefusalOf(R"({"a":1,"$b":2})"), HasSubstr("root.$b: key starting with '$'"));
}

TEST(ValueTest, RefusesIntegersOutsideInt64) {
  EXPECT_THAT(RefusalOf("9223372036854775808"), HasSubstr("outside int64"));
  EXPECT_THAT(RefusalOf("18446744073709551615"), HasSubstr("outside int64"));
  for (const char* bad :
       {R"({"$int":"12"})", R"({"$int":"-9223372036854775808"})",
        R"({"$int":"0099999999999999999999"})", R"({"$int":"-0"})", R"({"$int":""})",
        R"({"$int":"1e30"})", R"({"$int":12})", R"({"$int":"+99999999999999999999"})",
        R"({"$int":" 99999999999999999999"})"}) {
    EXPECT_THAT(RefusalOf(bad), HasSubstr("root.$int: expected")) << bad;
  }
  EXPECT_EQ(Decode(R"({"$int":"9223372036854775808"})", 0), Value::BigInt("9223372036854775808"));
}

TEST(ValueTest, RefusesNonCanonicalSpecialFloats) {
  for (const char* bad : {R"({"$float":"NaN"})", R"({"$float":"Infinity"})", R"({"$float":1.0})",
                          R"({"$float":"0x7FF8000000000001"})", R"({"$float":"0x7ff800000000001"})",
                          R"({"$float":"7ff8000000000001"})", R"({"$float":"0x7ff8000000000001 "})",
                          R"({"$float":"0x7ff800000000000g"})"}) {
    EXPECT_THAT(RefusalOf(bad), HasSubstr("root.$float: expected")) << bad;
  }
  // Hex spellings of ordinary floats, infinities or the canonical NaN.
  for (const char* bad :
       {R"({"$float":"0x3ff0000000000000"})", R"({"$float":"0x7ff0000000000000"})",
        R"({"$float":"0x7ff8000000000000"})"}) {
    EXPECT_THAT(RefusalOf(bad), HasSubstr("not a non-canonical NaN")) << bad;
  }
  Json inf = Json(std::numeric_limits<double>::infinity());  // only reachable programmatically
  EXPECT_THROW(FromJson(inf, 0), Error);
}

TEST(ValueTest, RefusesBadBase64) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "====", "Zm9v!A==", "Zm 9v",
                          "Zh==", "Zm9=", "Zg==Zg==", "=Zg=", "Zm8=\\n", "Zm-_"}) {
    EXPECT_THAT(RefusalOf(std::string(R"({"$bytes":")") + bad + "\"}"),
                HasSubstr("root.$bytes: expected padded base64"))
        << bad;
  }
  EXPECT_THAT(RefusalOf(R"({"$bytes":5})"), HasSubstr("base64"));
}

TEST(ValueTest, RefusesMalformedContainers) {
  EXPECT_THAT(RefusalOf(R"({"$tuple":{}})"), HasSubstr("root.$tuple: expected an array"));
  EXPECT_THAT(RefusalOf(R"({"$dict":{}})"), HasSubstr("root.$dict: expected an array"));
  EXPECT_THAT(RefusalOf(R"({"$dict":[[1]]})"), HasSubstr("root.$dict[0]: expected a [key, value]"));
  EXPECT_THAT(RefusalOf(R"({"$dict":[[1,2,3]]})"), HasSubstr("expected a [key, value]"));
  EXPECT_THAT(RefusalOf(R"({"$dict":[5]})"), HasSubstr("expected a [key, value]"));
  // Dicts a plain JSON object can spell must be spelled that way.
  EXPECT_THAT(RefusalOf(R"({"$dict":[]})"), HasSubstr("must be written as a JSON object"));
  EXPECT_THAT(RefusalOf(R"({"$dict":[["a",1]]})"), HasSubstr("must be written as a JSON object"));
}

TEST(ValueTest, RefusesBadArrayReferences) {
  EXPECT_THAT(RefusalOf(R"({"$array":4})"), HasSubstr("blob index 4 out of range"));
  EXPECT_THAT(RefusalOf(R"({"$array":0})", 0), HasSubstr("has 0 blobs"));
  EXPECT_THAT(RefusalOf(R"({"$array":-1})"), HasSubstr("negative blob index"));
  EXPECT_THAT(RefusalOf(R"({"$array":1.0})"), HasSubstr("expected a blob index"));
  EXPECT_THAT(RefusalOf(R"({"$array":"1"})"), HasSubstr("expected a blob index"));
  EXPECT_THAT(RefusalOf(R"({"$array":18446744073709551615})"), HasSubstr("out of range"));
}

TEST(ValueTest, RefusesBadReferencesAndIds) {
  EXPECT_THAT(RefusalOf(R"({"$ref":1})"), HasSubstr("no enclosing or earlier object"));
  // A reference to an object that comes later in document order.
  EXPECT_THAT(RefusalOf(R"([{"$ref":1},{"$object":"a.B","state":null,"id":1}])"),
              HasSubstr("root[0].$ref: reference to id 1"));
  EXPECT_THAT(RefusalOf(R"({"$ref":"1"})"), HasSubstr("expected an integer id"));
  EXPECT_THAT(RefusalOf(R"({"$ref":1.5})"), HasSubstr("expected an integer id"));
  EXPECT_THAT(
      RefusalOf(R"([{"$object":"a.B","state":null,"id":1},{"$object":"a.C","state":null,"id":1}])"),
      HasSubstr("root[1].id: duplicate id 1"));
  EXPECT_THAT(
      RefusalOf(R"({"$object":"a.B","state":{"$object":"a.B","state":null,"id":3},"id":3})"),
      HasSubstr("duplicate id 3"));
  EXPECT_THAT(RefusalOf(R"({"$object":"a.B","state":null,"id":9223372036854775808})"),
              HasSubstr("root.id: expected an integer id"));
  EXPECT_THAT(RefusalOf(R"({"$object":"a.B","state":null,"id":null})"),
              HasSubstr("expected an integer id"));
  // A reference after its object has closed is fine: document order.
  EXPECT_NO_THROW(Decode(R"([{"$object":"a.B","state":null,"id":1},{"$ref":1}])", 0));
}

TEST(ValueTest, RefusesMalformedObjects) {
  EXPECT_THAT(RefusalOf(R"({"$object":"a.B"})"), HasSubstr("without \"state\""));
  EXPECT_THAT(RefusalOf(R"({"$object":"a.B","state":1,"extra":2})"),
              HasSubstr("unexpected key \"extra\" in $object"));
  EXPECT_THAT(RefusalOf(R"({"$object":"a.B","state":1,"$dict":2})"), HasSubstr("unexpected key"));
  for (const char* name :
       {"", "a b", ".a", "a.", "a..b", "1a", "a.1b", "a-b", "a/b", "é", "a.B[0]"}) {
    Json j = Json::object();
    j["$object"] = name;
    j["state"] = nullptr;
    EXPECT_THROW(FromJson(j, 0), Error) << name;
    EXPECT_THROW(Decode(j.dump(), 0), Error) << name;
  }
  EXPECT_THAT(RefusalOf(R"({"$object":5,"state":null})"), HasSubstr("dotted type name"));
  for (const char* name : {"a", "_private._Thing", "sklearn.tree._classes.DecisionTreeClassifier",
                           "numpy.float64", "A1.b_2"}) {
    Json j = Json::object();
    j["$object"] = name;
    j["state"] = nullptr;
    EXPECT_EQ(FromJson(j, 0).type_name(), name);
    EXPECT_EQ(Decode(j.dump(), 0).type_name(), name);
  }
}

// Only text can spell these; FromJsonText and the audit refuse them.
TEST(ValueTest, TextDecodersRefuseWhatOnlyTextHolds) {
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  const std::string many_ok = many + "\"z\":0}";
  const std::string many_repeated = many + "\"k33\":0}";
  EXPECT_EQ(FromJsonText(many_ok, 0).dict_items().size(), 41u);
  const std::pair<std::string, std::string> cases[] = {
      {R"({"a":1,"a":2})", "root.a: duplicate key"},
      {R"({"x":[{"b":1,"c":2,"b":3}]})", R"(root.x[0].b: duplicate key)"},
      {many_repeated, "root.k33: duplicate key"},
      {R"({"$object":"a.B","state":1,"state":2})", R"(unexpected key "state" in $object)"},
      {R"({"$object":"a.B","state":1,"$object":"c.D"})", R"(unexpected key "$object")"},
      {R"({"$array":1,"$array":1})", R"(unexpected key "$array" beside $array)"},
      {"123456789012345678901234567890", "root: not valid JSON"},
      {"[-9223372036854775809]", "root: not valid JSON"},
      {"1e400", "root: not valid JSON"},
      {"[1,]", "root: not valid JSON"},
      {"[1] 2", "root: not valid JSON"},
      {"\"\xff\"", "root: not valid JSON"},
      {R"("\ud800")", "root: not valid JSON"},
      {"", "root: not valid JSON"},
      {std::string(2000, '[') + std::string(2000, ']'), "nested deeper than 256"},
  };
  for (const auto& [text, needle] : cases) {
    SCOPED_TRACE(text.substr(0, 80));
    for (int path = 0; path < 2; ++path) {
      try {
        if (path == 0) {
          FromJsonText(text, 4);
        } else {
          CollectTypeNames(text, 4);
        }
        ADD_FAILURE() << "accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadManifest);
        EXPECT_THAT(e.what(), HasSubstr(needle));
      }
    }
  }
  // Whitespace is JSON's business, not the tree's.
  EXPECT_EQ(FromJsonText(" [ 1 , { \"a\" : 2.5 } ] ", 0),
            Value::List({Value::Int(1), Value::Dict({{Value::String("a"), Value::Float(2.5)}})}));
}

TEST(ValueTest, CollectTypeNamesFindsEveryName) {
  const std::string text = R"({"$object":"sklearn.pipeline.Pipeline","state":{
      "steps":[{"$tuple":["scale",{"$object":"sklearn.preprocessing.StandardScaler","state":{},"id":1}]},
               {"$tuple":["f",{"$object":"ark.global","state":"numpy:log1p"}]},
               {"$tuple":["g",{"$object":"ark.global","state":"numpy:log1p"}]},
               {"$ref":1}],
      "keyed":{"$dict":[[{"$object":"mypkg.Key","state":null},{"$object":"ark.global","state":"m:f"}]]},
      "again":{"$object":"sklearn.preprocessing.StandardScaler","state":{"$array":0}}}})";
  const TypeNames names = CollectTypeNames(text, 1);
  EXPECT_THAT(names.types, ::testing::ElementsAre("mypkg.Key", "sklearn.pipeline.Pipeline",
                                                  "sklearn.preprocessing.StandardScaler"));
  EXPECT_THAT(names.globals, ::testing::ElementsAre("m:f", "numpy:log1p"));
  EXPECT_FALSE(names.malformed_global);
  EXPECT_NO_THROW(Decode(text, 1));

  const TypeNames odd =
      CollectTypeNames(R"([{"$object":"ark.global","state":["os","system"]}])", 0);
  EXPECT_TRUE(odd.types.empty());
  EXPECT_TRUE(odd.globals.empty());
  EXPECT_TRUE(odd.malformed_global);
  EXPECT_TRUE(CollectTypeNames("[1,2,{}]", 0).types.empty());
}

}  // namespace
}  // namespace ark::model
