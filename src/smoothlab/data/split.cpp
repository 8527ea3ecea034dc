// Split names, parsed and printed from one table (see split.h).
#include "smoothlab/data/split.h"

#include "smoothlab/core/names.h"

namespace smoothlab::data {

namespace {
constexpr Named<Split> kSplitNames[] = {
    {Split::Train, "train"},
    {Split::Val, "val"},
    {Split::Test, "test"},
};
} // namespace

const char* split_name(Split split) {
  return name_of(kSplitNames, split);
}

std::vector<std::string> split_names(const std::vector<Split>& splits) {
  std::vector<std::string> names;
  for (const auto split : splits)
    names.emplace_back(split_name(split));
  return names;
}

Split parse_split(const std::string& name, const std::string& option) {
  return parse_named(kSplitNames, name, option, "split");
}

} // namespace smoothlab::data
