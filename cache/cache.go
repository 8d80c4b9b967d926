package cache

import (
	"errors"
	"time"
)

// Store is what the client needs from a cache. Implementations are safe for
// concurrent use.
//
// Values returned by Get are shared with the store and must not be modified.
type Store interface {
	// Get returns the value stored under key if it exists and has not expired.
	Get(key string) (value []byte, ok bool)
	// Set stores a copy of value under key for ttl. A ttl <= 0 gives
	// ErrInvalidTTL; there are no entries that never expire.
	Set(key string, value []byte, ttl time.Duration) error
	// Delete removes the entry under key, if any.
	Delete(key string)
	// DeletePrefix removes every entry whose key starts with prefix.
	DeletePrefix(prefix string)
}

// ValueStore is an optional interface of a Store that keeps values in
// process memory and can hold any Go value, not only bytes. The client
// stores decoded validation results through it, so a cache hit costs no
// decoding. Because its values are live Go values, a ValueStore never
// persists anything: keys and values stay in the process.
//
// Values returned by GetValue are shared with the store and must not be
// modified. Get returns only values stored with Set (or []byte values stored
// with SetValue); GetValue returns values stored either way. Delete and
// DeletePrefix remove both kinds.
type ValueStore interface {
	Store
	// GetValue returns the value stored under key if it exists and has not
	// expired.
	GetValue(key string) (value any, ok bool)
	// SetValue stores v under key for ttl, without copying it. A ttl <= 0
	// gives ErrInvalidTTL.
	SetValue(key string, v any, ttl time.Duration) error
}

// Sentinel errors, for use with errors.Is.
var (
	// ErrInvalidTTL is returned by Set for a ttl <= 0.
	ErrInvalidTTL = errors.New("cache: ttl must be positive")
	// ErrNoSecret is returned by NewFile for an empty secret.
	ErrNoSecret = errors.New("cache: secret must not be empty")
	// ErrInvalidOption is returned by NewFile for an option with a bad value.
	ErrInvalidOption = errors.New("cache: invalid option")
	// ErrEntryTooLarge is returned by File.Set for an entry that cannot fit in
	// the file even on its own.
	ErrEntryTooLarge = errors.New("cache: entry too large")
)

// maxTTL bounds a ttl so that now+ttl never overflows Unix nanoseconds
// (about 146 years).
const maxTTL = time.Duration(1 << 62)

func clampTTL(ttl time.Duration) time.Duration {
	return min(ttl, maxTTL)
}

var (
	_ Store      = (*Memory)(nil)
	_ ValueStore = (*Memory)(nil)
	_ Store      = (*File)(nil)
)
