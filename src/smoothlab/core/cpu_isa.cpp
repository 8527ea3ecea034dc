// The CPU's vector ISA and SMOOTHLAB_CPU_ISA (cpu_isa.h).
#include "smoothlab/core/cpu_isa.h"

#include <cstdlib>

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"
#include "smoothlab/core/simd_exp.h"

namespace smoothlab {

namespace {
constexpr Named<Isa> kIsas[] = {
    {Isa::Scalar, "scalar"},
    {Isa::Avx2, "avx2"},
    {Isa::Avx512, "avx512"},
    {Isa::Scalar, "default"},
};
} // namespace

const char* isa_name(Isa isa) {
  return name_of(kIsas, isa);
}

std::optional<Isa> parse_isa(const std::string& name) {
  return find_named(kIsas, name);
}

Isa best_isa() {
  static const Isa best = simd::cpu_has_avx512f() ? Isa::Avx512 : simd::cpu_has_avx2_fma() ? Isa::Avx2 : Isa::Scalar;
  return best;
}

namespace {

// The cap, or nullopt for an unknown value (reported by isa_cap()).
std::optional<Isa> read_cap(std::string* value) {
  const char* env = std::getenv("SMOOTHLAB_CPU_ISA");
  *value = env ? env : "";
  if (value->empty())
    return Isa::Avx512; // no cap
  return parse_isa(*value);
}

} // namespace

Isa isa_cap() {
  static std::string value;
  static const std::optional<Isa> cap = read_cap(&value);
  if (!cap)
    throw Error(
        fmt::format("SMOOTHLAB_CPU_ISA: unknown value '{}'", value),
        "use scalar, avx2 or avx512, or unset it for the best path this CPU has");
  return *cap;
}

Isa active_isa() {
  const Isa cap = isa_cap();
  return cap <= best_isa() ? cap : best_isa();
}

} // namespace smoothlab
