// Tests of study/preset.h: the presets expand to the runs the issue asks for, keys follow the configuration,
// and the quick preset fits 3 minutes on 2 cores by the cost model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "smoothlab/core/error.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/study/tables.h"
#include "support/support.h"

namespace smoothlab::study {
namespace {

int64_t count(const std::vector<RunSpec>& plan, const std::string& group) {
  int64_t n = 0;
  for (const auto& r : plan)
    n += r.group == group;
  return n;
}

TEST(StudyPreset, QuickPlanHasEveryGroupAndFitsThreeMinutes) {
  const auto preset = make_preset("quick");
  const auto plan = make_plan(preset, "fashion-mnist");
  // 2 ε × 1 seed teachers; 5 over-confident runs (the fine grid); hard teacher at T ∈ {1,2,4} + the ε = 0.1 teacher;
  // 2 direct; the transfer pair on the first 5 classes; 3 ε under 40% label noise.
  EXPECT_EQ(preset.overconf_epsilons, (std::vector<double>{0, 0.01, 0.02, 0.05, 0.1}));
  EXPECT_EQ(count(plan, "teacher"), 2);
  EXPECT_EQ(count(plan, "overconf"), 5);
  EXPECT_EQ(count(plan, "student"), 4);
  EXPECT_EQ(count(plan, "direct"), 2);
  EXPECT_EQ(count(plan, "transfer"), 2);
  EXPECT_EQ(count(plan, "noisy"), 3);
  for (const auto& r : plan) {
    EXPECT_EQ(r.config.data.classes, r.group == "transfer" ? "0,1,2,3,4" : "") << r.name;
    EXPECT_EQ(r.config.data.label_noise, r.group == "noisy" ? 0.4 : 0.0) << r.name;
  }
  double seconds = analysis_seconds(preset, plan);
  for (const auto& r : plan)
    seconds += r.cost_seconds;
  EXPECT_LT(seconds, 180.0) << "quick must finish in 3 minutes on 2 idle cores";
  // Î from step 0 within the teachers' runs; students on un-augmented images (cached teacher logits).
  EXPECT_GT(preset.teacher.probe.mi_every, 0);
  EXPECT_FALSE(preset.student.data.augment);
  EXPECT_GT(seconds, 60.0);
  // Teachers come before their students, and every student names an existing teacher.
  std::set<std::string> seen;
  for (const auto& r : plan) {
    if (r.group == "student") {
      EXPECT_TRUE(seen.count(r.teacher)) << r.name;
    }
    EXPECT_TRUE(seen.insert(r.name).second) << "duplicate name " << r.name;
  }
  EXPECT_EQ(plan[0].config.probe.mi_classes, "T-shirt/top,Trouser");
}

TEST(StudyPreset, StandardPlanMatchesTheIssue) {
  const auto p = make_preset("standard");
  EXPECT_EQ(p.teacher.model, "resnet20");
  EXPECT_EQ(p.epsilons, (std::vector<double>{0, 0.05, 0.1, 0.3}));
  EXPECT_EQ(p.temperatures, (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(p.seeds.size(), 3u);
  const auto plan = make_plan(p, "fashion-mnist");
  EXPECT_EQ(count(plan, "teacher"), 12);
  EXPECT_EQ(p.overconf_epsilons, (std::vector<double>{0, 0.01, 0.02, 0.05, 0.1, 0.2}));
  EXPECT_EQ(count(plan, "overconf"), 18);
  EXPECT_EQ(count(plan, "student"), 3 * (4 + 3)); // per seed: hard teacher at 4 T + 3 smoothed teachers at T = 1
  EXPECT_EQ(count(plan, "direct"), 12);
  EXPECT_EQ(count(plan, "transfer"), 3 * 2);
  EXPECT_EQ(count(plan, "noisy"), 3 * 5);
  double seconds = analysis_seconds(p, plan);
  for (const auto& r : plan)
    seconds += r.cost_seconds;
  EXPECT_LT(seconds, 120 * 60.0) << "standard must finish in 2 hours on 2 idle cores";
  const auto paper = make_preset("paper");
  EXPECT_EQ(paper.teacher.model, "resnet56");
  EXPECT_EQ(paper.student.model, "alexnet");
  EXPECT_EQ(paper.seeds.size(), 5u);
  EXPECT_EQ(count(make_plan(paper, "cifar10:/data"), "transfer"), 0); // [M]'s experiments only
  EXPECT_EQ(count(make_plan(paper, "cifar10:/data"), "noisy"), 0);
}

TEST(StudyPreset, KeysFollowTheConfigurationOnly) {
  train::TrainConfig a;
  auto b = a;
  b.execution.threads = 7;
  b.execution.workers = 1;
  b.execution.device = train::Device::cuda();
  EXPECT_EQ(config_key(a), config_key(b)); // execution settings do not change the key
  auto c = a;
  c.smoothing = 0.1;
  EXPECT_NE(config_key(a), config_key(c));
  auto d = a;
  // a run at another precision is another run (another folder of the same study)
  d.execution.precision = model::Precision::Bf16;
  EXPECT_NE(config_key(a), config_key(d));
  EXPECT_EQ(config_key(a).size(), 8u);
  const auto p1 = make_plan(make_preset("tiny"), "fashion-mnist"), p2 = make_plan(make_preset("tiny"), "fashion-mnist");
  ASSERT_EQ(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i)
    EXPECT_EQ(p1[i].name, p2[i].name);
}

// A run's folder name ends with its key: the keys of configurations that earlier versions wrote stay what they were
// (the values of the string-typed TrainConfig), so a study finds its finished runs again.
TEST(StudyPreset, KeysOfEarlierVersionsStay) {
  EXPECT_EQ(config_key(train::TrainConfig{}), "5b346259");
  train::TrainConfig c;
  c.execution.precision = model::Precision::Fp16;
  c.loss_impl = loss::Implementation::LibTorch;
  c.optimiser.schedule = train::ScheduleKind::Step;
  c.data.folder_augment = data::TransformKind::PadCrop;
  c.data.resize_filter = data::ResizeFilter::Lanczos;
  c.execution.device = train::Device::cuda(1);
  c.data.classes = "0,1";
  c.optimiser.milestones = {3, 5};
  EXPECT_EQ(config_key(c), "3a107ac3");
}

TEST(StudyPreset, UnknownPresetListsKnownOnes) {
  EXPECT_TRUE(::smoothlab::testing::error_mentions(
      [&] { make_preset("huge"); }, {"--preset: unknown preset 'huge'"}, {"quick"}));
}

TEST(StudyPreset, ClassChoicesPerData) {
  EXPECT_EQ(choose_classes("fashion-mnist").similar, "T-shirt/top,Shirt,Pullover");
  EXPECT_EQ(choose_classes("cifar100:/x").similar, "4,30,55"); // beaver, dolphin, otter
  EXPECT_EQ(choose_classes("cifar10:/x").mi_pair, "0,5"); // airplane, dog ([M] Fig. 6)
  // The transfer regime's seen half: the first half of the classes where the study knows them, else none.
  EXPECT_EQ(choose_classes("fashion-mnist").seen, "0,1,2,3,4");
  EXPECT_EQ(choose_classes("cifar100:/x").seen.substr(0, 10), "0,1,2,3,4,");
  const std::string half100 = choose_classes("cifar100:/x").seen;
  EXPECT_EQ(std::count(half100.begin(), half100.end(), ','), 49);
  EXPECT_EQ(choose_classes("folder:/x").seen, "");
  EXPECT_EQ(count(make_plan(make_preset("quick"), "folder:/x"), "transfer"), 0);
}

TEST(StudyPreset, StatisticsClosedForm) {
  // {1, 2, 3, 4}: mean 2.5, sample variance Σ(x − 2.5)²/3 = (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3.
  const auto s = stat_of({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.std, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 4);
  EXPECT_EQ(s.n, 4);
  EXPECT_EQ(stat_of({0.7}).std, 0.0);
  EXPECT_EQ(stat_of({}).n, 0);
}

} // namespace
} // namespace smoothlab::study
