// SPDX-License-Identifier: MIT
// safetensors reader/writer: reference layout, round trips, shards and hostile headers.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using lowbit::testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A file from a literal header and a data buffer of `data_bytes` bytes (value = index).
std::string make_file(const std::string& header, size_t data_bytes) {
  std::string data(data_bytes, '\0');
  for (size_t i = 0; i < data_bytes; ++i) data[i] = static_cast<char>(i * 7 + 1);
  return u64_le(header.size()) + header + data;
}

template <typename T>
std::span<const uint8_t> span_of(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

TEST(Safetensors, WriterMatchesReferenceLayoutByteForByte) {
  TempDir dir;
  const fs::path p = dir.path() / "a.safetensors";
  const std::vector<float> a = {1.0f, -2.0f};
  const std::vector<uint16_t> b = {0x3C00};
  write_safetensors(p, {{"b", DType::f16, {1}, span_of(b)}, {"a", DType::f32, {2}, span_of(a)}});
  // Expected from the format description: __metadata__ first, then tensors by dtype size
  // descending (F32 before F16), compact JSON, spaces up to a multiple of 8.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string expected = u64_le(header.size()) + header;
  expected.append(reinterpret_cast<const char*>(a.data()), 8);
  expected.append(reinterpret_cast<const char*>(b.data()), 2);
  EXPECT_EQ(slurp(p), expected);
}

TEST(Safetensors, RoundTripKeepsBytesShapesAndAlignment) {
  TempDir dir;
  const fs::path p = dir.path() / "m.safetensors";
  const std::vector<float> w = {0.5f, 1.5f, -3.0f, 4.0f, 5.0f, 6.0f};
  const std::vector<uint16_t> h = {1, 2, 3, 4};
  const std::vector<uint16_t> bf = {7, 8};
  const std::vector<uint8_t> u = {9, 10, 11};
  const std::vector<int64_t> big = {-1, 1};
  write_safetensors(p,
                    {{"u", DType::u8, {3}, span_of(u)},
                     {"w", DType::f32, {2, 3}, span_of(w)},
                     {"h", DType::f16, {2, 2}, span_of(h)},
                     {"bf", DType::bf16, {1, 2}, span_of(bf)},
                     {"big", DType::i64, {2}, span_of(big)},
                     {"empty", DType::f32, {0, 4}, {}}},
                    {{"note", "hello"}});
  const SafetensorsFile f = SafetensorsFile::open(p);
  ASSERT_EQ(f.entries().size(), 6u);
  // Data-buffer order: I64, F32 (by name), BF16 and F16 (by name), U8.
  std::vector<std::string> order;
  for (const auto& e : f.entries()) order.push_back(e.name);
  EXPECT_EQ(order, (std::vector<std::string>{"big", "empty", "w", "bf", "h", "u"}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "hello");
  EXPECT_EQ(f.at("w").shape, (Shape{2, 3}));
  EXPECT_EQ(f.at("empty").size, 0u);
  EXPECT_EQ(std::memcmp(f.at("w").data, w.data(), 24), 0);
  EXPECT_EQ(std::memcmp(f.at("h").data, h.data(), 8), 0);
  EXPECT_EQ(std::memcmp(f.at("u").data, u.data(), 3), 0);
  EXPECT_EQ(std::memcmp(f.at("big").data, big.data(), 16), 0);
  for (const auto& e : f.entries())
    EXPECT_EQ(reinterpret_cast<uintptr_t>(e.data) % dtype_size(e.dtype), 0u) << e.name;
  uint64_t n = 0;
  std::memcpy(&n, slurp(p).data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(fs::file_size(p), 8 + n + 16 + 24 + 4 + 8 + 3);
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_THROW(f.at("nope"), FormatError);
}

TEST(Safetensors, DenseTensorsBorrowAndOutliveTheFileObject) {
  TempDir dir;
  const fs::path p = dir.path() / "m.safetensors";
  const std::vector<float> w = {1, 2, 3, 4};
  const std::vector<uint16_t> bf = {0x3F80, 0x4000};
  const std::vector<uint8_t> u = {1};
  write_safetensors(p, {{"w", DType::f32, {2, 2}, span_of(w)},
                        {"b", DType::bf16, {2}, span_of(bf)},
                        {"u", DType::u8, {1}, span_of(u)}});
  QuantizedTensor t;
  {
    const SafetensorsFile f = SafetensorsFile::open(p);
    t = f.dense_tensor(f.at("w"));
    EXPECT_EQ(f.dense_tensor(f.at("b")).format.kind, QuantKind::bf16);
    EXPECT_THROW(f.dense_tensor(f.at("u")), Unsupported);
  }
  EXPECT_FALSE(t.codes.owned());
  EXPECT_EQ(t.format.kind, QuantKind::f32);
  EXPECT_EQ(t.codes.as<float>()[3], 4.0f);
  // A U8 tensor is not a weight lowbit reads from an HF file.
  EXPECT_THROW(read_safetensors_tensors(p), Unsupported);
}

TEST(Safetensors, ForeignWriterWithUnalignedDataIsCopiedAligned) {
  TempDir dir;
  const fs::path p = dir.path() / "odd.safetensors";
  // Header of 61 bytes: the data buffer starts at byte 69, misaligned for f32.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append(61 - header.size(), ' ');
  const float values[2] = {3.25f, -1.0f};
  write_bytes(
      p, u64_le(header.size()) + header + std::string(reinterpret_cast<const char*>(values), 8));
  const SafetensorsFile f = SafetensorsFile::open(p);
  const QuantizedTensor t = f.dense_tensor(f.at("x"));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.codes.data()) % 4, 0u);
  EXPECT_EQ(t.codes.as<float>()[0], 3.25f);
  EXPECT_EQ(t.codes.as<float>()[1], -1.0f);
}

TEST(Safetensors, WriterRefusesBadEntries) {
  TempDir dir;
  const std::vector<float> w = {1, 2};
  EXPECT_THROW(write_safetensors(dir.path() / "x", {{"w", DType::f32, {3}, span_of(w)}}),
               InvalidArgument);
  EXPECT_THROW(write_safetensors(dir.path() / "x", {{"w", DType::f32, {2}, span_of(w)},
                                                    {"w", DType::f32, {2}, span_of(w)}}),
               InvalidArgument);
  EXPECT_FALSE(fs::exists(dir.path() / "x"));
}

// Writes `bytes` and expects FormatError whose message contains every string in `parts`.
void expect_format_error(const std::string& bytes, std::vector<std::string> parts) {
  TempDir dir;
  const fs::path p = dir.path() / "bad.safetensors";
  write_bytes(p, bytes);
  try {
    SafetensorsFile::open(p);
    ADD_FAILURE() << "no error for " << parts[0];
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

const std::string kTwo = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}})";

