package cache

import (
	"bytes"
	"cmp"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/atomicfile"
)

const (
	// MaxFileSize is the largest cache file File reads or writes.
	MaxFileSize = 4 << 20
	// DefaultMaxEntries is the default cap on the number of entries in a File.
	DefaultMaxEntries = 1024
	// DefaultClockSkew is how far the clock may fall behind a File's
	// high-water mark before the File stops serving entries (see
	// File.ClockRolledBack).
	DefaultClockSkew = time.Minute
	// MarkSaveInterval is how far the high-water mark must advance before
	// a Get writes it to the file; every Set and Delete writes it anyway.
	MarkSaveInterval = time.Minute
	// markGranularity is how far the clock must move before the in-memory
	// mark is raised, so that Gets on several cores do not all write it.
	markGranularity = time.Second

	hkdfInfo = "licentric-go cache v1"
)

// fileMagic starts every cache file and is bound into the seal as
// additional data.
var fileMagic = []byte("LCC\x01")

const (
	sealOverhead = 4 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	// maxPlaintext is the largest sealed payload that fits in MaxFileSize.
	maxPlaintext = MaxFileSize - sealOverhead
	// payload layout: version(1) mark(8) count(4) then entries of
	// expiry(8) uvarint(len key) key uvarint(len value) value. mark is the
	// clock's high-water mark in Unix nanoseconds. Version 1, without the
	// mark, is not read: such a file starts the store empty.
	payloadVersion    = 2
	payloadHeaderSize = 1 + 8 + 4
	minEntrySize      = 8 + 1 + 1
)

var errMalformed = errors.New("cache: malformed cache file")

// File is a Store persisted to a single sealed file. It keeps all entries in
// memory; every change rewrites the file atomically with mode 0600. See the
// package documentation for what the seal does and does not protect against.
//
// A File keeps, sealed in the file with the entries, a high-water mark: the
// latest clock reading it has seen. When the clock reads more than the skew
// (DefaultClockSkew, WithClockSkew) before the mark — it was set back, for
// example to keep a cached VALID within its lifetime across restarts —
// Get misses for every key, so the client asks the service (or, offline,
// has no cached result to serve), and ClockRolledBack reports it. Gets
// raise the mark in memory and write it at most once per MarkSaveInterval;
// that write is the only disk access of Get.
//
// Values returned by Get are shared with the store and must not be modified.
type File struct {
	path       string
	aead       cipher.AEAD
	clock      clock.Clock
	skew       time.Duration
	log        *slog.Logger
	maxEntries int

	// mark is the high-water mark of the clock (Unix nanoseconds);
	// savedMark is the mark in the file as last written.
	mark      atomic.Int64
	savedMark atomic.Int64

	// writeMu serialises changes, which include the disk write; mu guards
	// entries only briefly, so Get is never blocked by disk I/O. entries is
	// replaced, never modified in place.
	writeMu sync.Mutex
	mu      sync.RWMutex
	entries map[string]fileEntry
}

type fileEntry struct {
	expiry int64 // Unix nanoseconds; the entry is live while now < expiry
	value  []byte
}

// FileOption configures a File store.
type FileOption func(*fileConfig) error

type fileConfig struct {
	clock      clock.Clock
	skew       time.Duration
	log        *slog.Logger
	maxEntries int
}

// WithClock sets the clock used for expiry and the high-water mark.
// The default is clock.Wall{}. A nil clock is an error.
func WithClock(c clock.Clock) FileOption {
	return func(cfg *fileConfig) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		cfg.clock = c
		return nil
	}
}

// WithClockSkew sets how far the clock may fall behind the high-water mark
// before Get stops serving entries (default DefaultClockSkew). A negative
// skew is an error.
func WithClockSkew(d time.Duration) FileOption {
	return func(c *fileConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: negative clock skew", ErrInvalidOption)
		}
		c.skew = d
		return nil
	}
}

