// SPDX-License-Identifier: MIT
// GGUF v3 writing (layout in docs/FORMATS.md, "GGUF writing").
#include "io/gguf_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "io/ggml_blocks.h"
#include "io/gguf.h"
#include "io/hf_names.h"
#include "tensor/k_quant.h"
#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kAlignment = 32;

uint64_t padded(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Little-endian serialization into a byte string (the header and tensor infos are small).
class Out {
 public:
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes_.append(b, sizeof(T));
  }
  void string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_ += s;
  }
  const std::string& bytes() const { return bytes_; }
  void pad_to(uint64_t alignment) { bytes_.resize(padded_size(bytes_.size(), alignment), '\0'); }

 private:
  static uint64_t padded_size(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }
  std::string bytes_;
};

void put_scalar(Out& out, GgufValueType type, const json& v, const std::string& key) {
  const auto integer = [&]<typename T>(T) {
    LB_CHECK_ARG(v.is_number_integer(), "GGUF key '", key, "': ", v.dump(), " is not an integer");
    out.put<T>(static_cast<T>(v.get<int64_t>()));
  };
  switch (type) {
    case GgufValueType::u8:
      return integer(uint8_t{});
    case GgufValueType::i8:
      return integer(int8_t{});
    case GgufValueType::u16:
      return integer(uint16_t{});
    case GgufValueType::i16:
      return integer(int16_t{});
    case GgufValueType::u32:
      return integer(uint32_t{});
    case GgufValueType::i32:
      return integer(int32_t{});
    case GgufValueType::u64:
      return integer(uint64_t{});
    case GgufValueType::i64:
      return integer(int64_t{});
    case GgufValueType::f32:
      LB_CHECK_ARG(v.is_number(), "GGUF key '", key, "': ", v.dump(), " is not a number");
      return out.put<float>(v.get<float>());
    case GgufValueType::f64:
      LB_CHECK_ARG(v.is_number(), "GGUF key '", key, "': ", v.dump(), " is not a number");
      return out.put<double>(v.get<double>());
    case GgufValueType::boolean:
      LB_CHECK_ARG(v.is_boolean(), "GGUF key '", key, "': ", v.dump(), " is not a bool");
      return out.put<uint8_t>(v.get<bool>() ? 1 : 0);
    case GgufValueType::string:
      LB_CHECK_ARG(v.is_string(), "GGUF key '", key, "': ", v.dump(), " is not a string");
      return out.string(v.get<std::string>());
    case GgufValueType::array:
      break;
  }
  throw InvalidArgument(concat("GGUF key '", key, "': nested arrays are not written"));
}

void put_kv(Out& out, const GgufKv& kv) {
  out.string(kv.key);
  out.put<uint32_t>(static_cast<uint32_t>(kv.type));
  if (kv.type != GgufValueType::array) return put_scalar(out, kv.type, kv.value, kv.key);
  LB_CHECK_ARG(kv.value.is_array(), "GGUF key '", kv.key, "' is not an array");
  out.put<uint32_t>(static_cast<uint32_t>(kv.element));
  out.put<uint64_t>(kv.value.size());
  for (const json& e : kv.value) put_scalar(out, kv.element, e, kv.key);
}

GgufKv kv(std::string key, GgufValueType type, json value) {
  return {std::move(key), type, std::move(value), GgufValueType::u8};
}

int64_t config_int(const json& c, const char* key, std::optional<int64_t> fallback) {
  if (!c.contains(key) || c.at(key).is_null()) {
    LB_CHECK_ARG(fallback.has_value(), "config has no '", key, "', which GGUF export needs");
    return *fallback;
  }
  LB_CHECK_ARG(c.at(key).is_number_integer() && c.at(key).get<int64_t>() > 0, "config '", key,
               "' must be a positive integer for GGUF export");
  return c.at(key).get<int64_t>();
}

double config_number(const json& c, const char* key, double fallback) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  LB_CHECK_ARG(c.at(key).is_number(), "config '", key, "' must be a number for GGUF export");
  return c.at(key).get<double>();
}

