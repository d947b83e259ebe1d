// SPDX-License-Identifier: MIT
// Tensor-by-tensor quantization of a model's linear weights (and, when asked, its output head
// and token embedding).
#include "ptq/quantize_model.h"

#include <map>
#include <mutex>
#include <vector>

#include "io/hf_names.h"
#include "kernels/kernels.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "quant/ggml_rtn.h"
#include "quant/hqq.h"
#include "quant/rtn.h"
#include "util/check.h"

namespace lowbit::ptq {

namespace {

constexpr const char* kEmbedName = "model.embed_tokens.weight";
constexpr const char* kHeadName = "lm_head.weight";

struct Job {
  std::string name;
  const quant::Scheme* scheme;
};

// The data-free algorithms quantize_model runs itself; gptq and awq need calibration
// (ptq/calibrated_quantize.h).
void check_data_free(const quant::Scheme& scheme) {
  LB_CHECK_ARG(is_data_free(scheme), "scheme ", scheme.name, " needs calibration data (algorithm ",
               scheme.algorithm, "): give --calib FILE");
}

// The head and embedding jobs. A tied head is the embedding tensor itself.
void add_head_and_embed(const ModelSource& source, const model::LlamaConfig& config,
                        const QuantizeOptions& options, std::vector<Job>& jobs) {
  const bool tied = config.tie_embeddings && !source.tensors.contains(kHeadName);
  if (tied) {
    if (options.head && options.embed)
      LB_CHECK_ARG(options.head->format == options.embed->format,
                   "the head is tied to the embedding (one tensor): --head ", options.head->name,
                   " and --embed ", options.embed->name, " must not differ");
    const auto& scheme = options.head ? options.head : options.embed;
    if (scheme) jobs.push_back({kEmbedName, &*scheme});
    return;
  }
  if (options.head) jobs.push_back({kHeadName, &*options.head});
  if (options.embed) jobs.push_back({kEmbedName, &*options.embed});
}

}  // namespace

bool is_data_free(const quant::Scheme& scheme) {
  return scheme.algorithm == "rtn" || scheme.algorithm == "hqq" || scheme.algorithm == "ggml";
}

QuantizedTensor quantize_data_free(const float* w, int64_t rows, int64_t cols,
                                   const quant::Scheme& scheme, const std::string& name,
                                   ThreadPool* pool) {
  QuantizedTensor q;
  if (scheme.algorithm == "hqq") {
    q = quant::quantize_hqq(w, rows, cols, scheme.format, {}, name);
  } else if (scheme.algorithm == "ggml") {
    q = quant::quantize_ggml(w, rows, cols, scheme.name, name);
  } else {
    q = quant::quantize_rtn(w, rows, cols, scheme.format, name, pool);
  }
  q.act = scheme.act;
  return q;
}

TensorRule::TensorRule(std::string pattern_, quant::Scheme scheme_)
    : pattern(std::move(pattern_)), scheme(std::move(scheme_)) {
  LB_CHECK_ARG(!pattern.empty(), "--tensor-type ", pattern, "=", scheme.name,
               ": the pattern is empty");
  try {
    regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw InvalidArgument(concat("--tensor-type ", pattern, "=", scheme.name,
                                 ": not a valid regular expression (", e.what(), ")"));
  }
}

bool TensorRule::matches(const std::string& hf_name) const {
  if (std::regex_search(hf_name, *regex)) return true;
  const std::optional<std::string> gguf = io::gguf_name_from_hf(hf_name);
  return gguf && std::regex_search(*gguf, *regex);
}

std::string QuantizeOptions::name() const {
  std::string out = linear ? linear->name : "unchanged";
  if (!label.empty())
    out = label;
  else
    for (const TensorRule& r : rules) out += " " + r.pattern + "=" + r.scheme.name;
  if (head) out += " head=" + head->name;
  if (embed) out += " embed=" + embed->name;
  return out;
}

const quant::Scheme* QuantizeOptions::linear_scheme(const std::string& hf_name) const {
  for (const TensorRule& r : rules)
    if (r.matches(hf_name)) return &r.scheme;
  return linear ? &*linear : nullptr;
}

std::vector<const quant::Scheme*> QuantizeOptions::linear_schemes() const {
  std::vector<const quant::Scheme*> out;
  if (linear) out.push_back(&*linear);
  for (const TensorRule& r : rules) out.push_back(&r.scheme);
  return out;
}

void QuantizeOptions::check_rules(const model::LlamaConfig& config) const {
  if (rules.empty()) return;
  LB_CHECK_ARG(linear.has_value(), "--tensor-type ", rules[0].pattern, "=", rules[0].scheme.name,
               " needs --scheme: the scheme of the linears no rule matches");
  std::vector<bool> used(rules.size(), false);
  model::for_each_linear(config, [&](const std::string& name, const Shape&) {
    for (size_t i = 0; i < rules.size(); ++i)
      if (rules[i].matches(name)) {
        used[i] = true;
        break;
      }
  });
  for (size_t i = 0; i < rules.size(); ++i)
    LB_CHECK_ARG(used[i], "--tensor-type ", rules[i].pattern, "=", rules[i].scheme.name,
                 " matches no block linear that an earlier rule leaves (names look like ",
                 "model.layers.0.self_attn.v_proj.weight or blk.0.attn_v.weight)");
}

void add_tensor_rules(const QuantizeOptions& options, const model::LlamaConfig& config,
                      nlohmann::json& quantization) {
  if (options.rules.empty()) return;
  nlohmann::json out = nlohmann::json::array();
  for (const TensorRule& r : options.rules) {
    nlohmann::json tensors = nlohmann::json::array();
    model::for_each_linear(config, [&](const std::string& name, const Shape&) {
      if (options.linear_scheme(name) == &r.scheme) tensors.push_back(name);
    });
    out.push_back({{"pattern", r.pattern},
                   {"scheme", r.scheme.name},
                   {"algorithm", r.scheme.algorithm},
                   {"format", format_name(r.scheme.format)},
                   {"tensors", std::move(tensors)}});
  }
  quantization["tensor_types"] = std::move(out);
}

QuantizedModel quantize_model(const ModelSource& source, const QuantizeOptions& options,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress) {
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  options.check_rules(config);
  for (const quant::Scheme* s : options.linear_schemes()) check_data_free(*s);
  if (options.head) check_data_free(*options.head);
  if (options.embed) check_data_free(*options.embed);
  std::vector<Job> jobs;
  model::for_each_linear(config, [&](const std::string& name, const Shape& shape) {
    const QuantizedTensor& t = source.tensors.at(name);
    LB_CHECK_FORMAT(t.shape == shape, "tensor ", name, " has shape ", shape_string(t.shape),
                    ", expected ", shape_string(shape));
    if (const quant::Scheme* scheme = options.linear_scheme(name)) jobs.push_back({name, scheme});
  });
  const size_t n_linear = jobs.size();
  add_head_and_embed(source, config, options, jobs);
  // Validated before any work starts: a NaN in the file is the file's defect, reported as
  // such and before any progress line.
  for (const Job& job : jobs) {
    LB_CHECK_FORMAT(source.tensors.contains(job.name), source.path.string(), ": no tensor ",
                    job.name);
    source.tensors.at(job.name).check_finite(job.name);
    // Pages of a mapped source are dropped once read (here and after quantizing below), so a
    // model quantized in memory is not also held resident as its source.
    source.tensors.at(job.name).release_pages();
  }

  std::vector<QuantizedTensor> out(jobs.size());
  std::mutex progress_mutex;
  int64_t done = 0;
  // One tensor per task: each output is produced by exactly one task, so the result does not
  // depend on the thread count.
  ctx.pool->parallel_for(0, static_cast<int64_t>(jobs.size()), 1, [&](int64_t b, int64_t e) {
    std::vector<float> dense;
    for (int64_t i = b; i < e; ++i) {
      const Job& job = jobs[static_cast<size_t>(i)];
      const QuantizedTensor& t = source.tensors.at(job.name);
      const float* w = nullptr;
      if (t.format.kind == QuantKind::f32) {
        w = t.codes.as<float>();
      } else {
        dense.resize(static_cast<size_t>(t.numel()));
        kernels::dequantize_rows(t, 0, t.rows(), dense.data());
        w = dense.data();
      }
      QuantizedTensor& q = out[static_cast<size_t>(i)];
      q = quantize_data_free(w, t.rows(), t.cols(), *job.scheme, job.name);
      t.release_pages();
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      if (progress)
        progress({done, static_cast<int64_t>(jobs.size()), job.name, t.storage_bytes(),
                  q.storage_bytes()});
    }
  });

  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < jobs.size(); ++i) index[jobs[i].name] = i;
  QuantizedModel result;
  for (const std::string& name : source.tensors.names()) {
    const auto it = index.find(name);
    result.tensors.add(name, it == index.end() ? source.tensors.at(name) : out[it->second]);
  }
  LB_CHECK(result.tensors.names().size() == source.tensors.names().size(),
           "internal: lost a tensor");
  const model::TensorSizes sizes = model::tensor_sizes(config, result.tensors);
  result.linear_bits_per_weight = sizes.bits_per_weight;
  result.file_bits_per_weight = sizes.file_bits_per_weight;
  result.bytes = sizes.bytes;
  result.quantization = {{"scheme", options.name()},
                         {"bits_per_weight", result.linear_bits_per_weight},
                         {"file_bits_per_weight", result.file_bits_per_weight}};
  if (options.linear) {
    const quant::Scheme& scheme = *options.linear;
    result.quantization["algorithm"] = scheme.algorithm;
    result.quantization["format"] = format_name(scheme.format);
    result.quantization["bits"] = scheme.format.bits;
    result.quantization["group_size"] = scheme.format.group_size;
    result.quantization["symmetric"] = scheme.format.symmetric;
    result.quantization["targets"] = "linear layers of every block (q,k,v,o,gate,up,down)";
    add_tensor_rules(options, config, result.quantization);
  }
  for (size_t i = n_linear; i < jobs.size(); ++i) {
    const bool embed = jobs[i].name == kEmbedName;
    const bool tied = embed && config.tie_embeddings && !source.tensors.contains(kHeadName);
    const nlohmann::json entry = {{"tensor", jobs[i].name},
                                  {"scheme", jobs[i].scheme->name},
                                  {"format", format_name(jobs[i].scheme->format)},
                                  {"tied", tied}};
    if (tied) {
      result.quantization["head"] = entry;
      result.quantization["embed"] = entry;
    } else {
      result.quantization[embed ? "embed" : "head"] = entry;
    }
  }
  return result;
}

QuantizedModel quantize_model(const ModelSource& source, const quant::Scheme& scheme,
                              kernels::ExecContext& ctx,
                              const std::function<void(const QuantizeProgress&)>& progress) {
  return quantize_model(source, QuantizeOptions{scheme, std::nullopt, std::nullopt}, ctx, progress);
}

}  // namespace lowbit::ptq
