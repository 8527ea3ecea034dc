// The study's summary, typed: every number of the report with the claims, the answers per regime, the figures and
// provenance. summary.json is to_json of it and report.html render_report of it (report_page.h); the program writes
// summary.json and never reads it back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/model/precision.h"
#include "smoothlab/study/claims.h"
#include "smoothlab/study/figures.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/study/tables.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/records.h"

namespace smoothlab::study {

// Where and with what the study ran, and what this call did.
struct Provenance {
  std::string command_line;
  train::VersionInfo versions;
  std::string blas; // LibTorch's BLAS interface and the library it resolves to in this process
  struct Machine {
    std::string host, cpu, memory; // cpu and memory as /proc/cpuinfo's "model name" and /proc/meminfo's "MemTotal"
    int64_t cores = 0;
    bool cuda_available = false;
  } machine;
  int64_t threads = 0;
  train::Device device;
  model::Precision precision = model::Precision::Fp32;
  double seconds_this_call = 0;
  int64_t runs_reused = 0, runs_trained = 0;
  double estimated_minutes = 0; // the preset's cost model, on 2 idle cores
};

// The one-line description of each training regime of a preset; empty for a regime it does not train.
struct RegimeLines {
  std::string teacher, overconf, transfer, noisy;
};
RegimeLines regime_lines(const StudyPreset& preset);

struct StudySummary {
  StudyPreset preset;
  std::string data; // the data spec, e.g. "fashion-mnist"
  Tables tables;
  std::vector<Claim> claims; // claims(tables)
  std::string distillation_conclusion;
  std::vector<RegimeAnswer> when; // when_answers(tables, claims)
  std::string answer_beyond_regimes;
  FigurePaths figures;
  Provenance provenance;
};

nlohmann::json to_json(const Provenance& provenance);
// summary.json: to_json(tables)'s "runs", "tables", "projection" and "notes", beside "preset", "data", "regimes",
// "claims", "distillation_conclusion", "when", "answer_beyond_regimes", "figures", "bootstrap" and "provenance".
nlohmann::json to_json(const StudySummary& summary);

} // namespace smoothlab::study