TEST(Safetensors, ValidFixtureForTheBadCases) {
  TempDir dir;
  write_bytes(dir.path() / "ok.safetensors", make_file(kTwo, 12));
  EXPECT_EQ(SafetensorsFile::open(dir.path() / "ok.safetensors").entries().size(), 2u);
}

TEST(Safetensors, BadInputsGiveFormatErrors) {
  expect_format_error("", {"too short"});
  expect_format_error(std::string("\x10\0\0", 3), {"too short"});
  expect_format_error(make_file(kTwo, 11), {"'b'", "outside"});  // truncated data
  expect_format_error(make_file(kTwo, 13), {"file is"});         // trailing byte
  expect_format_error(make_file(kTwo, 12).substr(0, 40), {"header length"});
  expect_format_error(u64_le(200'000'000) + std::string(300, ' '), {"header length"});
  expect_format_error(u64_le(~uint64_t{0}) + "{}", {"header length"});
  expect_format_error(make_file("{\"a\": [1,", 0), {"not valid JSON"});
  expect_format_error(make_file("[1, 2]", 0), {"not a JSON object"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                12),
                      {"'a'", "'b'", "overlap"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                                16),
                      {"'a'", "'b'", "hole"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                      {"'a'", "hole"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                      {"'a'", "[3]", "F32"});
  expect_format_error(make_file(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8),
                      {"'a'", "unknown dtype 'Q7'"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                      {"'a'", "non-negative"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})", 8),
                      {"'a'", "outside"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
                      {"'a'", "outside"});
  expect_format_error(
      make_file(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      {"'a'", "does not fill"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2]}})", 8), {"data_offsets"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,8]}})", 8),
                      {"nested"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                8),
                      {"'a' twice"});
  expect_format_error(make_file(R"({"__metadata__":{"k":1}})", 0), {"__metadata__", "'k'"});
  expect_format_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8),
                      {"'a'", "data_offsets"});
}

