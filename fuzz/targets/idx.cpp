// IDX files, raw (data/idx.h read_idx, as the Fashion-MNIST and MNIST sources read them).
#include "smoothlab/data/idx.h"
#include "fuzz/fuzz_target.h"

SMOOTHLAB_FUZZ_TARGET(idx) {
  const auto path = smoothlab::fuzz::scratch_path("idx") / "train-images-idx3-ubyte";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::data::read_idx(path);
}
