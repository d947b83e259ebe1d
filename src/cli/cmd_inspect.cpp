// SPDX-License-Identifier: MIT
// `lowbit inspect`: every tensor with shape, how the file stores it and how lowbit loaded it
// (format, size); parameter count and bits per weight, stored and loaded.
#include <algorithm>
#include <cstdio>

#include "cli/common.h"
#include "cli/kv_cache_flags.h"
#include "cli/subcommands.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct InspectArgs {
  ModelOptions model;
  KvCacheFlags kv;
  int64_t ctx = 0;  // 0: the model's context
  bool json = false;
};

// Parameters and bytes of a set of tensors, loaded and as the file stores them.
struct Totals {
  int64_t params = 0;
  size_t bytes = 0;         // as loaded (QuantizedTensor::storage_bytes)
  size_t stored_bytes = 0;  // as in the file

  void add(const QuantizedTensor& t, size_t stored) {
    params += t.numel();
    bytes += t.storage_bytes();
    stored_bytes += stored;
  }
  static double bpw(size_t b, int64_t p) {
    return p != 0 ? 8.0 * static_cast<double>(b) / static_cast<double>(p) : 0.0;
  }
  double loaded_bpw() const { return bpw(bytes, params); }
  double stored_bpw() const { return bpw(stored_bytes, params); }
};

int run_inspect(const InspectArgs& a) {
  // inspect reads no tokenizer: it reports weights, and an unsupported vocabulary must not
  // stop it.
  ModelSource source = open_model(a.model, /*load_tokenizer=*/false);
  const model::LlamaConfig config = model::LlamaConfig::from_json(source.config);
  std::vector<std::string> linear;
  model::for_each_linear(config, [&](const std::string& n, const Shape&) { linear.push_back(n); });
  auto is_linear = [&](const std::string& n) {
    return std::find(linear.begin(), linear.end(), n) != linear.end();
  };
  nlohmann::json tensors = nlohmann::json::array();
  Totals all, lin;
  for (const std::string& name : source.tensors.names()) {
    const QuantizedTensor& t = source.tensors.at(name);
    // Sources without a `stored` entry hold tensors as the file stores them.
    const auto it = source.stored.find(name);
    const StoredTensor stored =
        it != source.stored.end() ? it->second
                                  : StoredTensor{format_name(t.format), t.storage_bytes(),
                                                 t.codes.owned() ? "read into memory" : "borrowed"};
    all.add(t, stored.bytes);
    if (is_linear(name)) lin.add(t, stored.bytes);
    tensors.push_back({{"name", name},
                       {"shape", t.shape},
                       {"stored_type", stored.type},
                       {"stored_bytes", stored.bytes},
                       {"loaded_as", stored.loaded_as},
                       {"format", format_name(t.format)},
                       {"bytes", t.storage_bytes()},
                       {"bits_per_weight", t.bits_per_weight()}});
    if (t.act.enabled()) tensors.back()["activations"] = act_quant_label(t.act);
  }
  // bits_per_weight is over the linear layers (what a quantization scheme controls);
  // file_* figures are over every tensor; stored_* count the bytes as the file holds them.
  nlohmann::json out = {{"model", source.path.string()},
                        {"source_format", source.format},
                        {"config", config.to_json()},
                        {"parameters", all.params},
                        {"bytes", all.bytes},
                        {"stored_bytes", all.stored_bytes},
                        {"file_bits_per_weight", all.loaded_bpw()},
                        {"stored_file_bits_per_weight", all.stored_bpw()},
                        {"linear_parameters", lin.params},
                        {"linear_bytes", lin.bytes},
                        {"stored_linear_bytes", lin.stored_bytes},
                        {"bits_per_weight", lin.loaded_bpw()},
                        {"stored_bits_per_weight", lin.stored_bpw()},
                        {"tensors", tensors}};
  if (!source.quantization.is_null()) out["quantization"] = source.quantization;
  out["kv_cache"] =
      kv_memory_json(config, kv_format_of(a.kv), a.ctx > 0 ? a.ctx : config.max_seq_len,
                     static_cast<double>(all.bytes), a.kv.memory_gib);
  if (a.json) {
    print_json(out);
    return 0;
  }
  std::printf("%-48s %-16s %-8s %12s %-22s %-18s %12s %8s\n", "tensor", "shape", "stored",
              "stored bytes", "loaded as", "format", "bytes", "bits/w");
  for (const auto& t : tensors) {
    std::string format = t["format"].get<std::string>();
    if (t.contains("activations")) format += ", " + t["activations"].get<std::string>();
    std::printf("%-48s %-16s %-8s %12zu %-22s %-18s %12zu %8.4f\n",
                t["name"].get<std::string>().c_str(), shape_string(t["shape"].get<Shape>()).c_str(),
                t["stored_type"].get<std::string>().c_str(), t["stored_bytes"].get<size_t>(),
                t["loaded_as"].get<std::string>().c_str(), format.c_str(), t["bytes"].get<size_t>(),
                t["bits_per_weight"].get<double>());
  }
  auto summary = [&](const char* what, const Totals& s) {
    std::printf(
        "%s: %lld parameters; stored %s, %.4f bits per weight; loaded %s, %.4f bits per "
        "weight\n",
        what, static_cast<long long>(s.params),
        human_bytes(static_cast<double>(s.stored_bytes)).c_str(), s.stored_bpw(),
        human_bytes(static_cast<double>(s.bytes)).c_str(), s.loaded_bpw());
  };
  std::printf("\n%s (%s)\n", source.path.string().c_str(), source.format.c_str());
  summary("all tensors", all);
  summary("linear layers", lin);
  std::printf("%s\n", kv_memory_line(out["kv_cache"]).c_str());
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("inspect", "List tensors, formats, sizes and bits per weight");
  auto a = std::make_shared<InspectArgs>();
  add_model_options(cmd, a->model);
  add_kv_cache_flags(cmd, a->kv, /*memory=*/true);
  cmd->add_option("--ctx", a->ctx, "Context for the KV cache figures (default: the model's)")
      ->check(integer_range(1, int64_t{1} << 30));
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([&action, a] { action = [a] { return run_inspect(*a); }; });
}

}  // namespace lowbit::cli
