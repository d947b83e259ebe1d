// SPDX-License-Identifier: MIT
// libFuzzer target for config.json: read_config_json, then LlamaConfig::from_json and what is
// derived from a parsed config (to_json, parameter counts, RoPE frequencies).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "io/checkpoint.h"
#include "model/llama_config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const auto path =
      fuzz::write_input("config.json", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const nlohmann::json json = io::read_config_json(path);
    const model::LlamaConfig cfg = model::LlamaConfig::from_json(json);
    (void)cfg.to_json().dump();
    (void)cfg.parameter_count();
    (void)cfg.linear_parameter_count();
    if (cfg.head_dim <= 4096) (void)cfg.rope_inv_freq();
  } catch (const Error&) {
  }
  return 0;
}
