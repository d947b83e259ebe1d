// SPDX-License-Identifier: MIT
// ggml's k-quant reference quantizers; see ggml_kquant.h and docs/FORMATS.md.
#include "quant/ggml_kquant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "numerics/half.h"
#include "tensor/k_quant.h"

namespace lowbit::quant {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: add 1.5 * 2^23 and read the low mantissa bits (round half to even, valid
// for |v| <= 4194303).
int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// make_qkx2_quants: an affine fit x ~ scale * L - the_min (the_min >= 0) of n values with
// weights w, L in [0, nmax], searching inverse scales (rmin + rdelta * is + nmax) / (max - min)
// for is = 0..nstep by weighted least squares, keeping strictly lower squared error.
float make_qkx2_quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                       float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float wx = w[i] * x[i];
    sum_w = sum_w + w[i];
    sum_x = sum_x + wx;
  }
  if (min > 0) min = 0;
  // sum w (scale * L + min - x)^2, each operation rounded in ggml's order.
  const auto weighted_error = [&](float s, float m, const uint8_t* codes) {
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float sl = s * static_cast<float>(codes[i]);
      const float slm = sl + m;
      float diff = slm - x[i];
      diff = diff * diff;
      const float wd = w[i] * diff;
      error = error + wd;
    }
    return error;
  };
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i) {
    const float shifted = x[i] - min;
    const int l = nearest_int(iscale * shifted);
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
  }
  float best_error = weighted_error(scale, min, L);
  uint8_t aux[32];
  for (int is = 0; is <= nstep; ++is) {
    const float step = rdelta * static_cast<float>(is);
    const float top = rmin + step;
    iscale = (top + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const float shifted = x[i] - min;
      int l = nearest_int(iscale * shifted);
      l = std::max(0, std::min(nmax, l));
      aux[i] = static_cast<uint8_t>(l);
      const float wl = w[i] * static_cast<float>(l);
      sum_l = sum_l + wl;
      const float wll = wl * static_cast<float>(l);
      sum_l2 = sum_l2 + wll;
      const float wlx = wl * x[i];
      sum_xl = sum_xl + wlx;
    }
    const float a = sum_w * sum_l2, b = sum_l * sum_l;
    const float D = a - b;
    if (D > 0) {
      const float sn1 = sum_w * sum_xl, sn2 = sum_x * sum_l;
      float this_scale = (sn1 - sn2) / D;
      const float mn1 = sum_l2 * sum_x, mn2 = sum_l * sum_xl;
      float this_min = (mn1 - mn2) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      const float cur_error = weighted_error(this_scale, this_min, aux);
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = aux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// make_qx_quants with rmse_type 1 (weights x^2): a symmetric fit x ~ scale * l, l in
// [-nmax, nmax - 1], L = l + nmax; the first inverse scale -nmax / max, then
// -(nmax + 0.1 * is) / max for is = -9..9 (not 0), kept when sum(w x l)^2 > best * sum(w l^2).
float make_qx_quants(int n, int nmax, const float* x, uint8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  // The fit of one inverse scale: codes into `out` (when given) and the two sums.
  const auto fit = [&](float iscale, uint8_t* out, float& sumlx, float& suml2) {
    sumlx = 0;
    suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      if (out != nullptr) out[i] = static_cast<uint8_t>(l + nmax);
      const float w = x[i] * x[i];
      const float wx = w * x[i];
      const float wxl = wx * static_cast<float>(l);
      sumlx = sumlx + wxl;
      const float wl = w * static_cast<float>(l);
      const float wll = wl * static_cast<float>(l);
      suml2 = suml2 + wll;
    }
  };
  float sumlx = 0, suml2 = 0;
  fit(static_cast<float>(-nmax) / max, L, sumlx, suml2);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float step = 0.1f * static_cast<float>(is);
    const float iscale = -(static_cast<float>(nmax) + step) / max;
    fit(iscale, nullptr, sumlx, suml2);
    const float score = sumlx * sumlx, bar = best * suml2;
    if (suml2 > 0 && score > bar) {
      fit(iscale, L, sumlx, suml2);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void put_f16(uint8_t* at, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(at, &h, 2);
}

float get_f16(const uint8_t* at) {
  uint16_t h;
  std::memcpy(&h, at, 2);
  return f16_to_f32(h);
}

// Q4_K (nmax 15: rmin -1, nstep 20) and Q5_K (nmax 31: rmin -0.5, nstep 15).
void quantize_q45_k(int bits, const float* x, uint8_t* L, uint8_t* s) {
  const int nmax = bits == 4 ? 15 : 31;
  const float rmin = bits == 4 ? -1.0f : -0.5f;
  const int nstep = bits == 4 ? 20 : 15;
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) {
      const float sq = xb[l] * xb[l];
      sum_x2 = sum_x2 + sq;
    }
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
    scales[j] = make_qkx2_quants(32, nmax, xb, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  put_f16(s, max_scale / 63.0f);
  put_f16(s + 2, max_min / 63.0f);
  k_pack_scale_min(ls, lm, s + 4);
  // Codes again from the stored (f16-rounded) scales and mins.
  for (int j = 0; j < 8; ++j) {
    unsigned sc = 0, m = 0;
    k_scale_min(s + 4, j, sc, m);
    const float d = get_f16(s) * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = get_f16(s + 2) * static_cast<float>(m);
    for (int i = 0; i < 32; ++i) {
      const float shifted = x[32 * j + i] + dm;
      const int l = nearest_int(shifted / d);
      L[32 * j + i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// Q6_K: sixteen make_qx_quants(16, 32) fits; int8 sub-scales under d = 1 / (-128 / max_scale).
void quantize_q6_k(const float* x, uint8_t* L, uint8_t* s) {
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
    const float abs_scale = std::fabs(scales[ib]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    // ggml zeroes the whole block: codes 0, scales 0, d = +0.
    std::memset(L, 0, 256);
    std::memset(s, 0, 18);
    return;
  }
  const float iscale = -128.0f / max_scale;
  put_f16(s + 16, 1 / iscale);
  for (int ib = 0; ib < 16; ++ib)
    s[ib] =
        static_cast<uint8_t>(static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib]))));
  for (int j = 0; j < 16; ++j) {
    const float d = get_f16(s + 16) * static_cast<float>(static_cast<int8_t>(s[j]));
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = nearest_int(x[16 * j + i] / d);
      L[16 * j + i] = static_cast<uint8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
}

}  // namespace

void quantize_k_super_block(int bits, const float* x, uint8_t* codes, uint8_t* scale_bytes) {
  if (bits == 6) {
    quantize_q6_k(x, codes, scale_bytes);
  } else {
    quantize_q45_k(bits, x, codes, scale_bytes);
  }
}

}  // namespace lowbit::quant
