// The paper's claims and the "when" answers against the tables (claims.h).
#include "smoothlab/study/claims.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "smoothlab/core/error.h"

namespace smoothlab::study {

using json = nlohmann::json;

// The board's words for a claim, by its id without the regime.
std::string claim_headline(const std::string& id) {
  static const std::vector<std::pair<std::string, std::string>> words = {
      {"accuracy_", "LS does not hurt accuracy"},
      {"overconfident_", "without LS the model is over-confident"},
      {"temperature_scaling_", "temperature scaling lowers the ECE"},
      {"ls_calibrates_", "LS lowers the ECE"},
      {"ls_vs_ts_", "LS calibrates about as well as temperature scaling"},
      {"selective_", "LS worsens selective classification (AURC)"},
      {"logit_norm_", "logit normalisation recovers it"},
      {"calibratable_", "after temperature scaling LS is no better calibrated"},
      {"projection_", "LS tightens the training clusters"},
      {"neural_collapse", "LS collapses the classes further (NC1)"},
      {"transfer", "LS features transfer worse to new classes (linear probe)"},
      {"unseen_classes", "LS hurts detecting unseen classes (AUROC, max softmax)"},
      {"label_noise", "under label noise, LS (ε chosen on noisy validation) improves accuracy"},
      {"distill_hard_teacher", "hard teacher at its best T distils best (Müller)"},
      {"distill_shen", "smoothed teacher distils best at T = 1 (Shen)"},
      {"distill_vs_direct", "a smoothed teacher's student is no better than LS itself"},
      {"mi_falls", "LS lowers the information in the logits (Î)"}};
  for (const auto& [prefix, text] : words)
    if (id.rfind(prefix, 0) == 0)
      return id.rfind("projection_", 0) == 0 ? text + " (" + id.substr(prefix.size()) + " classes)" : text;
  return id;
}

json to_json(const Claim& c) {
  json j = {
      {"id", c.id},
      {"source", c.source},
      {"claim", c.claim},
      {"paper", c.paper},
      {"measured", c.measured},
      {"verdict", verdict_name(c.verdict)},
      {"regime", c.regime},
      {"note", c.note},
      {"headline", claim_headline(c.id)}};
  j["evidence"] = c.evidence ? to_json(*c.evidence) : json(nullptr);
  return j;
}

namespace {

std::string pct(const Stat& s) {
  if (s.n == 0)
    return "";
  if (s.n == 1)
    return fmt::format("{:.2f}%", 100 * s.mean);
  return fmt::format("{:.2f} ± {:.2f}%", 100 * s.mean, 100 * s.std);
}

// The runs of several arms on the seeds they have in common (each run with predictions), aligned by seed.
std::vector<std::vector<const RunPredictions*>> align(const std::vector<std::vector<const RunRow*>>& arms) {
  std::map<uint64_t, std::vector<const RunPredictions*>> by_seed;
  for (size_t a = 0; a < arms.size(); ++a)
    for (const auto* r : arms[a])
      if (r->predictions) {
        auto& v = by_seed[r->spec.seed];
        v.resize(arms.size(), nullptr);
        v[a] = r->predictions.get();
      }
  std::vector<std::vector<const RunPredictions*>> out(arms.size());
  for (const auto& [seed, v] : by_seed)
    if (v.size() == arms.size() && std::all_of(v.begin(), v.end(), [](auto* p) { return p != nullptr; }))
      for (size_t a = 0; a < arms.size(); ++a)
        out[a].push_back(v[a]);
  if (out.empty() || out[0].empty())
    return {};
  return out;
}

Statistic acc_stat() {
  return [](const RunPredictions& p, const Resample& r) { return accuracy(p, r); };
}
Statistic ece_stat(int64_t bins, bool at_fitted_temperature = false) {
  return [bins, at_fitted_temperature](const RunPredictions& p, const Resample& r) {
    return ece(p, r, bins, at_fitted_temperature);
  };
}

Statistic aurc_stat(bool logit_norm = false) {
  return [logit_norm](const RunPredictions& p, const Resample& r) { return selective(p, r, logit_norm).aurc; };
}

Statistic ece_posthoc_stat(int64_t bins) {
  return [bins](const RunPredictions& p, const Resample& r) { return ece_posthoc(p, r, bins); };
}

// The evidence of Δ = Σ sign_k · stat_k(arm_k) on the arms' common seeds; none when they have no common seed.
std::optional<Evidence> evidence_of(
    const Tables& t,
    std::string quantity,
    std::string unit,
    double scale,
    double threshold,
    const std::vector<std::vector<const RunRow*>>& arms,
    const std::vector<std::pair<Statistic, double>>& stats,
    bool uses_validation = false) { // a statistic reads the validation examples (the temperature re-fit)
  const auto aligned = align(arms);
  if (aligned.empty())
    return std::nullopt;
  std::vector<Term> terms;
  for (size_t k = 0; k < stats.size(); ++k)
    terms.push_back({aligned[k], stats[k].first, stats[k].second});
  Evidence e;
  e.quantity = std::move(quantity);
  e.unit = std::move(unit);
  e.scale = scale;
  e.threshold = threshold;
  e.interval = bootstrap(terms, t.bootstrap);
  e.resampled = fmt::format(
      "{} resamples of the {} test examples{}{}, paired",
      e.interval.resamples,
      e.interval.test_examples,
      uses_validation && e.interval.val_examples > 0
          ? fmt::format(" and {} validation examples", e.interval.val_examples)
          : "",
      e.interval.seeds > 1 ? fmt::format(" and of the {} seeds", e.interval.seeds) : " (one seed)");
  return e;
}

// The evidence of a Δ > 0 claim whose interval resamples the training examples of the first seed's two teachers (the
// same in both runs: paired); none without a valid interval.
std::optional<Evidence> paired_training_evidence(
    std::string quantity,
    const Interval& interval,
    const char* examples,
    std::string unit = "",
    double scale = 1) {
  if (!interval.valid())
    return std::nullopt;
  Evidence e;
  e.quantity = std::move(quantity);
  e.unit = std::move(unit);
  e.scale = scale;
  e.threshold = 0;
  e.interval = interval;
  e.resampled = fmt::format(
      "{} resamples of the {} {} (the same in both runs: paired), first seed",
      interval.resamples,
      interval.test_examples,
      examples);
  return e;
}

Verdict verdict_of(const std::optional<Evidence>& e) {
  return e ? decide(e->interval, e->threshold) : Verdict::NotTested;
}

// What an inconclusive or failed verdict means, for the note.
std::string reading(const std::optional<Evidence>& e, const std::string& held, const std::string& not_held) {
  switch (verdict_of(e)) {
    case Verdict::Held:
      return held;
    case Verdict::NotHeld:
      return not_held;
    case Verdict::Inconclusive:
      return "the interval contains the threshold: this data cannot tell (more test examples or seeds would)";
    case Verdict::NotTested:
      return "no per-example predictions to resample";
  }
  return "";
}

// A calibration regime's two arms, as its claims compare them: ε = 0 (hard) and the claim's ε (smooth).
struct Arms {
  const Regime& g;
  const CalibRow* h; // the ε = 0 row
  const CalibRow* l; // the claim's ε row
  std::vector<const RunRow*> hard, smooth;
  std::string eps; // the claim's ε, formatted
};

void accuracy_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  auto acc = evidence_of(
      t,
      fmt::format("Δ = accuracy(ε = {}) − accuracy(ε = 0)", a.eps),
      "points",
      100,
      -kAccuracyMargin,
      {a.smooth, a.hard},
      {{acc_stat(), 1}, {acc_stat(), -1}});
  out.push_back(
      {"accuracy_" + a.g.group,
       "[M] §1, Table 2",
       fmt::format("Label smoothing (ε = {}) does not hurt accuracy (by more than 0.5 points)", a.eps),
       "ε = 0 / 0.1: AlexNet/CIFAR-10 86.8 / 86.7%, ResNet-56/CIFAR-100 72.1 / 72.7%, Inception-v4/ImageNet 80.9 / 80.9%",
       fmt::format("{} → {}", pct(a.h->accuracy), pct(a.l->accuracy)),
       verdict_of(acc),
       a.g.description,
       reading(acc, "", "smoothing hurt accuracy by more than the margin"),
       acc});
}

void overconfident_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const Statistic one = [](const RunPredictions&, const Resample&) { return 1.0; };
  auto over = evidence_of(
      t,
      "Δ = T̂ − 1, T̂ re-fitted (NLL) on each validation resample",
      "",
      1,
      0,
      {a.hard, a.hard},
      {{fitted_temperature, 1}, {one, -1}},
      true);
  const bool overconfident = verdict_of(over) == Verdict::Held;
  out.push_back(
      {"overconfident_" + a.g.group,
       "[G] §3, [M] §3 Table 3",
       "Without smoothing the network is over-confident (temperature scaling fits T > 1)",
       "ResNet-56/CIFAR-100: T = 1.9; Inception-v4/ImageNet: T = 1.4",
       fmt::format(
           "fitted T = {:.3f}; mean confidence {:.4f} vs accuracy {:.4f}",
           h->temperature.mean,
           h->mean_confidence.mean,
           h->accuracy.mean),
       verdict_of(over),
       a.g.description,
       overconfident ? "this regime is the one the paper's calibration claim is about"
                     : "this regime does not produce a clearly over-confident hard-target model, so the paper's "
                       "calibration claim (made of over-confident networks trained to convergence) is not about it",
       over});
}

