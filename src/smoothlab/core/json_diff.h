// The first key in which two JSON objects differ: what a rank's configuration check (distributed/group.h) and a rerun's
// check against the saved run (train/run_loading.h) name in their errors.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace smoothlab {

// The first key of `a`, then of `b`, whose value differs or that the other lacks; nullopt when they are equal.
inline std::optional<std::string> first_different_key(const nlohmann::json& a, const nlohmann::json& b) {
  for (const auto* side : {&a, &b})
    for (auto it = side->begin(); it != side->end(); ++it)
      if (!a.contains(it.key()) || !b.contains(it.key()) || a.at(it.key()) != b.at(it.key()))
        return it.key();
  return std::nullopt;
}

} // namespace smoothlab
