// SPDX-License-Identifier: MIT
// compressed-tensors, GPTQ (v1) and AWQ (GEMM) writers and readers (see hf_quantized.h).
#include "io/hf_quantized.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.h"
#include "io/hf_names.h"
#include "io/safetensors.h"
#include "numerics/half.h"
#include "util/atomic_file.h"
#include "util/check.h"

namespace lowbit::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kGptqConfigFile = "quantize_config.json";
// AWQ GEMM: nibble i of a word holds output column 8c + kAwqOrder[i].
constexpr std::array<int, 8> kAwqOrder = {0, 2, 4, 6, 1, 3, 5, 7};

std::string module_of(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.size() - std::string_view(".weight").size());
}

bool is_linear_weight(const std::string& name, const QuantizedTensor& t) {
  return name.ends_with(".weight") && t.shape.size() == 2 && name != kEmbedTokens;
}

// Code i of a lowbit row (a little-endian bit stream of `bits`-bit codes).
uint32_t get_code(const uint8_t* row, size_t row_bytes, int64_t i, int bits) {
  const auto pos = static_cast<size_t>(i) * static_cast<size_t>(bits);
  const size_t byte = pos / 8;
  uint32_t v = row[byte];
  if (byte + 1 < row_bytes) v |= static_cast<uint32_t>(row[byte + 1]) << 8;
  return (v >> (pos % 8)) & ((1u << bits) - 1u);
}

void put_code(uint8_t* row, size_t row_bytes, int64_t i, int bits, uint32_t code) {
  const auto pos = static_cast<size_t>(i) * static_cast<size_t>(bits);
  const size_t byte = pos / 8;
  const uint32_t shifted = code << (pos % 8);
  row[byte] = static_cast<uint8_t>(row[byte] | (shifted & 0xffu));
  if (byte + 1 < row_bytes) row[byte + 1] = static_cast<uint8_t>(row[byte + 1] | (shifted >> 8));
}

// Writes value `v` (`bits` wide) at bit position `pos` of a stream of 32-bit words where word w
// is at words[w * stride].
void put_stream(uint32_t* words, size_t nwords, size_t stride, size_t pos, int bits, uint32_t v) {
  const size_t w = pos / 32;
  const size_t shift = pos % 32;
  words[w * stride] |= v << shift;
  if (shift + static_cast<size_t>(bits) > 32 && w + 1 < nwords)
    words[(w + 1) * stride] |= v >> (32 - shift);
}

uint32_t get_stream(const uint32_t* words, size_t nwords, size_t stride, size_t pos, int bits) {
  const size_t w = pos / 32;
  const size_t shift = pos % 32;
  uint64_t v = words[w * stride];
  if (w + 1 < nwords) v |= static_cast<uint64_t>(words[(w + 1) * stride]) << 32;
  return static_cast<uint32_t>(v >> shift) & ((1u << bits) - 1u);
}

// Integer zero-points of an asymmetric tensor ([rows, groups]); throws InvalidArgument naming
// the tensor and the first non-integer or out-of-range one.
std::vector<uint32_t> integer_zeros(const std::string& name, const QuantizedTensor& t,
                                    const std::string& layout, uint32_t lo) {
  LB_CHECK_ARG(!t.format.min_offset, "tensor ", name, ": ", format_name(t.format),
               " (w = d*q + m, llama.cpp's q4_1/q5_1) has no ", layout,
               " equivalent; the nearest is w", t.format.bits, "g32 (an integer zero-point)");
  const auto n = static_cast<size_t>(t.scale_count());
  std::vector<uint32_t> out(n);
  const uint32_t hi = (1u << t.format.bits) - 1u;
  const auto* z = t.zeros.as<uint16_t>();
  for (size_t i = 0; i < n; ++i) {
    const float v = f16_to_f32(z[i]);
    const bool ok = std::isfinite(v) && v == std::nearbyint(v) && v >= static_cast<float>(lo) &&
                    v <= static_cast<float>(hi);
    LB_CHECK_ARG(ok, "tensor ", name, ": zero-point ", v, " (entry ", i, ") is not an integer in [",
                 lo, ", ", hi, "], which ", layout,
                 " needs; use a symmetric scheme or --format lowbit");
    out[i] = static_cast<uint32_t>(v);
  }
  return out;
}

// Owned buffers the write entries point into.
struct Writer {
  std::vector<SafetensorsWriteEntry> entries;
  std::vector<Buffer> keep;

  uint8_t* add(const std::string& name, DType dtype, Shape shape) {
    const auto bytes = static_cast<size_t>(numel(shape)) * dtype_size(dtype);
    keep.push_back(Buffer::allocate(bytes));
    uint8_t* data = keep.back().mutable_data();
    std::memset(data, 0, bytes);
    entries.push_back({name, dtype, std::move(shape), {data, bytes}});
    return data;
  }
  void borrow(const std::string& name, DType dtype, Shape shape, const Buffer& b) {
    entries.push_back({name, dtype, std::move(shape), b.bytes()});
  }
};

// ---- compressed-tensors ----

const char* strategy(int group_size) {
  if (group_size == kPerChannel) return "channel";
  if (group_size == kPerTensor) return "tensor";
  return "group";
}

json ct_args(int bits, const char* type, bool symmetric, int group_size, bool dynamic) {
  return json{{"num_bits", bits},
              {"type", type},
              {"symmetric", symmetric},
              {"strategy", strategy(group_size)},
              {"group_size", group_size > 0 ? json(group_size) : json(nullptr)},
              {"dynamic", dynamic},
              {"actorder", nullptr},
              {"block_structure", nullptr},
              {"observer", "minmax"},
              {"observer_kwargs", json::object()}};
}

json ct_input_args(const ActivationQuant& act) {
  const char* type = act.is_fp8() ? "float" : "int";
  const bool token = act.kind == ActQuantKind::int8_token || act.kind == ActQuantKind::fp8_token;
  json a{{"num_bits", 8},         {"type", type},
         {"symmetric", true},     {"strategy", token ? "token" : "tensor"},
         {"group_size", nullptr}, {"dynamic", !act.is_static()},
         {"actorder", nullptr},   {"block_structure", nullptr},
         {"observer", "minmax"},  {"observer_kwargs", json::object()}};
  return a;
}

