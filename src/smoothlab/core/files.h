// Files written atomically (temp file in the same folder, fsync, rename) and small read helpers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace smoothlab {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically: readers see the old file or the new one, never half of it.
void write_file_atomic(const fs::path& path, const std::string& bytes);

// Calls write(tmp_path) to produce a temp file beside `path`, then renames it over `path`.
// The temp file is removed if write throws.
void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& write);

// Reads a whole file; throws Error naming the path if it is missing or unreadable.
std::string read_file(const fs::path& path);

// Throws Error("<what>: no such file <path>") with a hint when the path does not exist.
void require_file(const fs::path& path, const std::string& what);

} // namespace smoothlab