void temperature_scaling_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const int64_t bins = t.bootstrap.bins;
  auto ts = evidence_of(
      t,
      "Δ = ECE(ε = 0, T = 1) − ECE(ε = 0, T̂)",
      "",
      1,
      0,
      {a.hard, a.hard},
      {{ece_stat(bins), 1}, {ece_stat(bins, true), -1}});
  out.push_back(
      {"temperature_scaling_" + a.g.group,
       "[G] §4.2, [M] Table 3",
       "Temperature scaling (fitted on validation) lowers the test ECE of the hard-target network",
       "ResNet-56/CIFAR-100 ECE 0.150 → 0.021; Inception-v4 0.071 → 0.022",
       fmt::format("ECE {:.4f} → {:.4f} (T = {:.3f})", h->ece.mean, h->ece_ts.mean, h->temperature.mean),
       verdict_of(ts),
       a.g.description,
       reading(ts, "", "temperature scaling raised the ECE"),
       ts});
}

void ls_calibrates_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const CalibRow* l = a.l;
  const int64_t bins = t.bootstrap.bins;
  auto ls = evidence_of(
      t,
      fmt::format("Δ = ECE(ε = 0) − ECE(ε = {})", a.eps),
      "",
      1,
      0,
      {a.hard, a.smooth},
      {{ece_stat(bins), 1}, {ece_stat(bins), -1}});
  out.push_back(
      {"ls_calibrates_" + a.g.group,
       "[M] §3, Table 3, Fig. 2",
       fmt::format("Label smoothing (ε = {}) lowers the ECE of the hard-target network", a.eps),
       "ResNet-56/CIFAR-100 ECE 0.150 → 0.024 (ε = 0.05); Inception-v4/ImageNet 0.071 → 0.035 (ε = 0.1)",
       fmt::format(
           "ECE {:.4f} → {:.4f}; NLL {:.4f} → {:.4f}; mean confidence {:.4f} → {:.4f}",
           h->ece.mean,
           l->ece.mean,
           h->nll.mean,
           l->nll.mean,
           h->mean_confidence.mean,
           l->mean_confidence.mean),
       verdict_of(ls),
       a.g.description,
       l->mean_confidence.mean < l->accuracy.mean
           ? fmt::format(
                 "with ε = {} the model is under-confident (mean confidence below accuracy): see the "
                 "\"when\" section for the ε that calibrates",
                 a.eps)
           : reading(ls, "", "smoothing raised the ECE"),
       ls});
}

// ls_vs_ts: the ε > 0 with the lowest validation ECE (chosen without looking at test) against temperature scaling.
void ls_vs_ts_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const Regime& g = a.g;
  double best_eps = 0, best_val = INFINITY;
  for (double e : g.epsilons)
    if (const CalibRow* r = t.calibration_row(g.group, e);
        r && e > 0 && r->val_ece.n > 0 && r->val_ece.mean < best_val) {
      best_val = r->val_ece.mean;
      best_eps = e;
    }
  if (best_eps <= 0)
    return;
  const int64_t bins = t.bootstrap.bins;
  const CalibRow* best = t.calibration_row(g.group, best_eps);
  auto vs = evidence_of(
      t,
      fmt::format("Δ = ECE(ε = 0, T̂) − ECE(ε = {})", format_epsilon(best_eps)),
      "",
      1,
      -kEceMargin,
      {a.hard, t.select(g.group, best_eps)},
      {{ece_stat(bins, true), 1}, {ece_stat(bins), -1}});
  out.push_back(
      {"ls_vs_ts_" + g.group,
       "[M] §3, Table 3",
       "Label smoothing calibrates about as well as temperature scaling (ECE within 0.01)",
       "CIFAR-100: LS 0.024 vs TS 0.021; ImageNet: LS 0.035 vs TS 0.022",
       fmt::format(
           "LS (ε = {}, chosen on validation) {:.4f} vs TS {:.4f}",
           format_epsilon(best_eps),
           best->ece.mean,
           a.h->ece_ts.mean),
       verdict_of(vs),
       g.description,
       reading(vs, "", "label smoothing calibrates worse than temperature scaling by more than 0.01"),
       vs});
}

// The ε = 0 and claim-ε arms of a regime; none when either row is missing or has no runs measuring `measured`.
std::optional<Arms> arms_of(const Tables& t, const Regime& g, Stat CalibRow::*measured) {
  const double ce = t.claim_epsilon;
  const CalibRow* h = t.calibration_row(g.group, 0.0);
  const CalibRow* l = t.calibration_row(g.group, ce);
  if (!h || !l || (h->*measured).n == 0 || (l->*measured).n == 0)
    return std::nullopt;
  return Arms{g, h, l, t.select(g.group, 0.0), t.select(g.group, ce), format_epsilon(ce)};
}

void regime_claims(const Tables& t, const Regime& g, std::vector<Claim>& out) {
  const auto arms = arms_of(t, g, &CalibRow::accuracy);
  if (!arms)
    return;
  const Arms& a = *arms;
  accuracy_claim(t, a, out);
  overconfident_claim(t, a, out);
  temperature_scaling_claim(t, a, out);
  ls_calibrates_claim(t, a, out);
  ls_vs_ts_claim(t, a, out);
}

