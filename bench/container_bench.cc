// container_bench: write/read throughput of the .ark container against the
// machine's own limits, measured in one run on the same bytes.
//
//   container_bench [--dir DIR] [--size-mb N] [--repeat N] [--lzma-repeat N]
//                   [--open-runs N] [--markdown FILE]
//
// Builds a deterministic ~N MB (default 200) mix of arrays shaped like a
// fitted forest (tree node records, per-node values) plus plain float64,
// float32, int64 and uint8 arrays, then measures:
//   - limits: memcpy of the bytes; writing them as one raw file (with and
//     without fsync); reading that file back with read() (warm cache);
//   - the ark writer and reader for each codec: file size, write time (with
//     fsync and atomic rename, like the raw write), read time (Reader::Open,
//     ReadBlob of every blob, every byte touched; with and without checksum
//     verification), and the open time alone (median of --open-runs);
//   - zero-copy access: every uncompressed blob is a view into the mapping.
// Timings are medians of --repeat runs (default 3; the slow lzma writes and
// reads: --lzma-repeat, default 1). Prints a markdown report
// to stdout; --markdown also writes it to FILE. Temporary files live in DIR
// (default /tmp) and are removed. Exit status 0, or 1 on an ark::Error or a
// failed consistency check (decoded bytes must equal the input).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ark/format/codec.h"
#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "ark/format/reader.h"
#include "ark/format/writer.h"

namespace {

using ark::format::BlobOptions;
using ark::format::Codec;
using ark::format::Filter;
using ark::format::Reader;
using ark::format::ReaderOptions;
using ark::format::Writer;
using ark::format::WriterOptions;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr double kMB = 1e6;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs f `repeat` times and returns the median duration in seconds.
double TimeMedian(int repeat, const std::function<void()>& f) {
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    const auto start = Clock::now();
    f();
    t.push_back(Seconds(start, Clock::now()));
  }
  return Median(t);
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "container_bench: %s\n", what.c_str());
  std::exit(1);
}

// Reads every byte (so mapped pages fault in and sanitizers see all of it)
// and returns a value the caller keeps.
uint64_t Touch(std::span<const std::byte> bytes) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    acc ^= w;
  }
  for (; i < bytes.size(); ++i) acc += static_cast<uint8_t>(bytes[i]);
  return acc;
}

// ---------------------------------------------------------------- the data

struct Array {
  std::string kind;  // row label of the data table
  Json dtype;
  std::vector<uint64_t> shape;
  std::vector<std::byte> bytes;
};

template <typename T>
void Append(std::vector<std::byte>* out, const T& v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  out->insert(out->end(), p, p + sizeof(T));
}

// sklearn's Tree node record (1.2): 56 bytes.
Json NodeDtype() {
  return Json{{"names",
               {"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples",
                "weighted_n_node_samples"}},
              {"formats", {"<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"}},
              {"offsets", {0, 8, 16, 24, 32, 40, 48}},
              {"itemsize", 56}};
}