// The compressed-tensors format of one quantized linear weight; throws InvalidArgument naming
// the tensor (and the nearest scheme) when there is none.
std::string ct_format(const std::string& name, const QuantizedTensor& t) {
  const QuantFormat& f = t.format;
  const std::string where = concat("tensor ", name, " (", format_name(f), ")");
  LB_CHECK_ARG(is_linear_weight(name, t), where,
               ": only linear weights can be quantized in compressed-tensors (drop --embed)");
  LB_CHECK_ARG(f.kind != QuantKind::nf4 && f.kind != QuantKind::iq4_nl, where, ": ",
               kind_name(f.kind),
               " has no compressed-tensors equivalent; the nearest is an int4 group scheme "
               "(pack-quantized)");
  LB_CHECK_ARG(f.kind != QuantKind::fp8_e5m2, where,
               ": fp8 e5m2 has no compressed-tensors equivalent; the nearest is fp8 (e4m3, "
               "float-quantized)");
  LB_CHECK_ARG(f.kind != QuantKind::trellis, where,
               ": trellis codes have no compressed-tensors equivalent (lowbit runs them); the "
               "nearest is an int4 group scheme (pack-quantized)");
  LB_CHECK_ARG(t.act.kind != ActQuantKind::int8_outlier_split, where,
               ": the LLM.int8 outlier split has no compressed-tensors equivalent; the nearest "
               "is w8a8 (int-quantized)");
  if (f.kind == QuantKind::fp8_e4m3) {
    LB_CHECK_ARG(!t.act.enabled() || t.act.is_fp8(), where,
                 ": fp8 weights with int8 activations have no compressed-tensors equivalent");
    return "float-quantized";
  }
  LB_CHECK_ARG(f.kind == QuantKind::affine_int, where, ": not a quantized format");
  LB_CHECK_ARG(!f.k_quant, where,
               ": llama.cpp's two-level k-quant scales have no compressed-tensors equivalent; the "
               "nearest is an int4 group scheme (pack-quantized)");
  LB_CHECK_ARG(!t.act.is_fp8(), where,
               ": integer weights with fp8 activations have no compressed-tensors equivalent; "
               "the nearest is fp8-dynamic");
  if (f.group_size > 0)
    LB_CHECK_ARG(t.cols() % f.group_size == 0, where, ": ", t.cols(),
                 " input columns are not a multiple of the group size ", f.group_size,
                 " (compressed-tensors groups are whole); use a per-channel scheme");
  if (t.act.is_int8()) return "int-quantized";
  if (f.has_zeros() && !t.zeros.empty()) integer_zeros(name, t, "compressed-tensors", 0);
  return "pack-quantized";
}

json ct_scheme(const QuantizedTensor& t, const std::string& format) {
  const QuantFormat& f = t.format;
  json s{{"weights", nullptr},
         {"input_activations", nullptr},
         {"output_activations", nullptr},
         {"format", format}};
  if (format == "float-quantized")
    s["weights"] = ct_args(8, "float", true, f.group_size, false);
  else
    s["weights"] = ct_args(f.bits, "int", f.symmetric, f.group_size, false);
  if (t.act.enabled()) s["input_activations"] = ct_input_args(t.act);
  return s;
}

Shape ct_scale_shape(const QuantizedTensor& t) {
  if (t.format.group_size == kPerTensor) return {1};
  return {t.rows(), t.groups_per_row()};
}

DType scale_dtype_of(const QuantizedTensor& t) { return t.format.scale_dtype; }

void ct_write_tensor(Writer& w, const std::string& name, const QuantizedTensor& t,
                     const std::string& format, std::vector<std::unique_ptr<float>>& input_scales) {
  const std::string p = module_of(name);
  const int64_t rows = t.rows();
  const int64_t cols = t.cols();
  const size_t rb = t.row_bytes();
  w.borrow(p + ".weight_scale", scale_dtype_of(t), ct_scale_shape(t), t.scales);
  if (t.act.is_static()) {
    input_scales.push_back(std::make_unique<float>(t.act.scale));
    w.entries.push_back({p + ".input_scale",
                         DType::f32,
                         {1},
                         {reinterpret_cast<const uint8_t*>(input_scales.back().get()), 4}});
  }
  if (format == "float-quantized") {
    w.borrow(p + ".weight", DType::f8_e4m3, {rows, cols}, t.codes);
    return;
  }
  if (format == "int-quantized") {
    uint8_t* out = w.add(p + ".weight", DType::i8, {rows, cols});
    const uint8_t* in = t.codes.data();
    for (size_t i = 0; i < static_cast<size_t>(rows * cols); ++i) out[i] = in[i] ^ 0x80u;
    return;
  }
  // pack-quantized: the packed value q_ct + 2^(bits-1) is lowbit's unsigned code.
  const int bits = t.format.bits;
  const int64_t words = (cols * bits + 31) / 32;
  uint8_t* packed = w.add(p + ".weight_packed", DType::i32, {rows, words});
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(packed + static_cast<size_t>(r * words * 4), t.codes.data() + r * rb, rb);
  auto* shape = reinterpret_cast<int64_t*>(w.add(p + ".weight_shape", DType::i64, {2}));
  shape[0] = rows;
  shape[1] = cols;
  if (t.format.has_zeros()) {
    const std::vector<uint32_t> z = integer_zeros(name, t, "compressed-tensors", 0);
    const int64_t groups = t.format.group_size == kPerTensor ? 1 : t.groups_per_row();
    const int64_t zrows = t.format.group_size == kPerTensor ? 1 : rows;
    const int64_t zwords = (zrows * bits + 31) / 32;
    auto* zp = reinterpret_cast<uint32_t*>(
        w.add(p + ".weight_zero_point", DType::i32,
              t.format.group_size == kPerTensor ? Shape{1} : Shape{zwords, groups}));
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t r = 0; r < zrows; ++r)
        put_stream(zp + g, static_cast<size_t>(zwords), static_cast<size_t>(groups),
                   static_cast<size_t>(r * bits), bits, z[static_cast<size_t>(r * groups + g)]);
  }
}

