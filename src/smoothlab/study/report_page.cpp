// report.html: the study summary as one self-contained HTML page (figures embedded as base64 PNG).
#include "smoothlab/study/report_page.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "smoothlab/calib/open_set.h"
#include "smoothlab/html/html.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/train/device.h"

namespace smoothlab::study {

namespace fs = std::filesystem;
using html::html_escape;
using html::html_table;

namespace {

std::string stat_cell(const Stat& s, int digits = 4, bool percent = false) {
  if (s.n == 0)
    return "";
  const double scale = percent ? 100.0 : 1.0;
  const double mean = s.mean * scale, sd = s.std * scale;
  if (s.n == 1)
    return fmt::format("{:.{}f}{}", mean, digits, percent ? "%" : "");
  return fmt::format("{:.{}f} ± {:.{}f}{}", mean, digits, sd, digits, percent ? "%" : "");
}

std::string stat_cell(const std::optional<Stat>& s, int digits = 4, bool percent = false) {
  return s ? stat_cell(*s, digits, percent) : "";
}

std::string figure(
    const StudySummary& summary,
    const fs::path& out_dir,
    const std::string& key,
    const std::string& caption) {
  const auto it = summary.figures.find(key);
  if (it == summary.figures.end())
    return "<p class=\"note\">figure not available: " + html_escape(key) + "</p>\n";
  return "<figure>" + html::embed_png(out_dir / it->second, caption) + "<figcaption>" + html_escape(caption) +
      "</figcaption></figure>\n";
}

std::string group_name(const std::string& g) {
  return g == "teacher" ? "short schedule (teachers)" : g == "overconf" ? "over-confident regime" : g;
}

// A regime's description without the label it starts with ("short schedule: cnn, …" → "cnn, …"), where the report
// has just written the label.
std::string without_label(const std::string& description) {
  for (const char* label : {"short schedule: ", "over-confident regime: "})
    if (description.rfind(label, 0) == 0)
      return description.substr(std::char_traits<char>::length(label));
  return description;
}

// The transfer and label-noise regimes' claims: trained on runs of their own, so not in a calibration regime's column.
bool own_regime_claim(const std::string& id) {
  return id == "transfer" || id == "unseen_classes" || id == "label_noise";
}

std::string verdict_class(Verdict v) {
  switch (v) {
    case Verdict::Held:
      return "held";
    case Verdict::NotHeld:
      return "failed";
    case Verdict::Inconclusive:
      return "inconclusive";
    case Verdict::NotTested:
      break;
  }
  return "untested";
}

// A claim's cell on the board: its verdict, and Δ [interval] when it has evidence.
std::string board_cell(const Claim& c) {
  std::string cell =
      "<span class=\"" + verdict_class(c.verdict) + "\">" + html_escape(verdict_name(c.verdict)) + "</span>";
  if (c.evidence)
    cell += " " + html_escape(c.evidence->interval_text());
  return cell;
}

// The first screen's sentences: the answer per regime, and beyond the calibration regimes.
std::string answer_sentences(const StudySummary& summary) {
  std::string b = "<div class=\"answer\" id=\"answer\">";
  for (const auto& w : summary.when) {
    const std::string& text = w.short_answer.empty() ? w.conclusion : w.short_answer;
    b += "<p><b>" + html_escape(group_name(w.group)) + ".</b> " + html_escape(text) + "</p>\n";
  }
  if (!summary.answer_beyond_regimes.empty())
    b += "<p><b>Beyond calibration.</b> " + html_escape(summary.answer_beyond_regimes) + "</p>\n";
  return b + "</div>\n";
}

// The first screen: the answer per regime in a few sentences, and the board of every claim (verdict · Δ [interval])
// with one column per regime; claims that are not per regime (projection, distillation, Î) are the teacher regime's.
std::string answer_section(const StudySummary& summary) {
  std::string b = answer_sentences(summary);
  std::vector<std::string> groups;
  for (const auto& w : summary.when)
    groups.push_back(w.group);
  if (groups.empty() || summary.claims.empty())
    return b;
  std::vector<std::string> rows; // headlines, in the order of first appearance
  std::map<std::pair<std::string, std::string>, std::string> cells;
  std::map<std::string, std::string> spanning; // claims of a regime of their own: one cell across the columns
  for (const auto& c : summary.claims) {
    const std::string headline = claim_headline(c.id);
    if (own_regime_claim(c.id)) {
      spanning[headline] = board_cell(c);
      rows.push_back(headline);
      continue;
    }
    std::string group = groups[0];
    for (const auto& g : groups)
      if (c.id.size() > g.size() && c.id.compare(c.id.size() - g.size() - 1, g.size() + 1, "_" + g) == 0)
        group = g;
    if (std::find(rows.begin(), rows.end(), headline) == rows.end())
      rows.push_back(headline);
    cells[{headline, group}] = board_cell(c);
  }
  b += "<table class=\"board\">\n<thead><tr><th>claim</th>";
  for (const auto& g : groups)
    b += "<th>" + html_escape(group_name(g)) + ": verdict · Δ [95% interval]</th>";
  b += "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    b += "<tr><th scope=\"row\">" + html_escape(r) + "</th>";
    if (const auto it = spanning.find(r); it != spanning.end()) {
      b += fmt::format("<td colspan=\"{}\">{}</td></tr>\n", groups.size(), it->second);
      continue;
    }
    for (const auto& g : groups) {
      const auto it = cells.find({r, g});
      b += "<td>" + (it == cells.end() ? std::string("—") : it->second) + "</td>";
    }
    b += "</tr>\n";
  }
  b += "</tbody></table>\n<p><small>Each Δ is oriented so that larger means \"as the claim says\"; the rule, the "
       "quantities and the papers' numbers are in <a href=\"#claims\">the claims below</a>.</small></p>\n";
  return b;
}

std::string percent(double v) {
  return std::isfinite(v) ? fmt::format("{:.2f}%", 100 * v) : "—";
}

// The transfer regime: the linear probe on the unseen classes and the detection of their images.
std::string transfer_section(const Tables& t) {
  if (!t.transfer)
    return "";
  const auto& tt = *t.transfer;
  std::string b = "<h2 id=\"transfer\">Transfer to unseen classes, and detecting them</h2>\n";
  b += "<p>" + html_escape(tt.regime) + ". Trained on " + html_escape(tt.seen) + "; the other classes (" +
      html_escape(tt.unseen) +
      ") are never seen in training. <b>Linear probe</b> (Kornblith et al. 2021): the frozen penultimate features of " +
      fmt::format("{} training images of the unseen classes", tt.probe_train) +
      ", standardised, fit an L2-regularised multinomial logistic regression (bias not penalised); λ is chosen by the "
      "accuracy on the unseen classes' validation images, and the probe is scored on their test images. <b>Detection"
      "</b>: the model's scores on the seen classes' test images against the unseen classes' (AUROC with the seen "
      "ones as positives; FPR@95 = " +
      html_escape(kFpr95Convention) + "). First seed.</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : tt.rows) {
    std::vector<std::string> row = {
        fmt::format("{:g}", r.epsilon), percent(r.probe.test_accuracy), fmt::format("{:g}", r.probe.fit.l2)};
    for (const auto score : calib::kOpenSetScores) {
      const auto it =
          std::find_if(r.detection.begin(), r.detection.end(), [score](const auto& d) { return d.first == score; });
      row.push_back(it == r.detection.end() ? "— / —" : percent(it->second.auroc) + " / " + percent(it->second.fpr95));
    }
    rows.push_back(row);
  }
  b += html_table(
      {"ε",
       "probe accuracy",
       "λ",
       "max softmax: AUROC / FPR@95",
       "max logit: AUROC / FPR@95",
       "energy: AUROC / FPR@95"},
      rows);
  return b;
}