// One tree grown depth-first like sklearn's builder: children follow their
// parent, leaves carry TREE_LEAF (-1) children and TREE_UNDEFINED (-2)
// feature and threshold, thresholds are float32 values, sample counts shrink
// down the tree. Also returns the per-node class counts (n_nodes, 1, 2).
void GrowTree(std::mt19937_64& rng, int64_t n_samples, size_t max_nodes, Array* nodes,
              Array* values) {
  struct Node {
    int64_t left, right, feature;
    double threshold, impurity;
    int64_t n;
    double w;
  };
  std::vector<Node> tree;
  std::vector<double> counts;
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int64_t> feature(0, 29);
  // Explicit stack: (samples, positives, depth, parent index, is_left).
  struct Pending {
    int64_t n, pos;
    int depth;
    int64_t parent;
    bool left;
  };
  std::vector<Pending> stack = {{n_samples, n_samples / 2, 0, -1, false}};
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    const auto id = static_cast<int64_t>(tree.size());
    if (p.parent >= 0) (p.left ? tree[p.parent].left : tree[p.parent].right) = id;
    const double frac = static_cast<double>(p.pos) / static_cast<double>(p.n);
    Node node{-1, -1, -2, -2.0, 2 * frac * (1 - frac), p.n, static_cast<double>(p.n)};
    counts.push_back(static_cast<double>(p.n - p.pos));
    counts.push_back(static_cast<double>(p.pos));
    const bool pure = p.pos == 0 || p.pos == p.n;
    if (!pure && p.n >= 4 && p.depth < 40 && tree.size() + stack.size() + 2 < max_nodes) {
      node.feature = feature(rng);
      node.threshold = static_cast<float>(normal(rng));
      const auto left_n = std::clamp<int64_t>(
          static_cast<int64_t>(static_cast<double>(p.n) * (0.2 + 0.6 * unit(rng))), 1, p.n - 1);
      // Splits separate the classes a little: the left side gets fewer positives.
      const double skew = 0.3 + 0.7 * unit(rng);
      auto left_pos =
          static_cast<int64_t>(static_cast<double>(p.pos) * static_cast<double>(left_n) /
                               static_cast<double>(p.n) * skew);
      left_pos = std::clamp<int64_t>(left_pos, std::max<int64_t>(0, p.pos - (p.n - left_n)),
                                     std::min(p.pos, left_n));
      // Right pushed first so the left subtree is laid out next (pre-order).
      stack.push_back({p.n - left_n, p.pos - left_pos, p.depth + 1, id, false});
      stack.push_back({left_n, left_pos, p.depth + 1, id, true});
    }
    tree.push_back(node);
  }
  nodes->kind = "tree nodes {i8,i8,i8,f8,f8,i8,f8}";
  nodes->dtype = NodeDtype();
  nodes->shape = {tree.size()};
  for (const Node& n : tree) {
    Append(&nodes->bytes, n.left);
    Append(&nodes->bytes, n.right);
    Append(&nodes->bytes, n.feature);
    Append(&nodes->bytes, n.threshold);
    Append(&nodes->bytes, n.impurity);
    Append(&nodes->bytes, n.n);
    Append(&nodes->bytes, n.w);
  }
  values->kind = "tree values f8 (class counts)";
  values->dtype = "<f8";
  values->shape = {tree.size(), 1, 2};
  for (double c : counts) Append(&values->bytes, c);
}

template <typename T, typename Gen>
Array Make(const std::string& kind, const std::string& dtype, uint64_t n, Gen&& gen) {
  Array a{kind, dtype, {n}, {}};
  a.bytes.reserve(n * sizeof(T));
  for (uint64_t i = 0; i < n; ++i) Append(&a.bytes, static_cast<T>(gen()));
  return a;
}

std::vector<Array> MakeArrays(uint64_t total_bytes) {
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int> small(0, 99);
  std::uniform_int_distribution<int> pick8(0, 7);
  std::uniform_int_distribution<int> byte(0, 255);
  const double leaf_values[8] = {-1.5, -0.75, -0.25, 0.0, 0.125, 0.5, 1.0, 2.75};
  std::vector<Array> arrays;
  // About 45% forest (nodes + values), the rest plain arrays in 10 pieces each.
  const uint64_t forest_budget = total_bytes * 45 / 100;
  uint64_t forest = 0;
  while (forest < forest_budget) {
    Array nodes, values;
    GrowTree(rng, 200000, 12000, &nodes, &values);
    forest += nodes.bytes.size() + values.bytes.size();
    arrays.push_back(std::move(nodes));
    arrays.push_back(std::move(values));
  }
  const uint64_t piece = total_bytes / 100;  // 1% of the total
  for (int i = 0; i < 10; ++i) {
    arrays.push_back(
        Make<double>("float64 normal", "<f8", 2 * piece / 8, [&] { return normal(rng); }));
    arrays.push_back(Make<double>("float64 8 distinct values", "<f8", piece / 8,
                                  [&] { return leaf_values[pick8(rng)]; }));
    arrays.push_back(
        Make<int64_t>("int64 in [0, 100)", "<i8", piece / 8, [&] { return small(rng); }));
    arrays.push_back(Make<float>("float32 normal", "<f4", piece / 4, [&] { return normal(rng); }));
    arrays.push_back(Make<uint8_t>("uint8 random", "|u1", piece / 2, [&] { return byte(rng); }));
  }
  return arrays;
}

