// SPDX-License-Identifier: MIT
// The kernels entry points for weights: cheap validation, then the split into fixed tasks over
// rows of W and the per-Isa row kernels of cpu/.
#include "kernels/kernels.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/row_kernels.h"
#include "kernels/linear_activations.h"
#include "kernels/linear_trellis.h"
#include "numerics/linalg.h"
#include "tensor/dequantize.h"
#include "util/check.h"

namespace lowbit::kernels {

namespace {

// M == 1: rows of W per task. Task boundaries are fixed multiples of this, whatever the thread
// count, and each y element is reduced inside one task, so output bits never depend on threads.
constexpr int64_t kDotRowsPerTask = 16;
// M > 1: rows of W dequantized per task into scratch (64 x K f32, 1 MiB at K = 4096, so it
// stays in L2 while sgemm streams it M times).
constexpr int64_t kTileRows = 64;

// The O(1) part of QuantizedTensor::validate: enough that the row kernels never read outside
// the buffers. The full check (with its message building) runs where tensors are loaded.
void check_weight(const QuantizedTensor& w, const char* op) {
  LB_CHECK(!w.shape.empty() && w.rows() > 0 && w.cols() > 0, op, ": empty weight ",
           shape_string(w.shape));
  const BufferSizes want = w.buffer_sizes();  // validates the format
  LB_CHECK(w.codes.size() == want.codes && w.codes.data() != nullptr, op, ": weight ",
           format_name(w.format), " ", shape_string(w.shape), " has ", w.codes.size(),
           " code bytes, expected ", want.codes);
  LB_CHECK(w.scales.size() == want.scales && w.zeros.size() == want.zeros &&
               w.nested_scales.size() == want.nested_scales,
           op, ": weight ", format_name(w.format), " ", shape_string(w.shape), " has ",
           w.scales.size(), "/", w.zeros.size(), "/", w.nested_scales.size(),
           " scale/zero/nested bytes, expected ", want.scales, "/", want.zeros, "/",
           want.nested_scales);
}

// The Isa for kernels that take no ExecContext (embedding_lookup), detected once.
Isa process_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

void linear_decode(const float* x, const cpu::WeightView& v, const float* bias, float* y,
                   const cpu::RowKernels& kernels, ExecContext& ctx) {
  const int64_t n = v.rows;
  const int64_t blocks = (n + kDotRowsPerTask - 1) / kDotRowsPerTask;
  ctx.pool->parallel_for(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t b = block_begin; b < block_end; ++b) {
      const int64_t r0 = b * kDotRowsPerTask;
      const int64_t r1 = std::min(n, r0 + kDotRowsPerTask);
      kernels.dot_rows(v, x, r0, r1, y);
      if (bias != nullptr)
        for (int64_t r = r0; r < r1; ++r) y[r] += bias[r];
    }
  });
}

void linear_prefill(const float* x, int64_t m, const cpu::WeightView& v, const float* bias,
                    float* y, const cpu::RowKernels& kernels, ExecContext& ctx) {
  const int64_t n = v.rows;
  const int64_t k = v.cols;
  const int64_t tiles = (n + kTileRows - 1) / kTileRows;
  // Dense f32 rows feed sgemm in place when they are float-aligned (mmap may not be).
  const bool in_place =
      v.kind == QuantKind::f32 && reinterpret_cast<uintptr_t>(v.codes) % alignof(float) == 0;
  ctx.pool->parallel_for(0, tiles, 1, [&](int64_t tile_begin, int64_t tile_end) {
    thread_local std::vector<float> weights;
    thread_local std::vector<float> product;
    for (int64_t t = tile_begin; t < tile_end; ++t) {
      const int64_t r0 = t * kTileRows;
      const int64_t rows = std::min(n, r0 + kTileRows) - r0;
      const float* b;
      if (in_place) {
        b = reinterpret_cast<const float*>(v.row(r0));
      } else {
        weights.resize(static_cast<size_t>(kTileRows * k));
        kernels.decode_rows(v, r0, r0 + rows, weights.data());
        b = weights.data();
      }
      product.resize(static_cast<size_t>(m * kTileRows));
      sgemm_nt(m, rows, k, x, b, product.data());
      for (int64_t i = 0; i < m; ++i) {
        const float* src = product.data() + i * rows;
        float* dst = y + i * n + r0;
        if (bias != nullptr) {
          for (int64_t j = 0; j < rows; ++j) dst[j] = src[j] + bias[r0 + j];
        } else {
          std::copy(src, src + rows, dst);
        }
      }
    }
  });
}

}  // namespace