void selective_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const CalibRow* l = a.l;
  auto sc = evidence_of(
      t,
      fmt::format("Δ = AURC(ε = {}) − AURC(ε = 0), max-softmax confidence", a.eps),
      "×10⁻³",
      1000,
      0,
      {a.smooth, a.hard},
      {{aurc_stat(), 1}, {aurc_stat(), -1}});
  out.push_back(
      {"selective_" + a.g.group,
       "Xia et al., ICLR 2025; Zhu et al., ECCV 2022",
       fmt::format(
           "Label smoothing (ε = {}) worsens selective classification: rejecting the least confident predictions "
           "removes fewer errors (higher AURC)",
           a.eps),
       "qualitative: AURC rises with ε on CIFAR-10/100 and ImageNet, most at low coverage",
       fmt::format(
           "AURC {:.4f} → {:.4f}; E-AURC (ranking only) {:.4f} → {:.4f}; accuracy {} → {}",
           h->aurc.mean,
           l->aurc.mean,
           h->e_aurc.mean,
           l->e_aurc.mean,
           pct(h->accuracy),
           pct(l->accuracy)),
       verdict_of(sc),
       a.g.description,
       reading(sc, "", "smoothing improved selective classification here"),
       sc});
}

void logit_norm_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const CalibRow* l = a.l;
  if (l->aurc_logit_norm.n <= 0)
    return;
  const std::string& eps = a.eps;
  std::vector<std::string> ps;
  for (const auto* r : a.smooth)
    if (r->predictions && r->predictions->logit_norm_p > 0)
      ps.push_back(std::to_string(r->predictions->logit_norm_p));
  auto ln = evidence_of(
      t,
      fmt::format("Δ = AURC(ε = {}, max softmax) − AURC(ε = {}, max z/‖z‖_p)", eps, eps),
      "×10⁻³",
      1000,
      0,
      {a.smooth, a.smooth},
      {{aurc_stat(), 1}, {aurc_stat(true), -1}});
  out.push_back(
      {"logit_norm_" + a.g.group,
       "Xia et al., ICLR 2025 (after Cattelan and Silva, UAI 2024)",
       fmt::format(
           "Normalising the logits (κ = max_k z_k/‖z‖_p, p chosen on validation) recovers the selective "
           "classification of the ε = {} model (lowers its AURC)",
           eps),
       "qualitative: recovers most of the loss for LS models, not for hard-target ones",
       fmt::format(
           "ε = {}: AURC {:.4f} → {:.4f} (p = {}); ε = 0 for comparison: {:.4f} → {:.4f}",
           eps,
           l->aurc.mean,
           l->aurc_logit_norm.mean,
           join(ps, ", "),
           h->aurc.mean,
           h->aurc_logit_norm.mean),
       verdict_of(ln),
       a.g.description,
       reading(ln, "", "the normalised logit ranks the errors worse than the softmax confidence"),
       ln});
}

void calibratable_claim(const Tables& t, const Arms& a, std::vector<Claim>& out) {
  const CalibRow* h = a.h;
  const CalibRow* l = a.l;
  if (h->ece_ts.n <= 0 || l->ece_ts.n <= 0)
    return;
  const int64_t bins = t.bootstrap.bins;
  auto cal = evidence_of(
      t,
      fmt::format("Δ = ECE(ε = {}, T̂) − ECE(ε = 0, T̂), each at its own temperature", a.eps),
      "",
      1,
      -kEceMargin,
      {a.smooth, a.hard},
      {{ece_stat(bins, true), 1}, {ece_stat(bins, true), -1}});
  out.push_back(
      {"calibratable_" + a.g.group,
       "Wang, Feng and Zhang, NeurIPS 2021",
       fmt::format(
           "After temperature scaling, label smoothing (ε = {}) calibrates no better than hard targets (ECE not "
           "lower by more than 0.01)",
           a.eps),
       "qualitative: regularised models are better calibrated before, not after, post-hoc calibration",
       fmt::format(
           "after temperature scaling: ECE {:.4f} (ε = 0, T = {:.2f}) vs {:.4f} (ε = {}, T = {:.2f}); NLL {:.4f} vs "
           "{:.4f}",
           h->ece_ts.mean,
           h->temperature.mean,
           l->ece_ts.mean,
           a.eps,
           l->temperature.mean,
           h->nll_ts.mean,
           l->nll_ts.mean),
       verdict_of(cal),
       a.g.description,
       reading(cal, "", "the smoothed model calibrates better than the hard-target one after temperature scaling"),
       cal});
}

// The claims of the literature since 2019 that need no training beyond the regime's runs: selective classification
// (Xia et al. 2025, Zhu et al. 2022), logit normalisation, and calibratability after temperature scaling (Wang et al.
// 2021).
void hurts_claims(const Tables& t, const Regime& g, std::vector<Claim>& out) {
  const auto arms = arms_of(t, g, &CalibRow::aurc);
  if (!arms)
    return;
  const Arms& a = *arms;
  selective_claim(t, a, out);
  logit_norm_claim(t, a, out);
  calibratable_claim(t, a, out);
}

void projection_claims(const Tables& t, std::vector<Claim>& out) {
  for (const char* kind : {"dissimilar", "similar"}) {
    const ProjectionRow* p = nullptr;
    for (const auto& row : t.projection)
      if (row.kind == kind && row.comparison)
        p = &row;
    if (!p) {
      out.push_back(
          {std::string("projection_") + kind,
           "[M] §2, Fig. 1",
           "With label smoothing the training clusters are tighter",
           "qualitative (figure)",
           "no projection",
           Verdict::NotTested,
           t.teacher_regime,
           "",
           std::nullopt});
      continue;
    }
    const auto ev = paired_training_evidence(
        fmt::format(
            "Δ = tightness(ε = 0) − tightness(ε = {}) (within-class spread / centroid distance, plane, train)",
            format_epsilon(t.claim_epsilon)),
        p->tightness_difference,
        "projected training examples");
    out.push_back(
        {std::string("projection_") + kind,
         "[M] §2, Fig. 1",
         fmt::format("With label smoothing the training clusters of {} classes ({}) are tighter", kind, p->classes),
         "qualitative: much tighter clusters on a regular triangle",
         fmt::format(
             "tightness {:.4f} → {:.4f} (ratio {:.3f}); regularity {:.3f} → {:.3f}",
             p->comparison->baseline.tightness_plane,
             p->comparison->smoothed.tightness_plane,
             p->comparison->tightness_ratio,
             p->comparison->baseline.regularity,
             p->comparison->smoothed.regularity),
         verdict_of(ev),
         t.teacher_regime,
         reading(ev, "", "the smoothed run's clusters are looser"),
         ev});
  }
}

