// SPDX-License-Identifier: MIT
// libFuzzer target for the llama2.c readers. The first byte picks the file: even, the rest is a
// model checkpoint (header, then every tensor decoded); odd, bytes 1-2 are a little-endian
// vocabulary size and the rest is a tokenizer.bin, loaded and used to encode one short text.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_input.h"
#include "io/llama2c.h"
#include "io/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    const auto path = fuzz::write_input(
        "model.bin", std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    try {
      (void)io::read_llama2c_config(path);
      const io::Llama2cModel model = io::read_llama2c(path);
      (void)model.config.dump();
      for (const std::string& name : model.tensors.names())
        fuzz::exercise_tensor(model.tensors.at(name), name);
    } catch (const Error&) {
    }
    return 0;
  }
  if (size < 3) return 0;
  const int32_t vocab_size = data[1] | (data[2] << 8);
  const auto path = fuzz::write_input(
      "tokenizer.bin", std::string_view(reinterpret_cast<const char*>(data) + 3, size - 3));
  try {
    const auto tok = load_llama2c_tokenizer(path, vocab_size);
    const std::vector<int32_t> ids = tok->encode("Once upon a time, 3 cats said \"hi\"\n", true);
    (void)tok->decode(ids);
    for (size_t i = 1; i < ids.size(); ++i) (void)tok->decode_token(ids[i - 1], ids[i]);
  } catch (const Error&) {
  }
  return 0;
}
