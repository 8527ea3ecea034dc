// A frozen teacher for distillation ([M] §4): a smoothlab run folder or a TorchScript module.
//
//   Teacher::load("runs/resnet20_eps0")   run folder: config.json + checkpoint.safetensors (train::load_run), knows its
//                                         classes and its input normalisation (its training split's mean/std)
//   Teacher::load("teacher.pt")           TorchScript (torch.jit.save in PyTorch, or torch::jit::Module::save):
//                                         forward(x: [B, C, H, W] float pixels in [0, 1]) -> logits [B, K]; the
//                                         convention of every command that takes a model (README, "TorchScript
//                                         models"): the module normalises its input itself
//
// The teacher is frozen: eval mode (batch-norm running statistics, no dropout), every parameter with
// requires_grad = false, forward under NoGradGuard. logits() always returns detached tensors.
// Not thread-safe (one forward at a time).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/device.h"

namespace smoothlab::distill {

class Teacher {
 public:
  enum class Kind { Run, TorchScript, Model };

  // Loads a run folder or a TorchScript file onto device. Throws Error naming the path when it is missing, is neither
  // a run folder nor a TorchScript archive, or its checkpoint does not fit (and for a CUDA device without CUDA).
  static Teacher load(const std::filesystem::path& path, const train::Device& device = train::Device::cpu());
  // Wraps an in-memory model (tests, programmatic use); it is frozen the same way. mean/std: its input normalisation
  // (empty: the student's).
  static Teacher from_model(model::Classifier model, std::vector<float> mean = {}, std::vector<float> std = {});

  // Declares how the student's images are normalised (per channel, in units where 1 = white). Run teachers with a
  // different normalisation then get (x·std_s + mean_s − mean_t) / std_t, i.e. the raw image in their own units;
  // TorchScript teachers get the raw image x·std_s + mean_s (pixels in [0, 1]).
  void set_student_normalisation(const std::vector<float>& mean, const std::vector<float>& std);

  // images: [B, C, H, W] float normalised as the student's; returns detached float32 logits [B, K] on the images'
  // device (or the teacher's device when that differs).
  torch::Tensor logits(const torch::Tensor& images) const;

  // Runs one all-zero batch of the student's input shape and checks the teacher answers with [B, num_classes]
  // logits. Throws Error ("the teacher has K classes but the student has K'") otherwise. Returns the teacher's K.
  int64_t check_compatible(const model::InputShape& student) const;

  // Teacher logits over a whole dataset in order, without augmentation, normalised with the student's statistics
  // (or the teacher's own before set_student_normalisation): float32 [N, K] on the CPU. Equal to logits() of the
  // student's un-augmented training batches, so they can stand in for them (the distillation cache).
  torch::Tensor dataset_logits(const data::Dataset& dataset, int64_t batch_size, int workers) const;

  Kind kind() const;
  const std::string& source() const; // the path it was loaded from, or "<model>"
  bool is_training() const; // false, always: for tests
  std::vector<torch::Tensor> parameters() const;
  const std::vector<std::string>& class_names() const; // run teachers only (empty otherwise)

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

const char* teacher_kind_name(Teacher::Kind kind); // "run" | "torchscript" | "model"

} // namespace smoothlab::distill
