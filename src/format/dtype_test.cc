// Tests of dtype descriptors (docs/FORMAT.md §4): every spelling numpy's
// dtype.str produces for a little-endian dtype is accepted with numpy's
// itemsize; everything else — big-endian, object, non-canonical spellings,
// malformed numbers, hostile structures — is refused with kUnknownDtype and
// a message that names the descriptor.
#include "ark/format/dtype.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/error.h"

namespace ark::format {
namespace {

using Json = nlohmann::ordered_json;

// Expects ParseDtype to refuse `descr`, with a message containing `needle`
// (by default the descriptor's own text).
void ExpectRefused(const Json& descr, const std::string& needle = "") {
  SCOPED_TRACE(descr.dump());
  try {
    ParseDtype(descr);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnknownDtype);
    const std::string expected =
        needle.empty() ? (descr.is_string() ? descr.get<std::string>() : std::string()) : needle;
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

Json Struct(Json names, Json formats, Json offsets, Json itemsize) {
  Json j = Json::object();
  j["names"] = std::move(names);
  j["formats"] = std::move(formats);
  j["offsets"] = std::move(offsets);
  j["itemsize"] = std::move(itemsize);
  return j;
}

TEST(DtypeTest, AcceptsEveryNumpySimpleSpelling) {
  // Pairs of numpy's dtype.str and dtype.itemsize (numpy 1.24).
  const std::vector<std::pair<std::string, uint64_t>> cases = {
      {"|b1", 1},        {"|i1", 1},
      {"<i2", 2},        {"<i4", 4},
      {"<i8", 8},        {"|u1", 1},
      {"<u2", 2},        {"<u4", 4},
      {"<u8", 8},        {"<f2", 2},
      {"<f4", 4},        {"<f8", 8},
      {"<c8", 8},        {"<c16", 16},
      {"<U1", 4},        {"<U7", 28},
      {"|S1", 1},        {"|S5", 5},
      {"|V1", 1},        {"|V8", 8},
      {"<M8[D]", 8},     {"<M8[ns]", 8},
      {"<m8[10s]", 8},   {"<m8[as]", 8},
      {"<M8[Y]", 8},     {"<M8[W]", 8},
      {"<m8[250ms]", 8}, {"<M8[M]", 8},
      {"<M8[h]", 8},     {"<M8[m]", 8},
      {"<M8[us]", 8},    {"<M8[ps]", 8},
      {"<M8[fs]", 8},    {"<m8[2147483647s]", 8},
  };
  for (const auto& [descr, itemsize] : cases) {
    SCOPED_TRACE(descr);
    const Dtype dtype = ParseDtype(Json(descr));
    EXPECT_EQ(dtype.itemsize, itemsize);
    EXPECT_FALSE(dtype.structured);
    EXPECT_EQ(dtype.descr, Json(descr));
    EXPECT_EQ(ItemSizeOf(descr), itemsize);
  }
}

TEST(DtypeTest, LargestItemSizesAre2To31) {
  EXPECT_EQ(ItemSizeOf("|S2147483648"), uint64_t{1} << 31);
  EXPECT_EQ(ItemSizeOf("|V2147483648"), uint64_t{1} << 31);
  EXPECT_EQ(ItemSizeOf("<U536870912"), uint64_t{1} << 31);
  ExpectRefused("|S2147483649");
  ExpectRefused("|V2147483649");
  ExpectRefused("<U536870913");
  ExpectRefused("|S99999999999999999999999999");
}

TEST(DtypeTest, RefusesBigEndianWithReason) {
  for (const char* descr : {">i4", ">f8", ">U3", ">M8[s]", ">c16"}) {
    ExpectRefused(descr, "big-endian");
    ExpectRefused(descr);
  }
}

TEST(DtypeTest, RefusesObjectDtype) {
  ExpectRefused("|O", "|O");
  ExpectRefused("|O8", "object");
  ExpectRefused("<O8", "object");
}

TEST(DtypeTest, RefusesNonCanonicalByteOrder) {
  // numpy writes '|' for one-byte and byte-string kinds and '<' otherwise;
  // one spelling per dtype keeps descriptors (hashed in the model digest)
  // unique.
  for (const char* descr : {"<i1", "<u1", "<b1", "<S5", "<V8", "|i4", "|f8", "|U3", "|M8[s]", "=i4",
                            "=f8", "!i4", "i4", "f8"}) {
    ExpectRefused(descr);
  }
}

TEST(DtypeTest, RefusesZeroSizedTypes) {
  // numpy has '<U0', '|S0' and '|V0', but no array element can be zero bytes
  // in a blob: np.array([''])'s dtype is already '<U1'.
  for (const char* descr : {"<U0", "|S0", "|V0"}) ExpectRefused(descr, "zero-sized");
}

TEST(DtypeTest, RefusesUnknownKindsAndSizes) {
  for (const char* descr : {"<x4", "<q8", "<g16", "<f16", "<c32", "<f1", "<f3", "<i3", "<i16",
                            "|b2", "<u3", "<c4", "<G32", "<a5"}) {
    ExpectRefused(descr);
  }
}

TEST(DtypeTest, RefusesMalformedNumbers) {
  for (const char* descr : {"", "<", "<i", "|S", "<f08", "<i04", "|S05", "|S+5", "|S-5", "<U 3",
                            "<f8 ", " <f8", "|S5x", "<i4.0", "<U1e3", "<f0x8"}) {
    ExpectRefused(descr);
  }
  // Embedded NUL must not end the descriptor early.
  ExpectRefused(std::string("<f8\0", 4), "unknown dtype");
  ExpectRefused("<f8\n", "unknown dtype");
  ExpectRefused(std::string("<f\0"
                            "8",
                            4),
                "unknown dtype");
}

TEST(DtypeTest, RefusesMalformedDatetimes) {
  for (const char* descr : {"<M8",
                            "<m8",
                            "<M8[]",
                            "<M8[x]",
                            "<M8[S]",
                            "<M8[sec]",
                            "<M8[1s]",
                            "<M8[0s]",
                            "<M8[010s]",
                            "<M8[10]",
                            "<M8[-5s]",
                            "<M8[s",
                            "<M8s]",
                            "<M4[s]",
                            "<M16[s]",
                            "<M8[2147483648s]",
                            "<M8[99999999999999999999s]",
                            "<M8[s]x",
                            "<M8[s][s]",
                            "<M8[ s]"}) {
    ExpectRefused(descr);
  }
}

TEST(DtypeTest, RefusesNonDescriptorJson) {
  for (const Json& descr : {Json(nullptr), Json(8), Json(true), Json(1.5), Json::array(),
                            Json::array({"<f8", Json::array({2})})}) {
    ExpectRefused(descr, "unknown dtype");
  }
}

TEST(DtypeTest, ItemSizeOfRefusesStructuredText) {
  try {
    ItemSizeOf("{\"names\": []}");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnknownDtype);
  }
}

// sklearn.tree._tree.NODE_DTYPE (scikit-learn 1.2.1), as reported by
//   t.NODE_DTYPE.descr / .itemsize / .fields:
//   left_child <i8 @0, right_child <i8 @8, feature <i8 @16, threshold <f8 @24,
//   impurity <f8 @32, n_node_samples <i8 @40, weighted_n_node_samples <f8 @48;
//   itemsize 56.
Json TreeNodeDtype() {
  return Struct({"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples",
                 "weighted_n_node_samples"},
                {"<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"}, {0, 8, 16, 24, 32, 40, 48}, 56);
}

TEST(DtypeTest, AcceptsScikitLearnTreeNodeDtype) {
  const Dtype dtype = ParseDtype(TreeNodeDtype());
  EXPECT_TRUE(dtype.structured);
  EXPECT_EQ(dtype.itemsize, 56u);
  EXPECT_EQ(dtype.descr, TreeNodeDtype());
}

TEST(DtypeTest, TreeNodeDtypeFromManifestText) {
  const Json descr = Json::parse(
      R"({"names":["left_child","right_child","feature","threshold","impurity",)"
      R"("n_node_samples","weighted_n_node_samples"],"formats":["<i8","<i8","<i8","<f8","<f8",)"
      R"("<i8","<f8"],"offsets":[0,8,16,24,32,40,48],"itemsize":56})");
  const Dtype dtype = ParseDtype(descr);
  EXPECT_EQ(dtype.itemsize, 56u);
  // Key order survives, so the descriptor re-serialises to the same bytes.
  EXPECT_EQ(dtype.descr.dump(), descr.dump());
}

TEST(DtypeTest, AcceptsPaddingSubarraysAndNesting) {
  // np.dtype({'names':['a','b'],'formats':['<i4',('<f8',(2,3))],
  //           'offsets':[0,8],'itemsize':64}): holes are allowed.
  const Json padded = Struct({"a", "b"}, {"<i4", Json::array({"<f8", {2, 3}})}, {0, 8}, 64);
  EXPECT_EQ(ParseDtype(padded).itemsize, 64u);

  const Json inner = Struct({"x", "y"}, {"<f4", "|u1"}, {0, 4}, 8);
  const Json outer =
      Struct({"id", "pt", "pts"}, {"<i8", inner, Json::array({inner, {3}})}, {0, 8, 16}, 40);
  const Dtype dtype = ParseDtype(outer);
  EXPECT_EQ(dtype.itemsize, 40u);
  EXPECT_TRUE(dtype.structured);

  // Fields listed out of offset order, like numpy allows.
  EXPECT_EQ(ParseDtype(Struct({"b", "a"}, {"<i4", "<i4"}, {4, 0}, 8)).itemsize, 8u);
  // A structure with no fields is opaque padding of itemsize bytes.
  EXPECT_EQ(ParseDtype(Struct(Json::array(), Json::array(), Json::array(), 8)).itemsize, 8u);
  // Key order is free.
  Json reordered = Json::object();
  reordered["itemsize"] = 4;
  reordered["offsets"] = {0};
  reordered["formats"] = {"<f4"};
  reordered["names"] = {"v"};
  EXPECT_EQ(ParseDtype(reordered).itemsize, 4u);
}

TEST(DtypeTest, RefusesOverlappingFields) {
  ExpectRefused(Struct({"a", "b"}, {"<i8", "<i4"}, {0, 4}, 16), "overlap");
  ExpectRefused(Struct({"a", "b"}, {"<i4", "<i4"}, {0, 0}, 8), "overlap");
  ExpectRefused(Struct({"b", "a"}, {"<i4", "<i8"}, {8, 4}, 16), "overlap");
  ExpectRefused(Struct({"a", "b"}, {Json::array({"<i4", {3}}), "|u1"}, {0, 11}, 16), "overlap");
}

TEST(DtypeTest, RefusesFieldsPastItemsize) {
  ExpectRefused(Struct({"a"}, {"<f8"}, {1}, 8), "past itemsize");
  ExpectRefused(Struct({"a"}, {"<f8"}, {9}, 8), "past itemsize");
  ExpectRefused(Struct({"a"}, {"<f8"}, {std::numeric_limits<uint64_t>::max()}, 8), "past itemsize");
  ExpectRefused(Struct({"a"}, Json::array({Json::array({"<f8", {2}})}), {0}, 8), "past itemsize");
}

TEST(DtypeTest, RefusesBadNames) {
  ExpectRefused(Struct({"a", "a"}, {"<i4", "<i4"}, {0, 4}, 8), "duplicate");
  ExpectRefused(Struct({""}, {"<i4"}, {0}, 4), "names");
  ExpectRefused(Struct({1}, {"<i4"}, {0}, 4), "names");
  ExpectRefused(Struct({nullptr}, {"<i4"}, {0}, 4), "names");
}

TEST(DtypeTest, RefusesMalformedStructures) {
  ExpectRefused(Struct({"a"}, {"<i4", "<i4"}, {0}, 8), "equal length");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0, 4}, 8), "equal length");
  ExpectRefused(Struct("a", {"<i4"}, {0}, 4), "equal length");
  ExpectRefused(Struct({"a"}, "<i4", {0}, 4), "equal length");
  ExpectRefused(Struct({"a"}, {"<i4"}, {-4}, 4), "offsets");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0.0}, 4), "offsets");
  ExpectRefused(Struct({"a"}, {"<i4"}, {"0"}, 4), "offsets");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0}, 0), "itemsize");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0}, -4), "itemsize");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0}, 4.0), "itemsize");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0}, "4"), "itemsize");
  ExpectRefused(Struct({"a"}, {"<i4"}, {0}, (uint64_t{1} << 31) + 1), "itemsize");
  ExpectRefused(Struct(Json::array(), Json::array(), Json::array(), 0), "itemsize");

  Json missing = Struct({"a"}, {"<i4"}, {0}, 4);
  missing.erase("offsets");
  ExpectRefused(missing, "offsets");
  Json extra = Struct({"a"}, {"<i4"}, {0}, 4);
  extra["aligned"] = true;
  ExpectRefused(extra, "exactly");
  ExpectRefused(Json::object(), "missing");
}

