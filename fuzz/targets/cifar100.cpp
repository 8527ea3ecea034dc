// CIFAR-100 binary batches (data/cifar.h read_cifar_batch, coarse + fine label bytes per record, 100 classes).
#include "fuzz/fuzz_target.h"
#include "smoothlab/data/cifar.h"

SMOOTHLAB_FUZZ_TARGET(cifar100) {
  const auto path = smoothlab::fuzz::scratch_path("cifar100") / "train.bin";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::data::read_cifar_batch(path, 2, 100);
}