TEST(Safetensors, KnownButForeignDtypeIsUnsupported) {
  TempDir dir;
  write_bytes(dir.path() / "e.safetensors",
              make_file(R"({"s":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[0,2]}})", 2));
  EXPECT_THROW(SafetensorsFile::open(dir.path() / "e.safetensors"), Unsupported);
}

TEST(Safetensors, ShardedIndexOpensEachShardOnce) {
  TempDir dir;
  const std::vector<float> a = {1, 2}, b = {3, 4, 5};
  write_safetensors(dir.path() / "model-00001-of-00002.safetensors",
                    {{"model.layers.10.w", DType::f32, {2}, span_of(a)},
                     {"model.layers.2.w", DType::f32, {2}, span_of(a)}});
  write_safetensors(dir.path() / "model-00002-of-00002.safetensors",
                    {{"lm_head.weight", DType::f32, {3}, span_of(b)}});
  write_bytes(dir.path() / "model.safetensors.index.json", R"({"metadata":{"total_size":28},
    "weight_map":{"model.layers.10.w":"model-00001-of-00002.safetensors",
                  "model.layers.2.w":"model-00001-of-00002.safetensors",
                  "lm_head.weight":"model-00002-of-00002.safetensors"}})");
  EXPECT_EQ(open_safetensors_shards(dir.path() / "model.safetensors.index.json").size(), 2u);
  const TensorMap map = read_safetensors_tensors(dir.path() / "model.safetensors.index.json");
  EXPECT_EQ(map.names(),
            (std::vector<std::string>{"lm_head.weight", "model.layers.2.w", "model.layers.10.w"}));
  EXPECT_EQ(map.at("lm_head.weight").codes.as<float>()[2], 5.0f);

  auto expect_bad_index = [&](const std::string& text, const std::string& part) {
    write_bytes(dir.path() / "bad.index.json", text);
    try {
      read_safetensors_tensors(dir.path() / "bad.index.json");
      ADD_FAILURE() << part;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_bad_index(R"({"weight_map":{"x":"model-00002-of-00002.safetensors"}})", "'x'");
  expect_bad_index(R"({"weight_map":{"lm_head.weight":"../etc/passwd"}})", "bad shard");
  expect_bad_index(R"({"weight_map":{"lm_head.weight":"model-00002-of-00002.safetensors",
      "model.layers.2.w":"model-00001-of-00002.safetensors",
      "a":"dup.safetensors"}})",
                   "dup.safetensors");
  expect_bad_index("{not json", "invalid JSON");
  expect_bad_index(R"({"metadata":{}})", "weight_map");
}

TEST(Safetensors, TensorInTwoShardsIsAnError) {
  TempDir dir;
  const std::vector<float> a = {1};
  write_safetensors(dir.path() / "s1.safetensors", {{"w", DType::f32, {1}, span_of(a)}});
  write_safetensors(dir.path() / "s2.safetensors",
                    {{"w", DType::f32, {1}, span_of(a)}, {"v", DType::f32, {1}, span_of(a)}});
  write_bytes(dir.path() / "m.index.json",
              R"({"weight_map":{"w":"s1.safetensors","v":"s2.safetensors"}})");
  try {
    read_safetensors_tensors(dir.path() / "m.index.json");
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'w' is in both"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::io