uint64_t TotalBytes(const std::vector<Array>& arrays) {
  uint64_t n = 0;
  for (const Array& a : arrays) n += a.bytes.size();
  return n;
}

// ---------------------------------------------------------------- raw file limits

void WriteRaw(const std::string& path, const std::vector<Array>& arrays, bool fsync) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("cannot create " + path);
  for (const Array& a : arrays) {
    const std::byte* p = a.bytes.data();
    size_t left = a.bytes.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n <= 0) Die("write failed: " + path);
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (fsync && ::fsync(fd) != 0) Die("fsync failed");
  ::close(fd);
}

void ReadRaw(const std::string& path, std::vector<std::byte>* buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("cannot open " + path);
  size_t done = 0;
  while (done < buffer->size()) {
    const ssize_t n = ::read(fd, buffer->data() + done, buffer->size() - done);
    if (n <= 0) Die("short read: " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// ---------------------------------------------------------------- ark

struct Config {
  std::string name;
  Codec codec;
  Filter filter;
};

struct ArkResult {
  std::string name;
  uint64_t file_size = 0;
  double write_s = 0, read_verify_s = 0, read_noverify_s = 0, open_ms = 0;
  uint64_t manifest_size = 0;
};

uint64_t WriteArk(const std::string& path, const std::vector<Array>& arrays, const Config& c,
                  bool fsync) {
  WriterOptions wo;
  wo.fsync = fsync;
  auto writer = Writer::ToFile(path, wo);
  BlobOptions bo;
  bo.codec = c.codec;
  bo.filter = c.filter;
  Json refs = Json::array();
  for (const Array& a : arrays) {
    refs.push_back({{"$array", writer->AddBlob(a.dtype, a.shape, a.bytes, bo)}});
  }
  writer->Finish(Json{{"$object", "bench.ArrayMix"}, {"state", {{"arrays", refs}}}},
                 Json::object());
  return writer->file_size();
}

// Open + ReadBlob of every blob + touch every byte. Checks the bytes once.
uint64_t ReadArk(const std::string& path, bool verify, const std::vector<Array>* expect) {
  ReaderOptions ro;
  ro.verify_on_access = verify;
  auto reader = Reader::Open(path, ro);
  uint64_t acc = 0;
  for (uint64_t i = 0; i < reader->blobs().size(); ++i) {
    ark::format::BlobView view = reader->ReadBlob(i);
    acc += Touch(view.bytes);
    if (expect != nullptr) {
      const std::vector<std::byte>& want = (*expect)[i].bytes;
      if (view.bytes.size() != want.size() ||
          std::memcmp(view.bytes.data(), want.data(), want.size()) != 0) {
        Die(path + ": blob " + std::to_string(i) + " does not read back as written");
      }
    }
  }
  return acc;
}

double OpenMedianMs(const std::string& path, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    auto reader = Reader::Open(path);
    t.push_back(Seconds(start, Clock::now()) * 1e3);
    if (reader->blobs().empty()) Die("no blobs");
  }
  return Median(t);
}

// ---------------------------------------------------------------- report

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string ReadFirstLine(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buf;
}

struct Args {
  std::string dir = "/tmp";
  uint64_t size_mb = 200;
  int repeat = 3;
  int lzma_repeat = 1;
  int open_runs = 200;
  std::string markdown;
  std::string command;
};

Args ParseArgs(int argc, char** argv) {
  Args args;
  args.command = "container_bench";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    args.command += " " + a;
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      args.command += std::string(" ") + argv[i + 1];
      return argv[++i];
    };
    if (a == "--dir") {
      args.dir = value();
    } else if (a == "--size-mb") {
      args.size_mb = std::stoull(value());
    } else if (a == "--repeat") {
      args.repeat = std::max(1, std::stoi(value()));
    } else if (a == "--lzma-repeat") {
      args.lzma_repeat = std::max(1, std::stoi(value()));
    } else if (a == "--open-runs") {
      args.open_runs = std::max(1, std::stoi(value()));
    } else if (a == "--markdown") {
      args.markdown = value();
    } else {
      Die("unknown argument " + a +
          " (usage: container_bench [--dir DIR] [--size-mb N] [--repeat N] [--lzma-repeat N] "
          "[--open-runs N] "
          "[--markdown FILE])");
    }
  }
  return args;
}

