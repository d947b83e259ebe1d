// SPDX-License-Identifier: MIT
// GGUF parsing (bounds-checked cursor over the mapping) and llama conversion.
#include "io/gguf.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <set>

#include "io/hf_names.h"
#include "tensor/k_quant.h"
#include "util/check.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// True when `s` is well-formed UTF-8 (GGUF strings must be; nlohmann refuses to dump others).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// f32 metadata values become the double of their shortest decimal form, so 1e-5f reads
// back as 1e-05 (and converts back to the same float).
double shortest_double(float v) {
  char text[32];
  const auto res = std::to_chars(text, text + sizeof(text), v);
  double d = v;
  std::from_chars(text, res.ptr, d);
  return d;
}

// Bounds-checked little-endian reader over the mapped file.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  void set_v1(bool v1) { v1_ = v1; }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // Counts and lengths: u32 in GGUF v1, u64 later.
  uint64_t count(std::string_view what) {
    return v1_ ? read<uint32_t>(what) : read<uint64_t>(what);
  }
  size_t count_size() const { return v1_ ? 4 : 8; }
  std::string string(std::string_view what) {
    const uint64_t n = count(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    LB_CHECK_FORMAT(valid_utf8(s), path_, ": ", what, " at byte ", pos_ - n, " is not valid UTF-8");
    return s;
  }
  void need(uint64_t n, std::string_view what) const {
    LB_CHECK_FORMAT(n <= remaining(), path_, ": truncated: ", what, " at byte ", pos_, " needs ", n,
                    " bytes, ", remaining(), " left");
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool v1_ = false;
};

// The smallest encoding of one value of GGUF type `type` (to bound array counts): scalar
// sizes by type id, a string's length field, an array's element type and count.
uint64_t min_value_size(uint32_t type, size_t count_size) {
  constexpr std::array<uint8_t, 13> kScalarBytes = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  if (type == 8) return count_size;
  if (type == 9) return 4 + count_size;
  return type < kScalarBytes.size() ? kScalarBytes[type] : 1;
}

json read_value(Cursor& in, const std::string& path, const std::string& key, uint32_t type,
                int depth) {
  switch (type) {
    case 0:
      return in.read<uint8_t>(key);
    case 1:
      return in.read<int8_t>(key);
    case 2:
      return in.read<uint16_t>(key);
    case 3:
      return in.read<int16_t>(key);
    case 4:
      return in.read<uint32_t>(key);
    case 5:
      return in.read<int32_t>(key);
    case 6:
      return shortest_double(in.read<float>(key));
    case 7: {
      const auto b = in.read<uint8_t>(key);
      LB_CHECK_FORMAT(b <= 1, path, ": key '", key, "': bool value ", int{b}, " is not 0 or 1");
      return b == 1;
    }
    case 8:
      return in.string(key);
    case 9: {
      LB_CHECK_FORMAT(depth < 8, path, ": key '", key, "': arrays nested too deeply");
      const auto elem = in.read<uint32_t>(key);
      const uint64_t n = in.count(key);
      // Every element takes at least min_value_size bytes: refuse counts the file cannot hold
      // before building anything.
      LB_CHECK_FORMAT(n <= in.remaining() / min_value_size(elem, in.count_size()), path, ": key '",
                      key, "': array of ", n, " elements exceeds the file");
      json array = json::array();
      for (uint64_t i = 0; i < n; ++i) array.push_back(read_value(in, path, key, elem, depth + 1));
      return array;
    }
    case 10:
      return in.read<uint64_t>(key);
    case 11:
      return in.read<int64_t>(key);
    case 12:
      return in.read<double>(key);
    default:
      throw FormatError(concat(path, ": key '", key, "': unknown value type ", type));
  }
}

std::string string_value(const json& m, const std::string& path, const std::string& key,
                         const std::string& fallback) {
  if (!m.contains(key)) return fallback;
  LB_CHECK_FORMAT(m.at(key).is_string(), path, ": GGUF key '", key, "' must be a string");
  return m.at(key).get<std::string>();
}

uint64_t checked_mul(uint64_t a, uint64_t b, bool& overflow) {
  uint64_t r = 0;
  overflow = overflow || __builtin_mul_overflow(a, b, &r);
  return r;
}

}  // namespace