TEST(DtypeTest, RefusesBadFieldFormatsNamingTheField) {
  ExpectRefused(Struct({"w"}, {">f8"}, {0}, 8), "big-endian");
  ExpectRefused(Struct({"w"}, {">f8"}, {0}, 8), "field 'w'");
  ExpectRefused(Struct({"obj"}, {"|O"}, {0}, 8), "field 'obj'");
  const Json inner = Struct({"deep"}, {"<q8"}, {0}, 8);
  ExpectRefused(Struct({"outer"}, Json::array({inner}), {0}, 8), "field 'outer.deep'");
  ExpectRefused(Struct({"a"}, {42}, {0}, 8), "field 'a'");
  ExpectRefused(Struct({"a"}, {nullptr}, {0}, 8), "field 'a'");
}

TEST(DtypeTest, RefusesMalformedSubarrays) {
  auto with = [](Json format) { return Struct({"a"}, Json::array({std::move(format)}), {0}, 64); };
  ExpectRefused(with(Json::array({"<f8"})), "sub-array");
  ExpectRefused(with(Json::array({"<f8", {2}, {3}})), "sub-array");
  ExpectRefused(with(Json::array({"<f8", 2})), "sub-array");
  ExpectRefused(with(Json::array({"<f8", Json::array()})), "dimensions");
  ExpectRefused(with(Json::array({"<f8", {0}})), "dimensions");
  ExpectRefused(with(Json::array({"<f8", {-1}})), "dimensions");
  ExpectRefused(with(Json::array({"<f8", {2.0}})), "dimensions");
  ExpectRefused(with(Json::array({">f8", {2}})), "big-endian");
  // numpy folds nested sub-arrays into one, so a nested one is never written.
  ExpectRefused(with(Json::array({Json::array({"<f8", {2}}), {2}})), "unknown dtype");
  Json many_dims = Json::array();
  for (int i = 0; i < 33; ++i) many_dims.push_back(1);
  ExpectRefused(with(Json::array({"|u1", many_dims})), "dimensions");
  // Dimensions whose product wraps 64 bits must not slip under the limit.
  ExpectRefused(with(Json::array({"|u1", {uint64_t{1} << 32, uint64_t{1} << 32}})), "2^31");
  ExpectRefused(
      Struct({"a"}, Json::array({Json::array({"<f8", {(1u << 28) + 1}})}), {0}, uint64_t{1} << 31),
      "2^31");
}

