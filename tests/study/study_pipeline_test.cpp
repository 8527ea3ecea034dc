// The whole `smoothlab study` pipeline on the tiny preset (Fashion-MNIST, a few hundred examples, seconds):
// every run, summary.json, report.html; an interrupted study (in-process and a SIGKILLed CLI) continues without
// recomputing finished runs; the report opens in headless Chromium without console errors, with every image loaded
// and every table filled (skipped when /usr/bin/chromium is missing: add `chromium` to scripts/setup.sh); a study
// spread over job-array indices (StudyArray: no floating-point path of its own, so not in the suite's AVX2 pass).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/image_decode.h"
#include "smoothlab/study/study.h"
#include "support/support.h"

namespace smoothlab::study {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Interrupt {};

std::map<std::string, fs::file_time_type> checkpoint_times(const fs::path& runs) {
  std::map<std::string, fs::file_time_type> t;
  for (const auto& e : fs::directory_iterator(runs))
    if (fs::exists(e.path() / "checkpoint.safetensors"))
      t[e.path().filename().string()] = fs::last_write_time(e.path() / "checkpoint.safetensors");
  return t;
}

// One tiny study shared by the tests of this file (its folder lives until the process ends).
const fs::path& tiny_study() {
  static testing::TempDir dir;
  static bool done = false;
  if (!done) {
    run_study(StudyOptions().preset("tiny").data("fashion-mnist").out((dir / "study").string()).threads(2));
    done = true;
  }
  static const fs::path out = dir / "study";
  return out;
}

TEST(StudyPipeline, InterruptedStudyContinuesWithoutRecomputing) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  testing::TempDir tmp;
  const auto options = StudyOptions().preset("tiny").data("fashion-mnist").out((tmp / "s").string()).threads(2);
  const auto total = int64_t(make_plan(make_preset("tiny"), "fashion-mnist").size());
  ASSERT_GE(total, 6);
  // Interrupt after three runs are finished (as a kill between runs would).
  StudyHooks stop;
  int64_t finished = 0;
  stop.on_run_done = [&](const RunSpec&, bool) {
    if (++finished == 3)
      throw Interrupt{};
  };
  EXPECT_THROW(run_study(options, stop), Interrupt);
  EXPECT_FALSE(fs::exists(tmp / "s" / "report.html"));
  const auto before = checkpoint_times(tmp / "s" / "runs");
  ASSERT_EQ(before.size(), 3u);

  std::vector<std::pair<std::string, bool>> seen;
  StudyHooks record;
  record.on_run_done = [&](const RunSpec& r, bool reused) { seen.push_back({r.name, reused}); };
  auto result = run_study(options, record);
  EXPECT_EQ(result.runs_total, total);
  EXPECT_EQ(result.runs_reused, 3);
  EXPECT_EQ(result.runs_trained, total - 3);
  ASSERT_EQ(int64_t(seen.size()), total);
  for (int64_t i = 0; i < total; ++i)
    EXPECT_EQ(seen[i].second, i < 3) << seen[i].first;
  for (const auto& [name, time] : before)
    EXPECT_EQ(fs::last_write_time(tmp / "s" / "runs" / name / "checkpoint.safetensors"), time)
        << name << " was recomputed";
  // A third call trains nothing.
  result = run_study(options);
  EXPECT_EQ(result.runs_reused, total);
  EXPECT_EQ(result.runs_trained, 0);
}