// vLLM runs q/k/v as one fused linear and gate/up as another, each with one scheme, so the
// members of a fused group must share their format (mixed bit widths differ between groups).
void check_fused_groups_share_a_scheme(const TensorMap& tensors) {
  const std::pair<std::string_view, std::string_view> members[] = {
      {kKProj, kQProj}, {kVProj, kQProj}, {kUpProj, kGateProj}};
  for (const std::string& name : tensors.names()) {
    if (!name.starts_with("model.layers.")) continue;
    for (const auto& [member, first] : members) {
      if (!name.ends_with(member)) continue;
      const std::string lead = name.substr(0, name.size() - member.size()) + std::string(first);
      if (!tensors.contains(lead)) continue;
      const QuantizedTensor &t = tensors.at(name), &l = tensors.at(lead);
      LB_CHECK_ARG(t.format == l.format && t.act.kind == l.act.kind, "tensor ", name, " (",
                   format_name(t.format), "): vLLM fuses it with ", lead, " (",
                   format_name(l.format),
                   ") into one layer of one scheme; give q/k/v (and gate/up) the same scheme");
    }
  }
}

json ct_config(const TensorMap& tensors, std::map<std::string, std::string>& format_of) {
  std::map<std::string, std::pair<json, std::vector<std::string>>> groups;  // by scheme dump
  std::vector<std::string> dense_linear;
  std::set<std::string> formats;
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    if (t.format.is_dense()) {
      LB_CHECK_ARG(!t.act.enabled(), "tensor ", name,
                   ": dense weights with quantized activations have no compressed-tensors "
                   "equivalent");
      if (is_linear_weight(name, t) && name.starts_with("model.layers."))
        dense_linear.push_back(module_of(name));
      else if (name == kLmHead)
        dense_linear.push_back("lm_head");
      continue;
    }
    const std::string format = ct_format(name, t);
    format_of[name] = format;
    formats.insert(format);
    json scheme = ct_scheme(t, format);
    auto& g = groups[scheme.dump()];
    g.first = std::move(scheme);
    g.second.push_back(module_of(name));
  }
  LB_CHECK_ARG(!groups.empty(),
               "no quantized linear weight to write in compressed-tensors (give a --scheme)");
  check_fused_groups_share_a_scheme(tensors);
  // As llm-compressor writes it: lm_head stays out of "Linear" unless quantized (a tied head too,
  // which engines may build as a linear).
  if (!tensors.contains(std::string(kLmHead)) ||
      tensors.at(std::string(kLmHead)).format.is_dense()) {
    if (std::find(dense_linear.begin(), dense_linear.end(), "lm_head") == dense_linear.end())
      dense_linear.push_back("lm_head");
  }
  json config_groups = json::object();
  int i = 0;
  for (auto& [key, g] : groups) {
    json scheme = g.first;
    // One scheme: every Linear except the dense ones; several: explicit module names.
    scheme["targets"] = groups.size() == 1 ? json::array({"Linear"}) : json(g.second);
    if (formats.size() == 1) scheme.erase("format");
    config_groups[concat("group_", i++)] = std::move(scheme);
  }
  return json{{"quant_method", "compressed-tensors"},
              {"format", formats.size() == 1 ? *formats.begin() : std::string("mixed-precision")},
              {"quantization_status", "compressed"},
              {"config_groups", std::move(config_groups)},
              {"ignore", groups.size() == 1 ? json(dense_linear) : json::array()},
              {"kv_cache_scheme", nullptr},
              {"global_compression_ratio", nullptr}};
}

// ---- GPTQ / AWQ ----

// The one affine format every quantized linear weight shares; throws InvalidArgument naming
// the first tensor that does not fit `layout`.
QuantFormat gptq_awq_format(HfQuantLayout layout, const TensorMap& tensors) {
  const bool awq = layout == HfQuantLayout::awq;
  const std::string lname = hf_quant_layout_name(layout);
  std::optional<QuantFormat> shared;
  std::string first;
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    const QuantFormat& f = t.format;
    const std::string where = concat("tensor ", name, " (", format_name(f), ")");
    const bool layer_linear = is_linear_weight(name, t) && name.starts_with("model.layers.");
    if (f.is_dense()) {
      LB_CHECK_ARG(!layer_linear, where, ": ", lname,
                   " quantizes every linear layer of the blocks; this one is dense");
      continue;
    }
    LB_CHECK_ARG(layer_linear, where, ": ", lname,
                 " holds quantized block linears only (leave --head and --embed unquantized)");
    LB_CHECK_ARG(f.kind == QuantKind::affine_int && !f.k_quant && !t.act.enabled(), where, ": ",
                 lname, " holds integer weight-only schemes; the nearest is an int4 group scheme",
                 awq ? "" : " (or --format compressed-tensors)");
    if (awq) {
      LB_CHECK_ARG(f.bits == 4 && f.group_size > 0, where,
                   ": awq holds 4-bit group schemes only; the nearest is an int4 group scheme");
      LB_CHECK_ARG(t.rows() % 8 == 0, where, ": ", t.rows(),
                   " output rows are not a multiple of 8, which awq packs");
    } else {
      LB_CHECK_ARG((f.bits == 2 || f.bits == 4 || f.bits == 8) && f.group_size != kPerTensor, where,
                   ": gptq holds 2/4/8-bit group or per-channel schemes; the nearest is an int4 "
                   "group scheme");
      LB_CHECK_ARG((t.cols() * f.bits) % 32 == 0 && (t.rows() * f.bits) % 32 == 0, where, ": ",
                   t.rows(), "x", t.cols(), " is not whole 32-bit words of ", f.bits,
                   "-bit codes, which gptq packs");
    }
    if (f.group_size > 0)
      LB_CHECK_ARG(t.cols() % f.group_size == 0, where, ": ", t.cols(),
                   " input columns are not a multiple of the group size ", f.group_size);
    LB_CHECK_ARG(f.scale_dtype == DType::f16, where, ": ", lname, " stores f16 scales");
    if (f.has_zeros() && !t.zeros.empty()) integer_zeros(name, t, lname, awq ? 0 : 1);
    if (!shared) {
      shared = f;
      first = name;
    }
    LB_CHECK_ARG(f == *shared, where, ": ", lname, " holds one scheme for all layers; ", first,
                 " is ", format_name(*shared));
  }
  LB_CHECK_ARG(shared.has_value(), "no quantized linear weight to write in ", lname,
               " (give a --scheme)");
  return *shared;
}

uint32_t zero_of(const QuantizedTensor& t, const std::vector<uint32_t>& zeros, size_t i) {
  return t.format.has_zeros() ? zeros[i] : (1u << (t.format.bits - 1));
}

