// Tests of html/html.h: base64 against RFC 4648's test vectors, escaping, PNG embedding, tables.
#include <gtest/gtest.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/html/html.h"
#include "support/support.h"

namespace smoothlab::html {
namespace {

TEST(StudyHtml, Base64MatchesRfc4648Vectors) {
  // RFC 4648 §10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  // High bytes are unsigned: 0xFF 0xFE 0xFD → 111111 111111 111011 111101 → "//79".
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(base64_encode(std::string("\0", 1)), "AA==");
}

TEST(StudyHtml, EscapesMarkup) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("ε = 0.1"), "ε = 0.1"); // UTF-8 passes through
}

TEST(StudyHtml, EmbedsPngAndRefusesOtherFiles) {
  testing::TempDir tmp;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "xyz";
  write_file_atomic(tmp / "a.png", png);
  const auto tag = embed_png(tmp / "a.png", "a <fig>");
  EXPECT_NE(tag.find("src=\"data:image/png;base64," + base64_encode(png) + "\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("alt=\"a &lt;fig&gt;\""), std::string::npos) << tag;
  write_file_atomic(tmp / "b.png", "GIF89a....");
  EXPECT_TRUE(testing::error_mentions([&] { embed_png(tmp / "b.png", "b"); }, {"b.png: not a PNG"}));
  EXPECT_THROW(embed_png(tmp / "missing.png", "c"), Error);
}

TEST(StudyHtml, TablesNeverHaveBlankCells) {
  const auto t = html_table({"name", "value"}, {{"a", "1"}, {"b", ""}});
  EXPECT_NE(t.find("<th scope=\"row\">a</th><td>1</td>"), std::string::npos) << t;
  EXPECT_NE(t.find("<th scope=\"row\">b</th><td>—</td>"), std::string::npos) << t;
  EXPECT_EQ(t.find("<td></td>"), std::string::npos);
  const auto page = html_page("t<1>", "<p>x</p>");
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<title>t&lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
}

} // namespace
} // namespace smoothlab::html
