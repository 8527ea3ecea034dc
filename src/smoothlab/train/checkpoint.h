// Checkpoints: model, optimizer, epochs done and RNG state in one LibTorch archive, written atomically.
// The archive holds a "smoothlab_checkpoint" tensor [magic, version] so a foreign file is told apart.
#pragma once

#include <cstdint>
#include <filesystem>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace smoothlab::train {

constexpr int64_t kCheckpointMagic = 0x534D4C42; // "SMLB"
constexpr int64_t kCheckpointVersion = 1;

// Writes model (+ optimizer when given, + the fp16 loss scaler's state when defined: GradScaler::state) and
// epochs_done to path via a temp file and rename.
void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    int64_t epochs_done,
    const torch::Tensor& scaler_state = {});

// Loads what save_checkpoint wrote into model (and optimizer when given; the scaler state into *scaler_state when
// given, left undefined when the checkpoint has none); returns epochs_done.
// Throws Error naming the file when it is missing, not a smoothlab checkpoint, or does not fit the model.
int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    torch::Tensor* scaler_state = nullptr);

// The epochs done recorded in a checkpoint, without loading its model. Throws as load_checkpoint does.
int64_t checkpoint_epochs(const std::filesystem::path& path);

} // namespace smoothlab::train
