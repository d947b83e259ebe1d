// SPDX-License-Identifier: MIT
// A lowbit checkpoint whose format fields disagree with its buffers is refused through the
// binary with exit 3, never decoded out of bounds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "testing/test_data.h"
#include "util/atomic_file.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

// A synthetic tiny model quantized to w4g128-sym: int tensors with f16 scales.
fs::path make_int_checkpoint(const TempDir& tmp) {
  const fs::path hf = tmp.path() / "hf";
  const fs::path ck = tmp.path() / "ck";
  EXPECT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  const CommandResult q =
      run_lowbit("quantize --model " + hf.string() + " --scheme w4g128-sym --out " + ck.string());
  EXPECT_EQ(q.exit_code, 0) << q.err;
  return ck;
}

TEST(FormatRulesCli, IntCheckpointClaimingDoubleQuantIsRefused) {
  TempDir tmp;
  const fs::path ck = make_int_checkpoint(tmp);
  const std::string victim = "model.layers.0.self_attn.q_proj.weight";
  // Rewrite the checkpoint so that the int tensor claims double quantization, with buffers
  // sized the way the old rule sized them (one u8 per scale, f32 nested scales).
  nlohmann::json config = io::read_config_json(ck / "config.json");
  auto& entry = config["quantization"]["tensors"][victim];
  ASSERT_EQ(entry["kind"], "int");
  entry["double_quant"] = true;
  std::vector<uint8_t> scales, nested;
  std::vector<io::SafetensorsWriteEntry> entries;
  {
    const io::SafetensorsFile file = io::SafetensorsFile::open(ck / "model.safetensors");
    std::vector<Buffer> keep;
    for (const auto& e : file.entries()) {
      Buffer b = file.buffer(e);
      if (e.name == victim + ".scales") {
        const size_t n = b.size() / 2;
        scales.assign(n, 128);
        nested.assign((n + 255) / 256 * 4, 0);
        entries.push_back({e.name, DType::u8, e.shape, scales});
        entries.push_back({victim + ".nested_scales",
                           DType::f32,
                           {static_cast<int64_t>(nested.size() / 4)},
                           nested});
        continue;
      }
      entries.push_back({e.name, e.dtype, e.shape, b.bytes()});
      keep.push_back(std::move(b));
    }
    const fs::path rewritten = tmp.path() / "model.safetensors";
    io::write_safetensors(rewritten, entries);
    fs::rename(rewritten, ck / "model.safetensors");
  }
  write_file_atomic(ck / "config.json", config.dump(2));
  for (const std::string cmd : {"inspect", "generate -n 4"}) {
    const CommandResult r = run_lowbit(cmd + " --model " + ck.string());
    EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("double-quantized"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(victim), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace lowbit::testing
