// SPDX-License-Identifier: MIT
#include "eval/throughput.h"

#include <sys/resource.h>

#include <cmath>
#include <span>

#include "util/check.h"
#include "util/timer.h"

namespace lowbit::eval {

std::string ThroughputTest::name() const {
  return n_prompt > 0 ? concat("pp", n_prompt) : concat("tg", n_gen);
}

namespace {

// One timed run of the test; returns tokens per second.
double run_once(const model::LlamaModel& m, const ThroughputTest& test,
                const std::vector<int32_t>& tokens, model::KvCache& cache,
                std::vector<float>& logits, kernels::ExecContext& ctx) {
  Timer timer;
  if (test.n_prompt > 0) {
    // As llama-bench: the prompt's logits are the last position's.
    m.forward(tokens, 0, cache, logits.data(), ctx, nullptr, model::LlamaModel::Logits::last);
    return static_cast<double>(test.n_prompt) / timer.seconds();
  }
  for (int64_t i = 0; i < test.n_gen; ++i)
    m.forward(std::span<const int32_t>(tokens).subspan(static_cast<size_t>(i), 1), i, cache,
              logits.data(), ctx);
  return static_cast<double>(test.n_gen) / timer.seconds();
}

}  // namespace

ThroughputResult run_throughput(const model::LlamaModel& m, const ThroughputTest& test,
                                int repetitions, const kernels::KvFormat& kv,
                                kernels::ExecContext& ctx) {
  LB_CHECK_ARG((test.n_prompt > 0) != (test.n_gen > 0), "a throughput test is ppN or tgN");
  LB_CHECK_ARG(repetitions > 0, "-r must be > 0, got ", repetitions);
  const model::LlamaConfig& c = m.config();
  const int64_t n = test.n_prompt > 0 ? test.n_prompt : test.n_gen;
  LB_CHECK_ARG(n <= c.max_seq_len, test.name(), ": ", n, " tokens exceed the model's context of ",
               c.max_seq_len);
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    tokens[static_cast<size_t>(i)] = static_cast<int32_t>((1 + i * 7919) % c.vocab_size);
  model::KvCache cache = m.make_cache(n, kv);
  std::vector<float> logits(static_cast<size_t>(c.vocab_size));
  run_once(m, test, tokens, cache, logits, ctx);  // warm-up: pages, caches, thread start
  ThroughputResult r;
  for (int i = 0; i < repetitions; ++i)
    r.tokens_per_second.push_back(run_once(m, test, tokens, cache, logits, ctx));
  for (double v : r.tokens_per_second) r.mean += v;
  r.mean /= static_cast<double>(repetitions);
  if (repetitions > 1) {
    double ss = 0;
    for (double v : r.tokens_per_second) ss += (v - r.mean) * (v - r.mean);
    r.stddev = std::sqrt(ss / static_cast<double>(repetitions - 1));
  }
  return r;
}

double decode_bytes_per_token(const model::LlamaModel& m, const kernels::KvFormat& kv,
                              double position) {
  const model::LlamaConfig& c = m.config();
  const model::LlamaWeights& w = m.weights();
  const double embed_table = static_cast<double>(w.embed.storage_bytes());
  double bytes =
      static_cast<double>(w.storage_bytes(c)) + embed_table / static_cast<double>(c.vocab_size);
  // A tied head reads the table (storage_bytes counted it once, as the embedding); an untied
  // one is counted on its own, so the table itself is not read.
  const bool tied = c.tie_embeddings && w.lm_head.codes.data() == w.embed.codes.data();
  if (!tied) bytes -= embed_table;
  return bytes +
         kernels::kv_bytes_per_token(kv.dtype, c.n_layers, c.n_kv_heads, c.head_dim) * position;
}

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace lowbit::eval
