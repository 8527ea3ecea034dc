#include "smoothlab/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "smoothlab/core/error.h"

namespace smoothlab {

namespace {

fs::path temp_path_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.parent_path() / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter++);
}

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

} // namespace

void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  fs::path tmp = temp_path_for(path);
  try {
    write(tmp);
    fsync_path(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec)
      throw Error(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  write_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw Error(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
      throw Error(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
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
