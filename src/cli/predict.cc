// `ark predict`: see predict.h.
#include "predict.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/runtime/csv.h"
#include "ark/runtime/model.h"
#include "commands.h"
#include "registry_cmd.h"

namespace ark::cli {
namespace {

using runtime::FormatDouble;
using runtime::Label;
using runtime::Method;
using runtime::Output;

enum class Format { kCsv, kJson, kJsonl };

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Format FormatOf(const std::string& given, const std::string& path, const char* what) {
  std::string f = given;
  if (f.empty()) {
    if (EndsWith(path, ".jsonl") || EndsWith(path, ".ndjson")) return Format::kJsonl;
    if (EndsWith(path, ".json")) return Format::kJson;
    return Format::kCsv;
  }
  if (f == "csv") return Format::kCsv;
  if (f == "json") return Format::kJson;
  if (f == "jsonl" || f == "ndjson") return Format::kJsonl;
  throw Error(ErrorCode::kInvalidArgument,
              std::string("unknown ") + what + " format '" + f + "' (csv, json or jsonl)");
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string JsonNumber(double v) {
  // JSON has no NaN or infinity.
  return std::isfinite(v) ? FormatDouble(v) : "null";
}

std::string JsonLabel(const Label& l) {
  switch (l.kind) {
    case Label::Kind::kInt:
      return std::to_string(l.int_value);
    case Label::Kind::kFloat:
      return JsonNumber(l.float_value);
    case Label::Kind::kBool:
      return l.int_value ? "true" : "false";
    case Label::Kind::kString:
      return nlohmann::json(l.string_value)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return "null";
}

std::vector<std::string> ColumnNames(const Output& out) {
  if (out.column_names().size() == out.cols()) return out.column_names();
  if (out.cols() == 1) return {"prediction"};
  std::vector<std::string> names;
  for (size_t j = 0; j < out.cols(); ++j) names.push_back(std::to_string(j));
  return names;
}

// Writes blocks of outputs in one format.
class Writer {
 public:
  Writer(std::ostream& out, Format format) : out_(out), format_(format) {}

  void Write(const Output& o) {
    if (names_.empty()) {
      names_ = ColumnNames(o);
      if (format_ == Format::kCsv) {
        std::string line;
        for (size_t j = 0; j < names_.size(); ++j) line += (j ? "," : "") + CsvField(names_[j]);
        out_ << line << '\n';
      } else if (format_ == Format::kJson) {
        out_ << '[';
      }
      for (const std::string& n : names_) {
        json_keys_.push_back(
            nlohmann::json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
    std::string buf;
    for (size_t r = 0; r < o.rows(); ++r) {
      if (format_ == Format::kCsv) {
        for (size_t j = 0; j < o.cols(); ++j) {
          if (j) buf += ',';
          buf += o.type() == Output::Type::kLabel ? CsvField(o.label(r, j).ToString())
                                                  : FormatDouble(o.value(r, j));
        }
        buf += '\n';
      } else {
        if (format_ == Format::kJson && rows_written_ + r > 0) buf += ',';
        buf += '{';
        for (size_t j = 0; j < o.cols(); ++j) {
          if (j) buf += ',';
          buf += json_keys_[j];
          buf += ':';
          buf += o.type() == Output::Type::kLabel ? JsonLabel(o.label(r, j))
                                                  : JsonNumber(o.value(r, j));
        }
        buf += '}';
        if (format_ == Format::kJsonl) buf += '\n';
      }
    }
    rows_written_ += o.rows();
    out_ << buf;
    if (!out_) throw Error(ErrorCode::kIo, "writing the output failed");
  }

  void Finish() {
    if (format_ == Format::kJson) out_ << (names_.empty() ? "[" : "") << "]\n";
    out_.flush();
    if (!out_) throw Error(ErrorCode::kIo, "writing the output failed");
  }

 private:
  std::ostream& out_;
  Format format_;
  std::vector<std::string> names_;
  std::vector<std::string> json_keys_;
  uint64_t rows_written_ = 0;
};

nlohmann::json ParseJson(const std::string& text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::kInvalidArgument, where + ": not valid JSON (" + e.what() + ")");
  }
}

void Score(const runtime::Model& model, Method method, const PredictOptions& options,
           std::istream& in, Writer& writer) {
  const auto& schema = model.input_schema();
  const Format format = FormatOf(options.input_format, options.input, "input");
  if (format == Format::kCsv) {
    runtime::CsvReader reader(in, &schema, runtime::CsvOptions{',', options.block_rows});
    runtime::Table block;
    while (reader.Next(&block)) writer.Write(model.Run(method, block));
  } else if (format == Format::kJson) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    writer.Write(
        model.Run(method, runtime::Table::FromJsonRecords(ParseJson(text, "input"), &schema)));
  } else {
    std::string line;
    uint64_t line_no = 0, first_row = 0;
    nlohmann::json rows = nlohmann::json::array();
    auto flush = [&] {
      if (rows.empty()) return;
      writer.Write(model.Run(method, runtime::Table::FromJsonRecords(rows, &schema, first_row)));
      first_row += rows.size();
      rows = nlohmann::json::array();
    };
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      rows.push_back(ParseJson(line, "input line " + std::to_string(line_no)));
      if (rows.size() >= options.block_rows) flush();
    }
    flush();
  }
  writer.Finish();
}

}  // namespace

CLI::App* AddPredictCommand(CLI::App& app, PredictOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "predict", "Score rows with the model natively (no Python), exactly as scikit-learn would");
  cmd->add_option("file", options.path, "The .ark model, or a models:/ URI of the registry")->required();
  cmd->add_option(
         "-i,--input", options.input,
         "Rows to score: CSV with a header, .json (records or arrays) or .jsonl; '-' for stdin")
      ->capture_default_str();
  cmd->add_option("-o,--output", options.output, "Where to write the results; '-' for stdout")
      ->capture_default_str();
  cmd->add_option("--input-format", options.input_format,
                  "csv, json or jsonl (default: from the name)");
  cmd->add_option("--output-format", options.output_format,
                  "csv, json or jsonl (default: from the name)");
  auto* proba = cmd->add_flag("--proba", options.proba, "Class probabilities (predict_proba)");
  auto* decision =
      cmd->add_flag("--decision", options.decision, "Decision values (decision_function)");
  auto* transform =
      cmd->add_flag("--transform", options.transform, "Transformed features (transform)");
  proba->excludes(decision)->excludes(transform);
  decision->excludes(transform);
  cmd->add_option("--threads", options.threads, "Threads for large inputs")->capture_default_str();
  cmd->add_option("--block-rows", options.block_rows, "Rows read and scored at a time")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  cmd->footer(
      "\nExamples:\n"
      "  ark predict model.ark --input rows.csv                labels, as CSV on stdout\n"
      "  ark predict model.ark -i rows.csv --proba -o p.csv    probabilities to a file\n"
      "  ark predict model.ark -i rows.jsonl -o out.jsonl      JSON Lines in and out\n");
  return cmd;
}

int RunPredict(const PredictOptions& options) {
  try {
    Method method = Method::kPredict;
    if (options.proba) method = Method::kPredictProba;
    if (options.decision) method = Method::kDecisionFunction;
    if (options.transform) method = Method::kTransform;

    runtime::ModelOptions model_options;
    model_options.threads = options.threads < 1 ? 1 : options.threads;
    const auto model = runtime::Model::Open(ResolveModelPath(options.path), model_options);
    if (!model->Supports(method)) {
      throw Error(ErrorCode::kInvalidArgument, std::string("the model (") + model->description() +
                                                   ") has no " + runtime::MethodName(method));
    }

    std::ifstream in_file;
    if (options.input != "-") {
      in_file.open(options.input, std::ios::binary);
      if (!in_file) throw Error(ErrorCode::kIo, "cannot open the input '" + options.input + "'");
    }
    std::istream& in = options.input == "-" ? std::cin : in_file;

    std::ofstream out_file;
    if (options.output != "-") {
      out_file.open(options.output, std::ios::binary | std::ios::trunc);
      if (!out_file) throw Error(ErrorCode::kIo, "cannot write '" + options.output + "'");
    }
    std::ostream& out = options.output == "-" ? std::cout : out_file;
    Writer writer(out, FormatOf(options.output_format, options.output, "output"));
    Score(*model, method, options, in, writer);
    return kExitOk;
  } catch (const Error& e) {
    std::cerr << "ark predict: " << DescribeError(options.path, e.what()) << "\n";
    return ExitCodeFor(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "ark predict: out of memory\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "ark predict: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace ark::cli
