// SPDX-License-Identifier: MIT
// Inputs on which a fuzz target (fuzz/) once found a crash, an uncaught non-lowbit exception or
// undefined behaviour in an io reader, kept in tests/fixtures/fuzz_regressions/<target>/. Each
// must now be refused with a one-line FormatError naming the bad field; the ASan/UBSan CI run
// of this test also catches a return of the undefined behaviour itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/tokenizer.h"
#include "util/error.h"

namespace lowbit {
namespace {

std::filesystem::path regression(const std::string& target, const std::string& name) {
  return std::filesystem::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "fuzz_regressions" /
         target / name;
}

// Returns the FormatError message load_tokenizer_json throws (fails the test otherwise).
std::string tokenizer_json_error(const std::string& name) {
  try {
    load_tokenizer_json(regression("tokenizer_json", name));
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << name << " was accepted";
  return "";
}

// tokenizer_json_fuzz: a vocab id of 3.4e21 was converted to int32 with undefined behaviour.
TEST(FuzzRegressions, TokenizerJsonVocabIdBeyondInt32) {
  const std::string message = tokenizer_json_error("vocab_id_beyond_int32.json");
  EXPECT_NE(message.find("vocab"), std::string::npos) << message;
  EXPECT_NE(message.find("is not an integer in [0, 16777216)"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// The same conversion for an added token's id (1e300).
TEST(FuzzRegressions, TokenizerJsonAddedTokenIdFloat) {
  const std::string message = tokenizer_json_error("added_token_id_float.json");
  EXPECT_NE(message.find("added token id 1e+300 is not an integer"), std::string::npos) << message;
}

// Every committed tokenizer.json regression is refused with a lowbit error, none with another
// exception type (which the CLI would report as an internal error).
TEST(FuzzRegressions, EveryTokenizerJsonInputIsALowbitError) {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(LOWBIT_SOURCE_DIR) /
                                           "tests/fixtures/fuzz_regressions/tokenizer_json")) {
    EXPECT_THROW(load_tokenizer_json(entry.path()), Error) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 2);
}

}  // namespace
}  // namespace lowbit
