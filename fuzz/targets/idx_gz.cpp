// IDX files, gzip-compressed (data/idx.h read_idx detects gzip from the content; the name is the usual one).
#include "fuzz/fuzz_target.h"
#include "smoothlab/data/idx.h"

SMOOTHLAB_FUZZ_TARGET(idx_gz) {
  const auto path = smoothlab::fuzz::scratch_path("idx_gz") / "train-images-idx3-ubyte.gz";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::data::read_idx(path);
}
