// Where a run computes, as a value: "cpu", "cuda" (the current GPU) or "cuda:N" — the --device and config.json
// spelling. Parsed once where text comes in (the command line, config.json); torch_device turns it into LibTorch's
// device when the run starts, and is where a CUDA device is refused on a machine without CUDA.
#pragma once

#include <string>

#include <c10/core/Device.h>

namespace smoothlab::train {

struct Device {
  enum class Kind { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = -1; // "cuda:N": N (0 to 127, LibTorch's device indices); -1: "cpu", or "cuda" without an index

  static Device cpu() {
    return {};
  }
  static Device cuda(int index = -1) {
    return {Kind::Cuda, index};
  }
  bool is_cpu() const {
    return kind == Kind::Cpu;
  }
  bool is_cuda() const {
    return kind == Kind::Cuda;
  }
  bool has_index() const {
    return index >= 0;
  }
  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) {
    return !(a == b);
  }
};

// "cpu" | "cuda" | "cuda:N" (N a device index without leading zeros); any other name is an Error
// "OPTION: unknown device 'NAME'" with the known ones in its hint.
Device parse_device(const std::string& name, const std::string& option = "--device");
// The spelling parse_device reads: "cpu", "cuda" or "cuda:N".
std::string device_name(const Device& device);
// LibTorch's device. Throws Error naming --device when it is a CUDA device and this LibTorch cannot use CUDA.
c10::Device torch_device(const Device& device);

} // namespace smoothlab::train
