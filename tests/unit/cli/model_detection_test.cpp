// SPDX-License-Identifier: MIT
// A --model file is recognized by its content and extension before anything is parsed: a
// safetensors file, JSON or text is named as such, never read as a llama2.c header.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

CommandResult inspect(const fs::path& p) { return run_lowbit("inspect --model " + p.string()); }

TEST(ModelDetection, SafetensorsFileAsksForItsDirectory) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  ASSERT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  const CommandResult r = inspect(hf / "model.safetensors");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("pass the directory that holds it and config.json"), std::string::npos)
      << r.err;
  // Same bytes under another name: recognized by content.
  fs::copy_file(hf / "model.safetensors", tmp.path() / "weights.bin");
  EXPECT_NE(inspect(tmp.path() / "weights.bin").err.find("safetensors"), std::string::npos);
}

TEST(ModelDetection, JsonAndTextAreNotModelFiles) {
  TempDir tmp;
  write(tmp.path() / "config.json", R"({"hidden_size": 64})");
  write(tmp.path() / "story.txt", "Once upon a time there was a model file that was not.\n");
  write(tmp.path() / "notes", "This is plain text without an extension, long enough.\n");
  for (const char* name : {"config.json", "story.txt", "notes"}) {
    const CommandResult r = inspect(tmp.path() / name);
    EXPECT_EQ(r.exit_code, 3) << name << ": " << r.err;
    EXPECT_NE(r.err.find("not a model file"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("dim "), std::string::npos) << r.err;  // no llama2.c header figures
  }
}

TEST(ModelDetection, ImplausibleBinaryHeaderIsNotALlama2cModel) {
  TempDir tmp;
  std::string bytes(4096, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  bytes[3] = 0x10;  // dim about 2^28: positive but absurd
  write(tmp.path() / "random.bin", bytes);
  const CommandResult r = inspect(tmp.path() / "random.bin");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("not a llama2.c checkpoint"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lowbit::testing
