// SPDX-License-Identifier: MIT
// `lowbit synth`: writes a deterministic synthetic Llama model as an HF-style directory.
#include <cstdio>

#include "cli/common.h"
#include "cli/subcommands.h"
#include "ptq/synthetic_model.h"
#include "util/log.h"

namespace lowbit::cli {
namespace {

struct SynthArgs {
  std::string out;
  std::string preset = "demo";
  int64_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, ctx = 0;
  uint64_t seed = 1234;
  bool tied = false;
  bool force = false;
};

int run_synth(const SynthArgs& a) {
  check_output_directory(a.out, a.force, ptq::is_synthetic_model_dir,
                         "a synthetic model written by lowbit synth");
  ptq::SyntheticSpec s = ptq::synthetic_preset(a.preset);
  if (a.dim) s.dim = a.dim;
  if (a.hidden) s.hidden_dim = a.hidden;
  if (a.layers) s.n_layers = a.layers;
  if (a.heads) s.n_heads = a.heads;
  if (a.kv_heads) s.n_kv_heads = a.kv_heads;
  if (a.vocab) s.vocab_size = a.vocab;
  if (a.ctx) s.max_seq_len = a.ctx;
  s.tie_embeddings = a.tied;
  s.seed = a.seed;
  log_info("synth: generating ", a.preset, " (dim ", s.dim, ", ", s.n_layers, " layers, vocab ",
           s.vocab_size, ", seed ", s.seed, ")");
  const ptq::SyntheticModel m = ptq::make_synthetic_model(s);
  int64_t params = 0;
  for (const auto& name : m.tensors.names()) params += m.tensors.at(name).numel();
  ptq::write_hf_model(a.out, m, a.force);
  std::printf("wrote %s: %lld parameters\n", a.out.c_str(), static_cast<long long>(params));
  return 0;
}

}  // namespace

void add_synth_command(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("synth", "Write a synthetic Llama model (HF directory)");
  auto a = std::make_shared<SynthArgs>();
  cmd->add_option("-o,--out", a->out, "Output directory (new or empty; see --force)")->required();
  cmd->add_flag("--force", a->force, "Replace a synthetic model written before at --out");
  cmd->add_option("--preset", a->preset, "demo, tiny, smollm2-135m or tinyllama-1.1b")
      ->check(CLI::IsMember({"demo", "tiny", "smollm2-135m", "tinyllama-1.1b"}));
  cmd->add_option("--dim", a->dim, "Hidden size")->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--ffn", a->hidden, "SwiGLU width")->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--layers", a->layers, "Decoder blocks")
      ->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--heads", a->heads, "Attention heads")
      ->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--kv-heads", a->kv_heads, "KV heads (GQA)")
      ->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--vocab", a->vocab, "Vocabulary size (>= 259)")
      ->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--ctx", a->ctx, "Maximum context")->check(integer_range(1, int64_t{1} << 31));
  cmd->add_option("--seed", a->seed, "Generator seed");
  cmd->add_flag("--tied", a->tied, "Tie the output head to the embedding");
  cmd->callback([&action, a] { action = [a] { return run_synth(*a); }; });
}

}  // namespace lowbit::cli
