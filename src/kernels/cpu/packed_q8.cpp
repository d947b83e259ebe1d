// SPDX-License-Identifier: MIT
// Repacking 4/8-bit integer weights into the 8-row interleaved tiles of packed_q8.h.
#include "kernels/cpu/packed_q8.h"

#include <cstring>
#include <mutex>
#include <vector>

#include "kernels/cpu/row_kernels.h"
#include "tensor/k_quant.h"

namespace lowbit::kernels::cpu {

namespace {

// Row j of tile t's k-quant parameters, from ggml's super-block bytes (tensor/k_quant.h).
void pack_k_params(const WeightView& w, PackedQ8& p, int64_t t, int64_t j) {
  const int64_t r = t * kPackRows + j, subs = p.k_subs();
  const int bits = w.scales.k_bits;
  for (int64_t s = 0; s < p.supers; ++s) {
    const int64_t super_index = w.entry_index(r, s * subs) / subs;
    const uint8_t* block = w.scales.scales + static_cast<size_t>(super_index * k_super_bytes(bits));
    const auto ts = static_cast<size_t>(t * p.supers + s);
    std::memcpy(&p.k_d[ts * kPackRows + j], bits == 6 ? block + 16 : block, sizeof(uint16_t));
    if (bits != 6) std::memcpy(&p.k_dmin[ts * kPackRows + j], block + 2, sizeof(uint16_t));
    for (int64_t i = 0; i < subs; ++i) {
      const auto at = static_cast<size_t>((static_cast<int64_t>(ts) * subs + i) * kPackRows + j);
      if (bits == 6) {
        p.k_sc[at] = block[i];  // int8 scale, kept as its byte
        continue;
      }
      unsigned sc = 0, m = 0;
      k_scale_min(block + 4, static_cast<int>(i), sc, m);
      p.k_sc[at] = static_cast<uint8_t>(sc);
      p.k_m[at] = static_cast<uint8_t>(m);
    }
  }
}

void pack_tile(const WeightView& w, PackedQ8& p, int64_t t) {
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols));
  for (int64_t j = 0; j < kPackRows; ++j) {
    const int64_t r = t * kPackRows + j;
    if (r >= w.rows) break;  // padding rows keep zero codes and scales
    ref::unpack_codes(w.row(r), 0, w.cols, w.bits, codes.data());
    // Codes move to the layout's zero (packed_q8.h).
    const int shift = (1 << (p.bits - 1)) - (1 << (w.bits - 1));
    const auto code = [&](int64_t e) {
      return static_cast<uint8_t>(codes[static_cast<size_t>(e)] + shift);
    };
    for (int64_t b = 0; b < p.blocks; ++b) {
      uint8_t* seg = p.codes.data() + static_cast<size_t>((t * p.blocks + b) * p.segment_bytes());
      const int64_t e0 = b * kQ8Block;
      if (p.bits == 8) {
        for (int64_t c = 0; c < 8; ++c)
          for (int64_t u = 0; u < 4; ++u) seg[c * 32 + j * 4 + u] = code(e0 + 4 * c + u);
      } else if (p.bits == 6) {
        for (int64_t c = 0; c < 4; ++c)
          for (int64_t u = 0; u < 4; ++u)
            seg[c * 32 + j * 4 + u] = static_cast<uint8_t>((code(e0 + 4 * c + u) & 15) |
                                                           (code(e0 + 16 + 4 * c + u) & 15) << 4);
        for (int64_t c = 0; c < 8; ++c)
          for (int64_t u = 0; u < 4; ++u)
            seg[128 + c / 4 * 32 + j * 4 + u] |=
                static_cast<uint8_t>((code(e0 + 4 * c + u) >> 4) << (2 * (c % 4)));
      } else {
        for (int64_t c = 0; c < 4; ++c)
          for (int64_t u = 0; u < 4; ++u)
            seg[c * 32 + j * 4 + u] =
                static_cast<uint8_t>(code(e0 + 4 * c + u) | (code(e0 + 16 + 4 * c + u) << 4));
      }
    }
    if (p.k_super) {
      pack_k_params(w, p, t, j);
      continue;
    }
    const float off = static_cast<float>(1 << (w.bits - 1));
    for (int64_t g = 0; g < p.groups; ++g) {
      const size_t at = static_cast<size_t>((t * p.groups + g) * kPackRows + j);
      if (p.half) {
        std::memcpy(&p.scales16[at], w.scales.entry(w.entry_index(r, g)), sizeof(uint16_t));
        if (!p.symmetric) std::memcpy(&p.zeros16[at], w.zeros + w.entry_index(r, g), 2);
      } else {
        p.scales[at] = w.scale(r, g);
        if (!p.symmetric) p.zeros[at] = p.min_offset ? w.min(r, g) : w.zero(r, g) - off;
      }
    }
  }
}

