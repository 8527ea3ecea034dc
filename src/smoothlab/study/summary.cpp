// The study's summary and its summary.json (summary.h).
#include "smoothlab/study/summary.h"

namespace smoothlab::study {

using json = nlohmann::json;

RegimeLines regime_lines(const StudyPreset& preset) {
  return {
      preset.teacher_regime,
      preset.overconf_regime,
      preset.transfer.optimiser.epochs > 0 ? preset.transfer_regime : "",
      preset.noisy.optimiser.epochs > 0 ? preset.noisy_regime : ""};
}

json to_json(const Provenance& p) {
  json versions = train::to_json(p.versions);
  versions["blas"] = p.blas;
  return {
      {"command_line", p.command_line},
      {"versions", versions},
      {"machine",
       {{"host", p.machine.host},
        {"cpu", p.machine.cpu},
        {"cores", p.machine.cores},
        {"memory", p.machine.memory},
        {"cuda_available", p.machine.cuda_available}}},
      {"threads", p.threads},
      {"device", train::device_name(p.device)},
      {"precision", model::precision_name(p.precision)},
      {"study_seconds_this_call", p.seconds_this_call},
      {"runs_reused", p.runs_reused},
      {"runs_trained", p.runs_trained},
      {"estimated_minutes_on_2_idle_cores", p.estimated_minutes}};
}

json to_json(const StudySummary& s) {
  json j = to_json(s.tables);
  j["preset"] = to_json(s.preset);
  j["data"] = s.data;
  const auto regimes = regime_lines(s.preset);
  j["regimes"] = {
      {"teacher", regimes.teacher},
      {"overconf", regimes.overconf},
      {"transfer", regimes.transfer},
      {"noisy", regimes.noisy}};
  j["claims"] = json::array();
  for (const auto& c : s.claims)
    j["claims"].push_back(to_json(c));
  j["distillation_conclusion"] = s.distillation_conclusion;
  j["when"] = json::array();
  for (const auto& a : s.when)
    j["when"].push_back(to_json(a));
  j["answer_beyond_regimes"] = s.answer_beyond_regimes;
  j["figures"] = s.figures;
  const auto& b = s.tables.bootstrap;
  j["bootstrap"] = {{"resamples", b.resamples}, {"level", b.level}, {"seed", b.seed}, {"bins", b.bins}};
  j["provenance"] = to_json(s.provenance);
  return j;
}

} // namespace smoothlab::study
