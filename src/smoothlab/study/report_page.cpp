// report.html: the study summary as one self-contained HTML page (figures embedded as base64 PNG).
#include "smoothlab/study/report_page.h"

#include <cmath>

#include <fmt/format.h>

#include "smoothlab/report/html.h"

namespace smoothlab::study {

namespace fs = std::filesystem;
using json = nlohmann::json;
using report::html_escape;
using report::html_table;

namespace {

std::string stat_cell(const json& s, int digits = 4, bool percent = false) {
  if (!s.is_object() || s.value("n", 0) == 0)
    return "";
  const double scale = percent ? 100.0 : 1.0;
  const double mean = s["mean"].get<double>() * scale, sd = s["std"].get<double>() * scale;
  if (s["n"].get<int64_t>() == 1)
    return fmt::format("{:.{}f}{}", mean, digits, percent ? "%" : "");
  return fmt::format("{:.{}f} ± {:.{}f}{}", mean, digits, sd, digits, percent ? "%" : "");
}

std::string figure(const json& summary, const fs::path& out_dir, const std::string& key, const std::string& caption) {
  if (!summary["figures"].contains(key))
    return "<p class=\"note\">figure not available: " + html_escape(key) + "</p>\n";
  return "<figure>" + report::embed_png(out_dir / summary["figures"][key].get<std::string>(), caption) +
      "<figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
}

std::string group_name(const std::string& g) {
  return g == "teacher" ? "short schedule (teachers)" : g == "overconf" ? "over-confident regime" : g;
}

} // namespace

std::string render_report(const json& summary, const fs::path& out_dir) {
  const auto& preset = summary["preset"];
  std::string b;
  b += fmt::format(
      "<h1>When does label smoothing help? — smoothlab study ({} preset, {})</h1>\n",
      html_escape(preset["name"].get<std::string>()),
      html_escape(summary["data"].get<std::string>()));
  b += "<p>" + html_escape(preset["description"].get<std::string>()) +
      ". Reproduces Müller, Kornblith &amp; Hinton, <i>When Does Label Smoothing Help?</i> (NeurIPS 2019) on the data "
      "at hand. Every number below comes from the runs in <code>runs/</code>; all of them are also in "
      "<code>summary.json</code>.</p>\n";
  b += "<div class=\"note\"><b>Regimes.</b> Each number says which training regime it comes from:<ul>";
  b += "<li><b>short schedule</b>: " + html_escape(summary["regimes"]["teacher"].get<std::string>()) + "</li>";
  if (!summary["regimes"]["overconf"].get<std::string>().empty())
    b +=
        "<li><b>over-confident regime</b>: " + html_escape(summary["regimes"]["overconf"].get<std::string>()) + "</li>";
  b +=
      "</ul>The paper's calibration claim is about networks that are <i>over</i>-confident after long training. A short "
      "schedule on an easy task does not produce one, and then label smoothing makes the model under-confident. "
      "Read the calibration numbers with their regime.</div>\n";

  // Claims first: the verdicts.
  b += "<h2 id=\"claims\">Claims of the paper, measured here</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    std::string table =
        "<table class=\"claims\">\n<thead><tr><th>claim</th><th>paper</th><th>measured here</th>"
        "<th>verdict</th><th>regime</th></tr></thead>\n<tbody>\n";
    for (const auto& c : summary["claims"]) {
      const std::string v = c["verdict"];
      const std::string cls = v == "held" ? "held" : v == "not held" ? "failed" : "untested";
      std::string note = c["note"].get<std::string>();
      table += fmt::format(
          "<tr><th scope=\"row\">{} <small>({})</small></th><td>{}</td><td>{}{}</td><td class=\"{}\">{}</td>"
          "<td>{}</td></tr>\n",
          html_escape(c["claim"].get<std::string>()),
          html_escape(c["source"].get<std::string>()),
          html_escape(c["paper"].get<std::string>()),
          html_escape(c["measured"].get<std::string>()),
          note.empty() ? "" : "<br><small>" + html_escape(note) + "</small>",
          cls,
          html_escape(v),
          html_escape(c["regime"].get<std::string>()));
    }
    if (summary["claims"].empty())
      table += "<tr><td colspan=\"5\">no claim could be tested</td></tr>\n";
    table += "</tbody></table>\n";
    b += table;
  }

