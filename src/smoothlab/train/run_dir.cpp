// The run folder's file names, readers and writers (run_dir.h).
#include "smoothlab/train/run_dir.h"

#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"

namespace smoothlab::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// f(), with a parse or conversion failure (nlohmann's exception or our Error) rethrown as one Error
// that begins with `where` (the file, and the line where there is one).
template <typename F>
auto rethrow_naming(const std::string& where, const char* hint, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    throw Error(fmt::format("{} ({})", where, e.what()), hint);
  } catch (const Error& e) {
    throw Error(fmt::format("{} ({})", where, e.what()), hint);
  }
}

// Reads `path` as JSON and converts it with `convert`; any failure is an Error naming the file.
template <typename T, typename F>
T read_record(const fs::path& path, const char* what, const char* hint, F convert) {
  if (!fs::exists(path))
    throw Error(fmt::format("{}: no such file ({})", path.string(), what), hint);
  return rethrow_naming(fmt::format("{}: unreadable {}", path.string(), what), hint, [&] {
    return convert(json::parse(read_file(path)));
  });
}

} // namespace

// ---- RunDir -----------------------------------------------------------------------------------------------------

std::string RunDir::name() const {
  return (dir_.filename().empty() ? dir_.parent_path() : dir_).filename().string();
}

fs::path RunDir::outputs_file(data::Split split, Output kind) const {
  const char* k = kind == Output::Logits ? "logits" : kind == Output::Labels ? "labels" : "features";
  return dir_ / (std::string(data::split_name(split)) + "_" + k + ".npy");
}

bool RunDir::has_config() const {
  return fs::exists(config_file());
}
bool RunDir::has_checkpoint() const {
  return fs::exists(checkpoint_file());
}

RunRecord RunDir::read_config() const {
  if (!fs::is_directory(dir_))
    throw Error(fmt::format("{}: no such run folder", dir_.string()), "create one with: smoothlab train --out DIR");
  if (!has_config())
    throw Error(
        fmt::format("{}: not a run folder (no config.json)", dir_.string()),
        "create one with: smoothlab train --out DIR");
  return read_record<RunRecord>(
      config_file(), "run configuration", "rerun with --force to start over", [](const json& j) {
        return j.get<RunRecord>();
      });
}

std::vector<EpochRecord> RunDir::read_metrics() const {
  std::vector<EpochRecord> records;
  const fs::path path = metrics_file();
  if (!fs::exists(path))
    return records;
  std::ifstream in(path);
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty())
      continue;
    records.push_back(rethrow_naming(
        fmt::format("{}:{}: unreadable epoch record", path.string(), line_number),
        "the file is rewritten atomically, so this is damage from outside: rerun with --force",
        [&] { return json::parse(line).get<EpochRecord>(); }));
  }
  return records;
}

EvalRecord RunDir::read_eval() const {
  return read_record<EvalRecord>(
      eval_file(), "evaluation", "evaluate the run again: smoothlab eval RUN_DIR", [](const json& j) {
        return j.get<EvalRecord>();
      });
}

CalibrationRecord RunDir::read_calibration() const {
  return read_record<CalibrationRecord>(
      calibration_file(), "calibration report", "evaluate the run again: smoothlab eval RUN_DIR", [](const json& j) {
        CalibrationRecord c;
        c.before = calib::metrics_from_json(j.at("before"));
        if (j.contains("after"))
          c.after = calib::metrics_from_json(j.at("after"));
        return c;
      });
}

void RunDir::write_config(const RunRecord& record) const {
  write_file_atomic(config_file(), json(record).dump(2) + "\n");
}

void RunDir::write_metrics(const std::vector<EpochRecord>& records) const {
  std::string text;
  for (const auto& r : records)
    text += json(r).dump() + "\n";
  write_file_atomic(metrics_file(), text);
}

void RunDir::write_eval(const EvalRecord& record) const {
  write_file_atomic(eval_file(), json(record).dump(2) + "\n");
}

void RunDir::write_calibration(const json& report) const {
  write_file_atomic(calibration_file(), report.dump(2) + "\n");
}

void RunDir::write_outputs(
    data::Split split,
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const torch::Tensor& features) const {
  data::write_npy(outputs_file(split, Output::Logits), logits);
  data::write_npy(outputs_file(split, Output::Labels), labels);
  if (features.defined())
    data::write_npy(outputs_file(split, Output::Features), features);
}

bool RunDir::evaluated(int64_t epochs) const {
  if (!fs::exists(eval_file()))
    return false;
  try {
    return read_eval().epochs_done >= epochs;
  } catch (const Error&) {
    return false; // a damaged eval.json is redone
  }
}

} // namespace smoothlab::train
