// The resume policy of a student (distill/assemble.h effective_distillation), which `smoothlab distill` and the
// study's students share: a new run keeps the request, a resumed one continues as saved, a rerun with other settings
// and a resumed run that was not distilled are refused.
#include <gtest/gtest.h>

#include "smoothlab/core/error.h"
#include "smoothlab/distill/assemble.h"
#include "smoothlab/distill/training.h"
#include "smoothlab/train/run_loading.h"
#include "support/support.h"

namespace smoothlab::distill {
namespace {

train::OpenedRun opened(std::optional<train::RunRecord> saved, bool rerun) {
  return train::OpenedRun{train::RunDir("runs/student"), {}, false, std::move(saved), rerun};
}

DistillRunOptions request(const std::string& teacher, double temperature) {
  DistillRunOptions o;
  o.teacher = teacher;
  o.loss = DistillationOptions::paper(temperature);
  return o;
}

train::RunRecord distilled(const std::string& teacher, double temperature) {
  train::RunRecord r;
  train::DistillFacts f;
  f.teacher = teacher;
  f.form = "paper";
  f.temperature = temperature;
  f.beta = 1;
  r.distill = f;
  return r;
}

TEST(DistillAssemble, ANewRunKeepsTheRequestAResumedOneContinuesAsSaved) {
  EXPECT_EQ(effective_distillation(opened(std::nullopt, false), request("teacher_a", 2)).teacher, "teacher_a");
  // --resume with other settings: the saved teacher and T win.
  const auto resumed = effective_distillation(opened(distilled("teacher_b", 4), false), request("teacher_a", 2));
  EXPECT_EQ(resumed.teacher, "teacher_b");
  EXPECT_EQ(resumed.loss.temperature(), 4);
  // The same command again continues its unfinished student.
  EXPECT_EQ(
      effective_distillation(opened(distilled("teacher_a", 2), true), request("teacher_a", 2)).teacher, "teacher_a");
}

TEST(DistillAssemble, RefusesARerunWithOtherSettingsAndAResumedRunThatWasNotDistilled) {
  EXPECT_ERROR_MENTIONS(
      effective_distillation(opened(distilled("teacher_a", 4), true), request("teacher_a", 2)),
      "--out runs/student: holds a student distilled with other settings (temperature");
  EXPECT_ERROR_MENTIONS(
      effective_distillation(opened(train::RunRecord{}, false), request("teacher_a", 2)),
      "--out runs/student: the run was not trained by distill");
}

// A new student by form, the one resolution of `smoothlab distill` and smoothlab.train: the form's β unless one is
// given, the temperature as given, and Form::Custom refused with the caller's option name.
TEST(DistillStudentOf, FormsTakeTheirBetaUnlessGiven) {
  const auto paper = student_of("t", Form::Paper, 2.0, std::nullopt, "--form");
  EXPECT_EQ(paper.teacher, "t");
  EXPECT_EQ(paper.form, Form::Paper);
  EXPECT_EQ(paper.loss.temperature(), 2.0);
  EXPECT_EQ(paper.loss.beta(), 1.0);
  EXPECT_FALSE(paper.loss.t_squared());
  const auto hinton = student_of("t", Form::Hinton, 4.0, std::nullopt, "--form");
  EXPECT_EQ(hinton.loss.beta(), 0.5);
  EXPECT_TRUE(hinton.loss.t_squared());
  EXPECT_EQ(student_of("t", Form::Hinton, 4.0, 0.9, "--form").loss.beta(), 0.9);
  EXPECT_EQ(student_of("t", Form::Paper, 1.0, 0.7, "--form").loss.beta(), 0.7);
  EXPECT_TRUE(testing::error_mentions(
      [] { student_of("t", Form::Custom, 1.0, std::nullopt, "form"); }, {"form custom:"}, {"paper", "hinton"}));
}

} // namespace
} // namespace smoothlab::distill
