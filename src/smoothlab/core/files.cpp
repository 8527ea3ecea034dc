#include "smoothlab/core/files.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>

#include "smoothlab/core/error.h"

namespace smoothlab {

namespace {

// Temp files are named .<name>.tmp.<host>.<pid>.<n>: the host and pid tell a dead writer's leftovers from a live one's
// (study workers on several machines can share a folder).
const std::string& host_tag() {
  static const std::string tag = [] {
    char name[256] = {};
    std::string s = ::gethostname(name, sizeof name - 1) == 0 ? name : "host";
    for (char& c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        c = '-';
    return s;
  }();
  return tag;
}

fs::path temp_path_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.parent_path() /
      fmt::format(".{}.tmp.{}.{}.{}", path.filename().string(), host_tag(), ::getpid(), counter++);
}

// The pid in the name of a temp file this machine wrote, 0 for any other name.
long temp_file_pid(const std::string& name) {
  const std::string mark = ".tmp." + host_tag() + ".";
  const auto at = name.rfind(mark);
  if (name.empty() || name[0] != '.' || at == std::string::npos || at == 0)
    return 0;
  char* end = nullptr;
  const long pid = std::strtol(name.c_str() + at + mark.size(), &end, 10);
  return end && *end == '.' ? pid : 0;
}

// "error: <file>: no space left on device", naming the file the caller asked for (not the temp file).
Error write_error(const fs::path& path, int err) {
  std::string reason = std::strerror(err);
  if (!reason.empty())
    reason[0] = char(std::tolower(static_cast<unsigned char>(reason[0])));
  if (err == ENOSPC || err == EDQUOT)
    return Error(
        fmt::format("{}: {}", path.string(), reason),
        "free space there or write elsewhere; the files already there are as they were");
  return Error(fmt::format("{}: cannot write: {}", path.string(), reason));
}

bool disk_full(const fs::path& dir) {
  struct statvfs s {};
  return ::statvfs((dir.empty() ? fs::path(".") : dir).c_str(), &s) == 0 && s.f_bavail == 0;
}

// Flushes a file or folder to disk; a file whose data cannot be flushed was not written.
void sync_path(const fs::path& path, const fs::path& named) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS) // folders on some filesystems refuse fsync
    throw write_error(named, err);
}

// The fault-injection seam, switched on by tests only: SMOOTHLAB_TEST_FAULT=<kind>:<n>[:<file name>] makes this
// process's n-th atomic write (counting from 1; only writes of files with that name when one is given) fail after half
// of its temp file is written. kind `kill`: the process gets SIGKILL there, before the rename. kind `enospc`: that
// write and every later one that counts fail as on a full disk.
struct Fault {
  enum class Kind { kNone, kKill, kEnospc } kind = Kind::kNone;
  long at = 0;
  std::string file; // only writes of files with this name count; empty: all
};

Fault fault_from_env() {
  Fault f;
  const char* env = std::getenv("SMOOTHLAB_TEST_FAULT");
  if (!env || !*env)
    return f;
  const std::string spec = env;
  const auto colon = spec.find(':');
  const auto colon2 = colon == std::string::npos ? colon : spec.find(':', colon + 1);
  const std::string kind = spec.substr(0, colon);
  f.at = colon == std::string::npos ? 0 : std::strtol(spec.c_str() + colon + 1, nullptr, 10);
  if (colon2 != std::string::npos)
    f.file = spec.substr(colon2 + 1);
  if (kind == "kill")
    f.kind = Fault::Kind::kKill;
  else if (kind == "enospc")
    f.kind = Fault::Kind::kEnospc;
  if (f.kind == Fault::Kind::kNone || f.at < 1)
    throw Error(
        fmt::format("SMOOTHLAB_TEST_FAULT={}: not a fault", spec),
        "kill:<n>[:<file name>] or enospc:<n>[:<file name>] (a test's switch: unset it)");
  return f;
}

void inject_fault(const fs::path& tmp, const fs::path& path) {
  static const Fault fault = fault_from_env();
  static std::atomic<long> writes{0};
  if (fault.kind == Fault::Kind::kNone || (!fault.file.empty() && path.filename() != fault.file))
    return;
  const long n = ++writes;
  if (n < fault.at)
    return;
  std::error_code ec;
  const auto size = fs::file_size(tmp, ec);
  if (!ec)
    fs::resize_file(tmp, size / 2, ec);
  if (fault.kind == Fault::Kind::kKill && n == fault.at)
    ::raise(SIGKILL);
  if (fault.kind == Fault::Kind::kEnospc)
    throw write_error(path, ENOSPC);
}

} // namespace

void remove_dead_temp_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long pid = temp_file_pid(it->path().filename().string());
    if (pid > 0 && pid != ::getpid() && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  remove_dead_temp_files(path.parent_path());
  fs::path tmp = temp_path_for(path);
  try {
    try {
      write(tmp);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      if (disk_full(path.parent_path()))
        throw write_error(path, ENOSPC);
      if (dynamic_cast<const Error*>(&e))
        throw;
      // LibTorch's serializer and other writers: name the file and the reason instead of an internal error.
      std::string what = e.what();
      throw Error(fmt::format("{}: cannot write: {}", path.string(), what.substr(0, what.find('\n'))));
    }
    inject_fault(tmp, path);
    sync_path(tmp, path);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec)
      throw write_error(path, ec.value());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), path);
}

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  write_atomic_with(path, [&](const fs::path& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
      throw write_error(path, errno);
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        throw write_error(path, err);
      }
      done += size_t(n);
    }
    if (::close(fd) != 0)
      throw write_error(path, errno);
  });
}

void require_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(
        fmt::format("{}: no such file {}", what, path.string()),
        "check the path; data folders are described in README.md (Formats)");
  if (fs::is_directory(path, ec))
    throw Error(fmt::format("{}: {} is a folder, expected a file", what, path.string()));
}

std::string read_file(const fs::path& path) {
  require_file(path, "cannot read");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace smoothlab
