// The image decode path of folder datasets (data/image_decode.h): the header, then the full decode as the folder
// source asks for it (RGB at full size; gray with DCT scaling to at least 16 × 16), on the bytes of a file named
// .jpg, .png or with a wrong extension (the decoder goes by content; the name appears in its messages).
#include "fuzz/fuzz_target.h"
#include "smoothlab/data/image_decode.h"

SMOOTHLAB_FUZZ_TARGET(image) {
  static const char* const names[] = {"class/image.jpg", "class/image.png", "class/image.txt"};
  const std::string name = names[size % 3];
  smoothlab::data::read_image_info(data, size, name);
  smoothlab::data::decode_image(data, size, name);
  smoothlab::data::DecodeOptions gray;
  gray.channels = 1;
  gray.min_width = gray.min_height = 16;
  smoothlab::data::decode_image(data, size, name, gray);
}