// WithLogger sets a logger for problems that do not surface as errors: an
// unreadable or rejected cache file, or a failed write during Delete. The
// default discards everything. A nil logger keeps the default.
func WithLogger(l *slog.Logger) FileOption {
	return func(c *fileConfig) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithMaxEntries caps the number of entries kept (default DefaultMaxEntries).
// When a Set would exceed it, the entries that expire soonest are evicted.
func WithMaxEntries(n int) FileOption {
	return func(c *fileConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: max entries must be positive, got %d", ErrInvalidOption, n)
		}
		c.maxEntries = n
		return nil
	}
}

// NewFile returns a store persisted at path, sealed under a key derived from
// secret. An empty secret gives ErrNoSecret. An existing file at path is
// loaded if it opens under the key; a missing, unreadable, oversized,
// tampered or foreign file is ignored (and logged, if a logger is set), and
// the store starts empty. Expired entries are dropped on load.
func NewFile(path string, secret []byte, opts ...FileOption) (*File, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalidOption)
	}
	cfg := fileConfig{
		clock:      clock.Wall{},
		skew:       DefaultClockSkew,
		log:        slog.New(slog.DiscardHandler),
		maxEntries: DefaultMaxEntries,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(hkdfInfo)), key); err != nil {
		return nil, fmt.Errorf("cache: derive key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("cache: init cipher: %w", err)
	}
	f := &File{
		path:       path,
		aead:       aead,
		clock:      cfg.clock,
		skew:       cfg.skew,
		log:        cfg.log,
		maxEntries: cfg.maxEntries,
	}
	f.entries = f.load()
	return f, nil
}

// load reads and opens the file, returning its live entries or an empty map.
func (f *File) load() map[string]fileEntry {
	empty := map[string]fileEntry{}
	data, err := atomicfile.ReadCapped(f.path, MaxFileSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.log.Warn("cache: ignoring unreadable cache file", "path", f.path, "error", err)
		}
		return empty
	}
	mark, entries, err := f.open(data)
	if err != nil {
		f.log.Warn("cache: ignoring cache file that does not open", "path", f.path, "error", err)
		return empty
	}
	f.mark.Store(mark)
	f.savedMark.Store(mark)
	now := f.clock.Now().UnixNano()
	if f.rolledBack(now) {
		f.log.Warn("cache: the clock is behind the cache file's high-water mark; cached entries are not served",
			"path", f.path, "behind", time.Duration(mark-now).Round(time.Second).String())
	}
	f.observe(now)
	dropExpired(entries, now)
	evict(entries, f.maxEntries, maxPlaintext, "")
	return entries
}

// rolledBack reports whether now lies more than the skew before the mark.
func (f *File) rolledBack(now int64) bool {
	return now < f.mark.Load()-int64(f.skew)
}

// observe raises the in-memory mark to now, in steps of markGranularity.
func (f *File) observe(now int64) {
	for {
		cur := f.mark.Load()
		if now <= cur || (cur != 0 && now-cur < int64(markGranularity)) {
			return
		}
		if f.mark.CompareAndSwap(cur, now) {
			return
		}
	}
}

// ClockRolledBack reports whether the clock now reads more than the skew
// before the high-water mark, the latest time this File (or an earlier one
// on the same file) has seen. While it does, Get misses for every key: the
// clock was set back, and a cached result must not outlive what the
// service would say. A caller that falls back to cached results when the
// service is unreachable should refuse to while this is true. The state
// ends when the clock passes the mark again; deleting the file resets the
// mark (after a clock that was wrongly set ahead, that is the recovery).
func (f *File) ClockRolledBack() bool {
	return f.rolledBack(f.clock.Now().UnixNano())
}

// HighWaterMark returns the latest clock reading the File has seen, to
// within a second, or the zero time if none.
func (f *File) HighWaterMark() time.Time {
	if m := f.mark.Load(); m != 0 {
		return time.Unix(0, m).UTC()
	}
	return time.Time{}
}

// open authenticates and decodes a sealed file.
func (f *File) open(data []byte) (mark int64, entries map[string]fileEntry, err error) {
	if len(data) < sealOverhead || !bytes.Equal(data[:len(fileMagic)], fileMagic) {
		return 0, nil, errMalformed
	}
	nonce := data[len(fileMagic) : len(fileMagic)+chacha20poly1305.NonceSizeX]
	plain, err := f.aead.Open(nil, nonce, data[len(fileMagic)+len(nonce):], fileMagic)
	if err != nil {
		return 0, nil, fmt.Errorf("cache: cache file failed authentication (copied, edited or corrupt)")
	}
	return decodeEntries(plain)
}

