// AURC, E-AURC and logit normalisation against their authors' own code (tests/golden/selective_golden.json, made by
// scripts/golden/selective_golden.py, which records each repository and commit): FMFP's calc_aurc_eaurc (Zhu et al.,
// ECCV 2022) and Xia et al.'s (ICLR 2025) risk_coverage_curve + torch.trapz and notebook norm_logits.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/selective.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(CalibGolden, AurcMatchesFmfpAndXia) {
  std::ifstream in(golden_path("selective_golden.json"));
  const auto g = nlohmann::json::parse(in);
  for (const auto& c : g.at("cases")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto f = c["confidence"].get<std::vector<double>>();
    const auto y = c["correct"].get<std::vector<uint8_t>>();
    const auto m = calib::selective_metrics(calib::rank_scores(f), y);
    // No ties: FMFP's AURC is the definition (1/N) Σ e_i/i, summed in another order.
    EXPECT_NEAR(m.aurc, c["fmfp_aurc"].get<double>(), 1e-13);
    // FMFP's E-AURC subtracts the continuous oracle r + (1 − r)·ln(1 − r) (NaN at r = 1); ours the exact one.
    const double n = double(f.size()), r = m.errors / n;
    if (!c["fmfp_eaurc"].is_null()) {
      EXPECT_NEAR(m.e_aurc + m.oracle_aurc - (r + (1 - r) * std::log(1 - r)), c["fmfp_eaurc"].get<double>(), 1e-13);
    }
    EXPECT_NEAR(m.e_aurc, c["independent"]["eaurc_exact"].get<double>(), 1e-13);
    // Xia's curve starts at (0, 0) and is integrated by the trapezoid rule: AURC − r_N/(2N) (run in float64).
    EXPECT_NEAR(m.aurc - r / (2 * n), c["xia_aurc_float64"].get<double>(), 1e-13);
  }
}

TEST(CalibGolden, LogitNormalisationMatchesXia) {
  std::ifstream in(golden_path("selective_golden.json"));
  const auto l = nlohmann::json::parse(in).at("lognorm");
  const auto rows = l["logits"].get<std::vector<std::vector<double>>>();
  const auto y = l["correct"].get<std::vector<uint8_t>>();
  std::vector<float> z;
  for (const auto& row : rows)
    z.insert(z.end(), row.begin(), row.end());
  const auto n = int64_t(rows.size()), k = int64_t(rows[0].size());
  for (const auto& [p, want] : l["p"].items()) {
    SCOPED_TRACE("p = " + p);
    const auto kappa = calib::normalised_max_logit(z.data(), n, k, std::stod(p));
    const auto ref = want["confidence"].get<std::vector<double>>();
    for (size_t i = 0; i < ref.size(); ++i) // our logits are the float32 roundings of theirs
      ASSERT_NEAR(kappa[i], ref[i], 1e-6) << "row " << i;
    EXPECT_NEAR(calib::selective_metrics(calib::rank_scores(ref), y).aurc, want["fmfp_aurc"].get<double>(), 1e-13);
  }
}

} // namespace
} // namespace smoothlab::testing