void gptq_write_tensor(Writer& w, const std::string& name, const QuantizedTensor& t) {
  const std::string p = module_of(name);
  const int bits = t.format.bits;
  const int per = 32 / bits;
  const int64_t out = t.rows();
  const int64_t in = t.cols();
  const int64_t groups = t.groups_per_row();
  const size_t rb = t.row_bytes();
  const uint32_t mask = (1u << bits) - 1u;
  std::vector<uint32_t> zeros;
  if (t.format.has_zeros()) zeros = integer_zeros(name, t, "gptq", 1);
  auto* qweight = reinterpret_cast<uint32_t*>(w.add(p + ".qweight", DType::i32, {in / per, out}));
  for (int64_t n = 0; n < out; ++n) {
    const uint8_t* row = t.codes.data() + n * static_cast<int64_t>(rb);
    for (int64_t k = 0; k < in; ++k)
      qweight[(k / per) * out + n] |= get_code(row, rb, k, bits) << (bits * (k % per));
  }
  auto* qzeros = reinterpret_cast<uint32_t*>(w.add(p + ".qzeros", DType::i32, {groups, out / per}));
  auto* scales = reinterpret_cast<uint16_t*>(w.add(p + ".scales", DType::f16, {groups, out}));
  const auto* s = t.scales.as<uint16_t>();
  for (int64_t n = 0; n < out; ++n)
    for (int64_t g = 0; g < groups; ++g) {
      const auto i = static_cast<size_t>(n * groups + g);
      // v1 convention: the stored zero-point is zero - 1.
      qzeros[g * (out / per) + n / per] |= ((zero_of(t, zeros, i) - 1u) & mask)
                                           << (bits * (n % per));
      scales[g * out + n] = s[i];
    }
  auto* g_idx = reinterpret_cast<int32_t*>(w.add(p + ".g_idx", DType::i32, {in}));
  for (int64_t k = 0; k < in; ++k)
    g_idx[k] = t.format.group_size > 0 ? static_cast<int32_t>(k / t.format.group_size) : 0;
}

void awq_write_tensor(Writer& w, const std::string& name, const QuantizedTensor& t) {
  const std::string p = module_of(name);
  const int64_t out = t.rows();
  const int64_t in = t.cols();
  const int64_t groups = t.groups_per_row();
  const size_t rb = t.row_bytes();
  std::vector<uint32_t> zeros;
  if (t.format.has_zeros()) zeros = integer_zeros(name, t, "awq", 0);
  auto* qweight = reinterpret_cast<uint32_t*>(w.add(p + ".qweight", DType::i32, {in, out / 8}));
  auto* qzeros = reinterpret_cast<uint32_t*>(w.add(p + ".qzeros", DType::i32, {groups, out / 8}));
  auto* scales = reinterpret_cast<uint16_t*>(w.add(p + ".scales", DType::f16, {groups, out}));
  const auto* s = t.scales.as<uint16_t>();
  for (int64_t c = 0; c < out / 8; ++c)
    for (int nib = 0; nib < 8; ++nib) {
      const int64_t n = 8 * c + kAwqOrder[static_cast<size_t>(nib)];
      const uint8_t* row = t.codes.data() + n * static_cast<int64_t>(rb);
      for (int64_t k = 0; k < in; ++k)
        qweight[k * (out / 8) + c] |= get_code(row, rb, k, 4) << (4 * nib);
      for (int64_t g = 0; g < groups; ++g) {
        const auto i = static_cast<size_t>(n * groups + g);
        qzeros[g * (out / 8) + c] |= zero_of(t, zeros, i) << (4 * nib);
        scales[g * out + n] = s[i];
      }
    }
}

json gptq_config(const QuantFormat& f) {
  return json{{"quant_method", "gptq"},
              {"bits", f.bits},
              {"group_size", f.group_size > 0 ? f.group_size : -1},
              {"desc_act", false},
              {"sym", f.symmetric},
              {"damp_percent", 0.01},
              {"static_groups", false},
              {"true_sequential", true},
              {"checkpoint_format", "gptq"}};
}

json awq_config(const QuantFormat& f) {
  return json{{"quant_method", "awq"},      {"zero_point", true},
              {"group_size", f.group_size}, {"bits", 4},
              {"version", "gemm"},          {"modules_to_not_convert", nullptr}};
}

// ---- reading ----

struct Reader {
  const SafetensorsFile& file;
  std::set<std::string> used;

  const SafetensorsEntry& take(const std::string& key) {
    const SafetensorsEntry* e = file.find(key);
    LB_CHECK_FORMAT(e != nullptr, file.path(), ": missing tensor '", key, "'");
    used.insert(key);
    return *e;
  }
  const SafetensorsEntry& take(const std::string& key, DType dtype, const Shape& shape) {
    const SafetensorsEntry& e = take(key);
    LB_CHECK_FORMAT(e.dtype == dtype, file.path(), ": tensor '", key, "' is ", dtype_name(e.dtype),
                    ", expected ", dtype_name(dtype));
    LB_CHECK_FORMAT(e.shape == shape, file.path(), ": tensor '", key, "' has shape ",
                    shape_string(e.shape), ", expected ", shape_string(shape));
    return e;
  }
  Buffer bytes(const SafetensorsEntry& e) const { return file.buffer(e); }
};

int json_int(const json& obj, const char* key, const std::string& where) {
  LB_CHECK_FORMAT(obj.contains(key) && obj.at(key).is_number_integer(), where, ": \"", key,
                  "\" must be an integer");
  return obj.at(key).get<int>();
}

bool json_bool(const json& obj, const char* key, const std::string& where) {
  LB_CHECK_FORMAT(obj.contains(key) && obj.at(key).is_boolean(), where, ": \"", key,
                  "\" must be true or false");
  return obj.at(key).get<bool>();
}

std::string json_string(const json& obj, const char* key, const std::string& where) {
  LB_CHECK_FORMAT(obj.contains(key) && obj.at(key).is_string(), where, ": \"", key,
                  "\" must be a string");
  return obj.at(key).get<std::string>();
}

