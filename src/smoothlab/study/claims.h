// The claims of [M] (and [G]) checked against a study's tables: a pure function of the tables, so each verdict rule
// can be tested on hand-made numbers on either side of its boundary (tests/study/claims_test.cpp).
//
// Rules (noise: se = sqrt(2·a·(1 − a) / (n_test · seeds)) for an accuracy a, the standard error of a difference of
// two accuracies on n_test images per run):
//   accuracy_<group>            held when acc(ε) − acc(0) ≥ −2·se
//   overconfident_<group>       held when the fitted T > 1 and the mean confidence exceeds the accuracy (ε = 0)
//   temperature_scaling_<group> held when ECE at the fitted T < ECE at T = 1 (ε = 0)
//   ls_calibrates_<group>       held when ECE(ε) < ECE(0)
//   ls_vs_ts_<group>            the ε with the lowest validation ECE: held when its test ECE ≤ max(1.5·ECE_TS,
//                               ECE_TS + 0.01)
//   projection_<kind>           held when the smoothed run's training clusters are tighter; not tested without a
//                               comparison
//   distill_hard_teacher        held when the best hard-teacher student ≥ the best smoothed-teacher student − 2·se
//   distill_vs_direct           held when the ε-teacher's student ≤ the student trained with ε directly + 2·se
//   mi_falls                    held when the final Î with ε is below the final Î without
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/study/tables.h"

namespace smoothlab::study {

enum class Verdict { Held, NotHeld, NotTested };
const char* verdict_name(Verdict verdict); // "held" | "not held" | "not tested"

struct Claim {
  std::string id; // e.g. "accuracy_teacher"
  std::string source; // e.g. "[M] §1, Table 2"
  std::string claim; // the claim as the paper states it
  std::string paper; // the paper's numbers
  std::string measured; // this study's numbers
  Verdict verdict = Verdict::NotTested;
  std::string regime;
  std::string note;
};

std::vector<Claim> claims(const Tables& tables);

nlohmann::json to_json(const Claim& claim);

} // namespace smoothlab::study
