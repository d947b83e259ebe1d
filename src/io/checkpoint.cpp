// SPDX-License-Identifier: MIT
// HF directory reading and the lowbit checkpoint writer/reader.
#include "io/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/hf_names.h"
#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::optional<QuantKind> kind_from_name(std::string_view name) {
  for (QuantKind k :
       {QuantKind::f32, QuantKind::f16, QuantKind::bf16, QuantKind::affine_int, QuantKind::nf4,
        QuantKind::fp8_e4m3, QuantKind::fp8_e5m2, QuantKind::iq4_nl, QuantKind::trellis})
    if (kind_name(k) == name) return k;
  return std::nullopt;
}

// Dense kinds are stored under their own dtype; every other kind as codes + scales.
std::optional<DType> dense_dtype(QuantKind kind) {
  const bool dense = kind == QuantKind::f32 || kind == QuantKind::f16 || kind == QuantKind::bf16;
  return dense ? element_dtype(kind) : std::nullopt;
}

// Shape of the scales / zeros of a quantized tensor: [rows, groups_per_row], or [1]; a k-quant's
// super-block scale bytes are [rows, bytes per row].
Shape scale_shape(const QuantizedTensor& t) {
  if (t.format.group_size == kPerTensor) return {1};
  if (t.format.k_quant) return {t.rows(), static_cast<int64_t>(t.scales.size()) / t.rows()};
  return {t.rows(), t.groups_per_row()};
}

json tensor_entry(const QuantizedTensor& t) {
  json e{{"kind", kind_name(t.format.kind)},
         {"bits", t.format.bits},
         {"group_size", t.format.group_size},
         {"symmetric", t.format.symmetric},
         {"scale_dtype", dtype_name(t.format.scale_dtype)},
         {"double_quant", t.format.double_quant},
         {"shape", t.shape},
         {"nested_offset", t.nested_offset}};
  // Written only when set, so checkpoints without it read as before.
  if (t.format.min_offset) e["min_offset"] = true;
  if (t.format.k_quant) e["k_quant"] = true;
  if (t.format.state_bits != 0) e["state_bits"] = t.format.state_bits;
  if (t.act.enabled())
    e["activations"] = json{{"kind", act_quant_name(t.act.kind)},
                            {"scale", t.act.scale},
                            {"threshold", t.act.threshold}};
  return e;
}

// The optional "activations" object of a tensor entry.
ActivationQuant parse_activations(const std::string& where, const json& a) {
  LB_CHECK_FORMAT(a.is_object(), where, ".activations: not a JSON object");
  ActivationQuant act;
  LB_CHECK_FORMAT(a.contains("kind") && a.at("kind").is_string(), where,
                  ".activations: \"kind\" must be a string");
  const auto kind = act_quant_from_name(a.at("kind").get<std::string>());
  LB_CHECK_FORMAT(kind.has_value(), where, ".activations: unknown kind '",
                  a.at("kind").get<std::string>(), "'");
  act.kind = *kind;
  for (const char* key : {"scale", "threshold"})
    LB_CHECK_FORMAT(a.contains(key) && a.at(key).is_number(), where, ".activations: \"", key,
                    "\" must be a number");
  act.scale = a.at("scale").get<float>();
  act.threshold = a.at("threshold").get<float>();
  return act;
}

