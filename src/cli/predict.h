// `ark predict FILE --input ROWS`: scores rows with the native runtime
// (ark::runtime::Model) and writes labels, probabilities, decision values or
// transformed features as CSV or JSON.
//
// Input: CSV with a header (streamed in blocks, so memory stays bounded), a
// JSON array of records or of arrays, or JSON Lines (one record per line,
// streamed). Output: CSV with a header row, a JSON array of records, or JSON
// Lines; floats are printed as the shortest decimal that reads back as the
// same float64.
//
// Contract: RunPredict returns the process exit status and never throws. A
// bad input names the column and the row; an estimator the runtime does not
// support is reported with a pointer to ark.load() in Python.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

namespace ark::cli {

struct PredictOptions {
  std::string path;
  std::string input = "-";    // "-": standard input
  std::string output = "-";   // "-": standard output
  std::string input_format;   // csv, json, jsonl; empty: from the file name (stdin: csv)
  std::string output_format;  // csv, json, jsonl; empty: from the file name (stdout: csv)
  bool proba = false;
  bool decision = false;
  bool transform = false;
  int threads = 2;
  size_t block_rows = 65536;
};

CLI::App* AddPredictCommand(CLI::App& app, PredictOptions& options);
int RunPredict(const PredictOptions& options);

}  // namespace ark::cli
