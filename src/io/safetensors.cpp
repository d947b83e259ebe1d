// SPDX-License-Identifier: MIT
// safetensors reader (validated against hostile input before anything is allocated from a
// length it states) and the streaming reference-layout writer.
#include "io/safetensors.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "io/hf_names.h"
#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Spec dtypes (safetensors README) that lowbit has no DType for: valid files, unreadable.
constexpr std::array<std::string_view, 7> kForeignDtypes{
    "F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64"};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses the header text. Nesting deeper than tensor entries need (root object, entry object,
// shape array) and duplicate top-level keys are refused while parsing, so a hostile header can
// neither build a deep tree nor silently shadow a tensor.
json parse_header(const std::string& path, std::string_view text) {
  std::set<std::string> keys;
  json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= 3)
      throw FormatError(concat(path, ": header JSON is nested deeper than a tensor entry"));
    if (event == json::parse_event_t::key && depth == 1 &&
        !keys.insert(parsed.get<std::string>()).second)
      throw FormatError(concat(path, ": header names '", parsed.get<std::string>(), "' twice"));
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {
    throw FormatError(concat(path, ": header is not valid JSON: ", e.what()));
  }
}

uint64_t unsigned_value(const std::string& where, const json& v, const char* what) {
  LB_CHECK_FORMAT(v.is_number_unsigned(), where, ": ", what, " must be non-negative integers");
  return v.get<uint64_t>();
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& e,
                             uint64_t data_size) {
  const std::string where = concat(path, ": tensor '", name, "'");
  LB_CHECK_FORMAT(e.is_object(), where, ": entry is not a JSON object");
  LB_CHECK_FORMAT(e.contains("dtype") && e.at("dtype").is_string(), where, ": missing dtype");
  LB_CHECK_FORMAT(e.contains("shape") && e.at("shape").is_array(), where, ": missing shape");
  LB_CHECK_FORMAT(e.contains("data_offsets") && e.at("data_offsets").is_array() &&
                      e.at("data_offsets").size() == 2,
                  where, ": data_offsets must be [begin, end]");
  SafetensorsEntry entry;
  entry.name = name;
  const auto dtype_str = e.at("dtype").get<std::string>();
  const auto dtype = dtype_from_name(dtype_str);
  if (!dtype) {
    const bool foreign =
        std::find(kForeignDtypes.begin(), kForeignDtypes.end(), dtype_str) != kForeignDtypes.end();
    if (foreign) throw Unsupported(concat(where, ": dtype ", dtype_str, " is not supported"));
    throw FormatError(concat(where, ": unknown dtype '", dtype_str, "'"));
  }
  entry.dtype = *dtype;
  LB_CHECK_FORMAT(e.at("shape").size() <= 8, where, ": rank ", e.at("shape").size(),
                  " is too large");
  // numel * element size, refusing overflow: the product must fit the data buffer anyway.
  uint64_t bytes = dtype_size(entry.dtype);
  bool overflow = false;
  for (const json& d : e.at("shape")) {
    const uint64_t dim = unsigned_value(where, d, "shape dimensions");
    LB_CHECK_FORMAT(dim <= static_cast<uint64_t>(INT64_MAX), where, ": dimension too large");
    entry.shape.push_back(static_cast<int64_t>(dim));
    overflow = overflow || __builtin_mul_overflow(bytes, dim, &bytes);
  }
  const uint64_t begin = unsigned_value(where, e.at("data_offsets")[0], "data_offsets");
  const uint64_t end = unsigned_value(where, e.at("data_offsets")[1], "data_offsets");
  LB_CHECK_FORMAT(begin <= end && end <= data_size, where, ": data_offsets [", begin, ", ", end,
                  ") lie outside the ", data_size, "-byte data buffer");
  LB_CHECK_FORMAT(!overflow && bytes == end - begin, where, ": shape ", shape_string(entry.shape),
                  " of ", dtype_str, " does not fill data_offsets [", begin, ", ", end, ")");
  entry.offset = static_cast<size_t>(begin);
  entry.size = static_cast<size_t>(end - begin);
  return entry;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const fs::path& fs_path) {
  SafetensorsFile st;
  st.file_ = MappedFile::open(fs_path.string());
  const std::string& path = st.file_->path();
  const uint64_t file_size = st.file_->size();
  LB_CHECK_FORMAT(file_size >= 8, path, ": ", file_size,
                  " bytes is too short for a safetensors file");
  const uint64_t n = read_u64_le(st.file_->data());
  LB_CHECK_FORMAT(n <= kSafetensorsMaxHeader && n <= file_size - 8, path, ": header length ", n,
                  " is impossible for a ", file_size, "-byte file");
  const std::string_view text(reinterpret_cast<const char*>(st.file_->data() + 8), n);
  const json header = parse_header(path, text);
  LB_CHECK_FORMAT(header.is_object(), path, ": header is not a JSON object");
  const uint64_t data_size = file_size - 8 - n;
  const uint8_t* data = st.file_->data() + 8 + n;

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      LB_CHECK_FORMAT(value.is_object(), path, ": __metadata__ is not a JSON object");
      for (const auto& [key, v] : value.items()) {
        LB_CHECK_FORMAT(v.is_string(), path, ": __metadata__ value '", key, "' is not a string");
        st.metadata_[key] = v.get<std::string>();
      }
      continue;
    }
    st.entries_.push_back(parse_entry(path, name, value, data_size));
  }

  // Sorted by offsets the tensors must tile the data buffer: no overlap, no hole.
  std::sort(st.entries_.begin(), st.entries_.end(), [](const auto& a, const auto& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.size < b.size;
  });
  uint64_t expected = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : st.entries_) {
    if (e.offset != expected) {
      const std::string range = concat("data_offsets [", e.offset, ", ", e.offset + e.size, ")");
      if (previous == nullptr)
        throw FormatError(concat(path, ": tensor '", e.name, "': ", range,
                                 " leave a hole at the start of the data buffer"));
      throw FormatError(concat(path, ": tensor '", e.name, "': ", range,
                               e.offset < expected ? " overlap" : " leave a hole after",
                               " tensor '", previous->name, "' (ending at ", expected, ")"));
    }
    expected = e.offset + e.size;
    previous = &e;
  }
  LB_CHECK_FORMAT(expected == data_size, path, ": file is ", file_size,
                  " bytes but the header accounts for 8 + ", n, " + ", expected, " = ",
                  8 + n + expected);
  for (size_t i = 0; i < st.entries_.size(); ++i) {
    st.entries_[i].data = data + st.entries_[i].offset;
    st.index_.emplace(st.entries_[i].name, i);
  }
  return st;
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const SafetensorsEntry& SafetensorsFile::at(std::string_view name) const {
  const SafetensorsEntry* e = find(name);
  LB_CHECK_FORMAT(e != nullptr, path(), ": missing tensor '", name, "'");
  return *e;
}

