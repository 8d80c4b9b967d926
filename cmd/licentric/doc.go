// Command licentric is the command-line tool for Licentric licensing. It
// licenses machines at sites without a network: it writes an air-gapped
// machine's activation request there, activates the machine and checks out
// a signed license file for it on a connected computer, verifies the file on
// the air-gapped one against the vendor's pinned public key, and gives the
// seat back when the machine is retired. It runs the common support actions on
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
//	licentric offline request (--fingerprint FP | --app-id ID [--state-dir DIR]) [--license-key KEY]
//	        [--name N] --out request.json
//	licentric offline fulfill --public-key KEY [--public-key KEY2] [--ttl D] [--license-key KEY]
//	        --out license.lic request.json
//	licentric offline release [--license-key KEY] request.json
//	licentric machines activate --license-key KEY --fingerprint FP [--name N] [--platform P] [--hostname H]
//	licentric machines list [--license-id ID | --license-key KEY] [--limit N]
//	licentric machines deactivate (MACHINE_ID | --license-id ID --fingerprint FP | --license-key KEY --fingerprint FP)
//	licentric licenses get (LICENSE_ID | --license-key KEY) [--show-key]
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
// The air-gapped workflow: run "licentric offline request --app-id ID --out
// request.json" on the air-gapped machine (ID is the application ID the
// application itself uses; it opens no network connection), carry
// request.json to a connected computer and run "licentric offline fulfill
// --public-key KEY --out license.lic request.json" there, which activates the
// machine once and writes a license file that verifies with the pinned key;
// carry license.lic back and check it with "licentric verify". Fulfil the
// same request again before the file expires: a new file, the same machine.
// When the machine is retired, "licentric offline release request.json"
// frees its seat. Each step needs the license key only (in the request, or
// --license-key), not the vendor's API key. With a fingerprint alone,
// "licentric machines activate" and "licentric checkout" do the online half,
// and "licentric machines deactivate --license-key KEY --fingerprint FP" (or,
// with an API key, --license-id ID) frees the seat.
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
// https://licentric.com), --api-key or LICENTRIC_API_KEY (machines list,
// licenses and pin-key need one), and --license-key or LICENTRIC_LICENSE_KEY
// to act with the license's own key instead: checkout, offline fulfill and
// release, machines activate and machines deactivate --license-key do, and
// use an API key, when one is set, only to look the license up. Prefer the
// environment variables: command-line arguments are visible to other users
// of the machine. Neither an API key nor a full license key is ever printed:
// messages show them redacted, and license keys in output are redacted unless
// licenses --show-key asks for them. An activation request holding a license
// key is written with mode 0600.
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
//	offline request     {"path", "fingerprint", "appId", "name", "hostname", "platform", "cores",
//	                     "licenseKey" (redacted; absent without one)}
//	offline fulfill     as checkout, with "activated" (false: the machine was active, a renewal)
//	offline release     {"released": Machine} (null: no machine had the fingerprint)
//	machines activate   {"machine": Machine, "activated"}
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
