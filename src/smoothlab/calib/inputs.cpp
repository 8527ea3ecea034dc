// Loading and validating user-supplied logits and labels (.npy, .csv); see inputs.h.
#include "smoothlab/calib/inputs.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"

namespace smoothlab::calib {

namespace fs = std::filesystem;

namespace {

bool has_extension(const fs::path& path, const char* ext) {
  auto e = path.extension().string();
  for (auto& c : e)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return e == ext;
}

bool parse_number(const std::string& field, double* out) {
  const char* begin = field.c_str();
  while (*begin == ' ' || *begin == '\t')
    ++begin;
  if (*begin == '\0')
    return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  while (*end == ' ' || *end == '\t' || *end == '\r')
    ++end;
  if (*end != '\0')
    return false;
  *out = v;
  return true;
}

// Rows of numbers from a CSV file; a first line that does not start with a number is a header.
std::vector<std::vector<double>> read_csv(const fs::path& path) {
  const std::string text = read_file(path);
  std::istringstream in(text);
  std::string line;
  std::vector<std::vector<double>> rows;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      continue;
    std::vector<double> row;
    std::string field;
    std::istringstream fields(line);
    bool ok = true;
    std::string bad;
    while (std::getline(fields, field, ',')) {
      double v = 0;
      if (!parse_number(field, &v)) {
        ok = false;
        bad = field;
        break;
      }
      row.push_back(v);
    }
    if (!ok) {
      if (rows.empty() && line_no == 1)
        continue; // header
      throw Error(fmt::format("{}:{}: '{}' is not a number", path.string(), line_no, bad));
    }
    if (!rows.empty() && row.size() != rows.front().size())
      throw Error(fmt::format(
          "{}:{}: {} values, earlier lines have {}", path.string(), line_no, row.size(), rows.front().size()));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string shape_of(const torch::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

} // namespace

torch::Tensor load_logits(const fs::path& path) {
  require_file(path, "logits");
  const std::string name = path.string();
  if (has_extension(path, ".csv")) {
    auto rows = read_csv(path);
    if (rows.empty())
      throw Error(fmt::format("{}: no logits (empty file)", name));
    const int64_t n = int64_t(rows.size()), k = int64_t(rows.front().size());
    auto out = torch::empty({n, k}, torch::kFloat64);
    auto* p = out.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        p[i * k + j] = rows[size_t(i)][size_t(j)];
    return out;
  }
  if (!has_extension(path, ".npy"))
    throw Error(
        fmt::format("{}: unknown logits format '{}'", name, path.extension().string()),
        "give a .npy (float32/float64 [N, K]) or a .csv (K numbers per line)");
  auto t = data::read_npy(path);
  if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kFloat64)
    throw Error(
        fmt::format("{}: logits must be float32 or float64, got {}", name, c10::toString(t.scalar_type())),
        "save them with numpy.save(path, logits.astype(numpy.float32))");
  return t;
}

torch::Tensor load_labels(const fs::path& path) {
  require_file(path, "labels");
  const std::string name = path.string();
  if (has_extension(path, ".csv")) {
    auto rows = read_csv(path);
    if (rows.empty())
      throw Error(fmt::format("{}: no labels (empty file)", name));
    if (rows.front().size() != 1)
      throw Error(fmt::format("{}: labels need one value per line, got {}", name, rows.front().size()));
    auto out = torch::empty({int64_t(rows.size())}, torch::kInt64);
    auto* p = out.data_ptr<int64_t>();
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = rows[i][0];
      if (!(std::floor(v) == v) || std::abs(v) > 9e15)
        throw Error(fmt::format("{}:{}: label {} is not an integer", name, i + 1, v));
      p[i] = int64_t(v);
    }
    return out;
  }
  if (!has_extension(path, ".npy"))
    throw Error(
        fmt::format("{}: unknown labels format '{}'", name, path.extension().string()),
        "give a .npy (int32/int64/uint8 [N]) or a .csv (one integer per line)");
  auto t = data::read_npy(path);
  if (t.is_floating_point() || t.scalar_type() == torch::kBool)
    throw Error(
        fmt::format(
            "{}: labels must be integers (int32, int64 or uint8), got {}", name, c10::toString(t.scalar_type())),
        "save class indices: numpy.save(path, labels.astype(numpy.int64))");
  if (t.dim() == 2 && t.size(1) == 1)
    t = t.squeeze(1);
  if (t.dim() != 1)
    throw Error(
        fmt::format("{}: labels must be a 1-D array [N], got shape {}", name, shape_of(t)),
        "give class indices, not one-hot rows: numpy.argmax(onehot, axis=1)");
  return t.to(torch::kInt64);
}

void check_logits(const torch::Tensor& logits, const std::string& name) {
  if (!logits.is_floating_point())
    throw Error(fmt::format("{}: logits must be floating point, got {}", name, c10::toString(logits.scalar_type())));
  if (logits.dim() != 2)
    throw Error(
        fmt::format("{}: logits must be a 2-D array [N, K], got shape {}", name, shape_of(logits)),
        logits.dim() == 1 ? "a 1-D array has no class dimension; reshape to [N, K]" : "");
  if (logits.size(0) == 0)
    throw Error(fmt::format("{}: no samples (N = 0)", name));
  if (logits.size(1) < 2)
    throw Error(
        fmt::format("{}: logits need K ≥ 2 classes, got K = {}", name, logits.size(1)),
        "a binary classifier's single logit z is the pair [0, z]");
  auto x = logits.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const auto scan = detail::scan_values(x.data_ptr<float>(), x.numel());
  if (!scan.finite) {
    auto bad = (~torch::isfinite(x)).any(1).nonzero();
    throw Error(
        fmt::format(
            "{}: logits contain NaN or Inf (first in row {}, {} rows affected)",
            name,
            bad.numel() ? bad[0][0].item<int64_t>() : -1,
            bad.size(0)),
        "check the model's outputs; a float64 value beyond float32's range counts as Inf here");
  }
  if (scan.min >= 0 && scan.max <= 1) {
    auto sums = x.sum(1, false, torch::kFloat64);
    if ((sums - 1).abs().max().item<double>() < 1e-3)
      throw Error(
          fmt::format("{}: these look like probabilities (values in [0, 1], rows sum to 1), not logits", name),
          "pass log-probabilities instead (numpy.log(p)); softmax(log p) = p");
  }
}

void check_labels(
    const torch::Tensor& labels,
    int64_t n,
    int64_t k,
    const std::string& name,
    const std::string& logits_name) {
  if (labels.is_floating_point() || labels.scalar_type() == torch::kBool)
    throw Error(fmt::format("{}: labels must be integers, got {}", name, c10::toString(labels.scalar_type())));
  if (labels.dim() != 1)
    throw Error(fmt::format("{}: labels must be [N], got shape {}", name, shape_of(labels)));
  if (labels.size(0) != n)
    throw Error(
        fmt::format("{}: {} labels, but {} has {} rows of logits", name, labels.size(0), logits_name, n),
        "logits and labels must come from the same samples, in the same order");
  if (n == 0)
    return;
  auto l = labels.to(torch::kInt64);
  const auto lo = l.min().item<int64_t>(), hi = l.max().item<int64_t>();
  if (lo < 0 || hi >= k) {
    const auto bad = ((l < 0) | (l >= k)).nonzero();
    const auto first = bad[0][0].item<int64_t>();
    throw Error(fmt::format(
        "{}: label {} at row {} is out of range [0, {}) ({} has K = {} classes)",
        name,
        l[first].item<int64_t>(),
        first,
        k,
        logits_name,
        k));
  }
}

LabeledLogits load_labeled_logits(const fs::path& logits_path, const fs::path& labels_path) {
  LabeledLogits out;
  out.logits = load_logits(logits_path);
  check_logits(out.logits, logits_path.string());
  out.labels = load_labels(labels_path);
  check_labels(out.labels, out.logits.size(0), out.logits.size(1), labels_path.string(), logits_path.string());
  return out;
}

} // namespace smoothlab::calib