// f16 / f32 scales are kept; bf16 (exact in f32) is widened.
Buffer scales_as(const Reader& r, const SafetensorsEntry& e, DType& dtype) {
  if (e.dtype == DType::f16 || e.dtype == DType::f32) {
    dtype = e.dtype;
    return r.bytes(e);
  }
  LB_CHECK_FORMAT(e.dtype == DType::bf16, r.file.path(), ": tensor '", e.name, "' is ",
                  dtype_name(e.dtype), ", expected F16, BF16 or F32 scales");
  dtype = DType::f32;
  const size_t n = e.size / 2;
  Buffer out = Buffer::allocate(n * 4);
  const Buffer in = r.bytes(e);
  for (size_t i = 0; i < n; ++i) out.as_mutable<float>()[i] = bf16_to_f32(in.as<uint16_t>()[i]);
  return out;
}

Buffer f16_zeros(const std::vector<uint32_t>& z) {
  Buffer out = Buffer::allocate(z.size() * 2);
  for (size_t i = 0; i < z.size(); ++i)
    out.as_mutable<uint16_t>()[i] = f32_to_f16(static_cast<float>(z[i]));
  return out;
}

struct CtGroup {
  json scheme;
  std::string format;
};

int ct_group_size(const json& args, const std::string& where) {
  const std::string s = json_string(args, "strategy", where);
  if (s == "channel") return kPerChannel;
  if (s == "tensor") return kPerTensor;
  if (s == "group") {
    const int g = json_int(args, "group_size", where);
    LB_CHECK_FORMAT(g > 0, where, ": group_size must be positive");
    return g;
  }
  throw Unsupported(concat(where, ": weight strategy '", s, "' is not read by lowbit"));
}

ActivationQuant ct_activation(const json& args, const std::string& where) {
  ActivationQuant act;
  if (args.is_null()) return act;
  LB_CHECK_FORMAT(args.is_object(), where, ": input_activations must be an object or null");
  LB_CHECK_AS(Unsupported, json_int(args, "num_bits", where) == 8, where,
              ": only 8-bit input activations are read");
  const std::string type = json_string(args, "type", where);
  const std::string s = json_string(args, "strategy", where);
  const json dyn = args.value("dynamic", json(false));
  const bool dynamic = dyn.is_boolean() && dyn.get<bool>();
  if (type == "int" && s == "token" && dynamic) act.kind = ActQuantKind::int8_token;
  if (type == "int" && s == "tensor" && dynamic) act.kind = ActQuantKind::int8_tensor_dynamic;
  if (type == "int" && s == "tensor" && !dynamic) act.kind = ActQuantKind::int8_tensor_static;
  if (type == "float" && s == "token" && dynamic) act.kind = ActQuantKind::fp8_token;
  if (type == "float" && s == "tensor" && !dynamic) act.kind = ActQuantKind::fp8_tensor_static;
  LB_CHECK_AS(Unsupported, act.enabled(), where, ": input activations ", type, " ", s,
              dynamic ? " dynamic" : " static", " are not read by lowbit");
  return act;
}

float read_input_scale(Reader& r, const std::string& p) {
  const SafetensorsEntry& e = r.take(p + ".input_scale");
  LB_CHECK_FORMAT(numel(e.shape) == 1, r.file.path(), ": tensor '", e.name,
                  "' must hold one value");
  const Buffer b = r.bytes(e);
  if (e.dtype == DType::f32) return b.as<float>()[0];
  if (e.dtype == DType::f16) return f16_to_f32(b.as<uint16_t>()[0]);
  LB_CHECK_FORMAT(e.dtype == DType::bf16, r.file.path(), ": tensor '", e.name,
                  "' must be F32, F16 or BF16");
  return bf16_to_f32(b.as<uint16_t>()[0]);
}

// The config group whose targets cover module `p`.
const CtGroup& ct_group_for(const std::vector<CtGroup>& groups, const std::set<std::string>& ignore,
                            const std::string& p, const std::string& where) {
  for (const CtGroup& g : groups) {
    for (const json& target : g.scheme.at("targets")) {
      const std::string s = target.get<std::string>();
      if (s == p || (s == "Linear" && ignore.count(p) == 0)) return g;
    }
  }
  throw FormatError(concat(where, ": no config group targets module ", p));
}

