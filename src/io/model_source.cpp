// SPDX-License-Identifier: MIT
// Opening any supported model path as a ModelSource: dispatch on what the path is.
#include "io/model_source.h"

#include <cctype>
#include <cstring>
#include <fstream>

#include "io/checkpoint.h"
#include "io/gguf.h"
#include "io/hf_quantized.h"
#include "io/llama2c.h"
#include "io/safetensors.h"
#include "io/tokenizer_gguf.h"
#include "util/check.h"

namespace lowbit {
namespace fs = std::filesystem;
namespace {

// What a model file is, from its first bytes and its extension (in that order of trust).
enum class FileKind { gguf, llama2c };

// True when `head` looks like text: no NUL and no control bytes other than whitespace. A
// llama2.c header (seven little-endian int32 below 2^24) always has NUL bytes.
bool looks_like_text(const std::string& head) {
  for (unsigned char c : head)
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f')) return false;
  return !head.empty();
}

FileKind detect_file_kind(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LB_CHECK_ARG(in.good(), path.string(), ": cannot be read");
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.rfind("GGUF", 0) == 0) return FileKind::gguf;
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // safetensors: u64 header length, then the JSON header.
  const bool safetensors_bytes = head.size() > 9 && head[8] == '{' && head[9] == '"';
  if (ext == ".safetensors" || safetensors_bytes)
    throw InvalidArgument(concat(path.string(),
                                 ": a safetensors file holds weights only; pass the directory that "
                                 "holds it and config.json"));
  if (head.rfind("PK\x03\x04", 0) == 0 || ext == ".pt" || ext == ".pth")
    throw Unsupported(concat(path.string(),
                             ": a PyTorch checkpoint, which lowbit does not read; convert it to "
                             "safetensors"));
  if (ext == ".json" || ext == ".txt" || ext == ".md" || looks_like_text(head))
    throw FormatError(concat(path.string(),
                             ": not a model file (it is text or JSON); pass an HF model directory, "
                             "a .gguf file, a llama2.c .bin or a lowbit checkpoint directory"));
  return FileKind::llama2c;
}

// Sets s.tokenizer to what `make` builds; an lowbit error on the way is kept in
// s.tokenizer_error instead of failing the whole load.
template <typename Make>
void set_tokenizer(ModelSource& s, Make&& make) {
  try {
    s.tokenizer = make();
    s.tokenizer_error = nullptr;
  } catch (const Error&) {
    s.tokenizer = nullptr;
    s.tokenizer_error = std::current_exception();
  }
}

int32_t vocab_size_of(const nlohmann::json& config) {
  LB_CHECK_FORMAT(config.contains("vocab_size") && config["vocab_size"].is_number_integer(),
                  "config: missing field 'vocab_size'");
  return config["vocab_size"].get<int32_t>();
}

// The tokenizer stored in a directory: tokenizer.json, else a llama2.c tokenizer.bin.
std::shared_ptr<Tokenizer> directory_tokenizer(const fs::path& dir, const nlohmann::json& config) {
  if (fs::exists(dir / "tokenizer.json")) return load_tokenizer_json(dir / "tokenizer.json");
  if (fs::exists(dir / "tokenizer.bin"))
    return load_llama2c_tokenizer(dir / "tokenizer.bin", vocab_size_of(config));
  return nullptr;
}

// llama2.c tokenizer beside a .bin: tokenizer.bin, tok<vocab>.bin, then any tok*.bin.
std::optional<fs::path> find_llama2c_tokenizer(const fs::path& model, int32_t vocab) {
  const fs::path dir = model.has_parent_path() ? model.parent_path() : fs::path(".");
  for (const fs::path& p : {dir / "tokenizer.bin", dir / concat("tok", vocab, ".bin")})
    if (fs::exists(p)) return p;
  std::optional<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("tok", 0) == 0 && entry.path().extension() == ".bin" &&
        (!found || entry.path() < *found))
      found = entry.path();
  }
  return found;
}

ModelSource open_directory(const fs::path& dir, bool load_tokenizer) {
  ModelSource s;
  s.path = dir;
  if (io::is_lowbit_checkpoint(dir)) {
    io::Checkpoint ckpt = io::read_checkpoint(dir);
    s.format = "lowbit";
    s.config = std::move(ckpt.config);
    s.quantization = std::move(ckpt.quantization);
    s.tensors = std::move(ckpt.tensors);
  } else if (const auto layout = io::detect_hf_quantized(dir)) {
    io::HfQuantized hq = io::read_hf_quantized(dir);
    s.format = io::hf_quant_layout_name(*layout);
    s.config = std::move(hq.config);
    s.quantization = std::move(hq.quantization_config);
    s.tensors = std::move(hq.tensors);
  } else {
    io::HfModel hf = io::read_hf_directory(dir);
    s.format = "hf";
    s.config = std::move(hf.config);
    s.tensors = std::move(hf.tensors);
  }
  if (load_tokenizer) set_tokenizer(s, [&] { return directory_tokenizer(dir, s.config); });
  return s;
}

