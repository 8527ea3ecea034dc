// JPEG decoding through TurboJPEG (with DCT-domain scaling), PNG through libpng's simplified API.
#include "smoothlab/data/image_decode.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include <png.h>
#include <turbojpeg.h>

#include "smoothlab/core/error.h"

namespace smoothlab::data {

namespace {

// A damaged header can claim 65535 x 65535 pixels; refuse anything above 2^28 pixels (a 16k x 16k photo).
constexpr int64_t kMaxPixels = int64_t(1) << 28;

struct TjDeleter {
  void operator()(void* handle) const {
    if (handle)
      tjDestroy(handle);
  }
};

// One decompressor per thread: TurboJPEG handles are not thread-safe, creating one costs ~microseconds.
tjhandle thread_decompressor() {
  thread_local std::unique_ptr<void, TjDeleter> handle(tjInitDecompress());
  if (!handle)
    throw Error("TurboJPEG: could not create a decompressor");
  return handle.get();
}

std::string first_bytes(const uint8_t* data, size_t size) {
  std::string out;
  for (size_t i = 0; i < std::min<size_t>(size, 4); ++i)
    out += fmt::format("{}{:02x}", i ? " " : "", data[i]);
  return out;
}

bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

bool is_png(const uint8_t* data, size_t size) {
  static const uint8_t kSig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return size >= 8 && std::memcmp(data, kSig, 8) == 0;
}

ImageFormat detect(const uint8_t* data, size_t size, const std::string& name) {
  if (size == 0)
    throw Error(fmt::format("{}: empty file, not an image", name));
  if (is_jpeg(data, size))
    return ImageFormat::Jpeg;
  if (is_png(data, size))
    return ImageFormat::Png;
  throw Error(
      fmt::format("{}: not a JPEG or PNG image (starts with bytes {})", name, first_bytes(data, size)),
      "remove the file from the folder, or pass --skip-bad-images");
}

inline uint8_t luma(uint8_t r, uint8_t g, uint8_t b) {
  return uint8_t((19595u * r + 38470u * g + 7471u * b + 0x8000u) >> 16);
}

// PIL's MULDIV255: a·b/255 rounded.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

// Adobe-inverted CMYK (as stored) to RGB or gray, PIL's cmyk2rgb on the un-inverted inks.
void cmyk_to(const std::vector<uint8_t>& cmyk, int64_t pixels, int64_t channels, std::vector<uint8_t>& out) {
  out.resize(size_t(pixels * channels));
  for (int64_t p = 0; p < pixels; ++p) {
    const uint8_t* s = &cmyk[size_t(4 * p)];
    const int nk = s[3]; // 255 − K
    uint8_t rgb[3];
    for (int c = 0; c < 3; ++c) {
      const int ink = 255 - s[c];
      rgb[c] = uint8_t(std::clamp(nk - muldiv255(ink, nk), 0, 255));
    }
    if (channels == 3) {
      std::memcpy(&out[size_t(3 * p)], rgb, 3);
    } else {
      out[size_t(p)] = luma(rgb[0], rgb[1], rgb[2]);
    }
  }
}

ImageInfo jpeg_info(const uint8_t* data, size_t size, const std::string& name, int* colorspace) {
  int w = 0, h = 0, subsamp = 0, cs = 0;
  if (tjDecompressHeader3(thread_decompressor(), data, static_cast<unsigned long>(size), &w, &h, &subsamp, &cs) != 0)
    throw Error(
        fmt::format("{}: corrupt JPEG header ({})", name, tjGetErrorStr2(thread_decompressor())),
        "remove the file from the folder, or pass --skip-bad-images");
  if (w < 1 || h < 1)
    throw Error(
        fmt::format("{}: JPEG header says {}x{} pixels", name, w, h),
        "remove the file from the folder, or pass --skip-bad-images");
  if (colorspace)
    *colorspace = cs;
  ImageInfo info;
  info.format = ImageFormat::Jpeg;
  info.width = w;
  info.height = h;
  info.channels = cs == TJCS_GRAY ? 1 : (cs == TJCS_CMYK || cs == TJCS_YCCK) ? 4 : 3;
  return info;
}

DecodedImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o) {
  int colorspace = 0;
  const ImageInfo info = jpeg_info(data, size, name, &colorspace);
  const bool cmyk = info.channels == 4;
  const int m = jpeg_scale_eighths(info.width, info.height, o.min_width, o.min_height, o.scaling);
  DecodedImage img;
  img.width = scaled_side(info.width, m);
  img.height = scaled_side(info.height, m);
  img.channels = o.channels;
  if (img.width * img.height > kMaxPixels)
    throw Error(fmt::format("{}: {}x{} pixels is too large to decode", name, img.width, img.height));
  const int pixel_format = cmyk ? TJPF_CMYK : o.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int64_t pixel_size = cmyk ? 4 : o.channels;
  std::vector<uint8_t> buffer(size_t(img.width * img.height * pixel_size));
  int flags = TJFLAG_STOPONWARNING;
  if (o.fast_dct)
    flags |= TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE;
  tjhandle handle = thread_decompressor();
  if (tjDecompress2(
          handle,
          data,
          static_cast<unsigned long>(size),
          buffer.data(),
          int(img.width),
          0,
          int(img.height),
          pixel_format,
          flags) != 0)
    throw Error(
        fmt::format("{}: corrupt or truncated JPEG ({})", name, tjGetErrorStr2(handle)),
        "remove the file from the folder, or pass --skip-bad-images");
  if (cmyk) {
    cmyk_to(buffer, img.width * img.height, o.channels, img.pixels);
  } else {
    img.pixels = std::move(buffer);
  }
  return img;
}

DecodedImage decode_png(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data, size))
    throw Error(
        fmt::format("{}: corrupt PNG header ({})", name, png.message),
        "remove the file from the folder, or pass --skip-bad-images");
  const bool colour = png.format & PNG_FORMAT_FLAG_COLOR;
  const bool alpha = png.format & PNG_FORMAT_FLAG_ALPHA;
  // Read colour as RGB(A) and convert to gray ourselves (libpng's own gray conversion is linear-light, PIL's is not).
  const int64_t read_channels = (colour ? 3 : 1) + (alpha ? 1 : 0);
  png.format = colour ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB) : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  DecodedImage img;
  img.width = png.width;
  img.height = png.height;
  img.channels = o.channels;
  if (img.width < 1 || img.height < 1) {
    png_image_free(&png);
    throw Error(
        fmt::format("{}: PNG header says {}x{} pixels", name, img.width, img.height),
        "remove the file from the folder, or pass --skip-bad-images");
  }
  if (img.width * img.height > kMaxPixels) {
    png_image_free(&png);
    throw Error(fmt::format("{}: {}x{} pixels is too large to decode", name, img.width, img.height));
  }
  std::vector<uint8_t> buffer(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(
        fmt::format("{}: corrupt or truncated PNG ({})", name, message),
        "remove the file from the folder, or pass --skip-bad-images");
  }
  png_image_free(&png);
  const int64_t pixels = img.width * img.height;
  const int64_t colour_channels = colour ? 3 : 1;
  if (read_channels == o.channels) {
    img.pixels = std::move(buffer);
    return img;
  }
  img.pixels.resize(size_t(pixels * o.channels));
  for (int64_t p = 0; p < pixels; ++p) {
    const uint8_t* s = &buffer[size_t(p * read_channels)];
    uint8_t* d = &img.pixels[size_t(p * o.channels)];
    if (o.channels == 1) {
      d[0] = colour_channels == 3 ? luma(s[0], s[1], s[2]) : s[0];
    } else if (colour_channels == 3) {
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    } else {
      d[0] = d[1] = d[2] = s[0];
    }
  }
  return img;
}

} // namespace

