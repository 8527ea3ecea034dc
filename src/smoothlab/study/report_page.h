// report.html of a study: the typed summary (summary.h) rendered as one self-contained page — tables, the figures
// embedded as base64 PNG, the claims with verdicts, provenance — one function per section.
#pragma once

#include <filesystem>
#include <string>

#include "smoothlab/study/summary.h"

namespace smoothlab::study {

// out_dir: the study folder (the summary's figure paths are relative to it). Returns the page's HTML.
std::string render_report(const StudySummary& summary, const std::filesystem::path& out_dir);

} // namespace smoothlab::study
