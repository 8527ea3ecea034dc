// viz::Figure: files are written, are what they claim to be, and the pixels land where the data says.
#include <cairo.h>

#include <fstream>

#include "smoothlab/viz/figure.h"
#include "smoothlab/viz/projection_plot.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(Figure, WritesPngAndSvg) {
  TempDir dir;
  viz::Figure fig(400, 300, 1, 2);
  auto& a = fig.axes(0, 0);
  a.title = "lines";
  a.line({0, 1}, {0, 1}, {viz::kGray, 1.0, 1.5, 3.0, true, true, "identity"});
  a.bars({0, 0.5}, {0.5, 1.0}, {0.2, 0.8}, {viz::palette(0), 0.5, 1, 3, false, true, "bars"});
  auto& b = fig.axes(0, 1);
  b.equal_aspect = true;
  b.scatter({-1, 2}, {3, 4}, viz::Style().with_color(viz::palette(1)));
  b.note("ECE = 0.0123");
  fig.save_png(dir / "f.png");
  fig.save_svg(dir / "f.svg");
  std::ifstream png(dir / "f.png", std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");
  std::ifstream svg(dir / "f.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
  // Only the final files are left behind (temp files were renamed).
  int files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path()))
    ++files;
  EXPECT_EQ(files, 2);
}

TEST(Figure, ExplicitLimitsPlaceBarsInTheRightPixels) {
  TempDir dir;
  viz::Figure fig(200, 200);
  auto& a = fig.axes(0, 0);
  a.set_xlim(0, 1);
  a.set_ylim(0, 1);
  // A bar filling the left half of the plot in pure red.
  a.bars({0}, {0.5}, {1.0}, viz::Style().with_color({1, 0, 0}).with_alpha(1.0));
  fig.save_png(dir / "bar.png");
  cairo_surface_t* s = cairo_image_surface_create_from_png((dir / "bar.png").c_str());
  ASSERT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
  const unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  // Plot area: x in [62, 184], y in [14, 152]; grid lines every 0.2. Sample inside the left half (x = 0.23) and
  // in the right half between grid lines (x = 0.89, y = 0.52).
  auto pixel = [&](int x, int y) { return reinterpret_cast<const uint32_t*>(data + y * stride)[x]; };
  const uint32_t left = pixel(90, 80), right = pixel(170, 80);
  EXPECT_EQ((left >> 16) & 0xff, 0xffu); // red channel
  EXPECT_EQ((left >> 8) & 0xff, 0u); // no green
  EXPECT_EQ((right >> 8) & 0xff, 0xffu); // white background
  cairo_surface_destroy(s);
}

TEST(Figure, RejectsAxesOutsideTheGrid) {
  viz::Figure fig(100, 100, 1, 1);
  EXPECT_THROW(fig.axes(1, 0), std::exception);
}

TEST(ProjectionFigure, OptionsValidate) {
  viz::ProjectionFigureOptions o;
  EXPECT_NO_THROW(o.validate());
  o.panel_height = 0;
  EXPECT_ERROR_MENTIONS(o.validate(), "panel_width and panel_height must be positive, got 420x0");
  viz::ProjectionPanel panel{"p", torch::zeros({1, 2}), torch::zeros({1}, torch::kInt64), torch::zeros({3, 2}), ""};
  EXPECT_ERROR_MENTIONS(viz::projection_figure({{panel}}, {0, 1, 2}, {"a", "b", "c"}, o), "panel_width");
}

} // namespace
} // namespace smoothlab::testing