TEST(StudyPipeline, SummaryHasEveryTableFigureAndClaim) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto out = tiny_study();
  const auto summary = json::parse(read_file(out / "summary.json"));
  const auto plan = make_plan(make_preset("tiny"), "fashion-mnist");
  ASSERT_EQ(summary["runs"].size(), plan.size());
  for (const auto& r : summary["runs"]) {
    const double acc = r["test"]["accuracy"];
    EXPECT_GT(acc, 0.12) << r["name"]; // 10 classes: chance is 0.1 (the tiny runs measured 0.21–0.71)
    EXPECT_LE(acc, 1.0);
    if (r["group"] == "transfer") { // the first 300 test images, of the 5 seen classes
      EXPECT_GT(r["test"]["count"].get<int64_t>(), 100) << r["name"];
      EXPECT_LT(r["test"]["count"].get<int64_t>(), 200) << r["name"];
    } else {
      EXPECT_EQ(r["test"]["count"], 300);
    }
    EXPECT_GT(r["temperature_scaled"]["temperature"].get<double>(), 0.0);
    // Selective classification: between the oracle and all-wrong, p chosen in 1..8 on validation.
    const auto& sc = r["selective"];
    EXPECT_GE(sc["e_aurc"].get<double>(), -1e-12) << r["name"];
    EXPECT_LE(sc["aurc"].get<double>(), 1.0);
    EXPECT_GE(sc["augrc"].get<double>(), 0.0);
    EXPECT_GE(sc["logit_norm"]["p"].get<int>(), 1);
    EXPECT_LE(sc["logit_norm"]["p"].get<int>(), 8);
    EXPECT_GE(sc["logit_norm"]["e_aurc"].get<double>(), -1e-12);
  }
  // Students record their teacher's γ; the ε = 0.1 teacher at T = 1 is smoother than the hard one at T = 1.
  double g_hard = -1, g_smooth = -1;
  for (const auto& r : summary["runs"])
    if (r["group"] == "student" && r["temperature"] == 1.0)
      (r["teacher_epsilon"] == 0.0 ? g_hard : g_smooth) = r["teacher_gamma"].get<double>();
  EXPECT_GT(g_hard, 0.0);
  EXPECT_GT(g_smooth, g_hard);
  // 2 ε × 2 regimes in the calibration table, each the one seed's run as its eval.json recorded it; MI logged for
  // both teachers.
  EXPECT_EQ(summary["tables"]["calibration"].size(), 4u);
  for (const auto& row : summary["tables"]["calibration"]) {
    EXPECT_EQ(row["ece"]["n"], 1);
    int matched = 0;
    for (const auto& r : summary["runs"])
      if (r["group"] == row["group"] && r["epsilon"] == row["epsilon"]) {
        ++matched;
        const auto eval = json::parse(read_file(out / "runs" / r["name"].get<std::string>() / "eval.json"));
        EXPECT_EQ(row["ece"]["mean"].get<double>(), eval["test"]["ece"].get<double>()) << row.dump();
        EXPECT_EQ(row["accuracy"]["mean"].get<double>(), eval["test"]["accuracy"].get<double>()) << row.dump();
      }
    EXPECT_EQ(matched, 1) << row.dump();
  }
  EXPECT_EQ(summary["tables"]["mutual_information"].size(), 2u);
  ASSERT_EQ(summary["tables"]["neural_collapse"].size(), 2u); // the ε = 0 and ε = 0.1 teachers
  for (const auto& c : summary["tables"]["neural_collapse"]) {
    EXPECT_GT(c["nc1"].get<double>(), 0.0);
    EXPECT_EQ(c["classes"], 10);
    EXPECT_GE(c["nc2_equiangular"].get<double>(), 0.0);
  }
  EXPECT_EQ(summary["tables"]["distillation"].size(), 2u + 1u + 2u);
  // Transfer: the ε = 0 and 0.1 models of the first half of the classes, probed and tested on the other half.
  const auto& tr = summary["tables"]["transfer"];
  ASSERT_TRUE(tr.is_object()) << summary["notes"].dump();
  EXPECT_EQ(tr["seen_classes"], "T-shirt/top,Trouser,Pullover,Dress,Coat");
  EXPECT_EQ(tr["unseen_classes"], "Sandal,Shirt,Sneaker,Bag,Ankle boot");
  ASSERT_EQ(tr["rows"].size(), 2u);
  for (const auto& row : tr["rows"]) {
    EXPECT_GT(row["probe"]["test_accuracy"].get<double>(), 0.2) << row.dump(); // chance over 5 classes
    EXPECT_EQ(row["probe"]["val_accuracy"].size(), represent::kProbeL2Grid.size());
    EXPECT_EQ(row["probe"]["test_count"], tr["unseen_test_examples"]);
    for (const char* score : {"msp", "max_logit", "energy"}) {
      EXPECT_GE(row["detection"][score]["auroc"].get<double>(), 0.0);
      EXPECT_LE(row["detection"][score]["auroc"].get<double>(), 1.0);
    }
  }
  EXPECT_EQ(tr["seen_test_examples"].get<int64_t>() + tr["unseen_test_examples"].get<int64_t>(), 300);
  // Label noise: ε ∈ {0, 0.1} at 40%.
  EXPECT_EQ(summary["tables"]["label_noise"]["share_of_wrong_labels"], 0.4);
  EXPECT_EQ(summary["tables"]["label_noise"]["rows"].size(), 2u);
  for (const char* fig :
       {"reliability_teacher",
        "reliability_overconf",
        "ece_nll_vs_eps",
        "projection_dissimilar",
        "projection_similar",
        "distillation",
        "mutual_information",
        "risk_coverage"}) {
    ASSERT_TRUE(summary["figures"].contains(fig)) << fig;
    EXPECT_GT(fs::file_size(out / summary["figures"][fig].get<std::string>()), 1000u) << fig;
  }
  // Every claim has a measured number and the paper's number; each verdict is the rule applied to its printed
  // interval (the rules themselves are tested in claims_test.cpp), and the intervals' full-sample estimates are the
  // differences of what eval.json recorded (recomputed from the saved logits).
  auto table = [&](const std::string& group, double eps, const char* key) {
    for (const auto& row : summary["tables"]["calibration"])
      if (row["group"] == group && row["epsilon"] == eps)
        return row[key]["mean"].get<double>();
    ADD_FAILURE() << "no calibration row " << group << " " << eps;
    return 0.0;
  };
  std::set<std::string> ids;
  for (const auto& c : summary["claims"]) {
    ids.insert(c["id"]);
    const auto& e = c["evidence"];
    if (!e.is_null()) {
      const double low = e["low"], high = e["high"], threshold = e["threshold"];
      const std::string rule = low > threshold ? "held" : high < threshold ? "not held" : "inconclusive";
      if (e["resamples"].get<int64_t>() > 0) {
        EXPECT_EQ(c["verdict"], rule) << c.dump();
      }
      EXPECT_LE(low, high) << c.dump();
      EXPECT_FALSE(e["rule"].get<std::string>().empty());
    }
    for (const std::string group : {"teacher", "overconf"}) {
      if (c["id"] == "ls_calibrates_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.0, "ece") - table(group, 0.1, "ece"), 1e-4);
      }
      if (c["id"] == "temperature_scaling_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.0, "ece") - table(group, 0.0, "ece_ts"), 1e-4);
      }
      if (c["id"] == "accuracy_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.1, "accuracy") - table(group, 0.0, "accuracy"), 1e-9);
      }
      if (c["id"] == "selective_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.1, "aurc") - table(group, 0.0, "aurc"), 1e-12);
      }
      if (c["id"] == "logit_norm_" + group) {
        EXPECT_NEAR(
            e["estimate"].get<double>(), table(group, 0.1, "aurc") - table(group, 0.1, "aurc_logit_norm"), 1e-12);
      }
      if (c["id"] == "calibratable_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.1, "ece_ts") - table(group, 0.0, "ece_ts"), 1e-4);
      }
      if (c["id"] == "label_noise" && group == "teacher") { // ε = 0.1, the only ε > 0 of the tiny grid
        double a0 = 0, a1 = 0;
        for (const auto& r : summary["runs"])
          if (r["group"] == "noisy")
            (r["epsilon"] == 0.0 ? a0 : a1) = r["test"]["accuracy"].get<double>();
        EXPECT_NEAR(e["estimate"].get<double>(), a1 - a0, 1e-9);
      }
      if (c["id"] == "transfer" && group == "teacher") {
        const auto& rows = summary["tables"]["transfer"]["rows"];
        EXPECT_NEAR(
            e["estimate"].get<double>(),
            rows[0]["probe"]["test_accuracy"].get<double>() - rows[1]["probe"]["test_accuracy"].get<double>(),
            1e-12);
      }
      if (c["id"] == "unseen_classes" && group == "teacher") {
        const auto& rows = summary["tables"]["transfer"]["rows"];
        EXPECT_NEAR(
            e["estimate"].get<double>(),
            rows[0]["detection"]["msp"]["auroc"].get<double>() - rows[1]["detection"]["msp"]["auroc"].get<double>(),
            1e-12);
      }
      if (c["id"] == "overconfident_" + group) {
        EXPECT_NEAR(e["estimate"].get<double>(), table(group, 0.0, "temperature") - 1, 2e-3);
      }
    }
    EXPECT_FALSE(c["measured"].get<std::string>().empty());
    EXPECT_FALSE(c["paper"].get<std::string>().empty());
    EXPECT_FALSE(c["regime"].get<std::string>().empty());
  }
  // The "when" answers: one per regime, the cap rule's ε from the hard model's training accuracy (K = 10).
  ASSERT_EQ(summary["when"].size(), 2u);
  for (const auto& w : summary["when"]) {
    const double a = w["train_accuracy"];
    EXPECT_NEAR(w["cap_epsilon"].get<double>(), (1 - a) / 0.9, 1e-12);
    EXPECT_EQ(w["rows"].size(), 2u);
    EXPECT_FALSE(w["conclusion"].get<std::string>().empty());
    // The best post-hoc calibrator of the ε = 0 run: the lowest cross-validated NLL on validation of its ranking.
    ASSERT_TRUE(w["posthoc_method"].is_string()) << w.dump();
    const json* hard = nullptr;
    for (const auto& r : summary["runs"])
      if (r["group"] == w["group"] && r["epsilon"] == 0.0)
        hard = &r;
    ASSERT_NE(hard, nullptr);
    const auto& best = (*hard)["best_posthoc"];
    EXPECT_EQ(best["method"], w["posthoc_method"]);
    EXPECT_EQ(best["ranking"].size(), 8u); // every calibrator
    for (const auto& m : best["ranking"])
      EXPECT_LE(best["cv_nll"].get<double>(), m["cv_nll"].get<double>()) << m.dump();
    EXPECT_EQ(w["ece_posthoc"].get<double>(), best["ece"].get<double>()); // one seed
    if (w["val_epsilon"].is_number()) {
      const auto& e = w["val_vs_posthoc"];
      EXPECT_EQ(e["threshold"].get<double>(), -0.01) << e.dump();
      EXPECT_GT(e["resamples"].get<int64_t>(), 0) << e.dump();
      EXPECT_LE(e["low"].get<double>(), e["high"].get<double>()) << e.dump();
    }
  }
  // Î from step 0 (--mi-every 4 in the tiny preset), then at least every 4 steps.
  for (const auto& m : summary["tables"]["mutual_information"]) {
    ASSERT_GE(m["points"].size(), 3u);
    EXPECT_EQ(m["points"][0]["step"], 0);
    EXPECT_EQ(m["points"][1]["step"], 4);
  }
  for (const char* id :
       {"accuracy_teacher",
        "ls_calibrates_teacher",
        "ls_calibrates_overconf",
        "overconfident_overconf",
        "temperature_scaling_teacher",
        "projection_dissimilar",
        "projection_similar",
        "distill_hard_teacher",
        "distill_shen",
        "distill_vs_direct",
        "mi_falls",
        "selective_teacher",
        "selective_overconf",
        "logit_norm_teacher",
        "calibratable_teacher",
        "calibratable_overconf",
        "neural_collapse",
        "transfer",
        "unseen_classes",
        "label_noise"})
    EXPECT_TRUE(ids.count(id)) << id;
  // Provenance.
  EXPECT_EQ(summary["provenance"]["threads"], 2);
  EXPECT_FALSE(summary["provenance"]["versions"]["libtorch"].get<std::string>().empty());
}

