// SPDX-License-Identifier: MIT
// `lowbit quantize`: applies a scheme and writes a lowbit checkpoint directory or (--format
// gguf) a GGUF file, atomically.
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "cli/calibration_flags.h"
#include "cli/common.h"
#include "cli/subcommands.h"
#include "io/checkpoint.h"
#include "io/gguf.h"
#include "io/gguf_bpe_tokenizer.h"
#include "io/gguf_writer.h"
#include "io/hf_names.h"
#include "io/hf_quantized.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/block_store.h"
#include "ptq/quantize_model.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/log.h"
#include "util/timer.h"

namespace lowbit::cli {
namespace {

// What --format writes.
enum class OutputFormat { lowbit, gguf, compressed_tensors, gptq, awq };

OutputFormat parse_output_format(const std::string& name) {
  if (name == "lowbit") return OutputFormat::lowbit;
  if (name == "gguf") return OutputFormat::gguf;
  if (name == "compressed-tensors") return OutputFormat::compressed_tensors;
  if (name == "gptq") return OutputFormat::gptq;
  if (name == "awq") return OutputFormat::awq;
  throw InvalidArgument(
      concat("--format '", name,
             "' is not an output format (choose lowbit, gguf, compressed-tensors, gptq or awq)"));
}

struct QuantizeArgs {
  ModelOptions model;
  SchemeOptions scheme;
  TargetOptions targets;
  CalibrationFlags calibration;
  std::string report;
  std::string out;
  std::string format = "lowbit";
  bool force = false;
  bool json = false;
};

// OUT.partial: where a calibrated run keeps its finished blocks until OUT is written.
std::filesystem::path partial_run_dir(const std::string& out) {
  std::filesystem::path p = std::filesystem::path(out).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "dir/" names "dir"
  return p.string() + ".partial";
}

// The GGUF scheme nearest to a format GGUF cannot hold.
const char* nearest_gguf_scheme(const QuantFormat& f) {
  if (f.kind == QuantKind::fp8_e4m3 || f.kind == QuantKind::fp8_e5m2) return "q8_0";
  if (f.kind == QuantKind::nf4 || f.kind == QuantKind::iq4_nl) return "iq4_nl";  // codebooks
  if (f.kind == QuantKind::affine_int && f.bits >= 8) return "q8_0";
  // Groups with a zero-point are nearest to ggml's min form (its own asymmetric blocks).
  const bool asymmetric = f.kind == QuantKind::affine_int && !f.symmetric;
  if (f.kind == QuantKind::affine_int && f.bits >= 5) return asymmetric ? "q5_1" : "q5_0";
  return asymmetric ? "q4_1" : "q4_0";
}

std::optional<io::HfQuantLayout> hf_layout(OutputFormat format) {
  switch (format) {
    case OutputFormat::compressed_tensors:
      return io::HfQuantLayout::compressed_tensors;
    case OutputFormat::gptq:
      return io::HfQuantLayout::gptq;
    case OutputFormat::awq:
      return io::HfQuantLayout::awq;
    default:
      return std::nullopt;
  }
}

template <io::HfQuantLayout L>
bool is_hf_directory(const std::filesystem::path& dir) {
  return io::detect_hf_quantized(dir) == L;
}

// What --force may replace for a layout: a directory of the same layout.
bool (*hf_directory_test(io::HfQuantLayout layout))(const std::filesystem::path&) {
  switch (layout) {
    case io::HfQuantLayout::compressed_tensors:
      return is_hf_directory<io::HfQuantLayout::compressed_tensors>;
    case io::HfQuantLayout::gptq:
      return is_hf_directory<io::HfQuantLayout::gptq>;
    case io::HfQuantLayout::awq:
      return is_hf_directory<io::HfQuantLayout::awq>;
  }
  return is_hf_directory<io::HfQuantLayout::awq>;
}

// Refuses, before any work, a scheme whose kind the layout cannot hold at all (the writer
// checks the rest, zero-points and shapes, on the quantized tensors).
void check_hf_scheme(io::HfQuantLayout layout, const std::optional<quant::Scheme>& scheme,
                     const char* flag) {
  if (!scheme) return;
  const QuantFormat& f = scheme->format;
  if (f.is_dense()) return;
  const std::string lname = io::hf_quant_layout_name(layout);
  const std::string what = concat(flag, " ", scheme->name, " (", format_name(f), ")");
  if (layout == io::HfQuantLayout::compressed_tensors) {
    LB_CHECK_ARG(f.kind != QuantKind::nf4 && f.kind != QuantKind::iq4_nl, what,
                 " has no compressed-tensors equivalent; the nearest is an int4 group scheme "
                 "(pack-quantized)");
    LB_CHECK_ARG(f.kind != QuantKind::fp8_e5m2, what,
                 " has no compressed-tensors equivalent; the nearest is fp8 (e4m3)");
    LB_CHECK_ARG(f.kind != QuantKind::trellis, what,
                 " has no compressed-tensors equivalent (lowbit runs trellis codes); the nearest "
                 "is an int4 group scheme (pack-quantized)");
    LB_CHECK_ARG(scheme->act.kind != ActQuantKind::int8_outlier_split, what,
                 " has no compressed-tensors equivalent; the nearest is w8a8");
    return;
  }
  LB_CHECK_ARG(f.kind == QuantKind::affine_int && !scheme->act.enabled(), what, " has no ", lname,
               " equivalent; the nearest is an int4 group scheme");
}

// Refuses, before any work, what `layout` cannot hold given the source's shapes: every tensor
// with the format the schemes will give it (block linears: --scheme, lm_head: --head, the
// embedding: --embed), without buffers, so only zero-point values are left to the writer.
void check_hf_plan(io::HfQuantLayout layout, const ModelSource& source,
                   const ptq::QuantizeOptions& quantize) {
  static constexpr std::string_view kLinears[] = {
      io::kQProj, io::kKProj, io::kVProj, io::kOProj, io::kGateProj, io::kUpProj, io::kDownProj};
  TensorMap plan;
  for (const std::string& name : source.tensors.names()) {
    const QuantizedTensor& t = source.tensors.at(name);
    QuantizedTensor p;
    p.shape = t.shape;
    p.format = t.format.is_dense() ? t.format : QuantFormat::dense(QuantKind::f16);
    const quant::Scheme* scheme = nullptr;
    if (name.starts_with("model.layers.") &&
        std::any_of(std::begin(kLinears), std::end(kLinears),
                    [&name](std::string_view s) { return name.ends_with(s); }))
      scheme = quantize.linear_scheme(name);
    else if (name == io::kLmHead && quantize.head)
      scheme = &*quantize.head;
    else if (name == io::kEmbedTokens && quantize.embed)
      scheme = &*quantize.embed;
    if (scheme != nullptr && !scheme->format.is_dense()) {
      p.format = scheme->format;
      p.act = scheme->act;
    }
    plan.add(name, std::move(p));
  }
  io::check_hf_quant_exportable(layout, plan);
}

// Refuses, before any work, a scheme whose format no GGUF type holds exactly.
void check_gguf_scheme(const std::optional<quant::Scheme>& scheme, const char* flag) {
  if (!scheme) return;
  const QuantFormat& f = scheme->format;
  // The symmetric Q8_0 / Q4_0 / Q5_0 blocks, or the min form's Q4_1 / Q5_1.
  const bool block =
      f.kind == QuantKind::affine_int && f.group_size == 32 && f.scale_dtype == DType::f16;
  const bool exact = f.is_dense() ||
                     (block && f.symmetric && (f.bits == 8 || f.bits == 4 || f.bits == 5)) ||
                     (block && f.min_offset && (f.bits == 4 || f.bits == 5)) ||
                     (f.kind == QuantKind::iq4_nl && f.group_size == 32) || f.k_quant;
  LB_CHECK_ARG(
      exact, flag, " ", scheme->name, " (", format_name(f),
      ") has no GGUF equivalent; the nearest GGUF scheme is ", nearest_gguf_scheme(f),
      " (GGUF export takes f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, q4_k, q5_k, "
      "q6_k)");
}

// general.file_type (llama_ftype) of a whole-model scheme, when it has one.
std::optional<uint32_t> gguf_file_type(const std::optional<quant::Scheme>& scheme) {
  if (!scheme) return std::nullopt;
  const QuantFormat& f = scheme->format;
  if (f.kind == QuantKind::f32) return 0;
  if (f.kind == QuantKind::f16) return 1;
  if (f.kind == QuantKind::bf16) return 32;
  if (f.kind == QuantKind::iq4_nl) return 25;                      // MOSTLY_IQ4_NL
  if (f.k_quant) return f.bits == 4 ? 14 : f.bits == 5 ? 16 : 18;  // Q4_K_S, Q5_K_S, Q6_K
  if (f.kind != QuantKind::affine_int) return std::nullopt;
  if (f.min_offset) return f.bits == 4 ? 3 : 9;  // MOSTLY_Q4_1, MOSTLY_Q5_1
  return f.bits == 4 ? 2 : f.bits == 8 ? 7 : 8;  // MOSTLY_Q4_0, MOSTLY_Q8_0, MOSTLY_Q5_0
}

// llama.cpp's fallback for rows that are not whole blocks: a tensor the scheme made a g32
// format whose rows are not a multiple of 32 columns is written as F16 instead, converted from
// the source's values.
void apply_gguf_fallback(const ModelSource& source, TensorMap& tensors) {
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    if (io::gguf_type_for(t) || t.format.kind != QuantKind::affine_int || t.cols() % 32 == 0)
      continue;
    const QuantizedTensor& from = source.tensors.at(name);
    std::vector<float> w(static_cast<size_t>(from.numel()));
    dequantize_rows_reference(from, 0, from.rows(), w.data());
    log_info("tensor ", name, ": ", t.cols(),
             " columns are not whole blocks of 32; written as F16 (llama.cpp's fallback)");
    tensors.set(name, quant::quantize_rtn(w.data(), from.rows(), from.cols(),
                                          QuantFormat::dense(QuantKind::f16), name));
  }
}

// A serving-engine directory quantizes linears only: the embedding (and head) a quantized
// source stores quantized, and no --embed / --head asked for, is written as its exact f32 values.
void apply_hf_fallback(const ptq::QuantizeOptions& quantize, TensorMap& tensors) {
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    const bool untargeted =
        (name == io::kEmbedTokens && !quantize.embed) || (name == io::kLmHead && !quantize.head);
    if (t.format.is_dense() || !untargeted) continue;
    std::vector<float> w(static_cast<size_t>(t.numel()));
    dequantize_rows_reference(t, 0, t.rows(), w.data());
    log_info("tensor ", name, ": stored ", format_name(t.format), " by the source; written as F32");
    tensors.set(name, QuantizedTensor::from_f32(w.data(), t.shape));
  }
}

