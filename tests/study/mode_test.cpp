// StudyMode: how one call of `smoothlab study` divides the work, and the one place where --run-index, --report and
// --worker are checked against each other.
#include <gtest/gtest.h>

#include <cmath>

#include "smoothlab/core/error.h"
#include "smoothlab/study/study.h"
#include "support/support.h"

namespace smoothlab::study {
namespace {

TEST(StudyMode, FlagsGiveOneWayOfWorking) {
  EXPECT_EQ(StudyMode::from_flags(-1, false, false, 120).kind, StudyMode::Kind::All);
  const auto one = StudyMode::from_flags(7, false, false, 120);
  EXPECT_EQ(one.kind, StudyMode::Kind::OneRun);
  EXPECT_EQ(one.index, 7);
  EXPECT_EQ(StudyMode::from_flags(-1, true, false, 120).kind, StudyMode::Kind::Report);
  const auto worker = StudyMode::from_flags(-1, false, true, 30);
  EXPECT_EQ(worker.kind, StudyMode::Kind::Worker);
  EXPECT_EQ(worker.claim_timeout, 30);
  EXPECT_EQ(StudyMode::from_flags(0, false, false, -1).kind, StudyMode::Kind::OneRun); // the timeout is a worker's
}

TEST(StudyMode, RefusesTwoWaysAtOnceAndBadValues) {
  const char* both = "--run-index, --report and --worker exclude each other";
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(3, true, false, 120), both);
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(3, false, true, 120), both);
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(-1, true, true, 120), both);
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(0, true, true, 120), both);
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(-1, false, true, 0), "--claim-timeout must be positive, got 0");
  EXPECT_ERROR_MENTIONS(StudyMode::from_flags(-1, false, true, NAN), "--claim-timeout must be positive");
  EXPECT_ERROR_MENTIONS(StudyMode::one_run(-2).validate(), "--run-index must be non-negative, got -2");
  EXPECT_NO_THROW(StudyMode::worker().validate());
  EXPECT_NO_THROW(StudyMode::report().validate());
}

TEST(StudyOptions, ValidateNamesTheOptionAndTheModeIsChecked) {
  EXPECT_NO_THROW(StudyOptions().validate());
  EXPECT_ERROR_MENTIONS(StudyOptions().data("").validate(), "--data: empty data spec");
  EXPECT_ERROR_MENTIONS(StudyOptions().out("").validate(), "--out: empty folder name");
  EXPECT_ERROR_MENTIONS(StudyOptions().threads(-1).validate(), "--threads must be non-negative, got -1");
  EXPECT_ERROR_MENTIONS(
      StudyOptions().mode(StudyMode::one_run(-3)).validate(), "--run-index must be non-negative, got -3");
  EXPECT_ERROR_MENTIONS(study_plan(StudyOptions().threads(-2)), "--threads must be non-negative, got -2");
}

} // namespace
} // namespace smoothlab::study
