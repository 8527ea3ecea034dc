// User-facing errors: what went wrong and where, plus an optional hint on what to do.
// The library throws smoothlab::Error for anything a user, an option or a file can get wrong;
// the CLI turns it into "error: ..." / "hint: ..." and exit code 2.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace smoothlab {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string what, std::string hint = {})
      : std::runtime_error(std::move(what)), hint_(std::move(hint)) {}
  const std::string& hint() const {
    return hint_;
  }

 private:
  std::string hint_;
};

// check(cond, "what {}", args...) throws Error when cond is false.
template <typename... Args>
inline void check(bool cond, fmt::format_string<Args...> format, Args&&... args) {
  if (!cond)
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// A broken invariant of smoothlab itself — no input, option or file can cause it: the CLI says "internal error" and
// exits 1 (not 2, which means bad input). Thrown by SMOOTHLAB_ASSERT.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
[[noreturn]] inline void internal_error(const char* file, int line, const char* condition, const std::string& what) {
  throw InternalError(fmt::format("{}:{}: {} ({} is false)", file, line, what, condition));
}
} // namespace detail

// SMOOTHLAB_ASSERT(cond, "what {}", args...): an invariant, checked in every build; throws InternalError naming the
// source line. Bad input is check()'s (Error); this is for what only a bug in smoothlab can break.
#define SMOOTHLAB_ASSERT(cond, ...)                                                             \
  do {                                                                                          \
    if (!(cond))                                                                                \
      ::smoothlab::detail::internal_error(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)

// Joins names for "known: a, b, c" hints.
template <typename Range>
std::string join(const Range& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += sep;
    out += item;
  }
  return out;
}

} // namespace smoothlab
