// SPDX-License-Identifier: MIT
#include "ptq/block_store.h"

#include <cstdio>
#include <set>

#include "io/checkpoint.h"
#include "util/atomic_file.h"
#include "util/check.h"
#include "util/error.h"
#include "util/log.h"

namespace lowbit::ptq {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = "manifest.json";
constexpr const char* kMarker = "lowbit_partial_run";

// The manifest's run, or null when `dir` holds no readable store manifest.
nlohmann::json manifest_run(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kManifest, ec)) return nullptr;
  const nlohmann::json m = nlohmann::json::parse(read_file(dir / kManifest), nullptr, false);
  if (!m.is_object() || !m.contains(kMarker) || !m.contains("run")) return nullptr;
  return m["run"];
}

bool is_block_entry(const fs::path& p) { return p.filename().string().rfind("block-", 0) == 0; }

}  // namespace

void BlockStore::check_location(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  LB_CHECK_ARG(fs::is_directory(dir, ec), dir.string(),
               " exists and is not a directory; it is where quantize keeps finished blocks of "
               "a calibration run: move it away");
  LB_CHECK_ARG(fs::is_empty(dir, ec) || !manifest_run(dir).is_null(), dir.string(),
               " exists and is not a lowbit partial-run directory (no ", kManifest,
               "); it is where quantize keeps finished blocks of a calibration run: move it "
               "away");
}

BlockStore::BlockStore(fs::path dir, nlohmann::json fingerprint)
    : dir_(std::move(dir)), fingerprint_(std::move(fingerprint)) {
  check_location(dir_);
  std::error_code ec;
  if (fs::exists(dir_, ec)) {
    const nlohmann::json run = manifest_run(dir_);
    if (!run.is_null() && run != fingerprint_) {
      log_warning(dir_.string(),
                  " holds blocks of a different run (other model files, scheme, calibration "
                  "windows or options); starting over");
      for (const auto& entry : fs::directory_iterator(dir_))
        if (is_block_entry(entry.path())) fs::remove_all(entry.path());
    }
  } else {
    fs::create_directories(dir_);
  }
  write_file_atomic(dir_ / kManifest,
                    nlohmann::json{{kMarker, 1}, {"run", fingerprint_}}.dump(2) + "\n");
}

fs::path BlockStore::block_dir(int64_t layer) const {
  char name[32];
  std::snprintf(name, sizeof name, "block-%04lld", static_cast<long long>(layer));
  return dir_ / name;
}

std::optional<StoredBlock> BlockStore::load(
    int64_t layer, const std::map<std::string, ExpectedTensor>& expected) const {
  const fs::path path = block_dir(layer);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const auto reject = [&](const std::string& why) -> std::optional<StoredBlock> {
    log_warning("not reusing ", path.string(), ": ", why, "; quantizing block ", layer, " again");
    std::error_code ignored;
    fs::remove_all(path, ignored);  // ours (a block-* entry of the store); save() rewrites it
    return std::nullopt;
  };
  try {
    io::Checkpoint ck = io::read_checkpoint(path);
    const nlohmann::json& q = ck.quantization;
    if (!q.is_object() || q.value("run", nlohmann::json()) != fingerprint_)
      return reject("it was written by a different run");
    if (q.value("block", int64_t{-1}) != layer) return reject("it holds another block");
    std::set<std::string> names(ck.tensors.names().begin(), ck.tensors.names().end());
    for (const auto& [name, want] : expected) {
      if (!names.count(name)) return reject(concat("tensor ", name, " is missing"));
      const QuantizedTensor& t = ck.tensors.at(name);
      if (t.shape != want.shape)
        return reject(concat("tensor ", name, " has shape ", shape_string(t.shape), ", expected ",
                             shape_string(want.shape)));
      if (t.format != want.format)
        return reject(concat("tensor ", name, " is stored in another format"));
      t.check_finite(name);
      names.erase(name);
    }
    if (!names.empty()) return reject(concat("unexpected tensor ", *names.begin()));
    StoredBlock block{std::move(ck.tensors), {}};
    for (const nlohmann::json& r : q.at("report"))
      block.report.push_back(layer_report_from_json(r));
    return block;
  } catch (const Error& e) {
    return reject(e.what());
  } catch (const nlohmann::json::exception& e) {
    return reject(concat("its report is malformed (", e.what(), ")"));
  }
}

void BlockStore::save(int64_t layer, const TensorMap& tensors,
                      const std::vector<LayerReport>& report) const {
  nlohmann::json reports = nlohmann::json::array();
  for (const LayerReport& r : report) reports.push_back(to_json(r));
  io::write_checkpoint(block_dir(layer), nlohmann::json{{"lowbit_block", layer}},
                       {{"run", fingerprint_}, {"block", layer}, {"report", reports}}, tensors, {},
                       /*replace=*/true);
}

}  // namespace lowbit::ptq
