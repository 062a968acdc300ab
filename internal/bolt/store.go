package bolt

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Errors of the store, wrapped with the offending key or record.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("bolt: not found")
	// ErrInvalid means a record cannot be stored as given (empty id,
	// zero URN, negative count).
	ErrInvalid = errors.New("bolt: invalid record")
	// ErrClosed means the Store was closed.
	ErrClosed = errors.New("bolt: store closed")
	// ErrCorrupt means a stored value does not decode.
	ErrCorrupt = errors.New("bolt: corrupt record")
)

// Bucket names.
var (
	bucketSessions    = []byte("sessions")
	bucketFSM         = []byte("fsm_states")
	bucketProviders   = []byte("provider_states")
	bucketCheckpoints = []byte("checkpoints")
	bucketPermits     = []byte("permits")

	subLog = []byte("log")
	subOK  = []byte("ok")
	subURN = []byte("urn")
)

// Options tune Open. The zero value is durable and uses time.Now.
type Options struct {
	// NoSync skips fsync on commit: see the package doc for what it risks.
	NoSync bool
	// Timeout bounds the wait for the file lock held by another process
	// (default 2s); bbolt allows one process per file.
	Timeout time.Duration
	// Now is the clock for record timestamps (default time.Now).
	Now func() time.Time
}

// Store is an open session.db.
type Store struct {
	db     *bbolt.DB
	now    func() time.Time
	mu     sync.RWMutex // guards closed against Close racing Update/View
	closed bool
}

// Open opens or creates the store file at path and creates its buckets.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      opts.Timeout,
		NoSync:       opts.NoSync,
		FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketSessions, bucketFSM, bucketProviders, bucketCheckpoints, bucketPermits} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, now: opts.Now}, nil
}

// Path returns the file path of the store.
func (s *Store) Path() string { return s.db.Path() }

// Close closes the file. It is safe to call twice; later calls return nil.
// Update and View after Close return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.db.Path(), err)
	}
	return nil
}

// Update runs fn in a read-write transaction and commits it when fn returns
// nil (fsynced unless Options.NoSync); otherwise nothing fn wrote is kept and
// fn's error is returned.
func (s *Store) Update(fn func(*Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return fn(&Tx{tx: tx, now: s.now}) })
}

// View runs fn in a read-only transaction, a consistent snapshot.
func (s *Store) View(fn func(*Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(func(tx *bbolt.Tx) error { return fn(&Tx{tx: tx, now: s.now}) })
}

// Tx is a transaction with typed helpers. It is valid only inside the
// function given to Update or View; writing helpers fail in View.
type Tx struct {
	tx  *bbolt.Tx
	now func() time.Time
}

// Now returns the store clock's current time.
func (tx *Tx) Now() time.Time { return tx.now() }
