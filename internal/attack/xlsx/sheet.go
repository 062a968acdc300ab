package xlsx

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/attack"
	"github.com/xuri/excelize/v2"
)

// Error is a problem with one workbook, sheet, row or column. It wraps
// attack.ErrWorkbook and, where there is one, the underlying error.
type Error struct {
	File   string // base name of the workbook
	Sheet  string // "" when the whole file is at fault
	Row    int    // 1-based spreadsheet row; 0 when no row is at fault
	Column string // header name; "" when no column is at fault
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("attack: ")
	b.WriteString(e.File)
	if e.Sheet != "" {
		fmt.Fprintf(&b, ": sheet %q", e.Sheet)
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, " row %d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns attack.ErrWorkbook and the cause.
func (e *Error) Unwrap() []error { return []error{attack.ErrWorkbook, e.Err} }

// row is the current data row of a sheet, read by header name.
type row struct {
	file, sheet string
	num         int
	col         map[string]int
	cells       []string
}

// get returns the trimmed cell under header h, or "" when the sheet has no
// such column or the row is short.
func (r *row) get(h string) string {
	i, ok := r.col[h]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return strings.TrimSpace(r.cells[i])
}

// has reports whether the sheet has the column h.
func (r *row) has(h string) bool { _, ok := r.col[h]; return ok }

func (r *row) errorf(column, format string, args ...any) error {
	return &Error{File: r.file, Sheet: r.sheet, Row: r.num, Column: column, Err: fmt.Errorf(format, args...)}
}

// need returns the cell under h and an error naming it when it is empty.
func (r *row) need(h string) (string, error) {
	v := r.get(h)
	if v == "" {
		return "", r.errorf(h, "is empty")
	}
	return v, nil
}

// date converts "30 January 2020" to "2020-01-30"; an empty cell stays empty.
func (r *row) date(h string) (string, error) {
	v := r.get(h)
	if v == "" {
		return "", nil
	}
	t, err := time.Parse("2 January 2006", v)
	if err != nil {
		if t, err2 := time.Parse("2006-01-02", v); err2 == nil {
			return t.Format(time.DateOnly), nil
		}
		return "", r.errorf(h, "date %q is not like \"30 January 2020\"", v)
	}
	return t.Format(time.DateOnly), nil
}

// flag reads a TRUE/FALSE cell; an empty cell or missing column is false.
func (r *row) flag(h string) (bool, error) {
	switch v := strings.ToUpper(r.get(h)); v {
	case "", "FALSE", "0":
		return false, nil
	case "TRUE", "1":
		return true, nil
	default:
		return false, r.errorf(h, "%q is neither TRUE nor FALSE", v)
	}
}

// list splits a cell on sep, trimming and dropping empty items. It never
// returns nil, so that JSON shows [] rather than null.
func (r *row) list(h, sep string) []string {
	return splitList(r.get(h), sep)
}

func splitList(v, sep string) []string {
	out := []string{}
	for _, s := range strings.Split(v, sep) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readSheet streams the named sheet, checks that its header row holds every
// required header, and calls fn for each non-empty data row.
func readSheet(f *excelize.File, file, sheet string, required []string, fn func(*row) error) error {
	rows, err := f.Rows(sheet)
	if err != nil {
		return &Error{File: file, Sheet: sheet, Err: err}
	}
	defer rows.Close()
	r := &row{file: file, sheet: sheet}
	for rows.Next() {
		r.num++
		cells, err := rows.Columns(rawValues)
		if err != nil {
			return &Error{File: file, Sheet: sheet, Row: r.num, Err: err}
		}
		if r.col == nil {
			if r.col, err = headers(file, sheet, cells, required); err != nil {
				return err
			}
			continue
		}
		if blank(cells) {
			continue
		}
		r.cells = cells
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return &Error{File: file, Sheet: sheet, Row: r.num, Err: err}
	}
	if r.col == nil {
		return &Error{File: file, Sheet: sheet, Err: errors.New("has no header row")}
	}
	return nil
}

// headers maps header names to column indexes and names the first required
// header that is missing.
func headers(file, sheet string, cells, required []string) (map[string]int, error) {
	col := make(map[string]int, len(cells))
	for i, h := range cells {
		if h = strings.TrimSpace(h); h != "" {
			if _, dup := col[h]; !dup {
				col[h] = i
			}
		}
	}
	for _, h := range required {
		if _, ok := col[h]; !ok {
			return nil, &Error{File: file, Sheet: sheet, Row: 1, Column: h, Err: errors.New("required header is missing")}
		}
	}
	return col, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// hasSheet reports whether the workbook has a sheet of that name.
func hasSheet(f *excelize.File, name string) bool {
	idx, err := f.GetSheetIndex(name)
	return err == nil && idx >= 0
}

// rawValues skips number formatting: every cell the loader reads is text
// (dates included, "30 January 2020"), and formatting costs a style lookup
// per cell.
var rawValues = excelize.Options{RawCellValue: true}
