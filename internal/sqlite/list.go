package sqlite

// What the catalog stores (cwedb, capecdb, attackdb) share for their list
// methods: paging rules, the text filter q and its full-text index.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Paging and filter limits of every catalog list method (contract §5).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxQueryLen is the longest text filter q, in characters.
	MaxQueryLen = 200
)

// ErrBadRequest is wrapped by errors about a caller's list parameters.
var ErrBadRequest = errors.New("bad request")

// ListQuery selects one page of a catalog list.
type ListQuery struct {
	Offset int
	Limit  int // 0 means DefaultLimit; more than MaxLimit is cut to MaxLimit
	// Q filters the entries by text: see Match.
	Q string
}

// Normalize applies the paging rules (offset defaults to 0 and may not be
// negative; limit defaults to DefaultLimit and is capped at MaxLimit) and
// checks Q. Errors wrap ErrBadRequest and name the field.
func (q ListQuery) Normalize() (ListQuery, error) {
	if q.Offset < 0 {
		return q, fmt.Errorf("%w: offset %d is negative", ErrBadRequest, q.Offset)
	}
	if q.Limit < 0 {
		return q, fmt.Errorf("%w: limit %d is negative", ErrBadRequest, q.Limit)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	if err := CheckQuery(q.Q); err != nil {
		return q, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return q, nil
}

// CheckQuery checks a text filter: at most MaxQueryLen characters, valid
// UTF-8, no control character but tab, newline and carriage return. Its
// error names the field q.
func CheckQuery(q string) error {
	if !utf8.ValidString(q) {
		return errors.New("q is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(q); n > MaxQueryLen {
		return fmt.Errorf("q is %d characters long, more than %d", n, MaxQueryLen)
	}
	for i, r := range q {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return fmt.Errorf("q has a control character (%U) at byte %d", r, i)
		}
	}
	return nil
}

// Match turns a text filter into an FTS5 MATCH expression for a TextIndex:
// every whitespace-separated word of q must occur, case-insensitively and
// as a word prefix ("inject" finds "Injection"). A word with punctuation is
// a phrase of its parts, split where the unicode61 tokenizer splits
// ("cross-site" finds "Cross-Site", "CWE-79" finds "CWE-79" and "CWE-790").
// Every part is quoted, so FTS5 operators in q are plain words. It returns
// "" when q has no letter or digit: such a filter keeps every entry.
func Match(q string) string {
	var terms []string
	for _, w := range strings.Fields(q) {
		parts := strings.FieldsFunc(w, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
		})
		if len(parts) > 0 {
			terms = append(terms, `"`+strings.Join(parts, " ")+`"*`)
		}
	}
	return strings.Join(terms, " AND ")
}

// TextIndex describes a contentless FTS5 table over the text of one table's
// rows, kept in step by triggers. Its Statements are part of migrations:
// change what they generate only in a new migration.
type TextIndex struct {
	Name   string // the FTS5 table, e.g. "weaknesses_fts"
	Source string // the indexed table
	Key    string // Source's integer key, the index's rowid (an INTEGER PRIMARY KEY, stable across VACUUM)
	// Text is an SQL expression over Source's columns, written with the
	// prefix "row." (replaced by new. and old. in the triggers).
	Text string
}

// Statements creates the index, indexes the rows already stored, and adds
// the triggers that index inserted and updated rows and drop deleted ones.
// An INSERT OR REPLACE on Source bypasses the delete trigger (SQLite fires
// it only with recursive_triggers): use an upsert instead.
func (x TextIndex) Statements() []string {
	text := func(alias string) string { return strings.ReplaceAll(x.Text, "row.", alias+".") }
	insert := fmt.Sprintf(`INSERT INTO %s (rowid, text) VALUES (new.%s, %s);`, x.Name, x.Key, text("new"))
	remove := fmt.Sprintf(`DELETE FROM %s WHERE rowid = old.%s;`, x.Name, x.Key)
	return []string{
		fmt.Sprintf(`CREATE VIRTUAL TABLE %s USING fts5 (text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`, x.Name),
		fmt.Sprintf(`INSERT INTO %s (rowid, text) SELECT %s, %s FROM %s AS row`, x.Name, x.Key, x.Text, x.Source),
		fmt.Sprintf(`CREATE TRIGGER %s_insert AFTER INSERT ON %s BEGIN %s END`, x.Name, x.Source, insert),
		fmt.Sprintf(`CREATE TRIGGER %s_delete AFTER DELETE ON %s BEGIN %s END`, x.Name, x.Source, remove),
		fmt.Sprintf(`CREATE TRIGGER %s_update AFTER UPDATE ON %s BEGIN %s %s END`, x.Name, x.Source, remove, insert),
	}
}

// Exec runs statements in order in tx, naming the one that fails.
func Exec(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return nil
}

// Page is one page of a catalog list: entries as JSON, the number of entries
// matching the filter, and the paging applied.
type Page struct {
	Items  []json.RawMessage
	Total  int
	Offset int
	Limit  int
}

// ListSQL is one list query: SELECT Columns FROM From WHERE Where ORDER BY
// Order, with Args for Where's placeholders.
type ListSQL struct {
	Columns, From, Where, Order string
	Args                        []any
}

// Page counts the rows l selects and returns the page q asks for (q already
// normalized), each row turned into JSON by item. Items is never nil.
func (db *DB) Page(ctx context.Context, q ListQuery, l ListSQL, item func(*sql.Rows) (json.RawMessage, error)) (Page, error) {
	items, total, err := List(ctx, db, q, l, item)
	return Page{Items: items, Total: total, Offset: q.Offset, Limit: q.Limit}, err
}

// List counts the rows l selects and returns those of the page q asks for
// (q already normalized), each read by item. The count and the page come
// from one read transaction, so they agree while an import writes. The
// slice is never nil.
func List[T any](ctx context.Context, db *DB, q ListQuery, l ListSQL, item func(*sql.Rows) (T, error)) ([]T, int, error) {
	out := []T{}
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return out, 0, fmt.Errorf("list %s: %w", l.From, err)
	}
	defer tx.Rollback()
	where := " FROM " + l.From
	if l.Where != "" {
		where += " WHERE " + l.Where
	}
	var total int
	if err := tx.QueryRowContext(ctx, "SELECT count(*)"+where, l.Args...).Scan(&total); err != nil {
		return out, 0, fmt.Errorf("count %s: %w", l.From, err)
	}
	if total <= q.Offset {
		return out, total, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+l.Columns+where+" ORDER BY "+l.Order+" LIMIT ? OFFSET ?",
		append(l.Args[:len(l.Args):len(l.Args)], q.Limit, q.Offset)...)
	if err != nil {
		return out, 0, fmt.Errorf("list %s: %w", l.From, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := item(rows)
		if err != nil {
			return out, 0, fmt.Errorf("list %s: %w", l.From, err)
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}
