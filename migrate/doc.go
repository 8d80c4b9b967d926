// Package migrate moves a licensing setup from Keygen or Cryptlex to
// Licentric: products, entitlements, policies, licenses and machines, with
// every license key preserved byte for byte. The command
// "licentric import" (cmd/licentric) is built on it.
//
// An import has two steps. NewPlan reads the whole source, maps every record
// to Licentric, checks the records against each other and, given a client,
// against the target environment, and writes nothing: the Plan is the dry
// run, with a report for people (Plan.WriteText) and one for machines
// (Plan.WriteJSONLines). Apply then creates the plan's records through the
// management API, journaling each one as it goes:
//
//	src := &migrate.Keygen{Dir: "keygen-export"} // or &migrate.Cryptlex{LicensesCSV: ..., ProductsJSON: ...}
//	journal, err := migrate.OpenJournal("keygen.journal")
//	plan, err := migrate.NewPlan(ctx, src, client, &migrate.PlanOptions{Journal: journal})
//	plan.WriteText(os.Stdout)                      // counts, every warning and rejection
//	res, err := migrate.Apply(ctx, client, plan, journal)
//
// # Sources
//
// Keygen has no bulk export; its API is the export. Keygen reads either a
// directory of saved list responses (JSON:API pages as the API sends them)
// or the API itself, with a token, paging by links.next and sending
// Keygen-Version 1.8; shapes of older versions are read too (the license
// owner as "user" at API 1.5 and before, fingerprintUniquenessStrategy at
// 1.3 and before). The token goes to the API's origin only: a links.next or
// a redirect to another scheme, host or port is refused (ErrSource), not
// followed. Cryptlex reads the licenses CSV of
// GET /v3/licenses/export (columns matched by header name, case-insensitive;
// a UTF-8 BOM, CRLF and quoted fields with commas and newlines are fine) and
// the products JSON.
//
// The whole source is held in memory while the plan is built, about 7 KB a
// record, so what NewPlan reads is capped: at most DefaultMaxRecords
// (300,000) records and DefaultMaxSourceBytes (512 MiB) of files or pages,
// which need about 2 GB of memory and fit an ordinary machine. A source
// over either cap (a Keygen API whose links.next never ends among them)
// fails with ErrSourceTooLarge before anything is written; raise the caps
// (PlanOptions.MaxRecords and MaxSourceBytes; licentric import
// --max-records and --max-source-mb) on a machine with the memory. A
// single file or page is capped too (64 MiB; the Cryptlex products JSON
// 32 MiB).
//
// Every record, whatever its source, becomes a Product, Entitlement,
// Policy, License or Machine of the plan, with its source id, where it came
// from (file and record or row and line), its mapped fields, warnings, and
// the reason it is rejected, if it is. A rejected record is not imported,
// nor is anything under it (a license of a rejected policy is rejected with
// parent_rejected).
//
// # Mapping rules
//
// The mapping follows the project's field-by-field table
// (shared/migration-mapping.md). Where the table leaves a choice, or the
// target differs from what it assumes, these rules apply:
//
//   - Provenance: every record's metadata gets a "_source" object,
//     {"system": "keygen"|"cryptlex", "id": "<source id>", ...}. Whatever the
//     table sends to "meta" (source fields with no Licentric equivalent:
//     Keygen's uses, groupId, usersCount, lastValidated, created, the
//     policy attributes without a target field, machine memory, disk, ip,
//     heartbeatStatus; Cryptlex's totalActivations, createdAt, notes, tags,
//     pendingDurationDays, ...) is stored in "_source" too. A source
//     metadata key named "_source" is dropped, with a warning. Metadata over
//     64 KiB serialized rejects the record (metadata_too_large).
//   - License keys are never changed. Keygen keys are taken verbatim; a key
//     Licentric refuses (empty, longer than 16,384 characters, control
//     characters, leading or trailing whitespace) rejects the license.
//     Cryptlex keys are trimmed first (with a warning), as the table says.
//     A key that repeats inside the source rejects the later record.
//   - Statuses: active, suspended and revoked are imported as they are (the
//     license is created, then suspended or revoked); expired follows from
//     expiresAt. Licentric's API cannot ban, so a license whose Keygen owner
//     is banned is imported suspended, with a warning and
//     _source.status "BANNED". A license is never moved out of a terminal
//     status (revoked, banned) it already has in the target.
//   - A license that has machines or a status to set, and whose expiry is
//     past or less than 7 days away, is created without an expiry; its
//     machines are activated and its status set, and then its expiry (so
//     activation is not refused as LICENSE_NOT_ACTIVE). The others are
//     created with their final expiry in one request.
//   - A license with more machines than its limit (Keygen's overage allows
//     1.25x or 2x) gets maxMachinesOverride raised to its machine count,
//     with a warning: no machine is dropped. Policies whose licenses carry an
//     override are created overridable.
//   - Machines whose fingerprint collides under the policy's uniqueness are
//     imported once (the first) and the others rejected
//     (fingerprint_conflict). Fingerprints shorter than 8 or longer than 256
//     characters are rejected. DEAD machines are imported unless
//     Keygen.SkipDeadMachines. Platforms are mapped case-insensitively
//     (macOS, darwin → macos; Windows, win32 → windows; Linux → linux;
//     docker; kubernetes, k8s); anything else is left out and kept in
//     _source.platform, with a warning.
//   - Product codes: a Keygen product without a code (or with one Licentric
//     refuses) gets the slug of its name; a Cryptlex product's code is its
//     "name" when that is a valid code, else the slug of its display name.
//     A derived code that another product of the plan takes becomes
//     code-2, code-3, ....
//   - Products the target has: Licentric's migration guide has the
//     products created first, and an earlier import from the other system
//     creates them too. A product whose code the target has already is
//     used, not created (warning product_reused); PlanOptions.ProductMap
//     (licentric import --product-map SOURCE=TARGET_ID) maps a source
//     product, by id or code, to a target product where the codes differ
//     (warning product_mapped; a map to a product the target does not have
//     rejects it, unknown_target_product). The product itself is never
//     changed. The policies of a used product are created under it, each
//     tagged with its own _source, not matched to the product's policies:
//     a license keeps the exact limits it had in the source, and a re-run
//     finds the policies it created by their _source.
//   - Entitlement codes are lowercased, other characters than a-z, 0-9, _
//     and - become '-' (a warning says so: applications that ask for the old
//     code must change). An entitlement whose code the target already has is
//     reused, not created. Entitlement metadata is carried over (Licentric
//     entitlements have metadata, unlike what the table assumes).
//   - Keygen heartbeatCullStrategy maps to Licentric's field of the same
//     name (KEEP_DEAD with a warning); the resurrection strategy and basis go
//     to _source. A policy that allows offline use (a Keygen scheme, a
//     Cryptlex serverSyncGracePeriod of -1) without a maximum gets
//     offlineMaxDays 90, the longest license-file TTL; larger maxima are
//     capped at 90.
//   - Cryptlex policies are synthesised, one per (product, type, validity or
//     subscription interval) of the accepted rows, with the most common
//     allowedActivations of the group as maxMachines; rows whose
//     allowedActivations differs get maxMachinesOverride. Rows with
//     unlimited activations (-1, 0, or empty, which warns) form a policy of
//     their own ("..., unlimited activations"), because an override cannot
//     say "unlimited". Policy-level columns (expirationStrategy,
//     serverSyncInterval, ...) take the most common value of the group, with
//     a warning when the rows disagree; empty cells fall back to the
//     product's licenseTemplate. Each product's trialPolicy becomes a trial
//     policy ("<product>: trial"). A Cryptlex product's description becomes
//     the product's description (up to 1,000 bytes; longer ones go to
//     metadata.description).
//   - A user email that is not a valid address is left out and kept in
//     _source.userEmail, with a warning. Names longer than 255 bytes are
//     cut, with a warning.
//   - Keygen records that appear twice (a list that moved while it was
//     saved) are read once, the most recently updated copy winning.
//   - Users are not Licentric resources: a license's owner becomes its
//     userEmail and userName; the plan's notes count the users folded in,
//     and those skipped (another role than user, or no license).
//   - Cryptlex activations are not imported (they carry no usable
//     fingerprint: customers re-activate); their counts stay in _source.
//
// Machines keep their bindings when the application keeps computing the
// same fingerprint: keygen-go's documentation has applications use
// machineid.ProtectedID(<app or product id>), and this SDK's default
// fingerprint is machineid.ProtectedID(appID), so an application that passes
// the same ID to licentric.WithAppID finds every migrated machine (the
// Licentric docs: migrated machines "re-establish their fingerprint binding
// the next time your app calls validate()").
//
// # Resuming, idempotency and conflicts
//
// The journal (OpenJournal) is the import's checkpoint: one JSON line per
// record, appended and fsynced as soon as the record is imported, mapping
// its source id to its Licentric id, with mode 0600. A crash can cut the
// last line; it is ignored and cut off when the journal is opened again.
// A re-run skips every record the journal holds. For a record it does not
// hold (the crash came between the create and the journal line, or the
// journal was lost), Apply finds the earlier result in the target before it
// creates anything: licenses by their key (a create answered 409, then GET
// /licenses/by-key with the key path-escaped), products by their _source
// (then by their code, used as above), entitlements by their code, policies and machines by the _source metadata. A record found
// there that carries this source record's _source is adopted; one that does
// not is a conflict, reported and never overwritten (key_taken,
// code_taken). So a re-run neither duplicates nor loses anything, and the
// journal ends up complete.
//
// A record that was imported and has changed in the source since is
// reported (source_changed) but not updated: an import finishes, it does
// not synchronise. A journal belongs to one source system, environment and
// service; another is refused (ErrJournalMismatch).
//
// # Rate limits, retries, cancellation
//
// Apply sends one request at a time through the client, whose rate budget
// keeps it inside the service's limits: 120 management requests a minute
// per API key (so 10,000 licenses take about 85 minutes) and 10 machine
// activations a minute per IP address. Most licenses cost one request;
// a status to set, or an expiry set after the machines, costs one more.
// Retries are one layer: every request is retried by the client under its
// licentric.RetryPolicy (by default 4 attempts: 429s waited out per
// Retry-After, 5xx and transport errors with backoff), except a create,
// which the client repeats only after a 429; after a 5xx or a lost answer
// Apply looks for what the create may have made and creates again, at most
// 4 creates a record (WithRetry). A record that still fails is reported and the
// import goes on, but three records in a row failing that way, or an API
// key the service refuses, stop Apply with ErrTargetUnavailable. When ctx
// is cancelled (Ctrl-C) Apply returns at once with ctx's error; every
// journal line written is complete and true, and a re-run continues.
//
// # Issue codes
//
// Rejections: missing_id, duplicate_id, empty_key, invalid_key,
// key_too_long, no_key (a Keygen legacy-encrypted license), duplicate_key,
// key_taken, malformed_date, malformed_number, malformed_duration,
// malformed_row, field_too_large, unknown_status, unknown_type,
// unknown_product, unknown_policy, unknown_license, policy_product_mismatch,
// parent_rejected, invalid_code, duplicate_code, code_taken (at import, a
// code taken by a product the API key cannot see), unknown_target_product,
// invalid_fingerprint, fingerprint_conflict, metadata_too_large.
//
// Warnings: additional_users, approximate_duration, authentication_none,
// banned_as_suspended, code_changed, code_deduplicated, description_moved,
// duration_rounded, entitlement_dropped, entitlement_reused,
// expiration_start, invalid_duration, invalid_email, keep_dead, key_trimmed,
// key_unchecked, lossy_expiration, metadata_collision, metadata_repeated,
// metadata_reserved, metadata_unreadable, meters_kept, meters_unreadable,
// missing_name, not_enforced, offline_capped, on_premise_floating,
// over_limit, overage, owner_not_found, pending_expiry, product_mapped,
// product_reused, public_key_dropped,
// resurrection, rows_disagree, source_changed, truncated,
// unknown_expiration, unknown_platform, unknown_uniqueness,
// uniqueness_loosened, unlimited_activations, use_pool, uses_not_carried.
//
// Apply failures: the rejection codes where they apply, plus
// dependency_failed, license_not_active, status_refused, terminal_status,
// refused (the API's 400), not_found, conflict, unavailable, api_error.
//
// Reports and errors name records by source id and origin, never by license
// key; LicenseKey redacts itself when printed.
package migrate