// Row `r` of a [rows, ...] tensor, as stored: the codes of row r and its scales.
QuantizedTensor permute_rows(const QuantizedTensor& t, const std::vector<int64_t>& source_row) {
  QuantizedTensor p = t;
  const bool one_d = t.shape.size() == 1;
  const int64_t rows = one_d ? t.shape[0] : t.rows();
  const size_t code_bytes = one_d ? static_cast<size_t>(t.format.bits / 8) : t.row_bytes();
  p.codes = Buffer::allocate(t.codes.size());
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(p.codes.mutable_data() + r * code_bytes,
                t.codes.data() + source_row[static_cast<size_t>(r)] * code_bytes, code_bytes);
  // Per-row parameters move with their rows: scales (a k-quant's super-block bytes included) and
  // zero-points or mins.
  const auto permute = [&](const Buffer& from, Buffer& to) {
    if (from.empty()) return;
    const size_t bytes = from.size() / static_cast<size_t>(rows);
    to = Buffer::allocate(from.size());
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(to.mutable_data() + r * bytes,
                  from.data() + source_row[static_cast<size_t>(r)] * bytes, bytes);
  };
  if (!t.format.is_dense()) {
    permute(t.scales, p.scales);
    permute(t.zeros, p.zeros);
  }
  return p;
}

// HF half-split RoPE rows -> GGUF adjacent pairs: within each head of hd rows, GGUF row 2i is HF
// row i and row 2i + 1 is HF row i + hd / 2.
QuantizedTensor to_interleaved(const QuantizedTensor& t, int64_t heads, const std::string& name) {
  const int64_t rows = t.shape.size() == 1 ? t.shape[0] : t.rows();
  LB_CHECK_ARG(heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0, "tensor ", name, ": ",
               rows, " rows are not ", heads, " heads of an even head dimension");
  const bool row_wise = t.format.is_dense() || t.format.group_size != kPerTensor;
  LB_CHECK_AS(Unsupported, row_wise, "tensor ", name,
              ": a per-tensor format cannot be permuted to GGUF RoPE order");
  const int64_t hd = rows / heads;
  std::vector<int64_t> source(static_cast<size_t>(rows));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i) {
      source[static_cast<size_t>(h * hd + 2 * i)] = h * hd + i;
      source[static_cast<size_t>(h * hd + 2 * i + 1)] = h * hd + hd / 2 + i;
    }
  return permute_rows(t, source);
}

struct PlannedTensor {
  std::string gguf_name;
  QuantizedTensor tensor;
  uint32_t type = 0;
  std::vector<uint64_t> ne;
  uint64_t bytes = 0;
  uint64_t offset = 0;
};

void write_tensor_data(std::FILE* f, const PlannedTensor& p) {
  auto write = [&](const void* data, size_t n) {
    LB_CHECK(std::fwrite(data, 1, n, f) == n, "write failed for tensor ", p.gguf_name);
  };
  const QuantizedTensor& t = p.tensor;
  if (t.format.is_dense()) {
    write(t.codes.data(), t.codes.size());
  } else {
    // Whole ggml blocks: each holds the same share of every buffer (codes, scales, mins).
    const GgmlType* type = ggml_type(p.type);
    const auto n_blocks = static_cast<size_t>(t.numel()) / type->block;
    const size_t code_bytes = t.codes.size() / n_blocks, scale_bytes = t.scales.size() / n_blocks,
                 min_bytes = t.zeros.size() / n_blocks;
    constexpr size_t kChunk = 1024;
    std::vector<uint8_t> out(kChunk * type->bytes);
    for (size_t b = 0; b < n_blocks; b += kChunk) {
      const size_t n = std::min(kChunk, n_blocks - b);
      const uint8_t* codes = t.codes.data() + b * code_bytes;
      const uint8_t* scales = t.scales.data() + b * scale_bytes;
      if (t.format.k_quant) {
        pack_ggml_k_blocks(p.type, codes, scales, n, out.data());
      } else {
        pack_ggml_blocks(p.type, codes, scales,
                         t.zeros.empty() ? nullptr : t.zeros.data() + b * min_bytes, n, out.data());
      }
      write(out.data(), n * type->bytes);
    }
  }
  static const char kZeros[kAlignment] = {};
  write(kZeros, padded(p.bytes) - p.bytes);
}

}  // namespace

std::optional<uint32_t> gguf_type_for(const QuantizedTensor& t) {
  const QuantFormat& f = t.format;
  switch (f.kind) {
    case QuantKind::f32:
      return kGgmlF32;
    case QuantKind::f16:
      return kGgmlF16;
    case QuantKind::bf16:
      return kGgmlBF16;
    case QuantKind::affine_int:
      if (f.k_quant) return f.bits == 4 ? kGgmlQ4_K : f.bits == 5 ? kGgmlQ5_K : kGgmlQ6_K;
      break;
    case QuantKind::iq4_nl:
      return f.group_size == 32 && t.cols() % 32 == 0 ? std::optional<uint32_t>(kGgmlIQ4_NL)
                                                      : std::nullopt;
    default:
      return std::nullopt;
  }
  // ggml's legacy blocks: 32 codes, an f16 d and either the symmetric zero or an f16 min.
  if (f.group_size != 32 || (!f.symmetric && !f.min_offset) || f.scale_dtype != DType::f16 ||
      t.cols() % 32 != 0)
    return std::nullopt;
  switch (f.bits) {
    case 8:
      return f.min_offset ? std::nullopt : std::optional<uint32_t>(kGgmlQ8_0);
    case 4:
      return f.min_offset ? kGgmlQ4_1 : kGgmlQ4_0;
    case 5:
      return f.min_offset ? kGgmlQ5_1 : kGgmlQ5_0;
    default:
      return std::nullopt;
  }
}

