// HTML escaping, base64 and the page frame of smoothlab's self-contained reports.
#include "smoothlab/html/html.h"

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"

namespace smoothlab::html {

std::string base64_encode(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2)
      v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string embed_png(const std::filesystem::path& png, const std::string& alt, const std::string& css_class) {
  const std::string bytes = read_file(png);
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (bytes.compare(0, kSignature.size(), kSignature) != 0)
    throw Error(fmt::format("{}: not a PNG file (bad signature)", png.string()));
  return fmt::format(
      "<img class=\"{}\" alt=\"{}\" src=\"data:image/png;base64,{}\">",
      html_escape(css_class),
      html_escape(alt),
      base64_encode(bytes));
}

std::string html_table(
    const std::vector<std::string>& header,
    const std::vector<std::vector<std::string>>& rows,
    const std::string& css_class) {
  auto cell = [](const std::string& s) { return s.empty() ? std::string("—") : html_escape(s); };
  std::string out = css_class.empty() ? "<table>\n<thead><tr>"
                                      : fmt::format("<table class=\"{}\">\n<thead><tr>", html_escape(css_class));
  for (const auto& h : header)
    out += "<th>" + cell(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i)
      out += (i == 0 ? "<th scope=\"row\">" : "<td>") + cell(row[i]) + (i == 0 ? "</th>" : "</td>");
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
  return out;
}

std::string html_page(const std::string& title, const std::string& body) {
  static const char* kStyle = R"(
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th[scope=row], thead th { text-align: left; background: #f4f4f4; }
img.fig { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
.held { color: #1a7f37; font-weight: bold; } .failed { color: #c62828; font-weight: bold; }
.untested { color: #8a6d00; font-weight: bold; } .inconclusive { color: #5c6bc0; font-weight: bold; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em 1em; }
table.board { font-size: .82em; margin: .4em 0; } table.board td { text-align: left; }
p.sub { margin: -.4em 0 .6em; color: #555; font-size: .9em; } .answer p { margin: .35em 0; font-size: .95em; }
code, pre { background: #f6f8fa; font-size: .9em; } pre { padding: .6em; overflow-x: auto; white-space: pre-wrap; }
)";
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
      "<style>{}</style>\n</head>\n<body>\n{}\n</body>\n</html>\n",
      html_escape(title),
      kStyle,
      body);
}

} // namespace smoothlab::html
