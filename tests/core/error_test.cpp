// Error (bad input: exit 2) and SMOOTHLAB_ASSERT's InternalError (a bug: exit 1) stay apart.
#include <gtest/gtest.h>

#include <string>

#include "smoothlab/core/error.h"

namespace smoothlab::testing {
namespace {

int checked_half(int n) {
  SMOOTHLAB_ASSERT(n % 2 == 0, "{} is odd", n);
  return n / 2;
}

TEST(InternalAssert, HoldsSilentlyAndOtherwiseNamesTheSourceLineAndTheCondition) {
  EXPECT_EQ(checked_half(6), 3);
  try {
    checked_half(7);
    FAIL() << "no InternalError";
  } catch (const Error&) {
    FAIL() << "an invariant is not bad input";
  } catch (const InternalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("error_test.cpp:"), std::string::npos) << what;
    EXPECT_NE(what.find(": 7 is odd (n % 2 == 0 is false)"), std::string::npos) << what;
  }
  EXPECT_THROW(check(false, "bad input"), Error);
}

} // namespace
} // namespace smoothlab::testing