std::vector<GgufKv> gguf_llama_metadata(const json& c) {
  using T = GgufValueType;
  const int64_t hidden = config_int(c, "hidden_size", {});
  const int64_t heads = config_int(c, "num_attention_heads", {});
  const int64_t head_dim = config_int(c, "head_dim", hidden / heads);
  std::vector<GgufKv> m = {
      kv("general.architecture", T::string, "llama"),
      kv("general.quantization_version", T::u32, 2),
      kv("llama.context_length", T::u32, config_int(c, "max_position_embeddings", 2048)),
      kv("llama.embedding_length", T::u32, hidden),
      kv("llama.block_count", T::u32, config_int(c, "num_hidden_layers", {})),
      kv("llama.feed_forward_length", T::u32, config_int(c, "intermediate_size", {})),
      kv("llama.attention.head_count", T::u32, heads),
      kv("llama.attention.head_count_kv", T::u32, config_int(c, "num_key_value_heads", heads)),
      kv("llama.attention.layer_norm_rms_epsilon", T::f32, config_number(c, "rms_norm_eps", 1e-5)),
      kv("llama.rope.freq_base", T::f32, config_number(c, "rope_theta", 10000.0)),
      kv("llama.rope.dimension_count", T::u32, head_dim),
      kv("llama.vocab_size", T::u32, config_int(c, "vocab_size", {})),
  };
  if (head_dim != hidden / heads) {
    m.push_back(kv("llama.attention.key_length", T::u32, head_dim));
    m.push_back(kv("llama.attention.value_length", T::u32, head_dim));
  }
  if (c.contains("rope_scaling") && c.at("rope_scaling").is_object()) {
    const json& s = c.at("rope_scaling");
    const std::string type = s.value("rope_type", s.value("type", std::string("none")));
    LB_CHECK_AS(Unsupported, type == "linear" || type == "none", "rope_scaling type '", type,
                "' is not exported to GGUF (only linear)");
    if (type == "linear") {
      m.push_back(kv("llama.rope.scaling.type", T::string, "linear"));
      m.push_back(kv("llama.rope.scaling.factor", T::f32, config_number(s, "factor", 1.0)));
    }
  }
  return m;
}

