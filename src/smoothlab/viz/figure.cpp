// viz::Figure rendered with cairo's image surface (PNG) and SVG surface: the same drawing code for both.
#include "smoothlab/viz/figure.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"

namespace smoothlab::viz {

Color palette(size_t index) {
  static const Color colors[] = {
      {0.000, 0.447, 0.698},
      {0.835, 0.369, 0.000},
      {0.000, 0.620, 0.451},
      {0.800, 0.475, 0.655},
      {0.941, 0.894, 0.259},
      {0.337, 0.706, 0.914},
      {0.902, 0.624, 0.000},
      {0.3, 0.3, 0.3}};
  return colors[index % (sizeof(colors) / sizeof(colors[0]))];
}

void Axes::line(std::vector<double> xs, std::vector<double> ys, Style style) {
  series.push_back({Series::Line, std::move(xs), std::move(ys), {}, 0, {}, std::move(style), std::nullopt});
}
void Axes::band(std::vector<double> xs, std::vector<double> lower, std::vector<double> upper, Style style) {
  check(
      xs.size() == lower.size() && xs.size() == upper.size(),
      "a band needs as many lower and upper values as x values ({}, {}, {})",
      xs.size(),
      lower.size(),
      upper.size());
  series.push_back(
      {Series::Band, std::move(xs), std::move(lower), std::move(upper), 0, {}, std::move(style), std::nullopt});
}
void Axes::scatter(std::vector<double> xs, std::vector<double> ys, Style style) {
  series.push_back({Series::Scatter, std::move(xs), std::move(ys), {}, 0, {}, std::move(style), std::nullopt});
}
void Axes::bars(
    std::vector<double> lefts,
    std::vector<double> rights,
    std::vector<double> heights,
    Style style,
    double bottom) {
  series.push_back(
      {Series::Bars,
       std::move(lefts),
       std::move(heights),
       std::move(rights),
       bottom,
       {},
       std::move(style),
       std::nullopt});
}
void Axes::text(double x, double y, std::string text, Style style) {
  series.push_back({Series::Text, {x}, {y}, {}, 0, std::move(text), std::move(style), std::nullopt});
}
void Axes::text(double x, double y, std::string text, Style style, std::array<double, 2> align) {
  series.push_back({Series::Text, {x}, {y}, {}, 0, std::move(text), std::move(style), align});
}
void Axes::note(std::string text) {
  notes.push_back(std::move(text));
}

namespace {

std::pair<double, double> padded(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    return {0, 1};
  if (hi - lo < 1e-12)
    return {lo - 0.5, hi + 0.5};
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

double nice_step(double span) {
  const double raw = span / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

void set_color(cairo_t* cr, const Color& c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

// max_width > 0: a text wider than that is set smaller to fit (not below 7 px), so long titles are not clipped.
void show_text(
    cairo_t* cr,
    double x,
    double y,
    const std::string& s,
    double align_x,
    double align_y,
    double size,
    bool bold = false,
    double angle = 0,
    double max_width = 0) {
  cairo_select_font_face(
      cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  if (max_width > 0 && ext.width > max_width) {
    cairo_set_font_size(cr, std::max(7.0, size * max_width / ext.width));
    cairo_text_extents(cr, s.c_str(), &ext);
  }
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -ext.x_bearing - align_x * ext.width, -ext.y_bearing - align_y * ext.height);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

struct Box {
  double x, y, w, h;
};

// The plot area of a cell and the data window it shows: maps data coordinates to pixels.
struct Frame {
  Box plot;
  double x0, x1, y0, y1;
  double px(double x) const {
    return plot.x + (x - x0) / (x1 - x0) * plot.w;
  }
  double py(double y) const {
    return plot.y + plot.h - (y - y0) / (y1 - y0) * plot.h;
  }
};

// The cell less the margins for the tick labels, the axis labels and (if any) the title.
Box plot_area(const Axes& ax, Box cell) {
  return {
      cell.x + 62, cell.y + (ax.title.empty() ? 14 : 34), cell.w - 62 - 16, cell.h - (ax.title.empty() ? 14 : 34) - 48};
}

// The axes' ranges, widened in x or y for an equal aspect so that a data unit is as long on both axes.
Frame data_frame(const Axes& ax, Box plot) {
  Frame f{plot, 0, 0, 0, 0};
  std::tie(f.x0, f.x1) = ax.x_range();
  std::tie(f.y0, f.y1) = ax.y_range();
  if (ax.equal_aspect) {
    const double sx = (f.x1 - f.x0) / plot.w, sy = (f.y1 - f.y0) / plot.h, s = std::max(sx, sy);
    const double cx = 0.5 * (f.x0 + f.x1), cy = 0.5 * (f.y0 + f.y1);
    f.x0 = cx - 0.5 * s * plot.w;
    f.x1 = cx + 0.5 * s * plot.w;
    f.y0 = cy - 0.5 * s * plot.h;
    f.y1 = cy + 0.5 * s * plot.h;
  }
  return f;
}

// Grid lines at "nice" steps, each with its tick label below (x) or left of (y) the plot.
void draw_grid_and_ticks(cairo_t* cr, const Frame& f) {
  const Box& plot = f.plot;
  cairo_set_line_width(cr, 1.0);
  const double xs = nice_step(f.x1 - f.x0), ys = nice_step(f.y1 - f.y0);
  for (double t = std::ceil(f.x0 / xs) * xs; t <= f.x1 + 1e-9 * xs; t += xs) {
    set_color(cr, {0.9, 0.9, 0.9});
    cairo_move_to(cr, f.px(t), plot.y);
    cairo_line_to(cr, f.px(t), plot.y + plot.h);
    cairo_stroke(cr);
    set_color(cr, kBlack);
    show_text(cr, f.px(t), plot.y + plot.h + 5, fmt::format("{:g}", std::abs(t) < 1e-12 * xs ? 0.0 : t), 0.5, 0, 11);
  }
  for (double t = std::ceil(f.y0 / ys) * ys; t <= f.y1 + 1e-9 * ys; t += ys) {
    set_color(cr, {0.9, 0.9, 0.9});
    cairo_move_to(cr, plot.x, f.py(t));
    cairo_line_to(cr, plot.x + plot.w, f.py(t));
    cairo_stroke(cr);
    set_color(cr, kBlack);
    show_text(cr, plot.x - 5, f.py(t), fmt::format("{:g}", std::abs(t) < 1e-12 * ys ? 0.0 : t), 1, 0.5, 11);
  }
}

void draw_bars(cairo_t* cr, const Axes::Series& s, const Frame& f) {
  const auto& st = s.style;
  for (size_t i = 0; i < s.xs.size(); ++i) {
    const double l = f.px(s.xs[i]), r = f.px(s.x2[i]), top = f.py(s.ys[i]), bot = f.py(s.bottom);
    cairo_rectangle(cr, l, std::min(top, bot), r - l, std::abs(bot - top));
    set_color(cr, st.color, st.alpha);
    cairo_fill_preserve(cr);
    set_color(cr, st.color, std::min(1.0, st.alpha + 0.3));
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
  }
}

// A polyline, broken where a point is not finite.
void draw_line(cairo_t* cr, const Axes::Series& s, const Frame& f) {
  const auto& st = s.style;
  set_color(cr, st.color, st.alpha);
  cairo_set_line_width(cr, st.line_width);
  const double dash[] = {6.0, 4.0};
  cairo_set_dash(cr, dash, st.dashed ? 2 : 0, 0);
  bool pen = false;
  for (size_t i = 0; i < s.xs.size(); ++i) {
    if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i])) {
      pen = false;
      continue;
    }
    if (pen)
      cairo_line_to(cr, f.px(s.xs[i]), f.py(s.ys[i]));
    else
      cairo_move_to(cr, f.px(s.xs[i]), f.py(s.ys[i]));
    pen = true;
  }
  cairo_stroke(cr);
  cairo_set_dash(cr, dash, 0, 0);
}

// The lower edge left to right, the upper one back; points with a non-finite edge are skipped.
void draw_band(cairo_t* cr, const Axes::Series& s, const Frame& f) {
  bool started = false;
  for (size_t i = 0; i < s.xs.size(); ++i) {
    if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i]) || !std::isfinite(s.x2[i]))
      continue;
    if (started)
      cairo_line_to(cr, f.px(s.xs[i]), f.py(s.ys[i]));
    else
      cairo_move_to(cr, f.px(s.xs[i]), f.py(s.ys[i]));
    started = true;
  }
  for (size_t i = s.xs.size(); i-- > 0;)
    if (std::isfinite(s.xs[i]) && std::isfinite(s.ys[i]) && std::isfinite(s.x2[i]))
      cairo_line_to(cr, f.px(s.xs[i]), f.py(s.x2[i]));
  if (started) {
    cairo_close_path(cr);
    set_color(cr, s.style.color, s.style.alpha);
    cairo_fill(cr);
  }
}

