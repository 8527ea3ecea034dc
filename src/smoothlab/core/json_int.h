// An integer field of a JSON record (and a float32 one), read without undefined behaviour.
// nlohmann's get<int64_t>() static_casts a float, which is undefined outside int64's range
// ({"epoch": 2e23} — found by fuzz/metrics and fuzz/run_config). json_int takes an integer,
// or a float that is a whole number in range; anything else is an Error the readers turn into
// one naming the file.
#pragma once

#include "smoothlab/core/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace smoothlab {

inline int64_t json_int(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<uint64_t>();
    check(u <= uint64_t(std::numeric_limits<int64_t>::max()), "{} is out of an integer's range", u);
    return int64_t(u);
  }
  if (j.is_number_integer())
    return j.get<int64_t>();
  if (j.is_number_float()) {
    const double d = j.get<double>();
    check(d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d), "{} is not an integer in range", d);
    return static_cast<int64_t>(d);
  }
  throw Error(fmt::format("expected an integer, found {}", j.type_name()));
}

// A non-negative integer (a seed): uint64's whole range when written as an integer.
inline uint64_t json_uint(const nlohmann::json& j) {
  if (j.is_number_unsigned())
    return j.get<uint64_t>();
  const int64_t v = json_int(j);
  check(v >= 0, "{} is negative where a non-negative integer is expected", v);
  return uint64_t(v);
}

// An array of integers (a shape, class indices).
inline std::vector<int64_t> json_ints(const nlohmann::json& j) {
  std::vector<int64_t> out;
  for (const auto& v : j.get_ref<const nlohmann::json::array_t&>())
    out.push_back(json_int(v));
  return out;
}

// j into `out`: an integer field through json_int, checked against its type's range; anything else
// through nlohmann (a record's struct fields, e.g. train/config.cpp's from_json).
template <typename T>
void json_get(const nlohmann::json& j, T& out) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if constexpr (std::is_unsigned_v<T>) {
      const uint64_t v = json_uint(j);
      check(v <= uint64_t(std::numeric_limits<T>::max()), "{} is out of range", v);
      out = T(v);
    } else {
      const int64_t v = json_int(j);
      check(
          v >= int64_t(std::numeric_limits<T>::min()) && v <= int64_t(std::numeric_limits<T>::max()),
          "{} is out of range",
          v);
      out = T(v);
    }
  } else {
    j.get_to(out);
  }
}

// An array of float32 values (a normalisation's mean and std): each a number within float's range,
// since converting a double outside it to float is undefined as well.
inline std::vector<float> json_floats(const nlohmann::json& j) {
  std::vector<float> out;
  for (const auto& v : j.get_ref<const nlohmann::json::array_t&>()) {
    const double d = v.get<double>();
    check(!(std::fabs(d) > double(std::numeric_limits<float>::max())), "{} is out of a float's range", d);
    out.push_back(static_cast<float>(d));
  }
  return out;
}

// j[key] as an integer; `fallback` when the key is absent.
inline int64_t json_int(const nlohmann::json& j, const char* key, int64_t fallback) {
  return j.contains(key) ? json_int(j.at(key)) : fallback;
}

} // namespace smoothlab
