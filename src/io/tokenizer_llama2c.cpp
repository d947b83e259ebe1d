// SPDX-License-Identifier: MIT
// llama2.c tokenizer.bin: reading it into an SpmVocab and writing one back.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/tokenizer_spm.h"
#include "io/tokenizer_text.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/error.h"

namespace lowbit {

namespace {

using namespace tokenizer_detail;

constexpr std::string_view kBosForm = "\n<s>\n";
constexpr std::string_view kEosForm = "\n</s>\n";

template <typename T>
T read_scalar(const std::string& bytes, size_t& offset, const std::filesystem::path& path,
              size_t token) {
  if (bytes.size() - offset < sizeof(T)) {
    throw FormatError(concat(path.string(), ": truncated tokenizer.bin at token ", token,
                             " (file has ", bytes.size(), " bytes)"));
  }
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  offset += sizeof(T);
  return value;
}

template <typename T>
void append_scalar(std::string& out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out.append(buf, sizeof(T));
}

}  // namespace

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::filesystem::path& path,
                                                  int32_t vocab_size) {
  LB_CHECK_FORMAT(vocab_size > 0, path.string(), ": vocab_size ", vocab_size,
                  " from the model header is not positive");
  const std::string bytes = read_file(path);
  size_t offset = 0;
  const auto max_token_length = read_scalar<int32_t>(bytes, offset, path, 0);
  LB_CHECK_FORMAT(max_token_length >= 0, path.string(), ": negative max_token_length ",
                  max_token_length);
  SpmVocab vocab;
  vocab.pieces.reserve(static_cast<size_t>(vocab_size));
  vocab.scores.reserve(static_cast<size_t>(vocab_size));
  vocab.types.reserve(static_cast<size_t>(vocab_size));
  vocab.bos_id = vocab.eos_id = vocab.unk_id = -1;
  for (int32_t id = 0; id < vocab_size; ++id) {
    const auto token = static_cast<size_t>(id);
    const auto score = read_scalar<float>(bytes, offset, path, token);
    const auto length = read_scalar<int32_t>(bytes, offset, path, token);
    if (length < 0 || static_cast<size_t>(length) > bytes.size() - offset) {
      throw FormatError(concat(path.string(), ": token ", id, " has length ", length, " but only ",
                               bytes.size() - offset, " bytes remain (truncated tokenizer.bin?)"));
    }
    std::string piece = bytes.substr(offset, static_cast<size_t>(length));
    offset += static_cast<size_t>(length);
    int32_t type = kTypeNormal;
    if (piece == kBosForm) {
      piece = "<s>";
      type = kTypeControl;
      if (vocab.bos_id < 0) vocab.bos_id = id;
    } else if (piece == kEosForm) {
      piece = "</s>";
      type = kTypeControl;
      if (vocab.eos_id < 0) vocab.eos_id = id;
    } else if (piece == "<unk>") {
      type = kTypeUnknown;
      if (vocab.unk_id < 0) vocab.unk_id = id;
    } else if (parse_byte_piece(piece) >= 0) {
      type = kTypeByte;
    } else {
      piece = replace_all(piece, " ", kSpaceMark);
    }
    vocab.pieces.push_back(std::move(piece));
    vocab.scores.push_back(score);
    vocab.types.push_back(type);
  }
  // run.c hard-codes BOS = 1 and EOS = 2; keep that when the file does not mark them.
  const auto mark_control = [&](int32_t& slot, int32_t fallback) {
    if (slot < 0 && fallback < vocab_size) {
      slot = fallback;
      vocab.types[static_cast<size_t>(fallback)] = kTypeControl;
    }
  };
  mark_control(vocab.bos_id, 1);
  mark_control(vocab.eos_id, 2);
  vocab.add_dummy_prefix = true;
  return make_spm_tokenizer(std::move(vocab));
}

namespace tokenizer_detail {

void write_llama2c_tokenizer(const SpmVocab& vocab, const std::filesystem::path& path) {
  std::vector<std::string> written(vocab.pieces.size());
  size_t max_length = 0;
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    if (id == vocab.bos_id) {
      written[i] = kBosForm;
    } else if (id == vocab.eos_id) {
      written[i] = kEosForm;
    } else {
      written[i] = replace_all(vocab.pieces[i], kSpaceMark, " ");
    }
    max_length = std::max(max_length, written[i].size());
  }
  std::string out;
  append_scalar(out, static_cast<int32_t>(max_length));
  for (size_t i = 0; i < written.size(); ++i) {
    append_scalar(out, vocab.scores[i]);
    append_scalar(out, static_cast<int32_t>(written[i].size()));
    out += written[i];
  }
  write_file_atomic(path, out);
}

}  // namespace tokenizer_detail

}  // namespace lowbit
