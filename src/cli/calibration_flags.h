// SPDX-License-Identifier: MIT
// The calibration flags shared by quantize, eval and sweep (--calib FILE and friends), and the
// one function that quantizes a model with or without calibration.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "io/model_source.h"
#include "io/tokenizer.h"
#include "kernels/exec_context.h"
#include "model/llama_model.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/quantize_model.h"

namespace lowbit::cli {

struct CalibrationFlags {
  std::string calib;  // UTF-8 text; required by gptq-* and awq-* schemes
  int64_t samples = 128;
  int64_t seq_len = 512;  // capped at the model's context
  uint64_t seed = 0;
  double damp = 0.01;
  int64_t block_size = 128;
  bool act_order = false;
  bool mse_clip = false;
  bool true_sequential = false;
  double match_float = 0;
  std::string alpha = "0.5";        // SmoothQuant migration strength in [0, 1], or "auto"
  std::optional<double> threshold;  // llm-int8: |x| that routes an input column to f32
  // Mixed bit widths by measured sensitivity: linears most sensitive per extra bit get `mix`
  // while the linears average at most target_bpw bits per weight.
  std::string mix;
  double target_bpw = 0;
  int64_t mix_samples = 2;      // calibration windows the sensitivities are measured on
  std::string mix_sensitivity;  // a --report with sensitivities to reuse instead of measuring
};

// --calib, --calib-samples, --calib-seq-len, --seed, --damp, --block-size, --act-order,
// --mse-clip, --true-sequential, --match-float, --alpha, --threshold, --mix, --target-bpw,
// --mix-samples, --mix-sensitivity.
void add_calibration_flags(CLI::App* cmd, CalibrationFlags& flags);

// fp8 KV-cache scales from flags.calib: amax / 448 per layer over calibration windows drawn as
// the weight calibration draws them (flags.samples x flags.seq_len tokens, BOS first).
kernels::KvFormat calibrated_fp8_kv(const CalibrationFlags& flags, const model::LlamaModel& model,
                                    const Tokenizer& tokenizer, kernels::ExecContext& ctx);

// Quantizes `source` as `options` says: RTN/HQQ directly, GPTQ on calibration windows drawn
// from flags.calib (tokenized with the model's tokenizer). Throws InvalidArgument naming --calib
// when a calibrated scheme has no --calib, or --calib is given for a scheme that ignores it.
// With a `resume_dir`, calibrated runs keep their finished blocks there (ptq/block_store.h)
// and take the ones an earlier, killed run of the same job left; the caller removes it once
// its output is written.
ptq::CalibratedModel quantize_with_flags(const ModelSource& source,
                                         const ptq::QuantizeOptions& options,
                                         const CalibrationFlags& flags, kernels::ExecContext& ctx,
                                         const std::filesystem::path& resume_dir = {});

// The sensitivities a --report of a --mix run holds (FormatError naming `path` when it has
// none or they are not KL divergences).
ptq::SensitivityRun read_sensitivity_report(const std::string& path);

// The --report document: per linear layer, the method's and RTN's relative output error (and,
// with --mix, its measured sensitivity).
nlohmann::json layer_report_json(const ptq::CalibratedModel& model,
                                 const ptq::QuantizeOptions& options);

}  // namespace lowbit::cli
