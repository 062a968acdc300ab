package cwedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/v2e/v2e/internal/cwe"
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

// ListViews returns one page of stored views, whole, ordered by id.
func (s *Store) ListViews(ctx context.Context, offset, limit int) (Page, error) {
	offset, limit, err := NormalizePage(offset, limit)
	if err != nil {
		return Page{}, err
	}
	p := Page{Offset: offset, Limit: limit, Items: []json.RawMessage{}}
	r := s.db.Reader()
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM views`).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("cwedb: count views: %w", err)
	}
	rows, err := r.QueryContext(ctx, `SELECT data FROM views ORDER BY id LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return p, fmt.Errorf("cwedb: list views: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return p, fmt.Errorf("cwedb: list views: %w", err)
		}
		p.Items = append(p.Items, data)
	}
	return p, rows.Err()
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