// llama.cpp's llama2.c converter writes output.weight as a byte copy of token_embd.weight;
// such a model is tied, and is read as one (same parameter count as the original).
bool output_duplicates_embedding(const io::GgufFile& file) {
  const io::GgufTensorInfo* out = file.find("output.weight");
  const io::GgufTensorInfo* emb = file.find("token_embd.weight");
  return out != nullptr && emb != nullptr && out->data != nullptr && emb->data != nullptr &&
         out->type == emb->type && out->ne == emb->ne && out->size == emb->size &&
         std::memcmp(out->data, emb->data, out->size) == 0;
}

nlohmann::json gguf_config(const io::GgufFile& file) {
  nlohmann::json config = file.hf_config();
  if (output_duplicates_embedding(file)) config["tie_word_embeddings"] = true;
  return config;
}

ModelSource open_gguf(const fs::path& path, bool load_tokenizer) {
  const io::GgufFile file = io::GgufFile::open(path);
  ModelSource s;
  s.path = path;
  s.format = "gguf";
  s.config = gguf_config(file);
  s.tensors = file.hf_tensors();
  if (output_duplicates_embedding(file)) s.tensors.erase("lm_head.weight");
  for (const io::GgufTensorInfo& info : file.tensors()) {
    const std::string name = file.hf_name(info);
    if (s.tensors.contains(name))  // not the dropped duplicate of the embedding
      s.stored[name] = {io::ggml_type_name(info.type), info.size,
                        io::gguf_loaded_as(info, s.tensors.at(name))};
  }
  if (!load_tokenizer) return s;
  const nlohmann::json& meta = file.metadata();
  set_tokenizer(s, [&]() -> std::shared_ptr<Tokenizer> {
    if (auto vocab = file.spm_vocab()) return make_spm_tokenizer(std::move(*vocab));
    if (meta.contains("tokenizer.ggml.model") && meta["tokenizer.ggml.model"] == "gpt2") {
      return make_gguf_bpe_tokenizer(meta, file.path());  // Llama-3 / Qwen2 / SmolLM ...
    }
    return nullptr;
  });
  return s;
}

ModelSource open_llama2c(const fs::path& path, const std::optional<fs::path>& tokenizer_path,
                         bool load_tokenizer) {
  io::Llama2cModel m = io::read_llama2c(path);
  ModelSource s;
  s.path = path;
  s.format = "llama2c";
  s.config = std::move(m.config);
  s.tensors = std::move(m.tensors);
  const int32_t vocab = vocab_size_of(s.config);
  const std::optional<fs::path> tok =
      tokenizer_path ? tokenizer_path : find_llama2c_tokenizer(path, vocab);
  if (tok && load_tokenizer) set_tokenizer(s, [&] { return load_llama2c_tokenizer(*tok, vocab); });
  return s;
}

}  // namespace

ModelSource load_model_source(const fs::path& path, const std::optional<fs::path>& tokenizer_path,
                              bool load_tokenizer) {
  LB_CHECK_ARG(fs::exists(path), path.string(), ": no such file or directory");
  if (tokenizer_path)
    LB_CHECK_ARG(fs::exists(*tokenizer_path), tokenizer_path->string(), ": no such tokenizer file");
  ModelSource s;
  if (fs::is_directory(path)) {
    s = open_directory(path, load_tokenizer);
  } else if (detect_file_kind(path) == FileKind::gguf) {
    s = open_gguf(path, load_tokenizer);
  } else {
    s = open_llama2c(path, tokenizer_path, load_tokenizer);
  }
  if (tokenizer_path && load_tokenizer && s.format != "llama2c") {
    const std::string ext = tokenizer_path->extension().string();
    set_tokenizer(s, [&]() -> std::shared_ptr<Tokenizer> {
      if (ext == ".json") return load_tokenizer_json(*tokenizer_path);
      return load_llama2c_tokenizer(*tokenizer_path, vocab_size_of(s.config));
    });
  }
  return s;
}

nlohmann::json load_model_config(const fs::path& path) {
  LB_CHECK_ARG(fs::exists(path), path.string(), ": no such file or directory");
  if (fs::is_directory(path)) {
    const fs::path config_path = path / "config.json";
    LB_CHECK_FORMAT(fs::exists(config_path), path.string(), ": no config.json in the directory");
    nlohmann::json config = io::read_config_json(config_path);
    if (config.is_object()) config.erase("quantization");
    return config;
  }
  if (detect_file_kind(path) == FileKind::gguf) return gguf_config(io::GgufFile::open(path));
  return io::read_llama2c_config(path);
}

}  // namespace lowbit
