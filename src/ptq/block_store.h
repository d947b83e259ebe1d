// SPDX-License-Identifier: MIT
// Finished blocks of a calibrated quantization, kept on disk so that a killed run resumes from
// its last finished block instead of starting over (GPTQ on a large model takes hours).
//
// Layout of the store directory (quantize keeps it beside its output, as OUT.partial):
//   manifest.json   {"lowbit_partial_run": 1, "run": <fingerprint>}
//   block-0007/     a lowbit checkpoint (io/checkpoint.h) of block 7's quantized tensors (its
//                   seven linears; AWQ adds the two norms it rescaled); its quantization block
//                   holds {"run": <fingerprint>, "block": 7, "report": [<LayerReport>...]}
// The fingerprint names everything the block's tensors depend on (model files, scheme, token
// windows, algorithm options); a block is reused only when its fingerprint, index, tensor
// names, shapes and formats all match and its values are finite. Each block directory is
// written atomically, so a kill leaves finished blocks and at most a stale temporary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptq/layer_report.h"
#include "tensor/quant_format.h"
#include "tensor/tensor_map.h"

namespace lowbit::ptq {

// What a stored block's tensor must be to be reused.
struct ExpectedTensor {
  Shape shape;
  QuantFormat format;
};

struct StoredBlock {
  TensorMap tensors;
  std::vector<LayerReport> report;
};

class BlockStore {
 public:
  // Opens `dir` for the run `fingerprint`, creating it when missing. A store of a different run
  // is emptied (with a warning saying so); a directory that is not a store is refused with
  // InvalidArgument naming it, and nothing in it is touched.
  BlockStore(std::filesystem::path dir, nlohmann::json fingerprint);

  // Throws InvalidArgument naming `dir` when it exists and is not a store (what the constructor
  // refuses), so a command can refuse before any work.
  static void check_location(const std::filesystem::path& dir);

  // Block `layer` when it was finished by this run: exactly the tensors of `expected`, each of
  // its shape and format. A block that is present but does not qualify is reported by a
  // warning naming it and the reason, then ignored.
  std::optional<StoredBlock> load(int64_t layer,
                                  const std::map<std::string, ExpectedTensor>& expected) const;

  // Keeps block `layer` (atomically; an older copy is replaced).
  void save(int64_t layer, const TensorMap& tensors, const std::vector<LayerReport>& report) const;

 private:
  std::filesystem::path block_dir(int64_t layer) const;

  std::filesystem::path dir_;
  nlohmann::json fingerprint_;
};

}  // namespace lowbit::ptq