void ct_read(Reader& r, const json& qc, const std::string& cfg,
             std::vector<std::pair<std::string, QuantizedTensor>>& loaded) {
  LB_CHECK_FORMAT(qc.contains("config_groups") && qc.at("config_groups").is_object(), cfg,
                  ": quantization_config.config_groups must be an object");
  const std::string top_format = qc.value("format", std::string("pack-quantized"));
  std::vector<CtGroup> groups;
  for (const auto& [key, scheme] : qc.at("config_groups").items()) {
    const std::string where = concat(cfg, ": quantization_config.config_groups.", key);
    LB_CHECK_FORMAT(
        scheme.is_object() && scheme.contains("targets") && scheme.at("targets").is_array(), where,
        ": \"targets\" must be a list");
    for (const json& target : scheme.at("targets")) {
      LB_CHECK_FORMAT(target.is_string(), where, ": targets must be strings");
      LB_CHECK_AS(Unsupported, !target.get<std::string>().starts_with("re:"), where,
                  ": regex target ", target.get<std::string>(), " is not read by lowbit");
    }
    CtGroup g{scheme, scheme.value("format", top_format)};
    groups.push_back(std::move(g));
  }
  std::set<std::string> ignore;
  for (const json& i : qc.value("ignore", json::array()))
    if (i.is_string()) ignore.insert(i.get<std::string>());
  std::vector<std::string> modules;
  for (const SafetensorsEntry& e : r.file.entries())
    if (e.name.ends_with(".weight_scale"))
      modules.push_back(e.name.substr(0, e.name.size() - std::string_view(".weight_scale").size()));
  for (const std::string& p : modules) {
    const std::string name = p + ".weight";
    const std::string where = concat(r.file.path(), ": module ", p);
    const CtGroup& g = ct_group_for(groups, ignore, p, where);
    const json wargs = g.scheme.value("weights", json());
    LB_CHECK_FORMAT(wargs.is_object(), where, ": its config group has no weights");
    const int bits = json_int(wargs, "num_bits", where);
    const std::string type = json_string(wargs, "type", where);
    const bool symmetric = json_bool(wargs, "symmetric", where);
    const int gs = ct_group_size(wargs, where);
    QuantizedTensor t;
    t.act = ct_activation(g.scheme.value("input_activations", json()), where);
    const SafetensorsEntry& se = r.take(p + ".weight_scale");
    DType sdt = DType::f32;
    t.scales = scales_as(r, se, sdt);
    if (g.format == "pack-quantized") {
      LB_CHECK_FORMAT(type == "int" && bits >= 2 && bits <= 8, where,
                      ": pack-quantized needs int weights of 2..8 bits");
      const SafetensorsEntry& shape_e = r.take(p + ".weight_shape", DType::i64, {2});
      const auto* dims = r.bytes(shape_e).as<int64_t>();
      LB_CHECK_FORMAT(dims[0] > 0 && dims[1] > 0, where, ": bad weight_shape");
      const int64_t rows = dims[0];
      const int64_t cols = dims[1];
      t.format = QuantFormat::affine(bits, gs, symmetric);
      t.format.scale_dtype = sdt;
      t.shape = {rows, cols};
      const int64_t words = (cols * bits + 31) / 32;
      const Buffer packed = r.bytes(r.take(p + ".weight_packed", DType::i32, {rows, words}));
      const size_t rb = t.row_bytes();
      Buffer codes = Buffer::allocate(rb * static_cast<size_t>(rows));
      for (int64_t row = 0; row < rows; ++row)
        std::memcpy(codes.mutable_data() + row * static_cast<int64_t>(rb),
                    packed.data() + row * words * 4, rb);
      t.codes = std::move(codes);
      if (!symmetric) {
        const int64_t groups_n = gs == kPerTensor ? 1 : t.groups_per_row();
        const int64_t zrows = gs == kPerTensor ? 1 : rows;
        const int64_t zwords = (zrows * bits + 31) / 32;
        const Buffer zb = r.bytes(r.take(p + ".weight_zero_point", DType::i32,
                                         gs == kPerTensor ? Shape{1} : Shape{zwords, groups_n}));
        std::vector<uint32_t> z(static_cast<size_t>(zrows * groups_n));
        for (int64_t gi = 0; gi < groups_n; ++gi)
          for (int64_t row = 0; row < zrows; ++row)
            z[static_cast<size_t>(row * groups_n + gi)] =
                get_stream(zb.as<uint32_t>() + gi, static_cast<size_t>(zwords),
                           static_cast<size_t>(groups_n), static_cast<size_t>(row * bits), bits);
        t.zeros = f16_zeros(z);
      }
    } else if (g.format == "int-quantized" || g.format == "naive-quantized") {
      LB_CHECK_FORMAT(type == "int" && bits == 8 && symmetric, where, ": ", g.format,
                      " is read for int8 symmetric weights only");
      const SafetensorsEntry& we = r.take(name);
      LB_CHECK_FORMAT(we.dtype == DType::i8 && we.shape.size() == 2, where,
                      ": weight must be a 2-D I8 tensor");
      t.format = QuantFormat::affine(8, gs, true);
      t.format.scale_dtype = sdt;
      t.shape = we.shape;
      Buffer codes = Buffer::allocate(we.size);
      for (size_t i = 0; i < we.size; ++i) codes.mutable_data()[i] = we.data[i] ^ 0x80u;
      t.codes = std::move(codes);
    } else if (g.format == "float-quantized") {
      LB_CHECK_FORMAT(type == "float" && bits == 8, where,
                      ": float-quantized is read for fp8 e4m3 weights");
      const SafetensorsEntry& we = r.take(name);
      LB_CHECK_FORMAT(we.dtype == DType::f8_e4m3 && we.shape.size() == 2, where,
                      ": weight must be a 2-D F8_E4M3 tensor");
      t.format = QuantFormat::fp8(QuantKind::fp8_e4m3, gs);
      t.shape = we.shape;
      t.codes = r.bytes(we);
      if (sdt == DType::f16) {
        Buffer wide = Buffer::allocate(t.scales.size() * 2);
        for (size_t i = 0; i < t.scales.size() / 2; ++i)
          wide.as_mutable<float>()[i] = f16_to_f32(t.scales.as<uint16_t>()[i]);
        t.scales = std::move(wide);
      }
    } else {
      throw Unsupported(
          concat(where, ": compressed-tensors format '", g.format, "' is not read by lowbit"));
    }
    const Shape expect_scale = gs == kPerTensor ? Shape{1} : Shape{t.rows(), t.groups_per_row()};
    LB_CHECK_FORMAT(se.shape == expect_scale, where, ": weight_scale has shape ",
                    shape_string(se.shape), ", expected ", shape_string(expect_scale));
    if (t.act.is_static()) t.act.scale = read_input_scale(r, p);
    try {
      t.validate(name);
      validate_activation_quant(t.act, t.format, name);
    } catch (const Error& e) {
      throw FormatError(concat(r.file.path(), ": ", e.what()));
    }
    loaded.emplace_back(name, std::move(t));
  }
}