std::string ggml_type_name(uint32_t type) {
  const GgmlType* t = ggml_type(type);
  return t != nullptr ? std::string(t->name) : concat("type ", type);
}

Shape GgufTensorInfo::shape() const {
  Shape s;
  for (auto it = ne.rbegin(); it != ne.rend(); ++it) s.push_back(static_cast<int64_t>(*it));
  return s;
}

GgufFile GgufFile::open(const fs::path& fs_path) {
  GgufFile g;
  g.file_ = MappedFile::open(fs_path.string());
  const std::string& path = g.file_->path();
  Cursor in(path, g.file_->data(), g.file_->size());
  const auto magic = in.read<uint32_t>("magic");
  LB_CHECK_FORMAT(magic == 0x46554747u, path, ": not a GGUF file (bad magic)");
  g.version_ = in.read<uint32_t>("version");
  LB_CHECK_FORMAT(g.version_ >= 1 && g.version_ <= 3, path, ": unsupported GGUF version ",
                  g.version_, " (lowbit reads versions 1 to 3, little-endian)");
  in.set_v1(g.version_ == 1);
  const uint64_t n_tensors = in.count("tensor count");
  const uint64_t n_kv = in.count("KV count");
  // A KV pair takes at least a key length, a type and one byte; a tensor info at least a name
  // length, n_dims, type and offset.
  LB_CHECK_FORMAT(n_kv <= in.remaining() / (in.count_size() + 5), path, ": KV count ", n_kv,
                  " exceeds the file");
  LB_CHECK_FORMAT(n_tensors <= in.remaining() / (in.count_size() + 16), path, ": tensor count ",
                  n_tensors, " exceeds the file");

  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = in.string("KV key");
    LB_CHECK_FORMAT(!g.metadata_.contains(key), path, ": key '", key, "' appears twice");
    const auto type = in.read<uint32_t>(key);
    g.metadata_[key] = read_value(in, path, key, type, 0);
  }
  if (g.metadata_.contains("general.alignment")) {
    const json& a = g.metadata_["general.alignment"];
    LB_CHECK_FORMAT(a.is_number_unsigned() && a.get<uint64_t>() > 0 &&
                        a.get<uint64_t>() <= (uint64_t{1} << 30) &&
                        (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) == 0,
                    path, ": general.alignment ", a.dump(), " is not a power of two");
    g.alignment_ = a.get<uint64_t>();
  }

  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = in.string("tensor name");
    const std::string where = concat(path, ": tensor '", t.name, "'");
    LB_CHECK_FORMAT(g.index_.emplace(t.name, g.tensors_.size()).second, where, " appears twice");
    const auto n_dims = in.read<uint32_t>(t.name);
    LB_CHECK_FORMAT(n_dims >= 1 && n_dims <= 4, where, ": ", n_dims, " dimensions (1..4 allowed)");
    for (uint32_t d = 0; d < n_dims; ++d) t.ne.push_back(in.count(t.name));
    t.type = in.read<uint32_t>(t.name);
    t.offset = in.read<uint64_t>(t.name);
    g.tensors_.push_back(std::move(t));
  }
  g.data_offset_ = (in.pos() + g.alignment_ - 1) / g.alignment_ * g.alignment_;
  const uint64_t file_size = g.file_->size();
  LB_CHECK_FORMAT(g.tensors_.empty() || g.data_offset_ <= file_size, path,
                  ": truncated before the data section (byte ", g.data_offset_, ")");
  const uint64_t data_size = g.data_offset_ <= file_size ? file_size - g.data_offset_ : 0;

  for (GgufTensorInfo& t : g.tensors_) {
    const std::string where = concat(path, ": tensor '", t.name, "'");
    LB_CHECK_FORMAT(t.offset % g.alignment_ == 0, where, ": offset ", t.offset,
                    " is not a multiple of the alignment ", g.alignment_);
    const GgmlType* traits = ggml_type(t.type);
    if (traits == nullptr) continue;  // refused by tensor() if anyone asks for it
    LB_CHECK_FORMAT(t.ne[0] % traits->block == 0, where, ": ne[0] = ", t.ne[0],
                    " is not a multiple of the ", traits->name, " block size ", traits->block);
    bool overflow = false;
    uint64_t n = 1;
    for (uint64_t d : t.ne) n = checked_mul(n, d, overflow);
    const uint64_t bytes = checked_mul(n / traits->block, traits->bytes, overflow);
    LB_CHECK_FORMAT(!overflow && t.offset <= data_size && bytes <= data_size - t.offset, where,
                    ": data [", t.offset, ", ", t.offset + bytes, ") lies outside the ", data_size,
                    "-byte data section");
    t.size = static_cast<size_t>(bytes);
    t.data = g.file_->data() + g.data_offset_ + t.offset;
  }
  return g;
}

