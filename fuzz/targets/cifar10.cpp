// CIFAR-10 binary batches (data/cifar.h read_cifar_batch, 1 label byte per record, 10 classes).
#include "fuzz/fuzz_target.h"
#include "smoothlab/data/cifar.h"

SMOOTHLAB_FUZZ_TARGET(cifar10) {
  const auto path = smoothlab::fuzz::scratch_path("cifar10") / "data_batch_1.bin";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::data::read_cifar_batch(path, 1, 10);
}
