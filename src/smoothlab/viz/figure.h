// Figures drawn with cairo and saved as PNG and SVG: a grid of axes with lines, scatter points, bars,
// text and a legend. Small on purpose — what the reliability diagrams, projection panels and report need.
//
//   viz::Figure fig(900, 450, 1, 2);                 // pixels, rows, cols
//   auto& ax = fig.axes(0, 0);
//   ax.title = "Reliability"; ax.xlabel = "confidence"; ax.ylabel = "accuracy";
//   ax.set_xlim(0, 1); ax.set_ylim(0, 1);
//   ax.line({0, 1}, {0, 1}, viz::Style().with_color(viz::kGray).with_dashed().with_label("perfect"));
//   ax.bars(lefts, rights, heights, viz::Style().with_color(viz::palette(0)).with_alpha(0.6).with_label("hard"));
//   ax.scatter(xs, ys, viz::Style().with_color(viz::palette(1)).with_marker_size(2.5));
//   fig.save_png("r.png"); fig.save_svg("r.svg");     // atomic writes
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smoothlab::viz {

struct Color {
  double r = 0, g = 0, b = 0;
};
inline constexpr Color kBlack{0, 0, 0};
inline constexpr Color kGray{0.5, 0.5, 0.5};
inline constexpr Color kRed{0.84, 0.15, 0.16};
inline constexpr Color kOrange{1.0, 0.5, 0.05};

// A colour-blind-safe categorical palette (Okabe–Ito), cycling.
Color palette(size_t index);

struct Style {
  Color color = kBlack;
  double alpha = 1.0;
  double line_width = 1.5;
  double marker_size = 3.0; // scatter radius in pixels
  bool dashed = false;
  bool filled = true; // scatter markers: filled discs or rings
  std::string label; // non-empty: shown in the legend
  // Chainable setters (C++17 has no designated initialisers): Style().with_color(c).with_alpha(0.5).
  Style& with_color(Color v) {
    color = v;
    return *this;
  }
  Style& with_alpha(double v) {
    alpha = v;
    return *this;
  }
  Style& with_line_width(double v) {
    line_width = v;
    return *this;
  }
  Style& with_marker_size(double v) {
    marker_size = v;
    return *this;
  }
  Style& with_dashed(bool v = true) {
    dashed = v;
    return *this;
  }
  Style& with_filled(bool v = true) {
    filled = v;
    return *this;
  }
  Style& with_label(std::string v) {
    label = std::move(v);
    return *this;
  }
};

struct Axes {
  std::string title, xlabel, ylabel;
  bool equal_aspect = false; // same data units per pixel on both axes
  bool legend = true;
  std::string legend_position = "upper left"; // upper left | upper right | lower right | lower left

  void set_xlim(double lo, double hi) {
    xlim = {{lo, hi}};
  }
  void set_ylim(double lo, double hi) {
    ylim = {{lo, hi}};
  }
  void line(std::vector<double> xs, std::vector<double> ys, Style style = {});
  void scatter(std::vector<double> xs, std::vector<double> ys, Style style = {});
  // Bars spanning [lefts[i], rights[i]] from `bottom` up to heights[i].
  void bars(
      std::vector<double> lefts,
      std::vector<double> rights,
      std::vector<double> heights,
      Style style = {},
      double bottom = 0.0);
  // A filled band between lower[i] and upper[i] over xs (e.g. a bootstrap interval around a curve).
  void band(std::vector<double> xs, std::vector<double> lower, std::vector<double> upper, Style style = {});
  // Text at data coordinates: its lower-left corner 4 px right of and above the point. With `align` (fractions of the
  // text's width and height, e.g. {1, 0.5}: right-aligned, vertically centred) the text is placed at the point itself.
  void text(double x, double y, std::string text, Style style = {});
  void text(double x, double y, std::string text, Style style, std::array<double, 2> align);
  // Text placed in the axes' top-left corner (e.g. "ECE = 0.031").
  void note(std::string text);

  // Data limits actually used (explicit or from the data with 5% margin).
  std::pair<double, double> x_range() const;
  std::pair<double, double> y_range() const;

  struct Series {
    enum Kind { Line, Scatter, Bars, Text, Band } kind;
    std::vector<double> xs, ys, x2; // x2: right edges of bars; a band's upper values (ys: its lower ones)
    double bottom = 0;
    std::string text;
    Style style;
    std::optional<std::array<double, 2>> align; // text only
  };
  std::vector<Series> series;
  std::vector<std::string> notes;
  std::optional<std::pair<double, double>> xlim, ylim;
};

class Figure {
 public:
  Figure(int width, int height, int rows = 1, int cols = 1);
  Axes& axes(int row, int col);
  std::string suptitle;
  void save_png(const std::filesystem::path& path) const;
  void save_svg(const std::filesystem::path& path) const;

 private:
  int width_, height_, rows_, cols_;
  std::vector<Axes> axes_;
};

} // namespace smoothlab::viz