void collapse_claim(const Tables& t, std::vector<Claim>& out) {
  if (t.collapse.size() < 2)
    return;
  const auto& h = t.collapse[0].nc;
  const auto& l = t.collapse[1].nc;
  const auto ev = paired_training_evidence(
      fmt::format(
          "Δ = NC1(ε = 0) − NC1(ε = {}), NC1 = tr(Σ_W Σ_B⁺)/K of the penultimate features on {} training examples "
          "(un-augmented)",
          format_epsilon(t.claim_epsilon),
          h.count),
      t.nc1_difference,
      "training examples");
  out.push_back(
      {"neural_collapse",
       "Guo et al., TMLR 2025; NC1 and NC2 of Papyan, Han and Donoho, PNAS 2020",
       fmt::format(
           "Label smoothing (ε = {}) collapses the within-class variability further (lower NC1)",
           format_epsilon(t.claim_epsilon)),
       "qualitative: at equal epochs LS reaches a stronger neural collapse (lower NC1, and NC2 at equal NC1)",
       fmt::format(
           "NC1 {:.3f} → {:.3f}; NC2 equinorm {:.3f} → {:.3f}, equiangularity {:.3f} → {:.3f} (0 = simplex ETF)",
           h.nc1,
           l.nc1,
           h.nc2_equinorm,
           l.nc2_equinorm,
           h.nc2_equiangular,
           l.nc2_equiangular),
       verdict_of(ev),
       t.teacher_regime,
       reading(ev, "", "the smoothed teacher's classes are less collapsed"),
       ev});
}

std::string detection_text(const TransferRow& r) {
  std::vector<std::string> parts;
  for (const auto& [score, m] : r.detection)
    parts.push_back(fmt::format("{} {:.2f}% (FPR@95 {:.1f}%)", calib::score_name(score), 100 * m.auroc, 100 * m.fpr95));
  return join(parts, ", ");
}

void transfer_claims(const Tables& t, std::vector<Claim>& out) {
  if (!t.transfer || t.transfer->rows.size() < 2)
    return;
  const auto& tt = *t.transfer;
  const auto& h = tt.rows[0];
  const auto& l = tt.rows[1];
  const std::string eps = format_epsilon(t.claim_epsilon);
  auto probe = paired_training_evidence(
      fmt::format(
          "Δ = probe accuracy(ε = 0) − probe accuracy(ε = {}) on the unseen classes' test images (L2 multinomial "
          "logistic regression on {} frozen training features, λ by validation accuracy)",
          eps,
          tt.probe_train),
      tt.probe_difference,
      "test examples of the unseen classes",
      "points",
      100);
  out.push_back(
      {"transfer",
       "Kornblith, Chen, Lee and Norouzi, NeurIPS 2021",
       fmt::format(
           "Features learnt with label smoothing (ε = {}) transfer worse: a linear probe on the frozen penultimate "
           "features of the classes the model never saw is less accurate",
           eps),
       "ImageNet ResNet-50: LS and the other better losses give fixed features that transfer substantially worse",
       fmt::format(
           "trained on {}; probed on {}: accuracy {:.2f}% (ε = 0, λ = {:g}) vs {:.2f}% (ε = {}, λ = {:g})",
           tt.seen,
           tt.unseen,
           100 * h.probe.test_accuracy,
           h.probe.fit.l2,
           100 * l.probe.test_accuracy,
           eps,
           l.probe.fit.l2),
       verdict_of(probe),
       tt.regime,
       reading(probe, "", "the smoothed model's features transfer better here"),
       probe});

  auto detect = paired_training_evidence(
      fmt::format("Δ = AUROC(ε = 0) − AUROC(ε = {}), max-softmax score, seen classes' test images as positives", eps),
      tt.auroc_difference,
      "test examples of the seen and the unseen classes",
      "points",
      100);
  out.push_back(
      {"unseen_classes",
       "Xu et al. 2024 (LS degrades OOD detection) vs Vaze et al., ICLR 2022 (closed-set accuracy decides)",
       fmt::format(
           "Label smoothing (ε = {}) hurts telling images of unseen classes from the seen ones (lower AUROC of the "
           "max-softmax score)",
           eps),
       "disputed: Xu et al. find LS caps the max probability and logit and degrades detection; Vaze et al. use LS "
       "in their strongest open-set baseline",
       fmt::format(
           "AUROC ε = 0: {}; ε = {}: {} ({} seen, {} unseen test images)",
           detection_text(h),
           eps,
           detection_text(l),
           tt.seen_test,
           tt.unseen_test),
       verdict_of(detect),
       tt.regime,
       reading(detect, "", "the smoothed model tells the unseen classes apart better here"),
       detect});
}

// The label-noise regime's ε > 0 with the highest noisy-validation accuracy (ties: the smaller ε); null without one.
const NoiseRow* noise_choice(const Tables& t) {
  const NoiseRow* best = nullptr;
  for (const auto& r : t.noise)
    if (r.epsilon > 0 && r.val_accuracy.n > 0 && (!best || r.val_accuracy.mean > best->val_accuracy.mean))
      best = &r;
  return best;
}

void noise_claim(const Tables& t, std::vector<Claim>& out) {
  const bool has_hard = std::any_of(t.noise.begin(), t.noise.end(), [](const NoiseRow& r) { return r.epsilon == 0; });
  const NoiseRow* best = noise_choice(t);
  if (!has_hard || !best)
    return;
  const std::string eps = format_epsilon(best->epsilon);
  auto ev = evidence_of(
      t,
      fmt::format(
          "Δ = acc(ε = {}) − acc(ε = 0) on the clean test split; ε = {} has the highest noisy-validation accuracy of "
          "ε > 0",
          eps,
          eps),
      "points",
      100,
      0,
      {t.select("noisy", best->epsilon), t.select("noisy", 0.0)},
      {{acc_stat(), 1}, {acc_stat(), -1}});
  std::vector<std::string> grid;
  for (const auto& r : t.noise)
    grid.push_back(fmt::format(
        "ε = {}: {} (noisy validation {})", format_epsilon(r.epsilon), pct(r.accuracy), pct(r.val_accuracy)));
  out.push_back(
      {"label_noise",
       "Lukasik et al., ICML 2020; Wei et al., ICML 2022",
       fmt::format(
           "With {:g}% of the training labels wrong, label smoothing (ε chosen on a noisy validation split) improves "
           "accuracy on clean test labels",
           100 * t.label_noise),
       "CIFAR-10/100 at 20% symmetric noise: LS competitive with loss correction (Lukasik); its gain vanishes at high "
       "noise, where negative LS does better (Wei)",
       join(grid, "; "),
       verdict_of(ev),
       t.noisy_regime,
       reading(ev, "", "label smoothing lowered the clean accuracy under this noise"),
       ev});
}

// The row of a series with the highest validation accuracy (test accuracy when no validation was recorded).
const DistillRow* best_row(const Tables& t, const std::string& series) {
  const DistillRow* best = nullptr;
  auto score = [](const DistillRow& r) {
    return r.student_val_accuracy.n > 0 ? r.student_val_accuracy.mean : r.student_accuracy.mean;
  };
  for (const auto& r : t.distillation)
    if (r.series == series && r.student_accuracy.n > 0 && (!best || score(r) > score(*best)))
      best = &r;
  return best;
}

const DistillRow* row_at(const Tables& t, const std::string& series, double teacher_eps, double temperature) {
  for (const auto& r : t.distillation)
    if (r.series == series && r.teacher_epsilon == teacher_eps && r.temperature == temperature)
      return &r;
  return nullptr;
}

std::vector<const RunRow*> students_of(const Tables& t, const DistillRow& r) {
  return t.select("student", std::nullopt, r.teacher_epsilon, r.temperature);
}

