#include "smoothlab/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/archive.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/train/grad_scaler.h"

namespace smoothlab::train {

void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    int64_t epochs_done,
    const torch::Tensor& scaler_state) {
  torch::serialize::OutputArchive archive;
  archive.write("smoothlab_checkpoint", torch::tensor({kCheckpointMagic, kCheckpointVersion}, torch::kInt64));
  archive.write("epochs_done", torch::tensor(epochs_done, torch::kInt64));
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  if (scaler_state.defined())
    archive.write("grad_scaler", scaler_state);
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_state", generator.get_state());
  }
  write_atomic_with(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
}

namespace {

// Opens path and checks its header; returns the epochs done.
int64_t open_checkpoint(const std::filesystem::path& path, torch::serialize::InputArchive& archive) {
  require_file(path, "cannot load checkpoint");
  try {
    archive.load_from(path.string());
  } catch (const c10::Error&) {
    throw Error(
        fmt::format("{}: not a readable checkpoint (corrupt or truncated)", path.string()),
        "rerun training with --force to start over");
  }
  torch::Tensor header, epochs_done;
  if (!archive.try_read("smoothlab_checkpoint", header) || header.numel() != 2 ||
      header[0].item<int64_t>() != kCheckpointMagic)
    throw Error(fmt::format("{}: not a smoothlab checkpoint", path.string()));
  if (header[1].item<int64_t>() > kCheckpointVersion)
    throw Error(fmt::format(
        "{}: checkpoint version {} is newer than this smoothlab reads ({})",
        path.string(),
        header[1].item<int64_t>(),
        kCheckpointVersion));
  archive.read("epochs_done", epochs_done);
  return epochs_done.item<int64_t>();
}

} // namespace

int64_t checkpoint_epochs(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  return open_checkpoint(path, archive);
}

int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    torch::Tensor* scaler_state) {
  torch::serialize::InputArchive archive;
  const int64_t epochs_done = open_checkpoint(path, archive);
  if (scaler_state && !archive.try_read("grad_scaler", *scaler_state))
    *scaler_state = torch::Tensor();
  if (scaler_state && scaler_state->defined() && !GradScaler::valid_state(*scaler_state))
    throw Error(
        fmt::format("{}: damaged fp16 loss-scaler state (expected [scale > 0, steps ≥ 0])", path.string()),
        "rerun training with --force to start over");
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
  } catch (const c10::Error& e) {
    throw Error(fmt::format(
        "{}: checkpoint does not fit this model ({})",
        path.string(),
        std::string(e.what_without_backtrace()).substr(0, 200)));
  }
  torch::Tensor rng;
  if (archive.try_read("rng_state", rng)) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  }
  return epochs_done;
}

} // namespace smoothlab::train
