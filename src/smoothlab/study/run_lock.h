// Claims on a study's runs, for workers that share OUT/runs/ (`smoothlab study --worker`, also across hosts on a
// shared filesystem, as `srun -n 16 smoothlab study --worker`): a lock file per run, RUN.lock, created atomically
// (O_CREAT | O_EXCL), holding its owner (host:pid). While the owner trains, a thread renews the claim by touching the
// file every lease/4; a claim not renewed for a whole lease is stale (its owner stopped) and another worker takes it
// over. The takeover itself is serialised by a second lock (RUN.lock.takeover), so two workers never both take it.
// The lease is measured against the file's modification time, so the hosts' clocks must agree to well within it.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace smoothlab::study {

class RunLock {
 public:
  // The claim on `lock`, or nullopt while another owner holds it (and renews it).
  static std::unique_ptr<RunLock> try_claim(
      const std::filesystem::path& lock,
      const std::string& owner,
      std::chrono::milliseconds lease);
  ~RunLock(); // stops renewing and removes the lock file (if it is still this owner's)
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  // False when another worker took the claim over (this one stalled for a whole lease).
  bool held() const;

 private:
  RunLock(std::filesystem::path lock, std::string owner, std::chrono::milliseconds lease);
  std::filesystem::path lock_;
  std::string owner_;
  std::chrono::milliseconds lease_;
  std::atomic<bool> stop_{false};
  std::thread renew_;
};

// host:pid of this process.
std::string lock_owner();

// How long ago `file` was last modified (its claim renewed); nullopt when it does not exist.
std::optional<std::chrono::milliseconds> lock_age(const std::filesystem::path& file);

} // namespace smoothlab::study