const GgufTensorInfo* GgufFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

QuantizedTensor GgufFile::tensor(const GgufTensorInfo& t) const {
  const std::string where = concat(path(), ": tensor '", t.name, "'");
  const auto unsupported = [&] {
    return Unsupported(concat(where, " has ggml type ", ggml_type_name(t.type), " (", t.type,
                              "), which lowbit does not read"));
  };
  // Unknown types were not bounds-checked by open(), so their dims must not be multiplied.
  const GgmlType* type = ggml_type(t.type);
  if (type == nullptr) throw unsupported();
  const Shape shape = t.shape();
  for (int64_t d : shape) LB_CHECK_FORMAT(d > 0, where, ": empty dimension");
  // open() checked that ne[0] is a whole number of blocks and that the bytes are in the file.
  const auto n_blocks = static_cast<size_t>(numel(shape)) / type->block;
  auto dense = [&](QuantKind kind, size_t elem) {
    // Borrow unless an alignment below the element size left the bytes misaligned.
    Buffer b = reinterpret_cast<uintptr_t>(t.data) % elem == 0
                   ? Buffer::borrow_mapped(file_, t.data, t.size)
                   : Buffer::copy_of(t.data, t.size);
    return QuantizedTensor::dense(kind, shape, std::move(b));
  };
  // Tensors converted into memory of their own no longer need the file's pages resident (the
  // mapping would otherwise keep a second copy of every such tensor in the process).
  auto release_source = [&] {
    file_->release(static_cast<size_t>(t.data - file_->data()), t.size);
  };
  switch (t.type) {
    case kGgmlF32:
      return dense(QuantKind::f32, 4);
    case kGgmlF16:
      return dense(QuantKind::f16, 2);
    case kGgmlBF16:
      return dense(QuantKind::bf16, 2);
    default:
      break;
  }
  if (ggml_packed_bits(t.type) != 0 || ggml_k_bits(t.type) != 0) {
    // Q8_0, Q4_0, Q5_0: y = d * (q - 2^(bits-1)) is lowbit's symmetric affine_int, g32;
    // Q4_1, Q5_1: y = d * q + m is its min form; IQ4_NL: y = d * K[q] is its iq4_nl kind;
    // Q4_K / Q5_K / Q6_K: its k_quant formats (codes repacked, scale bytes copied).
    QuantizedTensor q;
    q.format = ggml_packed_format(t.type);
    q.shape = shape;
    const BufferSizes sizes = q.buffer_sizes();
    q.codes = Buffer::allocate(sizes.codes);
    q.scales = Buffer::allocate(sizes.scales);
    if (sizes.zeros != 0) q.zeros = Buffer::allocate(sizes.zeros);
    if (q.format.k_quant) {
      repack_ggml_k_blocks(t.type, t.data, n_blocks, q.codes.mutable_data(),
                           q.scales.mutable_data());
    } else {
      repack_ggml_blocks(t.type, t.data, n_blocks, q.codes.mutable_data(), q.scales.mutable_data(),
                         q.zeros.empty() ? nullptr : q.zeros.mutable_data());
    }
    q.validate(t.name);
    release_source();
    return q;
  }
  if (const GgmlDecoder decode = ggml_decoder(t.type); decode != nullptr) {
    // Two-level scales (or codebooks with them): no lowbit format holds these exactly.
    Buffer out = Buffer::allocate(n_blocks * type->block * sizeof(float));
    decode(t.data, n_blocks, out.as_mutable<float>());
    release_source();
    return QuantizedTensor::dense(QuantKind::f32, shape, std::move(out));
  }
  throw unsupported();
}