// The label-noise regime: accuracy on clean test labels against ε, and on the noisy validation split.
std::string noise_section(const Tables& t) {
  if (t.noise.empty())
    return "";
  std::string b = "<h2 id=\"noise\">Label smoothing under label noise</h2>\n";
  b += "<p>" + html_escape(t.noisy_regime) + ". Noise: " + html_escape(kLabelNoiseConvention) +
      ". ε is chosen as a user must: by the accuracy on the noisy validation split, never on test.</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.noise)
    rows.push_back(
        {fmt::format("{:g}", r.epsilon),
         stat_cell(r.accuracy, 2, true),
         stat_cell(r.val_accuracy, 2, true),
         stat_cell(r.ece, 4)});
  b += html_table({"ε", "clean test accuracy", "noisy validation accuracy", "test ECE"}, rows);
  return b;
}

// The heading and the first paragraph.
std::string title_section(const StudySummary& summary) {
  return fmt::format(
      "<h1>When does label smoothing help on this data?</h1>\n<p class=\"sub\">smoothlab study, {} preset, {}; details "
      "<a href=\"#when\">per regime</a> and <a href=\"#claims\">per claim</a> below.</p>\n",
      html_escape(summary.preset.name),
      html_escape(summary.data));
}

// What the study reproduces, and the training regimes its numbers come from.
std::string about_section(const StudySummary& summary) {
  const auto regimes = regime_lines(summary.preset);
  std::string b = "<h2 id=\"about\">About this study</h2>\n";
  b += "<p>" + html_escape(summary.preset.description) +
      ". Reproduces Müller, Kornblith &amp; Hinton, <i>When Does Label Smoothing Help?</i> (NeurIPS 2019) on the data "
      "at hand. Every number below comes from the runs in <code>runs/</code>; all of them are also in "
      "<code>summary.json</code>.</p>\n";
  b += "<div class=\"note\"><b>Regimes.</b> Each number says which training regime it comes from:<ul>";
  b += "<li><b>short schedule</b>: " + html_escape(without_label(regimes.teacher)) + "</li>";
  if (!regimes.overconf.empty())
    b += "<li><b>over-confident regime</b>: " + html_escape(without_label(regimes.overconf)) + "</li>";
  for (const auto* d : {&regimes.transfer, &regimes.noisy})
    if (!d->empty())
      b += "<li>" + html_escape(*d) + "</li>";
  b +=
      "</ul>The paper's calibration claim is about networks that are <i>over</i>-confident after long training. A short "
      "schedule on an easy task does not produce one, and then label smoothing makes the model under-confident. "
      "Read the calibration numbers with their regime.</div>\n";
  return b;
}