Buffer SafetensorsFile::buffer(const SafetensorsEntry& entry) const {
  const size_t align = dtype_size(entry.dtype);
  if (reinterpret_cast<uintptr_t>(entry.data) % align == 0)
    return Buffer::borrow_mapped(file_, entry.data, entry.size);
  return Buffer::copy_of(entry.data, entry.size);
}

QuantizedTensor SafetensorsFile::dense_tensor(const SafetensorsEntry& entry) const {
  QuantKind kind;
  switch (entry.dtype) {
    case DType::f32:
      kind = QuantKind::f32;
      break;
    case DType::f16:
      kind = QuantKind::f16;
      break;
    case DType::bf16:
      kind = QuantKind::bf16;
      break;
    default:
      throw Unsupported(concat(path(), ": tensor '", entry.name, "' has dtype ",
                               dtype_name(entry.dtype),
                               ", which lowbit does not read as a weight"));
  }
  const bool weight_shape =
      !entry.shape.empty() && entry.shape.size() <= 4 &&
      std::all_of(entry.shape.begin(), entry.shape.end(), [](int64_t d) { return d > 0; });
  LB_CHECK_FORMAT(weight_shape, path(), ": tensor '", entry.name, "': shape ",
                  shape_string(entry.shape), " is not a weight shape (rank 1..4, dims > 0)");
  return QuantizedTensor::dense(kind, entry.shape, buffer(entry));
}