std::string gguf_loaded_as(const GgufTensorInfo& info, const QuantizedTensor& loaded) {
  if (info.type == kGgmlF32 || info.type == kGgmlF16 || info.type == kGgmlBF16)
    return loaded.codes.owned() ? "copied (misaligned)" : "borrowed";
  if (ggml_packed_bits(info.type) != 0 || ggml_k_bits(info.type) != 0)
    return "packed " + format_name(loaded.format);
  return "dequantized to f32";
}

std::string GgufFile::hf_name(const GgufTensorInfo& t) const {
  if (t.name == "rope_freqs.weight") return t.name;
  auto hf = hf_name_from_gguf(t.name);
  if (!hf)
    throw Unsupported(
        concat(path(), ": tensor '", t.name, "' has no Hugging Face Llama equivalent"));
  return std::move(*hf);
}

TensorMap GgufFile::hf_tensors() const {
  std::vector<std::pair<std::string, const GgufTensorInfo*>> named;
  for (const GgufTensorInfo& t : tensors_) named.emplace_back(hf_name(t), &t);
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  TensorMap map;
  for (const auto& [name, info] : named) {
    LB_CHECK_FORMAT(!map.contains(name), path(), ": tensor '", info->name, "' maps to ", name,
                    " twice");
    map.add(name, tensor(*info));
  }
  return map;
}

json GgufFile::hf_config() const {
  const std::string arch = string_value(metadata_, path(), "general.architecture", "llama");
  if (arch != "llama")
    throw Unsupported(
        concat(path(), ": GGUF architecture '", arch, "' is not supported (lowbit reads 'llama')"));
  auto integer = [&](const std::string& key, std::optional<int64_t> fallback,
                     int64_t min = 1) -> int64_t {
    if (!metadata_.contains(key)) {
      LB_CHECK_FORMAT(fallback.has_value(), path(), ": missing GGUF key '", key, "'");
      return *fallback;
    }
    const json& v = metadata_.at(key);
    LB_CHECK_FORMAT(
        v.is_number_integer() && v.get<int64_t>() >= min && v.get<int64_t>() <= INT32_MAX, path(),
        ": GGUF key '", key, "' must be an integer >= ", min);
    return v.get<int64_t>();
  };
  auto positive = [&](const std::string& key, std::optional<int64_t> fallback) {
    return integer(key, fallback);
  };
  auto number = [&](const std::string& key, double fallback) {
    if (!metadata_.contains(key)) return fallback;
    const json& v = metadata_.at(key);
    LB_CHECK_FORMAT(v.is_number(), path(), ": GGUF key '", key, "' must be a number");
    return v.get<double>();
  };
  json c;
  c["model_type"] = "llama";
  c["hidden_size"] = positive("llama.embedding_length", {});
  c["intermediate_size"] = positive("llama.feed_forward_length", {});
  c["num_hidden_layers"] = positive("llama.block_count", {});
  const int64_t heads = positive("llama.attention.head_count", {});
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = positive("llama.attention.head_count_kv", heads);
  const int64_t head_dim =
      positive("llama.attention.key_length", c["hidden_size"].get<int64_t>() / heads);
  if (metadata_.contains("llama.attention.key_length")) c["head_dim"] = head_dim;
  if (positive("llama.rope.dimension_count", head_dim) != head_dim)
    throw Unsupported(concat(path(),
                             ": partial RoPE (llama.rope.dimension_count != head "
                             "dimension) is not supported"));
  std::optional<int64_t> vocab;
  if (metadata_.contains("tokenizer.ggml.tokens") &&
      metadata_.at("tokenizer.ggml.tokens").is_array())
    vocab = static_cast<int64_t>(metadata_.at("tokenizer.ggml.tokens").size());
  if (const GgufTensorInfo* e = find("token_embd.weight"); e != nullptr && e->ne.size() == 2)
    vocab = vocab.value_or(static_cast<int64_t>(e->ne[1]));
  c["vocab_size"] = positive("llama.vocab_size", vocab);
  c["max_position_embeddings"] = positive("llama.context_length", 2048);
  c["rms_norm_eps"] = number("llama.attention.layer_norm_rms_epsilon", 1e-5);
  c["rope_theta"] = number("llama.rope.freq_base", 10000.0);
  const std::string scaling = string_value(metadata_, path(), "llama.rope.scaling.type", "none");
  if (scaling != "none")
    c["rope_scaling"] = {{"rope_type", scaling},
                         {"factor", number("llama.rope.scaling.factor", 1.0)}};
  c["tie_word_embeddings"] = find("output.weight") == nullptr;
  c["attention_bias"] = find("blk.0.attn_q.bias") != nullptr;
  c["bos_token_id"] = integer("tokenizer.ggml.bos_token_id", 1, 0);
  c["eos_token_id"] = integer("tokenizer.ggml.eos_token_id", 2, 0);
  c["lowbit_rope_interleaved"] = true;
  return c;
}

