package attackdb

import (
	"context"
	"database/sql"
	"strings"
)

// batchRows is how many rows one INSERT statement carries. Fewer, larger
// statements cut the per-statement cost of database/sql and the driver;
// 100 rows of 18 columns stay far below SQLite's 32766 parameters.
const batchRows = 100

// batch inserts rows with multi-row INSERT statements:
// head + " VALUES (…), (…) " + tail, where tail may hold an ON CONFLICT clause.
type batch struct {
	ctx        context.Context
	tx         *sql.Tx
	head, tail string
	cols       int
	args       []any
	full       *sql.Stmt // the statement for batchRows rows, prepared on first use
}

func newBatch(ctx context.Context, tx *sql.Tx, head, tail string, cols int) *batch {
	return &batch{ctx: ctx, tx: tx, head: head, tail: tail, cols: cols, args: make([]any, 0, cols*batchRows)}
}

// add queues one row; it must have exactly cols values.
func (b *batch) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) == b.cols*batchRows {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	n := len(b.args) / b.cols
	if n == 0 {
		return nil
	}
	var err error
	if n == batchRows {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(b.ctx, b.query(n)); err != nil {
				return err
			}
		}
		_, err = b.full.ExecContext(b.ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(b.ctx, b.query(n), b.args...)
	}
	b.args = b.args[:0]
	return err
}

// close flushes the rows left and releases the statement.
func (b *batch) close() error {
	err := b.flush()
	if b.full != nil {
		if cerr := b.full.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (b *batch) query(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", b.cols), ", ") + ")"
	var q strings.Builder
	q.WriteString(b.head)
	q.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
	}
	q.WriteString(" ")
	q.WriteString(b.tail)
	return q.String()
}
