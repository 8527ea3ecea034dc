// StudyDir: the one place that spells a study folder's layout.
#include <gtest/gtest.h>

#include <fstream>

#include "smoothlab/core/error.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/study/study_dir.h"
#include "support/support.h"

namespace smoothlab::study {
namespace {

namespace fs = std::filesystem;

TEST(StudyDir, SpellsTheLayoutTheReportAndWorkersRelyOn) {
  const StudyDir d("OUT");
  EXPECT_EQ(d.plan(), fs::path("OUT/study.json"));
  EXPECT_EQ(d.runs(), fs::path("OUT/runs"));
  EXPECT_EQ(d.run("cnn_eps0.1_seed0"), fs::path("OUT/runs/cnn_eps0.1_seed0"));
  EXPECT_EQ(d.run_lock("cnn_eps0.1_seed0"), fs::path("OUT/runs/cnn_eps0.1_seed0.lock"));
  EXPECT_EQ(d.figures(), fs::path("OUT/figures"));
  EXPECT_EQ(d.summary(), fs::path("OUT/summary.json"));
  EXPECT_EQ(d.report(), fs::path("OUT/report.html"));
  EXPECT_EQ(d.report_lock(), fs::path("OUT/report.lock"));
}

TEST(StudyDir, CreatesItsFoldersAndRefusesAFile) {
  testing::TempDir tmp;
  const StudyDir d(tmp / "study");
  d.create();
  EXPECT_TRUE(fs::is_directory(d.runs()));
  EXPECT_TRUE(fs::is_directory(d.figures()));
  d.create(); // again: nothing to do
  std::ofstream(tmp / "file") << "x";
  EXPECT_ERROR_MENTIONS(StudyDir(tmp / "file").create(), "--out", "exists and is not a folder");
}

TEST(StudyDir, ARunWithoutAnEvaluationIsNotFinished) {
  testing::TempDir tmp;
  const StudyDir d(tmp.path());
  d.create();
  RunSpec spec;
  spec.name = "r";
  EXPECT_FALSE(d.finished(spec));
  fs::create_directories(d.run("r"));
  std::ofstream(d.run("r") / "eval.json") << "{ damaged";
  EXPECT_FALSE(d.finished(spec)); // a damaged eval.json is redone
  EXPECT_FALSE(d.finished("r", 1));
}

} // namespace
} // namespace smoothlab::study
