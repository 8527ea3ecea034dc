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

// Writes model (+ optimizer when given) and epochs_done to path via a temp file and rename.
void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    int64_t epochs_done);

// Loads what save_checkpoint wrote into model (and optimizer when given); returns epochs_done.
// Throws Error naming the file when it is missing, not a smoothlab checkpoint, or does not fit the model.
int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer);

} // namespace smoothlab::train