void gptq_awq_read(Reader& r, HfQuantLayout layout, const json& qc, const std::string& cfg,
                   std::vector<std::pair<std::string, QuantizedTensor>>& loaded) {
  const bool awq = layout == HfQuantLayout::awq;
  const std::string where_cfg = concat(cfg, ": quantization_config");
  const int bits = json_int(qc, qc.contains("bits") || !awq ? "bits" : "w_bit", where_cfg);
  const int group =
      json_int(qc, qc.contains("group_size") || !awq ? "group_size" : "q_group_size", where_cfg);
  bool symmetric = false;
  if (awq) {
    LB_CHECK_AS(Unsupported, bits == 4, where_cfg, ": awq bits ", bits, " is not read");
    LB_CHECK_AS(Unsupported, json_bool(qc, "zero_point", where_cfg), where_cfg,
                ": awq without zero_point is not read");
    const std::string version = qc.value("version", std::string("gemm"));
    LB_CHECK_AS(Unsupported, version == "gemm" || version == "GEMM", where_cfg, ": awq version '",
                version, "' is not read (lowbit reads gemm)");
    LB_CHECK_FORMAT(group > 0, where_cfg, ": group_size must be positive");
  } else {
    LB_CHECK_AS(Unsupported, bits == 2 || bits == 4 || bits == 8, where_cfg, ": gptq bits ", bits,
                " is not read (2, 4, 8)");
    symmetric = json_bool(qc, "sym", where_cfg);
    LB_CHECK_AS(Unsupported, !qc.value("desc_act", false), where_cfg,
                ": act-order (desc_act) is not read");
    const std::string cf = qc.value("checkpoint_format", std::string("gptq"));
    LB_CHECK_AS(Unsupported, cf == "gptq", where_cfg, ": checkpoint_format '", cf,
                "' is not read (lowbit reads gptq v1)");
    LB_CHECK_FORMAT(group > 0 || group == -1, where_cfg, ": group_size must be positive or -1");
  }
  const uint32_t mask = (1u << bits) - 1u;
  const int per = 32 / bits;
  for (const SafetensorsEntry& qe : r.file.entries()) {
    if (!qe.name.ends_with(".qweight")) continue;
    const std::string p = qe.name.substr(0, qe.name.size() - std::string_view(".qweight").size());
    const std::string name = p + ".weight";
    const std::string where = concat(r.file.path(), ": module ", p);
    LB_CHECK_FORMAT(qe.dtype == DType::i32 && qe.shape.size() == 2, where,
                    ": qweight must be a 2-D I32 tensor");
    const int64_t in = awq ? qe.shape[0] : qe.shape[0] * per;
    const int64_t out = awq ? qe.shape[1] * 8 : qe.shape[1];
    const int gs = group > 0 ? group : kPerChannel;
    LB_CHECK_FORMAT(gs == kPerChannel || in % gs == 0, where, ": ", in,
                    " input columns are not a multiple of group_size ", gs);
    const int64_t groups = gs == kPerChannel ? 1 : in / gs;
    r.used.insert(qe.name);
    const Buffer qw = r.bytes(qe);
    const Buffer sc = r.bytes(r.take(p + ".scales", DType::f16, {groups, out}));
    const Buffer qz =
        r.bytes(r.take(p + ".qzeros", DType::i32, {groups, awq ? out / 8 : out / per}));
    if (!awq) {
      const Buffer gi = r.bytes(r.take(p + ".g_idx", DType::i32, {in}));
      for (int64_t k = 0; k < in; ++k)
        LB_CHECK_AS(Unsupported, gi.as<int32_t>()[k] == (gs > 0 ? k / gs : 0), where,
                    ": g_idx is not k / group_size (act-order is not read)");
    }
    QuantizedTensor t;
    t.format = QuantFormat::affine(bits, gs, symmetric);
    t.shape = {out, in};
    const size_t rb = t.row_bytes();
    Buffer codes = Buffer::allocate(rb * static_cast<size_t>(out));
    std::memset(codes.mutable_data(), 0, codes.size());
    Buffer scales = Buffer::allocate(static_cast<size_t>(out * groups) * 2);
    std::vector<uint32_t> z(static_cast<size_t>(out * groups));
    const auto* w32 = qw.as<uint32_t>();
    const auto* z32 = qz.as<uint32_t>();
    for (int64_t n = 0; n < out; ++n) {
      uint8_t* row = codes.mutable_data() + n * static_cast<int64_t>(rb);
      // AWQ: column n sits in nibble position kAwqInverse[n % 8] of word n / 8.
      const int64_t awq_shift =
          4 * static_cast<int64_t>(std::find(kAwqOrder.begin(), kAwqOrder.end(), n % 8) -
                                   kAwqOrder.begin());
      for (int64_t k = 0; k < in; ++k) {
        const uint32_t q = awq ? (w32[k * (out / 8) + n / 8] >> awq_shift) & 15u
                               : (w32[(k / per) * out + n] >> (bits * (k % per))) & mask;
        put_code(row, rb, k, bits, q);
      }
      for (int64_t g = 0; g < groups; ++g) {
        const auto i = static_cast<size_t>(n * groups + g);
        scales.as_mutable<uint16_t>()[i] = sc.as<uint16_t>()[g * out + n];
        z[i] = awq ? (z32[g * (out / 8) + n / 8] >> awq_shift) & 15u
                   : ((z32[g * (out / per) + n / per] >> (bits * (n % per))) & mask) + 1u;
      }
    }
    t.codes = std::move(codes);
    t.scales = std::move(scales);
    const uint32_t mid = 1u << (bits - 1);
    const bool all_mid = std::all_of(z.begin(), z.end(), [mid](uint32_t v) { return v == mid; });
    if (symmetric) {
      LB_CHECK_FORMAT(all_mid, where, ": sym is true but a stored zero-point is not ", mid - 1);
    } else if (awq && all_mid) {
      // AWQ has no symmetric flag: zero-points that are all 2^(bits-1) read as symmetric.
      t.format.symmetric = true;
    } else {
      t.format.symmetric = false;
      t.zeros = f16_zeros(z);
    }
    try {
      t.validate(name);
    } catch (const Error& e) {
      throw FormatError(concat(r.file.path(), ": ", e.what()));
    }
    loaded.emplace_back(name, std::move(t));
  }
}

int64_t config_heads(const json& config, const char* key, int64_t fallback) {
  const json v = config.value(key, json());
  if (v.is_null()) return fallback;
  LB_CHECK_ARG(v.is_number_integer() && v.get<int64_t>() > 0, "config '", key,
               "' must be a positive integer");
  return v.get<int64_t>();
}

}  // namespace

QuantizedTensor rope_rows_to_half_split(const QuantizedTensor& t, int64_t heads,
                                        const std::string& name) {
  const int64_t rows = t.shape.size() == 1 ? t.shape[0] : t.rows();
  LB_CHECK_ARG(heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0, "tensor ", name, ": ",
               rows, " rows are not ", heads, " heads of an even head dimension");
  const int64_t hd = rows / heads;
  std::vector<int64_t> source(static_cast<size_t>(rows));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i) {
      source[static_cast<size_t>(h * hd + i)] = h * hd + 2 * i;
      source[static_cast<size_t>(h * hd + hd / 2 + i)] = h * hd + 2 * i + 1;
    }
  QuantizedTensor p = t;
  auto permute = [&](const Buffer& b, Buffer& out) {
    if (b.empty()) return;
    const size_t row = b.size() / static_cast<size_t>(rows);
    out = Buffer::allocate(b.size());
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(out.mutable_data() + static_cast<size_t>(r) * row,
                  b.data() + static_cast<size_t>(source[static_cast<size_t>(r)]) * row, row);
  };
  permute(t.codes, p.codes);
  // Per-tensor formats share one scale (and zero) for all rows: only the codes move.
  if (t.format.group_size != kPerTensor || t.format.is_dense()) {
    permute(t.scales, p.scales);
    permute(t.zeros, p.zeros);
  }
  return p;
}