TEST(DtypeTest, RefusesDeepNesting) {
  Json descr = "<f8";
  for (int depth = 0; depth < 8; ++depth) descr = Struct({"n"}, Json::array({descr}), {0}, 8);
  EXPECT_EQ(ParseDtype(descr).itemsize, 8u);
  descr = Struct({"n"}, Json::array({descr}), {0}, 8);
  ExpectRefused(descr, "nested");

  // Sub-arrays count toward depth too, so alternating them cannot evade it.
  Json alternating = "<f8";
  for (int depth = 0; depth < 50; ++depth) {
    alternating = Struct({"n"}, Json::array({Json::array({alternating, {1}})}), {0}, 8);
  }
  ExpectRefused(alternating, "nested");
}

TEST(DtypeTest, ErrorMessageOfHugeDescriptorIsShort) {
  const std::string huge = "<" + std::string(1 << 20, '9');
  try {
    ParseDtype(Json(huge));
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnknownDtype);
    EXPECT_LT(std::string(e.what()).size(), 400u);
  }
}

TEST(DtypeTest, ByteCountOf) {
  EXPECT_EQ(ByteCountOf(8, {}), 8u);
  EXPECT_EQ(ByteCountOf(8, {3}), 24u);
  EXPECT_EQ(ByteCountOf(56, {1000, 7}), 392000u);
  EXPECT_EQ(ByteCountOf(1, {uint64_t{1} << 63, 1}), uint64_t{1} << 63);
  EXPECT_EQ(ByteCountOf(2, {uint64_t{1} << 61, 2}), uint64_t{1} << 63);
  EXPECT_EQ(ByteCountOf(4, {0}), 0u);
  EXPECT_EQ(ByteCountOf(4, {5, 0, 7}), 0u);
  EXPECT_EQ(ByteCountOf(0, {5}), 0u);
  EXPECT_EQ(ByteCountOf(1, {std::numeric_limits<uint64_t>::max()}),
            std::numeric_limits<uint64_t>::max());
}

TEST(DtypeTest, ByteCountOfOverflow) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const std::vector<std::pair<uint64_t, std::vector<uint64_t>>> cases = {
      {2, {max}},
      {8, {uint64_t{1} << 61}},
      {1, {uint64_t{1} << 32, uint64_t{1} << 32}},
      {56, {uint64_t{1} << 20, uint64_t{1} << 20, uint64_t{1} << 20}},
      {1, {uint64_t{1} << 63, 2}},
      // A zero extent makes the total 0, but the other factors still wrap,
      // and readers derive strides from them.
      {8, {uint64_t{1} << 62, 0, 4}},
  };
  for (const auto& [itemsize, shape] : cases) {
    try {
      ByteCountOf(itemsize, shape);
      ADD_FAILURE() << "no overflow for itemsize " << itemsize;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kSizeOverflow);
      EXPECT_NE(std::string(e.what()).find("overflows"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ark::format