// One circle per finite point, filled or outlined.
void draw_scatter(cairo_t* cr, const Axes::Series& s, const Frame& f) {
  const auto& st = s.style;
  set_color(cr, st.color, st.alpha);
  cairo_set_line_width(cr, 1.2);
  for (size_t i = 0; i < s.xs.size(); ++i) {
    if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i]))
      continue;
    cairo_new_sub_path(cr);
    cairo_arc(cr, f.px(s.xs[i]), f.py(s.ys[i]), st.marker_size, 0, 2 * M_PI);
    if (st.filled)
      cairo_fill(cr);
    else
      cairo_stroke(cr);
  }
}

// A text at its anchor point: aligned as given, or by default just above and right of it.
void draw_text(cairo_t* cr, const Axes::Series& s, const Frame& f) {
  set_color(cr, s.style.color, s.style.alpha);
  if (s.align)
    show_text(cr, f.px(s.xs[0]), f.py(s.ys[0]), s.text, (*s.align)[0], (*s.align)[1], 11, true);
  else
    show_text(cr, f.px(s.xs[0]) + 4, f.py(s.ys[0]) - 4, s.text, 0, 1, 11, true);
}

// Every series in the order added, clipped to the plot area.
void draw_series(cairo_t* cr, const Axes& ax, const Frame& f) {
  cairo_save(cr);
  cairo_rectangle(cr, f.plot.x, f.plot.y, f.plot.w, f.plot.h);
  cairo_clip(cr);
  for (const auto& s : ax.series) {
    switch (s.kind) {
      case Axes::Series::Bars:
        draw_bars(cr, s, f);
        break;
      case Axes::Series::Line:
        draw_line(cr, s, f);
        break;
      case Axes::Series::Band:
        draw_band(cr, s, f);
        break;
      case Axes::Series::Scatter:
        draw_scatter(cr, s, f);
        break;
      case Axes::Series::Text:
        draw_text(cr, s, f);
        break;
    }
  }
  cairo_restore(cr);
}

