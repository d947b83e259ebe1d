// SPDX-License-Identifier: MIT
// Turning GGUF "gpt2" tokenizer metadata into a byte-level BPE HfPipeline and the equivalent
// tokenizer.json that save() writes.
#include "io/tokenizer_gguf.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/tokenizer_hf.h"
#include "io/tokenizer_pre_styles.h"
#include "io/tokenizer_text.h"
#include "util/check.h"
#include "util/error.h"
#include "util/log.h"

namespace lowbit {

namespace {

using nlohmann::json;
using namespace tokenizer_detail;

enum class Kind : uint8_t { kNormal, kControl, kUserDefined };

// True when `s` is well-formed UTF-8.
bool is_utf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const size_t len = utf8_char_len(s, pos);
    if (len == 1 && static_cast<uint8_t>(s[pos]) >= 0x80) return false;
    pos += len;
  }
  return true;
}

// The bytes a byte-level piece stands for; the piece itself when it is not byte-level text.
std::string from_byte_alphabet(const std::string& piece) {
  std::string bytes;
  bytes.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    const size_t len = utf8_char_len(piece, pos);
    const bool invalid = len == 1 && static_cast<uint8_t>(piece[pos]) >= 0x80;
    const int byte = invalid ? -1 : unicode_to_byte(decode_utf8(piece, pos, len));
    if (byte < 0) return piece;
    bytes += static_cast<char>(byte);
    pos += len;
  }
  return bytes;
}

// `s` quoted for a one-line message, or "" when it is long or holds control characters.
std::string shown(std::string_view s) {
  constexpr size_t kMaxShown = 64;
  if (s.size() > kMaxShown) return "";
  for (const char c : s) {
    if (static_cast<uint8_t>(c) < 0x20 || c == 0x7F) return "";
  }
  return concat(" '", s, "'");
}

class GgufBpeBuilder {
 public:
  GgufBpeBuilder(const json& metadata, const std::string& file_name)
      : meta_(metadata), where_(file_name + ": tokenizer.ggml.") {
    p_.source = file_name;
  }

  HfPipeline build() {
    LB_CHECK_FORMAT(meta_.is_object(), p_.source, ": GGUF metadata is not a key/value map");
    const std::string model = text_key("model", "");
    if (model != "gpt2") {
      throw Unsupported(
          concat(where_, "model", shown(model), " is not a byte-level BPE (gpt2) vocab"));
    }
    const BpePreStyle& style = pre_style(text_key("pre", ""));
    read_tokens();
    read_types();
    read_merges();
    const int32_t bos = style.no_bos ? -1 : id_key("bos_token_id");
    const int32_t eos = id_key("eos_token_id");
    bool add_bos = style.add_bos;
    if (const json* flag = find("add_bos_token")) {
      LB_CHECK_FORMAT(flag->is_boolean(), where_, "add_bos_token is not a bool");
      add_bos = flag->get<bool>();
    }

    p_.byte_level = true;
    p_.ignore_merges = style.ignore_merges;
    if (style.nfc) p_.normalizers.push_back({HfNormalizer::Kind::kNfc, "", ""});
    for (size_t i = 0; i < style.pattern_count(); ++i) {
      HfPreTokenizer split;
      split.kind = HfPreTokenizer::Kind::kSplit;
      split.regex = std::make_shared<Regex>(style.patterns[i], false, where_ + "pre");
      p_.pre_tokenizers.push_back(std::move(split));
    }
    HfPreTokenizer byte_level;  // without its own regex: the splits above are the whole list
    byte_level.kind = HfPreTokenizer::Kind::kByteLevel;
    p_.pre_tokenizers.push_back(std::move(byte_level));
    if (add_bos && bos >= 0) p_.bos_prefix.push_back(bos);
    p_.bos_id = p_.bos_prefix.empty() ? -1 : bos;
    p_.eos_id = eos >= 0 ? eos : eos_by_name();
    p_.decode_texts.resize(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
      if (kinds_[i] == Kind::kNormal) p_.decode_texts[i] = from_byte_alphabet(pieces_[i]);
      if (kinds_[i] == Kind::kUserDefined) p_.decode_texts[i] = pieces_[i];
    }
    p_.json_text = tokenizer_json(style);
    return std::move(p_);
  }

 private:
  const json* find(std::string_view key) const {
    const auto it = meta_.find(concat("tokenizer.ggml.", key));
    return it == meta_.end() ? nullptr : &*it;
  }

