#include "smoothlab/study/run_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace smoothlab::study {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// Creates `file` holding `owner` if it does not exist (atomically); false if it does.
bool create_exclusive(const fs::path& file, const std::string& owner) {
  const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd < 0)
    return false;
  const std::string text = owner + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  return ok;
}

std::string owner_of(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

bool stale(const fs::path& file, milliseconds lease) {
  const auto age = lock_age(file);
  return age && *age >= lease;
}

} // namespace

std::string lock_owner() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

std::optional<milliseconds> lock_age(const fs::path& file) {
  std::error_code ec;
  const auto t = fs::last_write_time(file, ec);
  if (ec)
    return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(fs::file_time_type::clock::now() - t);
}

std::unique_ptr<RunLock> RunLock::try_claim(const fs::path& lock, const std::string& owner, milliseconds lease) {
  if (create_exclusive(lock, owner))
    return std::unique_ptr<RunLock>(new RunLock(lock, owner, lease));
  if (!stale(lock, lease))
    return nullptr; // held, or released a moment ago (the next scan sees it)
  // Stale: its owner stopped renewing. One worker at a time takes it over.
  fs::path takeover = lock;
  takeover += ".takeover";
  if (!create_exclusive(takeover, owner)) {
    if (stale(takeover, lease)) // a worker that died while taking over
      fs::remove(takeover);
    return nullptr;
  }
  std::unique_ptr<RunLock> claimed;
  std::error_code ec;
  if (stale(lock, lease) || !fs::exists(lock)) {
    fs::remove(lock, ec);
    if (create_exclusive(lock, owner))
      claimed.reset(new RunLock(lock, owner, lease));
  }
  fs::remove(takeover, ec);
  return claimed;
}

RunLock::RunLock(fs::path lock, std::string owner, milliseconds lease)
    : lock_(std::move(lock)), owner_(std::move(owner)), lease_(lease) {
  renew_ = std::thread([this] {
    const auto period = std::max(milliseconds(10), lease_ / 4);
    auto next = std::chrono::steady_clock::now() + period;
    while (!stop_) {
      std::this_thread::sleep_for(milliseconds(10));
      if (std::chrono::steady_clock::now() < next)
        continue;
      next += period;
      std::error_code ec;
      if (held())
        fs::last_write_time(lock_, fs::file_time_type::clock::now(), ec);
    }
  });
}

RunLock::~RunLock() {
  stop_ = true;
  renew_.join();
  std::error_code ec;
  if (held())
    fs::remove(lock_, ec);
}

bool RunLock::held() const {
  return owner_of(lock_) == owner_;
}

} // namespace smoothlab::study
