#pragma once
// Aligned text columns: left-aligned cells, two spaces between columns, no
// trailing spaces.
#include <cstddef>
#include <string>
#include <vector>

namespace strand::ctl {

using Row = std::vector<std::string>;

// Header plus rows, each column as wide as its widest cell.
[[nodiscard]] std::string render_table(const Row& headers, const std::vector<Row>& rows);

// For --follow: rows arrive in batches. The header is printed with the first
// batch; columns only ever widen, so later rows stay aligned with earlier ones
// unless a cell is wider than anything seen before.
class TableStream {
 public:
  explicit TableStream(Row headers);
  [[nodiscard]] std::string render(const std::vector<Row>& rows);

 private:
  Row headers_;
  std::vector<size_t> widths_;
  bool header_done_ = false;
};

// Display width of a UTF-8 string (code points).
[[nodiscard]] size_t display_width(const std::string& s);

}  // namespace strand::ctl
