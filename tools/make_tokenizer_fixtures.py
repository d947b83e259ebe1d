#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes the tokenizer test fixtures under tests/fixtures/tokenizer/ with the Hugging Face
`tokenizers` package (pip install tokenizers) as the independent reference.

It trains tiny BPE tokenizers on an embedded text and writes, for each flavour, a small
tokenizer.json plus the ids and decoded text that `tokenizers` produces for a list of test
strings:
  llama2_classic  SentencePiece BPE, byte fallback, normalizer Prepend+Replace, merges "a b"
  llama2_metaspace  the same model, pre_tokenizer Metaspace(prepend_scheme first), merges [a, b]
  gpt2            byte-level BPE, ByteLevel(use_regex) pre-tokenizer
  llama3          byte-level BPE, Split(Llama-3 regex) + ByteLevel, ignore_merges, BOS template
  qwen2           byte-level BPE, NFC, Split(Qwen2 regex) + ByteLevel, no BOS
For GGUF "gpt2" vocabularies it records, for every tokenizer.ggml.pre label lowbit knows (the
regex lists of llama.cpp's pre-tokenizer types, transcribed here from the reference independently
of the C++ table), the ids `tokenizers` gives with the gpt2 flavour's vocabulary and merges and
a Sequence of Split(Isolated) pre-tokenizers + ByteLevel(use_regex=false)
(pre_styles_expected.json); and, from the real SmolLM2-135M GGUF's own vocabulary and merges
(read with the `gguf` package) with the smollm list, the ids of the first lines of WikiText-2
raw and a hash of the ids of the whole file (smollm2_wikitext_expected.json).
It also converts the llama2.c vocabulary stories260K/tok512.bin into a tokenizer.json (merges
from every split of each piece, ordered by piece score, as the HF Llama converter does) and
records `tokenizers`' ids for test strings and a hash of the ids of the whole TinyStories file;
and it builds lowbit's synthetic tokenizer.json (compiling src/io/synthetic_tokenizer.cpp with
g++) and records `tokenizers`' ids for it.

With --nfc-tables it instead regenerates src/io/tokenizer_nfc.cpp, the NFC quick-check
tables (canonical combining classes and NFC_Quick_Check != Yes code points) derived from
Python's unicodedata.

Usage: python3 tools/make_tokenizer_fixtures.py [--data DIR]   (DIR: shared/data)
Needs: pip install tokenizers gguf
       python3 tools/make_tokenizer_fixtures.py --nfc-tables
"""

import argparse
import json
import os
import struct
import subprocess
import tempfile
import unicodedata

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
SPACE = "\u2581"

TRAINING_TEXT = """
A lighthouse keeper lived alone on a rocky island far from the coast. Every evening he climbed
the narrow stairs, cleaned the great lens and lit the lamp, and every morning he wrote the weather
in a thick book. Ships passed in the night and never saw him, but they saw his light, and that was
enough for him. He liked the sound of the waves and the cry of the gulls.
In the spring a small boat brought letters, flour, coffee and news from the town. The captain
always stayed for lunch. They talked about storms, about the price of fish, about who had married
whom. Then the boat left, and the island was quiet again until the next month.
The café on the harbour served crème brûlée and strong coffee; the naïve tourists thought the
owner was French, but he was born in the village and had never left it. Numbers: 1 22 333 4444
55555 3.14159 2024. Contractions: it's, we've, they'll, I'm, you'd, don't, WE'RE, IT'S.
Über straße señor façade résumé. 日本語のテキストと中文文本。Emoji appear too: 🙂 ☃ ✓.
    Indented line with    several   spaces and\ttabs.
