// core/names.h: one table per enum gives both its names and its parsing — a name round-trips, an alias parses to its
// value but is not listed, an unknown name is bad input (Error naming the option, the known names in the hint), and a
// value without a row is a bug (InternalError). Then the library's tables, through their own functions.
#include <gtest/gtest.h>

#include <string>

#include "smoothlab/calib/ece.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"
#include "smoothlab/data/augment.h"
#include "smoothlab/data/resample.h"
#include "smoothlab/distill/loss.h"
#include "smoothlab/loss/label_smoothing.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

enum class Fruit { Apple, Pear, Quince };
constexpr Named<Fruit> kFruits[] = {
    {Fruit::Apple, "apple"},
    {Fruit::Pear, "pear", "not an apple"},
    {Fruit::Apple, "malus"},
};

TEST(Names, ATableNamesParsesAndListsItsValues) {
  EXPECT_STREQ(name_of(kFruits, Fruit::Apple), "apple"); // the first row, not the alias
  EXPECT_STREQ(name_of(kFruits, Fruit::Pear), "pear");
  EXPECT_EQ(find_named(kFruits, "malus"), Fruit::Apple);
  EXPECT_FALSE(find_named(kFruits, "Apple").has_value());
  EXPECT_EQ(known_names(kFruits), "apple, pear (not an apple)");
  EXPECT_EQ(parse_named(kFruits, "pear", "--fruit", "fruit"), Fruit::Pear);
  try {
    parse_named(kFruits, "plum", "--fruit", "fruit");
    ADD_FAILURE() << "'plum' was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--fruit: unknown fruit 'plum'");
    EXPECT_EQ(e.hint(), "known: apple, pear (not an apple)");
  }
  try {
    parse_named(kFruits, "plum", "", "fruit");
    ADD_FAILURE() << "'plum' was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown fruit 'plum'");
  }
  EXPECT_THROW(name_of(kFruits, Fruit::Quince), InternalError);
}

TEST(Names, TheLibrarysEnumsRoundTripAndRefuseUnknownNames) {
  for (const auto b : {calib::Binning::EqualWidth, calib::Binning::EqualMass})
    EXPECT_EQ(calib::parse_binning(calib::binning_name(b)), b);
  EXPECT_EQ(calib::parse_binning("adaptive"), calib::Binning::EqualMass);
  EXPECT_EQ(calib::parse_binning("equal_width"), calib::Binning::EqualWidth);
  EXPECT_TRUE(error_mentions(
      [] { calib::parse_binning("quantile", "--binning"); },
      {"--binning: unknown binning 'quantile'"},
      {"known: equal-width, equal-mass"}));
  for (const auto i : {loss::Implementation::Fused, loss::Implementation::LibTorch})
    EXPECT_EQ(loss::parse_implementation(loss::implementation_name(i)), i);
  for (const auto t : {distill::SoftTerm::CrossEntropy, distill::SoftTerm::KL})
    EXPECT_EQ(distill::parse_soft_term(distill::soft_term_name(t)), t);
  EXPECT_EQ(data::parse_transform_kind("pad-crop"), data::TransformKind::PadCrop);
  EXPECT_EQ(data::parse_resize_filter("lanczos"), data::ResizeFilter::Lanczos);
  EXPECT_TRUE(error_mentions(
      [] { data::parse_resize_filter("nearest"); },
      {"--resize-filter: unknown filter 'nearest'"},
      {"bilinear, bicubic, lanczos"}));
}

} // namespace
} // namespace smoothlab::testing