int jpeg_scale_eighths(int64_t width, int64_t height, double min_width, double min_height, DctScaling scaling) {
  if (scaling == DctScaling::Off || (min_width <= 0 && min_height <= 0))
    return 8;
  const int powers[] = {1, 2, 4};
  const int eighths[] = {1, 2, 3, 4, 5, 6, 7};
  const int* begin = scaling == DctScaling::PowersOfTwo ? powers : eighths;
  const int* end = scaling == DctScaling::PowersOfTwo ? powers + 3 : eighths + 7;
  for (const int* m = begin; m != end; ++m)
    if (double(scaled_side(width, *m)) >= min_width && double(scaled_side(height, *m)) >= min_height)
      return *m;
  return 8;
}

ImageInfo read_image_info(const uint8_t* data, size_t size, const std::string& name) {
  if (detect(data, size, name) == ImageFormat::Jpeg)
    return jpeg_info(data, size, name, nullptr);
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data, size))
    throw Error(
        fmt::format("{}: corrupt PNG header ({})", name, png.message),
        "remove the file from the folder, or pass --skip-bad-images");
  ImageInfo info;
  info.format = ImageFormat::Png;
  info.width = png.width;
  info.height = png.height;
  info.channels = PNG_IMAGE_PIXEL_CHANNELS(png.format);
  png_image_free(&png);
  return info;
}

void DecodeOptions::validate() const {
  check(channels == 1 || channels == 3, "--image-channels must be 1 or 3, got {}", channels);
}

DecodedImage decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options) {
  options.validate();
  return detect(data, size, name) == ImageFormat::Jpeg ? decode_jpeg(data, size, name, options)
                                                       : decode_png(data, size, name, options);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file)
    throw Error(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  std::vector<uint8_t> bytes;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) {
    const long end = std::ftell(file.get());
    if (end > 0)
      bytes.reserve(size_t(end));
    std::fseek(file.get(), 0, SEEK_SET);
  }
  uint8_t chunk[1 << 16];
  for (size_t got; (got = std::fread(chunk, 1, sizeof(chunk), file.get())) > 0;)
    bytes.insert(bytes.end(), chunk, chunk + got);
  if (std::ferror(file.get()))
    throw Error(fmt::format("{}: read error ({})", path, std::strerror(errno)));
  return bytes;
}

} // namespace smoothlab::data
