// SPDX-License-Identifier: MIT
// The ggml schemes against ggml's reference quantizers: tests/fixtures/gguf/reference_quants.gguf
// (tools/make_gguf_export_fixtures.py) holds a source tensor and, per type, the blocks the `gguf`
// PyPI package's quantizer (bit-exact with ggml's quantize_row_*_ref) made of it. lowbit's
// output, packed into ggml blocks by the GGUF writer's block packer, must equal them byte for
// byte, and must be what lowbit's GGUF reader makes of the reference blocks.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "io/ggml_blocks.h"
#include "io/gguf.h"
#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "quant/ggml_rtn.h"
#include "quant/rtn.h"
#include "quant/scheme.h"
#include "tensor/dequantize.h"
#include "util/error.h"

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;

io::GgufFile reference() {
  return io::GgufFile::open(fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "gguf" /
                            "reference_quants.gguf");
}

std::vector<float> source_values(const io::GgufFile& g, int64_t& rows, int64_t& cols) {
  const io::GgufTensorInfo* info = g.find("source");
  EXPECT_NE(info, nullptr);
  const QuantizedTensor t = g.tensor(*info);
  rows = t.rows();
  cols = t.cols();
  const float* p = t.codes.as<float>();
  return {p, p + t.numel()};
}

struct Case {
  const char* scheme;
  const char* ggml_name;
  uint32_t type;
};

class GgmlParity : public ::testing::TestWithParam<Case> {};