// seal encodes and seals entries and the mark into file contents.
func (f *File) seal(mark int64, entries map[string]fileEntry) ([]byte, error) {
	plain := encodeEntries(mark, entries)
	out := make([]byte, len(fileMagic)+chacha20poly1305.NonceSizeX, sealOverhead+len(plain))
	copy(out, fileMagic)
	if _, err := rand.Read(out[len(fileMagic):]); err != nil {
		return nil, fmt.Errorf("cache: nonce: %w", err)
	}
	nonce := out[len(fileMagic):]
	return f.aead.Seal(out, nonce, plain, fileMagic), nil
}

// Get returns the value under key if present and not expired, and the
// clock is not behind the high-water mark (see ClockRolledBack). It touches
// the disk only to write an advanced mark, at most once per
// MarkSaveInterval. The returned slice is shared with the store and must
// not be modified.
func (f *File) Get(key string) ([]byte, bool) {
	now := f.clock.Now().UnixNano()
	if f.rolledBack(now) {
		return nil, false
	}
	f.observe(now)
	if now-f.savedMark.Load() >= int64(MarkSaveInterval) {
		f.saveMark()
	}
	f.mu.RLock()
	e, ok := f.entries[key]
	f.mu.RUnlock()
	if !ok || now >= e.expiry {
		return nil, false
	}
	return e.value, true
}

// saveMark writes the file with the advanced mark, unless another change
// is being written (which writes the mark too) or there are no entries
// the mark would protect.
func (f *File) saveMark() {
	if !f.writeMu.TryLock() {
		return
	}
	defer f.writeMu.Unlock()
	cur := f.snapshot()
	if len(cur) == 0 {
		f.savedMark.Store(f.mark.Load()) // nothing to protect; retry in a minute
		return
	}
	if err := f.commit(cur); err != nil {
		f.log.Warn("cache: could not persist the clock's high-water mark", "path", f.path, "error", err)
		f.savedMark.Store(f.mark.Load()) // retry in a minute, not on every Get
	}
}

// Set stores a copy of value under key for ttl and rewrites the file. A
// ttl <= 0 gives ErrInvalidTTL; an entry too big for the file on its own gives
// ErrEntryTooLarge. If the file cannot be written, Set returns the error and
// the store is left unchanged. Expired entries are dropped, and the entries
// expiring soonest are evicted when the entry or size cap is reached.
func (f *File) Set(key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	if payloadHeaderSize+entrySize(key, value) > maxPlaintext {
		return ErrEntryTooLarge
	}
	now := f.clock.Now().UnixNano()
	f.observe(now)
	e := fileEntry{expiry: addNanos(now, clampTTL(ttl)), value: bytes.Clone(value)}
	if e.value == nil {
		e.value = []byte{}
	}
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	next := maps.Clone(f.snapshot())
	next[key] = e
	dropExpired(next, now)
	evict(next, f.maxEntries, maxPlaintext, key)
	return f.commit(next)
}

// Delete removes the entry under key and rewrites the file. A write failure
// is logged; the entry is removed from memory regardless.
func (f *File) Delete(key string) {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	cur := f.snapshot()
	if _, ok := cur[key]; !ok {
		return
	}
	next := maps.Clone(cur)
	delete(next, key)
	f.commitOrLog(next)
}

// DeletePrefix removes every entry whose key starts with prefix and rewrites
// the file. A write failure is logged; the entries are removed from memory
// regardless.
func (f *File) DeletePrefix(prefix string) {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	cur := f.snapshot()
	next := maps.Clone(cur)
	maps.DeleteFunc(next, func(k string, _ fileEntry) bool { return strings.HasPrefix(k, prefix) })
	if len(next) == len(cur) {
		return
	}
	f.commitOrLog(next)
}

// snapshot returns the current entries map, which must not be modified.
func (f *File) snapshot() map[string]fileEntry {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.entries
}