// Every figure lies fully inside its image (issue 30): nothing is drawn on its outermost two pixels, which stay the
// white background, so no title, label or legend runs off an edge.
TEST(StudyPipeline, EveryFigureLiesInsideItsImage) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto out = tiny_study();
  const auto summary = json::parse(read_file(out / "summary.json"));
  ASSERT_GE(summary["figures"].size(), 8u);
  for (const auto& [key, file] : summary["figures"].items()) {
    const auto bytes = data::read_bytes((out / file.get<std::string>()).string());
    const auto img = data::decode_image(bytes.data(), bytes.size(), key);
    int64_t inked = 0;
    for (int64_t y = 0; y < img.height; ++y)
      for (int64_t x = 0; x < img.width; ++x) {
        if (x >= 2 && x < img.width - 2 && y >= 2 && y < img.height - 2)
          continue;
        for (int64_t c = 0; c < 3; ++c)
          inked += img.pixels[size_t((y * img.width + x) * 3 + c)] < 250 ? 1 : 0;
      }
    EXPECT_EQ(inked, 0) << key << ": drawn on its edge (" << img.width << "×" << img.height << ")";
  }
}

TEST(StudyPipeline, ReportIsSelfContained) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto html = read_file(tiny_study() / "report.html");
  const auto summary = json::parse(read_file(tiny_study() / "summary.json"));
  size_t images = 0;
  for (size_t pos = 0; (pos = html.find("<img ", pos)) != std::string::npos; ++pos) {
    ++images;
    EXPECT_EQ(html.compare(html.find("src=\"", pos), 27, "src=\"data:image/png;base64,"), 0);
  }
  EXPECT_EQ(images, summary["figures"].size());
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<td></td>"), std::string::npos);
  for (const auto& c : summary["claims"])
    EXPECT_NE(html.find(c["source"].get<std::string>()), std::string::npos);
}

