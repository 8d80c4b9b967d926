package offline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licentric/licentric-go/internal/atomicfile"
)

// RollbackSaveInterval is how far the high-water mark must advance before a
// RollbackGuard writes its state file again. A newer issuedAt is written at
// once.
const RollbackSaveInterval = time.Minute

// MinRollbackKeySize is the shortest key NewRollbackGuard accepts.
const MinRollbackKeySize = 16

// MaxWithdrawals bounds the withdrawn licenses a RollbackGuard remembers;
// beyond it the oldest withdrawal is forgotten.
const MaxWithdrawals = 32

const (
	rollbackMagicV1 = "licentric-rollback/v1"
	rollbackMagic   = "licentric-rollback/v2"
	maxRollbackSize = 8192
	maxLicenseIDLen = 128
)

// RollbackGuard detects a system clock set back to revive an expired
// license file. It remembers a high-water mark, the latest of the times at
// which files verified and of their issuedAt, and Verify refuses with
// ErrClockRollback when the clock reads more than the skew before it.
//
// The mark is kept in a small state file (written atomically, mode 0600)
// protected by an HMAC-SHA256 under a key the application supplies, so it
// survives restarts and an edited file is detected (ErrRollbackState).
//
// What it stops: casually setting the clock back, within one run or across
// restarts, to keep using an expired file or an old file in place of a newer
// one. What it cannot stop: anyone who deletes the state file or restores an
// older copy of it (both reset the mark), who controls the process or its
// memory, or who learns the key (an application embeds it, so a determined
// attacker can). It raises the effort; it is not a secure clock. A clock once
// set far ahead can only lift the mark while a file verifies at that time,
// so the damage is bounded by the file's expiry; deleting the state file is
// the recovery from such a mistake.
//
// It also keeps withdrawals (see Withdraw): a license the service denied
// after a file was issued, so that a copy of that file put back later is
// refused (ErrFileWithdrawn) even with the network cut. Deleting or
// restoring the state file forgets them too, as it resets the mark.
//
// A RollbackGuard is safe for concurrent use. Share one between the
// Verifiers of a process; two processes should not share a state file.
type RollbackGuard struct {
	path string
	key  []byte

	mu          sync.Mutex
	lastSeen    time.Time // latest clock reading at a successful Verify
	maxIssued   time.Time // latest issuedAt of a verified file
	savedSeen   time.Time // lastSeen as last written
	savedIssued time.Time // maxIssued as last written
	saveErr     error
	withdrawn   []withdrawal // oldest first, at most MaxWithdrawals
}

// withdrawal refuses the files of a license issued at or before a time.
type withdrawal struct {
	licenseID string
	at        time.Time
}

// NewRollbackGuard returns a guard whose state lives in the file at path,
// loading the mark it holds. A missing file starts a new mark; a file that
// fails its integrity check is ErrRollbackState. An empty path keeps the mark
// in memory only (it then lasts as long as the process). key authenticates
// the state file and must be at least MinRollbackKeySize bytes; derive it
// from something the application holds, not from the file's location.
func NewRollbackGuard(path string, key []byte) (*RollbackGuard, error) {
	if len(key) < MinRollbackKeySize {
		return nil, fmt.Errorf("offline: rollback key is %d bytes, want at least %d", len(key), MinRollbackKeySize)
	}
	g := &RollbackGuard{path: path, key: append([]byte(nil), key...)}
	if path == "" {
		return g, nil
	}
	data, err := atomicfile.ReadCapped(path, maxRollbackSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return g, nil
	case errors.Is(err, atomicfile.ErrTooLarge):
		return nil, errorf(ErrRollbackState, "state file is too large")
	case err != nil:
		return nil, fmt.Errorf("offline: read rollback state: %w", err)
	}
	seen, issued, withdrawn, err := g.decode(data)
	if err != nil {
		return nil, err
	}
	g.lastSeen, g.maxIssued, g.withdrawn = seen, issued, withdrawn
	g.savedSeen, g.savedIssued = seen, issued
	return g, nil
}

// HighWaterMark returns the latest time the guard has seen.
func (g *RollbackGuard) HighWaterMark() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mark()
}

// Err returns the error of the last failed write of the state file, or nil
// after a successful one. A failed write does not fail Verify (a full disk
// must not lock users out); the mark is then kept in memory only until a
// later write succeeds.
func (g *RollbackGuard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.saveErr
}

// Save writes the current mark to the state file now (for example at
// shutdown); Verify writes it only every RollbackSaveInterval.
func (g *RollbackGuard) Save() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.save()
}

func (g *RollbackGuard) mark() time.Time {
	if g.maxIssued.After(g.lastSeen) {
		return g.maxIssued
	}
	return g.lastSeen
}

// check refuses now when it lies more than skew before the mark.
func (g *RollbackGuard) check(now time.Time, skew time.Duration) error {
	g.mu.Lock()
	mark := g.mark()
	g.mu.Unlock()
	if !mark.IsZero() && now.Before(mark.Add(-skew)) {
		behind := mark.Sub(now).Round(time.Second)
		return errorf(ErrClockRollback, "clock is "+behind.String()+" behind the latest time seen")
	}
	return nil
}

