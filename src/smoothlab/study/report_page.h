// report.html of a study: the summary (study.h) rendered as one self-contained page — tables, the figures
// embedded as base64 PNG, the claims with verdicts, provenance.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace smoothlab::study {

// out_dir: the study folder (figure paths in the summary are relative to it). Returns the page's HTML.
std::string render_report(const nlohmann::json& summary, const std::filesystem::path& out_dir);

} // namespace smoothlab::study