TEST(StudyPipeline, KilledCliStudyResumes) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  testing::TempDir tmp;
  const auto out = (tmp / "s").string();
  // Start the CLI, wait until the first run is evaluated, SIGKILL it.
  const std::string cmd = std::string("( \"") + SMOOTHLAB_CLI_PATH + "\" study --preset tiny --threads 2 --out '" +
      out +
      "' >/dev/null 2>&1 & pid=$!; for i in $(seq 1 1200); do "
      "if ls '" +
      out +
      "'/runs/*/eval.json >/dev/null 2>&1; then break; fi; sleep 0.05; done; "
      "kill -9 $pid; wait $pid ) 2>/dev/null";
  std::system(cmd.c_str());
  ASSERT_TRUE(fs::exists(tmp / "s" / "runs"));
  const auto before = checkpoint_times(tmp / "s" / "runs");
  std::vector<std::string> finished;
  for (const auto& e : fs::directory_iterator(tmp / "s" / "runs"))
    if (fs::exists(e.path() / "eval.json"))
      finished.push_back(e.path().filename().string());
  ASSERT_GE(finished.size(), 1u);
  const auto r = testing::run_cli({"study", "--preset", "tiny", "--threads", "2", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"((\d+) runs \((\d+) reused, (\d+) trained now\))"))) << r.out;
  EXPECT_EQ(std::stoul(m[2]), finished.size()) << r.out;
  EXPECT_EQ(std::stoul(m[2]) + std::stoul(m[3]), std::stoul(m[1]));
  for (const auto& name : finished)
    EXPECT_EQ(fs::last_write_time(tmp / "s" / "runs" / name / "checkpoint.safetensors"), before.at(name)) << name;
  EXPECT_NE(r.out.find("report: " + out + "/report.html"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("done already:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ETA"), std::string::npos) << r.err;
}