// A claim's Δ [interval] cell: the quantity, the interval, the rule and what was resampled.
std::string evidence_cell(const std::optional<Evidence>& e) {
  if (!e)
    return "no interval";
  return "<small>" + html_escape(e->quantity) + "</small><br><b>" + html_escape(e->interval_text()) +
      "</b><br><small>" + html_escape(e->rule()) + "; " + html_escape(e->resampled) + "</small>";
}

// The claims table: one row per claim, with the paper's numbers, ours, the interval and the verdict.
std::string claims_table(const std::vector<Claim>& claims) {
  std::string table =
      "<table class=\"claims\">\n<thead><tr><th>claim</th><th>paper</th><th>measured here</th>"
      "<th>Δ [interval]</th><th>verdict</th><th>regime</th></tr></thead>\n<tbody>\n";
  for (const auto& c : claims)
    table += fmt::format(
        "<tr><th scope=\"row\">{} <small>({})</small></th><td>{}</td><td>{}{}</td><td>{}</td><td class=\"{}\">{}</td>"
        "<td>{}</td></tr>\n",
        html_escape(c.claim),
        html_escape(c.source),
        html_escape(c.paper),
        html_escape(c.measured),
        c.note.empty() ? "" : "<br><small>" + html_escape(c.note) + "</small>",
        evidence_cell(c.evidence),
        verdict_class(c.verdict),
        html_escape(verdict_name(c.verdict)),
        html_escape(c.regime));
  if (claims.empty())
    table += "<tr><td colspan=\"6\">no claim could be tested</td></tr>\n";
  table += "</tbody></table>\n";
  return table;
}

