// SPDX-License-Identifier: MIT
// Weight-only linears with int8 activation blocks: the input quantized once per call (rows in
// parallel), then fixed tasks of weight rows through the per-Isa block products.
#include <algorithm>
#include <span>
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

void linear_block_q8(const float* x, int64_t m, std::span<const BlockQ8Target> targets,
                     ExecContext& ctx) {
  const cpu::WeightView& first = targets.front().view;
  const int64_t k = first.cols, blocks = k / cpu::kQ8Block;
  // SIMD: each weight repacked for the kernel (once), activations in element order; scalar: the
  // reference on the stored layout.
  const cpu::PackedDotFn packed_dot = cpu::packed_dot_kernel(ctx.isa);
  std::vector<const cpu::PackedQ8*> packed(targets.size(), nullptr);
  if (packed_dot != nullptr)
    for (size_t i = 0; i < targets.size(); ++i)
      packed[i] = &cpu::packed_q8_of(*targets[i].tensor, targets[i].view, ctx);
  const cpu::QuantizeBlocksFn quantize = cpu::quantize_blocks_kernel(ctx.isa);
  thread_local std::vector<int8_t> q;
  thread_local std::vector<float> d;
  thread_local std::vector<int32_t> sums;
  q.resize(static_cast<size_t>(m * k));
  d.resize(static_cast<size_t>(m * blocks));
  sums.resize(static_cast<size_t>(m * blocks));
  const bool nibble_order = packed_dot == nullptr && first.bits == 4;
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
  // Per weight: its activations view (zero-point sums depend on its groups) and its first task.
  const int64_t per_task = m == 1 ? kDecodeRowsPerTask : kPrefillRowsPerTask;
  std::vector<cpu::Q8Rows> rows(targets.size(),
                                cpu::Q8Rows{q_data, d_data, sums_data, nullptr, m, k});
  // Code sums of each half block, for weights in groups of 16.
  thread_local std::vector<int32_t> half_sums;
  const bool any_half_groups =
      std::any_of(targets.begin(), targets.end(),
                  [](const BlockQ8Target& t) { return t.view.group_len == 16; });
  if (any_half_groups) {
    half_sums.resize(static_cast<size_t>(m * 2 * blocks));
    cpu::q8_half_sums(q_data, m, k, half_sums.data());
  }
  std::vector<std::vector<float>> zero_terms(targets.size());
  std::vector<int64_t> first_task(targets.size() + 1, 0);
  for (size_t i = 0; i < targets.size(); ++i) {
    const cpu::WeightView& w = targets[i].view;
    if (w.group_len == 16) rows[i].half_sums = half_sums.data();
    if (!w.symmetric) {
      zero_terms[i].resize(static_cast<size_t>(m * w.groups));
      cpu::q8_zero_terms(d_data, sums_data, m, k, w.group_len, zero_terms[i].data());
      rows[i].zero_terms = zero_terms[i].data();
    }
    first_task[i + 1] = first_task[i] + (w.rows + per_task - 1) / per_task;
  }
  // One job over every weight's row tasks: one fork-join however many weights share the input.
  ctx.pool->parallel_for(0, first_task.back(), 1, [&](int64_t t0, int64_t t1) {
    size_t i = 0;
    for (int64_t t = t0; t < t1; ++t) {
      while (t >= first_task[i + 1]) ++i;
      const BlockQ8Target& target = targets[i];
      const int64_t n = target.view.rows;
      const int64_t r0 = (t - first_task[i]) * per_task;
      const int64_t r1 = std::min(n, r0 + per_task);
      if (packed[i] != nullptr) {
        packed_dot(*packed[i], rows[i], r0 / cpu::kPackRows,
                   (r1 + cpu::kPackRows - 1) / cpu::kPackRows, target.y, n);
      } else {
        cpu::ref::dot_rows_q8(target.view, rows[i], r0, r1, target.y, n);
      }
      if (target.bias != nullptr)
        for (int64_t row = 0; row < m; ++row)
          for (int64_t r = r0; r < r1; ++r) target.y[row * n + r] += target.bias[r];
    }
  });
}

}  // namespace lowbit::kernels