// swap makes next the current entries map.
func (f *File) swap(next map[string]fileEntry) {
	f.mu.Lock()
	f.entries = next
	f.mu.Unlock()
}

// commit writes next to disk and, on success, makes it the current state.
// The caller holds f.writeMu.
func (f *File) commit(next map[string]fileEntry) error {
	mark := f.mark.Load()
	data, err := f.seal(mark, next)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.path, data, atomicfile.DefaultPerm); err != nil {
		return fmt.Errorf("cache: write cache file: %w", err)
	}
	f.savedMark.Store(mark)
	f.swap(next)
	return nil
}

// commitOrLog applies a deletion in memory even if it cannot be persisted:
// an invalidation must take effect in this process.
func (f *File) commitOrLog(next map[string]fileEntry) {
	now := f.clock.Now().UnixNano()
	f.observe(now)
	dropExpired(next, now)
	if err := f.commit(next); err != nil {
		f.log.Warn("cache: could not persist deletion", "path", f.path, "error", err)
		f.swap(next)
	}
}

func addNanos(now int64, d time.Duration) int64 {
	if now > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return now + int64(d)
}

func dropExpired(m map[string]fileEntry, now int64) {
	maps.DeleteFunc(m, func(_ string, e fileEntry) bool { return now >= e.expiry })
}

// entrySize is the encoded size of one entry.
func entrySize(key string, value []byte) int {
	return 8 + uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(len(value))) + len(value)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// evict removes the entries expiring soonest (never keep) until m has at most
// maxEntries entries and encodes to at most maxSize bytes.
func evict(m map[string]fileEntry, maxEntries, maxSize int, keep string) {
	size := payloadHeaderSize
	for k, e := range m {
		size += entrySize(k, e.value)
	}
	if len(m) <= maxEntries && size <= maxSize {
		return
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[a].expiry, m[b].expiry), strings.Compare(a, b))
	})
	for _, k := range keys {
		if len(m) <= maxEntries && size <= maxSize {
			return
		}
		if k == keep {
			continue
		}
		size -= entrySize(k, m[k].value)
		delete(m, k)
	}
}

// encodeEntries serialises the mark and the entries, in key order.
func encodeEntries(mark int64, m map[string]fileEntry) []byte {
	keys := slices.Sorted(maps.Keys(m))
	size := payloadHeaderSize
	for _, k := range keys {
		size += entrySize(k, m[k].value)
	}
	b := make([]byte, 0, size)
	b = append(b, payloadVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(mark))
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		e := m[k]
		b = binary.BigEndian.AppendUint64(b, uint64(e.expiry))
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(e.value)))
		b = append(b, e.value...)
	}
	return b
}

// decodeEntries parses the payload written by encodeEntries. It rejects
// anything malformed, including trailing bytes, duplicate keys and a
// negative mark.
func decodeEntries(b []byte) (mark int64, entries map[string]fileEntry, err error) {
	if len(b) < payloadHeaderSize || b[0] != payloadVersion {
		return 0, nil, errMalformed
	}
	mark = int64(binary.BigEndian.Uint64(b[1:9]))
	count := binary.BigEndian.Uint32(b[9:13])
	b = b[payloadHeaderSize:]
	if mark < 0 || uint64(count) > uint64(len(b)/minEntrySize) {
		return 0, nil, errMalformed
	}
	m := make(map[string]fileEntry, count)
	for range count {
		if len(b) < 8 {
			return 0, nil, errMalformed
		}
		expiry := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		key, rest, ok := readBytes(b)
		if !ok {
			return 0, nil, errMalformed
		}
		value, rest, ok := readBytes(rest)
		if !ok {
			return 0, nil, errMalformed
		}
		b = rest
		k := string(key)
		if _, dup := m[k]; dup {
			return 0, nil, errMalformed
		}
		m[k] = fileEntry{expiry: expiry, value: bytes.Clone(value)}
	}
	if len(b) != 0 {
		return 0, nil, errMalformed
	}
	return mark, m, nil
}

// readBytes reads a uvarint length followed by that many bytes.
func readBytes(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end:end], b[end:], true
}
