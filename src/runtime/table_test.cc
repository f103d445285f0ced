#include "ark/runtime/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "ark/format/error.h"
#include "ark/runtime/csv.h"
#include "ark/runtime/output.h"

namespace ark::runtime {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(Table, FromMatrixIsPositional) {
  const double m[] = {1, 2, 3, 4, 5, 6};
  const Table t = Table::FromMatrix(m, 2, 3);
  EXPECT_TRUE(t.positional());
  EXPECT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.column(2).name(), "x2");
  EXPECT_EQ(t.column(1).doubles()[1], 5);
  const Table named = Table::FromMatrix(m, 3, 2, {"a", "b"});
  EXPECT_FALSE(named.positional());
  EXPECT_EQ(*named.Find("b"), 1u);
}

TEST(Table, RefusesRaggedAndDuplicateColumns) {
  EXPECT_THAT(ErrorOf([] {
                Table({Column::Float64("a", {1}), Column::Float64("a", {2})});
              }),
              HasSubstr("'a'"));
  EXPECT_THAT(ErrorOf([] {
                Table({Column::Float64("a", {1}), Column::Float64("b", {1, 2})});
              }),
              HasSubstr("'b' has 2 rows"));
}

TEST(Table, JsonRecords) {
  const auto rows =
      nlohmann::json::parse(R"([{"a": 1.5, "city": "Paris"}, {"a": null, "city": null, "b": 2}])");
  const Table t = Table::FromJsonRecords(rows);
  ASSERT_EQ(t.num_columns(), 3u);
  const Column& a = t.column(*t.Find("a"));
  EXPECT_EQ(a.type(), ColumnType::kFloat64);
  EXPECT_TRUE(std::isnan(a.doubles()[1]));
  const Column& city = t.column(*t.Find("city"));
  EXPECT_EQ(city.type(), ColumnType::kString);
  EXPECT_TRUE(city.is_missing(1));
  EXPECT_TRUE(t.column(*t.Find("b")).is_missing(0));  // absent from row 1
}

TEST(Table, JsonErrorsNameRowAndColumn) {
  EXPECT_THAT(
      ErrorOf([] { Table::FromJsonRecords(nlohmann::json::parse(R"([{"a": 1}, {"a": "x"}])")); }),
      HasSubstr("column 'a', row 2"));
  EXPECT_THAT(ErrorOf([] { Table::FromJsonRecords(nlohmann::json::parse(R"([[1, 2], [3]])")); }),
              HasSubstr("row 2 has 1 values"));
  EXPECT_THAT(ErrorOf([] { Table::FromJsonRecords(nlohmann::json::parse(R"([{"a": [1]}])")); }),
              HasSubstr("column 'a', row 1"));
}

TEST(Csv, QuotesMissingValuesAndTypes) {
  std::istringstream in(
      "a,b,name\r\n"
      "1.5,NA,\"Smith, \"\"J\"\"\"\n"
      "\n"
      "-2e3,,\"two\nlines\"\n"
      "inf,  7 ,x\n");
  const Table t = CsvReader::ReadAll(in);
  ASSERT_EQ(t.num_rows(), 3u);
  EXPECT_EQ(t.column(0).doubles()[1], -2000);
  EXPECT_TRUE(std::isinf(t.column(0).doubles()[2]));
  EXPECT_TRUE(std::isnan(t.column(1).doubles()[0]));
  EXPECT_TRUE(std::isnan(t.column(1).doubles()[1]));
  EXPECT_EQ(t.column(1).doubles()[2], 7);
  EXPECT_EQ(t.column(2).type(), ColumnType::kString);
  EXPECT_EQ(t.column(2).strings()[0], "Smith, \"J\"");
  EXPECT_EQ(t.column(2).strings()[1], "two\nlines");
}

TEST(Csv, RoundTripsDoubles) {
  std::istringstream in("x\n0.1\n2.2250738585072014e-308\n1.7976931348623157e308\n4.9e-324\n");
  const Table t = CsvReader::ReadAll(in);
  EXPECT_EQ(t.column(0).doubles()[0], 0.1);
  EXPECT_EQ(t.column(0).doubles()[1], 2.2250738585072014e-308);
  EXPECT_EQ(t.column(0).doubles()[2], 1.7976931348623157e308);
  EXPECT_EQ(t.column(0).doubles()[3], 4.9e-324);
}

TEST(Csv, StreamsInBlocksWithRowNumbers) {
  std::ostringstream text;
  text << "v\n";
  for (int i = 0; i < 10; ++i) text << i << "\n";
  std::istringstream in(text.str());
  CsvReader reader(in, nullptr, CsvOptions{',', 4});
  Table block;
  std::vector<uint64_t> firsts;
  double total = 0;
  while (reader.Next(&block)) {
    firsts.push_back(block.first_row());
    for (double v : block.column(0).doubles()) total += v;
  }
  EXPECT_EQ(firsts, (std::vector<uint64_t>{0, 4, 8}));
  EXPECT_EQ(total, 45);
}

TEST(Csv, ErrorsNameLineAndColumn) {
  const std::vector<ColumnSpec> schema = {{"a", ColumnType::kFloat64}};
  EXPECT_THAT(ErrorOf([&] {
                std::istringstream in("a,b\n1,x\n2\n");
                CsvReader::ReadAll(in, &schema);
              }),
              HasSubstr("CSV line 3 has 1 fields"));
  EXPECT_THAT(ErrorOf([&] {
                std::istringstream in("a,b\n1,x\nabc,y\n");
                CsvReader::ReadAll(in, &schema);
              }),
              HasSubstr("CSV line 3, column 'a': 'abc' is not a number"));
  EXPECT_THAT(ErrorOf([] {
                std::istringstream in("a\n\"open\n");
                CsvReader::ReadAll(in);
              }),
              HasSubstr("not closed"));
  EXPECT_THAT(ErrorOf([] {
                std::istringstream in("");
                CsvReader::ReadAll(in);
              }),
              HasSubstr("empty"));
}

TEST(Output, FormatDoubleRoundTrips) {
  for (double v : {0.1, 1.0 / 3, 1e300, 5e-324, -0.0, 123456789.0}) {
    EXPECT_EQ(std::strtod(FormatDouble(v).c_str(), nullptr), v);
  }
  EXPECT_EQ(FormatDouble(1.0, true), "1.0");
  EXPECT_EQ(FormatDouble(0.5), "0.5");
  EXPECT_EQ(FormatDouble(NAN), "nan");
  EXPECT_EQ(Label::Bool(true).ToString(), "True");
  EXPECT_EQ(Label::Float(2).ToString(), "2.0");
  EXPECT_EQ(Label::Int(-3).ToString(), "-3");
}

}  // namespace
}  // namespace ark::runtime