  std::string text_key(std::string_view key, std::string_view fallback) const {
    const json* value = find(key);
    if (value == nullptr) return std::string(fallback);
    LB_CHECK_FORMAT(value->is_string(), where_, key, " is not a string");
    return value->get<std::string>();
  }

  // The table's style for `pre`; an absent or empty label is llama.cpp's "default" (with its
  // warning), an unknown one falls back to the GPT-2 list with a warning (llama.cpp refuses it).
  const BpePreStyle& pre_style(const std::string& pre) const {
    if (pre.empty()) {
      log_warning(where_, "pre is missing: using llama.cpp's '", kDefaultPreLabel,
                  "' pre-tokenizer (as llama.cpp does); tokenization may differ from the model's");
      return *find_bpe_pre_style(kDefaultPreLabel);
    }
    if (const BpePreStyle* style = find_bpe_pre_style(pre)) return *style;
    log_warning(where_, "pre", shown(pre),
                " is not a pre-tokenizer lowbit knows: using the GPT-2 regex instead; "
                "tokenization may differ from the model's");
    return gpt2_pre_style();
  }

  void read_tokens() {
    const json* tokens = find("tokens");
    LB_CHECK_FORMAT(tokens != nullptr && tokens->is_array() && !tokens->empty(), where_,
                    "tokens is missing or not a non-empty array");
    LB_CHECK_FORMAT(tokens->size() < static_cast<size_t>(std::numeric_limits<int32_t>::max()),
                    where_, "tokens has ", tokens->size(), " entries, too many");
    pieces_.reserve(tokens->size());
    for (size_t i = 0; i < tokens->size(); ++i) {
      const json& t = (*tokens)[i];
      LB_CHECK_FORMAT(t.is_string(), where_, "tokens[", i, "] is not a string");
      pieces_.push_back(t.get<std::string>());
      LB_CHECK_FORMAT(is_utf8(pieces_.back()), where_, "tokens[", i, "] is not valid UTF-8");
      // A piece listed twice keeps its last id, as llama.cpp's token-to-id map does.
      p_.model.piece_ids.insert_or_assign(pieces_.back(), static_cast<int32_t>(i));
    }
    p_.vocab_size = static_cast<int32_t>(pieces_.size());
  }

  void read_types() {
    const size_t n = pieces_.size();
    kinds_.assign(n, Kind::kNormal);
    const json* types = find("token_type");
    if (types == nullptr) return;
    LB_CHECK_FORMAT(types->is_array() && types->size() == n, where_, "token_type must have ", n,
                    " entries, one per token");
    for (size_t i = 0; i < n; ++i) {
      const json& t = (*types)[i];
      LB_CHECK_FORMAT(t.is_number_integer(), where_, "token_type[", i, "] is not an integer");
      const auto type = t.get<int64_t>();  // huge unsigned values wrap to negatives
      if (type != 3 && type != 4) continue;
      kinds_[i] = type == 3 ? Kind::kControl : Kind::kUserDefined;
      if (pieces_[i].empty()) continue;  // nothing to match
      AddedToken token;
      token.content = pieces_[i];
      token.id = static_cast<int32_t>(i);
      p_.added_tokens.push_back(std::move(token));
    }
  }

  int32_t token_id(const std::string& piece, size_t rank, const std::string& line) const {
    const int32_t id = p_.model.piece_id(piece);
    LB_CHECK_FORMAT(id >= 0, where_, "merges[", rank, "]", shown(line), ": part or result",
                    shown(piece), " is not in tokens");
    return id;
  }

  void read_merges() {
    merges_ = find("merges");
    LB_CHECK_FORMAT(merges_ != nullptr && merges_->is_array(), where_,
                    "merges is missing or not an array");
    for (size_t rank = 0; rank < merges_->size(); ++rank) {
      const json& m = (*merges_)[rank];
      LB_CHECK_FORMAT(m.is_string(), where_, "merges[", rank, "] is not a string");
      const auto& line = m.get_ref<const std::string&>();
      const size_t space = line.find(' ');
      LB_CHECK_FORMAT(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                          line.find(' ', space + 1) == std::string::npos,
                      where_, "merges[", rank, "]", shown(line), " is not 'a b'");
      const std::string left = line.substr(0, space);
      const std::string right = line.substr(space + 1);
      p_.model.add_merge(token_id(left, rank, line), token_id(right, rank, line),
                         static_cast<double>(rank), token_id(left + right, rank, line));
    }
  }

