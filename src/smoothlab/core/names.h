// One table of names per enum: how each value is spelt on the command line and in files, parsed and printed from the
// same rows. A value's first row gives its name; a later row for the same value is an alias that parsing accepts.
//
//   constexpr Named<Binning> kBinnings[] = {{Binning::EqualWidth, "equal-width"}, {Binning::EqualMass, "equal-mass"},
//                                           {Binning::EqualMass, "adaptive"}};
//   name_of(kBinnings, Binning::EqualMass)                   → "equal-mass"
//   parse_named(kBinnings, "adaptive", "--binning", "binning") → Binning::EqualMass
//   parse_named(kBinnings, "x", "--binning", "binning")       → Error "--binning: unknown binning 'x'",
//                                                               hint "known: equal-width, equal-mass"
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "smoothlab/core/error.h"

namespace smoothlab {

template <typename E>
struct Named {
  E value;
  const char* name;
  const char* help = nullptr; // shown after the name in the "known:" hint
};

// The name of `value`. A value without a row is a bug (InternalError), not bad input.
template <typename E, size_t N>
const char* name_of(const Named<E> (&table)[N], E value) {
  for (const auto& row : table)
    if (row.value == value)
      return row.name;
  SMOOTHLAB_ASSERT(false, "no name for value {} of a named enum", static_cast<long long>(value));
}

// The value a name or alias spells; nullopt for an unknown name (case matters, as in PyTorch's and timm's options).
template <typename E, size_t N>
std::optional<E> find_named(const Named<E> (&table)[N], const std::string& name) {
  for (const auto& row : table)
    if (name == row.name)
      return row.value;
  return std::nullopt;
}

// "a, b (what b is), c": each value's name once, aliases left out.
template <typename E, size_t N>
std::string known_names(const Named<E> (&table)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    bool alias = false;
    for (size_t j = 0; j < i; ++j)
      alias = alias || table[j].value == table[i].value;
    if (alias)
      continue;
    if (!out.empty())
      out += ", ";
    out += table[i].name;
    if (table[i].help)
      out += fmt::format(" ({})", table[i].help);
  }
  return out;
}

// The value a name spells, or an Error "OPTION: unknown WHAT 'NAME'" (no "OPTION: " when option is empty) with the
// hint "known: ...".
template <typename E, size_t N>
E parse_named(const Named<E> (&table)[N], const std::string& name, const std::string& option, const char* what) {
  if (const auto value = find_named(table, name))
    return *value;
  throw Error(
      fmt::format("{}unknown {} '{}'", option.empty() ? "" : option + ": ", what, name),
      "known: " + known_names(table));
}

} // namespace smoothlab
