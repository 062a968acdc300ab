package bolt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/urn"
	bbolt "go.etcd.io/bbolt"
)

// Checkpoint records that a provider processed the resource named by URN.
type Checkpoint struct {
	Seq          uint64    `json:"-"` // position in the provider's log, from 1
	URN          urn.URN   `json:"urn"`
	ProviderID   string    `json:"provider_id"`
	ProcessedAt  time.Time `json:"processed_at"`
	Success      bool      `json:"success"`
	ErrorMessage string    `json:"error_message"`
}

// AddCheckpoint appends c to its provider's log and returns it with Seq set
// and ProcessedAt set from the clock when zero. c.URN must be valid and
// c.ProviderID non-empty.
func (tx *Tx) AddCheckpoint(c Checkpoint) (Checkpoint, error) {
	if err := checkProviderID(c.ProviderID); err != nil {
		return c, err
	}
	if c.URN.IsZero() {
		return c, fmt.Errorf("%w: checkpoint of provider %q has no URN", ErrInvalid, c.ProviderID)
	}
	if c.ProcessedAt.IsZero() {
		c.ProcessedAt = tx.now()
	}
	pb, err := tx.tx.Bucket(bucketCheckpoints).CreateBucketIfNotExists([]byte(c.ProviderID))
	if err != nil {
		return c, fmt.Errorf("bolt: checkpoints of %q: %w", c.ProviderID, err)
	}
	lg, ok, ub, err := subBuckets(pb)
	if err != nil {
		return c, fmt.Errorf("bolt: checkpoints of %q: %w", c.ProviderID, err)
	}
	if c.Seq, err = lg.NextSequence(); err != nil {
		return c, err
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], c.Seq)
	if err := lg.Put(key[:], encodeCheckpoint(c)); err != nil {
		return c, err
	}
	if c.Success {
		if err := ok.Put(key[:], nil); err != nil {
			return c, err
		}
		if err := ok.SetSequence(ok.Sequence() + 1); err != nil {
			return c, err
		}
	}
	return c, ub.Put(c.URN.Key(), key[:])
}

func subBuckets(pb *bbolt.Bucket) (lg, ok, ub *bbolt.Bucket, err error) {
	if lg, err = pb.CreateBucketIfNotExists(subLog); err != nil {
		return
	}
	if ok, err = pb.CreateBucketIfNotExists(subOK); err != nil {
		return
	}
	ub, err = pb.CreateBucketIfNotExists(subURN)
	return
}

// Checkpoints returns up to limit checkpoints of provider, newest first;
// limit <= 0 means all. With successOnly, failed ones are skipped without
// being read. An unknown provider has none.
func (tx *Tx) Checkpoints(provider string, limit int, successOnly bool) ([]Checkpoint, error) {
	pb := tx.tx.Bucket(bucketCheckpoints).Bucket([]byte(provider))
	if pb == nil {
		return nil, nil
	}
	lg := pb.Bucket(subLog)
	idx := lg
	if successOnly {
		idx = pb.Bucket(subOK)
	}
	var out []Checkpoint
	c := idx.Cursor()
	for k, _ := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
		cp, err := decodeCheckpoint(provider, k, lg.Get(k))
		if err != nil {
			return out, err
		}
		out = append(out, cp)
	}
	return out, nil
}

// CheckpointCount returns how many checkpoints provider has, in all and
// successful, without scanning.
func (tx *Tx) CheckpointCount(provider string) (total, succeeded int, err error) {
	pb := tx.tx.Bucket(bucketCheckpoints).Bucket([]byte(provider))
	if pb == nil {
		return 0, 0, nil
	}
	return int(pb.Bucket(subLog).Sequence()), int(pb.Bucket(subOK).Sequence()), nil
}

// TotalCheckpoints returns the number of checkpoints of all providers.
func (tx *Tx) TotalCheckpoints() (int, error) {
	n := 0
	root := tx.tx.Bucket(bucketCheckpoints)
	err := root.ForEachBucket(func(name []byte) error {
		n += int(root.Bucket(name).Bucket(subLog).Sequence())
		return nil
	})
	return n, err
}

// LatestCheckpoint returns provider's newest checkpoint of u, or an error
// wrapping ErrNotFound.
func (tx *Tx) LatestCheckpoint(provider string, u urn.URN) (Checkpoint, error) {
	pb := tx.tx.Bucket(bucketCheckpoints).Bucket([]byte(provider))
	if pb != nil && !u.IsZero() {
		if seq := pb.Bucket(subURN).Get(u.Key()); seq != nil {
			return decodeCheckpoint(provider, seq, pb.Bucket(subLog).Get(seq))
		}
	}
	return Checkpoint{}, fmt.Errorf("%w: checkpoint of %q for %q", ErrNotFound, provider, u)
}

// encodeCheckpoint lays c out as: processed_at unix nanoseconds (8 bytes),
// success (1 byte), URN length (uvarint), URN text, error message.
func encodeCheckpoint(c Checkpoint) []byte {
	s := c.URN.String()
	b := make([]byte, 0, 8+1+binary.MaxVarintLen16+len(s)+len(c.ErrorMessage))
	b = binary.BigEndian.AppendUint64(b, uint64(c.ProcessedAt.UnixNano()))
	var ok byte
	if c.Success {
		ok = 1
	}
	b = append(b, ok)
	b = binary.AppendUvarint(b, uint64(len(s)))
	b = append(b, s...)
	return append(b, c.ErrorMessage...)
}

func decodeCheckpoint(provider string, key, v []byte) (Checkpoint, error) {
	bad := func(why string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %x of %q: %s", ErrCorrupt, key, provider, why)
	}
	if len(key) != 8 || len(v) < 10 {
		return bad("too short")
	}
	c := Checkpoint{Seq: binary.BigEndian.Uint64(key), ProviderID: provider, Success: v[8] == 1}
	c.ProcessedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	n, w := binary.Uvarint(v[9:])
	if w <= 0 || uint64(len(v)-9-w) < n {
		return bad("bad URN length")
	}
	rest := v[9+w:]
	u, err := urn.Parse(string(rest[:n]))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %x of %q: %w", ErrCorrupt, key, provider, err)
	}
	c.URN = u
	c.ErrorMessage = string(rest[n:])
	return c, nil
}
