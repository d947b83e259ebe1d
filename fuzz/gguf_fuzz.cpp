// SPDX-License-Identifier: MIT
// libFuzzer target for the GGUF reader: header, metadata and tensor infos; the HF config; every
// tensor through the tensor() dispatcher (so every ggml block decoder) and a full decode of the
// small ones; the SentencePiece or BPE vocabulary, encoding one short text.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_input.h"
#include "io/gguf.h"
#include "io/tokenizer_gguf.h"

namespace {

using namespace lowbit;

void encode_sample(const Tokenizer& tok) {
  const std::vector<int32_t> ids = tok.encode("Once upon a time, 3 cats\n said \"héllo\"", true);
  (void)tok.decode(ids);
  for (size_t i = 1; i < ids.size(); ++i) (void)tok.decode_token(ids[i - 1], ids[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path =
      fuzz::write_input("model.gguf", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const io::GgufFile file = io::GgufFile::open(path);
    (void)file.metadata().dump();
    try {
      (void)file.hf_config();
    } catch (const Error&) {
    }
    for (const io::GgufTensorInfo& info : file.tensors()) {
      if (file.find(info.name) == nullptr) std::abort();
      try {
        (void)file.hf_name(info);
      } catch (const Error&) {
      }
      if (info.data == nullptr || info.size > (size_t{1} << 20)) continue;
      try {
        const QuantizedTensor t = file.tensor(info);
        (void)io::gguf_loaded_as(info, t);
        fuzz::exercise_tensor(t, info.name);
      } catch (const Error&) {
      }
    }
    try {
      if (const auto vocab = file.spm_vocab()) encode_sample(*make_spm_tokenizer(*vocab));
    } catch (const Error&) {
    }
    try {
      encode_sample(*make_gguf_bpe_tokenizer(file.metadata(), file.path()));
    } catch (const Error&) {
    }
  } catch (const Error&) {
  }
  return 0;
}
