// SPDX-License-Identifier: MIT
// The scheme table, lookup errors and composition from flags.
#include "quant/scheme.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "util/error.h"

namespace lowbit::quant {
namespace {

TEST(Scheme, BuiltinsAreUniqueValidAndFindable) {
  std::set<std::string> names;
  for (const Scheme& s : builtin_schemes()) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
    EXPECT_NO_THROW(validate_format(s.format)) << s.name;
    // Weight-only built-ins round to nearest; W8A8/FP8 ones may calibrate their activations.
    if (s.act.enabled()) {
      EXPECT_TRUE(s.algorithm == "rtn" || s.algorithm == "static" || s.algorithm == "smoothquant")
          << s.name;
      EXPECT_EQ(s.act.is_static(), s.algorithm == "static" || s.name == "smoothquant-static")
          << s.name;
    } else {
      EXPECT_EQ(s.algorithm, "rtn") << s.name;
    }
    EXPECT_FALSE(s.description.empty()) << s.name;
    EXPECT_EQ(find_scheme(s.name).name, s.name);
    EXPECT_EQ(find_scheme(s.name).format, s.format);
  }
  for (const char* required :
       {"f32", "f16", "bf16", "w8", "w4g128", "w4g64", "w4g32", "w4g128-sym", "w3g128", "w3g64",
        "w3g32", "w2g32", "fp8", "fp8-e5m2", "nf4", "nf4-dq"})
    EXPECT_TRUE(names.count(required)) << required;
}

TEST(Scheme, BuiltinFormatsMatchTheirNames) {
  EXPECT_EQ(find_scheme("w4g128").format, QuantFormat::affine(4, 128, false));
  EXPECT_EQ(find_scheme("w4g128-sym").format, QuantFormat::affine(4, 128, true));
  EXPECT_EQ(find_scheme("w8").format, QuantFormat::affine(8, kPerChannel, true));
  EXPECT_EQ(find_scheme("w2g32").format, QuantFormat::affine(2, 32, false));
  EXPECT_EQ(find_scheme("nf4").format, QuantFormat::nf4(64, false));
  EXPECT_EQ(find_scheme("nf4-dq").format, QuantFormat::nf4(64, true));
  EXPECT_EQ(find_scheme("fp8").format, QuantFormat::fp8(QuantKind::fp8_e4m3, kPerChannel));
  EXPECT_EQ(find_scheme("fp8-e5m2").format.kind, QuantKind::fp8_e5m2);
  EXPECT_EQ(find_scheme("bf16").format.kind, QuantKind::bf16);
}

TEST(Scheme, ComposedIntegerNamesAreSchemesToo) {
  // The names compose_scheme gives (and gptq-/awq-/hqq- accept) work on their own.
  EXPECT_EQ(find_scheme("w4g16").format, QuantFormat::affine(4, 16, false));
  EXPECT_EQ(find_scheme("w4g16").name, "w4g16");
  EXPECT_EQ(find_scheme("w3g64-sym").format, QuantFormat::affine(3, 64, true));
  EXPECT_EQ(find_scheme("w6-asym").format, QuantFormat::affine(6, kPerChannel, false));
  EXPECT_EQ(find_scheme("w5t-sym").format, QuantFormat::affine(5, kPerTensor, true));
  EXPECT_THROW(find_scheme("w5t"), InvalidArgument);  // per-tensor names state their symmetry
  EXPECT_EQ(find_scheme("w4g16").algorithm, "rtn");
  EXPECT_THROW(find_scheme("w04g16"), InvalidArgument);  // not the canonical spelling
  EXPECT_THROW(find_scheme("w9g16"), InvalidArgument);
}

TEST(Scheme, UnknownNameErrorNamesItAndPointsAtTheList) {
  try {
    find_scheme("w5x7");
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'w5x7'"), std::string::npos) << message;
    EXPECT_NE(message.find("lowbit schemes"), std::string::npos) << message;
  }
}

TEST(Scheme, AlgorithmPrefixesApplyToAnyIntegerScheme) {
  struct Want {
    const char* name;
    const char* algorithm;
    QuantFormat format;
  };
  const Want wants[] = {
      {"gptq-w4g128", "gptq", QuantFormat::affine(4, 128, false)},
      {"awq-w4g32", "awq", QuantFormat::affine(4, 32, false)},
      {"gptq-w3g64", "gptq", QuantFormat::affine(3, 64, false)},
      {"hqq-w4g64", "hqq", QuantFormat::affine(4, 64, false)},
      {"gptq-w2g32", "gptq", QuantFormat::affine(2, 32, false)},
      {"gptq-w8", "gptq", QuantFormat::affine(8, kPerChannel, true)},
      {"awq-w4g128-sym", "awq", QuantFormat::affine(4, 128, true)},
      {"gptq-w4g96-sym", "gptq", QuantFormat::affine(4, 96, true)},
      {"hqq-w3g48", "hqq", QuantFormat::affine(3, 48, false)},
      {"gptq-w5t-asym", "gptq", QuantFormat::affine(5, kPerTensor, false)},
      {"awq-w6-asym", "awq", QuantFormat::affine(6, kPerChannel, false)},
      {"awq-w6", "awq", QuantFormat::affine(6, kPerChannel, true)},
  };
  for (const Want& w : wants) {
    const Scheme s = find_scheme(w.name);
    EXPECT_EQ(s.name, w.name);
    EXPECT_EQ(s.algorithm, w.algorithm) << w.name;
    EXPECT_EQ(s.format, w.format) << w.name;
    EXPECT_FALSE(s.description.empty());
    // Same storage, so the same bits per weight as the base scheme.
    EXPECT_DOUBLE_EQ(scheme_bits_per_weight(s, 576, 1536), bits_per_weight(w.format, 576, 1536));
  }
  ASSERT_EQ(algorithm_prefixes().size(), 3u);
}

TEST(Scheme, AlgorithmPrefixesRefuseNonIntegerAndMalformedBases) {
  auto message = [](const char* name) {
    try {
      find_scheme(name);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  for (const char* name :
       {"awq-nf4", "gptq-nf4-dq", "awq-fp8", "hqq-nf4-dq", "gptq-f16", "awq-bf16"}) {
    const std::string m = message(name);
    EXPECT_NE(m.find(std::string("'") + name + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("integer weight scheme"), std::string::npos) << m;
    EXPECT_NE(m.find("is not one"), std::string::npos) << m;
  }
  for (const char* name : {"gptq-", "gptq-w9g128", "gptq-w1", "awq-w4g0", "gptq-w4g",
                           "gptq-w04g128", "gptq-w4g128-symx", "gptq-gptq-w4g128", "awq-w4g-5"}) {
    const std::string m = message(name);
    EXPECT_NE(m.find("integer weight scheme"), std::string::npos) << name << ": " << m;
  }
  EXPECT_NE(message("gptq-f16").find("nf4 or tcq<k>"), std::string::npos);
  EXPECT_NE(message("hqq-w4g128-sym").find("asymmetric"), std::string::npos);
  EXPECT_NE(message("rtn-w4g128").find("unknown scheme"), std::string::npos);
  EXPECT_NE(message("GPTQ-w4g128").find("unknown scheme"), std::string::npos);
}

// GPTQ sweeps over the NF4 codebook too: same format (and bits) as nf4.
TEST(Scheme, GptqTakesNf4AsABase) {
  const Scheme s = find_scheme("gptq-nf4");
  EXPECT_EQ(s.algorithm, "gptq");
  EXPECT_EQ(s.format, find_scheme("nf4").format);
}

TEST(Scheme, ComposedSchemesAreNamedLikeTheBuiltins) {
  EXPECT_EQ(compose_scheme(4, 128, false).name, "w4g128");
  EXPECT_EQ(compose_scheme(4, 128, false).format, find_scheme("w4g128").format);
  EXPECT_EQ(compose_scheme(3, 64, false).format, find_scheme("w3g64").format);
  EXPECT_EQ(compose_scheme(4, 96, true).name, "w4g96-sym");
  EXPECT_EQ(compose_scheme(5, kPerTensor, false).name, "w5t-asym");
  EXPECT_EQ(compose_scheme(5, kPerTensor, true).name, "w5t-sym");
  // Per-channel is symmetric in the built-ins' convention (w8): asymmetric says so.
  EXPECT_EQ(compose_scheme(6, kPerChannel, false).name, "w6-asym");
  EXPECT_EQ(compose_scheme(6, kPerChannel, true).name, "w6");
  EXPECT_EQ(compose_scheme(6, kPerChannel, false).format, QuantFormat::affine(6, 0, false));
  EXPECT_EQ(compose_scheme(16, 128, false).name, "f16");
  EXPECT_EQ(compose_scheme(32, 0, true).name, "f32");
  EXPECT_EQ(compose_scheme(4, 128, true).algorithm, "rtn");
}

TEST(Scheme, ComposedAsymmetricPerChannelInt8IsNotNamedW8) {
  // w8 is the symmetric built-in; --bits 8 --group-size 0 without --symmetric is not it.
  const Scheme s = compose_scheme(8, kPerChannel, false);
  EXPECT_EQ(s.format, QuantFormat::affine(8, kPerChannel, false));
  EXPECT_NE(s.format, find_scheme("w8").format);
  EXPECT_EQ(s.name, "w8-asym");
  EXPECT_EQ(compose_scheme(8, kPerChannel, true).name, "w8");
  // No composition anywhere in the space takes a built-in's name with another format.
  for (int bits = 2; bits <= 8; ++bits)
    for (int group : {kPerTensor, kPerChannel, 16, 32, 64, 128, 256})
      for (bool sym : {false, true}) {
        const Scheme c = compose_scheme(bits, group, sym);
        for (const auto& b : builtin_schemes())
          if (b.name == c.name) {
            EXPECT_EQ(b.format, c.format) << c.name;
          }
      }
}

TEST(Scheme, ComposeRejectsInvalidCombinations) {
  for (int bits : {0, 1, 9, 12, 64})
    EXPECT_THROW(compose_scheme(bits, 128, false), InvalidArgument);
  EXPECT_THROW(compose_scheme(4, -2, false), InvalidArgument);
  try {
    compose_scheme(1, 128, false);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--bits"), std::string::npos) << e.what();
  }
}

TEST(Scheme, BitsPerWeightIsTheFormatArithmetic) {
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("w4g128"), 4096, 4096), 4.25);
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("w4g128-sym"), 4096, 4096), 4.125);
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("nf4"), 4096, 4096), 4.5);
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("w8"), 4096, 4096), 8 + 16.0 / 4096);
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("f16"), 4096, 4096), 16.0);
  // 4 + 8/64 + 32/(64*256) + the 32-bit offset over the tensor
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("nf4-dq"), 4096, 4096),
                   4 + 0.125 + 32.0 / 16384 + 32.0 / (4096.0 * 4096.0));
  EXPECT_NEAR(scheme_bits_per_weight(find_scheme("nf4-dq"), 4096, 4096), 4.127, 1e-3);
  // Ragged: 200 columns in groups of 128 still store two groups per row.
  EXPECT_DOUBLE_EQ(scheme_bits_per_weight(find_scheme("w4g128"), 1, 200),
                   8.0 * (100 + 2 * 2 + 2 * 2) / 200);
}

}  // namespace
}  // namespace lowbit::quant
