// Tests of study/report_page.h and study/summary.h on a hand-made summary: the page and summary.json render the typed
// claims, answers and tables (verdicts, intervals, mean ± std, dashes for missing numbers), with no run folder.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "smoothlab/study/report_page.h"
#include "smoothlab/study/summary.h"

namespace smoothlab::study {
namespace {

bool contains(const std::string& html, const std::string& part) {
  return html.find(part) != std::string::npos;
}

Evidence points(double estimate, double low, double high) {
  Evidence e;
  e.quantity = "Δ = acc(ε = 0.1) − acc(ε = 0)";
  e.unit = "points";
  e.scale = 100;
  e.threshold = -0.005;
  e.interval.estimate = estimate;
  e.interval.low = low;
  e.interval.high = high;
  e.interval.resamples = 200;
  e.resampled = "500 test examples, 1 seed, paired";
  return e;
}

StudySummary hand_made() {
  StudySummary s;
  s.preset.name = "handmade";
  s.preset.description = "two regimes & one claim";
  s.preset.teacher_regime = "short schedule: mlp, 2 epochs";
  s.preset.overconf_regime = "";
  s.data = "fashion-mnist";
  s.claims.push_back(
      {"accuracy_teacher",
       "[M] §1, Table 2",
       "Label smoothing does not hurt accuracy",
       "+0.2 points",
       "86.1% → 87.3%",
       Verdict::Held,
       "short schedule",
       "",
       points(0.012, 0.004, 0.020)});
  s.claims.push_back(
      {"label_noise",
       "[Lukasik 2020]",
       "Label smoothing helps under label noise",
       "+1 point",
       "no noisy runs",
       Verdict::NotTested,
       "label noise",
       "a <note>",
       std::nullopt});
  RegimeAnswer w;
  w.group = "teacher";
  w.description = "short schedule: mlp, 2 epochs";
  w.short_answer = "Label smoothing made the model under-confident here.";
  w.conclusion = "the long conclusion";
  EpsilonRow row;
  row.epsilon = 0.1;
  row.accuracy = 0.873;
  row.ece = 0.0321;
  row.nll = NAN; // missing: a dash
  w.rows.push_back(row);
  s.when.push_back(w);
  CalibRow c;
  c.group = "teacher";
  c.epsilon = 0.1;
  c.accuracy = {0.85, 0.01, 0.84, 0.86, 2};
  s.tables.calibration.push_back(c);
  s.tables.bootstrap.resamples = 200;
  s.figures["distillation"] = "figures/distillation.png";
  s.provenance.precision = model::Precision::Bf16;
  s.provenance.threads = 3;
  return s;
}

TEST(StudyReportPage, RendersTheTypedClaimsAnswersAndTables) {
  const auto html = render_report(hand_made(), "/nonexistent");
  EXPECT_TRUE(contains(html, "smoothlab study, handmade preset, fashion-mnist")) << html;
  EXPECT_TRUE(contains(html, "two regimes &amp; one claim"));
  // The first screen: the short answer, the board cell (verdict · Δ [interval]), a spanning cell for its own regime.
  EXPECT_TRUE(contains(html, "<b>short schedule (teachers).</b> Label smoothing made the model under-confident here."));
  EXPECT_TRUE(contains(html, "<td><span class=\"held\">held</span> +1.20 points [+0.40, +2.00]</td>"));
  EXPECT_TRUE(contains(html, "<td colspan=\"1\"><span class=\"untested\">not tested</span></td>"));
  // The claims table: the rule, the escaped note, "no interval" without evidence.
  EXPECT_TRUE(contains(html, "held if the 95% interval of Δ lies above -0.50 points")) << html;
  EXPECT_TRUE(contains(html, "<br><small>a &lt;note&gt;</small>"));
  EXPECT_TRUE(contains(html, "<td>no interval</td><td class=\"untested\">not tested</td>"));
  EXPECT_TRUE(contains(html, "(200 resamples, seed 0)"));
  // The regime table: accuracy in percent, ECE to 4 decimals, a dash for the missing NLL.
  EXPECT_TRUE(contains(html, "<td>87.30%</td><td>0.0321</td><td>—</td>")) << html;
  // Mean ± std over seeds, and n.
  EXPECT_TRUE(contains(html, "<td>85.00 ± 1.00%</td><td>2</td>"));
  // Figures: missing ones say so; provenance from the typed fields.
  EXPECT_TRUE(contains(html, "figure not available: ece_nll_vs_eps"));
  EXPECT_TRUE(contains(html, "<th scope=\"row\">precision</th><td>bf16</td>"));
  EXPECT_TRUE(contains(html, "<th scope=\"row\">threads</th><td>3</td>"));
  EXPECT_TRUE(contains(html, "This preset has no distillation runs."));
}

TEST(StudySummaryJson, WritesTheSameTypes) {
  const auto s = hand_made();
  const auto j = nlohmann::json::parse(to_json(s).dump()); // as summary.json holds it: NaN written as null
  ASSERT_EQ(j["claims"].size(), 2u);
  EXPECT_EQ(j["claims"][0]["verdict"], "held");
  EXPECT_EQ(j["claims"][0]["evidence"]["text"], "+1.20 points [+0.40, +2.00]");
  EXPECT_TRUE(j["claims"][1]["evidence"].is_null());
  EXPECT_EQ(j["when"][0]["short_answer"], s.when[0].short_answer);
  EXPECT_TRUE(j["when"][0]["rows"][0]["nll"].is_null());
  EXPECT_EQ(j["figures"]["distillation"], "figures/distillation.png");
  EXPECT_EQ(j["regimes"]["overconf"], "");
  EXPECT_EQ(j["regimes"]["transfer"], ""); // the preset trains no transfer regime
  EXPECT_EQ(j["provenance"]["precision"], "bf16");
  EXPECT_EQ(j["bootstrap"]["resamples"], 200);
  EXPECT_EQ(j["tables"]["calibration"][0]["accuracy"]["n"], 2);
  EXPECT_DOUBLE_EQ(j["tables"]["calibration"][0]["accuracy"]["std"].get<double>(), 0.01);
}

} // namespace
} // namespace smoothlab::study