// The plot's frame, the title centred on the plot, and the axis labels.
void draw_frame_and_labels(cairo_t* cr, const Axes& ax, Box cell, Box plot) {
  set_color(cr, kBlack);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  cairo_stroke(cr);
  if (!ax.title.empty())
    show_text(
        cr,
        plot.x + plot.w / 2,
        cell.y + 8,
        ax.title,
        0.5,
        0,
        13,
        true,
        0,
        2 * (cell.x + cell.w - (plot.x + plot.w / 2)) - 4); // centred on the plot
  if (!ax.xlabel.empty())
    show_text(cr, plot.x + plot.w / 2, plot.y + plot.h + 24, ax.xlabel, 0.5, 0, 12);
  if (!ax.ylabel.empty())
    show_text(cr, cell.x + 6, plot.y + plot.h / 2, ax.ylabel, 0.5, 0, 12, false, -M_PI / 2);
}

// A legend entry's key centred at height cy: a dot (scatter), a swatch (bars, band) or a line sample.
void draw_legend_key(cairo_t* cr, const Axes::Series& entry, double lx, double cy) {
  const auto& st = entry.style;
  set_color(cr, st.color, std::max(st.alpha, 0.6));
  if (entry.kind == Axes::Series::Scatter) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, lx + 16, cy, 4, 0, 2 * M_PI);
    cairo_fill(cr);
  } else if (entry.kind == Axes::Series::Bars || entry.kind == Axes::Series::Band) {
    cairo_rectangle(cr, lx + 8, cy - 5, 16, 10);
    cairo_fill(cr);
  } else {
    cairo_set_line_width(cr, st.line_width);
    const double dash[] = {5.0, 3.0};
    cairo_set_dash(cr, dash, st.dashed ? 2 : 0, 0);
    cairo_move_to(cr, lx + 6, cy);
    cairo_line_to(cr, lx + 26, cy);
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
  }
}

// The labelled series in a box in the corner named by legend_position (none if legend is off or nothing is labelled).
void draw_legend(cairo_t* cr, const Axes& ax, Box plot) {
  std::vector<const Axes::Series*> entries;
  for (const auto& s : ax.series)
    if (!s.style.label.empty())
      entries.push_back(&s);
  if (!ax.legend || entries.empty())
    return;
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  double text_w = 0;
  for (auto* e : entries) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, e->style.label.c_str(), &ext);
    text_w = std::max(text_w, ext.x_advance);
  }
  const double row = 16, w = text_w + 40, h = row * double(entries.size()) + 8;
  const bool right = ax.legend_position.find("right") != std::string::npos;
  const bool lower = ax.legend_position.find("lower") != std::string::npos;
  const double lx = right ? plot.x + plot.w - w - 8 : plot.x + 8;
  const double ly = lower ? plot.y + plot.h - h - 8 : plot.y + 8;
  cairo_rectangle(cr, lx, ly, w, h);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_fill_preserve(cr);
  set_color(cr, {0.7, 0.7, 0.7});
  cairo_stroke(cr);
  for (size_t i = 0; i < entries.size(); ++i) {
    const double cy = ly + 4 + row * (double(i) + 0.5);
    draw_legend_key(cr, *entries[i], lx, cy);
    set_color(cr, kBlack);
    show_text(cr, lx + 32, cy, entries[i]->style.label, 0, 0.5, 11);
  }
}

