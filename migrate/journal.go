package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/licentric/licentric-go/internal/atomicfile"
)

// Journal states of a record.
const (
	// StateCreated: the record exists in the target; steps after creation
	// (machines, status, expiry, policy entitlements) may be left.
	StateCreated = "created"
	// StateDone: the record is imported completely.
	StateDone = "done"
)

// maxJournalBytes caps the journal a run reads.
const maxJournalBytes = 1 << 30

const journalMagic = "licentric-import"

// JournalEntry is one line of the journal: a source record and the
// Licentric id it was imported as.
type JournalEntry struct {
	Kind     Kind   `json:"k"`
	SourceID string `json:"s"`
	ID       string `json:"id"`
	State    string `json:"st"`
	// Hash is a digest of the mapped record (it tells a changed source).
	Hash string `json:"h,omitempty"`
}

// journalHeader is the journal's first line.
type journalHeader struct {
	Journal string `json:"journal"`
	V       int    `json:"v"`
	System  string `json:"system"`
	Env     string `json:"env,omitempty"`
	Base    string `json:"base,omitempty"`
}

type journalKey struct {
	kind Kind
	src  string
}

// Journal is the import's checkpoint file: one JSON line per record,
// appended and fsynced as each record is imported, mapping source ids to
// Licentric ids. A re-run reads it first and skips what it holds. The file
// has mode 0600. A torn last line (a crash in the middle of a write) is
// ignored and cut off; any other unreadable line is ErrJournalCorrupt.
//
// A Journal is safe for concurrent use, but two imports must not share one
// journal file at the same time.
type Journal struct {
	path string

	mu      sync.Mutex
	f       *os.File // nil: read-only
	header  *journalHeader
	entries map[journalKey]JournalEntry
	order   []journalKey
	lines   int
}

// OpenJournal opens the journal at path for an import, creating it (mode
// 0600) when it does not exist.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("migrate: open journal: %w", err)
	}
	atomicfile.SyncDir(filepath.Dir(path))
	j := &Journal{path: path, f: f, entries: map[journalKey]JournalEntry{}}
	data, err := io.ReadAll(io.LimitReader(f, maxJournalBytes+1))
	if err == nil && len(data) > maxJournalBytes {
		err = fmt.Errorf("%w: journal is larger than %d bytes", ErrSourceTooLarge, maxJournalBytes)
	}
	if err == nil {
		var keep int
		keep, err = j.load(data)
		if err == nil && keep < len(data) {
			// Cut the torn last line, so the next line starts clean.
			if err = f.Truncate(int64(keep)); err == nil {
				err = f.Sync()
			}
		}
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("migrate: journal %s: %w", filepath.Base(path), err)
	}
	return j, nil
}

// ReadJournal reads the journal at path without opening it for writing, for
// a dry run; a missing file is an empty journal.
func ReadJournal(path string) (*Journal, error) {
	j := &Journal{path: path, entries: map[journalKey]JournalEntry{}}
	data, err := atomicfile.ReadCapped(path, maxJournalBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, fmt.Errorf("migrate: journal %s: %w: larger than %d bytes", filepath.Base(path), ErrSourceTooLarge, maxJournalBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: read journal: %w", err)
	}
	if _, err := j.load(data); err != nil {
		return nil, fmt.Errorf("migrate: journal %s: %w", filepath.Base(path), err)
	}
	return j, nil
}

// load parses data and returns the length of its complete lines.
func (j *Journal) load(data []byte) (int, error) {
	keep := bytes.LastIndexByte(data, '\n') + 1
	lines := bytes.Split(data[:keep], []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := i + 1
		if j.header == nil {
			var h journalHeader
			if err := json.Unmarshal(line, &h); err != nil || h.Journal != journalMagic {
				return 0, fmt.Errorf("%w: line %d is not a journal header", ErrJournalCorrupt, n)
			}
			if h.V != 1 {
				return 0, fmt.Errorf("%w: journal version %d is not supported", ErrJournalCorrupt, h.V)
			}
			j.header = &h
			j.lines++
			continue
		}
		var e JournalEntry
		if err := json.Unmarshal(line, &e); err != nil || e.Kind == "" || e.SourceID == "" || e.ID == "" ||
			(e.State != StateCreated && e.State != StateDone) {
			return 0, fmt.Errorf("%w: line %d cannot be read", ErrJournalCorrupt, n)
		}
		j.put(e)
		j.lines++
	}
	return keep, nil
}

func (j *Journal) put(e JournalEntry) {
	k := journalKey{e.Kind, e.SourceID}
	if _, ok := j.entries[k]; !ok {
		j.order = append(j.order, k)
	}
	j.entries[k] = e
}

// Path returns the journal's file path.
func (j *Journal) Path() string { return j.path }

// Lookup returns the latest entry for a source record.
func (j *Journal) Lookup(kind Kind, sourceID string) (JournalEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[journalKey{kind, sourceID}]
	return e, ok
}

// Entries returns the latest entry of every record, in the order the
// records first appeared.
func (j *Journal) Entries() []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]JournalEntry, 0, len(j.order))
	for _, k := range j.order {
		out = append(out, j.entries[k])
	}
	return out
}

// Len returns the number of records the journal holds.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.order)
}

// check reports a journal written for another import. Empty arguments are
// not compared.
func (j *Journal) check(system, env, base string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.header
	if h == nil {
		return nil
	}
	switch {
	case system != "" && h.System != system:
		return fmt.Errorf("%w: it records a %s import, not %s", ErrJournalMismatch, h.System, system)
	case env != "" && h.Env != "" && h.Env != env:
		return fmt.Errorf("%w: it records an import into the %s environment, not %s", ErrJournalMismatch, h.Env, env)
	case base != "" && h.Base != "" && h.Base != base:
		return fmt.Errorf("%w: it records an import into another service (%s)", ErrJournalMismatch, h.Base)
	}
	return nil
}

// begin writes the header of an empty journal, or checks the existing one.
func (j *Journal) begin(system, env, base string) error {
	if err := j.check(system, env, base); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("migrate: the journal was opened read-only (ReadJournal); use OpenJournal to import")
	}
	if j.header != nil {
		return nil
	}
	h := journalHeader{Journal: journalMagic, V: 1, System: system, Env: env, Base: base}
	if err := j.appendLocked(h); err != nil {
		return fmt.Errorf("migrate: journal %s: %w", filepath.Base(j.path), err)
	}
	j.header = &h
	return nil
}

// record appends e and syncs the file before it returns.
func (j *Journal) record(e JournalEntry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("migrate: the journal is read-only")
	}
	if err := j.appendLocked(e); err != nil {
		return err
	}
	j.put(e)
	return nil
}

func (j *Journal) appendLocked(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("migrate: journal: %w", err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	j.lines++
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
