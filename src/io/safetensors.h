// SPDX-License-Identifier: MIT
// safetensors: a validating memory-mapped reader (single files and HF shard indexes) and a
// streaming, atomic writer that follows the reference writer's layout.
//
// File layout: u64 little-endian N, N bytes of UTF-8 JSON (an object, possibly padded with
// spaces), then the data buffer. Each JSON entry is
//   "name": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}
// with offsets relative to the data buffer; the optional "__metadata__" entry is a flat
// string -> string map. Sorted by offset, tensors must tile the data buffer exactly: the first
// begins at 0, each begins where the previous ended, the last ends at the end of the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/buffer.h"
#include "tensor/dtype.h"
#include "tensor/quantized_tensor.h"
#include "tensor/shape.h"
#include "tensor/tensor_map.h"
#include "util/mmap_file.h"

namespace lowbit::io {

// The header length the reference reader accepts at most.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;                    // outermost first; [] is a scalar; a 0 dim means no bytes
  const uint8_t* data = nullptr;  // inside the mapping
  size_t size = 0;                // bytes = numel * dtype_size
  size_t offset = 0;              // of `data` within the data buffer
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws FormatError with one line naming the file (and the
  // tensor) on any defect; Unsupported for a valid safetensors dtype lowbit has no DType for.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::string& path() const { return file_->path(); }
  // In data-buffer order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // nullptr when absent.
  const SafetensorsEntry* find(std::string_view name) const;
  // Throws FormatError naming the file and the tensor when absent.
  const SafetensorsEntry& at(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

  // The entry's bytes as a Buffer that keeps the mapping alive. Borrowed when the bytes are
  // aligned to the element size (always so for files this project writes); otherwise an owned
  // copy, so that typed access through Buffer::as<T>() is never misaligned.
  Buffer buffer(const SafetensorsEntry& entry) const;
  // A dense F32/F16/BF16 entry as a QuantizedTensor (borrowed). Throws Unsupported for other
  // dtypes and FormatError for a shape that is not a weight (rank 1..4, positive dims).
  QuantizedTensor dense_tensor(const SafetensorsEntry& entry) const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// Opens the shards named by an HF index (model.safetensors.index.json, whose "weight_map"
// maps tensor names to shard files beside it), each shard once, in name order. Checks that
// every mapped tensor is in its shard and that no tensor appears in two shards.
std::vector<SafetensorsFile> open_safetensors_shards(const std::filesystem::path& index_path);

// All tensors of a single .safetensors file or of the shards of an .index.json, as dense
// borrowed tensors in natural name order. Throws Unsupported for a non-float dtype.
TensorMap read_safetensors_tensors(const std::filesystem::path& path);

// One tensor to write: `bytes` must hold numel(shape) * dtype_size(dtype) bytes and stay
// valid until write_safetensors returns.
// The tensors a reader assembled from `file`, added to `out` in natural name order (as every
// lowbit reader lists them). Throws FormatError naming the file when a name comes twice.
void add_in_natural_order(std::vector<std::pair<std::string, QuantizedTensor>> loaded,
                          const SafetensorsFile& file, TensorMap& out);

struct SafetensorsWriteEntry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  std::span<const uint8_t> bytes;
};

// Writes `entries` atomically in the reference layout: tensors sorted by dtype size
// (descending) then name, back to back; compact JSON header padded with spaces to a multiple
// of 8 bytes, so every tensor is aligned to its element size; "__metadata__" always holds
// {"format": "pt"} plus `metadata`. Tensor bytes are streamed, not gathered in memory.
// Throws InvalidArgument for duplicate names or a byte count that does not match the shape.
void write_safetensors(const std::filesystem::path& path,
                       std::vector<SafetensorsWriteEntry> entries,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace lowbit::io
