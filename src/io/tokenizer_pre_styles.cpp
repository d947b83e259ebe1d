// SPDX-License-Identifier: MIT
// The tokenizer.ggml.pre table. Regexes are PCRE2 (and Oniguruma) syntax; non-ASCII literals are
// written \x{...} so the same text works in both and in a written tokenizer.json. Where
// llama.cpp runs a list through std::regex on "collapsed" text (one byte per non-ASCII
// category), PCRE2 on the real code points gives the same pieces for these lists: \p{L}/\p{N}/
// \p{P} keep their meaning, and [^a-z] / [^A-Z] treat every non-ASCII letter as matching both,
// as the collapsed letter byte does.
#include "io/tokenizer_pre_styles.h"

namespace lowbit::tokenizer_detail {

namespace {

// GPT-2's regex as llama.cpp lists it (no final \s+: the single whitespace character that
// \s+(?!\S) leaves is a gap, and gaps are pieces, so the result is the same).
constexpr std::string_view kG =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re";
// Llama-3 (contractions spelled [sS]: ASCII-only case, as llama.cpp's matcher; (?i:) would also
// take U+017F and U+212A).
constexpr std::string_view kLlama3 =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)re"
    R"re(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: Llama-3 with single digits.
constexpr std::string_view kQwen2 =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)re"
    R"re(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Tekken: case-aware words, single digits.
constexpr std::string_view kTekken =
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|)re"
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}|)re"
    R"re( ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// GPT-4o (o200k): case-aware words with contractions, digits in threes.
constexpr std::string_view kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+)re"
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|)re"
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*)re"
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}|)re"
    R"re( ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Bailing MoE (upstream possessive quantifiers made greedy).
constexpr std::string_view kBailing =
    R"re('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|)re"
    R"re( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)re";
constexpr std::string_view kSeedCoder =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)re"
    R"re(\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Bloom / Poro: runs of anything but whitespace and sentence punctuation.
constexpr std::string_view kBloom =
    R"re( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)re";
constexpr std::string_view kNewline = R"re([\r\n])re";
constexpr std::string_view kCjk = R"re([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";
constexpr std::string_view kDeepseekLetters =
    R"re(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})re"
    R"re(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})re"
    R"re(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})re"
    R"re(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})re"
    R"re(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})re"
    R"re(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})re"
    R"re(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})re"
    R"re(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})re"
    R"re(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})re"
    R"re(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})re"
    R"re(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})re"
    R"re(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})re"
    R"re(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})re"
    R"re(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})re"
    R"re(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})re"
    R"re(\x{1E900}-\x{1E943}]+)re";
constexpr std::string_view kDeepseekPunct =
    R"re(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re";

struct Row {
  std::string_view labels;  // space-separated
  BpePreStyle style;
};

constexpr bool kIgnoreMerges = true, kAddBos = true;

// One row per llama.cpp pre-tokenizer type that lowbit supports. Not here: superbpe (a
// zero-width lookahead list whose cut points llama.cpp's splitter treats specially), labels
// that add a SEP token (jina-v1-en, jina-v2-code, roberta-bpe), and types newer than the
// reference (deepseek-v3, qwen35, hunyuan, kimi-k2, ...): those fall back to GPT-2.
const Row kRows[] = {
    {"default", {{R"re([\p{P}\$\+<=>\^~\|]+)re", kG, R"re(\p{N}+)re", R"re([0-9][0-9][0-9])re"}}},
    {"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano",
     {{kLlama3}, kIgnoreMerges, kAddBos}},
    {"dbrx smaug-bpe", {{kLlama3}}},
    {"glm4 chatglm-bpe", {{kLlama3}, false, false, /*no_bos=*/true}},
    {"deepseek-llm",
     {{kNewline, kDeepseekLetters, kDeepseekPunct, R"re(\s+$)re", kCjk, R"re(\p{N}+)re"}}},
    {"deepseek-coder", {{kNewline, R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kCjk, R"re(\p{N})re"}}},
    {"falcon", {{R"re([\p{P}\$\+<=>\^~\|`]+)re", kG, R"re([0-9][0-9][0-9])re"}}},
    {"starcoder refact command-r smollm codeshell exaone minerva-7b mellum2",
     {{R"re(\p{N})re", kG}}},
    {"gpt2 gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert "
     "exaone4 mpt olmo jais trillion",
     {{kG}}},
    // Qwen2's own tokenizer.json has an NFC normalizer; the other Qwen2-list labels do not.
    {"qwen2 deepseek-r1-qwen", {{kQwen2}, false, false, false, /*nfc=*/true}},
    {"kormo f2llmv2 megrez stablelm2", {{kQwen2}}},
    {"poro-chat bloom gpt3-finnish", {{kBloom}}},
    {"viking", {{kBloom, R"re(\p{N})re"}}},
    {"tekken", {{kTekken}, kIgnoreMerges, kAddBos}},
    {"gpt-4o llama4 kanana2 talkie", {{kGpt4o}}},
    {"bailingmoe bailingmoe2 llada-moe", {{kBailing}}},
    {"seed-coder", {{kSeedCoder}}},
    {"chameleon",
     {{R"re(<sentinel:[0-9]+>)re", R"re((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)re",
       R"re(([\t\n]|    |  ))re", R"re(\p{N})re", R"re([\p{P}!-/:-@\[-`{-~])re", kG},
      false,
      kAddBos}},
};

bool has_label(std::string_view labels, std::string_view label) {
  while (!labels.empty()) {
    const size_t space = labels.find(' ');
    if (labels.substr(0, space) == label) return true;
    if (space == std::string_view::npos) break;
    labels.remove_prefix(space + 1);
  }
  return false;
}

}  // namespace

const BpePreStyle* find_bpe_pre_style(std::string_view label) {
  if (label.empty()) return nullptr;
  for (const Row& row : kRows) {
    if (has_label(row.labels, label)) return &row.style;
  }
  return nullptr;
}

const BpePreStyle& gpt2_pre_style() { return *find_bpe_pre_style("gpt2"); }

std::string_view bpe_pre_label_of(const std::vector<std::string>& patterns, bool ignore_merges) {
  for (const Row& row : kRows) {
    const BpePreStyle& s = row.style;
    if (s.ignore_merges != ignore_merges || s.pattern_count() != patterns.size()) continue;
    bool same = true;
    for (size_t i = 0; i < patterns.size() && same; ++i) same = s.patterns[i] == patterns[i];
    if (same) return row.labels.substr(0, row.labels.find(' '));
  }
  return {};
}

}  // namespace lowbit::tokenizer_detail
