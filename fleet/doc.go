// Package fleet lets the licentric clients of several processes share one
// rate budget per tier, one set of validation results and one set of
// in-flight validations through Redis (github.com/redis/go-redis/v9).
//
// The service allows 60 validations a minute per IP address. A product
// that runs as N replicas behind one NAT address, each with its own cache
// and its own client-side budget, sends N times the requests and is
// answered 429. With a Fleet on one Redis the replicas behave as one
// client:
//
//	rdb := redis.NewClient(&redis.Options{Addr: addr}) // or a Sentinel or Cluster client
//	f, err := fleet.New(rdb, fleet.WithNamespace("acme-prod"), fleet.WithSecret(secret),
//		fleet.WithReplicas(8))
//	if err != nil { ... }
//	defer f.Close()
//	client, err := licentric.NewClient(licentric.WithFleet(f))
//
// Use one namespace per egress IP address (the service's limit is per IP)
// or per fleet. Every member of a namespace must have the same secret.
//
// # What is shared
//
// Results: a result one member fetched is stored in Redis and served to
// every member (each keeps its own small local copy in the client's
// cache) under the client's rules: never past the license's expiresAt or
// the cache ttl, errors never stored. Invalidation (a webhook, or
// (*licentric.Client).InvalidateLicense) gives the license a fresh random
// epoch in Redis, under which no earlier result opens, and is published on
// the namespace's channel, so every member drops its local copies too;
// InvalidateAll gives the namespace a fresh random generation, under which
// no old result is found. A result fetched while an invalidation happened
// is not stored (SetResult takes the version GetResult read). Each
// invalidation says whether the license itself may have changed
// (recheck: the client's guards on every member ask the service again) or
// only its results went stale (a machine's heartbeat or activation).
//
// In-flight validations: Acquire is a lock with a ttl (SET NX PX with a
// random token, renewed by compare-and-expire while it is held, released
// by compare-and-delete), so of several members that miss the same result
// at once one asks the service while the others wait for its result, even
// when the holder waits a minute for the rate budget. A member that
// crashes holding a lock blocks no one past the lock's ttl, and a member
// waits for another's result three lock ttls at most (then asks the
// service itself, if its budget has a unit free at once).
//
// Budget: TakeBudget counts requests in one counter per tier (validation,
// activation, management: the client offers every unit of every tier), namespace
// and fixed minute window, aligned to the service's windows as the
// client's local budget is: an atomic INCR (and expiry) in a three-line
// Lua script. Rate limiters built on GCRA (such as go-redis/redis_rate)
// do not fit: GCRA limits a rate, not a count per fixed window, so with a
// burst of b it lets through up to b + 59 requests inside one of the
// service's fixed minutes (a full bucket at the start of the minute plus
// the refill during it), nearly twice the limit with b = 60, and with a
// burst of 1 it spaces requests a second apart, so 60 replicas starting at
// once wait up to a minute although the service would take them all.
//
// # When Redis is down or slow
//
// Redis is never an outage of the application. Every Redis call has a
// short deadline (WithTimeout, default 100 ms), or the caller's if that
// comes first, whatever the client's own timeouts: go-redis bounds socket I/O by ReadTimeout and WriteTimeout
// (seconds by default), not by the context, so the Fleet sends its
// commands through a WithTimeout clone of a *redis.Client (same pools and
// hooks), uses a Cluster client with ContextTimeoutEnabled as it is, and
// runs the commands of any other client on a goroutine that the caller
// leaves at the deadline. A failed call returns its error, and the client
// falls back for that call. After three failures in a row the Fleet logs
// once, answers ErrUnavailable at once, without asking Redis, and probes
// Redis again after a pause (100 ms, doubling to 2 s); the client
// meanwhile lives on its local cache and a local budget of LocalShare
// requests a minute per tier (the tier's limit divided among WithReplicas
// members, at least one: more replicas than a tier's limit, such as twelve
// for the 10 activations a minute, may together pass it while Redis is
// down): in the window in which Redis failed, what the service reports
// of the other members counts against that share too (they may have taken
// the rest of the limit through the shared counter); in later windows only
// the member's own requests do. The units sent on the local share are
// owed to their windows' counters (a unit sent within two seconds of a
// window's end to the next window's as well) and charged when Redis
// answers again, so that the members that rejoin stay within the limit
// together with what was sent meanwhile. When a probe succeeds the Fleet logs once more, adopts the
// namespace's generation, sends the invalidations it could not send (a
// member sends them before any other Redis call), and
// the client shares again. When its subscription comes back after a break,
// it tells the client to drop its local copies ("" to Subscribe), since it
// may have missed invalidations meanwhile.
//
// # What Redis sees
//
// No key in Redis holds a license key, and none holds the client's
// unkeyed digest either: names hold HMAC-SHA256 digests under a key
// derived (HKDF-SHA256) from the secret and the namespace. Values and
// invalidation messages are sealed with XChaCha20-Poly1305 under another
// derived key, with the value's expiry inside and its Redis key and field
// as additional data, so that one cannot be moved to another key. An entry
// that does not open (written by someone without the secret, damaged,
// moved) is ignored: a writer to Redis cannot grant a license. It can
// still deny service (delete results, spend the budget counters), as any
// writer to a shared cache can. Budget counters, the generation and the
// epochs hold no license.
//
// # A writer to Redis without the secret
//
// Such a writer can copy what Redis holds (DUMP) and write it back later
// (RESTORE), delete keys and cut subscriptions. Against that:
//
//   - every result is sealed under its license's epoch, and read only with
//     the epoch Redis holds now (one round trip reads both), so a result
//     written back after its license's invalidation does not open;
//   - every member remembers the generations and epochs it saw
//     invalidated (the latest 4096) and never reads under one again; when
//     it finds one in Redis (written back), it replaces it with a fresh
//     one and tells the fleet, which undoes the rollback for the members
//     that did not see the invalidation;
//   - a missing generation is made anew (random), so deleting it brings
//     nothing back; a generation never goes back to one a member saw end;
//   - the expiry sealed inside a result ends it, whatever ttl Redis gives
//     its key.
//
// What remains, by design: a writer holding copies of old values who rolls
// back every key of a license (its epoch and its results), or the
// generation and every result, can show a member that never saw the
// invalidation (a brand-new one, or one that restarted) a result for the
// rest of that result's original life (at most the client's stale ttl),
// until a member that saw the invalidation looks and undoes it. Members
// remember what they saw only while they run. Lock names and budget
// counters can be written too: a lock without expiry (or longer than any
// member gives) is taken over at once, one written again and again makes
// a waiting member ask the service itself after three lock ttls (15 s) if
// its rate budget has a unit free, and spent counters deny service.
//
// Keys, all under lc:<namespace>: (a license's keys share a Cluster hash
// tag, so one script reads or changes both; licenses, locks and counters
// spread over the slots):
//
//	lc:<ns>:gen                          the generation (a random token; InvalidateAll replaces it)
//	lc:<ns>:{<license digest>}:e         the license's epoch (a random token; InvalidateLicense replaces it)
//	lc:<ns>:{<license digest>}:r:<gen>   a hash: request digest → result sealed under the epoch
//	lc:<ns>:b:<tier>:<window end>        a window's budget counter
//	lc:<ns>:f:<key digest>               an in-flight lock
//	lc:<ns>:inv                          the pub/sub channel of invalidations
package fleet
