// A study worker's claim on a run whose lock file (RUN.lock, study/run_lock.h) already exists with the input as its
// content: fresh (held by another worker: the claim is refused) when the input's size is even, stale (taken over,
// then held and released) when odd.
#include <chrono>
#include <stdexcept>

#include "fuzz/fuzz_target.h"
#include "smoothlab/study/run_lock.h"

SMOOTHLAB_FUZZ_TARGET(run_lock) {
  namespace fs = std::filesystem;
  using std::chrono::milliseconds;
  const auto lock = smoothlab::fuzz::scratch_path("run_lock") / "run.lock";
  smoothlab::fuzz::write_input(lock, data, size);
  const bool stale = size % 2 == 1;
  if (stale)
    fs::last_write_time(lock, fs::file_time_type::clock::now() - std::chrono::hours(1));
  const auto lease = stale ? milliseconds(1000) : milliseconds(3600 * 1000);
  const auto age = smoothlab::study::lock_age(lock);
  if (!age)
    throw std::logic_error("run_lock: lock_age of an existing lock file is nullopt");
  auto claim = smoothlab::study::RunLock::try_claim(lock, smoothlab::study::lock_owner(), lease);
  if (stale != bool(claim))
    throw std::logic_error(stale ? "run_lock: a stale lock was not taken over" : "run_lock: a held lock was taken");
  if (claim && !claim->held())
    throw std::logic_error("run_lock: a claim just taken over is not held");
  claim.reset();
  if (stale && fs::exists(lock))
    throw std::logic_error("run_lock: a released claim left its lock file");
}