int Run(const Args& args) {
  const std::string load_before = LoadAverage();
  std::fprintf(stderr, "container_bench: generating %llu MB of arrays...\n",
               static_cast<unsigned long long>(args.size_mb));
  const std::vector<Array> arrays = MakeArrays(args.size_mb * static_cast<uint64_t>(kMB));
  const uint64_t total = TotalBytes(arrays);
  const double total_mb = static_cast<double>(total) / kMB;
  const std::string stem = args.dir + "/container_bench." + std::to_string(::getpid());
  const std::string raw_path = stem + ".raw";
  const std::string ark_path = stem + ".ark";

  // Machine limits on the same bytes.
  std::fprintf(stderr, "container_bench: limits...\n");
  std::vector<std::byte> scratch(total);
  std::memset(scratch.data(), 1, scratch.size());  // fault the pages in first
  const double memcpy_s = TimeMedian(args.repeat, [&] {
    size_t off = 0;
    for (const Array& a : arrays) {
      std::memcpy(scratch.data() + off, a.bytes.data(), a.bytes.size());
      off += a.bytes.size();
    }
  });
  const double raw_write_fsync_s = TimeMedian(args.repeat, [&] {
    WriteRaw(raw_path, arrays, true);
    ::unlink(raw_path.c_str());
  });
  const double raw_write_s = TimeMedian(args.repeat, [&] {
    WriteRaw(raw_path, arrays, false);
    ::unlink(raw_path.c_str());
  });
  WriteRaw(raw_path, arrays, true);
  ReadRaw(raw_path, &scratch);  // warm the cache
  const double raw_read_s = TimeMedian(args.repeat, [&] { ReadRaw(raw_path, &scratch); });
  ::unlink(raw_path.c_str());
  const double touch_s = TimeMedian(args.repeat, [&] {
    volatile uint64_t sink = Touch(scratch);
    (void)sink;
  });
  // The same bytes as one blob: shows whether open time follows the file
  // size or the manifest (blob table) size.
  double one_blob_open_ms = 0;
  {
    auto writer = Writer::ToFile(ark_path);
    writer->AddBlob("|u1", {total}, scratch, BlobOptions{});
    writer->Finish(Json{{"$array", 0}}, Json::object());
    one_blob_open_ms = OpenMedianMs(ark_path, args.open_runs);
    ::unlink(ark_path.c_str());
  }
  scratch = {};

  const std::vector<Config> configs = {
      {"none", Codec::None(), Filter::kNone},
      {"zstd-1", Codec::Zstd(1), Filter::kNone},
      {"zstd-3", Codec::Zstd(3), Filter::kNone},
      {"zstd-3 + shuffle", Codec::Zstd(3), Filter::kShuffle},
      {"zlib-3", Codec::Zlib(3), Filter::kNone},
      {"zlib-3 + shuffle", Codec::Zlib(3), Filter::kShuffle},
      {"lzma-3", Codec::Lzma(3), Filter::kNone},
      {"lzma-3 + shuffle", Codec::Lzma(3), Filter::kShuffle},
  };
  std::vector<ArkResult> results;
  double none_write_nofsync_s = 0, zero_copy_access_s = 0, first_access_verify_s = 0;
  uint64_t zero_copy_blobs = 0, aligned_blobs = 0, n_blobs = 0;
  for (const Config& c : configs) {
    std::fprintf(stderr, "container_bench: ark %s...\n", c.name.c_str());
    ArkResult r;
    r.name = c.name;
    const int repeat =
        c.codec.kind == ark::format::CodecKind::kLzma ? args.lzma_repeat : args.repeat;
    r.write_s = TimeMedian(repeat, [&] { r.file_size = WriteArk(ark_path, arrays, c, true); });
    ReadArk(ark_path, true, &arrays);  // checks the bytes, warms the cache
    volatile uint64_t sink = 0;
    r.read_verify_s = TimeMedian(repeat, [&] { sink = sink + ReadArk(ark_path, true, nullptr); });
    r.read_noverify_s =
        TimeMedian(repeat, [&] { sink = sink + ReadArk(ark_path, false, nullptr); });
    r.open_ms = OpenMedianMs(ark_path, args.open_runs);
    r.manifest_size = Reader::Open(ark_path)->manifest_bytes().size();
    if (c.codec.kind == ark::format::CodecKind::kNone) {
      none_write_nofsync_s = TimeMedian(args.repeat, [&] { WriteArk(ark_path, arrays, c, false); });
      // Zero-copy: every blob a view into the mapping, 64-byte aligned; the
      // time to get all views without checksums (no byte touched) and with
      // them (the first access hashes the blob).
      for (bool verify : {false, true}) {
        std::vector<double> t;
        for (int i = 0; i < args.repeat; ++i) {
          ReaderOptions ro;
          ro.verify_on_access = verify;
          auto reader = Reader::Open(ark_path, ro);
          const auto start = Clock::now();
          uint64_t zc = 0, aligned = 0;
          for (uint64_t b = 0; b < reader->blobs().size(); ++b) {
            ark::format::BlobView view = reader->ReadBlob(b);
            zc += view.zero_copy;
            aligned += reinterpret_cast<uintptr_t>(view.bytes.data()) % 64 == 0;
          }
          t.push_back(Seconds(start, Clock::now()));
          zero_copy_blobs = zc;
          aligned_blobs = aligned;
          n_blobs = reader->blobs().size();
        }
        (verify ? first_access_verify_s : zero_copy_access_s) = Median(t);
      }
    }
    ::unlink(ark_path.c_str());
    results.push_back(r);
  }
  const std::string load_after = LoadAverage();

  // ---- report
  std::ostringstream md;
  utsname un{};
  ::uname(&un);
  md << "## Container\n\n"
     << "Measured by `bench/container_bench.cc`. Machine: " << std::thread::hardware_concurrency()
     << " cores (`nproc`), " << ReadFirstLine("/proc/cpuinfo", "model name") << ", "
     << Fmt("%.1f", static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                        static_cast<double>(sysconf(_SC_PAGE_SIZE)) / 1e9)
     << " GB RAM, Linux " << un.release << "; files in `" << args.dir << "`. Date: " << UtcNow()
     << ". Command: `" << args.command << "`. Load average before/after: " << load_before << " / "
     << load_after << " (the machine is shared: expect noise).\n\n";
  md << "Data: " << arrays.size() << " arrays, " << Fmt("%.1f", total_mb)
     << " MB (MB = 10^6 bytes): a forest of sklearn-like trees (node records "
        "{left_child, right_child, feature <i8, threshold, impurity <f8, n_node_samples <i8, "
        "weighted_n_node_samples <f8}, pre-order, float32 thresholds, and per-node class "
        "counts as float64) plus float64 normal, float64 with 8 distinct values, int64 in "
        "[0, 100), float32 normal and random uint8 arrays. Times are medians of "
     << args.repeat << " runs (lzma rows: " << args.lzma_repeat << "); reads are warm-cache.\n\n";

  md << "| data | arrays | MB |\n|---|---:|---:|\n";
  {
    std::vector<std::pair<std::string, std::pair<int, uint64_t>>> kinds;
    for (const Array& a : arrays) {
      auto it =
          std::find_if(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == a.kind; });
      if (it == kinds.end()) {
        kinds.push_back({a.kind, {0, 0}});
        it = kinds.end() - 1;
      }
      it->second.first += 1;
      it->second.second += a.bytes.size();
    }
    for (const auto& [kind, n] : kinds) {
      md << "| " << kind << " | " << n.first << " | "
         << Fmt("%.1f", static_cast<double>(n.second) / kMB) << " |\n";
    }
  }

  auto rate = [&](double s) { return Fmt("%.0f", total_mb / s); };
  md << "\n### Machine limits (same bytes)\n\n| operation | time (s) | MB/s |\n|---|---:|---:|\n"
     << "| memcpy | " << Fmt("%.3f", memcpy_s) << " | " << rate(memcpy_s) << " |\n"
     << "| touch every byte (in memory) | " << Fmt("%.3f", touch_s) << " | " << rate(touch_s)
     << " |\n"
     << "| raw file write + fsync | " << Fmt("%.3f", raw_write_fsync_s) << " | "
     << rate(raw_write_fsync_s) << " |\n"
     << "| raw file write, no fsync | " << Fmt("%.3f", raw_write_s) << " | " << rate(raw_write_s)
     << " |\n"
     << "| raw file read() (warm cache) | " << Fmt("%.3f", raw_read_s) << " | " << rate(raw_read_s)
     << " |\n";

  md << "\n### ark, per codec\n\n"
     << "Write: Writer::ToFile, AddBlob of every array, Finish (fsync, rename), default threads. "
        "Read: Reader::Open + ReadBlob of every blob + touch every byte, with the SHA-256 check "
        "on first access (the default) and without. Open: Reader::Open alone, median of "
     << args.open_runs << " runs.\n\n"
     << "| codec | size (MB) | ratio | write (s) | write MB/s | read, verify (s) | read MB/s | "
        "read, no verify (s) | read MB/s | open (ms) |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const ArkResult& r : results) {
    md << "| " << r.name << " | " << Fmt("%.1f", static_cast<double>(r.file_size) / kMB) << " | "
       << Fmt("%.2f", static_cast<double>(total) / static_cast<double>(r.file_size)) << " | "
       << Fmt("%.3f", r.write_s) << " | " << rate(r.write_s) << " | "
       << Fmt("%.3f", r.read_verify_s) << " | " << rate(r.read_verify_s) << " | "
       << Fmt("%.3f", r.read_noverify_s) << " | " << rate(r.read_noverify_s) << " | "
       << Fmt("%.3f", r.open_ms) << " |\n";
  }

  const ArkResult& none = results.front();
  const double write_ratio = none.write_s / raw_write_fsync_s;
  md << "\n### Targets\n\n| target | measured | goal | met |\n|---|---:|---:|---|\n"
     << "| uncompressed write / raw write (both fsync) | " << Fmt("%.2f", write_ratio)
     << " | ≤ 1.5 | " << (write_ratio <= 1.5 ? "yes" : "**no**") << " |\n"
     << "| uncompressed write / raw write (no fsync) | "
     << Fmt("%.2f", none_write_nofsync_s / raw_write_s) << " | — | — |\n"
     << "| open of the " << Fmt("%.0f", static_cast<double>(none.file_size) / kMB)
     << " MB uncompressed file (" << n_blobs << " blobs, "
     << Fmt("%.0f", static_cast<double>(none.manifest_size) / 1e3) << " KB manifest) | "
     << Fmt("%.3f", none.open_ms) << " ms | < 1 ms | " << (none.open_ms < 1 ? "yes" : "**no**")
     << " |\n"
     << "| open of the same bytes as one blob (1 blob) | " << Fmt("%.3f", one_blob_open_ms)
     << " ms | < 1 ms | " << (one_blob_open_ms < 1 ? "yes" : "**no**") << " |\n"
     << "| zero-copy blobs (view into the mapping, 64-byte aligned) | " << zero_copy_blobs << " / "
     << n_blobs << " (" << aligned_blobs << " aligned) | all | "
     << (zero_copy_blobs == n_blobs && aligned_blobs == n_blobs ? "yes" : "**no**") << " |\n"
     << "| ReadBlob of all " << n_blobs << " blobs, no verify (no byte touched) | "
     << Fmt("%.3f", zero_copy_access_s * 1e3) << " ms | — | — |\n"
     << "| ReadBlob of all blobs, first access with SHA-256 verify | "
     << Fmt("%.3f", first_access_verify_s * 1e3) << " ms | — | — |\n";

  const std::string report = md.str();
  std::fputs(report.c_str(), stdout);
  if (!args.markdown.empty()) {
    std::ofstream out(args.markdown);
    out << "# Container benchmarks\n\n" << report;
    if (!out) Die("cannot write " + args.markdown);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(ParseArgs(argc, argv));
  } catch (const ark::Error& e) {
    std::fprintf(stderr, "container_bench: ark::Error(%s): %s\n", ark::ErrorCodeName(e.code()),
                 e.what());
    return 1;
  }
}
