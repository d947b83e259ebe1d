// SPDX-License-Identifier: MIT
// Weight-only linears with int8 activation blocks: the input quantized once per call (rows in
// parallel), then fixed tasks of weight rows through the per-Isa block products.
#include <algorithm>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/packed_q8.h"
#include "kernels/linear_activations.h"

namespace lowbit::kernels {

namespace {

// Weight rows per task: M == 1 streams weights (small tasks keep both threads busy); M > 1
// reuses each tile of weight rows across all M activation rows. Multiples of the kernels'
// 8-row tile.
constexpr int64_t kDecodeRowsPerTask = 16;
constexpr int64_t kPrefillRowsPerTask = 64;
constexpr int64_t kQuantizeRowsPerTask = 8;

}  // namespace

void linear_block_q8(const float* x, int64_t m, const QuantizedTensor& tensor,
                     const cpu::WeightView& w, const float* bias, float* y, ExecContext& ctx) {
  const int64_t n = w.rows, k = w.cols, blocks = k / cpu::kQ8Block;
  // SIMD: the weight repacked for the kernel (once), activations in element order; scalar: the
  // reference on the stored layout.
  const cpu::PackedDotFn packed_dot = cpu::packed_dot_kernel(ctx.isa);
  const cpu::PackedQ8* packed = packed_dot ? &cpu::packed_q8_of(tensor, w, ctx) : nullptr;
  const cpu::QuantizeBlocksFn quantize = cpu::quantize_blocks_kernel(ctx.isa);
  thread_local std::vector<int8_t> q;
  thread_local std::vector<float> d, zero_terms;
  thread_local std::vector<int32_t> sums;
  q.resize(static_cast<size_t>(m * k));
  d.resize(static_cast<size_t>(m * blocks));
  sums.resize(static_cast<size_t>(m * blocks));
  const bool nibble_order = packed == nullptr && w.bits == 4;
  int8_t* q_data = q.data();
  float* d_data = d.data();
  int32_t* sums_data = sums.data();
  const int64_t row_tasks = (m + kQuantizeRowsPerTask - 1) / kQuantizeRowsPerTask;
  if (row_tasks == 1) {
    quantize(x, m, k, nibble_order, q_data, d_data, sums_data);
  } else {
    ctx.pool->parallel_for(0, row_tasks, 1, [&](int64_t t0, int64_t t1) {
      const int64_t r0 = t0 * kQuantizeRowsPerTask;
      const int64_t r1 = std::min(m, t1 * kQuantizeRowsPerTask);
      quantize(x + r0 * k, r1 - r0, k, nibble_order, q_data + r0 * k, d_data + r0 * blocks,
               sums_data + r0 * blocks);
    });
  }
  cpu::Q8Rows a{q_data, d_data, sums_data, nullptr, m, k};
  if (!w.symmetric) {
    zero_terms.resize(static_cast<size_t>(m * w.groups));
    cpu::q8_zero_terms(d_data, sums_data, m, k, w.group_len, zero_terms.data());
    a.zero_terms = zero_terms.data();
  }
  const int64_t per_task = m == 1 ? kDecodeRowsPerTask : kPrefillRowsPerTask;
  const int64_t tasks = (n + per_task - 1) / per_task;
  ctx.pool->parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * per_task;
      const int64_t r1 = std::min(n, r0 + per_task);
      if (packed != nullptr) {
        packed_dot(*packed, a, r0 / cpu::kPackRows, (r1 + cpu::kPackRows - 1) / cpu::kPackRows, y,
                   n);
      } else {
        cpu::ref::dot_rows_q8(w, a, r0, r1, y, n);
      }
      if (bias != nullptr)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t r = r0; r < r1; ++r) y[i * n + r] += bias[r];
    }
  });
}

}  // namespace lowbit::kernels
