// Inference benchmark of ark's native runtime (the ark side of
// bench/inference.py, which builds the inputs and runs this program).
//
//   inference_bench MODEL.ark ROWS.f64 [--threads N] [--single-calls N]
//                   [--batch-reps N] [--batch-rows N] [--proba-out FILE]
//
// ROWS.f64: row-major float64 rows, as many columns as the model's input.
// Opens the model once (ModelOptions::threads = --threads), then times
// predict_proba through Model::Scores:
// - single row: the first row, --single-calls calls, each timed on the
//   calling thread (the single-row path uses no threads);
// - throughput: the first --batch-rows rows (default: all) in one call,
//   --batch-reps times.
// Prints one JSON object: {"single_us": [...], "batch_s": [...], "rows": n,
// "open_s": t}. --proba-out writes the batch's probabilities (float64,
// row-major) for the driver's exactness check.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "ark/runtime/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<double> ReadRows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<double> values(bytes.size() / sizeof(double));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(double));
  return values;
}

void PrintList(const char* name, const std::vector<double>& v, bool last) {
  std::printf("\"%s\": [", name);
  for (size_t i = 0; i < v.size(); ++i) std::printf(i ? ", %.9g" : "%.9g", v[i]);
  std::printf("]%s", last ? "" : ", ");
}

int Run(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s MODEL.ark ROWS.f64 [--threads N] [--single-calls N] "
                 "[--batch-reps N] [--batch-rows N] [--proba-out FILE]\n",
                 argv[0]);
    return 2;
  }
  const std::string model_path = argv[1], rows_path = argv[2];
  int threads = 2;
  long single_calls = 2000, batch_reps = 10, batch_rows = -1;
  std::string proba_out;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--threads") {
      threads = std::atoi(value);
    } else if (flag == "--single-calls") {
      single_calls = std::atol(value);
    } else if (flag == "--batch-reps") {
      batch_reps = std::atol(value);
    } else if (flag == "--batch-rows") {
      batch_rows = std::atol(value);
    } else if (flag == "--proba-out") {
      proba_out = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  ark::runtime::ModelOptions options;
  options.threads = threads;
  const Clock::time_point t0 = Clock::now();
  const auto model = ark::runtime::Model::Open(model_path, options);
  const double open_s = Seconds(Clock::now() - t0);

  const auto method = ark::runtime::Method::kPredictProba;
  const size_t n = model->input_schema().size();
  const size_t width = model->OutputWidth(method);
  const std::vector<double> x = ReadRows(rows_path);
  size_t rows = x.size() / n;
  if (batch_rows >= 0 && static_cast<size_t>(batch_rows) < rows) rows = batch_rows;
  std::vector<double> out(rows * width);

  // Warm up: the single-row path (per-thread scratch) and the pool.
  for (int i = 0; i < 20; ++i) model->Scores(method, x.data(), 1, out.data());
  model->Scores(method, x.data(), rows, out.data());

  std::vector<double> single_us;
  single_us.reserve(single_calls);
  double one[64];
  for (long i = 0; i < single_calls; ++i) {
    const Clock::time_point s = Clock::now();
    model->Scores(method, x.data(), 1, width <= 64 ? one : out.data());
    single_us.push_back(Seconds(Clock::now() - s) * 1e6);
  }
  std::vector<double> batch_s;
  for (long i = 0; i < batch_reps; ++i) {
    const Clock::time_point s = Clock::now();
    model->Scores(method, x.data(), rows, out.data());
    batch_s.push_back(Seconds(Clock::now() - s));
  }
  if (!proba_out.empty()) {
    std::ofstream f(proba_out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()),
            static_cast<std::streamsize>(out.size() * sizeof(double)));
  }
  std::printf("{");
  PrintList("single_us", single_us, false);
  PrintList("batch_s", batch_s, false);
  std::printf("\"rows\": %zu, \"open_s\": %.6f, \"description\": \"%s\"}\n", rows, open_s,
              model->description().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inference_bench: %s\n", e.what());
    return 1;
  }
}
