// SPDX-License-Identifier: MIT
// llama2.c checkpoint reader: header validation, exact size check and per-layer slicing.
#include "io/llama2c.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "io/hf_names.h"
#include "util/check.h"
#include "util/mmap_file.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kHeaderBytes = 7 * 4;

struct Header {
  int64_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, seq_len = 0;
  bool shared = true;  // classifier tied to the embedding (vocab_size > 0 in the file)
  int64_t head_size() const { return dim / heads; }
  int64_t kv_dim() const { return kv_heads * head_size(); }
};

// Float counts of the three parts of the file after the header.
struct Sizes {
  uint64_t weights = 0;  // embedding through rms_final
  uint64_t rope = 0;     // freq_cis_real + freq_cis_imag
  uint64_t wcls = 0;     // separate classifier, 0 when shared
};

Header parse_header(const std::string& path, const MappedFile& file) {
  LB_CHECK_FORMAT(file.size() >= kHeaderBytes, path, ": ", file.size(),
                  " bytes is shorter than the 28-byte llama2.c header");
  int32_t h[7];
  std::memcpy(h, file.data(), sizeof(h));
  Header r{h[0], h[1], h[2], h[3], h[4], h[5], h[6]};
  r.shared = r.vocab > 0;
  r.vocab = r.vocab < 0 ? -r.vocab : r.vocab;  // int64, so INT32_MIN is fine
  LB_CHECK_FORMAT(r.dim > 0 && r.hidden > 0 && r.layers > 0 && r.heads > 0 && r.kv_heads > 0 &&
                      r.vocab > 0 && r.seq_len > 0,
                  path, ": not a llama2.c checkpoint: header (dim ", r.dim, ", hidden_dim ",
                  r.hidden, ", n_layers ", r.layers, ", n_heads ", r.heads, ", n_kv_heads ",
                  r.kv_heads, ", vocab_size ", h[5], ", seq_len ", r.seq_len, ") must be positive");
  // Bounds no real model comes near (Llama-3 405B: dim 16384, 126 layers, vocab 128256) but
  // that random bytes rarely meet, so other files are not read as absurd models.
  LB_CHECK_FORMAT(r.dim <= (1 << 17) && r.hidden <= (1 << 20) && r.layers <= 4096 &&
                      r.heads <= r.dim && r.kv_heads <= r.heads && r.vocab <= (1 << 22) &&
                      r.seq_len <= (1 << 24),
                  path, ": not a llama2.c checkpoint: implausible header (dim ", r.dim,
                  ", hidden_dim ", r.hidden, ", n_layers ", r.layers, ", n_heads ", r.heads,
                  ", n_kv_heads ", r.kv_heads, ", vocab_size ", h[5], ", seq_len ", r.seq_len, ")");
  LB_CHECK_FORMAT(r.dim % r.heads == 0 && r.heads % r.kv_heads == 0 && r.head_size() % 2 == 0, path,
                  ": header dim ", r.dim, ", n_heads ", r.heads, ", n_kv_heads ", r.kv_heads,
                  " do not give an even head size shared by whole KV groups");
  return r;
}

// Checked float counts; a header whose sizes overflow cannot match any real file.
Sizes compute_sizes(const std::string& path, const Header& h) {
  bool overflow = false;
  auto mul = [&](std::initializer_list<uint64_t> factors) {
    uint64_t r = 1;
    for (uint64_t f : factors) overflow = overflow || __builtin_mul_overflow(r, f, &r);
    return r;
  };
  auto add = [&](std::initializer_list<uint64_t> terms) {
    uint64_t r = 0;
    for (uint64_t t : terms) overflow = overflow || __builtin_add_overflow(r, t, &r);
    return r;
  };
  Sizes s;
  // All header fields are positive int32, so the casts are exact.
  const auto dim = static_cast<uint64_t>(h.dim), hidden = static_cast<uint64_t>(h.hidden),
             layers = static_cast<uint64_t>(h.layers), vocab = static_cast<uint64_t>(h.vocab),
             kv_dim = static_cast<uint64_t>(h.kv_dim());
  s.weights = add({mul({vocab, dim}), mul({2, layers, dim}), mul({2, layers, dim, dim}),
                   mul({2, layers, kv_dim, dim}), mul({3, layers, hidden, dim}), dim});
  s.rope = mul({static_cast<uint64_t>(h.seq_len), static_cast<uint64_t>(h.head_size())});
  s.wcls = h.shared ? 0 : mul({vocab, dim});
  // The byte count with everything present must fit in 64 bits too.
  add({kHeaderBytes, mul({4, add({s.weights, s.rope, s.wcls})})});
  LB_CHECK_FORMAT(!overflow, path, ": header dimensions are too large for any file");
  return s;
}