std::vector<GgufKv> gguf_tokenizer_metadata(const GgufFile& source) {
  using T = GgufValueType;
  const json& meta = source.metadata();
  LB_CHECK_FORMAT(meta.contains("tokenizer.ggml.tokens"), source.path(),
                  ": no tokenizer.ggml.tokens to export");
  std::vector<GgufKv> out;
  for (const auto& [key, v] : meta.items()) {
    if (!key.starts_with("tokenizer.")) continue;
    // The types llama.cpp's loader expects: ids u32, scores f32, token types i32.
    if (v.is_string()) {
      out.push_back(kv(key, T::string, v));
    } else if (v.is_boolean()) {
      out.push_back(kv(key, T::boolean, v));
    } else if (v.is_number_integer()) {
      out.push_back(kv(key, v.get<int64_t>() >= 0 ? T::u32 : T::i32, v));
    } else if (v.is_number()) {
      out.push_back(kv(key, T::f32, v));
    } else if (v.is_array()) {
      T element = T::string;
      if (key == "tokenizer.ggml.scores")
        element = T::f32;
      else if (key == "tokenizer.ggml.token_type")
        element = T::i32;
      else if (!v.empty() && v[0].is_number_integer())
        element = T::i32;
      else if (!v.empty() && v[0].is_number())
        element = T::f32;
      GgufKv a = kv(key, T::array, v);
      a.element = element;
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<GgufKv> gguf_spm_tokenizer_metadata(const SpmVocab& vocab) {
  using T = GgufValueType;
  GgufKv tokens = kv("tokenizer.ggml.tokens", T::array, vocab.pieces);
  tokens.element = T::string;
  GgufKv scores = kv("tokenizer.ggml.scores", T::array, vocab.scores);
  scores.element = T::f32;
  GgufKv types = kv("tokenizer.ggml.token_type", T::array, vocab.types);
  types.element = T::i32;
  std::vector<GgufKv> out = {kv("tokenizer.ggml.model", T::string, "llama"), std::move(tokens),
                             std::move(scores), std::move(types)};
  if (vocab.bos_id >= 0) out.push_back(kv("tokenizer.ggml.bos_token_id", T::u32, vocab.bos_id));
  if (vocab.eos_id >= 0) out.push_back(kv("tokenizer.ggml.eos_token_id", T::u32, vocab.eos_id));
  if (vocab.unk_id >= 0) out.push_back(kv("tokenizer.ggml.unknown_token_id", T::u32, vocab.unk_id));
  out.push_back(kv("tokenizer.ggml.add_space_prefix", T::boolean, vocab.add_dummy_prefix));
  return out;
}

void write_gguf(const fs::path& path, const json& hf_config, const TensorMap& tensors,
                const std::vector<GgufKv>& extra, std::optional<uint32_t> file_type) {
  std::vector<GgufKv> metadata = gguf_llama_metadata(hf_config);
  if (file_type) metadata.push_back(kv("general.file_type", GgufValueType::u32, *file_type));
  metadata.insert(metadata.end(), extra.begin(), extra.end());

  const bool interleaved = hf_config.value("lowbit_rope_interleaved", false);
  const int64_t heads = config_int(hf_config, "num_attention_heads", {});
  const int64_t kv_heads = config_int(hf_config, "num_key_value_heads", heads);
  std::vector<PlannedTensor> plan;
  uint64_t offset = 0;
  for (const std::string& name : tensors.names()) {
    PlannedTensor p;
    if (name == "rope_freqs.weight") {
      p.gguf_name = name;
    } else {
      std::optional<std::string> g = gguf_name_from_hf(name);
      LB_CHECK_AS(Unsupported, g.has_value(), "tensor ", name, " has no GGUF llama name");
      p.gguf_name = std::move(*g);
    }
    p.tensor = tensors.at(name);
    const std::optional<uint32_t> type = gguf_type_for(p.tensor);
    LB_CHECK_AS(Unsupported, type.has_value(), "tensor ", name, " is ",
                format_name(p.tensor.format),
                (p.tensor.format.kind == QuantKind::affine_int && p.tensor.cols() % 32 != 0)
                    ? concat(" with ", p.tensor.cols(), " columns (not whole blocks of 32)")
                    : std::string(),
                ", which no GGUF type holds exactly (GGUF export takes f32, f16, bf16, q8_0, "
                "q4_0, q5_0)");
    p.type = *type;
    if (!interleaved) {
      const bool q = p.gguf_name.ends_with("attn_q.weight") || p.gguf_name.ends_with("attn_q.bias");
      const bool k = p.gguf_name.ends_with("attn_k.weight") || p.gguf_name.ends_with("attn_k.bias");
      if (q || k) p.tensor = to_interleaved(p.tensor, q ? heads : kv_heads, name);
    }
    for (auto it = p.tensor.shape.rbegin(); it != p.tensor.shape.rend(); ++it)
      p.ne.push_back(static_cast<uint64_t>(*it));
    const GgmlType* traits = ggml_type(p.type);
    p.bytes = static_cast<uint64_t>(p.tensor.numel()) / traits->block * traits->bytes;
    p.offset = offset;
    offset += padded(p.bytes);
    plan.push_back(std::move(p));
  }

  Out header;
  header.put<uint32_t>(0x46554747u);  // "GGUF"
  header.put<uint32_t>(3);
  header.put<uint64_t>(plan.size());
  header.put<uint64_t>(metadata.size());
  for (const GgufKv& m : metadata) put_kv(header, m);
  for (const PlannedTensor& p : plan) {
    header.string(p.gguf_name);
    header.put<uint32_t>(static_cast<uint32_t>(p.ne.size()));
    for (uint64_t d : p.ne) header.put<uint64_t>(d);
    header.put<uint32_t>(p.type);
    header.put<uint64_t>(p.offset);
  }
  header.pad_to(kAlignment);
  write_file_atomic_with(path, [&](std::FILE* f) {
    LB_CHECK(
        std::fwrite(header.bytes().data(), 1, header.bytes().size(), f) == header.bytes().size(),
        "write failed: ", path.string());
    for (const PlannedTensor& p : plan) write_tensor_data(f, p);
  });
}

}  // namespace lowbit::io
