// SPDX-License-Identifier: MIT
// Writes the seed inputs that need lowbit's own writers: one lowbit checkpoint per built-in
// scheme (config.json, NUL, model.safetensors) for checkpoint_fuzz, and single-file and
// index + shard inputs for safetensors_fuzz (see the targets for the input layouts). Tiny
// tensors keep every seed a few KB. tools/fuzz.sh runs it; usage: lowbit_fuzz_seeds OUT_DIR.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "quant/rtn.h"
#include "quant/scheme.h"
#include "util/error.h"

namespace {

namespace fs = std::filesystem;
using namespace lowbit;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A deterministic, non-constant [rows, cols] weight.
std::vector<float> weight(int64_t rows, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i)) * 0.1f;
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out / "checkpoint");
  fs::create_directories(out / "safetensors");
  const fs::path work = out / "work";
  const nlohmann::json config = {{"model_type", "llama"},    {"hidden_size", 64},
                                 {"intermediate_size", 128}, {"num_hidden_layers", 1},
                                 {"num_attention_heads", 4}, {"vocab_size", 32}};
  const std::vector<float> w = weight(8, 64);
  const std::vector<float> norm = weight(1, 64);
  try {
    for (const quant::Scheme& scheme : quant::builtin_schemes()) {
      TensorMap tensors;
      tensors.add("model.layers.0.mlp.down_proj.weight",
                  quant::quantize_rtn(w.data(), 8, 64, scheme.format, "down_proj"));
      tensors.add("model.norm.weight", QuantizedTensor::from_f32(norm.data(), {64}));
      // One scratch checkpoint, replaced for each scheme.
      io::write_checkpoint(work, config, nlohmann::json{{"scheme", scheme.name}}, tensors, {},
                           /*replace=*/true);
      const std::string weights = slurp(work / "model.safetensors");
      spill(out / "checkpoint" / (scheme.name + ".seed"),
            slurp(work / "config.json") + std::string(1, '\0') + weights);
      spill(out / "safetensors" / (scheme.name + ".seed"), std::string(1, '\0') + weights);
      // The same tensors as an HF index naming one shard (the target calls it shard.safetensors).
      nlohmann::json index = {{"metadata", {{"total_size", weights.size()}}},
                              {"weight_map", nlohmann::json::object()}};
      const io::SafetensorsFile file = io::SafetensorsFile::open(work / "model.safetensors");
      for (const auto& e : file.entries()) index["weight_map"][e.name] = "shard.safetensors";
      spill(out / "safetensors" / (scheme.name + ".index.seed"),
            std::string(1, '\1') + index.dump(2) + std::string(1, '\0') + weights);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "lowbit_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  fs::remove_all(work);
  return 0;
}
