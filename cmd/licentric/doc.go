// Command licentric is the command-line tool for Licentric licensing. It
// handles offline license files for sites without a network: it prints a
// machine's fingerprint, checks out a signed license file for that machine on
// a connected computer, and verifies the file on the air-gapped one against
// the vendor's pinned public key. It runs the common support actions on
// licenses and machines, pins the signing keys into an application's source,
// imports data from other licensing services, and runs the test server
// (package licentrictest) as a standalone process for other languages' tests.
//
// Usage:
//
//	licentric fingerprint --app-id ID [--state-dir DIR]
//	licentric verify --public-key KEY [--public-key KEY2] (--fingerprint FP | --app-id ID | --any-machine)
//	        [--entitlement CODE]... [--env live|test] license.lic
//	licentric checkout [--license-id ID] --public-key KEY (--fingerprint FP | --app-id ID)
//	        [--ttl 336h] [--out license.lic] [--env live|test] [--license-key KEY]
//	licentric machines list [--license-id ID | --license-key KEY] [--limit N]
//	licentric machines deactivate (MACHINE_ID | --license-id ID --fingerprint FP)
//	licentric licenses get (LICENSE_ID | --key KEY) [--show-key]
//	licentric licenses suspend|reinstate LICENSE_ID [--show-key]
//	licentric pin-key [--out signing_key.go] [--package main] [--var NAME] [--public-key KEY]...
//	licentric serve [--port N] [--frozen] [--no-rate-limits] [--seed FILE.json]
//	licentric import ...
//	licentric help [command [subcommand]]
//	licentric version
//
// Every command takes --help ("licentric help <command>" prints the same),
// and every command but import and help takes --json (below; serve always
// prints JSON).
//
// The air-gapped workflow: run "licentric fingerprint --app-id ID" on the
// air-gapped machine (ID is the application ID the application itself uses);
// carry the fingerprint to a connected computer, where a machine with it has
// been activated on the license, and run "licentric checkout --fingerprint FP";
// carry the license file back and check it with "licentric verify". Refresh
// the file the same way before it expires. When the machine is retired, free
// its seat with "licentric machines deactivate --license-id ID --fingerprint
// FP".
//
// A public key (KEY) is given in one of the forms of offline.ParsePublicKey
// (standard base64 of the 32 raw bytes, 64 hex digits, or a PEM PUBLIC KEY
// block) or as @path to a file holding one; a weak (small-order) key is
// refused. Give it twice during a key rotation. checkout never writes a file
// that does not verify with the given keys, and writes atomically with mode
// 0600. checkout with the license key alone finds the license's id by
// validating the key (one use of the license).
//
// pin-key writes the account's signing public key(s), fetched with the API
// key (GET /keys/signing) and any given with --public-key, as a gofmt-clean Go
// file that imports nothing: a []string of the keys (each with its key ID in
// a comment), ready for licentric.WithLicenseFile(path, NAME...). The file is
// written atomically with mode 0644: it is source code holding public keys,
// not a secret.
//
// serve prints one JSON line, {"url", "testKey", "liveKey", "publicKey",
// "control"} (url without /api/v1; publicKey standard base64 of the raw 32
// bytes; control the base URL of the control API: POST advance?seconds=N,
// ratelimits?enabled=0|1, keys?env=test|live&scopes=a,b, ban?licenseId=ID;
// GET requests), then serves on 127.0.0.1 until SIGINT or SIGTERM, and exits
// 0. Its keys are the test server's own, not secrets.
//
// # Credentials
//
// The online commands read the service's address and credentials from flags
// or the environment: --base-url or LICENTRIC_BASE_URL (default
// https://licentric.com), --api-key or LICENTRIC_API_KEY (machines, licenses
// and pin-key need one), and for checkout --license-key or
// LICENTRIC_LICENSE_KEY to authenticate with the license's own key instead of
// an API key. Prefer the environment variables: command-line arguments are
// visible to other users of the machine. Neither an API key nor a full
// license key is ever printed: messages show them redacted, and license keys
// in output are redacted unless licenses --show-key asks for them.
//
// # JSON output
//
// With --json a command prints exactly one JSON document on stdout; field
// names are stable:
//
//	fingerprint         {"fingerprint", "appId"}
//	verify, checkout    {"path", "env", "keyId", "fingerprint", "issuedAt", "expiresAt", "ttlSeconds",
//	                     "remainingSeconds", "refreshDue", "license": {"id", "name", "key" (redacted),
//	                     "status", "expired", "productId", "policyId", "policyName", "expiresAt" (null: never)},
//	                     "machine": {"id", "name"}, "entitlements"}
//	machines list       {"machines": [Machine, ...], "truncated"}
//	machines deactivate {"deactivated": Machine}
//	licenses ...        {"license": License} (key redacted unless --show-key; get adds "machines")
//	pin-key             {"path", "package", "var", "keys": [{"keyId", "publicKey"}]}
//	version             {"version"}
//
// Machine and License are the API's resources with its field names. A
// failure with --json prints {"error": {"message", "exitCode", "code",
// "status", "requestId"}} on stdout (code, status and requestId when the
// service refused the request) besides the message on stderr.
//
// # Exit codes
//
//	0  success
//	1  verification or the operation failed (the reason is on stderr)
//	2  usage error: unknown command, bad or missing flags or arguments
//	3  the license file has expired (its own TTL ran out): check out a new one
package main