std::vector<SafetensorsFile> open_safetensors_shards(const fs::path& index_path) {
  const std::string where = index_path.string();
  json index;
  try {
    index = json::parse(read_file(index_path));
  } catch (const json::exception& e) {
    throw FormatError(concat(where, ": invalid JSON: ", e.what()));
  }
  LB_CHECK_FORMAT(
      index.is_object() && index.contains("weight_map") && index.at("weight_map").is_object(),
      where, ": missing \"weight_map\" object");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : index.at("weight_map").items()) {
    LB_CHECK_FORMAT(shard.is_string(), where, ": tensor '", name, "': shard is not a string");
    const auto file = shard.get<std::string>();
    // Shards live beside the index: a path component would let the index point anywhere.
    LB_CHECK_FORMAT(
        !file.empty() && file != "." && file != ".." && file.find('/') == std::string::npos, where,
        ": tensor '", name, "': bad shard file name '", file, "'");
    by_shard[file].push_back(name);
  }
  LB_CHECK_FORMAT(!by_shard.empty(), where, ": weight_map is empty");
  std::vector<SafetensorsFile> shards;
  std::map<std::string, std::string> owner;  // tensor -> shard holding it
  for (const auto& [file, names] : by_shard) {
    shards.push_back(SafetensorsFile::open(index_path.parent_path() / file));
    for (const std::string& name : names)
      LB_CHECK_FORMAT(shards.back().find(name) != nullptr, where, ": tensor '", name,
                      "' is mapped to shard '", file, "', which does not contain it");
    for (const SafetensorsEntry& e : shards.back().entries()) {
      auto [it, fresh] = owner.emplace(e.name, file);
      LB_CHECK_FORMAT(fresh, where, ": tensor '", e.name, "' is in both '", it->second, "' and '",
                      file, "'");
    }
  }
  return shards;
}

TensorMap read_safetensors_tensors(const fs::path& path) {
  std::vector<SafetensorsFile> files;
  if (path.string().ends_with(".index.json"))
    files = open_safetensors_shards(path);
  else
    files.push_back(SafetensorsFile::open(path));
  std::vector<std::pair<const SafetensorsFile*, const SafetensorsEntry*>> all;
  for (const SafetensorsFile& f : files)
    for (const SafetensorsEntry& e : f.entries()) all.emplace_back(&f, &e);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return natural_less(a.second->name, b.second->name);
  });
  TensorMap map;
  for (const auto& [file, entry] : all) {
    LB_CHECK_FORMAT(!map.contains(entry->name), file->path(), ": tensor '", entry->name,
                    "' appears twice");
    map.add(entry->name, file->dense_tensor(*entry));
  }
  return map;
}

void write_safetensors(const fs::path& path, std::vector<SafetensorsWriteEntry> entries,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> names;
  for (const SafetensorsWriteEntry& e : entries) {
    LB_CHECK_ARG(!e.name.empty() && e.name != "__metadata__", path.string(), ": bad tensor name '",
                 e.name, "'");
    LB_CHECK_ARG(names.insert(e.name).second, path.string(), ": tensor '", e.name, "' given twice");
    int64_t n = 1;
    for (int64_t d : e.shape) {
      LB_CHECK_ARG(d >= 0, path.string(), ": tensor '", e.name, "': negative dimension");
      n *= d;
    }
    LB_CHECK_ARG(static_cast<size_t>(n) * dtype_size(e.dtype) == e.bytes.size(), path.string(),
                 ": tensor '", e.name, "': ", e.bytes.size(), " bytes do not match ",
                 dtype_name(e.dtype), " ", shape_string(e.shape));
  }
  // Largest elements first keeps every tensor aligned to its element size once the data
  // buffer starts 8-aligned.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const size_t sa = dtype_size(a.dtype), sb = dtype_size(b.dtype);
    return sa != sb ? sa > sb : a.name < b.name;
  });
  nlohmann::ordered_json header;
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  meta["format"] = "pt";  // transformers refuses other values
  header["__metadata__"] = std::move(meta);
  uint64_t offset = 0;
  for (const SafetensorsWriteEntry& e : entries) {
    header[e.name] = {{"dtype", dtype_name(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    throw InvalidArgument(concat(path.string(), ": cannot encode header: ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::array<uint8_t, 8> length{};
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));

  write_file_atomic_with(path, [&](std::FILE* f) {
    auto put = [&](const void* p, size_t n) {
      if (n != 0 && std::fwrite(p, 1, n, f) != n)
        throw Error(concat(path.string(), ": write failed"));
    };
    put(length.data(), length.size());
    put(text.data(), text.size());
    for (const SafetensorsWriteEntry& e : entries) put(e.bytes.data(), e.bytes.size());
  });
}

void add_in_natural_order(std::vector<std::pair<std::string, QuantizedTensor>> loaded,
                          const SafetensorsFile& file, TensorMap& out) {
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  for (auto& [name, t] : loaded) {
    LB_CHECK_FORMAT(!out.contains(name), file.path(), ": tensor '", name, "' is stored twice");
    out.add(name, std::move(t));
  }
}

}  // namespace lowbit::io