std::optional<SpmVocab> GgufFile::spm_vocab() const {
  if (string_value(metadata_, path(), "tokenizer.ggml.model", "") != "llama") return std::nullopt;
  const std::string where = concat(path(), ": tokenizer.ggml.");
  const json& tokens = metadata_.value("tokenizer.ggml.tokens", json());
  LB_CHECK_FORMAT(tokens.is_array() && !tokens.empty(), where, "tokens is missing");
  const size_t n = tokens.size();
  SpmVocab v;
  v.scores.assign(n, 0.0f);
  v.types.assign(n, 1);
  for (const json& t : tokens) {
    LB_CHECK_FORMAT(t.is_string(), where, "tokens holds a non-string");
    v.pieces.push_back(t.get<std::string>());
  }
  if (metadata_.contains("tokenizer.ggml.scores")) {
    const json& s = metadata_.at("tokenizer.ggml.scores");
    LB_CHECK_FORMAT(s.is_array() && s.size() == n, where, "scores must have ", n, " numbers");
    for (size_t i = 0; i < n; ++i) {
      LB_CHECK_FORMAT(s[i].is_number(), where, "scores holds a non-number");
      v.scores[i] = s[i].get<float>();
    }
  }
  if (metadata_.contains("tokenizer.ggml.token_type")) {
    const json& s = metadata_.at("tokenizer.ggml.token_type");
    LB_CHECK_FORMAT(s.is_array() && s.size() == n, where, "token_type must have ", n, " ints");
    for (size_t i = 0; i < n; ++i) {
      LB_CHECK_FORMAT(s[i].is_number_integer(), where, "token_type holds a non-integer");
      v.types[i] = s[i].get<int32_t>();
    }
  }
  auto id = [&](const char* key, int32_t fallback) {
    const json& j = metadata_.value(concat("tokenizer.ggml.", key), json(fallback));
    LB_CHECK_FORMAT(j.is_number_integer() && j.get<int64_t>() >= -1 &&
                        j.get<int64_t>() < static_cast<int64_t>(n),
                    where, key, " is not a token id");
    return j.get<int32_t>();
  };
  v.bos_id = id("bos_token_id", 1);
  v.eos_id = id("eos_token_id", 2);
  v.unk_id = id("unknown_token_id", 0);
  const json& prefix = metadata_.value("tokenizer.ggml.add_space_prefix", json(true));
  v.add_dummy_prefix = !prefix.is_boolean() || prefix.get<bool>();
  return v;
}

}  // namespace lowbit::io
