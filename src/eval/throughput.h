// SPDX-License-Identifier: MIT
// Throughput tests shaped like llama-bench's: ppN (one forward over N prompt tokens from an
// empty cache) and tgN (N tokens decoded one at a time from an empty cache), each repeated
// after one untimed warm-up run, reported as tokens/s mean and sample standard deviation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kv_format.h"
#include "model/llama_model.h"

namespace lowbit::eval {

struct ThroughputTest {
  int64_t n_prompt = 0;      // > 0: a prefill test
  int64_t n_gen = 0;         // > 0: a decode test (exactly one of the two is set)
  std::string name() const;  // "pp512", "tg128"
};

struct ThroughputResult {
  std::vector<double> tokens_per_second;  // one per repetition
  double mean = 0, stddev = 0;            // stddev: sample (n - 1), 0 for one repetition
};

// Runs `test` `repetitions` times (after one warm-up) with deterministic token ids spread over
// the vocabulary. Throws InvalidArgument when the test does not fit the model's context.
ThroughputResult run_throughput(const model::LlamaModel& model, const ThroughputTest& test,
                                int repetitions, const kernels::KvFormat& kv,
                                kernels::ExecContext& ctx);

// Bytes a decoded token reads at cache position `position`: every weight but the embedding
// table (one row of it), plus the KV cache of `position` earlier tokens in `kv`.
double decode_bytes_per_token(const model::LlamaModel& model, const kernels::KvFormat& kv,
                              double position);

// Peak resident memory of this process so far (bytes).
int64_t peak_resident_bytes();

}  // namespace lowbit::eval