// The claims of the paper: the one rule of the verdicts, the claims table and the sources.
std::string claims_section(const StudySummary& summary) {
  std::string b = "<h2 id=\"claims\">Claims of the paper, measured here</h2>\n";
  const auto& bs = summary.tables.bootstrap;
  b += fmt::format(
      "<p><b>One rule for every claim.</b> Each claim is a quantity Δ, oriented so that larger means \"as the paper "
      "says\", and a threshold: 0 for a directional claim, a stated margin for \"does not hurt\" or \"about as well "
      "as\". Δ gets a {:g}% paired bootstrap interval ({} resamples, seed {}): the test examples are drawn with "
      "replacement once per resample and shared by every run compared (they were all evaluated on the same "
      "examples), and the seeds are drawn with replacement when there are several. The verdict is <span "
      "class=\"held\">held</span> when the whole interval lies above the threshold, <span class=\"failed\">not "
      "held</span> when it lies below, and <span class=\"inconclusive\">inconclusive</span> when it contains the "
      "threshold. Choices (the best temperature, the best ε) are made on the validation split and kept fixed in "
      "the resamples.</p>\n",
      100 * bs.level,
      bs.resamples,
      bs.seed);
  b += claims_table(summary.claims);
  b += "<p class=\"note\">Sources: [M] Müller, Kornblith &amp; Hinton, <i>When Does Label Smoothing Help?</i> "
       "(NeurIPS 2019); [G] Guo, Pleiss, Sun &amp; Weinberger, <i>On Calibration of Modern Neural Networks</i> "
       "(ICML 2017); [S] Shen, Liu, Xu, Savvides, Cheng &amp; Xing, <i>Is Label Smoothing Truly Incompatible with "
       "Knowledge Distillation? An Empirical Study</i> (ICLR 2021); Xia, Laurent, Franchi &amp; Bouganis, <i>Towards "
       "Understanding Why Label Smoothing Degrades Selective Classification and How to Fix It</i> (ICLR 2025); Zhu, "
       "Cheng, Zhang &amp; Liu, <i>Rethinking Confidence Calibration for Failure Prediction</i> (ECCV 2022); Cattelan "
       "&amp; Silva, <i>How to Fix a Broken Confidence Estimator</i> (UAI 2024); Wang, Feng &amp; Zhang, "
       "<i>Rethinking Calibration of Deep Neural Networks: Do Not Be Afraid of Overconfidence</i> (NeurIPS 2021)."
       "</p>\n";
  return b;
}

// A number with `digits` decimals, or a dash when it is missing (not finite).
std::string fixed_or_dash(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("—");
}

// A regime's table of calibration against ε, with ε = 0 after temperature scaling as its last row.
std::string regime_table(const RegimeAnswer& w) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : w.rows) {
    const auto& o = r.overconfidence;
    rows.push_back(
        {fmt::format("{:g}", r.epsilon),
         fmt::format("{:.2f}%", 100 * r.accuracy),
         fixed_or_dash(r.ece, 4),
         fixed_or_dash(r.nll, 4),
         fixed_or_dash(r.val_ece.value_or(NAN), 4),
         o.resamples > 0 ? fmt::format("{:+.4f} [{:+.4f}, {:+.4f}]", o.estimate, o.low, o.high) : "—",
         r.state.empty() ? "—" : r.state});
  }
  rows.push_back(
      {"0 + temperature scaling",
       "(unchanged)",
       fixed_or_dash(w.ece_ts, 4),
       fixed_or_dash(w.nll_ts, 4),
       "—",
       "—",
       std::isfinite(w.temperature) ? fmt::format("T̂ = {:.3f}", w.temperature) : "—"});
  return html_table(
      {"ε", "test accuracy", "ECE (test)", "NLL (test)", "ECE (validation)", "confidence − accuracy [95%]", "state"},
      rows);
}

// "quantity = Δ [interval]" of a choice's evidence.
std::string evidence_text(const Evidence& e) {
  return html_escape(e.quantity) + " = " + html_escape(e.interval_text());
}

