// SPDX-License-Identifier: MIT
// Running a parsed tokenizer.json pipeline: split on added tokens, normalize, pre-tokenize,
// BPE each pre-token (with a per-call cache), and prepend the post-processor's BOS.
#include "io/tokenizer_hf.h"

#include <unordered_map>
#include <utility>

#include "io/tokenizer_decode.h"
#include "io/tokenizer_text.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace lowbit::tokenizer_detail {

namespace {

using Pieces = std::vector<std::string>;

// Pieces of `text` around the matches of `regex`: matches and gaps (isolated) or gaps only.
void split_by_regex(const std::string& text, const HfPreTokenizer& step, Pieces& out) {
  size_t last = 0;
  for (const auto& [begin, end] : step.regex->find_all(text)) {
    if (begin > last) out.push_back(text.substr(last, begin - last));
    if (step.behavior == HfPreTokenizer::Behavior::kIsolated) {
      out.push_back(text.substr(begin, end - begin));
    }
    last = end;
  }
  if (last < text.size()) out.push_back(text.substr(last));
}

// Splits before every `mark`, so each piece but maybe the first starts with it.
void split_before(const std::string& text, std::string_view mark, Pieces& out) {
  size_t start = 0;
  for (size_t hit = text.find(mark, 1); hit != std::string::npos; hit = text.find(mark, hit + 1)) {
    out.push_back(text.substr(start, hit - start));
    start = hit;
  }
  out.push_back(text.substr(start));
}

std::string to_byte_alphabet(std::string_view text) {
  const auto& table = byte_to_unicode();
  std::string out;
  out.reserve(text.size() * 2);
  for (const char c : text) out += table[static_cast<uint8_t>(c)];
  return out;
}

class HfTokenizer final : public Tokenizer {
 public:
  explicit HfTokenizer(HfPipeline pipeline)
      : p_(std::move(pipeline)),
        added_(p_.added_tokens),
        decoder_(p_.decode_texts, p_.bos_id, p_.strip_first_space) {}

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
    std::vector<int32_t> out;
    if (add_bos) out.insert(out.end(), p_.bos_prefix.begin(), p_.bos_prefix.end());
    const std::vector<Segment> segments =
        added_.empty() ? std::vector<Segment>{{text}} : added_.split(text);
    std::unordered_map<std::string, std::vector<int32_t>> cache;
    for (const Segment& segment : segments) {
      if (segment.id >= 0) {
        out.push_back(segment.id);
        continue;
      }
      if (segment.text.empty()) continue;
      const bool at_start = segment.text.data() == text.data();
      for (const std::string& piece : pre_tokenize(normalize(segment.text), at_start)) {
        encode_piece(piece, cache, out);
      }
    }
    return out;
  }

  std::string decode(std::span<const int32_t> ids) const override { return decoder_.decode(ids); }
  std::string decode_token(int32_t prev, int32_t id) const override {
    return decoder_.decode_token(prev, id);
  }
  int32_t vocab_size() const override { return p_.vocab_size; }
  int32_t bos_id() const override { return p_.bos_id; }
  int32_t eos_id() const override { return p_.eos_id; }
  void save(const std::filesystem::path& dir) const override {
    write_file_atomic(dir / "tokenizer.json", p_.json_text);
  }

 private:
  std::string normalize(std::string_view text) const {
    std::string s(text);
    for (const HfNormalizer& step : p_.normalizers) {
      switch (step.kind) {
        case HfNormalizer::Kind::kPrepend:
          if (!s.empty()) s = step.text + s;
          break;
        case HfNormalizer::Kind::kReplace:
          s = replace_all(s, step.text, step.replacement);
          break;
        case HfNormalizer::Kind::kNfc:
          if (!nfc_quick_check(s)) {
            throw Unsupported(concat(p_.source,
                                     ": normalizer NFC: the text is not plainly in NFC "
                                     "(decomposed or combining characters), which lowbit does "
                                     "not normalize"));
          }
          break;
      }
    }
    return s;
  }

  Pieces pre_tokenize(std::string text, bool at_start) const {
    Pieces pieces;
    if (!text.empty()) pieces.push_back(std::move(text));
    for (const HfPreTokenizer& step : p_.pre_tokenizers) {
      Pieces next;
      for (size_t i = 0; i < pieces.size(); ++i) {
        std::string& piece = pieces[i];
        switch (step.kind) {
          case HfPreTokenizer::Kind::kMetaspace: {
            std::string s = replace_all(piece, " ", step.replacement);
            const bool prepend =
                step.prepend == HfPreTokenizer::Prepend::kAlways ||
                (step.prepend == HfPreTokenizer::Prepend::kFirst && at_start && i == 0);
            if (prepend && !s.starts_with(step.replacement)) s = step.replacement + s;
            if (step.split) {
              split_before(s, step.replacement, next);
            } else {
              next.push_back(std::move(s));
            }
            break;
          }
          case HfPreTokenizer::Kind::kSplit:
            split_by_regex(piece, step, next);
            break;
          case HfPreTokenizer::Kind::kByteLevel: {
            if (step.add_prefix_space && !piece.starts_with(' ')) piece = " " + piece;
            Pieces parts;
            if (step.regex) {
              split_by_regex(piece, step, parts);
            } else {
              parts.push_back(std::move(piece));
            }
            for (const std::string& part : parts) next.push_back(to_byte_alphabet(part));
            break;
          }
        }
      }
      pieces = std::move(next);
    }
    return pieces;
  }

  void encode_piece(const std::string& piece,
                    std::unordered_map<std::string, std::vector<int32_t>>& cache,
                    std::vector<int32_t>& out) const {
    if (piece.empty()) return;
    if (p_.ignore_merges) {
      if (const int32_t id = p_.model.piece_id(piece); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    constexpr size_t kMaxCachedBytes = 256;
    if (piece.size() > kMaxCachedBytes) {
      bpe_encode_word(piece, p_.model, out);
      return;
    }
    auto [it, inserted] = cache.try_emplace(piece);
    if (inserted) bpe_encode_word(piece, p_.model, it->second);
    out.insert(out.end(), it->second.begin(), it->second.end());
  }

  HfPipeline p_;
  AddedTokenSplitter added_;
  PieceDecoder decoder_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_hf_tokenizer(HfPipeline pipeline) {
  return std::make_unique<HfTokenizer>(std::move(pipeline));
}

}  // namespace lowbit::tokenizer_detail