// distill_hard_teacher: Müller et al.'s protocol, the hard teacher at its best T against the best smoothed teacher.
void distill_hard_teacher_claim(
    const Tables& t,
    const DistillRow& hard_best,
    const DistillRow& smooth_best,
    std::vector<Claim>& out) {
  auto e = evidence_of(
      t,
      fmt::format(
          "Δ = accuracy(student of the hard teacher, T = {:g}) − accuracy(student of the ε = {} teacher, T = 1)",
          hard_best.temperature,
          format_epsilon(smooth_best.teacher_epsilon)),
      "points",
      100,
      0,
      {students_of(t, hard_best), students_of(t, smooth_best)},
      {{acc_stat(), 1}, {acc_stat(), -1}});
  out.push_back(
      {"distill_hard_teacher",
       "[M] §4, Fig. 5",
       "Müller et al.'s protocol: students of the hard-target teacher (at its best T) are more accurate than students "
       "of smoothed teachers (at T = 1)",
       "ResNet-56 → AlexNet, CIFAR-10: every hard-teacher student (best T) beats the smoothed teachers' students",
       fmt::format(
           "hard teacher at T = {:g} (best by validation): {}; best smoothed teacher (ε = {}): {}",
           hard_best.temperature,
           pct(hard_best.student_accuracy),
           format_epsilon(smooth_best.teacher_epsilon),
           pct(smooth_best.student_accuracy)),
       verdict_of(e),
       t.teacher_regime,
       reading(e, "", "the smoothed teacher's student is more accurate"),
       e});
}

// distill_shen: Shen et al.'s protocol, the best smoothed teacher against the hard teacher, both at T = 1.
void distill_shen_claim(
    const Tables& t,
    const DistillRow& hard_t1,
    const DistillRow& smooth_best,
    std::vector<Claim>& out) {
  auto e = evidence_of(
      t,
      fmt::format(
          "Δ = accuracy(student of the ε = {} teacher) − accuracy(student of the hard teacher), both at T = 1",
          format_epsilon(smooth_best.teacher_epsilon)),
      "points",
      100,
      0,
      {students_of(t, smooth_best), students_of(t, hard_t1)},
      {{acc_stat(), 1}, {acc_stat(), -1}});
  out.push_back(
      {"distill_shen",
       "[S] §4, Tables 2–3",
       "Shen et al.'s protocol: at T = 1 with β = 1 and no hard-label term, students of a smoothed teacher are more "
       "accurate than students of the hard-target teacher",
       "ImageNet ResNet-50 → ResNet-18: 71.43 → 71.82%; CUB-200 ResNet-18: 77.12 → 78.38%",
       fmt::format(
           "smoothed teacher (ε = {}, best by validation): {}; hard teacher: {}",
           format_epsilon(smooth_best.teacher_epsilon),
           pct(smooth_best.student_accuracy),
           pct(hard_t1.student_accuracy)),
       verdict_of(e),
       t.teacher_regime,
       reading(e, "", "the hard teacher's student is more accurate at T = 1"),
       e});
}

// distill_vs_direct: the student of the claim's ε teacher against the student trained with that ε directly.
void distill_vs_direct_claim(const Tables& t, std::vector<Claim>& out) {
  const double ce = t.claim_epsilon;
  const DistillRow* from_ls = row_at(t, "smoothed teacher", ce, 1.0);
  const DistillRow* direct = nullptr;
  for (const auto& d : t.distillation)
    if (d.series == "trained with LS (no teacher)" && d.teacher_epsilon == ce)
      direct = &d;
  if (!from_ls || !direct)
    return;
  auto e = evidence_of(
      t,
      fmt::format(
          "Δ = accuracy(student trained with ε = {}) − accuracy(student of the ε = {} teacher)",
          format_epsilon(ce),
          format_epsilon(ce)),
      "points",
      100,
      -kAccuracyMargin,
      {t.select("direct", ce), students_of(t, *from_ls)},
      {{acc_stat(), 1}, {acc_stat(), -1}});
  out.push_back(
      {"distill_vs_direct",
       "[M] §4, Fig. 5",
       "A smoothed teacher's student is no better (by more than 0.5 points) than the student trained with the same "
       "label smoothing directly",
       "CIFAR-10: students of LS teachers no better, sometimes worse, than LS students",
       fmt::format(
           "student of the ε = {} teacher {} vs student trained with ε = {} {}",
           format_epsilon(ce),
           pct(from_ls->student_accuracy),
           format_epsilon(ce),
           pct(direct->student_accuracy)),
       verdict_of(e),
       t.teacher_regime,
       reading(e, "", "the teacher's student is better by more than the margin"),
       e});
}

void distillation_claims(const Tables& t, std::vector<Claim>& out) {
  if (t.distillation.empty())
    return;
  const DistillRow* hard_best = best_row(t, "hard teacher");
  const DistillRow* smooth_best = best_row(t, "smoothed teacher");
  const DistillRow* hard_t1 = row_at(t, "hard teacher", 0.0, 1.0);
  if (hard_best && smooth_best)
    distill_hard_teacher_claim(t, *hard_best, *smooth_best, out);
  if (hard_t1 && smooth_best)
    distill_shen_claim(t, *hard_t1, *smooth_best, out);
  distill_vs_direct_claim(t, out);
}

void mi_claims(const Tables& t, std::vector<Claim>& out) {
  std::map<uint64_t, double> final_h, final_l;
  for (const auto* r : t.select("teacher", 0.0))
    if (!r->epochs.empty() && r->epochs.back().mi)
      final_h[r->spec.seed] = *r->epochs.back().mi;
  for (const auto* r : t.select("teacher", t.claim_epsilon))
    if (!r->epochs.empty() && r->epochs.back().mi)
      final_l[r->spec.seed] = *r->epochs.back().mi;
  std::vector<double> deltas;
  double fh = 0, fl = 0;
  for (const auto& [seed, v] : final_h)
    if (final_l.count(seed)) {
      deltas.push_back(v - final_l[seed]);
      fh += v;
      fl += final_l[seed];
    }
  if (deltas.empty())
    return;
  fh /= double(deltas.size());
  fl /= double(deltas.size());
  Evidence e;
  e.quantity = fmt::format("Δ = Î(ε = 0) − Î(ε = {}) after the last epoch", format_epsilon(t.claim_epsilon));
  e.threshold = 0;
  e.interval = seed_bootstrap(deltas, t.bootstrap);
  e.resampled = fmt::format("{} resamples of the {} seeds, paired", e.interval.resamples, deltas.size());
  const Verdict v = e.interval.valid() ? decide(e.interval, 0) : Verdict::Inconclusive;
  out.push_back(
      {"mi_falls",
       "[M] §4, Fig. 6",
       "With label smoothing the information about the example in the logit gap ends lower (Î falls towards "
       "log 2: the classes collapse into clusters)",
       "CIFAR-10 airplane/dog, ResNet-56: Î rises fast, then falls, more with LS, ending slightly above log 2 "
       "≈ 0.693",
       fmt::format(
           "final Î: ε = 0 {:.3f}, ε = {} {:.3f} nats (log 2 = 0.693, log N = {:.3f})",
           fh,
           format_epsilon(t.claim_epsilon),
           fl,
           std::log(2.0 * double(t.mi_examples))),
       v,
       t.teacher_regime,
       e.interval.valid() ? "a short schedule sees only the start of the curve"
                          : "one seed: Î has no resampling interval here, so the claim cannot be decided",
       e});
}