// A regime's choices of ε (the cap rule, validation, the best post-hoc calibrator) and its conclusions.
std::string regime_findings(const RegimeAnswer& w) {
  std::string b = "<ul>";
  if (std::isfinite(w.cap_epsilon))
    b += fmt::format(
        "<li>Cap rule: training with ε caps the training confidence at 1 − ε + ε/K; it equals the hard-target "
        "model's training accuracy ({:.2f}%) at <b>ε ≈ {:.3f}</b>.</li>",
        100 * w.train_accuracy,
        w.cap_epsilon);
  if (std::isfinite(w.val_epsilon))
    b += fmt::format(
        "<li>Chosen on validation (lowest validation ECE): <b>ε = {:g}</b>{}.</li>",
        w.val_epsilon,
        w.val_vs_ts ? "; against temperature scaling: " + evidence_text(*w.val_vs_ts) + " (margin −0.01)" : "");
  if (!w.posthoc_method.empty())
    b += fmt::format(
        "<li>Best post-hoc calibrator of the ε = 0 model, chosen on validation by 5-fold cross-validated NLL among "
        "every calibrator of <code>smoothlab calibrate</code>: <b>{}</b>, test ECE {}{}.</li>",
        html_escape(w.posthoc_method),
        fixed_or_dash(w.ece_posthoc, 4),
        w.val_vs_posthoc ? "; " + evidence_text(*w.val_vs_posthoc) +
                " (margin −0.01; the calibrator is fitted once and held fixed in the resamples)"
                         : "");
  b += "</ul>\n<p><b>" + html_escape(w.conclusion) + "</b></p>\n";
  if (!w.beyond_calibration.empty())
    b += "<p><b>" + html_escape(w.beyond_calibration) + "</b></p>\n";
  return b;
}

// The ranking of the post-hoc calibrators of a regime's first ε = 0 run, folded ("" without one).
std::string posthoc_ranking(const Tables& t, const RegimeAnswer& w) {
  for (const auto& run : t.runs)
    if (run.spec.group == w.group && run.spec.epsilon == 0.0 && run.posthoc) {
      std::vector<std::vector<std::string>> ranked;
      for (const auto& m : run.posthoc->ranking)
        ranked.push_back(
            {html_escape(m.method), fixed_or_dash(m.cv_nll, 4), fixed_or_dash(m.nll, 4), fixed_or_dash(m.ece, 4)});
      std::string b = fmt::format(
          "<details><summary>Every post-hoc calibrator of the ε = 0 model (seed {}), in the order of the choice"
          "</summary>\n",
          run.spec.seed);
      b += html_table({"calibrator", "NLL, 5-fold CV on validation", "NLL (test)", "ECE (test)"}, ranked);
      b += "</details>\n";
      return b;
    }
  return "";
}

// When does it help: calibration against ε, per regime.
std::string when_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"when\">When does label smoothing help? Calibration against ε, per regime</h2>\n";
  for (const auto& w : summary.when) {
    b += "<h3>" + html_escape(group_name(w.group)) + "</h3>\n<p><small>" + html_escape(without_label(w.description)) +
        "</small></p>\n";
    b += regime_table(w);
    b += regime_findings(w);
    b += posthoc_ranking(summary.tables, w);
  }
  b += figure(
      summary,
      out_dir,
      "ece_nll_vs_eps",
      "ECE and NLL against ε, per regime; dashed: ε = 0 after temperature scaling; dotted: the cap rule's ε");
  return b;
}

// Paper Table 2: test accuracy per regime and ε.
std::string accuracy_section(const Tables& t) {
  std::string b = "<h2 id=\"accuracy\">Accuracy with and without label smoothing (paper Table 2)</h2>\n";
  b += "<p>Test accuracy, mean ± standard deviation over seeds (n = number of seeds).</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.calibration)
    rows.push_back(
        {group_name(r.group),
         fmt::format("{:g}", r.epsilon),
         stat_cell(r.accuracy, 2, true),
         std::to_string(r.accuracy.n)});
  b += html_table({"regime", "ε", "test accuracy", "n"}, rows);
  return b;
}

// Paper Table 3: calibration of the baseline, after temperature scaling, and with label smoothing.
std::string calibration_section(const Tables& t) {
  std::string b =
      "<h2 id=\"calibration\">Calibration (paper Table 3): baseline, temperature scaling, label smoothing</h2>\n";
  b +=
      "<p>ECE with 15 equal-width bins on the test split. Temperature T fitted on the validation split (never on test) "
      "by minimising NLL. Paper Table 3: ResNet-56/CIFAR-100 baseline 0.150, TS 0.021 (T = 1.9), LS 0.024 "
      "(ε = 0.05); Inception-v4/ImageNet 0.071, 0.022 (T = 1.4), 0.035 (ε = 0.1).</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.calibration)
    rows.push_back(
        {group_name(r.group),
         fmt::format("{:g}", r.epsilon),
         stat_cell(r.ece),
         stat_cell(r.nll),
         stat_cell(r.mean_confidence),
         stat_cell(r.accuracy),
         stat_cell(r.temperature, 3),
         stat_cell(r.ece_ts),
         stat_cell(r.nll_ts)});
  b += html_table(
      {"regime", "ε", "ECE", "NLL", "mean confidence", "accuracy", "fitted T", "ECE after TS", "NLL after TS"}, rows);
  return b;
}

