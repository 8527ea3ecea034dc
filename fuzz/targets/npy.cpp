// NumPy .npy files, header and body (data/npy.h read_npy: outputs, MI gaps, the folder and tensor sources).
#include "smoothlab/data/npy.h"
#include "fuzz/fuzz_target.h"

SMOOTHLAB_FUZZ_TARGET(npy) {
  const auto path = smoothlab::fuzz::scratch_path("npy") / "values.npy";
  smoothlab::fuzz::write_input(path, data, size);
  smoothlab::data::read_npy(path);
}
