package cve

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Opening is a Store that is still being opened: open runs in the
// background (a schema migration of a large store may take many seconds,
// longer than a service may take to become ready), and every call waits
// for it under the call's context, then goes to the opened store. If open
// failed, every call returns its error.
type Opening struct {
	done  chan struct{}
	start time.Time
	store Store
	err   error
}

// OpenInBackground runs open in a new goroutine and returns the Store that
// waits for it.
func OpenInBackground(open func() (Store, error)) *Opening {
	o := &Opening{done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(o.done)
		o.store, o.err = open()
	}()
	return o
}

// Wait waits for the store to be open and returns it, or the error of
// opening it, or ctx's error (naming how long opening has taken so far).
func (o *Opening) Wait(ctx context.Context) (Store, error) {
	select {
	case <-o.done:
	default:
		select {
		case <-o.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("the CVE store is still opening (migrating its schema) after %s: %w",
				time.Since(o.start).Round(time.Second), ctx.Err())
		}
	}
	if o.err != nil {
		return nil, fmt.Errorf("the CVE store could not be opened: %w", o.err)
	}
	return o.store, nil
}

func (o *Opening) Save(ctx context.Context, records []json.RawMessage) (SaveResult, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return SaveResult{}, err
	}
	return s.Save(ctx, records)
}

func (o *Opening) SaveOne(ctx context.Context, record json.RawMessage) (string, Outcome, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return "", "", err
	}
	return s.SaveOne(ctx, record)
}

func (o *Opening) Get(ctx context.Context, id string) (json.RawMessage, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

func (o *Opening) IsStored(ctx context.Context, id string) (bool, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return false, err
	}
	return s.IsStored(ctx, id)
}

func (o *Opening) Delete(ctx context.Context, id string) error {
	s, err := o.Wait(ctx)
	if err != nil {
		return err
	}
	return s.Delete(ctx, id)
}

func (o *Opening) List(ctx context.Context, offset, limit int) (Page, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return Page{}, err
	}
	return s.List(ctx, offset, limit)
}

func (o *Opening) Count(ctx context.Context) (int, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return 0, err
	}
	return s.Count(ctx)
}

func (o *Opening) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return SearchResult{}, err
	}
	return s.Search(ctx, q)
}

func (o *Opening) CWEs(ctx context.Context, id string) ([]string, error) {
	s, err := o.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return s.CWEs(ctx, id)
}
