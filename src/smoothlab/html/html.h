// Self-contained HTML pages: escaping, base64 (RFC 4648) and data-URI embedding of figures, tables. A page written
// with these opens offline — nothing is linked, every image is inside the file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace smoothlab::html {

// RFC 4648 base64 with '=' padding: 3 bytes → 4 characters ("Man" → "TWFu", "Ma" → "TWE=", "M" → "TQ==").
std::string base64_encode(const std::string& bytes);

// Escapes & < > " ' for text and attribute values.
std::string html_escape(const std::string& text);

// <img> with the PNG file embedded as a data: URI; throws Error naming the path when it cannot be read or is not
// a PNG (bad signature).
std::string embed_png(const std::filesystem::path& png, const std::string& alt, const std::string& css_class = "fig");

// A table: header cells and rows of cells, all escaped; an empty cell is written as "—" so a table is never blank.
// The first column is a row header (<th scope="row">).
std::string html_table(
    const std::vector<std::string>& header,
    const std::vector<std::vector<std::string>>& rows,
    const std::string& css_class = "");

// A whole page: <!doctype html>, UTF-8, the title, an inline style sheet, and `body` (already HTML).
std::string html_page(const std::string& title, const std::string& body);

} // namespace smoothlab::html