namespace {

// The cheap checks every linear call makes before any work.
void check_linear(const float* x, int64_t m, const QuantizedTensor& w, const float* y,
                  const ExecContext& ctx) {
  LB_CHECK(x != nullptr && y != nullptr, "linear: null input or output");
  LB_CHECK(m > 0, "linear: M must be > 0, got ", m);
  LB_CHECK(w.shape.size() == 2, "linear: weight must be 2-D [N, K], got ", shape_string(w.shape));
  check_weight(w, "linear");
  const int64_t k = w.cols(), n = w.rows();
  const auto x_at = reinterpret_cast<uintptr_t>(x), y_at = reinterpret_cast<uintptr_t>(y);
  LB_CHECK(y_at + sizeof(float) * m * n <= x_at || x_at + sizeof(float) * m * k <= y_at,
           "linear: output overlaps the input");
  LB_CHECK(ctx.pool != nullptr, "linear: ExecContext has no thread pool");
}

// Whether `w` runs through the int8-activation block products in `ctx`.
bool takes_block_q8(const QuantizedTensor& w, const cpu::WeightView& v, const ExecContext& ctx) {
  return ctx.int8_activations && !w.act.enabled() && cpu::block_q8_supports(v);
}

}  // namespace

void linear(const float* x, int64_t m, const QuantizedTensor& w, const float* bias, float* y,
            ExecContext& ctx) {
  check_linear(x, m, w, y, ctx);
  std::vector<float> rounded;  // fp8 activations: the input as the product sees it
  if (w.act.enabled()) {
    validate_activation_quant(w.act, w.format, "linear");
    if (w.act.is_int8()) {
      linear_int8(x, m, w, bias, y, ctx);
      return;
    }
    rounded = round_to_fp8(x, m, w.cols(), w.act, ctx);
    x = rounded.data();
  }
  if (w.format.kind == QuantKind::trellis) {
    linear_trellis(x, m, w, bias, y, ctx);
    return;
  }
  const cpu::WeightView v = cpu::make_weight_view(w);
  if (takes_block_q8(w, v, ctx)) {
    const BlockQ8Target target{&w, v, bias, y};
    linear_block_q8(x, m, std::span(&target, 1), ctx);
    return;
  }
  const cpu::RowKernels& kernels = cpu::row_kernels(ctx.isa);
  if (m == 1) {
    linear_decode(x, v, bias, y, kernels, ctx);
  } else {
    linear_prefill(x, m, v, bias, y, kernels, ctx);
  }
}

void linear_shared_input(const float* x, int64_t m, std::span<const LinearTarget> targets,
                         ExecContext& ctx) {
  LB_CHECK(!targets.empty(), "linear: no weights");
  std::vector<BlockQ8Target> fused;
  for (const LinearTarget& t : targets) {
    LB_CHECK(t.w != nullptr, "linear: null weight");
    check_linear(x, m, *t.w, t.y, ctx);
    const cpu::WeightView v = cpu::make_weight_view(*t.w);
    const cpu::WeightView& first = fused.empty() ? v : fused.front().view;
    if (!takes_block_q8(*t.w, v, ctx) || v.cols != first.cols || v.bits != first.bits) break;
    fused.push_back({t.w, v, t.bias, t.y});
  }
  if (fused.size() == targets.size()) {
    linear_block_q8(x, m, fused, ctx);
    return;
  }
  for (const LinearTarget& t : targets) linear(x, m, *t.w, t.bias, t.y, ctx);
}

std::vector<float> dequantize_all(const QuantizedTensor& w) {
  std::vector<float> out(static_cast<size_t>(w.numel()));
  dequantize_rows(w, 0, w.rows(), out.data());
  return out;
}

void dequantize_rows(const QuantizedTensor& w, int64_t row_begin, int64_t row_end, float* out) {
  check_weight(w, "dequantize_rows");
  LB_CHECK(0 <= row_begin && row_begin <= row_end && row_end <= w.rows(), "dequantize_rows: rows [",
           row_begin, ", ", row_end, ") outside [0, ", w.rows(), ")");
  LB_CHECK(out != nullptr || row_begin == row_end, "dequantize_rows: null output");
  dequantize_rows_reference(w, row_begin, row_end, out);
}

void embedding_lookup(const QuantizedTensor& table, int64_t token, float* out) {
  LB_CHECK(table.shape.size() == 2, "embedding_lookup: table must be 2-D, got ",
           shape_string(table.shape));
  check_weight(table, "embedding_lookup");
  LB_CHECK(0 <= token && token < table.rows(), "embedding_lookup: token ", token,
           " outside the vocabulary of ", table.rows());
  LB_CHECK(out != nullptr, "embedding_lookup: null output");
  if (table.format.kind == QuantKind::trellis) {  // no row kernels: one row of the reference
    dequantize_rows_reference(table, token, token + 1, out);
    return;
  }
  const cpu::WeightView v = cpu::make_weight_view(table);
  cpu::row_kernels(process_isa()).decode_rows(v, token, token + 1, out);
}

}  // namespace lowbit::kernels
