// Checkpoints: model, optimizer, epochs done and RNG state in one safetensors file, written atomically.
//
// The layout is safetensors' (github.com/huggingface/safetensors): an 8-byte little-endian header size, a JSON header
// that gives each tensor's dtype, shape and byte range, then the tensors' bytes, so Python reads a checkpoint with
// safetensors.torch.load_file. The tensors:
//   model.<name>                              every parameter and buffer of the model (named_parameters/buffers)
//   optimizer.momentum_buffer.<parameter>     SGD's momentum of each parameter that has one
//   grad_scaler                               the fp16 loss scaler's [scale, steps], when the run has one
//   rng_state                                 LibTorch's default CPU generator
// and __metadata__: format "smoothlab_checkpoint", version, epochs_done and crc32 (of the whole file, header included,
// with its own 8 hex digits read as zeros).
// smoothlab checks every byte of the file itself before a tensor reaches LibTorch: no TorchScript or pickle is parsed,
// so a damaged or hostile file is refused with an Error, never handed to a parser that may crash on it.
#pragma once

#include <cstdint>
#include <filesystem>

#include <torch/nn/module.h>
#include <torch/optim/sgd.h>

namespace smoothlab::train {

constexpr const char* kCheckpointFormat = "smoothlab_checkpoint";
constexpr int64_t kCheckpointVersion = 2; // 1 was a LibTorch archive (zip + TorchScript), which this no longer reads

// Writes model (+ optimizer's momentum when given, + the fp16 loss scaler's state when defined: GradScaler::state),
// epochs_done and the RNG state to path atomically.
void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::SGD* optimizer,
    int64_t epochs_done,
    const torch::Tensor& scaler_state = {});

// Loads what save_checkpoint wrote into model (and optimizer when given; the scaler state into *scaler_state when
// given, left undefined when the checkpoint has none) and restores the RNG state; returns epochs_done.
// Throws Error naming the file when it is missing, damaged, not a smoothlab checkpoint, or does not fit the model.
int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::SGD* optimizer,
    torch::Tensor* scaler_state = nullptr);

// The epochs done recorded in a checkpoint, without loading its model. Checks the file as load_checkpoint does.
int64_t checkpoint_epochs(const std::filesystem::path& path);

} // namespace smoothlab::train
