// SPDX-License-Identifier: MIT
// A Hugging Face tokenizer.json pipeline, already parsed: added tokens, normalizers,
// pre-tokenizers, the BPE model, BOS from the post-processor and the decoder's table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/tokenizer.h"
#include "io/tokenizer_added.h"
#include "io/tokenizer_bpe.h"
#include "io/tokenizer_regex.h"

namespace lowbit::tokenizer_detail {

struct HfNormalizer {
  enum class Kind { kPrepend, kReplace, kNfc } kind = Kind::kPrepend;
  std::string text;         // Prepend: the prefix; Replace: the pattern
  std::string replacement;  // Replace
};

struct HfPreTokenizer {
  enum class Kind { kMetaspace, kSplit, kByteLevel } kind = Kind::kMetaspace;
  enum class Prepend { kAlways, kFirst, kNever };
  enum class Behavior { kIsolated, kRemoved };
  // Metaspace
  std::string replacement;
  Prepend prepend = Prepend::kAlways;
  bool split = false;
  // Split (and ByteLevel with use_regex): the regex and what happens to its matches
  std::shared_ptr<const Regex> regex;
  Behavior behavior = Behavior::kIsolated;
  // ByteLevel
  bool add_prefix_space = false;
};

struct HfPipeline {
  std::string json_text;  // the file, written back unchanged by save()
  std::string source;     // file name for messages
  int32_t vocab_size = 0;
  std::vector<AddedToken> added_tokens;
  std::vector<HfNormalizer> normalizers;
  std::vector<HfPreTokenizer> pre_tokenizers;
  BpeTables model;  // piece_ids holds the whole model vocabulary
  bool ignore_merges = false;
  bool byte_level = false;          // pre-tokens are mapped through GPT-2's byte alphabet
  std::vector<int32_t> bos_prefix;  // TemplateProcessing's special tokens before $A
  int32_t bos_id = -1, eos_id = -1;
  std::vector<std::string> decode_texts;  // bytes of each id; "" for special tokens
  bool strip_first_space = false;         // decoder drops one leading space
};

std::unique_ptr<Tokenizer> make_hf_tokenizer(HfPipeline pipeline);

}  // namespace lowbit::tokenizer_detail