"""

COMMON_TEXTS = [
    "Hello world",
    "",
    "a",
    " leading space",
    "trailing space ",
    "double  space and   triple",
    "\n\nnew lines\nhere\n",
    "tabs\tand\ttabs",
    "The lighthouse keeper climbed the stairs.",
    "I'LL DO IT, they've said; it's 12345 or 3.14159!",
    "numbers 1 22 333 4444 55555 666666",
    "The caf\u00e9 served cr\u00e8me br\u00fbl\u00e9e, se\u00f1or.",
    "\u4e2d\u6587\u6587\u672c",
    "   ",
    "unseen chars: \u00a7 \u00b5 \u00de",
]
# Text NFC cannot leave alone in general (lowbit refuses it for NFC tokenizers).
NON_NFC_SAFE_TEXTS = [
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "emoji \U0001f642 and \u2603",
    "combining e\u0301 accent",
]

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def fnv1a64_ids(ids):
    """FNV-1a over the ids as little-endian int32 (matches the C++ test)."""
    h = 0xCBF29CE484222325
    for i in ids:
        for b in struct.pack("<i", i):
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def added(content, token_id, special=True):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": special}


def template(bos, bos_id):
    item = {"SpecialToken": {"id": bos, "type_id": 0}}
    return {"type": "TemplateProcessing",
            "single": [item, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [item, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def trained_model(tok):
    model = json.loads(tok.to_str())["model"]
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    pieces = [p for p, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    return pieces, merges


def spm_json(pieces, merges, metaspace):
    """A Llama-2 style tokenizer.json from trained pieces (U+2581 for spaces) and merges."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b
    for p in pieces:
        vocab.setdefault(p, len(vocab))
    spm_decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    root = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added("<unk>", 0), added("<s>", 1), added("</s>", 2)],
        "normalizer": None if metaspace else {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first",
                          "split": False} if metaspace else None,
        "post_processor": template("<s>", 1),
        # Newer files use the Metaspace decoder; byte fallback still needs ByteFallback + Fuse.
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first",
             "split": False}, {"type": "ByteFallback"}, {"type": "Fuse"}]}
        if metaspace else spm_decoder,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab,
                  "merges": [list(m) for m in merges] if metaspace
                  else [" ".join(m) for m in merges]},
    }
    return root


