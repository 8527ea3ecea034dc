// Mutual information between a training example's index and its logit gap ([M] §4, Fig. 6).
//
// X = which of N examples (drawn from two classes a and b), Y = z_a − z_b of a randomly augmented view of it.
// Model: Y | x ~ Normal(µ_x, σ²), mixture p(y) = (1/N) Σ_x′ Normal(y; µ_x′, σ²). From gaps y_{x,l}, l = 1..L views:
//
//   µ_x = (1/L) Σ_l y_{x,l}                                   per-example mean over its L views
//   σ²  = Σ_x Σ_l (y_{x,l} − µ_x)² / (N·(L − 1))              within-example variance pooled over all examples
//                                                              (unbiased; floored at 1e-12·max(1, mean y²))
//   Î   = (1/(N·L)) Σ_x Σ_l [ −(y_{x,l} − µ_x)²/(2σ²) − log( (1/N) Σ_x′ exp(−(y_{x,l} − µ_x′)²/(2σ²)) ) ]
//
// i.e. the paper's v3 estimator with y_x taken to be EACH of the L views in turn (the same views that gave µ_x),
// averaged — the single-draw form is one of the L terms. Each term is ≤ log N (the x′ = x summand), so
// Î ≤ log N; the true MI is ≥ 0 but the plug-in estimate can dip slightly below, so `mi` is clamped to [0, log N]
// and `mi_raw` keeps the unclamped value. Noise-free views of distinct examples give log N; examples that share one
// mean give ≈ 0; two collapsed clusters give ≈ log 2.
//
// Cost: O(N²·L) (chunked, float64); N = 600, L = 5 takes milliseconds.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"

namespace smoothlab::represent {

struct MiEstimate {
  double mi = 0; // clamped to [0, log N]
  double mi_raw = 0; // the plug-in value
  double log_n = 0; // upper bound log N
  double sigma2 = 0; // pooled within-example variance σ² (before flooring)
  double between_variance = 0; // variance of the µ_x (population)
  int64_t examples = 0, views = 0;
};

// gaps: [N, L] float, N ≥ 2 examples, L ≥ 2 views. Throws Error for other shapes and non-finite gaps.
MiEstimate estimate_mutual_information(const torch::Tensor& gaps);

nlohmann::json to_json(const MiEstimate& estimate);

struct MiOptions {
  // Throws Error naming the option (--examples, --views, --crop-padding) for values out of range; the classes are
  // checked against the data set by MiProbe, which calls this first.
  void validate() const;

  TORCH_ARG(int64_t, class_a) = 0;
  TORCH_ARG(int64_t, class_b) = 1;
  TORCH_ARG(int64_t, examples) = 300; // per class: N = 2·examples ([M]: 300 each)
  TORCH_ARG(int64_t, views) = 5; // L augmented views per example ([M]: 5)
  TORCH_ARG(int64_t, crop_padding) = 4; // random crop with this zero padding ...
  TORCH_ARG(bool, hflip) = true; // ... and horizontal flip (the paper's d(·))
  TORCH_ARG(uint64_t, seed) = 0; // augmentation seed: view l uses the loader's draw for (seed, epoch = l)
  TORCH_ARG(int64_t, batch_size) = 500;
};

// Fixed examples and their augmented views; measures Î for any model over them. The examples are the FIRST
// `examples` of class a and of class b in the dataset's order (so the same examples every time), views are
// data::BatchLoader batches with crop/flip for epochs 0..L−1 (a pure function of (seed, view, example)).
class MiProbe {
 public:
  // mean/std: the model's input normalisation. Throws Error for options out of range (MiOptions::validate), when a
  // class has fewer than `examples` examples, a class is out of range or the two classes are equal.
  MiProbe(
      const data::Dataset& dataset,
      int64_t num_classes,
      std::vector<float> mean,
      std::vector<float> std,
      const MiOptions& options);

  // z_a − z_b for every example and view: float64 [N, L]; examples of class a first. The model runs in eval mode
  // without gradients; its training flag is restored.
  torch::Tensor gaps(model::ClassifierImpl& model, const torch::Device& device) const;
  MiEstimate measure(model::ClassifierImpl& model, const torch::Device& device) const;

  const torch::Tensor& positions() const {
    return positions_;
  } // int64 [N], positions in the dataset
  const MiOptions& options() const {
    return options_;
  }

 private:
  data::Dataset subset_;
  torch::Tensor positions_;
  std::vector<float> mean_, std_;
  MiOptions options_;
};

} // namespace smoothlab::represent
