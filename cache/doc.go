// Package cache stores cached license-validation results for the client.
//
// Values are opaque byte slices stored under string keys; the client builds
// keys like "v2/<env>/<license hash>/<request hash>" and invalidates one
// license by deleting everything under its "v2/<env>/<license hash>/" prefix
// with [Store.DeletePrefix]. Every entry has a positive time to live; there are
// no entries that never expire.
//
// A store that keeps its entries in process memory can also implement the
// optional [ValueStore] interface and hold Go values as they are. The client
// then stores decoded results (a cache hit costs no decoding) and, since such
// a store never writes anything out, uses the license key itself in place of
// its hash in keys. Keys of every other store contain hashes only.
//
// [Memory] keeps entries in process memory and is the fast path: a Get costs
// what a bare github.com/patrickmn/go-cache Get costs. It holds at most
// DefaultMemoryMaxEntries entries (WithMemoryMaxEntries), evicting expired
// and then least recently used entries (CLOCK: a per-entry "used" bit, so a
// Get takes no write lock). It reads the system clock (time.Now) for expiry,
// as go-cache does; callers that need a controllable clock must carry their
// own expiry inside the value.
//
// [File] keeps all entries in one file for applications that restart often
// (15–60 minute TTLs are a sensible range). The file is sealed with
// XChaCha20-Poly1305 under a key derived with HKDF-SHA256 from a
// caller-supplied secret (the client passes the machine fingerprint), is
// rewritten atomically with mode 0600 on every change, and is capped in size
// and number of entries. Any file that does not open under the key — copied,
// truncated, edited, corrupt or too large — is ignored and the store starts
// empty; it never returns data that was not written by a store with the same
// secret.
//
// What sealing protects against: a cache file copied to another machine (a
// different fingerprint gives a different key, so the file is rejected), and a
// file edited by hand, for example a tampered entry meant to turn a SUSPENDED
// result into VALID (any changed bit fails authentication and the whole file
// is discarded).
//
// What it does not protect against: anyone who can run code as the same user
// on the same machine can compute the fingerprint and therefore the key, and
// so read or forge entries; such a user can also patch the application. The
// seal is tamper evidence against casual copying and editing, not a defence
// against the machine's owner. Deleting the file only forces the client to
// validate online again. Replaying an older sealed file from the same machine
// (for example one saved while a license was still VALID) is possible: the
// file carries no state that could be checked against something the attacker
// cannot also roll back, so a replayed file is accepted, but only until its
// entries expire. Short TTLs bound that window. While a process is running it
// never re-reads the file, so a replay takes effect only at the next start.
//
// Holding the clock back: the file also seals a high-water mark of the clock,
// the latest time the store has seen. A clock set back more than
// DefaultClockSkew behind it (to keep a cached VALID inside its lifetime
// across restarts, even after a suspension) makes [File.Get] miss for every
// key, and [File.ClockRolledBack] report it, until the clock passes the mark
// again. Replaying an older file also replays an older mark, within the
// limits above.
//
// The File's clock is a clock.Clock ([WithClock]); [WithClock], which
// takes a func() time.Time, is deprecated. Both stores format and log (fmt,
// slog) as summaries without keys, values or the sealing key.
package cache
