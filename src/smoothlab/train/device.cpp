// The --device value: its one parser and name, and LibTorch's device for it (device.h).
#include "smoothlab/train/device.h"

#include <limits>

#include <fmt/format.h>
#include <torch/cuda.h>

#include "smoothlab/core/error.h"

namespace smoothlab::train {

Device parse_device(const std::string& name, const std::string& option) {
  if (name == "cpu")
    return Device::cpu();
  if (name == "cuda")
    return Device::cuda();
  const std::string prefix = "cuda:";
  if (name.rfind(prefix, 0) == 0) {
    const std::string digits = name.substr(prefix.size());
    const bool canonical = !digits.empty() && digits.size() <= 3 &&
        digits.find_first_not_of("0123456789") == std::string::npos && (digits == "0" || digits[0] != '0');
    if (canonical) {
      const int index = std::stoi(digits);
      if (index <= int(std::numeric_limits<c10::DeviceIndex>::max()))
        return Device::cuda(index);
    }
  }
  throw Error(
      fmt::format("{}unknown device '{}'", option.empty() ? "" : option + ": ", name),
      fmt::format("known: cpu, cuda, cuda:N (N from 0 to {})", int(std::numeric_limits<c10::DeviceIndex>::max())));
}

std::string device_name(const Device& device) {
  if (device.is_cpu())
    return "cpu";
  return device.has_index() ? fmt::format("cuda:{}", device.index) : std::string("cuda");
}

c10::Device torch_device(const Device& device) {
  if (device.is_cpu())
    return c10::Device(c10::kCPU);
  if (!torch::cuda::is_available())
    throw Error(
        fmt::format("--device {}: CUDA is not available", device_name(device)),
        "this build uses a CPU LibTorch; configure with -DTorch_DIR=<a CUDA LibTorch> or use --device cpu");
  return c10::Device(c10::kCUDA, c10::DeviceIndex(device.index));
}

} // namespace smoothlab::train