TensorMap rope_tensors_to_half_split(const nlohmann::json& config, const TensorMap& tensors) {
  const int64_t heads = config_heads(config, "num_attention_heads", 0);
  const int64_t kv_heads = config_heads(config, "num_key_value_heads", heads);
  TensorMap out;
  for (const std::string& name : tensors.names()) {
    const bool q = name.ends_with(kQProj) || name.ends_with(kQBias);
    const bool k = name.ends_with(kKProj) || name.ends_with(kKBias);
    if (q || k)
      out.add(name, rope_rows_to_half_split(tensors.at(name), q ? heads : kv_heads, name));
    else
      out.add(name, tensors.at(name));
  }
  return out;
}

std::string hf_quant_layout_name(HfQuantLayout layout) {
  switch (layout) {
    case HfQuantLayout::compressed_tensors:
      return "compressed-tensors";
    case HfQuantLayout::gptq:
      return "gptq";
    case HfQuantLayout::awq:
      return "awq";
  }
  return "?";
}

void check_hf_quant_exportable(HfQuantLayout layout, const TensorMap& tensors) {
  if (layout == HfQuantLayout::compressed_tensors) {
    std::map<std::string, std::string> formats;
    ct_config(tensors, formats);
  } else {
    gptq_awq_format(layout, tensors);
  }
}

void write_hf_quantized(const fs::path& dir, HfQuantLayout layout, const json& config,
                        const TensorMap& source_tensors,
                        const std::function<void(const fs::path&)>& extra_files, bool replace) {
  LB_CHECK_ARG(config.is_object(), dir.string(), ": config must be a JSON object");
  // Serving engines rotate half-split q/k rows: adjacent-pair rows (GGUF, llama2.c sources) are
  // permuted, which moves whole rows of codes, scales and zero-points.
  const bool interleaved = config.value("lowbit_rope_interleaved", false);
  const TensorMap tensors =
      interleaved ? rope_tensors_to_half_split(config, source_tensors) : source_tensors;
  Writer w;
  std::vector<std::unique_ptr<float>> input_scales;
  json qc;
  std::map<std::string, std::string> ct_formats;
  if (layout == HfQuantLayout::compressed_tensors) {
    qc = ct_config(tensors, ct_formats);
  } else {
    const QuantFormat f = gptq_awq_format(layout, tensors);
    qc = layout == HfQuantLayout::gptq ? gptq_config(f) : awq_config(f);
  }
  for (const std::string& name : tensors.names()) {
    const QuantizedTensor& t = tensors.at(name);
    t.validate(name);
    if (t.format.is_dense()) {
      w.borrow(name, *element_dtype(t.format.kind), t.shape, t.codes);
      continue;
    }
    if (layout == HfQuantLayout::compressed_tensors)
      ct_write_tensor(w, name, t, ct_formats.at(name), input_scales);
    else if (layout == HfQuantLayout::gptq)
      gptq_write_tensor(w, name, t);
    else
      awq_write_tensor(w, name, t);
  }
  json full = config;
  full.erase("quantization");
  full["quantization_config"] = qc;
  full.erase("lowbit_rope_interleaved");
  const std::string config_text = full.dump(2) + "\n";
  std::function<bool(const fs::path&)> may_replace;
  if (replace)
    may_replace = [layout](const fs::path& p) { return detect_hf_quantized(p) == layout; };
  write_directory_atomic(
      dir,
      [&](const fs::path& tmp) {
        write_file_atomic(tmp / kConfigFile, config_text);
        if (layout == HfQuantLayout::gptq)
          write_file_atomic(tmp / kGptqConfigFile, qc.dump(2) + "\n");
        write_safetensors(tmp / kWeightsFile, w.entries);
        if (extra_files) extra_files(tmp);
      },
      may_replace);
}

std::optional<HfQuantLayout> detect_hf_quantized(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kConfigFile, ec)) return std::nullopt;
  try {
    const json config = read_config_json(dir / kConfigFile);
    const json qc = config.value("quantization_config", json());
    if (!qc.is_object()) return std::nullopt;
    const std::string method = qc.value("quant_method", std::string());
    for (HfQuantLayout l :
         {HfQuantLayout::compressed_tensors, HfQuantLayout::gptq, HfQuantLayout::awq})
      if (method == hf_quant_layout_name(l)) return l;
  } catch (const Error&) {
  }
  return std::nullopt;
}

HfQuantized read_hf_quantized(const fs::path& dir) {
  const fs::path config_path = dir / kConfigFile;
  const std::string cfg = config_path.string();
  HfQuantized out;
  out.config = read_config_json(config_path);
  LB_CHECK_FORMAT(out.config.contains("quantization_config") &&
                      out.config.at("quantization_config").is_object(),
                  cfg, ": missing \"quantization_config\" object");
  out.quantization_config = out.config.at("quantization_config");
  out.config.erase("quantization_config");
  const std::string method = out.quantization_config.value("quant_method", std::string());
  const std::optional<HfQuantLayout> layout = detect_hf_quantized(dir);
  LB_CHECK_AS(Unsupported, layout.has_value(), cfg, ": quant_method '", method,
              "' is not read by lowbit (compressed-tensors, gptq, awq)");
  out.layout = *layout;
  LB_CHECK_AS(Unsupported, fs::exists(dir / kWeightsFile), dir.string(), ": no ", kWeightsFile,
              " (sharded quantized checkpoints are not read)");
  const SafetensorsFile file = SafetensorsFile::open(dir / kWeightsFile);
  Reader r{file, {}};
  std::vector<std::pair<std::string, QuantizedTensor>> loaded;
  if (out.layout == HfQuantLayout::compressed_tensors)
    ct_read(r, out.quantization_config, cfg, loaded);
  else
    gptq_awq_read(r, out.layout, out.quantization_config, cfg, loaded);
  for (const SafetensorsEntry& e : file.entries()) {
    if (r.used.count(e.name) != 0) continue;
    loaded.emplace_back(e.name, file.dense_tensor(e));
  }
  add_in_natural_order(std::move(loaded), file, out.tensors);
  return out;
}

}  // namespace lowbit::io
