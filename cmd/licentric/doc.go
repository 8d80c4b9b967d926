// Command licentric handles Licentric offline license files for sites without
// a network: it prints a machine's fingerprint, checks out a signed license
// file for that machine on a connected computer, and verifies the file on the
// air-gapped one against the vendor's pinned public key.
//
// Usage:
//
//	licentric fingerprint --app-id ID [--state-dir DIR]
//	licentric verify --public-key KEY [--public-key KEY2] (--fingerprint FP | --app-id ID | --any-machine)
//	        [--entitlement CODE]... [--env live|test] license.lic
//	licentric checkout --license-id ID --public-key KEY (--fingerprint FP | --app-id ID)
//	        [--ttl 336h] [--out license.lic] [--env live|test]
//	licentric help [command]
//	licentric version
//
// The air-gapped workflow: run "licentric fingerprint --app-id ID" on the
// air-gapped machine (ID is the application ID the application itself uses);
// carry the fingerprint to a connected computer, where a machine with it has
// been activated on the license, and run "licentric checkout --fingerprint FP";
// carry the license file back and check it with "licentric verify". Refresh
// the file the same way before it expires.
//
// A public key (KEY) is given in one of the forms of offline.ParsePublicKey
// (standard base64 of the 32 raw bytes, 64 hex digits, or a PEM PUBLIC KEY
// block) or as @path to a file holding one. Give it twice during a key
// rotation. checkout never writes a file that does not verify with the given
// keys, and writes atomically with mode 0600.
//
// checkout reads the service's address and credentials from flags or the
// environment: --base-url or LICENTRIC_BASE_URL (default
// https://licentric.com), --api-key or LICENTRIC_API_KEY, and --license-key or
// LICENTRIC_LICENSE_KEY to authenticate with the license's own key instead of
// an API key. Prefer the environment variables: command-line arguments are
// visible to other users of the machine. Neither the API key nor a full
// license key is ever printed.
//
// Exit codes:
//
//	0  success
//	1  verification or the operation failed (the reason is on stderr)
//	2  usage error: unknown command, bad or missing flags or arguments
//	3  the license file has expired (its own TTL ran out): check out a new one
package main