TEST(StudyArray, IndexedRunsThenReportMatchTheOneProcessStudy) {
  // A Slurm job array's view: --list-runs gives the plan, --run-index I trains run I only, --report writes the report
  // from runs/ alone. Every run is trained exactly once, and the report equals the one a plain `smoothlab study` on
  // the same folder writes (it finds every run done and trains none).
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  testing::TempDir tmp;
  const std::string out = (tmp / "s").string();
  const auto study = [&](std::vector<std::string> extra, const std::string& env = "") {
    std::vector<std::string> args = {"study", "--preset", "tiny", "--threads", "2", "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_cli(args, env);
  };
  const auto plan = make_plan(make_preset("tiny"), "fashion-mnist");
  const auto listed = study({"--list-runs"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::vector<std::vector<std::string>> lines;
  {
    std::istringstream in(listed.out);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> fields;
      std::istringstream f(line);
      for (std::string field; std::getline(f, field, '\t');)
        fields.push_back(field);
      lines.push_back(fields);
    }
  }
  ASSERT_EQ(lines.size(), plan.size()) << listed.out;
  int64_t first_student = -1;
  for (size_t i = 0; i < plan.size(); ++i) {
    ASSERT_EQ(lines[i].size(), 4u) << listed.out;
    EXPECT_EQ(lines[i][0], std::to_string(i));
    EXPECT_EQ(lines[i][1], plan[i].teacher.empty() ? "0" : "1");
    EXPECT_EQ(lines[i][2], "pending");
    EXPECT_EQ(lines[i][3], plan[i].name);
    if (!plan[i].teacher.empty() && first_student < 0)
      first_student = int64_t(i);
    for (size_t t = i; t < plan.size(); ++t)
      EXPECT_NE(plan[t].name, plan[i].teacher) << "a teacher comes before its students";
  }
  ASSERT_GE(first_student, 0);
  // A student before its teacher, and a report before the runs: refused in one line each.
  auto early = study({"--run-index", std::to_string(first_student)});
  EXPECT_EQ(early.exit_code, 2) << early.err;
  EXPECT_NE(early.err.find("is not finished"), std::string::npos) << early.err;
  EXPECT_NE(early.err.find("--list-runs"), std::string::npos) << early.err;
  auto premature = study({"--report"});
  EXPECT_EQ(premature.exit_code, 2) << premature.err;
  EXPECT_NE(premature.err.find("not finished"), std::string::npos) << premature.err;
  EXPECT_EQ(study({"--run-index", std::to_string(plan.size())}).exit_code, 2);
  // Every index once, the first through $SLURM_ARRAY_TASK_ID.
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto r = i == 0 ? study({"--run-index"}, "SLURM_ARRAY_TASK_ID=0") : study({"--run-index", std::to_string(i)});
    ASSERT_EQ(r.exit_code, 0) << i << ": " << r.err;
    EXPECT_FALSE(fs::exists(tmp / "s" / "summary.json")) << "a single index writes no report";
  }
  for (const auto& r : plan)
    EXPECT_EQ(
        testing::read_jsonl(tmp / "s" / "runs" / r.name / "metrics.jsonl").size(), size_t(r.config.optimiser.epochs))
        << r.name;
  const auto reported = study({"--report"});
  ASSERT_EQ(reported.exit_code, 0) << reported.err;
  auto from_runs = json::parse(read_file(tmp / "s" / "summary.json"));
  const auto plain = study({});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto one_process = json::parse(read_file(tmp / "s" / "summary.json"));
  EXPECT_EQ(from_runs["provenance"]["runs_trained"], 0);
  EXPECT_EQ(one_process["provenance"]["runs_trained"], 0);
  from_runs.erase("provenance");
  one_process.erase("provenance");
  EXPECT_EQ(from_runs, one_process);
}

TEST(StudyPipeline, ReportOpensInHeadlessChromium) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  if (!fs::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "/usr/bin/chromium is missing (apt-get install chromium)";
  const auto out = tiny_study();
  testing::TempDir tmp;
  // The report plus a probe that writes what the page saw into the DOM: console errors, image sizes, empty cells.
  std::string html = read_file(out / "report.html");
  const std::string probe = R"(<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + e.message), true);
const origError = console.error; console.error = (...a) => { window.__errors.push('console: ' + a.join(' ')); origError(...a); };
window.addEventListener('load', () => {
  const imgs = [...document.images].map(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0 ? 1 : 0);
  const cells = [...document.querySelectorAll('td, th')].filter(c => c.textContent.trim() === '').length;
  const tables = [...document.querySelectorAll('table')].filter(t => t.querySelectorAll('tbody tr').length === 0).length;
  const pre = document.createElement('pre'); pre.id = 'probe';
  const bottom = sel => { const e = document.querySelector(sel); return e ? Math.ceil(e.getBoundingClientRect().bottom) : -1; };
  pre.textContent = 'PROBE images=' + imgs.length + ' loaded=' + imgs.reduce((a, b) => a + b, 0) + ' emptycells=' +
      cells + ' emptytables=' + tables + ' errors=' + window.__errors.length + ' answer=' + bottom('div.answer') +
      ' board=' + bottom('table.board') + ' width=' + window.innerWidth + 'x' + window.innerHeight + ' END';
  document.body.appendChild(pre);
});
</script>)";
  html.insert(html.find("<head>") + 6, probe);
  write_file_atomic(tmp / "probe.html", html);
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--user-data-dir=" +
      (tmp / "profile").string() + " --virtual-time-budget=5000 --window-size=1280,800 ";
  const auto dom = tmp / "dom.html", log = tmp / "log.txt";
  std::system(("timeout 120 /usr/bin/chromium " + flags + "--enable-logging=stderr --v=0 --dump-dom 'file://" +
               (tmp / "probe.html").string() + "' >'" + dom.string() + "' 2>'" + log.string() + "'")
                  .c_str());
  const auto text = read_file(dom);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text,
      m,
      std::regex(R"(PROBE images=(\d+) loaded=(\d+) emptycells=(\d+) emptytables=(\d+) errors=(\d+) )"
                 R"(answer=(-?\d+) board=(-?\d+) width=(\d+)x(\d+) END)")))
      << text.substr(0, 500) << "\n"
      << read_file(log);
  const auto summary = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(std::stoul(m[1]), summary["figures"].size());
  EXPECT_EQ(m[2], m[1]) << "an image did not load";
  EXPECT_EQ(m[3], "0") << "empty table cells";
  EXPECT_EQ(m[4], "0") << "empty tables";
  EXPECT_EQ(m[5], "0") << "page errors";
  // The first screen at 1280×800 holds the answer and the whole board (issue 30): their bottoms are inside it.
  // (Layout depends on the width alone; the height --dump-dom reports is the window's less its frame.)
  EXPECT_EQ(m[8], "1280") << "answer " << m[6] << ", board " << m[7];
  EXPECT_GT(std::stoi(m[6]), 0) << "no answer";
  EXPECT_GT(std::stoi(m[7]), std::stoi(m[6])) << "no board below the answer";
  EXPECT_LE(std::stoi(m[7]), 800) << "the board ends below the first screen";
  const auto log_text = read_file(log);
  EXPECT_EQ(log_text.find(":CONSOLE"), std::string::npos) << "console message in " << log_text;
  // A screenshot of the page.
  const fs::path shot = out / "report_screenshot.png";
  std::system(("timeout 120 /usr/bin/chromium " + flags + "--screenshot='" + shot.string() + "' 'file://" +
               (out / "report.html").string() + "' >/dev/null 2>&1")
                  .c_str());
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 10000u);
}

} // namespace
} // namespace smoothlab::study