std::string state_of(const Interval& iv) {
  if (!iv.valid())
    return "";
  if (iv.low > 0)
    return "over-confident";
  if (iv.high < 0)
    return "under-confident";
  return "calibrated within noise";
}

} // namespace

std::vector<Claim> claims(const Tables& t) {
  std::vector<Claim> out;
  for (const auto& g : t.regimes)
    regime_claims(t, g, out);
  for (const auto& g : t.regimes)
    hurts_claims(t, g, out);
  projection_claims(t, out);
  collapse_claim(t, out);
  transfer_claims(t, out);
  noise_claim(t, out);
  distillation_claims(t, out);
  mi_claims(t, out);
  return out;
}

std::string distillation_conclusion(const std::vector<Claim>& cs) {
  const Claim* m = nullptr;
  const Claim* s = nullptr;
  for (const auto& c : cs) {
    if (c.id == "distill_hard_teacher")
      m = &c;
    if (c.id == "distill_shen")
      s = &c;
  }
  if (!m && !s)
    return "";
  const Verdict vm = m ? m->verdict : Verdict::NotTested, vs = s ? s->verdict : Verdict::NotTested;
  if (vm == Verdict::Held && vs != Verdict::Held)
    return "This data supports Müller et al.: the hard teacher's students, at the hard teacher's best temperature, are "
           "more accurate, and at T = 1 smoothed teachers give no better students.";
  if (vs == Verdict::Held && vm != Verdict::Held)
    return "This data supports Shen et al.: at T = 1 the smoothed teachers give more accurate students, and tuning the "
           "hard teacher's temperature does not make up for it.";
  if (vm == Verdict::Held && vs == Verdict::Held)
    return "Both hold, so the protocol decides: at T = 1 the smoothed teachers give better students (Shen et al.), but "
           "the hard teacher at its best temperature does better still (Müller et al.).";
  if (vm == Verdict::NotHeld && vs == Verdict::NotHeld)
    return "Neither protocol's claim holds: the smoothed teachers' students beat the hard teacher at its best T, yet "
           "lose to it at T = 1.";
  return "This data cannot separate the two protocols: their intervals contain 0 (inconclusive), so neither paper's "
         "claim is supported or refuted here.";
}

