// SPDX-License-Identifier: MIT
// libFuzzer target for the lowbit checkpoint reader. The input is config.json, one NUL byte,
// then model.safetensors; every tensor read back is validated and, when small, decoded.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_input.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const auto [config, weights] = fuzz::split_at_nul(data, size);
  const std::filesystem::path dir = fuzz::scratch_dir() / "checkpoint";
  std::filesystem::create_directories(dir);
  fuzz::write_input("checkpoint/config.json", config);
  fuzz::write_input("checkpoint/model.safetensors", weights);
  (void)io::is_lowbit_checkpoint(dir);
  try {
    const io::Checkpoint ck = io::read_checkpoint(dir);
    for (const std::string& name : ck.tensors.names())
      fuzz::exercise_tensor(ck.tensors.at(name), name);
  } catch (const Error&) {
  }
  return 0;
}
