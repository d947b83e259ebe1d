// SPDX-License-Identifier: MIT
// config.json inputs (tests/fixtures/fuzz_regressions/llama_config/) on which the
// llama_config_fuzz harness found an uncaught nlohmann exception or undefined behaviour in
// LlamaConfig::from_json or what it feeds (float-to-int conversion, int64 overflow in
// parameter_count). Each must now be a one-line FormatError naming the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/checkpoint.h"
#include "model/llama_config.h"
#include "util/error.h"

namespace lowbit::model {
namespace {

std::string config_error(const std::string& name) {
  const auto path = std::filesystem::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" /
                    "fuzz_regressions" / "llama_config" / name;
  try {
    const LlamaConfig cfg = LlamaConfig::from_json(io::read_config_json(path));
    ADD_FAILURE() << name << " was accepted (" << cfg.parameter_count() << " parameters)";
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

struct Case {
  const char* file;
  const char* message;  // a part of the expected error
};

class LlamaConfigFuzzRegression : public testing::TestWithParam<Case> {};

TEST_P(LlamaConfigFuzzRegression, IsAFormatErrorNamingTheField) {
  const std::string message = config_error(GetParam().file);
  EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, LlamaConfigFuzzRegression,
    testing::Values(
        // nlohmann::json::out_of_range escaped from .at(0)
        Case{"eos_token_id_empty_list.json", "field 'eos_token_id' is an empty list"},
        // nlohmann::json::type_error escaped from get<int32_t>()
        Case{"eos_token_id_string.json", "field 'eos_token_id' must be an integer"},
        // float-to-int conversions out of range (undefined behaviour)
        Case{"bos_token_id_float_beyond_int32.json", "field 'bos_token_id' must be an integer"},
        Case{"max_position_embeddings_float.json",
             "field 'max_position_embeddings' must be an integer"},
        Case{"rope_original_max_float.json",
             "field 'original_max_position_embeddings' must be an integer"},
        // signed overflow in parameter_count()
        Case{"parameter_count_overflow.json", "more than lowbit can count"}));

TEST(LlamaConfigFuzzRegression, InRangeIdsAndListsStillParse) {
  const nlohmann::json c = {{"hidden_size", 8},       {"intermediate_size", 8},
                            {"num_hidden_layers", 1}, {"num_attention_heads", 2},
                            {"vocab_size", 8},        {"bos_token_id", -1},
                            {"eos_token_id", {7, 3}}, {"max_position_embeddings", 4096}};
  const LlamaConfig cfg = LlamaConfig::from_json(c);
  EXPECT_EQ(cfg.bos_id, -1);
  EXPECT_EQ(cfg.eos_id, 7);
  EXPECT_EQ(cfg.max_seq_len, 4096);
}

}  // namespace
}  // namespace lowbit::model