  // tokenizer.ggml.<key> as a token id; -1 when absent or -1 (also as u32 0xFFFFFFFF).
  int32_t id_key(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) return -1;
    const auto n = static_cast<int64_t>(pieces_.size());
    int64_t id = -2;  // not an id
    if (value->is_number_unsigned()) {
      const auto u = value->get<uint64_t>();
      if (u == std::numeric_limits<uint32_t>::max()) id = -1;
      if (u < static_cast<uint64_t>(n)) id = static_cast<int64_t>(u);
    } else if (value->is_number_integer()) {
      id = value->get<int64_t>();
    }
    LB_CHECK_FORMAT(id >= -1 && id < n, where_, key, " is not a token id below ", n);
    return static_cast<int32_t>(id);
  }

  int32_t eos_by_name() const {
    for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>"}) {
      if (const int32_t id = p_.model.piece_id(name); id >= 0) return id;
    }
    return -1;
  }

  // The Hugging Face tokenizer.json that load_tokenizer_json reads back to this pipeline.
  std::string tokenizer_json(const BpePreStyle& style) const {
    json vocab = json::object();
    for (size_t i = 0; i < pieces_.size(); ++i) vocab[pieces_[i]] = static_cast<int32_t>(i);
    json added = json::array();
    for (const AddedToken& token : p_.added_tokens) {
      added.push_back({{"id", token.id},
                       {"content", token.content},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", kinds_[static_cast<size_t>(token.id)] == Kind::kControl}});
    }
    json steps = json::array();
    for (size_t i = 0; i < style.pattern_count(); ++i) {
      json split = {{"type", "Split"}, {"behavior", "Isolated"}, {"invert", false}};
      split["pattern"] = json::object();
      split["pattern"]["Regex"] = std::string(style.patterns[i]);
      steps.push_back(std::move(split));
    }
    steps.push_back({{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", false}});
    json pre = json::object();
    pre["type"] = "Sequence";
    pre["pretokenizers"] = std::move(steps);
    json post = {{"type", "ByteLevel"},
                 {"add_prefix_space", false},
                 {"trim_offsets", false},
                 {"use_regex", false}};
    if (!p_.bos_prefix.empty()) {
      const std::string& name = pieces_[static_cast<size_t>(p_.bos_id)];
      const auto item = [](const char* kind, const std::string& id, int type_id) {
        json inner = json::object();
        inner["id"] = id;
        inner["type_id"] = type_id;
        json out = json::object();
        out[kind] = std::move(inner);
        return out;
      };
      json bos = json::object();
      bos["id"] = name;
      bos["ids"] = json::array({p_.bos_id});
      bos["tokens"] = json::array({name});
      post = json::object();
      post["type"] = "TemplateProcessing";
      post["single"] = json::array({item("SpecialToken", name, 0), item("Sequence", "A", 0)});
      post["pair"] = json::array({item("SpecialToken", name, 0), item("Sequence", "A", 0),
                                  item("SpecialToken", name, 1), item("Sequence", "B", 1)});
      post["special_tokens"] = json::object();
      post["special_tokens"][name] = std::move(bos);
    }
    const json root = {{"version", "1.0"},
                       {"truncation", nullptr},
                       {"padding", nullptr},
                       {"added_tokens", std::move(added)},
                       {"normalizer", style.nfc ? json::object({{"type", "NFC"}}) : json()},
                       {"pre_tokenizer", std::move(pre)},
                       {"post_processor", std::move(post)},
                       {"decoder",
                        {{"type", "ByteLevel"},
                         {"add_prefix_space", true},
                         {"trim_offsets", true},
                         {"use_regex", true}}},
                       {"model",
                        {{"type", "BPE"},
                         {"dropout", nullptr},
                         {"unk_token", nullptr},
                         {"continuing_subword_prefix", nullptr},
                         {"end_of_word_suffix", nullptr},
                         {"fuse_unk", false},
                         {"byte_fallback", false},
                         {"ignore_merges", style.ignore_merges},
                         {"vocab", std::move(vocab)},
                         {"merges", *merges_}}}};
    try {
      return root.dump(2) + "\n";
    } catch (const json::exception& e) {
      throw FormatError(concat(where_, "tokens cannot be written as tokenizer.json: ", e.what()));
    }
  }

  const json& meta_;
  const std::string where_;  // "<file>: tokenizer.ggml."
  HfPipeline p_;
  std::vector<std::string> pieces_;
  std::vector<Kind> kinds_;
  const json* merges_ = nullptr;
};

}  // namespace

std::unique_ptr<Tokenizer> make_gguf_bpe_tokenizer(const nlohmann::json& metadata,
                                                   const std::string& file_name) {
  return tokenizer_detail::make_hf_tokenizer(GgufBpeBuilder(metadata, file_name).build());
}

}  // namespace lowbit