def train_spm_pieces():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always",
                                                 split=True)
    # limit_alphabet keeps rare characters out, so they exercise byte fallback.
    trainer = trainers.BpeTrainer(vocab_size=300, limit_alphabet=60, show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    return trained_model(tok)


def train_byte_level(pre_tokenizer, vocab_size, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=specials)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    return tok


def byte_level_json(tok, pre_tokenizer_json, normalizer_json, post_processor_json, ignore_merges):
    root = json.loads(tok.to_str())
    root["normalizer"] = normalizer_json
    root["pre_tokenizer"] = pre_tokenizer_json
    root["post_processor"] = post_processor_json
    root["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True}
    root["model"]["ignore_merges"] = ignore_merges
    return root


def expectations(tok_json, texts):
    tok = Tokenizer.from_str(json.dumps(tok_json))
    cases = []
    for text in texts:
        plain = tok.encode(text, add_special_tokens=False).ids
        with_bos = tok.encode(text, add_special_tokens=True).ids
        cases.append({"text": text, "ids": plain, "ids_bos": with_bos,
                      "decoded": tok.decode(plain, skip_special_tokens=True)})
    return cases


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 100_000, f"{name} is {size} bytes"
    print(f"wrote {name} ({size} bytes)")


def make_flavours(data_dir):
    roots = {}
    pieces, merges = train_spm_pieces()
    special_llama2 = ["Hello</s>world", "<s>x", " <unk> and </s>", "<0x41> is not special"]
    for name, metaspace in (("llama2_classic", False), ("llama2_metaspace", True)):
        root = spm_json(pieces, merges, metaspace)
        write(f"{name}.json", root)
        write(f"{name}_expected.json",
              expectations(root, COMMON_TEXTS + NON_NFC_SAFE_TEXTS + special_llama2))
        roots[name] = root

    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    bl_plain = dict(bl, use_regex=False)
    flavours = [
        ("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
         bl, None, {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                    "use_regex": True}, False, ["<|endoftext|>"],
         ["a<|endoftext|>b", "<|endoftext|> x"]),
        ("llama3", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
         {"type": "Sequence", "pretokenizers": [
             {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated",
              "invert": False}, bl_plain]},
         None, None, True, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
         ["<|begin_of_text|>hi<|eot_id|>", "x <|end_of_text|>"]),
        ("qwen2", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
         {"type": "Sequence", "pretokenizers": [
             {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated",
              "invert": False}, bl_plain]},
         {"type": "NFC"}, {"type": "ByteLevel", "add_prefix_space": False,
                           "trim_offsets": False, "use_regex": False}, False,
         ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
         ["<|im_start|>user\nhi<|im_end|>", "end<|endoftext|>"]),
    ]
    for name, pre, pre_json, norm_json, post_json, ignore, specials, extra in flavours:
        tok = train_byte_level(pre, 420, specials)
        if name == "llama3":
            post_json = {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                 "use_regex": True},
                template("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))]}
        root = byte_level_json(tok, pre_json, norm_json, post_json, ignore)
        nfc_refused = [t for t in NON_NFC_SAFE_TEXTS if "\u0301" in t]
        texts = COMMON_TEXTS + extra + [t for t in NON_NFC_SAFE_TEXTS
                                        if name != "qwen2" or t not in nfc_refused]
        write(f"{name}.json", root)
        write(f"{name}_expected.json", expectations(root, texts))
        roots[name] = root
    # Whole-file agreement on WikiText-2 raw (CRLF kept: newline="" below).
    wiki = os.path.join(data_dir, "eval", "wikitext2_test.raw.txt")
    text = open(wiki, encoding="utf-8", newline="").read()
    whole = {}
    for name, root in roots.items():
        ids = Tokenizer.from_str(json.dumps(root)).encode(text, add_special_tokens=False).ids
        whole[name] = {"count": len(ids), "fnv1a64": "%016x" % fnv1a64_ids(ids)}
        print(f"wikitext2_test.raw.txt with {name}: {len(ids)} tokens")
    write("wikitext2_expected.json", whole)
    return roots


# --- GGUF tokenizer.ggml.pre labels -------------------------------------------------------------
# llama.cpp's regex lists (reference: ggml-formats-and-pretokenizers.md section 8), non-ASCII
# literals written \x{...} (Oniguruma and PCRE2 both read that).
G = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
CONTRACTIONS = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
L3 = (CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
      r"\s*[\r\n]+|\s+(?!\S)|\s+")
Q2 = L3.replace(r"\p{N}{1,3}", r"\p{N}")
UPPER_THEN_LOWER = r"((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
UPPER_RUN = r"((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
TEKKEN = (r"[^\r\n\p{L}\p{N}]?" + UPPER_THEN_LOWER + r"|[^\r\n\p{L}\p{N}]?" + UPPER_RUN +
          r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT4O = (r"[^\r\n\p{L}\p{N}]?" + UPPER_THEN_LOWER + CONTRACTIONS + "?" +
         r"|[^\r\n\p{L}\p{N}]?" + UPPER_RUN + CONTRACTIONS + "?" +
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
BAILING = (r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
           r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+")
SEED_CODER = (CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")


def x(text):
    """`text` with non-ASCII characters written \\x{...}."""
    return "".join(c if ord(c) < 128 else "\\x{%X}" % ord(c) for c in text)


BLOOM = x(" ?[^(\\s|.,!?…。，、।۔،)]+")
CJK = x("[一-龥ࠀ-一가-\ud7ff]+")
# Written with escapes: several of its characters are not NFC, and an editor may normalize them.
DEEPSEEK_LETTERS = (
    r"\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}"
    r"\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-"
    r"\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-"
    r"\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-"
    r"\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-"
    r"\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}"
    r"\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-"
    r"\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-"
    r"\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}"
    r"\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}"
    r"\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}"
    r"\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-"
    r"\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-"
    r"\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}"
    r"\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+")
DEEPSEEK_PUNCT = x("\\s?[!-/:-~！-／：-～‘-‟\u3000-。]+")

# (labels, regex list, ignore_merges, nfc)
PRE_STYLES = [
    (["default"], [r"[\p{P}\$\+<=>\^~\|]+", G, r"\p{N}+", r"[0-9][0-9][0-9]"], False, False),
    (["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
      "jina-v5-nano"], [L3], True, False),
    (["dbrx", "smaug-bpe", "glm4", "chatglm-bpe"], [L3], False, False),
    (["deepseek-llm"], [r"[\r\n]", DEEPSEEK_LETTERS, DEEPSEEK_PUNCT, r"\s+$", CJK, r"\p{N}+"],
     False, False),
    (["deepseek-coder"], [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK, r"\p{N}"], False, False),
    (["falcon"], [r"[\p{P}\$\+<=>\^~\|`]+", G, r"[0-9][0-9][0-9]"], False, False),
    (["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
      "mellum2"], [r"\p{N}", G], False, False),
    (["gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
      "a.x-4.0", "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion"], [G],
     False, False),
    (["qwen2", "deepseek-r1-qwen"], [Q2], False, True),
    (["kormo", "f2llmv2", "megrez", "stablelm2"], [Q2], False, False),
    (["poro-chat", "bloom", "gpt3-finnish"], [BLOOM], False, False),
    (["viking"], [BLOOM, r"\p{N}"], False, False),
    (["tekken"], [TEKKEN], True, False),
    (["gpt-4o", "llama4", "kanana2", "talkie"], [GPT4O], False, False),
    (["bailingmoe", "bailingmoe2", "llada-moe"], [BAILING], False, False),
    (["seed-coder"], [SEED_CODER], False, False),
    (["chameleon"], [r"<sentinel:[0-9]+>", r"(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                     r"([\t\n]|    |  )", r"\p{N}", r"[\p{P}!-/:-@\[-`{-~]", G], False, False),
]

PRE_TEXTS = COMMON_TEXTS + [
    "phone 0123456789012345 and 1234567, 12,345.67",
    "HelloWorld camelCaseWords XMLHttpRequest ABCdef aBC",
    "I'LL we'Ve it's THEY'RE O'Neil's 'quoted' don't",
    "tabs\t\tand\r\nCRLF\n\n\nblank  \n  indented\r\n",
    "punct!!! ...?? (a) [b] {c} <d> $5 +1 =2 ^x ~y |z `code` @at #tag 50% a&b",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u4e2d\u6587\u6587\u672c\u3002"
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u00dcber stra\u00dfe se\u00f1or fa\u00e7ade r\u00e9sum\u00e9 \u00c0\u00c9\u00ce\u00d5\u00dc"
    " \u00c9cole \u00e9COLE",
    "emoji \U0001f642\U0001f44d and \u2603 \u2713!",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u043a\u0438\u0440\u0438\u043b\u043b"
    "\u0438\u0446\u0430 \u0394\u03ad\u03bb\u03c4\u03b1",
    "<sentinel:12> IMGIMGABCZ and IMGIMGJZ",
    "numbers\u0661\u0662\u0663 \u00bd \u216b x\u00b2",
    "x  \t  y \u00a0z\u3000w",
    "\u2026\u3002\uff0c\u3001 a\u2026b",
    "fullwidth \uff21\uff22\uff23\uff01 \u2018q\u2019",
    "a/b/c\npath/to/file.txt",
    "end with spaces   ",
]


def make_pre_styles():
    """pre_styles.json, a byte-level vocabulary trained with whitespace-only splitting (so its
    merges cross the boundaries the lists disagree on: digits, case, punctuation,
    contractions), and pre_styles_expected.json: ids of PRE_TEXTS under every label's list."""
    trainer_pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r" ?\S+|\s+"), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = trainer_pre
    trainer = trainers.BpeTrainer(vocab_size=900, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tok.train_from_iterator([TRAINING_TEXT] + PRE_TEXTS * 2, trainer)
    base = byte_level_json(tok, None, None, None, False)
    write("pre_styles.json", base)
    out = []
    for labels, patterns, ignore_merges, nfc in PRE_STYLES:
        root = json.loads(json.dumps(base))
        steps = [{"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated",
                  "invert": False} for p in patterns]
        steps.append({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                      "use_regex": False})
        root["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": steps}
        root["normalizer"] = {"type": "NFC"} if nfc else None
        root["post_processor"] = None
        root["model"]["ignore_merges"] = ignore_merges
        tok = Tokenizer.from_str(json.dumps(root))
        cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids}
                 for t in PRE_TEXTS]
        out.append({"labels": labels, "cases": cases})
    write("pre_styles_expected.json", out)


def gguf_strings(reader, key):
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


SMOLLM_LINES = 160  # lines of WikiText-2 whose ids are stored (the fixture stays small)


def make_smollm2_wikitext(data_dir):
    """smollm2_wikitext_expected.json from the real SmolLM2-135M GGUF's vocabulary."""
    import gguf  # pip install gguf

    path = os.path.join(data_dir, "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf")
    reader = gguf.GGUFReader(path)
    assert bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode() == "smollm"
    tokens = gguf_strings(reader, "tokenizer.ggml.tokens")
    merges = gguf_strings(reader, "tokenizer.ggml.merges")
    field = reader.fields["tokenizer.ggml.token_type"]
    types = [int(field.parts[i][0]) for i in field.data]
    labels, patterns, _, _ = next(r for r in PRE_STYLES if "smollm" in r[0])
    root = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(t, i, special=types[i] == 3) for i, t in enumerate(tokens)
                         if types[i] in (3, 4)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False}
            for p in patterns] + [{"type": "ByteLevel", "add_prefix_space": False,
                                   "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }
    tok = Tokenizer.from_str(json.dumps(root))
    # The bytes lowbit's eval reads (CRLF kept), as one string; the first lines end at the
    # SMOLLM_LINES-th "\n".
    wiki = os.path.join(data_dir, "eval", "wikitext2_test.raw.txt")
    text = open(wiki, encoding="utf-8", newline="").read()
    end = -1
    for _ in range(SMOLLM_LINES):
        end = text.index("\n", end + 1)
    head = text[:end + 1]
    head_ids = tok.encode(head, add_special_tokens=False).ids
    ids = tok.encode(text, add_special_tokens=False).ids
    assert ids[:len(head_ids) - 2] == head_ids[:-2]  # a prefix (up to the cut)
    print(f"wikitext2_test.raw.txt with SmolLM2: {len(ids)} tokens, first {SMOLLM_LINES} lines "
          f"{len(head_ids)}")
    write("smollm2_wikitext_expected.json", {
        "lines": SMOLLM_LINES, "head_bytes": len(head.encode("utf-8")), "head_ids": head_ids,
        "whole": {"count": len(ids), "fnv1a64": "%016x" % fnv1a64_ids(ids)},
        "hello": tok.encode("The capital of France is", add_special_tokens=False).ids})


def read_llama2c_vocab(path):
    data = open(path, "rb").read()
    offset, pieces = 4, []
    while offset < len(data):
        score, length = struct.unpack_from("<fi", data, offset)
        offset += 8
        pieces.append((data[offset:offset + length].decode("utf-8"), score))
        offset += length
    return pieces


def make_tok512(data_dir):
    path = os.path.join(data_dir, "stories260K", "tok512.bin")
    entries = read_llama2c_vocab(path)
    vocab = {}
    for i, (piece, _) in enumerate(entries):
        piece = {"\n<s>\n": "<s>", "\n</s>\n": "</s>"}.get(piece, piece.replace(" ", SPACE))
        vocab[piece] = i
    scored = []  # (score, rank of piece, left id, right id, left, right)
    for i, (piece, score) in enumerate(entries):
        piece = piece.replace(" ", SPACE)
        if i < 259 or len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                scored.append((-score, i, vocab[left], vocab[right], left, right))
    scored.sort()
    root = spm_json([], [], metaspace=False)
    root["model"]["vocab"] = vocab
    root["model"]["merges"] = [f"{s[4]} {s[5]}" for s in scored]
    write("stories260k_tok512.json", root)
    texts = [t for t in COMMON_TEXTS + NON_NFC_SAFE_TEXTS]
    expected = {"cases": expectations(root, texts)}
    story = os.path.join(data_dir, "eval", "tinystories_valid_part1.txt")
    text = open(story, encoding="utf-8").read()
    ids = Tokenizer.from_str(json.dumps(root)).encode(text, add_special_tokens=True).ids
    expected["tinystories_valid_part1"] = {"count_with_bos": len(ids),
                                           "fnv1a64": "%016x" % fnv1a64_ids(ids)}
    print(f"tinystories_valid_part1.txt: {len(ids)} tokens with BOS")
    write("stories260k_tok512_expected.json", expected)


def make_synthetic():
    cases = [(512, 1), (1000, 3), (32000, 7)]
    texts = ["Hello world", "The river starts high in the hills.", "", " x", "caf\u00e9 \U0001f642",
             "The baker mixes flour, water, salt and yeast before the sun comes up.",
             "Zebras quickly jumped over 42 lazy wolves!\n"]
    with tempfile.TemporaryDirectory() as tmp:
        main = os.path.join(tmp, "dump.cpp")
        with open(main, "w") as f:
            f.write('#include <cstdio>\n#include <string>\n#include "io/synthetic_tokenizer.h"\n'
                    "int main(int, char** argv) {\n"
                    "  std::string s = lowbit::make_synthetic_tokenizer_json(std::stoi(argv[1]),"
                    " std::stoull(argv[2]));\n  std::fwrite(s.data(), 1, s.size(), stdout);\n}\n")
        exe = os.path.join(tmp, "dump")
        src = os.path.join(ROOT, "src")
        subprocess.run(["g++", "-std=c++20", "-O2", "-I", src, main,
                        os.path.join(src, "io", "synthetic_tokenizer.cpp"),
                        os.path.join(src, "io", "tokenizer_text.cpp"), "-o", exe], check=True)
        out = []
        for vocab_size, seed in cases:
            text = subprocess.run([exe, str(vocab_size), str(seed)], check=True,
                                  capture_output=True).stdout.decode("utf-8")
            tok = Tokenizer.from_str(text)
            assert tok.get_vocab_size() == vocab_size
            out.append({"vocab_size": vocab_size, "seed": seed,
                        "cases": expectations(json.loads(text), texts)})
    write("synthetic_expected.json", out)


NFC_CPP_HEAD = """// SPDX-License-Identifier: MIT
// NFC quick check (UAX #15): text whose code points are all NFC_Quick_Check=Yes and whose
// combining marks are in canonical order is already NFC. Tables generated by
// tools/make_tokenizer_fixtures.py --nfc-tables from Unicode %s; do not edit by hand.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "io/tokenizer_text.h"

namespace lowbit::tokenizer_detail {

namespace {

struct CccRange {
  uint32_t first, last;
  uint8_t ccc;
};

struct Range {
  uint32_t first, last;
};

// clang-format off
"""

NFC_CPP_TAIL = """// clang-format on

uint8_t combining_class(uint32_t cp) {
  const auto* it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), cp,
                                    [](uint32_t v, const CccRange& r) { return v < r.first; });
  if (it == std::begin(kCombiningClasses)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

bool quick_check_not_yes(uint32_t cp) {
  const auto* it = std::upper_bound(std::begin(kNotYes), std::end(kNotYes), cp,
                                    [](uint32_t v, const Range& r) { return v < r.first; });
  return it != std::begin(kNotYes) && cp <= (it - 1)->last;
}

}  // namespace

bool nfc_quick_check(std::string_view text) {
  uint8_t last_ccc = 0;
  for (size_t pos = 0; pos < text.size();) {
    const auto lead = static_cast<uint8_t>(text[pos]);
    const size_t len = lead < 0x80 ? 1 : utf8_char_len(text, pos);
    const uint32_t cp = len == 1 ? 0 : decode_utf8(text, pos, len);  // invalid bytes: as is
    pos += len;
    if (cp < 0x300) {
      last_ccc = 0;
      continue;
    }
    const uint8_t ccc = combining_class(cp);
    if ((ccc != 0 && last_ccc > ccc) || quick_check_not_yes(cp)) return false;
    last_ccc = ccc;
  }
  return true;
}

}  // namespace lowbit::tokenizer_detail
"""


def nfc_tables_cpp():
    """The NFC quick-check source file, from Python's unicodedata."""
    maybe = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T jamo
    for cp in range(0x110000):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<") and len(d.split()) == 2:
            maybe.add(int(d.split()[1], 16))  # may compose with what precedes it

    def not_yes(cp):
        if 0xD800 <= cp < 0xE000:
            return False
        return cp in maybe or unicodedata.normalize("NFC", chr(cp)) != chr(cp)

    ccc, not_yes_ranges = [], []
    for cp in range(0x110000):
        c = unicodedata.combining(chr(cp))
        if c and ccc and ccc[-1][1] == cp - 1 and ccc[-1][2] == c:
            ccc[-1][1] = cp
        elif c:
            ccc.append([cp, cp, c])
        if not_yes(cp):
            if not_yes_ranges and not_yes_ranges[-1][1] == cp - 1:
                not_yes_ranges[-1][1] = cp
            else:
                not_yes_ranges.append([cp, cp])

    def rows(items, per_line):
        lines = []
        for i in range(0, len(items), per_line):
            lines.append("    " + " ".join(items[i:i + per_line]))
        return "\n".join(lines)

    out = NFC_CPP_HEAD % unicodedata.unidata_version
    out += "constexpr CccRange kCombiningClasses[] = {\n"
    out += rows(["{0x%X, 0x%X, %d}," % tuple(r) for r in ccc], 3) + "\n};\n\n"
    out += "constexpr Range kNotYes[] = {\n"
    out += rows(["{0x%X, 0x%X}," % tuple(r) for r in not_yes_ranges], 4) + "\n};\n"
    return out + NFC_CPP_TAIL


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--nfc-tables", action="store_true",
                        help="regenerate src/io/tokenizer_nfc.cpp instead of the fixtures")
    args = parser.parse_args()
    if args.nfc_tables:
        path = os.path.join(ROOT, "src", "io", "tokenizer_nfc.cpp")
        with open(path, "w") as f:
            f.write(nfc_tables_cpp())
        print(f"wrote {path}")
        return
    os.makedirs(OUT, exist_ok=True)
    roots = make_flavours(args.data)
    make_pre_styles()
    make_smollm2_wikitext(args.data)
    make_tok512(args.data)
    make_synthetic()


if __name__ == "__main__":
    main()
