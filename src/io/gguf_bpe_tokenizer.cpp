// SPDX-License-Identifier: MIT
// tokenizer.json (byte-level BPE) -> GGUF "gpt2" tokenizer keys; see gguf_bpe_tokenizer.h.
#include "io/gguf_bpe_tokenizer.h"

#include <string>

#include "io/tokenizer_pre_styles.h"
#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::io {

namespace {

using nlohmann::json;
using T = GgufValueType;

GgufKv scalar(std::string key, T type, json value) {
  return {std::move(key), type, std::move(value), T::u8};
}

GgufKv array(std::string key, T element, json values) {
  return {std::move(key), T::array, std::move(values), element};
}

// The pre-tokenizer steps as a list: a Sequence's members, or the one step.
std::vector<json> pre_steps(const json& pre) {
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers"))
    return pre.at("pretokenizers").get<std::vector<json>>();
  if (pre.is_object()) return {pre};
  return {};
}

// The llama.cpp label of the file's pre-tokenizer: Split(Regex, Isolated) steps then a
// ByteLevel without its own regex, or a lone ByteLevel with GPT-2's regex.
std::string pre_label(const json& root, const std::string& where) {
  const std::vector<json> steps = pre_steps(root.value("pre_tokenizer", json()));
  LB_CHECK_AS(Unsupported, !steps.empty() && steps.back().value("type", "") == "ByteLevel", where,
              ": the pre-tokenizer is not byte-level BPE, which a GGUF gpt2 vocabulary needs");
  const bool byte_regex = steps.back().value("use_regex", true);
  std::vector<std::string> patterns;
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    const json& s = steps[i];
    const bool isolated_split =
        s.value("type", "") == "Split" && s.value("behavior", "") == "Isolated" &&
        !s.value("invert", false) && s.contains("pattern") && s.at("pattern").contains("Regex");
    LB_CHECK_AS(Unsupported, isolated_split, where, ": pre-tokenizer step ", i, " (",
                s.value("type", "?"),
                ") is not an isolated regex split, which no llama.cpp label reproduces");
    patterns.push_back(s.at("pattern").at("Regex").get<std::string>());
  }
  if (patterns.empty() && byte_regex) return "gpt2";
  LB_CHECK_AS(Unsupported, !byte_regex, where,
              ": regex splits followed by ByteLevel's own regex have no llama.cpp label");
  const bool ignore_merges = root.at("model").value("ignore_merges", false);
  const std::string_view label = tokenizer_detail::bpe_pre_label_of(patterns, ignore_merges);
  LB_CHECK_AS(Unsupported, !label.empty(), where, ": its ", patterns.size(),
              " pre-tokenizer regexes match no llama.cpp pre-tokenizer label, so llama.cpp "
              "would split text differently");
  return std::string(label);
}

// Whether the post-processor puts a special token before the sequence (BOS).
bool adds_bos(const json& root) {
  const json& post = root.value("post_processor", json());
  if (!post.is_object() || post.value("type", "") != "TemplateProcessing") return false;
  const json& single = post.value("single", json::array());
  return !single.empty() && single.front().contains("SpecialToken");
}

}  // namespace

std::vector<GgufKv> gguf_bpe_tokenizer_metadata(const std::filesystem::path& tokenizer_json,
                                                const json& hf_config) {
  const std::string where = tokenizer_json.string();
  json root;
  try {
    root = json::parse(read_file(tokenizer_json));
  } catch (const json::exception& e) {
    throw FormatError(concat(where, ": not JSON (", e.what(), ")"));
  }
  LB_CHECK_FORMAT(root.is_object() && root.contains("model") && root.at("model").is_object(), where,
                  ": no \"model\" object");
  const json& model = root.at("model");
  LB_CHECK_AS(Unsupported, model.value("type", "") == "BPE", where,
              ": only BPE tokenizers have a GGUF gpt2 form");
  const json& normalizer = root.value("normalizer", json());
  LB_CHECK_AS(Unsupported, normalizer.is_null() || normalizer.value("type", "") == "NFC", where,
              ": a ", normalizer.value("type", "?"),
              " normalizer has no GGUF gpt2 equivalent (only NFC or none)");
  const std::string pre = pre_label(root, where);

  // Pieces by id: the model vocabulary, then the added tokens (which may extend it).
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<bool> filled;
  const auto place = [&](int64_t id, const std::string& piece, int32_t type) {
    LB_CHECK_FORMAT(id >= 0 && id < (int64_t{1} << 24), where, ": token id ", id, " out of range");
    const auto at = static_cast<size_t>(id);
    if (at >= tokens.size()) {
      tokens.resize(at + 1);
      types.resize(at + 1, 1);
      filled.resize(at + 1, false);
    }
    tokens[at] = piece;
    types[at] = type;
    filled[at] = true;
  };
  LB_CHECK_FORMAT(model.contains("vocab") && model.at("vocab").is_object(), where,
                  ": model.vocab is not an object");
  for (const auto& [piece, id] : model.at("vocab").items()) {
    LB_CHECK_FORMAT(id.is_number_integer(), where, ": vocab entry '", piece, "' has no integer id");
    place(id.get<int64_t>(), piece, 1);
  }
  for (const json& added : root.value("added_tokens", json::array())) {
    LB_CHECK_FORMAT(added.contains("id") && added.contains("content"), where,
                    ": an added token without id or content");
    place(added.at("id").get<int64_t>(), added.at("content").get<std::string>(),
          added.value("special", false) ? 3 : 4);
  }
  for (size_t i = 0; i < filled.size(); ++i)
    LB_CHECK_AS(Unsupported, filled[i], where, ": token id ", i,
                " has no piece, which a GGUF vocabulary needs");

  // Merges: "left right" strings, or [left, right] pairs in newer files.
  json merges = json::array();
  for (const json& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      merges.push_back(m);
    } else {
      LB_CHECK_FORMAT(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), where,
                      ": a merge is neither \"a b\" nor [a, b]");
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    }
  }

  std::vector<GgufKv> out = {scalar("tokenizer.ggml.model", T::string, "gpt2"),
                             scalar("tokenizer.ggml.pre", T::string, pre),
                             array("tokenizer.ggml.tokens", T::string, tokens),
                             array("tokenizer.ggml.token_type", T::i32, types),
                             array("tokenizer.ggml.merges", T::string, std::move(merges))};
  for (const auto& [config_key, gguf_key] :
       {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
        std::pair{"eos_token_id", "tokenizer.ggml.eos_token_id"},
        std::pair{"pad_token_id", "tokenizer.ggml.padding_token_id"}}) {
    const json& id = hf_config.value(config_key, json());
    if (id.is_number_integer() && id.get<int64_t>() >= 0 &&
        id.get<int64_t>() < static_cast<int64_t>(tokens.size()))
      out.push_back(scalar(gguf_key, T::u32, id.get<int64_t>()));
  }
  if (const json& unk = model.value("unk_token", json()); unk.is_string()) {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == unk.get<std::string>()) {
        out.push_back(scalar("tokenizer.ggml.unknown_token_id", T::u32, i));
        break;
      }
  }
  out.push_back(scalar("tokenizer.ggml.add_bos_token", T::boolean, adds_bos(root)));
  return out;
}

}  // namespace lowbit::io