// Selective classification: AURC and its relatives per regime and ε, and the risk-coverage figure.
std::string selective_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"selective\">Selective classification: rejecting the least confident predictions</h2>\n";
  b +=
      "<p>Accept the test examples of highest confidence, reject the rest. AURC is the mean selective risk over "
      "every coverage, (1/N) Σ<sub>i</sub> e<sub>i</sub>/i with e<sub>i</sub> the errors among the i most confident "
      "(lower is better); E-AURC subtracts the AURC of an oracle that accepts every correct prediction first, so it "
      "measures the ranking alone; ties in confidence are averaged over their orders. Logit normalisation scores an "
      "example by max<sub>k</sub> z<sub>k</sub>/‖z‖<sub>p</sub> instead of its softmax probability, with p ∈ {1, …, 8} "
      "chosen per model by the AURC on the validation split.</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : summary.tables.calibration)
    if (r.aurc.n > 0)
      rows.push_back(
          {group_name(r.group),
           fmt::format("{:g}", r.epsilon),
           stat_cell(r.accuracy, 2, true),
           stat_cell(r.aurc),
           stat_cell(r.e_aurc),
           stat_cell(r.augrc),
           stat_cell(r.aurc_logit_norm)});
  b += html_table({"regime", "ε", "accuracy", "AURC", "E-AURC", "AUGRC", "AURC, logit normalisation"}, rows);
  b += figure(
      summary,
      out_dir,
      "risk_coverage",
      "Selective risk against coverage, ε = 0 and the claim's ε; dashed: after logit normalisation");
  return b;
}

// Paper Fig. 2: the reliability diagrams of each calibration regime.
std::string reliability_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"reliability\">Reliability diagrams (paper Fig. 2)</h2>\n";
  b += figure(summary, out_dir, "reliability_teacher", "Reliability, short schedule: hard, hard + TS, label smoothing");
  if (summary.figures.count("reliability_overconf"))
    b += figure(
        summary,
        out_dir,
        "reliability_overconf",
        "Reliability, over-confident regime: hard, hard + TS, label smoothing");
  return b;
}

// Paper Fig. 1: the penultimate-layer projections, with their comparison.
std::string projection_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"projection\">Penultimate-layer projections (paper Fig. 1)</h2>\n";
  b += "<p>Activations of the ε = 0 and smoothed teachers (first seed) projected on the plane through three class "
       "templates; training split (left) and held-out validation split (right).</p>\n";
  for (const std::string kind : {"dissimilar", "similar"}) {
    const auto& rows = summary.tables.projection;
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const ProjectionRow& p) { return p.kind == kind; });
    std::string caption = fmt::format("{} classes", kind);
    if (row != rows.end())
      caption += ": " + row->classes;
    b += figure(summary, out_dir, "projection_" + kind, caption);
    if (row != rows.end() && row->comparison)
      b += "<p>" + html_escape(row->comparison->verdict) + "</p>\n";
  }
  return b;
}

// Neural collapse of the teachers' penultimate features ("" without the table).
std::string collapse_section(const Tables& t) {
  if (t.collapse.empty())
    return "";
  std::string b = "<h3 id=\"collapse\">Neural collapse of the teachers' penultimate features</h3>\n";
  b += "<p>On the same un-augmented training examples of every class (first seed): NC1 = tr(Σ<sub>W</sub> "
       "Σ<sub>B</sub><sup>+</sup>)/K, the within-class variability against the spread of the class means (lower = "
       "more collapsed); NC2 equinorm, the coefficient of variation of the centred class means' norms, and "
       "equiangularity, the mean |cos + 1/(K−1)| between them (both 0 for a simplex equiangular tight frame). The "
       "global mean is the mean of the class means (Papyan, Han and Donoho 2020).</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : t.collapse)
    rows.push_back(
        {fmt::format("{:g}", c.epsilon),
         fmt::format("{:.4f}", c.nc.nc1),
         fmt::format("{:.4f}", c.nc.nc2_equinorm),
         fmt::format("{:.4f}", c.nc.nc2_equiangular),
         std::to_string(c.nc.count),
         std::to_string(c.nc.dim)});
  b += html_table({"teacher ε", "NC1", "NC2 equinorm", "NC2 equiangularity", "examples", "feature dimension"}, rows);
  return b;
}

