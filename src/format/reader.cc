// Implementation of reader.h.
//
// Open() validates in the order that keeps every step safe: sizes before
// offsets, offsets before reads, the manifest's size before hashing it, its
// nesting depth before parsing it, its schema before any blob is touched.
#include "ark/format/reader.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "ark/format/writer.h"
#include "layout.h"
#include "manifest_schema.h"
#include "mapped_file.h"
#include "parallel.h"

namespace ark::format {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::align_val_t kBufferAlignment{kAlignment};

std::string VersionText(uint64_t major, uint64_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

bool MatchesMagic(std::span<const std::byte> bytes, const unsigned char (&magic)[8]) {
  return std::memcmp(bytes.data(), magic, sizeof magic) == 0;
}

struct AlignedDelete {
  void operator()(std::byte* p) const { ::operator delete[](p, kBufferAlignment); }
};

std::string BlobName(uint64_t index) { return "blob " + std::to_string(index); }

class ReaderImpl final : public Reader {
 public:
  ReaderImpl(std::shared_ptr<const void> owner, std::span<const std::byte> file,
             const ReaderOptions& options)
      : owner_(std::move(owner)), file_(file), options_(options) {
    Validate();
  }

  uint16_t major_version() const override { return major_; }
  uint16_t minor_version() const override { return minor_; }
  uint64_t file_size() const override { return file_.size(); }
  const Digest& file_digest() const override { return footer_.file_digest; }
  const std::string& model_digest() const override { return model_digest_; }
  std::string_view manifest_bytes() const override { return manifest_text_; }
  std::string_view root_json_text() const override { return root_text_; }
  const Json& root() const override {
    // Built on first use: the tree's own decoders read root_text_ directly.
    // The text was validated at open (depth, syntax, numbers, unique keys),
    // which is everything ParseManifestJson checks.
    std::call_once(root_once_, [this] { root_ = ParseManifestJson(root_text_); });
    return root_;
  }
  const Json& sections() const override { return sections_; }
  const std::vector<BlobInfo>& blobs() const override { return blobs_; }

  BlobView ReadBlob(uint64_t index) const override {
    if (index >= blobs_.size()) {
      throw Error(ErrorCode::kInvalidArgument, "blob index " + std::to_string(index) +
                                                   " is out of range: the file has " +
                                                   std::to_string(blobs_.size()) + " blobs");
    }
    BlobView view = Decode(index);
    if (options_.verify_on_access && !verified_[index].load(std::memory_order_acquire)) {
      CheckDigest(index, view.bytes);
    }
    return view;
  }

  void VerifyAll(const std::function<void(uint64_t, uint64_t)>& progress) const override {
    if (Sha256Of(manifest_text_) != footer_.file_digest) {
      throw Error(ErrorCode::kChecksumMismatch,
                  "the manifest's SHA-256 does not match the file digest in the footer: the "
                  "file is corrupt");
    }
    uint64_t total = 0;
    // Cannot overflow: each raw size is at most kMaxExpansion times its stored size.
    for (const BlobInfo& blob : blobs_) total += blob.raw_size;
    uint64_t done = 0;
    if (progress) progress(done, total);
    uint64_t expected_start = kHeaderSize;
    for (uint64_t i = 0; i < blobs_.size(); ++i) {
      CheckZeroPadding(expected_start, blobs_[i].offset, i);
      CheckDigest(i, Decode(i).bytes);
      expected_start = blobs_[i].offset + blobs_[i].stored_size;
      done += blobs_[i].raw_size;
      if (progress) progress(done, total);
    }
    CheckZeroPadding(expected_start, footer_.manifest_offset, blobs_.size());
    // The digest hashes the blob-table entries as the manifest spells them.
    const Json manifest = ParseManifestJson(manifest_text_);
    const std::string recomputed = ComputeModelDigest(root(), manifest.at("blobs"));
    if (recomputed != model_digest_) {
      throw Error(ErrorCode::kChecksumMismatch, "model digest mismatch: the manifest says " +
                                                    model_digest_ +
                                                    " but the tree and blobs give " + recomputed);
    }
  }

 private:
  void Validate() {
    const uint64_t size = file_.size();
    if (size < kHeaderSize + kFooterSize) {
      throw Error(ErrorCode::kTruncated,
                  "truncated file: " + std::to_string(size) + " bytes, smaller than the " +
                      std::to_string(kHeaderSize + kFooterSize) + "-byte minimum of an .ark file");
    }
    const auto header = file_.first(kHeaderSize);
    if (!MatchesMagic(header, kHeaderMagic)) {
      throw Error(ErrorCode::kBadMagic,
                  "not an .ark file: the first 8 bytes are not the .ark signature");
    }
    major_ = static_cast<uint16_t>(LoadLe(header, kHeaderMajorAt, 2));
    minor_ = static_cast<uint16_t>(LoadLe(header, kHeaderMinorAt, 2));
    if (major_ != kMajorVersion) {
      throw Error(ErrorCode::kUnsupportedVersion,
                  "the file is format version " + VersionText(major_, minor_) +
                      ", which this reader (format " + VersionText(kMajorVersion, kMinorVersion) +
                      ") cannot read");
    }
    if (minor_ <= kMinorVersion && std::any_of(header.begin() + kHeaderReservedAt, header.end(),
                                               [](std::byte b) { return b != std::byte{0}; })) {
      throw Error(ErrorCode::kBadMagic, "reserved header bytes are not zero: the file is corrupt");
    }

    const uint64_t footer_offset = size - kFooterSize;
    const auto footer_bytes = file_.subspan(footer_offset);
    if (!MatchesMagic(footer_bytes.subspan(kFooterMagicAt), kFooterMagic)) {
      // The header is right, so the file began as an .ark file: the usual
      // cause is a copy or a write that stopped early.
      throw Error(ErrorCode::kTruncated,
                  "the file does not end with the .ark end marker: it is truncated or was not "
                  "completely written (" +
                      std::to_string(size) + " bytes)");
    }
    footer_ = DecodeFooter(footer_bytes);
    if (footer_.major != major_ || footer_.minor != minor_) {
      throw Error(ErrorCode::kBadMagic, "the footer says format " +
                                            VersionText(footer_.major, footer_.minor) +
                                            " but the header says " + VersionText(major_, minor_) +
                                            ": the file is corrupt");
    }
    if (footer_.flags != 0) {
      throw Error(ErrorCode::kUnsupportedVersion,
                  "footer flags 0x" + ToHexFlags(footer_.flags) +
                      " announce an extension block (e.g. a signature) that this reader (format " +
                      VersionText(kMajorVersion, kMinorVersion) + ") does not support");
    }

    // The size first: nothing below may hash or allocate an unchecked amount.
    if (footer_.manifest_size > kMaxManifestSize) {
      throw Error(ErrorCode::kLimitExceeded,
                  "the footer claims a manifest of " + std::to_string(footer_.manifest_size) +
                      " bytes, over the limit of " + std::to_string(kMaxManifestSize));
    }
    uint64_t manifest_end = 0;
    if (__builtin_add_overflow(footer_.manifest_offset, footer_.manifest_size, &manifest_end) ||
        manifest_end > footer_offset) {
      throw Error(ErrorCode::kOutOfBounds,
                  "the manifest [" + std::to_string(footer_.manifest_offset) + ", +" +
                      std::to_string(footer_.manifest_size) + ") reaches past the footer at " +
                      std::to_string(footer_offset) + ": the file is truncated or corrupt");
    }
    if (footer_.manifest_offset < kHeaderSize || footer_.manifest_offset % kAlignment != 0) {
      throw Error(ErrorCode::kOverlap, "the manifest offset " +
                                           std::to_string(footer_.manifest_offset) +
                                           " overlaps the header or is not aligned to " +
                                           std::to_string(kAlignment) + " bytes");
    }
    if (manifest_end != footer_offset) {
      throw Error(ErrorCode::kOverlap, std::to_string(footer_offset - manifest_end) +
                                           " unexplained bytes lie between the manifest and the "
                                           "footer");
    }
    const auto manifest = file_.subspan(footer_.manifest_offset, footer_.manifest_size);
    manifest_text_ =
        std::string_view(reinterpret_cast<const char*>(manifest.data()), manifest.size());
    if (Sha256Of(manifest_text_) != footer_.file_digest) {
      throw Error(ErrorCode::kChecksumMismatch,
                  "the manifest's SHA-256 does not match the file digest in the footer: the "
                  "file is corrupt");
    }

    ParsedManifest parsed =
        ParseManifest(manifest_text_, {.manifest_offset = footer_.manifest_offset,
                                       .footer_offset = footer_offset,
                                       .file_major = major_,
                                       .file_minor = minor_});
    blobs_ = std::move(parsed.blobs);
    model_digest_ = std::move(parsed.model_digest);
    root_text_ = parsed.root_text;
    sections_ = std::move(parsed.sections);
    verified_.reset(new std::atomic<bool>[blobs_.size()]());
  }

  static std::string ToHexFlags(uint32_t flags) {
    char text[16];
    std::snprintf(text, sizeof text, "%x", flags);
    return text;
  }

  BlobView Decode(uint64_t index) const {
    const BlobInfo& blob = blobs_[index];
    const auto stored = file_.subspan(blob.offset, blob.stored_size);
    if (blob.codec.kind == CodecKind::kNone) return {stored, owner_, true};

    // raw_size is bounded by kMaxExpansion x stored_size, itself inside the file.
    std::shared_ptr<std::byte[]> buffer(new (kBufferAlignment) std::byte[blob.raw_size],
                                        AlignedDelete{});
    std::span<std::byte> out(buffer.get(), blob.raw_size);
    std::vector<uint64_t> starts(blob.chunks.size());
    for (size_t k = 1; k < starts.size(); ++k) starts[k] = starts[k - 1] + blob.chunks[k - 1];
    ParallelFor(blob.chunks.size(), options_.threads, [&](size_t k) {
      const auto in = stored.subspan(starts[k], blob.chunks[k]);
      const uint64_t raw_start = k * blob.chunk_size;
      const auto raw = out.subspan(raw_start, std::min(blob.chunk_size, blob.raw_size - raw_start));
      try {
        if (blob.filter == Filter::kShuffle) {
          std::vector<std::byte> shuffled(raw.size());
          DecompressChunk(blob.codec.kind, in, shuffled);
          Unshuffle(shuffled, raw, blob.dtype.itemsize);
        } else {
          DecompressChunk(blob.codec.kind, in, raw);
        }
      } catch (const Error& error) {
        throw Error(error.code(),
                    BlobName(index) + ", chunk " + std::to_string(k) + ": " + error.what());
      }
    });
    return {out, std::shared_ptr<const void>(buffer, buffer.get()), false};
  }

  void CheckDigest(uint64_t index, std::span<const std::byte> bytes) const {
    const Digest actual = Sha256Of(bytes);
    if (actual != blobs_[index].sha256) {
      throw Error(ErrorCode::kChecksumMismatch, BlobName(index) + ": SHA-256 mismatch (manifest " +
                                                    ToHex(blobs_[index].sha256) + ", data " +
                                                    ToHex(actual) + "): the file is corrupt");
    }
    verified_[index].store(true, std::memory_order_release);
  }

  // Layout validation guarantees begin <= end and both inside the file.
  void CheckZeroPadding(uint64_t begin, uint64_t end, uint64_t next_blob) const {
    for (uint64_t at = begin; at < end; ++at) {
      if (file_[at] != std::byte{0}) {
        throw Error(ErrorCode::kOverlap,
                    "nonzero padding byte at offset " + std::to_string(at) + " before " +
                        (next_blob < blobs_.size() ? BlobName(next_blob) : "the manifest") +
                        ": the file was altered");
      }
    }
  }

  std::shared_ptr<const void> owner_;
  std::span<const std::byte> file_;
  ReaderOptions options_;
  uint16_t major_ = 0;
  uint16_t minor_ = 0;
  Footer footer_;
  std::string_view manifest_text_;
  std::string_view root_text_;  // inside manifest_text_
  mutable std::once_flag root_once_;
  mutable Json root_;
  Json sections_;
  std::vector<BlobInfo> blobs_;
  std::string model_digest_;
  std::unique_ptr<std::atomic<bool>[]> verified_;
};

}  // namespace

std::shared_ptr<Reader> Reader::Open(const std::string& path, const ReaderOptions& options) {
  std::shared_ptr<MappedFile> file = MappedFile::Open(path);
  const auto bytes = file->bytes();
  return std::make_shared<ReaderImpl>(std::move(file), bytes, options);
}

std::shared_ptr<Reader> Reader::FromBuffer(std::shared_ptr<const std::vector<std::byte>> buffer,
                                           const ReaderOptions& options) {
  if (buffer == nullptr) throw Error(ErrorCode::kInvalidArgument, "FromBuffer needs a buffer");
  const std::span<const std::byte> bytes(*buffer);
  return std::make_shared<ReaderImpl>(std::move(buffer), bytes, options);
}

}  // namespace ark::format