TEST_P(GgmlParity, MatchesTheReferenceQuantizerByteForByte) {
  const Case c = GetParam();
  const io::GgufFile g = reference();
  int64_t rows = 0, cols = 0;
  const std::vector<float> x = source_values(g, rows, cols);
  const QuantizedTensor q = quantize_ggml(x.data(), rows, cols, c.scheme, "source");
  q.validate("source");

  const io::GgufTensorInfo* ref = g.find(c.ggml_name);
  ASSERT_NE(ref, nullptr);
  ASSERT_EQ(ref->type, c.type);
  const size_t n_blocks = static_cast<size_t>(rows * cols / 32);
  std::vector<uint8_t> blocks(n_blocks * io::ggml_type(c.type)->bytes, 0xAB);
  io::pack_ggml_blocks(c.type, q.codes.data(), q.scales.data(),
                       q.format.min_offset ? q.zeros.data() : nullptr, n_blocks, blocks.data());
  ASSERT_EQ(blocks.size(), ref->size);
  for (size_t b = 0; b < n_blocks; ++b) {
    const size_t bytes = io::ggml_type(c.type)->bytes;
    EXPECT_EQ(std::memcmp(blocks.data() + b * bytes, ref->data + b * bytes, bytes), 0)
        << c.scheme << " block " << b << " (row " << b / (cols / 32) << ")";
  }
  // The reader holds the reference blocks in exactly the tensor lowbit produced.
  const QuantizedTensor read = g.tensor(*ref);
  EXPECT_EQ(read.format, q.format);
  ASSERT_EQ(read.codes.size(), q.codes.size());
  EXPECT_EQ(std::memcmp(read.codes.data(), q.codes.data(), q.codes.size()), 0);
  ASSERT_EQ(read.scales.size(), q.scales.size());
  EXPECT_EQ(std::memcmp(read.scales.data(), q.scales.data(), q.scales.size()), 0);
  ASSERT_EQ(read.zeros.size(), q.zeros.size());
  // Symmetric types have no zeros buffer (null data: no memcmp of nothing).
  if (!q.zeros.empty()) {
    EXPECT_EQ(std::memcmp(read.zeros.data(), q.zeros.data(), q.zeros.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, GgmlParity,
                         ::testing::Values(Case{"q8_0", "Q8_0", io::kGgmlQ8_0},
                                           Case{"q4_0", "Q4_0", io::kGgmlQ4_0},
                                           Case{"q5_0", "Q5_0", io::kGgmlQ5_0},
                                           Case{"q4_1", "Q4_1", io::kGgmlQ4_1},
                                           Case{"q5_1", "Q5_1", io::kGgmlQ5_1}),
                         [](const auto& p) { return std::string(p.param.scheme); });

// The types gguf-py cannot quantize, against llama.cpp's own llama-quantize (no importance
// matrix): tests/fixtures/gguf/llamacpp_quants.gguf (tools/make_llamacpp_quant_fixture.py) holds
// 8 source rows of 512 with corner cases and the blocks llama-quantize --pure made of them.
class LlamaCppParity : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaCppParity, MatchesLlamaQuantizeByteForByte) {
  const Case c = GetParam();
  const io::GgufFile g = io::GgufFile::open(fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" /
                                            "gguf" / "llamacpp_quants.gguf");
  int64_t rows = 0, cols = 0;
  const std::vector<float> x = source_values(g, rows, cols);
  ASSERT_EQ(cols, 512);
  const QuantizedTensor q = quantize_ggml(x.data(), rows, cols, c.scheme, "source");
  const io::GgufTensorInfo* ref = g.find(c.ggml_name);
  ASSERT_NE(ref, nullptr);
  ASSERT_EQ(ref->type, c.type);
  const io::GgmlType* type = io::ggml_type(c.type);
  const size_t n_blocks = static_cast<size_t>(rows * cols / type->block);
  std::vector<uint8_t> blocks(n_blocks * type->bytes, 0xAB);
  if (q.format.k_quant) {
    io::pack_ggml_k_blocks(c.type, q.codes.data(), q.scales.data(), n_blocks, blocks.data());
  } else {
    io::pack_ggml_blocks(c.type, q.codes.data(), q.scales.data(), nullptr, n_blocks, blocks.data());
  }
  ASSERT_EQ(blocks.size(), ref->size);
  for (size_t b = 0; b < n_blocks; ++b)
    EXPECT_EQ(
        std::memcmp(blocks.data() + b * type->bytes, ref->data + b * type->bytes, type->bytes), 0)
        << c.scheme << " block " << b << " (row " << b / (n_blocks / rows) << ")";
  // The reader holds llama.cpp's blocks as exactly the tensor lowbit produced.
  const QuantizedTensor read = g.tensor(*ref);
  EXPECT_EQ(read.format, q.format);
  EXPECT_EQ(std::memcmp(read.codes.data(), q.codes.data(), q.codes.size()), 0);
  ASSERT_EQ(read.scales.size(), q.scales.size());
  EXPECT_EQ(std::memcmp(read.scales.data(), q.scales.data(), q.scales.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Types, LlamaCppParity,
                         ::testing::Values(Case{"q4_k", "Q4_K", io::kGgmlQ4_K},
                                           Case{"q5_k", "Q5_K", io::kGgmlQ5_K},
                                           Case{"q6_k", "Q6_K", io::kGgmlQ6_K},
                                           Case{"iq4_nl", "IQ4_NL", io::kGgmlIQ4_NL}),
                         [](const auto& p) { return std::string(p.param.scheme); });

// A k-quant row that is not whole super-blocks takes llama-quantize's fallback type.
TEST(GgmlSchemes, KQuantsFallBackLikeLlamaQuantize) {
  std::vector<float> x(2 * 576, 0.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) * 0.125f - 0.3f;
  EXPECT_EQ(quantize_ggml(x.data(), 2, 576, "q4_k", "x").format, find_scheme("q5_0").format);
  EXPECT_EQ(quantize_ggml(x.data(), 2, 576, "q5_k", "x").format, find_scheme("q5_1").format);
  EXPECT_EQ(quantize_ggml(x.data(), 2, 576, "q6_k", "x").format, find_scheme("q8_0").format);
  std::vector<float> y(2 * 512, 0.25f);
  EXPECT_EQ(quantize_ggml(y.data(), 2, 512, "q4_k", "y").format, QuantFormat::k_quant_of(4));
}

TEST(GgmlParity, Bf16MatchesTheReferenceConversion) {
  const io::GgufFile g = reference();
  int64_t rows = 0, cols = 0;
  const std::vector<float> x = source_values(g, rows, cols);
  const QuantizedTensor q = quantize_rtn(x.data(), rows, cols, find_scheme("bf16").format, "x");
  const io::GgufTensorInfo* ref = g.find("BF16");
  ASSERT_NE(ref, nullptr);
  ASSERT_EQ(ref->size, q.codes.size());
  EXPECT_EQ(std::memcmp(ref->data, q.codes.data(), ref->size), 0);
}

TEST(GgmlSchemes, AreNamedSchemesWithTheFormatTheyProduce) {
  for (const GgmlSchemeInfo& info : ggml_schemes()) {
    const Scheme s = find_scheme(info.name);
    EXPECT_EQ(s.algorithm, "ggml");
    EXPECT_EQ(s.format, info.format);
    // Blocks of 32, or a k-quant's sub-blocks (Q6_K: 16).
    EXPECT_EQ(s.format.group_size, s.format.k_quant && s.format.bits == 6 ? 16 : 32);
    // The symmetric zero, or ggml's min form (q4_1, q5_1, q4_k, q5_k).
    EXPECT_TRUE(s.format.symmetric || s.format.min_offset);
  }
  // The composed name of the same format stays lowbit's own RTN.
  EXPECT_EQ(compose_scheme(4, 32, true).algorithm, "rtn");
  EXPECT_EQ(find_scheme("w4g32-sym").algorithm, "rtn");
  EXPECT_THROW(find_scheme("gptq-q4_0"), InvalidArgument);
}

TEST(GgmlSchemes, TypesWithoutAnExactLowbitFormatNameTheNearestScheme) {
  for (const auto& [name, nearest] :
       std::vector<std::pair<std::string, std::string>>{{"q2_k", "q4_k"}, {"q3_k", "q4_k"}}) {
    try {
      find_scheme(name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("the nearest scheme is " + nearest), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(GgmlSchemes, CornerCasesFollowGgml) {
  // All-zero block: q4_0/q5_0 store d = -0 (max / -8 with max = +0) and the zero code;
  // q8_0 stores +0 and code 128 (q = 0).
  std::vector<float> zeros(32, 0.0f);
  const QuantizedTensor q4 = quantize_ggml(zeros.data(), 1, 32, "q4_0", "z");
  EXPECT_EQ(q4.scales.as<uint16_t>()[0], 0x8000);
  EXPECT_EQ(q4.codes.data()[0], 0x88);
  const QuantizedTensor q8 = quantize_ggml(zeros.data(), 1, 32, "q8_0", "z");
  EXPECT_EQ(q8.scales.as<uint16_t>()[0], 0x0000);
  EXPECT_EQ(q8.codes.data()[0], 128);
  // The largest magnitude's sign sets d's sign: it gets code 0, an equal opposite value 15.
  std::vector<float> x(32, 0.0f);
  x[3] = 2.0f;
  x[7] = -2.0f;
  const QuantizedTensor t = quantize_ggml(x.data(), 1, 32, "q4_0", "x");
  std::vector<float> y(32);
  dequantize_rows_reference(t, 0, 1, y.data());
  EXPECT_EQ(y[3], 2.0f);           // code 0: d = 2 / -8 = -0.25, y = -0.25 * (0 - 8)
  EXPECT_EQ(y[7], -0.25f * 7.0f);  // 16 clamped to 15
  // A ragged last group (lowbit output only) follows the same rule.
  std::vector<float> r(40, 0.5f);
  const QuantizedTensor ragged = quantize_ggml(r.data(), 1, 40, "q5_0", "r");
  EXPECT_EQ(ragged.scale_count(), 2);
  std::vector<float> back(40);
  dequantize_rows_reference(ragged, 0, 1, back.data());
  for (float v : back) EXPECT_EQ(v, 0.5f);
  // q4_1 / q5_1: a constant block has d = 0, codes 0 and the value as its min; a block's
  // minimum and maximum decode exactly to within d's f16 rounding, the minimum to m itself.
  for (const char* scheme : {"q4_1", "q5_1"}) {
    std::vector<float> c(32, -1.25f);
    const QuantizedTensor constant = quantize_ggml(c.data(), 1, 32, scheme, "c");
    EXPECT_EQ(constant.scales.as<uint16_t>()[0], 0x0000) << scheme;
    EXPECT_EQ(constant.codes.data()[0], 0) << scheme;
    std::vector<float> decoded(32);
    dequantize_rows_reference(constant, 0, 1, decoded.data());
    for (float v : decoded) EXPECT_EQ(v, -1.25f) << scheme;
    std::vector<float> ramp(32);
    for (int j = 0; j < 32; ++j) ramp[j] = -0.5f + 0.0625f * static_cast<float>(j);
    const QuantizedTensor q = quantize_ggml(ramp.data(), 1, 32, scheme, "ramp");
    dequantize_rows_reference(q, 0, 1, decoded.data());
    EXPECT_EQ(decoded[0], -0.5f) << scheme;
    const int levels = std::string(scheme) == "q4_1" ? 15 : 31;
    EXPECT_EQ(packed_code(q.codes.data(), 31, q.format.bits), levels) << scheme;
  }
  // iq4_nl: an all-zero block stores d = +0 and code 8 (the level nearest 0, 1) everywhere.
  const QuantizedTensor iz = quantize_ggml(zeros.data(), 1, 32, "iq4_nl", "z");
  EXPECT_EQ(iz.scales.as<uint16_t>()[0], 0x0000);
  EXPECT_EQ(iz.codes.data()[0], 0x88);
  // A block lying exactly on the levels (0.01 * K[j % 16]): the first scale (max / 127 with
  // max = -1.27) fits badly, a trial scale finds the levels, and the least-squares d is 0.01.
  std::vector<float> on_grid(32);
  for (int j = 0; j < 32; ++j) on_grid[j] = 0.01f * static_cast<float>(kIq4NlValues[j % 16]);
  const QuantizedTensor ig = quantize_ggml(on_grid.data(), 1, 32, "iq4_nl", "g");
  EXPECT_EQ(ig.scales.as<uint16_t>()[0], f32_to_f16(0.01f));
  for (int j = 0; j < 32; ++j) EXPECT_EQ(packed_code(ig.codes.data(), j, 4), j % 16) << j;
  // NaN is refused naming the tensor.
  r[3] = std::nanf("");
  EXPECT_THROW(quantize_ggml(r.data(), 1, 40, "q8_0", "bad"), InvalidArgument);
}

// ggml's best_index_int8 on the IQ4_NL levels: the ends clamp, ties go to the higher code.
TEST(GgmlSchemes, Iq4NlNearestLevelFollowsGgml) {
  EXPECT_EQ(iq4_nl_nearest(-1000.0f), 0);
  EXPECT_EQ(iq4_nl_nearest(-127.0f), 0);
  EXPECT_EQ(iq4_nl_nearest(113.0f), 15);
  EXPECT_EQ(iq4_nl_nearest(1e9f), 15);
  EXPECT_EQ(iq4_nl_nearest(0.0f), 8);     // 1 is nearer than -10
  EXPECT_EQ(iq4_nl_nearest(-4.5f), 8);    // halfway between -10 and 1: the higher code
  EXPECT_EQ(iq4_nl_nearest(-4.51f), 7);   // nearer -10
  EXPECT_EQ(iq4_nl_nearest(101.0f), 15);  // halfway between 89 and 113
  for (int l = 0; l < 16; ++l)
    EXPECT_EQ(iq4_nl_nearest(static_cast<float>(kIq4NlValues[l])), l) << l;
}

}  // namespace
}  // namespace lowbit::quant