  // Table 2 and 3.
  b += "<h2 id=\"accuracy\">Accuracy with and without label smoothing (paper Table 2)</h2>\n";
  b += "<p>Test accuracy, mean ± standard deviation over seeds (n = number of seeds).</p>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : summary["tables"]["calibration"])
      rows.push_back(
          {group_name(r["group"]),
           fmt::format("{:g}", r["epsilon"].get<double>()),
           stat_cell(r["accuracy"], 2, true),
           std::to_string(r["accuracy"]["n"].get<int64_t>())});
    b += html_table({"regime", "ε", "test accuracy", "n"}, rows);
  }
  b += "<h2 id=\"calibration\">Calibration (paper Table 3): baseline, temperature scaling, label smoothing</h2>\n";
  b +=
      "<p>ECE with 15 equal-width bins on the test split. Temperature T fitted on the validation split (never on test) "
      "by minimising NLL. Paper Table 3: ResNet-56/CIFAR-100 baseline 0.150, TS 0.021 (T = 1.9), LS 0.024 "
      "(ε = 0.05); Inception-v4/ImageNet 0.071, 0.022 (T = 1.4), 0.035 (ε = 0.1).</p>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : summary["tables"]["calibration"])
      rows.push_back(
          {group_name(r["group"]),
           fmt::format("{:g}", r["epsilon"].get<double>()),
           stat_cell(r["ece"]),
           stat_cell(r["nll"]),
           stat_cell(r["mean_confidence"]),
           stat_cell(r["accuracy"]),
           stat_cell(r["temperature"], 3),
           stat_cell(r["ece_ts"]),
           stat_cell(r["nll_ts"])});
    b += html_table(
        {"regime", "ε", "ECE", "NLL", "mean confidence", "accuracy", "fitted T", "ECE after TS", "NLL after TS"}, rows);
  }
  b += figure(
      summary, out_dir, "ece_nll_vs_eps", "ECE and NLL against ε, per regime; dashed: ε = 0 after temperature scaling");
  b += "<h2 id=\"reliability\">Reliability diagrams (paper Fig. 2)</h2>\n";
  b += figure(summary, out_dir, "reliability_teacher", "Reliability, short schedule: hard, hard + TS, label smoothing");
  if (summary["figures"].contains("reliability_overconf"))
    b += figure(
        summary,
        out_dir,
        "reliability_overconf",
        "Reliability, over-confident regime: hard, hard + TS, label smoothing");

  b += "<h2 id=\"projection\">Penultimate-layer projections (paper Fig. 1)</h2>\n";
  b += "<p>Activations of the ε = 0 and smoothed teachers (first seed) projected on the plane through three class "
       "templates; training split (left) and held-out validation split (right).</p>\n";
  for (const auto& kind : {"dissimilar", "similar"}) {
    std::string caption = fmt::format("{} classes", kind);
    if (summary["projection"].contains(kind))
      caption += ": " + summary["projection"][kind]["classes"].get<std::string>();
    b += figure(summary, out_dir, std::string("projection_") + kind, caption);
    if (summary["projection"].contains(kind) && summary["projection"][kind].contains("comparison"))
      b += "<p>" + html_escape(summary["projection"][kind]["comparison"]["verdict"].get<std::string>()) + "</p>\n";
  }

  b += "<h2 id=\"distillation\">Distillation (paper Fig. 5)</h2>\n";
  if (summary["tables"]["distillation"].empty()) {
    b += "<p class=\"note\">This preset has no distillation runs.</p>\n";
  } else {
    b += "<p>Students trained with [M]'s loss H(softmax(z_t/T), softmax(z_s)) (β = 1, student at T = 1). γ: the "
         "teacher's equivalent label smoothing at T on the training split (wrong-class mass × K/(K−1)).</p>\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : summary["tables"]["distillation"]) {
      const bool direct = r["series"] == "trained with LS (no teacher)";
      rows.push_back(
          {r["series"].get<std::string>(),
           fmt::format("{:g}", r["teacher_epsilon"].get<double>()),
           direct ? "" : fmt::format("{:g}", r["temperature"].get<double>()),
           stat_cell(r["gamma"]),
           direct ? "" : stat_cell(r["teacher_accuracy"], 2, true),
           stat_cell(r["student_accuracy"], 2, true),
           stat_cell(r["student_ece"])});
    }
    b += html_table(
        {"student of", "ε (teacher or own)", "T", "γ", "teacher accuracy", "student accuracy", "student ECE"}, rows);
    b += figure(summary, out_dir, "distillation", "Student accuracy against γ");
  }

  b += "<h2 id=\"mi\">Mutual information over training (paper Fig. 6)</h2>\n";
  if (summary["tables"]["mutual_information"].empty()) {
    b += "<p class=\"note\">No Î was logged.</p>\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : summary["tables"]["mutual_information"])
      for (const auto& p : r["points"])
        rows.push_back(
            {fmt::format("ε = {:g}", r["epsilon"].get<double>()),
             std::to_string(p["epoch"].get<int64_t>()),
             stat_cell(p["mi"], 3)});
    b += html_table({"teacher", "epoch", "Î (nats)"}, rows);
    b += figure(summary, out_dir, "mutual_information", "Î between example and logit gap, per epoch");
  }

  if (!summary["notes"].empty()) {
    b += "<h2>Notes</h2>\n<ul>";
    for (const auto& n : summary["notes"])
      b += "<li>" + html_escape(n.get<std::string>()) + "</li>";
    b += "</ul>\n";
  }

  b += "<h2 id=\"provenance\">Provenance</h2>\n";
  if (summary.contains("provenance")) {
    const auto& p = summary["provenance"];
    std::vector<std::vector<std::string>> rows = {
        {"command line", p["command_line"].get<std::string>()},
        {"smoothlab", p["versions"].value("smoothlab", "")},
        {"LibTorch", p["versions"].value("libtorch", "")},
        {"BLAS", p["versions"].value("blas", "")},
        {"compiler", p["versions"].value("compiler", "")},
        {"machine",
         fmt::format(
             "{} — {} ({} cores, {})",
             p["machine"]["host"].get<std::string>(),
             p["machine"]["cpu"].get<std::string>(),
             p["machine"]["cores"].get<int64_t>(),
             p["machine"]["memory"].get<std::string>())},
        {"threads", std::to_string(p["threads"].get<int64_t>())},
        {"device", p["device"].get<std::string>()},
        {"precision", p.value("precision", std::string("fp32"))},
        {"this call",
         fmt::format(
             "{:.1f} s; {} runs reused, {} trained",
             p["study_seconds_this_call"].get<double>(),
             p["runs_reused"].get<int64_t>(),
             p["runs_trained"].get<int64_t>())}};
    b += html_table({"item", "value"}, rows);
  }
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : summary["runs"])
      rows.push_back(
          {r["name"].get<std::string>(),
           r["group"].get<std::string>(),
           r["model"].get<std::string>(),
           std::to_string(r["epochs"].get<int64_t>()),
           fmt::format("{:.2f}%", 100 * r["test"]["accuracy"].get<double>()),
           fmt::format("{:.4f}", r["test"]["ece"].get<double>()),
           fmt::format("{:.1f} s", r["train_seconds"].get<double>())});
    b += "<h3>Runs</h3>\n";
    b += html_table(
        {"run (folder in runs/)", "group", "model", "epochs", "test accuracy", "ECE", "training time"}, rows);
  }
  return report::html_page("smoothlab study — " + preset["name"].get<std::string>(), b);
}

} // namespace smoothlab::study
