// SPDX-License-Identifier: MIT
// A deterministic Llama-2-style tokenizer.json of any vocabulary size, for synthetic models.
#pragma once

#include <cstdint>
#include <string>

namespace lowbit {

// A SentencePiece-BPE tokenizer.json (byte_fallback; <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF> =
// 3..258, then single characters, then merged pieces) with exactly `vocab_size` tokens.
// Merges come from greedy BPE training on an embedded English text; when its pairs run out,
// pieces are made by joining two existing pieces chosen by a generator seeded with `seed`.
// Every split of a merged piece into two vocabulary pieces is listed as a merge, ranked by the
// piece, so the file also encodes like SentencePiece with score = -(piece rank).
// Throws InvalidArgument when vocab_size < 259.
std::string make_synthetic_tokenizer_json(int32_t vocab_size, uint64_t seed);

}  // namespace lowbit