// The distillation table: one row per series, teacher ε and temperature.
std::string distillation_table(const Tables& t) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.distillation) {
    const bool direct = r.series == "trained with LS (no teacher)";
    rows.push_back(
        {r.series,
         fmt::format("{:g}", r.teacher_epsilon),
         direct ? "—" : fmt::format("{:g}", r.temperature),
         stat_cell(r.gamma),
         direct ? "—" : stat_cell(r.teacher_accuracy, 2, true),
         stat_cell(r.student_val_accuracy, 2, true),
         stat_cell(r.student_accuracy, 2, true),
         stat_cell(r.student_ece),
         fmt::format("{} of {}", r.plateaued_runs, r.runs)});
  }
  return html_table(
      {"student of",
       "ε (teacher or own)",
       "T",
       "γ",
       "teacher accuracy",
       "student val accuracy",
       "student test accuracy",
       "student ECE",
       "plateaued"},
      rows);
}

// Paper Fig. 5: the two protocols of distillation, their table and figures.
std::string distillation_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"distillation\">Distillation (paper Fig. 5)</h2>\n";
  if (summary.tables.distillation.empty())
    return b + "<p class=\"note\">This preset has no distillation runs.</p>\n";
  b += "<p>Students trained with [M]'s loss H(softmax(z_t/T), softmax(z_s)) (β = 1, student at T = 1, no hard-label "
       "term). γ: the teacher's equivalent label smoothing at T on the training split (wrong-class mass × K/(K−1)). "
       "The same runs answer both protocols. <b>Müller et al.</b> [M] compare the hard teacher at its best "
       "temperature with smoothed teachers at T = 1 and find the hard teacher's students better. <b>Shen et al.</b> "
       "[S] compare every teacher at T = 1 with no hard term and find smoothed teachers' students better. Best T "
       "and best ε are chosen by the students' validation accuracy.</p>\n";
  if (!summary.distillation_conclusion.empty())
    b += "<p><b>" + html_escape(summary.distillation_conclusion) + "</b></p>\n";
  b += distillation_table(summary.tables);
  b += "<p><small>Plateaued: every epoch of the last quarter (at least the one before the last) has a validation "
       "accuracy within 2·√2 binomial standard errors of the last epoch's.</small></p>\n";
  b += figure(summary, out_dir, "distillation", "Student accuracy against γ");
  b += figure(summary, out_dir, "student_curves", "Students' validation accuracy per epoch (mean over seeds)");
  return b;
}

// Paper Fig. 6: Î over training, figure and table.
std::string mi_section(const StudySummary& summary, const fs::path& out_dir) {
  std::string b = "<h2 id=\"mi\">Mutual information over training (paper Fig. 6)</h2>\n";
  if (summary.tables.mutual_information.empty())
    return b + "<p class=\"note\">No Î was logged.</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : summary.tables.mutual_information)
    for (const auto& p : r.points)
      rows.push_back(
          {fmt::format("ε = {:g}", r.epsilon),
           std::to_string(p.step),
           fmt::format("{:.2f}", p.epoch),
           stat_cell(p.mi, 3)});
  b += figure(
      summary,
      out_dir,
      "mutual_information",
      "Î between example and logit gap over training, from step 0 (--mi-every) and at each epoch's end");
  b += html_table({"teacher", "step", "epoch", "Î (nats)"}, rows);
  return b;
}

std::string notes_section(const Tables& t) {
  if (t.notes.empty())
    return "";
  std::string b = "<h2>Notes</h2>\n<ul>";
  for (const auto& n : t.notes)
    b += "<li>" + html_escape(n) + "</li>";
  b += "</ul>\n";
  return b;
}

