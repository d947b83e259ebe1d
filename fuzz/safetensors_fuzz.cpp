// SPDX-License-Identifier: MIT
// libFuzzer target for the safetensors reader. The first byte picks the layout: even, the
// rest is one .safetensors file; odd, the rest is an HF directory's model.safetensors.index.json
// and (after a NUL) the shard "shard.safetensors" it may name, read through read_hf_directory.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_input.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace {

using namespace lowbit;

void read_single_file(std::string_view bytes) {
  const auto path = fuzz::write_input("model.safetensors", bytes);
  try {
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
    for (const io::SafetensorsEntry& e : file.entries()) {
      if (file.find(e.name) != &e) std::abort();  // the index must find every entry
      const Buffer b = file.buffer(e);
      if (b.size() != e.size) std::abort();
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < b.size(); i += 61) sink = sink ^ b.data()[i];
      try {
        fuzz::exercise_tensor(file.dense_tensor(e), e.name);
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
  }
  try {
    const TensorMap tensors = io::read_safetensors_tensors(path);
    for (const std::string& name : tensors.names()) fuzz::exercise_tensor(tensors.at(name), name);
  } catch (const Error&) {
  }
}

void read_hf_index(std::string_view index, std::string_view shard) {
  // A directory of its own, so that model.safetensors from the other layout is not there.
  const std::filesystem::path dir = fuzz::scratch_dir() / "hf";
  std::filesystem::create_directories(dir);
  fuzz::write_input("hf/config.json", R"({"model_type": "llama"})");
  fuzz::write_input("hf/model.safetensors.index.json", index);
  fuzz::write_input("hf/shard.safetensors", shard);
  try {
    const io::HfModel model = io::read_hf_directory(dir);
    for (const std::string& name : model.tensors.names())
      fuzz::exercise_tensor(model.tensors.at(name), name);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    read_single_file(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    const auto [index, shard] = fuzz::split_at_nul(data + 1, size - 1);
    read_hf_index(index, shard);
  }
  return 0;
}
