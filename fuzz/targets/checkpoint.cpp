// The checkpoint loader's own checks (train/checkpoint.h): checkpoint_epochs (resume's look at a run) and
// load_checkpoint into a model and an SGD optimizer with momentum, on the input as RUN/checkpoint.safetensors.
// smoothlab parses the whole file itself (safetensors layout), so the target covers every byte.
#include <torch/torch.h>

#include "fuzz/fuzz_target.h"
#include "smoothlab/train/checkpoint.h"

namespace smoothlab::fuzz::checkpoint {

// The model and optimizer of the seeds (fuzz_seeds writes them after one step, so momentum buffers exist).
struct Trained {
  torch::nn::Linear model{torch::nn::LinearOptions(4, 3)};
  torch::optim::SGD optimizer{model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9)};
};

} // namespace smoothlab::fuzz::checkpoint

SMOOTHLAB_FUZZ_TARGET(checkpoint) {
  const auto path = smoothlab::fuzz::scratch_path("checkpoint") / "checkpoint.safetensors";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::train::checkpoint_epochs(path);
  smoothlab::fuzz::checkpoint::Trained trained;
  torch::Tensor scaler_state;
  smoothlab::train::load_checkpoint(path, *trained.model, &trained.optimizer, &scaler_state);
}
