// SPDX-License-Identifier: MIT
#include "kernels/linear_trellis.h"

#include <algorithm>
#include <vector>

#include "numerics/linalg.h"
#include "numerics/trellis_code.h"
#include "tensor/dequantize.h"
#include "tensor/scale_reader.h"

namespace lowbit::kernels {

void linear_trellis(const float* x, int64_t m, const QuantizedTensor& w, const float* bias,
                    float* y, ExecContext& ctx) {
  const QuantFormat& f = w.format;
  const int64_t rows = w.rows(), cols = w.cols();
  const int k = f.bits, L = f.state_bits;
  std::vector<float> xr(x, x + m * cols);
  const InputRotation& rotation = trellis_rotation(cols);
  ctx.pool->parallel_for(
      0, m, 16, [&](int64_t i0, int64_t i1) { rotation.rotate(xr.data() + i0 * cols, i1 - i0); });
  const float* codebook = trellis_codebook(L);
  const ScaleReader scales = ScaleReader::of(w);
  const uint8_t* codes = w.codes.data();
  const int64_t runs = (rows + kTrellisRun - 1) / kTrellisRun;
  ctx.pool->parallel_for(0, runs, 1, [&](int64_t run0, int64_t run1) {
    thread_local std::vector<float> tile, product;
    std::vector<float> acc(static_cast<size_t>(kTrellisRun));
    for (int64_t run = run0; run < run1; ++run) {
      const int64_t r0 = run * kTrellisRun, n = std::min(kTrellisRun, rows - r0);
      const uint8_t* base = codes + trellis_stream_offset(rows, cols, k, L, run, 0);
      const int64_t stream_bytes = trellis_stream_bytes(n, k, L);
      if (m == 1) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t c = 0; c < cols; ++c) {
          TrellisStreamReader stream(base + c * stream_bytes, k, L);
          const float xc = xr[static_cast<size_t>(c)];
          for (int64_t t = 0;; stream.advance()) {  // never reads past the last value's bits
            acc[static_cast<size_t>(t)] += xc * codebook[stream.state()];
            if (++t == n) break;
          }
        }
        for (int64_t t = 0; t < n; ++t) {
          const float v = scales.at(r0 + t) * acc[static_cast<size_t>(t)];
          y[r0 + t] = bias != nullptr ? v + bias[r0 + t] : v;
        }
        continue;
      }
      tile.resize(static_cast<size_t>(n * cols));
      for (int64_t c = 0; c < cols; ++c) {
        TrellisStreamReader stream(base + c * stream_bytes, k, L);
        for (int64_t t = 0;; stream.advance()) {
          tile[static_cast<size_t>(t * cols + c)] = codebook[stream.state()];
          if (++t == n) break;
        }
      }
      product.resize(static_cast<size_t>(m * n));
      sgemm_nt(m, n, cols, xr.data(), tile.data(), product.data());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t t = 0; t < n; ++t) {
          const float v = scales.at(r0 + t) * product[static_cast<size_t>(i * n + t)];
          y[i * rows + r0 + t] = bias != nullptr ? v + bias[r0 + t] : v;
        }
    }
  });
}

}  // namespace lowbit::kernels
