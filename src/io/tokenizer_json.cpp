// SPDX-License-Identifier: MIT
// Reading a Hugging Face tokenizer.json into an HfPipeline (BPE models only: Llama-2 style
// SentencePiece BPE with byte fallback, and GPT-2 / Llama-3 / Qwen2 byte-level BPE).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

#include "io/tokenizer_hf.h"
#include "io/tokenizer_text.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace lowbit {

namespace {

using nlohmann::json;
using namespace tokenizer_detail;

struct DecoderFlags {
  bool byte_level = false;
  bool replace_mark = false;  // U+2581 -> space
  bool byte_fallback = false;
  bool strip_first_space = false;
};

class JsonReader {
 public:
  JsonReader(const json& root, HfPipeline& p) : root_(root), p_(p) {}

  void read() {
    read_model(root_.at("model"));
    read_added_tokens();
    if (!root_.value("normalizer", json()).is_null()) read_normalizer(root_["normalizer"]);
    if (!root_.value("pre_tokenizer", json()).is_null()) {
      read_pre_tokenizer(root_["pre_tokenizer"]);
    }
    for (const auto& step : p_.pre_tokenizers) {
      if (step.kind == HfPreTokenizer::Kind::kByteLevel) p_.byte_level = true;
    }
    if (!root_.value("post_processor", json()).is_null()) {
      read_post_processor(root_["post_processor"]);
    }
    DecoderFlags flags;
    if (root_.value("decoder", json()).is_null()) {
      flags.byte_level = p_.byte_level;
      flags.replace_mark = flags.byte_fallback = !p_.byte_level;
    } else {
      read_decoder(root_["decoder"], flags);
    }
    finish(flags);
  }

 private:
  [[noreturn]] void unsupported(std::string_view component, std::string_view detail) const {
    throw Unsupported(concat(p_.source, ": ", component, " ", detail, " is not supported"));
  }

  int32_t vocab_id(const std::string& piece, std::string_view what) const {
    const int32_t id = p_.model.piece_id(piece);
    if (id < 0) throw FormatError(concat(p_.source, ": ", what, " '", piece, "' is not in vocab"));
    return id;
  }

  // A token id: an integer in [0, kMaxTokenId). json::get<int32_t>() would wrap a larger
  // integer and convert a float with undefined behaviour; the bound keeps the id tables small.
  int32_t token_id(const json& v, std::string_view what) const {
    constexpr int64_t kMaxTokenId = int64_t{1} << 24;
    const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() < uint64_t{kMaxTokenId}
                                           : v.is_number_integer() && v.get<int64_t>() >= 0 &&
                                                 v.get<int64_t>() < kMaxTokenId;
    if (!ok) {
      throw FormatError(concat(p_.source, ": ", what, " id ", v.dump(),
                               " is not an integer in [0, ", kMaxTokenId, ")"));
    }
    return static_cast<int32_t>(v.get<int64_t>());
  }