std::mutex& layout_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::shared_ptr<const PackedQ8> pack_q8(const WeightView& w, ExecContext& ctx) {
  auto p = std::make_shared<PackedQ8>();
  p->bits = w.bits == 4 ? 4 : w.bits == 8 ? 8 : 6;
  p->weight_bits = w.bits;
  p->half_groups = w.group_len == 16;
  p->symmetric = w.symmetric;
  p->min_offset = w.min_offset;
  p->rows = w.rows;
  p->cols = w.cols;
  p->group_len = w.group_len;
  p->tiles = (w.rows + kPackRows - 1) / kPackRows;
  p->blocks = w.cols / kQ8Block;
  p->groups = w.groups;
  p->codes.assign(static_cast<size_t>(p->tiles * p->blocks * p->segment_bytes()), 0);
  // f16 parameters stay f16 where the kernel's offset is the layout's own (4, 6 and 8 bits).
  p->half = w.scales.encoding == ScaleEncoding::f16 && w.bits == p->bits;
  p->k_super = w.scales.encoding == ScaleEncoding::k_super;
  const auto params = static_cast<size_t>(p->tiles * p->groups * kPackRows);
  if (p->k_super) {
    p->k_subs_log2 = k_sub_blocks(w.scales.k_bits) == 16 ? 4 : 3;
    p->supers = w.groups / p->k_subs();
    p->k_d.assign(static_cast<size_t>(p->tiles * p->supers * kPackRows), 0);
    p->k_sc.assign(params, 0);
    if (w.min_offset) {
      p->k_dmin.assign(p->k_d.size(), 0);
      p->k_m.assign(params, 0);
    }
  } else if (p->half) {
    p->scales16.assign(params, 0);
    if (!w.symmetric) p->zeros16.assign(params, 0);
  } else {
    p->scales.assign(params, 0.0f);
    if (!w.symmetric) p->zeros.assign(params, 0.0f);
  }
  p->source_codes = w.codes;
  p->source_scales = w.scales.scales;
  p->source_zeros = reinterpret_cast<const uint8_t*>(w.zeros);
  ctx.pool->parallel_for(0, p->tiles, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) pack_tile(w, *p, t);
  });
  return p;
}

int64_t PackedQ8::kernel_bytes() const {
  const auto bytes = [](const auto& v) {
    return static_cast<int64_t>(v.size() * sizeof(v.front()));
  };
  return bytes(codes) + bytes(scales) + bytes(zeros) + bytes(scales16) + bytes(zeros16) +
         bytes(k_d) + bytes(k_dmin) + bytes(k_sc) + bytes(k_m);
}

const PackedQ8& packed_q8_of(const QuantizedTensor& tensor, const WeightView& w, ExecContext& ctx) {
  const std::lock_guard<std::mutex> lock(layout_mutex());
  auto current = std::static_pointer_cast<const PackedQ8>(tensor.kernel_layout);
  if (!current || current->source_codes != w.codes || current->source_scales != w.scales.scales ||
      current->source_zeros != reinterpret_cast<const uint8_t*>(w.zeros) ||
      current->rows != w.rows || current->cols != w.cols || current->weight_bits != w.bits ||
      current->group_len != w.group_len || current->symmetric != w.symmetric) {
    current = pack_q8(w, ctx);
    tensor.kernel_layout = current;
    // Kernels read the copy from now on: a weight borrowed from a mapped file gives its pages
    // back (a later read, such as a tied embedding's row lookup, faults them in again), so the
    // copy does not double resident memory.
    tensor.release_pages();
  }
  return *current;
}

PackedDotFn packed_dot_kernel(Isa isa) {
#if defined(__x86_64__)
  if (isa >= Isa::avx512) return &avx512::packed_dot_q8;
  if (isa == Isa::avx2) return &avx2::packed_dot_q8;
#else
  (void)isa;
#endif
  return nullptr;
}

}  // namespace lowbit::kernels::cpu
