// The fuzz targets' one interface (fuzz/README.md): SMOOTHLAB_FUZZ_TARGET(name) defines the body a target runs on
// one input and registers it in a table by name. The same target sources compile two ways:
//   - with clang -fsanitize=fuzzer, one target per program: fuzz_main.cpp's LLVMFuzzerTestOneInput runs the only
//     registered target (scripts/fuzz.sh);
//   - into the GoogleTest suite (GCC or clang, no libFuzzer): tests/fuzz/replay_test.cpp runs every registered target
//     on its seeds (fuzz/corpus/<name>/) and its regression inputs (tests/fuzz/regressions/<name>/).
// A target calls the reader the program calls, on the input as a file or as bytes. A thrown smoothlab::Error is the
// reader refusing the input (a normal outcome); any other exception is a finding and must escape the target.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace smoothlab::fuzz {

using Entry = void (*)(const uint8_t* data, size_t size);

struct Target {
  std::string name;
  Entry entry = nullptr;
};

// Every target linked into this program, in registration order.
inline std::vector<Target>& targets() {
  static std::vector<Target> table;
  return table;
}

inline int register_target(const char* name, Entry entry) {
  targets().push_back({name, entry});
  return int(targets().size());
}

// A folder of this process's own under /tmp (made on first use, removed at exit): targets write their input there
// under the name the reader expects.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "smoothlab-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("fuzz: cannot make a scratch folder under " + pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const {
    return path_;
  }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& scratch_dir() {
  static ScratchDir dir;
  return dir.path();
}

// A folder under the scratch folder (made when missing).
inline std::filesystem::path scratch_path(const std::string& name) {
  const auto path = scratch_dir() / name;
  std::filesystem::create_directories(path);
  return path;
}

// Writes the bytes to path, replacing what is there (not atomically: the reader runs after the write).
inline void write_input(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  out.close();
  if (!out)
    throw std::runtime_error("fuzz: cannot write " + path.string());
}

inline void write_input(const std::filesystem::path& path, const std::string& text) {
  write_input(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// A whole file's bytes ("" when it cannot be read).
inline std::string read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace smoothlab::fuzz

// Defines the target `name` (an identifier, also the folder name of its corpus and regression inputs):
//   SMOOTHLAB_FUZZ_TARGET(npy) { write_input(...); data::read_npy(...); }
// The body sees `data` and `size`. Names are per target, so several targets share one (unity) translation unit.
#define SMOOTHLAB_FUZZ_TARGET(name)                                             \
  static void smoothlab_fuzz_target_##name(const uint8_t* data, size_t size);   \
  [[maybe_unused]] static const int smoothlab_fuzz_registered_##name =          \
      ::smoothlab::fuzz::register_target(#name, &smoothlab_fuzz_target_##name); \
  static void smoothlab_fuzz_target_##name(const uint8_t* data, size_t size)
