// Replays every fuzz target (fuzz/targets/, compiled into this suite) on its seeds (fuzz/corpus/<target>/) and on
// every input that ever made it fail (tests/fuzz/regressions/<target>/): a reader may refuse an input with
// smoothlab::Error, never with another exception (and never crash, which would end this program).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <typeinfo>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "smoothlab/core/error.h"

namespace smoothlab {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fuzz_target_names() {
  std::vector<std::string> names;
  for (const auto& t : fuzz::targets())
    names.push_back(t.name);
  return names;
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> files;
  if (fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file())
        files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzReplay, SeedsAndRegressionsRefusedOnlyWithError) {
  const std::string name = GetParam();
  const auto it = std::find_if(
      fuzz::targets().begin(), fuzz::targets().end(), [&](const fuzz::Target& t) { return t.name == name; });
  ASSERT_NE(it, fuzz::targets().end());
  const fs::path source(SMOOTHLAB_SOURCE_DIR);
  auto inputs = files_under(source / "fuzz" / "corpus" / name);
  EXPECT_FALSE(inputs.empty()) << "no seeds in fuzz/corpus/" << name << " (build-fuzz/fuzz/fuzz_seeds fuzz/corpus)";
  for (const auto& file : files_under(source / "tests" / "fuzz" / "regressions" / name))
    inputs.push_back(file);
  for (const auto& file : inputs) {
    const std::string bytes = fuzz::read_whole(file);
    try {
      it->entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const Error&) {
      // refused with a message: fine
    } catch (const std::exception& e) {
      ADD_FAILURE() << file.string() << ": " << typeid(e).name() << " escaped the reader: " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fuzz,
    FuzzReplay,
    ::testing::ValuesIn(fuzz_target_names()),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Every target program of fuzz/CMakeLists.txt is compiled into this suite too (one source per target).
TEST(FuzzTargets, EverySourceRegistersOneTarget) {
  const auto sources = files_under(fs::path(SMOOTHLAB_SOURCE_DIR) / "fuzz" / "targets");
  EXPECT_EQ(sources.size(), fuzz::targets().size());
  for (const auto& source : sources) {
    const std::string name = source.stem().string();
    EXPECT_EQ(
        1,
        std::count_if(
            fuzz::targets().begin(), fuzz::targets().end(), [&](const fuzz::Target& t) { return t.name == name; }))
        << source.string();
  }
}

} // namespace
} // namespace smoothlab