// Provenance: the command line, versions, machine and this call's time.
std::string provenance_section(const Provenance& p) {
  std::string b = "<h2 id=\"provenance\">Provenance</h2>\n";
  std::vector<std::vector<std::string>> rows = {
      {"command line", p.command_line},
      {"smoothlab", p.versions.smoothlab},
      {"LibTorch", p.versions.libtorch},
      {"BLAS", p.blas},
      {"compiler", p.versions.compiler},
      {"machine",
       fmt::format("{} — {} ({} cores, {})", p.machine.host, p.machine.cpu, p.machine.cores, p.machine.memory)},
      {"threads", std::to_string(p.threads)},
      {"device", train::device_name(p.device)},
      {"precision", model::precision_name(p.precision)},
      {"this call",
       fmt::format("{:.1f} s; {} runs reused, {} trained", p.seconds_this_call, p.runs_reused, p.runs_trained)}};
  b += html_table({"item", "value"}, rows);
  return b;
}

// The cost table: what each group of runs was estimated to cost (on 2 idle cores) and what its training took.
std::string cost_section(const Tables& t) {
  struct Cost {
    std::string model;
    int64_t runs = 0, epochs = 0;
    double estimated = 0, measured = 0;
  };
  std::vector<std::pair<std::string, Cost>> groups;
  Cost total;
  for (const auto& r : t.runs) {
    const std::string& g = r.spec.group;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& p) { return p.first == g; });
    if (it == groups.end()) {
      groups.push_back({g, Cost{r.spec.config.model}});
      it = groups.end() - 1;
    }
    for (Cost* c : {&it->second, &total}) {
      ++c->runs;
      c->epochs += r.spec.config.optimiser.epochs;
      c->estimated += r.spec.cost_seconds;
      c->measured += r.train_seconds;
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [g, c] : groups)
    rows.push_back(
        {g,
         c.model,
         std::to_string(c.runs),
         std::to_string(c.epochs),
         fmt::format("{:.1f}", c.estimated / 60),
         fmt::format("{:.1f}", c.measured / 60)});
  rows.push_back(
      {"all",
       "—",
       std::to_string(total.runs),
       std::to_string(total.epochs),
       fmt::format("{:.1f}", total.estimated / 60),
       fmt::format("{:.1f}", total.measured / 60)});
  std::string b =
      "<h3 id=\"cost\">Cost</h3>\n<p>Estimated: the preset's cost model, on 2 idle CPU cores. Measured: "
      "the training time the runs recorded (evaluation and analysis not included), on the machine "
      "above.</p>\n";
  b += html_table({"group", "model", "runs", "epochs", "estimated minutes", "measured training minutes"}, rows);
  return b;
}

// Every run, with its folder in runs/.
std::string runs_section(const Tables& t) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t.runs)
    rows.push_back(
        {r.spec.name,
         r.spec.group,
         r.spec.config.model,
         std::to_string(r.spec.config.optimiser.epochs),
         fmt::format("{:.2f}%", 100 * r.eval.test.accuracy),
         fmt::format("{:.4f}", r.eval.test.ece),
         fmt::format("{:.1f} s", r.train_seconds)});
  std::string b = "<h3>Runs</h3>\n";
  b += html_table({"run (folder in runs/)", "group", "model", "epochs", "test accuracy", "ECE", "training time"}, rows);
  return b;
}

} // namespace

std::string render_report(const StudySummary& summary, const fs::path& out_dir) {
  const Tables& t = summary.tables;
  std::string b = title_section(summary);
  b += answer_section(summary);
  b += about_section(summary);
  b += claims_section(summary); // claims first: the verdicts
  b += when_section(summary, out_dir);
  b += accuracy_section(t);
  b += calibration_section(t);
  b += selective_section(summary, out_dir);
  b += reliability_section(summary, out_dir);
  b += projection_section(summary, out_dir);
  b += collapse_section(t);
  b += transfer_section(t);
  b += noise_section(t);
  b += distillation_section(summary, out_dir);
  b += mi_section(summary, out_dir);
  b += notes_section(t);
  b += provenance_section(summary.provenance);
  b += cost_section(t);
  b += runs_section(t);
  return html::html_page("smoothlab study — " + summary.preset.name, b);
}

} // namespace smoothlab::study
