// The image-folder index cache (data/image_folder.h index_image_folder): a folder of two classes whose
// FOLDER/.smoothlab-index is the input. A cache that does not match is listed again and rewritten, so every input
// ends with the folder's true listing; the target checks that a matching cache gives it too.
#include <chrono>
#include <stdexcept>

#include "fuzz/fuzz_target.h"
#include "smoothlab/data/image_folder.h"

namespace smoothlab::fuzz::image_folder_index {

namespace fs = std::filesystem;

// The folder (made once): a/1.jpg, a/2.png, b/3.jpg with fixed modification times, so that the checked-in seeds
// (written by fuzz_seeds from this same folder) match it.
fs::path folder() {
  static const fs::path root = [] {
    const fs::path r = scratch_path("image_folder_index") / "train";
    for (const auto* file : {"a/1.jpg", "a/2.png", "b/3.jpg"}) {
      fs::create_directories((r / file).parent_path());
      write_input(r / file, std::string("not decoded"));
    }
    for (const auto* dir : {"a", "b"})
      fs::last_write_time(r / dir, fs::file_time_type(std::chrono::seconds(1700000000)));
    return r;
  }();
  return root;
}

} // namespace smoothlab::fuzz::image_folder_index

SMOOTHLAB_FUZZ_TARGET(image_folder_index) {
  const auto root = smoothlab::fuzz::image_folder_index::folder();
  smoothlab::fuzz::write_input(root / ".smoothlab-index", data, size);
  const auto index = smoothlab::data::index_image_folder(root, nullptr, true);
  if (index.files.size() != index.labels.size())
    throw std::logic_error("image_folder_index: files and labels differ in count");
  for (const auto label : index.labels)
    if (label < 0 || label >= int64_t(index.class_names.size()))
      throw std::logic_error("image_folder_index: a label outside the classes");
}