// The notes stacked in the plot's lower right corner, the last one lowest.
void draw_notes(cairo_t* cr, const Axes& ax, Box plot) {
  for (size_t i = 0; i < ax.notes.size(); ++i) {
    set_color(cr, kBlack);
    show_text(
        cr,
        plot.x + plot.w - 8,
        plot.y + plot.h - 8 - 16 * double(ax.notes.size() - 1 - i),
        ax.notes[i],
        1,
        1,
        12,
        true);
  }
}

void draw_axes(cairo_t* cr, const Axes& ax, Box cell) {
  const Box plot = plot_area(ax, cell);
  if (plot.w < 10 || plot.h < 10)
    return;
  const Frame frame = data_frame(ax, plot);
  draw_grid_and_ticks(cr, frame);
  draw_series(cr, ax, frame);
  draw_frame_and_labels(cr, ax, cell, plot);
  draw_legend(cr, ax, plot);
  draw_notes(cr, ax, plot);
}

void render(
    cairo_t* cr,
    int width,
    int height,
    int rows,
    int cols,
    const std::vector<Axes>& axes,
    const std::string& suptitle) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  const double top = suptitle.empty() ? 0 : 30;
  if (!suptitle.empty()) {
    set_color(cr, kBlack);
    show_text(cr, width / 2.0, 8, suptitle, 0.5, 0, 15, true, 0, width - 16.0);
  }
  const double cw = double(width) / cols, ch = (double(height) - top) / rows;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      draw_axes(cr, axes[size_t(r * cols + c)], {c * cw, top + r * ch, cw, ch});
}

} // namespace

std::pair<double, double> Axes::x_range() const {
  if (xlim)
    return *xlim;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : series) {
    for (double x : s.xs)
      if (std::isfinite(x))
        lo = std::min(lo, x), hi = std::max(hi, x);
    if (s.kind != Series::Band)
      for (double x : s.x2)
        if (std::isfinite(x))
          lo = std::min(lo, x), hi = std::max(hi, x);
  }
  return padded(lo, hi);
}

std::pair<double, double> Axes::y_range() const {
  if (ylim)
    return *ylim;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : series) {
    for (double y : s.ys)
      if (std::isfinite(y))
        lo = std::min(lo, y), hi = std::max(hi, y);
    if (s.kind == Series::Bars)
      lo = std::min(lo, s.bottom), hi = std::max(hi, s.bottom);
    if (s.kind == Series::Band)
      for (double y : s.x2)
        if (std::isfinite(y))
          lo = std::min(lo, y), hi = std::max(hi, y);
  }
  return padded(lo, hi);
}

Figure::Figure(int width, int height, int rows, int cols)
    : width_(width), height_(height), rows_(rows), cols_(cols), axes_(size_t(rows * cols)) {
  check(width > 0 && height > 0 && rows > 0 && cols > 0, "figure size and grid must be positive");
}

Axes& Figure::axes(int row, int col) {
  check(
      row >= 0 && row < rows_ && col >= 0 && col < cols_,
      "axes ({}, {}) outside a {}x{} figure",
      row,
      col,
      rows_,
      cols_);
  return axes_[size_t(row * cols_ + col)];
}

namespace {

// Cairo's objects, released however the scope is left (a failed write throws).
struct CairoDeleter {
  void operator()(cairo_surface_t* s) const {
    cairo_surface_destroy(s);
  }
  void operator()(cairo_t* cr) const {
    cairo_destroy(cr);
  }
};
using Surface = std::unique_ptr<cairo_surface_t, CairoDeleter>;
using Context = std::unique_ptr<cairo_t, CairoDeleter>;

} // namespace

void Figure::save_png(const std::filesystem::path& path) const {
  const Surface surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width_, height_));
  {
    const Context cr(cairo_create(surface.get()));
    render(cr.get(), width_, height_, rows_, cols_, axes_, suptitle);
  }
  cairo_surface_flush(surface.get());
  write_atomic_with(path, [&](const std::filesystem::path& tmp) {
    const auto status = cairo_surface_write_to_png(surface.get(), tmp.c_str());
    if (status != CAIRO_STATUS_SUCCESS)
      throw Error(fmt::format("cannot write {}: {}", path.string(), cairo_status_to_string(status)));
  });
}

void Figure::save_svg(const std::filesystem::path& path) const {
  write_atomic_with(path, [&](const std::filesystem::path& tmp) {
    const Surface surface(cairo_svg_surface_create(tmp.c_str(), width_, height_));
    {
      const Context cr(cairo_create(surface.get()));
      render(cr.get(), width_, height_, rows_, cols_, axes_, suptitle);
    }
    cairo_surface_finish(surface.get());
    const auto status = cairo_surface_status(surface.get());
    if (status != CAIRO_STATUS_SUCCESS)
      throw Error(fmt::format("cannot write {}: {}", path.string(), cairo_status_to_string(status)));
  });
}

} // namespace smoothlab::viz