bool is_gguf_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

// --out for a GGUF file: new, or (with --force) an existing GGUF file.
void check_output_file(const std::string& out, bool force) {
  namespace fs = std::filesystem;
  for (const std::string& line : remove_stale_temporaries(out)) log_info("lowbit: ", line);
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (!fs::exists(st)) return;
  LB_CHECK_ARG(fs::is_regular_file(st) && is_gguf_file(out), "--out ", out,
               ": exists and is not a GGUF file; refusing to replace it (choose another path)");
  LB_CHECK_ARG(force, "--out ", out, ": already holds a GGUF file; pass --force to replace it");
}

int run_quantize(const QuantizeArgs& a) {
  const OutputFormat format = parse_output_format(a.format);
  const ptq::QuantizeOptions quantize = resolve_quantize(a.scheme, a.targets);
  LB_CHECK_ARG(!quantize.empty(),
               "give --scheme NAME (see `lowbit schemes`), --bits N, --head or --embed");
  if (format == OutputFormat::gguf) {
    check_gguf_scheme(quantize.linear, "--scheme");
    for (const ptq::TensorRule& rule : quantize.rules)
      check_gguf_scheme(rule.scheme, "--tensor-type");
    check_gguf_scheme(quantize.head, "--head");
    check_gguf_scheme(quantize.embed, "--embed");
  }
  const bool calibrates = ptq::needs_calibration(quantize) || !a.calibration.mix.empty();
  LB_CHECK_ARG(a.report.empty() || calibrates,
               "--report needs a calibrated scheme (gptq-*) and --calib: the errors are measured "
               "on the calibration inputs");
  const std::optional<io::HfQuantLayout> layout = hf_layout(format);
  if (layout) {
    check_hf_scheme(*layout, quantize.linear, "--scheme");
    for (const ptq::TensorRule& rule : quantize.rules)
      check_hf_scheme(*layout, rule.scheme, "--tensor-type");
    check_hf_scheme(*layout, quantize.head, "--head");
    check_hf_scheme(*layout, quantize.embed, "--embed");
  }
  if (format == OutputFormat::gguf) {
    check_output_file(a.out, a.force);
  } else if (layout) {
    const std::string what = concat("a ", io::hf_quant_layout_name(*layout), " directory");
    check_output_directory(a.out, a.force, hf_directory_test(*layout), what.c_str());
  } else {
    check_output_directory(a.out, a.force, io::is_lowbit_checkpoint, "a lowbit checkpoint");
  }
  const std::filesystem::path resume_dir =
      calibrates ? partial_run_dir(a.out) : std::filesystem::path();
  if (!resume_dir.empty()) ptq::BlockStore::check_location(resume_dir);
  ModelSource source = open_model(a.model);
  decode_ggml_only_formats(source);
  quantize.check_rules(model::LlamaConfig::from_json(source.config));
  if (layout) check_hf_plan(*layout, source, quantize);
  // A GGUF export carries the tokenizer as GGUF keys: those of a .gguf source, the vocabulary
  // of a SentencePiece tokenizer (llama2.c tokenizer.bin, Llama-2 tokenizer.json), or a
  // byte-level BPE tokenizer.json beside the weights (HF directory, lowbit checkpoint).
  std::vector<io::GgufKv> gguf_tokenizer;
  if (format == OutputFormat::gguf) {
    const std::filesystem::path bpe_json = source.path / "tokenizer.json";
    const SpmVocab* vocab = source.tokenizer ? source.tokenizer->spm_vocab() : nullptr;
    if (source.format == "gguf") {
      gguf_tokenizer = io::gguf_tokenizer_metadata(io::GgufFile::open(source.path));
    } else if (vocab != nullptr) {
      gguf_tokenizer = io::gguf_spm_tokenizer_metadata(*vocab);
    } else {
      LB_CHECK_ARG(source.tokenizer && std::filesystem::is_regular_file(bpe_json),
                   "--format gguf needs the tokenizer as GGUF keys: a .gguf source, a "
                   "SentencePiece vocabulary or a byte-level BPE tokenizer.json; ",
                   source.path.string(), " (", source.format, ") has none (use --format lowbit)");
      gguf_tokenizer = io::gguf_bpe_tokenizer_metadata(bpe_json, source.config);
    }
  }
  if (const std::string problem = tokenizer_problem(source); !problem.empty()) {
    log_warning("the checkpoint gets no tokenizer: ", problem);
  }
  const std::string baseline = check_requantize(source, a.scheme);
  kernels::ExecContext ctx = make_context(a.model);
  Timer timer;
  // Calibrated runs keep finished blocks beside the output (resume_dir), so a killed run
  // resumes.
  ptq::CalibratedModel calibrated;
  try {
    calibrated = quantize_with_flags(source, quantize, a.calibration, ctx, resume_dir);
  } catch (...) {
    std::error_code ec;
    if (!resume_dir.empty() && std::filesystem::exists(resume_dir / "manifest.json", ec))
      log_info("finished blocks are kept in ", resume_dir.string(),
               "; the same command resumes from them");
    throw;
  }
  ptq::QuantizedModel& q = calibrated.model;
  if (!a.report.empty())
    write_file_atomic(a.report, layer_report_json(calibrated, quantize).dump(2) + "\n");
  nlohmann::json quantization = q.quantization;
  quantization["source"] = source.path.string();
  quantization["source_format"] = source.format;
  // What the scheme was applied to: the original weights, or a quantized model's dequantized
  // values (then the source's own scheme is kept too).
  quantization["quantized_from"] = baseline;
  if (const std::string stored = stored_quantization(source); !stored.empty())
    quantization["source_scheme"] = stored;
  const std::shared_ptr<Tokenizer> tokenizer = source.tokenizer;
  if (format == OutputFormat::gguf) {
    apply_gguf_fallback(source, q.tensors);
    const model::TensorSizes sizes =
        model::tensor_sizes(model::LlamaConfig::from_json(source.config), q.tensors);
    q.linear_bits_per_weight = sizes.bits_per_weight;
    q.file_bits_per_weight = sizes.file_bits_per_weight;
    q.bytes = sizes.bytes;
    io::write_gguf(a.out, source.config, q.tensors, gguf_tokenizer,
                   gguf_file_type(quantize.linear));
  } else if (layout) {
    apply_hf_fallback(quantize, q.tensors);
    io::write_hf_quantized(
        a.out, *layout, source.config, q.tensors,
        [&](const std::filesystem::path& dir) {
          if (tokenizer) tokenizer->save(dir);
        },
        a.force);
  } else {
    io::write_checkpoint(
        a.out, source.config, quantization, q.tensors,
        [&](const std::filesystem::path& dir) {
          if (tokenizer) tokenizer->save(dir);
        },
        a.force);
  }
  if (!resume_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(resume_dir, ec);
    if (ec) log_warning("could not remove ", resume_dir.string(), ": ", ec.message());
  }
  const double seconds = timer.seconds();
  // With --mix, the planned mix.
  const std::string scheme_name = q.quantization.value("scheme", quantize.name());
  if (a.json) {
    print_json({{"out", a.out},
                {"scheme", scheme_name},
                {"quantized_from", baseline},
                {"bytes", q.bytes},
                {"bits_per_weight", q.linear_bits_per_weight},
                {"file_bits_per_weight", q.file_bits_per_weight},
                {"seconds", seconds}});
  } else {
    std::printf(
        "wrote %s: scheme %s from %s, %s, %.4f bits per weight over the linear layers, %.4f over "
        "all tensors (%.1f s)\n",
        a.out.c_str(), scheme_name.c_str(), baseline.c_str(),
        human_bytes(static_cast<double>(q.bytes)).c_str(), q.linear_bits_per_weight,
        q.file_bits_per_weight, seconds);
  }
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("quantize",
                                 "Quantize a model and write a lowbit checkpoint or a GGUF file");
  auto a = std::make_shared<QuantizeArgs>();
  add_model_options(cmd, a->model);
  add_scheme_options(cmd, a->scheme);
  add_target_options(cmd, a->targets);
  add_calibration_flags(cmd, a->calibration);
  cmd->add_option("--report", a->report,
                  "Write per-layer relative output errors (method and RTN) to FILE.json");
  cmd->add_option("-o,--out", a->out,
                  "Output: a checkpoint directory (new or empty; see --force), or FILE.gguf with "
                  "--format gguf")
      ->required();
  cmd->add_option("--format", a->format,
                  "Output format: lowbit (checkpoint directory, default), gguf (llama.cpp file; "
                  "schemes f32 f16 bf16 q8_0 q4_0 q5_0; tokenizer from a .gguf source or a "
                  "SentencePiece vocabulary), compressed-tensors (vLLM directory: int 2..8-bit "
                  "group/channel, w8a8, fp8), gptq or awq (transformers directories: 4-bit group "
                  "schemes; gptq also 2/8-bit)");
  cmd->add_flag("--force", a->force,
                "Replace an existing lowbit checkpoint (or GGUF file with --format gguf) at --out");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_quantize(*a); }; });
}

}  // namespace lowbit::cli