// observe advances the mark after a successful Verify and writes it when it
// moved far enough.
func (g *RollbackGuard) observe(now, issuedAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.After(g.lastSeen) {
		g.lastSeen = now
	}
	if issuedAt.After(g.maxIssued) {
		g.maxIssued = issuedAt
	}
	if g.path == "" {
		return
	}
	if g.maxIssued.After(g.savedIssued) || g.lastSeen.Sub(g.savedSeen) >= RollbackSaveInterval {
		_ = g.save() // recorded in saveErr; see Err
	}
}

// Withdraw refuses from now on every file of license licenseID issued at
// or before at (ErrFileWithdrawn), and writes the state file at once. A
// Guard calls it when the service denies a license for good (suspended,
// revoked, ...) and it removes the license file: a copy of that file put
// back afterwards is no license, even offline. Files issued later (after a
// reinstatement) verify again. A later Withdraw of the same license moves
// its time forward, never back. The error is the state file's write error;
// the withdrawal holds in memory regardless.
func (g *RollbackGuard) Withdraw(licenseID string, at time.Time) error {
	if licenseID == "" || len(licenseID) > maxLicenseIDLen {
		return fmt.Errorf("offline: withdraw: license id must be 1 to %d bytes", maxLicenseIDLen)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	at = time.UnixMilli(unixMilli(at)).UTC() // the precision the file keeps
	for i, w := range g.withdrawn {
		if w.licenseID == licenseID {
			if at.After(w.at) {
				g.withdrawn = append(slices.Delete(g.withdrawn, i, i+1), withdrawal{licenseID, at})
			}
			return g.save()
		}
	}
	if len(g.withdrawn) == MaxWithdrawals {
		g.withdrawn = slices.Delete(g.withdrawn, 0, 1)
	}
	g.withdrawn = append(g.withdrawn, withdrawal{licenseID, at})
	return g.save()
}

// withdrawnAt reports whether a file of licenseID issued at issuedAt is
// withdrawn.
func (g *RollbackGuard) withdrawnAt(licenseID string, issuedAt time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, w := range g.withdrawn {
		if w.licenseID == licenseID && !issuedAt.After(w.at) {
			return w.at, true
		}
	}
	return time.Time{}, false
}

func (g *RollbackGuard) save() error {
	if g.path == "" {
		return nil
	}
	if err := atomicfile.Write(g.path, g.encode(g.lastSeen, g.maxIssued, g.withdrawn), atomicfile.DefaultPerm); err != nil {
		g.saveErr = fmt.Errorf("offline: write rollback state: %w", err)
		return g.saveErr
	}
	g.savedSeen, g.savedIssued, g.saveErr = g.lastSeen, g.maxIssued, nil
	return nil
}

// The state file is one line: magic, the two times in Unix milliseconds,
// one "w:<base64url license id>:<Unix ms>" field per withdrawal, and the hex
// HMAC-SHA256 of what precedes it. A v1 file (no withdrawals) still loads.
func (g *RollbackGuard) encode(seen, issued time.Time, withdrawn []withdrawal) []byte {
	var b strings.Builder
	b.WriteString(rollbackMagic + " " + strconv.FormatInt(unixMilli(seen), 10) + " " + strconv.FormatInt(unixMilli(issued), 10))
	for _, w := range withdrawn {
		b.WriteString(" w:" + base64.RawURLEncoding.EncodeToString([]byte(w.licenseID)) + ":" + strconv.FormatInt(unixMilli(w.at), 10))
	}
	body := b.String()
	return []byte(body + " " + hex.EncodeToString(g.mac(body)) + "\n")
}

func (g *RollbackGuard) decode(data []byte) (seen, issued time.Time, withdrawn []withdrawal, err error) {
	bad := func(msg string) (time.Time, time.Time, []withdrawal, error) {
		return time.Time{}, time.Time{}, nil, errorf(ErrRollbackState, msg)
	}
	fields := strings.Fields(string(data))
	switch {
	case len(fields) == 4 && fields[0] == rollbackMagicV1:
	case len(fields) >= 4 && len(fields) <= 4+MaxWithdrawals && fields[0] == rollbackMagic:
	default:
		return bad("state file has an unknown format")
	}
	last := len(fields) - 1
	body := strings.Join(fields[:last], " ")
	sum, err := hex.DecodeString(fields[last])
	if err != nil || !hmac.Equal(sum, g.mac(body)) {
		return bad("state file fails its integrity check")
	}
	s, err1 := strconv.ParseInt(fields[1], 10, 64)
	i, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil {
		return bad("state file holds invalid times")
	}
	for _, f := range fields[3:last] {
		id, ms, ok := strings.Cut(strings.TrimPrefix(f, "w:"), ":")
		raw, err := base64.RawURLEncoding.DecodeString(id)
		at, err2 := strconv.ParseInt(ms, 10, 64)
		if !strings.HasPrefix(f, "w:") || !ok || err != nil || err2 != nil || len(raw) == 0 || len(raw) > maxLicenseIDLen {
			return bad("state file holds an invalid withdrawal")
		}
		withdrawn = append(withdrawn, withdrawal{licenseID: string(raw), at: fromUnixMilli(at)})
	}
	return fromUnixMilli(s), fromUnixMilli(i), withdrawn, nil
}

func (g *RollbackGuard) mac(body string) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
