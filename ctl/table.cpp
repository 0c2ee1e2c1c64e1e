#include "ctl/table.h"

#include <algorithm>

namespace strand::ctl {
namespace {

void widen(std::vector<size_t>& widths, const Row& row) {
  if (widths.size() < row.size()) widths.resize(row.size(), 0);
  for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
}

void append_row(std::string& out, const std::vector<size_t>& widths, const Row& row) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();  // empty last cells
  out += line;
  out += '\n';
}

}  // namespace

size_t display_width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation byte
  }));
}

std::string render_table(const Row& headers, const std::vector<Row>& rows) {
  TableStream t(headers);
  return t.render(rows);
}

TableStream::TableStream(Row headers) : headers_(std::move(headers)) { widen(widths_, headers_); }

std::string TableStream::render(const std::vector<Row>& rows) {
  for (const Row& r : rows) widen(widths_, r);
  std::string out;
  if (!header_done_) {
    append_row(out, widths_, headers_);
    header_done_ = true;
  }
  for (const Row& r : rows) append_row(out, widths_, r);
  return out;
}

}  // namespace strand::ctl
