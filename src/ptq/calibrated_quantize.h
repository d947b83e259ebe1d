// SPDX-License-Identifier: MIT
// The layer-sequential calibration driver, as GPTQ's reference runs it: the calibration
// windows go through the model block by block; for each block the input rows of its linear
// layers are observed (ptq/input_stats.h), the block's linears are quantized from those
// statistics, and the QUANTIZED block's outputs become the next block's inputs, so each block
// corrects for the error of the blocks before it. Memory stays at one block's weights (bound
// from the source map, which borrows from the mapped file where the format allows) plus the
// calibration activations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "ptq/block_store.h"
#include "ptq/layer_report.h"
#include "ptq/quantize_model.h"
#include "ptq/sensitivity.h"
#include "ptq/smooth_block.h"
#include "quant/awq.h"
#include "quant/gptq.h"

namespace lowbit::ptq {

struct CalibrationOptions {
  quant::GptqOptions gptq;  // pool is set by the driver
  quant::AwqOptions awq;
  SmoothOptions smooth;            // smoothquant / static schemes (w8a8-static, fp8-static)
  int64_t max_sample_rows = 4096;  // input rows kept per linear input for searches
  // GPTQ: observe o's input again after q/k/v are quantized, gate/up's after o, down's after
  // gate/up (the reference's --true-sequential), so each linear compensates for the
  // quantization error of the linears before it in its block. Three more passes per block.
  bool true_sequential = false;
  // GPTQ: move each linear's target toward the UNQUANTIZED model's output on its own inputs
  // by this strength in [0, 1] (ptq/float_target.h), so each layer also corrects part of the
  // drift the quantized layers before it caused; 0 is off. One more block pass per observed
  // input and two more cols^2 accumulators; the report's errors are then against the
  // unquantized output.
  double match_float = 0;
};

struct CalibrationProgress {
  int64_t block = 0, blocks = 0;  // blocks done, total
  double seconds = 0, eta_seconds = 0;
  std::string worst_layer;  // the block's linear with the largest relative output error
  double worst_error = 0;
  bool resumed = false;  // the block was taken from the BlockStore, not quantized again
};

struct CalibratedModel {
  QuantizedModel model;
  std::vector<LayerReport> report;
  SensitivityRun sensitivity = {};  // what --mix planned from, else empty
};

// Quantizes `source` with the calibrated algorithm of options.linear (gptq or awq) on `windows`
// (each a run of token ids of one length; see calibration_windows). The head and embedding get
// options.head / options.embed by RTN afterwards. Deterministic at any thread count.
// With a `store`, each finished block is saved there, and blocks it already holds for this
// run are taken from it (their outputs recomputed from the stored quantized weights), so a
// resumed run gives the same result as an uninterrupted one, bit for bit.
CalibratedModel quantize_calibrated(
    const ModelSource& source, const QuantizeOptions& options,
    const std::vector<std::vector<int32_t>>& windows, const CalibrationOptions& calibration,
    kernels::ExecContext& ctx, const std::function<void(const CalibrationProgress&)>& progress = {},
    const BlockStore* store = nullptr);

// What the result of quantize_calibrated depends on besides the model's tensors: scheme,
// targets, a hash of the token windows and the algorithm's options (a BlockStore fingerprint).
nlohmann::json calibration_fingerprint(const QuantizeOptions& options,
                                       const std::vector<std::vector<int32_t>>& windows,
                                       const CalibrationOptions& calibration);

// True when `options` needs calibration data (its linear scheme is gptq, awq, smoothquant or
// has static activation scales).
bool needs_calibration(const QuantizeOptions& options);
// The algorithms quantize_smooth_block runs: "smoothquant" and "static".
bool is_smooth_algorithm(const std::string& algorithm);

}  // namespace lowbit::ptq