namespace {

// The claim `prefix` + group among the verdicts, or null.
const Claim* regime_claim(const std::vector<Claim>& verdicts, const std::string& prefix, const std::string& group) {
  for (const auto& c : verdicts)
    if (c.id == prefix + group)
      return &c;
  return nullptr;
}

// calibratable_<g> held with its whole interval above +0.01: the smoothed model calibrates worse after temperature
// scaling, not merely no better.
bool calibrates_worse_after_ts(const Claim& c) {
  return c.id.rfind("calibratable_", 0) == 0 && c.verdict == Verdict::Held && c.evidence &&
      c.evidence->interval.low > kEceMargin;
}

// The sentence of RegimeAnswer::beyond_calibration.
std::string beyond_calibration(const Tables& t, const std::string& group, const std::vector<Claim>& verdicts) {
  auto find = [&](const std::string& prefix) { return regime_claim(verdicts, prefix, group); };
  const std::string eps = format_epsilon(t.claim_epsilon);
  const CalibRow* h = t.calibration_row(group, 0.0);
  const CalibRow* l = t.calibration_row(group, t.claim_epsilon);
  std::string s;
  if (const Claim* c = find("selective_"); c && h && l && c->verdict != Verdict::NotTested) {
    const std::string numbers = fmt::format("AURC {:.4f} → {:.4f}", h->aurc.mean, l->aurc.mean);
    if (c->verdict == Verdict::Held)
      s += fmt::format(
          "Label smoothing (ε = {}) hurt selective classification: rejecting the least confident predictions removes "
          "fewer errors ({}; {}). ",
          eps,
          numbers,
          c->id);
    else if (c->verdict == Verdict::NotHeld)
      s += fmt::format("Label smoothing (ε = {}) improved selective classification ({}; {}). ", eps, numbers, c->id);
    else
      s += fmt::format(
          "Whether label smoothing (ε = {}) hurts selective classification cannot be told from noise ({}; {}). ",
          eps,
          numbers,
          c->id);
    if (const Claim* n = find("logit_norm_"); n && c->verdict == Verdict::Held && n->verdict != Verdict::NotTested)
      s += n->verdict == Verdict::Held ? fmt::format(
                                             "Normalising its logits lowers its AURC to {:.4f} (ε = 0: {:.4f}; {}). ",
                                             l->aurc_logit_norm.mean,
                                             h->aurc.mean,
                                             n->id)
          : n->verdict == Verdict::NotHeld
          ? fmt::format("Normalising its logits raises its AURC ({}). ", n->id)
          : fmt::format("Whether normalising its logits lowers its AURC cannot be told from noise ({}). ", n->id);
  }
  if (const Claim* c = find("calibratable_"); c && h && l && c->verdict != Verdict::NotTested) {
    const std::string numbers =
        fmt::format("ECE {:.4f} against {:.4f} for ε = 0; {}", l->ece_ts.mean, h->ece_ts.mean, c->id);
    if (calibrates_worse_after_ts(*c))
      s += fmt::format(
          "After temperature scaling the smoothed model is calibrated worse, by more than 0.01 ({}).", numbers);
    else if (c->verdict == Verdict::Held)
      s += fmt::format(
          "After temperature scaling the smoothed model is calibrated no better (not by more than 0.01; {}).", numbers);
    else if (c->verdict == Verdict::NotHeld)
      s += fmt::format("Even after temperature scaling the smoothed model is calibrated better ({}).", numbers);
    else
      s += fmt::format("After temperature scaling the two cannot be told apart by ECE ({}).", numbers);
  }
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

// RegimeAnswer::short_answer: a clause per question, each verdict named by its claim's id.
std::string short_answer(const Tables& t, const RegimeAnswer& a, const std::vector<Claim>& verdicts) {
  auto claim = [&](const std::string& prefix) { return regime_claim(verdicts, prefix, a.group); };
  std::vector<std::string> parts;
  const std::string state = a.rows.empty() ? "" : a.rows[0].state;
  if (!state.empty())
    parts.push_back(fmt::format("Without smoothing the model is {} (T̂ = {:.2f}).", state, a.temperature));
  const std::string eps = format_epsilon(t.claim_epsilon);
  if (a.val_epsilon == 0)
    parts.push_back("No ε > 0 lowers the validation ECE, so validation chooses no smoothing.");
  else if (std::isfinite(a.val_epsilon) && a.val_vs_ts) {
    const Verdict v = verdict_of(a.val_vs_ts);
    parts.push_back(fmt::format(
        "ε = {}, chosen on validation, {}.",
        format_epsilon(a.val_epsilon),
        v == Verdict::Held          ? "calibrates as well as temperature scaling (within 0.01)"
            : v == Verdict::NotHeld ? "calibrates worse than temperature scaling"
                                    : "cannot be told apart from temperature scaling"));
  }
  for (const auto& r : a.rows)
    if (state != "under-confident" && r.epsilon > 0 && r.state == "under-confident") {
      parts.push_back(fmt::format("ε = {} and above make it under-confident.", format_epsilon(r.epsilon)));
      break;
    }
  // What each verdict says about ε = c: where it helped, where it hurt, and what this data cannot tell.
  struct Reading {
    const char* prefix;
    const char* if_held; // "+text": helped, "-text": hurt, "": nothing to say
    const char* if_not_held;
  };
  static const Reading readings[] = {
      {"accuracy_", "", "-accuracy"},
      {"ls_calibrates_", "+calibration (ECE)", "-calibration (ECE)"},
      {"selective_", "-selective classification", "+selective classification"},
      {"calibratable_", "", "+calibration even after temperature scaling"}};
  std::vector<std::string> helped, hurt, open;
  for (const auto& r : readings) {
    const Claim* c = claim(r.prefix);
    const Verdict v = c ? c->verdict : Verdict::NotTested;
    const std::string id = r.prefix + a.group;
    if (v == Verdict::Inconclusive)
      open.push_back(id);
    std::string what = v == Verdict::Held ? r.if_held : v == Verdict::NotHeld ? r.if_not_held : "";
    if (c && calibrates_worse_after_ts(*c))
      what = "-calibration after temperature scaling";
    if (!what.empty())
      (what[0] == '+' ? helped : hurt).push_back(what.substr(1) + " (" + id + ")");
  }
  if (!helped.empty())
    parts.push_back(fmt::format("ε = {} helped: {}.", eps, join(helped, "; ")));
  if (!hurt.empty())
    parts.push_back(fmt::format("ε = {} hurt: {}.", eps, join(hurt, "; ")));
  if (!open.empty())
    parts.push_back(fmt::format("This data cannot tell: {}.", join(open, ", ")));
  return join(parts, " ");
}

// The ε = 0 model's figures after temperature scaling, its training accuracy, and the cap rule's ε.
void hard_model_facts(const Tables& t, const Regime& g, const CalibRow& h, RegimeAnswer& a) {
  a.ece_ts = h.ece_ts.n > 0 ? h.ece_ts.mean : NAN;
  a.nll_ts = h.nll_ts.n > 0 ? h.nll_ts.mean : NAN;
  a.temperature = h.temperature.n > 0 ? h.temperature.mean : NAN;
  std::vector<double> train_acc;
  for (const auto* r : t.select(g.group, 0.0))
    if (std::isfinite(r->train_accuracy()))
      train_acc.push_back(r->train_accuracy());
  a.train_accuracy = train_acc.empty() ? NAN : stat_of(train_acc).mean;
  if (t.num_classes > 1 && std::isfinite(a.train_accuracy))
    a.cap_epsilon = std::clamp((1 - a.train_accuracy) / (1 - 1.0 / double(t.num_classes)), 0.0, 1.0);
}

// A row per ε of the grid that has runs (with its confidence state), and the ε of lowest validation ECE.
void epsilon_rows(const Tables& t, const Regime& g, RegimeAnswer& a) {
  double best_val = INFINITY;
  for (double eps : g.epsilons) {
    const CalibRow* r = t.calibration_row(g.group, eps);
    if (!r || r->accuracy.n == 0)
      continue;
    EpsilonRow row;
    row.epsilon = eps;
    row.ece = r->ece.mean;
    row.nll = r->nll.mean;
    row.accuracy = r->accuracy.mean;
    if (r->val_ece.n > 0) {
      row.val_ece = r->val_ece.mean;
      if (r->val_ece.mean < best_val) {
        best_val = r->val_ece.mean;
        a.val_epsilon = eps;
      }
    }
    const auto aligned = align({t.select(g.group, eps)});
    if (!aligned.empty())
      row.overconfidence = bootstrap({{aligned[0], overconfidence, 1}}, t.bootstrap);
    row.state = state_of(row.overconfidence);
    a.rows.push_back(row);
  }
}

// The best post-hoc calibrator of the ε = 0 runs, and its evidence against the ε chosen on validation.
void posthoc_answer(const Tables& t, const Regime& g, RegimeAnswer& a) {
  const auto hard = t.select(g.group, 0.0);
  std::vector<std::string> methods;
  std::vector<double> eces;
  for (const auto* r : hard)
    if (r->posthoc) {
      if (std::find(methods.begin(), methods.end(), r->posthoc->method) == methods.end())
        methods.push_back(r->posthoc->method);
      eces.push_back(r->posthoc->ece);
    }
  if (hard.empty() || eces.size() != hard.size())
    return;
  a.posthoc_method = methods.size() == 1 ? methods[0] : "per seed: " + join(methods, ", ");
  a.ece_posthoc = stat_of(eces).mean;
  if (std::isfinite(a.val_epsilon))
    a.val_vs_posthoc = evidence_of(
        t,
        fmt::format("Δ = ECE(ε = 0, {}) − ECE(ε = {})", a.posthoc_method, format_epsilon(a.val_epsilon)),
        "",
        1,
        -kEceMargin,
        {hard, t.select(g.group, a.val_epsilon)},
        {{ece_posthoc_stat(t.bootstrap.bins), 1}, {ece_stat(t.bootstrap.bins), -1}});
}

// The conclusion's sentence on the best post-hoc calibrator against the ε chosen on validation ("" without them).
std::string posthoc_sentence(const RegimeAnswer& a) {
  if (a.posthoc_method.empty() || !std::isfinite(a.val_epsilon) || !a.val_vs_posthoc)
    return "";
  const Verdict v = verdict_of(a.val_vs_posthoc);
  const std::string eps = format_epsilon(a.val_epsilon);
  std::string verdict;
  if (a.val_epsilon == 0)
    verdict = v == Verdict::NotHeld ? "it calibrates the hard-target model better (by more than 0.01)"
        : v == Verdict::Held        ? "it calibrates the hard-target model no better (within 0.01)"
                                    : "whether it calibrates the hard-target model better cannot be told from noise";
  else
    verdict = v == Verdict::Held ? fmt::format("ε = {} calibrates as well as it (within 0.01)", eps)
        : v == Verdict::NotHeld  ? fmt::format("it calibrates better than ε = {}", eps)
                                 : fmt::format("the difference from ε = {} cannot be told from noise", eps);
  return fmt::format(
      "The best post-hoc calibrator, chosen on validation by cross-validated NLL ({}), reaches test ECE {:.4f}: "
      "{}. ",
      a.posthoc_method,
      a.ece_posthoc,
      verdict);
}

// RegimeAnswer::conclusion, in plain language, from the answer's figures.
std::string conclusion_of(const RegimeAnswer& a) {
  std::string c;
  const std::string hard_state = a.rows.empty() ? "" : a.rows[0].state;
  if (hard_state == "over-confident")
    c += fmt::format(
        "Without smoothing the model is over-confident (mean confidence above accuracy by {:.4f}; T̂ = {:.2f}). ",
        a.rows[0].overconfidence.estimate,
        a.temperature);
  else if (hard_state == "under-confident")
    c += "Without smoothing the model is already under-confident, so smoothing cannot help calibration. ";
  else if (!hard_state.empty())
    c += fmt::format(
        "Without smoothing the model is calibrated within noise (T̂ = {:.2f}): there is little for smoothing or "
        "temperature scaling to fix. ",
        a.temperature);
  if (a.val_epsilon == 0 && !a.rows.empty()) {
    c += fmt::format(
        "No smoothing (ε = 0) has the lowest validation ECE on this grid (test ECE {:.4f}; {:.4f} after temperature "
        "scaling): here label smoothing does not improve calibration. ",
        a.rows[0].ece,
        a.ece_ts);
  } else if (std::isfinite(a.val_epsilon) && a.val_vs_ts) {
    const Verdict v = verdict_of(a.val_vs_ts);
    const EpsilonRow* chosen = nullptr;
    for (const auto& r : a.rows)
      if (r.epsilon == a.val_epsilon)
        chosen = &r;
    c += fmt::format(
        "ε = {} (lowest validation ECE) reaches test ECE {:.4f} against {:.4f} after temperature scaling: {}. ",
        format_epsilon(a.val_epsilon),
        chosen ? chosen->ece : NAN,
        a.ece_ts,
        v == Verdict::Held          ? "it calibrates as well as temperature scaling (within 0.01)"
            : v == Verdict::NotHeld ? "temperature scaling calibrates better"
                                    : "the difference cannot be told from noise");
  }
  c += posthoc_sentence(a);
  if (std::isfinite(a.cap_epsilon))
    c += fmt::format(
        "The cap rule (1 − ε + ε/K = the training accuracy {:.2f}%) predicts ε ≈ {:.3f}. ",
        100 * a.train_accuracy,
        a.cap_epsilon);
  for (const auto& r : a.rows)
    if (r.epsilon > 0 && r.state == "under-confident") {
      c += fmt::format("ε = {} and above make the model under-confident.", format_epsilon(r.epsilon));
      break;
    }
  return c;
}

} // namespace

std::vector<RegimeAnswer> when_answers(const Tables& t, const std::vector<Claim>& verdicts) {
  std::vector<RegimeAnswer> out;
  for (const auto& g : t.regimes) {
    const CalibRow* h = t.calibration_row(g.group, 0.0);
    if (!h || h->accuracy.n == 0)
      continue;
    RegimeAnswer a;
    a.group = g.group;
    a.description = g.description;
    hard_model_facts(t, g, *h, a);
    epsilon_rows(t, g, a);
    if (std::isfinite(a.val_epsilon))
      a.val_vs_ts = evidence_of(
          t,
          fmt::format("Δ = ECE(ε = 0, T̂) − ECE(ε = {})", format_epsilon(a.val_epsilon)),
          "",
          1,
          -kEceMargin,
          {t.select(g.group, 0.0), t.select(g.group, a.val_epsilon)},
          {{ece_stat(t.bootstrap.bins, true), 1}, {ece_stat(t.bootstrap.bins), -1}});
    posthoc_answer(t, g, a);
    a.conclusion = conclusion_of(a);
    a.beyond_calibration = beyond_calibration(t, g.group, verdicts);
    if (!verdicts.empty())
      a.short_answer = short_answer(t, a, verdicts);
    out.push_back(a);
  }
  return out;
}

std::string answer_beyond_regimes(const Tables& t, const std::vector<Claim>& verdicts) {
  auto find = [&](const std::string& id) -> const Claim* {
    for (const auto& c : verdicts)
      if (c.id == id)
        return &c;
    return nullptr;
  };
  const std::string eps = format_epsilon(t.claim_epsilon);
  // One sentence per claim: what held, what did not, what this data cannot tell.
  auto sentence = [&](const Claim* c, const std::string& held, const std::string& not_held, const std::string& what) {
    if (!c || c->verdict == Verdict::NotTested)
      return std::string();
    const std::string text = c->verdict == Verdict::Held ? held
        : c->verdict == Verdict::NotHeld                 ? not_held
                                                         : "Whether " + what + " cannot be told from noise";
    return fmt::format("{} ({}{}).", text, c->id, c->evidence ? ": " + c->evidence->interval_text() : "");
  };
  std::vector<std::string> parts;
  if (const Claim* c = find("label_noise")) {
    const NoiseRow* best = noise_choice(t);
    const std::string chosen = best ? format_epsilon(best->epsilon) : "?";
    parts.push_back(sentence(
        c,
        fmt::format(
            "With {:g}% wrong training labels, ε = {} chosen on noisy validation helped clean accuracy",
            100 * t.label_noise,
            chosen),
        fmt::format(
            "With {:g}% wrong training labels, ε = {} chosen on noisy validation hurt clean accuracy",
            100 * t.label_noise,
            chosen),
        fmt::format("label smoothing helps under {:g}% label noise", 100 * t.label_noise)));
  }
  parts.push_back(sentence(
      find("transfer"),
      fmt::format("Features learnt with ε = {} transferred worse to the unseen classes", eps),
      fmt::format("Features learnt with ε = {} transferred better to the unseen classes", eps),
      fmt::format("ε = {} changes how features transfer to unseen classes", eps)));
  parts.push_back(sentence(
      find("unseen_classes"),
      fmt::format("ε = {} made images of unseen classes harder to detect", eps),
      fmt::format("ε = {} made images of unseen classes easier to detect", eps),
      fmt::format("ε = {} changes detecting unseen classes", eps)));
  {
    std::vector<std::string> d;
    for (const char* id : {"distill_hard_teacher", "distill_shen"})
      if (const Claim* c = find(id); c && c->verdict != Verdict::NotTested)
        d.push_back(fmt::format("{} {}", id, verdict_name(c->verdict)));
    if (!d.empty())
      parts.push_back(fmt::format("Distillation from smoothed teachers: {}.", join(d, ", ")));
  }
  std::vector<std::string> kept;
  for (auto& p : parts)
    if (!p.empty())
      kept.push_back(std::move(p));
  return join(kept, " ");
}

json to_json(const RegimeAnswer& a) {
  json rows = json::array();
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  for (const auto& r : a.rows)
    rows.push_back(
        {{"epsilon", r.epsilon},
         {"ece", r.ece},
         {"nll", r.nll},
         {"accuracy", r.accuracy},
         {"val_ece", r.val_ece ? json(*r.val_ece) : json(nullptr)},
         {"overconfidence",
          {{"estimate", r.overconfidence.estimate},
           {"low", r.overconfidence.low},
           {"high", r.overconfidence.high},
           {"level", r.overconfidence.level},
           {"resamples", r.overconfidence.resamples}}},
         {"state", r.state}});
  return {
      {"group", a.group},
      {"description", a.description},
      {"rows", rows},
      {"ece_ts", num(a.ece_ts)},
      {"nll_ts", num(a.nll_ts)},
      {"temperature", num(a.temperature)},
      {"train_accuracy", num(a.train_accuracy)},
      {"cap_epsilon", num(a.cap_epsilon)},
      {"val_epsilon", num(a.val_epsilon)},
      {"val_vs_ts", a.val_vs_ts ? to_json(*a.val_vs_ts) : json(nullptr)},
      {"posthoc_method", a.posthoc_method.empty() ? json(nullptr) : json(a.posthoc_method)},
      {"ece_posthoc", num(a.ece_posthoc)},
      {"val_vs_posthoc", a.val_vs_posthoc ? to_json(*a.val_vs_posthoc) : json(nullptr)},
      {"conclusion", a.conclusion},
      {"beyond_calibration", a.beyond_calibration},
      {"short_answer", a.short_answer}};
}

} // namespace smoothlab::study
