// Files written atomically (temp file in the same folder, fsync, rename) and small read helpers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace smoothlab {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically: readers see the old file or the new one, never half of it. A failed write
// throws Error naming `path` ("<path>: no space left on device") and leaves the old file as it was.
void write_file_atomic(const fs::path& path, const std::string& bytes);

// Calls write(tmp_path) to produce a temp file beside `path`, flushes it to disk, then renames it over `path`. The temp
// file is removed if anything throws; an exception other than Error or bad_alloc becomes an Error naming `path`. Temp
// files in the folder that a killed process left are removed first. Tests can make the n-th write of a process fail or
// SIGKILL it half-way through (SMOOTHLAB_TEST_FAULT=enospc:<n>[:<file name>] or kill:..., files.cpp).
void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& write);

// Removes the temp files in `dir` that a killed writer on this machine left behind (their process is gone).
void remove_dead_temp_files(const fs::path& dir);

// Reads a whole file; throws Error naming the path if it is missing or unreadable.
std::string read_file(const fs::path& path);

// Throws Error("<what>: no such file <path>") with a hint when the path does not exist.
void require_file(const fs::path& path, const std::string& what);

} // namespace smoothlab