// Reads one "tensors" entry of config.json into a format, shape and nested offset.
QuantizedTensor parse_tensor_entry(const std::string& where, const json& e) {
  LB_CHECK_FORMAT(e.is_object(), where, ": not a JSON object");
  auto field = [&](const char* key) -> const json& {
    LB_CHECK_FORMAT(e.contains(key), where, ": missing \"", key, "\"");
    return e.at(key);
  };
  auto integer = [&](const char* key) {
    const json& v = field(key);
    LB_CHECK_FORMAT(
        v.is_number_integer() && v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX,
        where, ": \"", key, "\" must be an integer");
    return v.get<int>();
  };
  auto boolean = [&](const char* key) {
    LB_CHECK_FORMAT(field(key).is_boolean(), where, ": \"", key, "\" must be true or false");
    return field(key).get<bool>();
  };
  auto string = [&](const char* key) {
    LB_CHECK_FORMAT(field(key).is_string(), where, ": \"", key, "\" must be a string");
    return field(key).get<std::string>();
  };
  QuantizedTensor t;
  const auto kind = kind_from_name(string("kind"));
  LB_CHECK_FORMAT(kind.has_value(), where, ": unknown kind '", string("kind"), "'");
  t.format.kind = *kind;
  t.format.bits = integer("bits");
  t.format.group_size = integer("group_size");
  t.format.symmetric = boolean("symmetric");
  const auto scale_dtype = dtype_from_name(string("scale_dtype"));
  LB_CHECK_FORMAT(scale_dtype.has_value(), where, ": unknown scale_dtype");
  t.format.scale_dtype = *scale_dtype;
  t.format.double_quant = boolean("double_quant");
  if (e.contains("min_offset")) t.format.min_offset = boolean("min_offset");
  if (e.contains("k_quant")) t.format.k_quant = boolean("k_quant");
  if (e.contains("state_bits")) t.format.state_bits = integer("state_bits");
  const json& shape = field("shape");
  LB_CHECK_FORMAT(shape.is_array() && !shape.empty() && shape.size() <= 4, where,
                  ": \"shape\" must have 1 to 4 dimensions");
  for (const json& d : shape) {
    LB_CHECK_FORMAT(
        d.is_number_unsigned() && d.get<uint64_t>() > 0 && d.get<uint64_t>() <= (uint64_t{1} << 40),
        where, ": bad dimension in \"shape\"");
    t.shape.push_back(d.get<int64_t>());
  }
  LB_CHECK_FORMAT(field("nested_offset").is_number(), where,
                  ": \"nested_offset\" must be a number");
  t.nested_offset = field("nested_offset").get<float>();
  if (e.contains("activations")) {
    t.act = parse_activations(where, e.at("activations"));
    try {
      validate_activation_quant(t.act, t.format, where);
    } catch (const InvalidArgument& err) {
      throw FormatError(err.what());
    }
  }
  return t;
}

}  // namespace

json read_config_json(const fs::path& path) {
  const std::string text = read_file(path);
  json config;
  try {
    config = json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(concat(path.string(), ": invalid JSON: ", e.what()));
  }
  LB_CHECK_FORMAT(config.is_object(), path.string(), ": not a JSON object");
  return config;
}

HfModel read_hf_directory(const fs::path& dir) {
  HfModel model;
  model.config = read_config_json(dir / kConfigFile);
  if (fs::exists(dir / kWeightsFile)) {
    model.tensors = read_safetensors_tensors(dir / kWeightsFile);
  } else if (fs::exists(dir / kIndexFile)) {
    model.tensors = read_safetensors_tensors(dir / kIndexFile);
  } else if (fs::exists(dir / "pytorch_model.bin") ||
             fs::exists(dir / "pytorch_model.bin.index.json")) {
    throw Unsupported(concat(dir.string(),
                             ": PyTorch .bin weights are not supported; convert "
                             "them to safetensors"));
  } else {
    throw FormatError(concat(dir.string(), ": no ", kWeightsFile, " or ", kIndexFile));
  }
  return model;
}

bool is_lowbit_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kConfigFile, ec)) return false;
  try {
    const json config = read_config_json(dir / kConfigFile);
    return config.contains("quantization") && config.at("quantization").is_object() &&
           config.at("quantization").contains("format_version");
  } catch (const Error&) {
    return false;
  }
}

void write_checkpoint(const fs::path& dir, const json& config, const json& quantization,
                      const TensorMap& tensors,
                      const std::function<void(const fs::path&)>& extra_files, bool replace) {
  LB_CHECK_ARG(config.is_object(), dir.string(), ": config must be a JSON object");
  LB_CHECK_ARG(quantization.is_object() || quantization.is_null(), dir.string(),
               ": quantization block must be a JSON object");
  json block = quantization.is_null() ? json::object() : quantization;
  block["format_version"] = kCheckpointFormatVersion;
  block["tensors"] = json::object();
  std::vector<SafetensorsWriteEntry> entries;
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    t.validate(name);
    if (t.format.kind != QuantKind::f32 || t.act.enabled())
      block["tensors"][name] = tensor_entry(t);
    if (const auto dtype = dense_dtype(t.format.kind)) {
      entries.push_back({name, *dtype, t.shape, t.codes.bytes()});
      continue;
    }
    LB_CHECK_ARG(std::isfinite(t.nested_offset), dir.string(), ": tensor '", name,
                 "': nested_offset is not finite");
    // Trellis codes are runs of column streams, not rows: one flat byte array.
    const Shape codes_shape = t.format.kind == QuantKind::trellis
                                  ? Shape{static_cast<int64_t>(t.codes.size())}
                                  : Shape{t.rows(), static_cast<int64_t>(t.row_bytes())};
    entries.push_back({name + ".codes", DType::u8, codes_shape, t.codes.bytes()});
    entries.push_back(
        {name + ".scales", stored_scale_dtype(t.format), scale_shape(t), t.scales.bytes()});
    if (t.format.has_zeros())
      entries.push_back({name + ".zeros", DType::f16, scale_shape(t), t.zeros.bytes()});
    if (t.format.double_quant)
      entries.push_back({name + ".nested_scales",
                         DType::f32,
                         {static_cast<int64_t>(t.nested_scales.size() / 4)},
                         t.nested_scales.bytes()});
  }
  json full = config;
  full["quantization"] = std::move(block);
  const std::string config_text = full.dump(2) + "\n";
  std::function<bool(const fs::path&)> may_replace;
  if (replace) may_replace = is_lowbit_checkpoint;
  write_directory_atomic(
      dir,
      [&](const fs::path& tmp) {
        write_file_atomic(tmp / kConfigFile, config_text);
        write_safetensors(tmp / kWeightsFile, entries);
        if (extra_files) extra_files(tmp);
      },
      may_replace);
}