  void read_model(const json& model) {
    const std::string type = model.value("type", "BPE");
    if (type != "BPE") unsupported("model type", type);
    for (const auto& [piece, id_json] : model.at("vocab").items()) {
      const int32_t id = token_id(id_json, concat("vocab '", piece, "'"));
      p_.model.piece_ids.emplace(piece, id);
      p_.vocab_size = std::max(p_.vocab_size, id + 1);
    }
    for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const json value = model.value(field, json());
      if (!value.is_null() && !value.get<std::string>().empty()) unsupported("model", field);
    }
    const json dropout = model.value("dropout", json());
    if (!dropout.is_null() && dropout.get<double>() > 0) unsupported("model", "dropout");
    const json& merges = model.at("merges");
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      std::string left, right;
      if (merges[rank].is_string()) {
        const auto line = merges[rank].get<std::string>();
        const size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
          throw FormatError(concat(p_.source, ": merge ", rank, " '", line, "' is not 'a b'"));
        }
        left = line.substr(0, space);
        right = line.substr(space + 1);
      } else {
        left = merges[rank].at(0).get<std::string>();
        right = merges[rank].at(1).get<std::string>();
      }
      p_.model.add_merge(vocab_id(left, "merge part"), vocab_id(right, "merge part"),
                         static_cast<double>(rank), vocab_id(left + right, "merge result"));
    }
    if (model.value("byte_fallback", false)) {
      for (int b = 0; b < 256; ++b) p_.model.byte_ids[b] = p_.model.piece_id(byte_piece(b));
    }
    const json unk = model.value("unk_token", json());
    if (!unk.is_null()) p_.model.unk_id = p_.model.piece_id(unk.get<std::string>());
    p_.model.fuse_unk = model.value("fuse_unk", false);
    p_.ignore_merges = model.value("ignore_merges", false);
  }

  void read_added_tokens() {
    for (const json& entry : root_.value("added_tokens", json::array())) {
      AddedToken token;
      token.content = entry.at("content").get<std::string>();
      token.id = token_id(entry.at("id"), "added token");
      token.lstrip = entry.value("lstrip", false);
      token.rstrip = entry.value("rstrip", false);
      token.single_word = entry.value("single_word", false);
      p_.vocab_size = std::max(p_.vocab_size, token.id + 1);
      if (entry.value("special", false)) special_ids_.push_back(token.id);
      added_text_.emplace_back(token.id, token.content);
      p_.added_tokens.push_back(std::move(token));
    }
  }

  void read_normalizer(const json& n) {
    const std::string type = n.at("type").get<std::string>();
    if (type == "Sequence") {
      for (const json& inner : n.at("normalizers")) read_normalizer(inner);
    } else if (type == "Prepend") {
      p_.normalizers.push_back(
          {HfNormalizer::Kind::kPrepend, n.at("prepend").get<std::string>(), ""});
    } else if (type == "Replace") {
      const json& pattern = n.at("pattern");
      if (!pattern.contains("String")) unsupported("normalizer", "Replace with a regex pattern");
      const auto from = pattern["String"].get<std::string>();
      if (from.empty()) unsupported("normalizer", "Replace with an empty pattern");
      p_.normalizers.push_back(
          {HfNormalizer::Kind::kReplace, from, n.at("content").get<std::string>()});
    } else if (type == "NFC") {
      p_.normalizers.push_back({HfNormalizer::Kind::kNfc, "", ""});
    } else {
      unsupported("normalizer", type);
    }
  }

  void read_pre_tokenizer(const json& t) {
    const std::string type = t.at("type").get<std::string>();
    HfPreTokenizer step;
    if (type == "Sequence") {
      for (const json& inner : t.at("pretokenizers")) read_pre_tokenizer(inner);
      return;
    }
    if (type == "Metaspace") {
      step.kind = HfPreTokenizer::Kind::kMetaspace;
      step.replacement = t.value("replacement", std::string(kSpaceMark));
      const std::string scheme = t.contains("prepend_scheme")
                                     ? t["prepend_scheme"].get<std::string>()
                                     : (t.value("add_prefix_space", true) ? "always" : "never");
      if (scheme == "always") {
        step.prepend = HfPreTokenizer::Prepend::kAlways;
      } else if (scheme == "first") {
        step.prepend = HfPreTokenizer::Prepend::kFirst;
      } else if (scheme == "never") {
        step.prepend = HfPreTokenizer::Prepend::kNever;
      } else {
        unsupported("pre_tokenizer Metaspace prepend_scheme", scheme);
      }
      step.split = t.value("split", true);
    } else if (type == "Split") {
      step.kind = HfPreTokenizer::Kind::kSplit;
      if (t.value("invert", false)) unsupported("pre_tokenizer", "Split with invert");
      const std::string behavior = t.value("behavior", "Isolated");
      if (behavior == "Removed") {
        step.behavior = HfPreTokenizer::Behavior::kRemoved;
      } else if (behavior != "Isolated") {
        unsupported("pre_tokenizer Split behavior", behavior);
      }
      const json& pattern = t.at("pattern");
      const bool literal = pattern.contains("String");
      const auto text = pattern.at(literal ? "String" : "Regex").get<std::string>();
      step.regex = std::make_shared<Regex>(text, literal, p_.source + ": pre_tokenizer Split");
    } else if (type == "ByteLevel") {
      step.kind = HfPreTokenizer::Kind::kByteLevel;
      step.add_prefix_space = t.value("add_prefix_space", false);
      if (t.value("use_regex", true)) {
        step.regex =
            std::make_shared<Regex>(kGpt2Pattern, false, p_.source + ": pre_tokenizer ByteLevel");
      }
    } else {
      unsupported("pre_tokenizer", type);
    }
    p_.pre_tokenizers.push_back(std::move(step));
  }

  void read_post_processor(const json& pp) {
    const std::string type = pp.at("type").get<std::string>();
    if (type == "Sequence") {
      for (const json& inner : pp.at("processors")) read_post_processor(inner);
    } else if (type == "TemplateProcessing") {
      const json& specials = pp.value("special_tokens", json::object());
      for (const json& item : pp.at("single")) {
        if (item.contains("Sequence")) break;  // only what comes before $A
        const auto name = item.at("SpecialToken").at("id").get<std::string>();
        if (!specials.contains(name)) {
          throw FormatError(concat(p_.source, ": post_processor names unknown token ", name));
        }
        for (const json& id : specials[name].at("ids"))
          p_.bos_prefix.push_back(token_id(id, "post_processor token"));
      }
    } else if (type != "ByteLevel") {
      unsupported("post_processor", type);
    }
  }

  void read_decoder(const json& d, DecoderFlags& flags) {
    const std::string type = d.at("type").get<std::string>();
    if (type == "Sequence") {
      for (const json& inner : d.at("decoders")) read_decoder(inner, flags);
    } else if (type == "ByteLevel") {
      flags.byte_level = true;
    } else if (type == "Metaspace") {
      flags.replace_mark = true;
      const std::string scheme = d.contains("prepend_scheme")
                                     ? d["prepend_scheme"].get<std::string>()
                                     : (d.value("add_prefix_space", true) ? "always" : "never");
      flags.strip_first_space = scheme != "never";
    } else if (type == "Replace") {
      const json& pattern = d.at("pattern");
      if (pattern.value("String", "") != kSpaceMark || d.value("content", "") != " ") {
        unsupported("decoder", "Replace other than U+2581 -> space");
      }
      flags.replace_mark = true;
    } else if (type == "ByteFallback") {
      flags.byte_fallback = true;
    } else if (type == "Strip") {
      if (d.value("content", " ") != " " || d.value("stop", 0) != 0 || d.value("start", 0) > 1) {
        unsupported("decoder", "Strip other than one leading space");
      }
      flags.strip_first_space = d.value("start", 0) == 1;
    } else if (type != "Fuse") {
      unsupported("decoder", type);
    }
  }

  std::string decode_text(const std::string& piece, const DecoderFlags& flags) const {
    if (flags.byte_level) {
      std::string bytes;
      for (size_t pos = 0; pos < piece.size();) {
        const size_t len = utf8_char_len(piece, pos);
        const int byte = len == 1 && static_cast<uint8_t>(piece[pos]) >= 0x80
                             ? -1
                             : unicode_to_byte(decode_utf8(piece, pos, len));
        if (byte < 0) return piece;  // not byte-level text (e.g. an added token): as is
        bytes += static_cast<char>(byte);
        pos += len;
      }
      return bytes;
    }
    if (flags.byte_fallback) {
      if (const int byte = parse_byte_piece(piece); byte >= 0)
        return std::string(1, static_cast<char>(byte));
    }
    return flags.replace_mark ? replace_all(piece, kSpaceMark, " ") : piece;
  }

  void finish(const DecoderFlags& flags) {
    std::vector<std::string> pieces(static_cast<size_t>(p_.vocab_size));
    for (const auto& [piece, id] : p_.model.piece_ids) pieces[static_cast<size_t>(id)] = piece;
    for (const auto& [id, content] : added_text_) pieces[static_cast<size_t>(id)] = content;
    p_.decode_texts.resize(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) p_.decode_texts[i] = decode_text(pieces[i], flags);
    for (const int32_t id : special_ids_) p_.decode_texts[static_cast<size_t>(id)].clear();
    p_.strip_first_space = flags.strip_first_space;

    const auto find = [&](std::string_view text) {
      for (const auto& [id, content] : added_text_) {
        if (content == text) return id;
      }
      return p_.model.piece_id(text);
    };
    if (p_.bos_prefix.empty() && !p_.byte_level && find("<s>") >= 0) {
      p_.bos_prefix.push_back(find("<s>"));  // SentencePiece models always start with BOS
    }
    for (const int32_t id : p_.bos_prefix) {
      if (id < 0 || id >= p_.vocab_size) {
        throw FormatError(concat(p_.source, ": post_processor token id ", id, " out of range"));
      }
    }
    if (!p_.bos_prefix.empty()) p_.bos_id = p_.bos_prefix.front();
    for (const char* name :
         {"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<eos>", "<|eot_id|>"}) {
      if (const int32_t id = find(name); id >= 0) {
        p_.eos_id = id;
        break;
      }
    }
  }

  const json& root_;
  HfPipeline& p_;
  std::vector<int32_t> special_ids_;
  std::vector<std::pair<int32_t, std::string>> added_text_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& path) {
  HfPipeline pipeline;
  pipeline.source = path.string();
  pipeline.json_text = read_file(path);
  try {
    const json root = json::parse(pipeline.json_text);
    JsonReader(root, pipeline).read();
  } catch (const json::exception& e) {
    throw FormatError(concat(pipeline.source, ": malformed tokenizer.json: ", e.what()));
  }
  return make_hf_tokenizer(std::move(pipeline));
}

}  // namespace lowbit
