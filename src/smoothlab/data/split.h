// The three splits of a DataBundle (dataset.h) as one type. Code inside compares Split values; the names "train",
// "val" and "test" are how the command line (--split, --splits) and the JSON records (config.json, mi.json,
// projection.json) spell them, converted here and nowhere else.
#pragma once

#include <string>
#include <vector>

namespace smoothlab::data {

enum class Split { Train, Val, Test };

// "train" | "val" | "test".
const char* split_name(Split split);
// The names of `splits`, in their order.
std::vector<std::string> split_names(const std::vector<Split>& splits);

// The split `name` spells; any other name is an Error "OPTION: unknown split 'NAME'" (`option` as the command line or
// the file spells it, e.g. "--splits"), with the hint "known: train, val, test".
Split parse_split(const std::string& name, const std::string& option);

} // namespace smoothlab::data
