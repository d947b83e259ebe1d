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
#include "ptq/quantize_model.h"
#include "quant/awq.h"
#include "quant/gptq.h"

namespace lowbit::ptq {

struct CalibrationOptions {
  quant::GptqOptions gptq;  // pool is set by the driver
  quant::AwqOptions awq;
  int64_t max_sample_rows = 4096;  // input rows kept per linear input for searches
};

// Per linear layer: the relative output error ||W X - Q X||^2 / ||W X||^2 on the calibration
// rows, for the chosen method and for RTN in the same format.
struct LayerReport {
  std::string name;
  std::string method;
  double error = 0;
  double rtn_error = 0;
  double damp = 0;  // GPTQ: relative dampening that factorized
  bool rtn_fallback = false;
};

struct CalibrationProgress {
  int64_t block = 0, blocks = 0;  // blocks done, total
  double seconds = 0, eta_seconds = 0;
  std::string worst_layer;  // the block's linear with the largest relative output error
  double worst_error = 0;
};

struct CalibratedModel {
  QuantizedModel model;
  std::vector<LayerReport> report;
};

// Quantizes `source` with the calibrated algorithm of options.linear (gptq or awq) on `windows`
// (each a run of token ids of one length; see calibration_windows). The head and embedding get
// options.head / options.embed by RTN afterwards. Deterministic at any thread count.
CalibratedModel quantize_calibrated(
    const ModelSource& source, const QuantizeOptions& options,
    const std::vector<std::vector<int32_t>>& windows, const CalibrationOptions& calibration,
    kernels::ExecContext& ctx,
    const std::function<void(const CalibrationProgress&)>& progress = {});

// True when `options` needs calibration data (its linear scheme is gptq or awq).
bool needs_calibration(const QuantizeOptions& options);

}  // namespace lowbit::ptq
