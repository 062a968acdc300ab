package cwedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/v2e/v2e/internal/cwe"
	"github.com/v2e/v2e/internal/sqlite"
)

// SaveView stores v (inserting or replacing the view with its id) and returns
// its id as "CWE-<n>". v is checked with cwe.CheckView first; errors wrap
// cwe.ErrMalformed and name the field.
func (s *Store) SaveView(ctx context.Context, v *cwe.View) (string, error) {
	if err := cwe.CheckView(v); err != nil {
		return "", fmt.Errorf("%w: view: %w", ErrBadRequest, err)
	}
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		return insertViews(ctx, tx, []cwe.View{*v}, "saved")
	})
	if err != nil {
		return "", fmt.Errorf("cwedb: save view %s: %w", v.ID, err)
	}
	return v.ID, nil
}

// View returns the stored view ("CWE-1003" or "1003") as JSON.
func (s *Store) View(ctx context.Context, id string) (json.RawMessage, error) {
	n, err := cwe.ParseID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.db.Reader().QueryRowContext(ctx, `SELECT data FROM views WHERE id = ?`, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: view %s", cwe.ErrNotFound, cwe.FormatID(n))
	}
	if err != nil {
		return nil, fmt.Errorf("cwedb: view %s: %w", cwe.FormatID(n), err)
	}
	return data, nil
}

// ListViews returns one page of stored views, whole, ordered by id, and how
// many match q.Q (by id, or by every word in name and objective).
func (s *Store) ListViews(ctx context.Context, q sqlite.ListQuery) (Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return Page{}, err
	}
	l := sqlite.ListSQL{Columns: `data`, From: `views`, Order: `id`}
	l.Where, l.Args = textFilter(q.Q, "views_fts")
	p, err := s.db.Page(ctx, q, l, func(rows *sql.Rows) (json.RawMessage, error) {
		var data []byte
		err := rows.Scan(&data)
		return data, err
	})
	if err != nil {
		return p, fmt.Errorf("cwedb: views: %w", err)
	}
	return p, nil
}

// DeleteView removes a view; a view that is not stored is cwe.ErrNotFound.
func (s *Store) DeleteView(ctx context.Context, id string) error {
	n, err := cwe.ParseID(id)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM views WHERE id = ?`, n)
		if err != nil {
			return fmt.Errorf("cwedb: delete view %s: %w", cwe.FormatID(n), err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("%w: view %s", cwe.ErrNotFound, cwe.FormatID(n))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM relationships WHERE origin = 'view' AND source_id = ?`, n)
		return err
	})
}
