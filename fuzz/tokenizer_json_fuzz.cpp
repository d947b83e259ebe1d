// SPDX-License-Identifier: MIT
// libFuzzer target for the tokenizer.json reader: load the pipeline, then encode and decode a
// short text with it so normalizers, pre-tokenizers, BPE and the decoder all run.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "io/tokenizer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const auto path = fuzz::write_input("tokenizer.json",
                                      std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const auto tok = load_tokenizer_json(path);
    for (const bool bos : {false, true}) {
      const std::vector<int32_t> ids =
          tok->encode("Hello world, it's 2024!  \n\tcafé 日本語 <s></s> <|endoftext|>", bos);
      (void)tok->decode(ids);
      for (size_t i = 1; i < ids.size(); ++i) (void)tok->decode_token(ids[i - 1], ids[i]);
    }
    (void)tok->vocab_size();
  } catch (const Error&) {
  }
  return 0;
}