Checkpoint read_checkpoint(const fs::path& dir) {
  const fs::path config_path = dir / kConfigFile;
  const std::string cfg = config_path.string();
  Checkpoint ck;
  ck.config = read_config_json(config_path);
  LB_CHECK_FORMAT(ck.config.contains("quantization") && ck.config.at("quantization").is_object(),
                  cfg, ": missing \"quantization\" object (not a lowbit checkpoint)");
  ck.quantization = ck.config.at("quantization");
  ck.config.erase("quantization");
  const json version = ck.quantization.value("format_version", json());
  LB_CHECK_FORMAT(version.is_number_integer(), cfg, ": quantization.format_version is missing");
  if (version.get<int64_t>() != kCheckpointFormatVersion)
    throw Unsupported(concat(cfg, ": checkpoint format_version ", version.dump(),
                             " is not supported (lowbit reads ", kCheckpointFormatVersion, ")"));
  const json described = ck.quantization.value("tensors", json::object());
  LB_CHECK_FORMAT(described.is_object(), cfg, ": quantization.tensors is not an object");
  ck.quantization.erase("format_version");
  ck.quantization.erase("tensors");

  const SafetensorsFile file = SafetensorsFile::open(dir / kWeightsFile);
  std::set<std::string> used;
  auto take = [&](const std::string& name, const std::string& part, DType dtype) {
    const std::string key = name + part;
    const SafetensorsEntry* e = file.find(key);
    LB_CHECK_FORMAT(e != nullptr, file.path(), ": missing tensor '", key, "'");
    LB_CHECK_FORMAT(e->dtype == dtype, file.path(), ": tensor '", key, "' is ",
                    dtype_name(e->dtype), ", expected ", dtype_name(dtype));
    used.insert(key);
    return file.buffer(*e);
  };
  std::vector<std::pair<std::string, QuantizedTensor>> loaded;
  for (const auto& [name, entry] : described.items()) {
    QuantizedTensor t = parse_tensor_entry(concat(cfg, ": quantization.tensors.", name), entry);
    if (const auto dtype = dense_dtype(t.format.kind)) {
      t.codes = take(name, "", *dtype);
      LB_CHECK_FORMAT(file.at(name).shape == t.shape, file.path(), ": tensor '", name,
                      "' has shape ", shape_string(file.at(name).shape), ", config.json says ",
                      shape_string(t.shape));
    } else {
      t.codes = take(name, ".codes", DType::u8);
      t.scales = take(name, ".scales", stored_scale_dtype(t.format));
      if (t.format.has_zeros()) t.zeros = take(name, ".zeros", DType::f16);
      if (t.format.double_quant) t.nested_scales = take(name, ".nested_scales", DType::f32);
    }
    try {
      t.validate(name);
    } catch (const FormatError& e) {
      throw FormatError(concat(file.path(), ": ", e.what()));
    }
    loaded.emplace_back(name, std::move(t));
  }
  for (const SafetensorsEntry& e : file.entries()) {
    if (used.count(e.name) != 0) continue;
    LB_CHECK_FORMAT(e.dtype == DType::f32, file.path(), ": tensor '", e.name, "' is ",
                    dtype_name(e.dtype), " but config.json does not describe it");
    loaded.emplace_back(e.name, file.dense_tensor(e));
  }
  add_in_natural_order(std::move(loaded), file, ck.tensors);
  return ck;
}

}  // namespace lowbit::io