json make_config(const Header& h) {
  return json{{"model_type", "llama"},
              {"hidden_size", h.dim},
              {"intermediate_size", h.hidden},
              {"num_hidden_layers", h.layers},
              {"num_attention_heads", h.heads},
              {"num_key_value_heads", h.kv_heads},
              {"vocab_size", h.vocab},
              {"max_position_embeddings", h.seq_len},
              {"rms_norm_eps", 1e-5},
              {"rope_theta", 10000.0},
              {"tie_word_embeddings", h.shared},
              {"bos_token_id", 1},
              {"eos_token_id", 2},
              {"lowbit_rope_interleaved", true}};
}

// Opens and validates; returns the mapping, header and whether the RoPE tables are present.
struct Opened {
  std::shared_ptr<MappedFile> file;
  Header header;
  Sizes sizes;
  bool has_rope = true;
};

Opened open_checked(const fs::path& fs_path) {
  Opened o;
  o.file = MappedFile::open(fs_path.string());
  const std::string& path = o.file->path();
  o.header = parse_header(path, *o.file);
  o.sizes = compute_sizes(path, o.header);
  const uint64_t with_rope = kHeaderBytes + 4 * (o.sizes.weights + o.sizes.rope + o.sizes.wcls);
  const uint64_t without_rope = kHeaderBytes + 4 * (o.sizes.weights + o.sizes.wcls);
  const uint64_t actual = o.file->size();
  LB_CHECK_FORMAT(actual == with_rope || actual == without_rope, path, ": file is ", actual,
                  " bytes, but its llama2.c header implies ", with_rope, " (or ", without_rope,
                  " without the RoPE tables)");
  o.has_rope = actual == with_rope;
  return o;
}

}  // namespace

json read_llama2c_config(const fs::path& path) { return make_config(open_checked(path).header); }

Llama2cModel read_llama2c(const fs::path& path) {
  const Opened o = open_checked(path);
  const Header& h = o.header;
  const auto* cursor = reinterpret_cast<const float*>(o.file->data() + kHeaderBytes);
  std::vector<std::pair<std::string, QuantizedTensor>> named;
  // Takes the next array [count, rows, cols] (count 1 for whole-model tensors; cols 0 for
  // vectors) and names slice i with name_of(i).
  auto take = [&](int64_t count, int64_t rows, int64_t cols, auto name_of) {
    const Shape shape = cols == 0 ? Shape{rows} : Shape{rows, cols};
    const int64_t n = numel(shape);
    for (int64_t i = 0; i < count; ++i) {
      Buffer b = Buffer::borrow_mapped(o.file, cursor, static_cast<size_t>(n) * sizeof(float));
      named.emplace_back(name_of(static_cast<int>(i)),
                         QuantizedTensor::dense(QuantKind::f32, shape, std::move(b)));
      cursor += n;
    }
  };
  auto whole = [](std::string_view name) { return [name](int) { return std::string(name); }; };
  auto layer = [](std::string_view suffix) {
    return [suffix](int i) { return layer_tensor(i, suffix); };
  };
  take(1, h.vocab, h.dim, whole(kEmbedTokens));
  take(h.layers, h.dim, 0, layer(kInputNorm));
  take(h.layers, h.dim, h.dim, layer(kQProj));
  take(h.layers, h.kv_dim(), h.dim, layer(kKProj));
  take(h.layers, h.kv_dim(), h.dim, layer(kVProj));
  take(h.layers, h.dim, h.dim, layer(kOProj));
  take(h.layers, h.dim, 0, layer(kPostNorm));
  take(h.layers, h.hidden, h.dim, layer(kGateProj));  // w1
  take(h.layers, h.dim, h.hidden, layer(kDownProj));  // w2
  take(h.layers, h.hidden, h.dim, layer(kUpProj));    // w3
  take(1, h.dim, 0, whole(kFinalNorm));
  if (o.has_rope) cursor += o.sizes.rope;
  if (!h.shared) take(1, h.vocab, h.dim, whole(kLmHead));

  std::stable_sort(named.begin(), named.end(),
                   [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  Llama2cModel model;
  model.config = make_config(h);
  for (auto& [name, tensor] : named) model.tensors.add(name, std::move(tensor));
  return model;
}

}  // namespace lowbit::io
