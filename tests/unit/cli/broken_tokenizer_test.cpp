// SPDX-License-Identifier: MIT
// A model whose tokenizer cannot be built still works for the commands that do not tokenize
// (inspect, quantize); generate reports the tokenizer's error. An unknown pre-tokenizer label
// only warns.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

// GGUF v3 bytes, little-endian, from the spec: header, KV pairs, tensor infos, aligned data.
class TinyGguf {
 public:
  template <typename T>
  static std::string pod(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static std::string str(const std::string& s) { return pod<uint64_t>(s.size()) + s; }

  void kv_u32(const std::string& key, uint32_t v) { kv(key, 4, pod(v)); }
  void kv_f32(const std::string& key, float v) { kv(key, 6, pod(v)); }
  void kv_string(const std::string& key, const std::string& v) { kv(key, 8, str(v)); }
  void kv_strings(const std::string& key, const std::vector<std::string>& v) {
    std::string body = pod<uint32_t>(8) + pod<uint64_t>(v.size());
    for (const std::string& s : v) body += str(s);
    kv(key, 9, body);
  }
  // An f32 tensor of `ne` (innermost first) filled with a small repeating pattern.
  void tensor(const std::string& name, std::vector<uint64_t> ne) {
    uint64_t n = 1;
    for (const uint64_t d : ne) n *= d;
    std::string data;
    for (uint64_t i = 0; i < n; ++i) data += pod(0.01f * static_cast<float>(i % 7) - 0.03f);
    tensors_.push_back({name, std::move(ne), std::move(data)});
  }

  std::string build() const {
    std::string out =
        "GGUF" + pod<uint32_t>(3) + pod<uint64_t>(tensors_.size()) + pod<uint64_t>(n_kv_) + kvs_;
    std::string data;
    for (const Tensor& t : tensors_) {
      data.append((32 - data.size() % 32) % 32, '\0');
      out += str(t.name) + pod(static_cast<uint32_t>(t.ne.size()));
      for (const uint64_t d : t.ne) out += pod(d);
      out += pod<uint32_t>(0) + pod<uint64_t>(data.size());  // type 0: f32
      data += t.data;
    }
    out.append((32 - out.size() % 32) % 32, '\0');
    return out + data;
  }

 private:
  void kv(const std::string& key, uint32_t type, const std::string& value) {
    kvs_ += str(key) + pod(type) + value;
    ++n_kv_;
  }
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    std::string data;
  };
  std::string kvs_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

// A one-layer Llama (hidden 32, 4 heads, 2 KV heads, FFN 64) with a "gpt2" vocabulary of
// five tokens whose merges and pre label are given.
fs::path write_model(const fs::path& dir, const std::string& name,
                     const std::vector<std::string>& merges, const std::string& pre) {
  TinyGguf g;
  g.kv_string("general.architecture", "llama");
  g.kv_u32("llama.embedding_length", 32);
  g.kv_u32("llama.feed_forward_length", 64);
  g.kv_u32("llama.block_count", 1);
  g.kv_u32("llama.attention.head_count", 4);
  g.kv_u32("llama.attention.head_count_kv", 2);
  g.kv_u32("llama.context_length", 64);
  g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.kv_string("tokenizer.ggml.model", "gpt2");
  g.kv_string("tokenizer.ggml.pre", pre);
  g.kv_strings("tokenizer.ggml.tokens", {"a", "b", "ab", "<s>", "</s>"});
  g.kv_strings("tokenizer.ggml.merges", merges);
  g.kv_u32("tokenizer.ggml.bos_token_id", 3);
  g.kv_u32("tokenizer.ggml.eos_token_id", 4);
  g.tensor("token_embd.weight", {32, 5});
  g.tensor("blk.0.attn_norm.weight", {32});
  g.tensor("blk.0.attn_q.weight", {32, 32});
  g.tensor("blk.0.attn_k.weight", {32, 16});
  g.tensor("blk.0.attn_v.weight", {32, 16});
  g.tensor("blk.0.attn_output.weight", {32, 32});
  g.tensor("blk.0.ffn_norm.weight", {32});
  g.tensor("blk.0.ffn_gate.weight", {32, 64});
  g.tensor("blk.0.ffn_up.weight", {32, 64});
  g.tensor("blk.0.ffn_down.weight", {64, 32});
  g.tensor("output_norm.weight", {32});
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << g.build();
  return path;
}

TEST(BrokenTokenizer, InspectAndQuantizeStillWork) {
  TempDir tmp;
  // "a q": q is not a token, so the vocabulary is malformed.
  const fs::path model = write_model(tmp.path(), "broken.gguf", {"a q"}, "llama-bpe");
  const CommandResult inspect = run_lowbit("inspect --json --model " + model.string());
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("\"parameters\""), std::string::npos) << inspect.out;
  // inspect does not even build the tokenizer, so it says nothing about it.
  EXPECT_EQ(inspect.err.find("tokenizer"), std::string::npos) << inspect.err;

  const fs::path out = tmp.path() / "q";
  const CommandResult quantize =
      run_lowbit("quantize --model " + model.string() + " --scheme w4g32 --out " + out.string());
  EXPECT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.err.find("warning: the checkpoint gets no tokenizer"), std::string::npos)
      << quantize.err;
  EXPECT_TRUE(fs::exists(out / "config.json"));
  EXPECT_FALSE(fs::exists(out / "tokenizer.json"));
  EXPECT_EQ(run_lowbit("inspect --model " + out.string()).exit_code, 0);

  // generate needs the tokenizer: the load error comes back with its own exit code (3).
  const CommandResult generate = run_lowbit("generate --model " + model.string() + " -n 2");
  EXPECT_EQ(generate.exit_code, 3) << generate.err;
  EXPECT_NE(generate.err.find("broken.gguf: tokenizer.ggml.merges[0]"), std::string::npos)
      << generate.err;
}

TEST(BrokenTokenizer, UnknownPreLabelOnlyWarns) {
  TempDir tmp;
  const fs::path model = write_model(tmp.path(), "odd.gguf", {"a b"}, "brand-new-label");
  const CommandResult generate =
      run_lowbit("generate --model " + model.string() + " --prompt ab -n 2 --temp 0");
  EXPECT_EQ(generate.exit_code, 0) << generate.err;
  EXPECT_NE(
      generate.err.find("warning: " + model.string() + ": tokenizer.ggml.pre 'brand-new-label'"),
      std::string::npos)
      << generate.err;
  const fs::path out = tmp.path() / "q";
  EXPECT_EQ(run_lowbit("quantize --model " + model.string() + " --scheme w8 --out " + out.string())
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(out / "tokenizer.json"));  // written, with the GPT-2 fallback list
}

}  // namespace
}  // namespace lowbit::testing
