// Package fingerprint computes the machine fingerprint that a licensed
// application sends to Licentric when it validates a license, activates a
// machine or checks out an offline certificate.
//
// A fingerprint is HMAC-SHA256 keyed by a raw machine identifier over an
// application ID, written as 64 lowercase hex digits. The raw identifier comes
// from a [Source]: by default the operating system's machine ID ([MachineID],
// read through github.com/denisbrodbeck/machineid; for that source the result
// equals machineid.ProtectedID), optionally a random identifier kept in a
// directory the caller chooses ([StateDir]) for hosts and containers that have
// no machine ID, or any identifier the caller supplies ([SourceFunc]), such as
// a Kubernetes pod's stable identity or a cloud instance ID. Every source goes
// through the same HMAC construction.
//
// What it protects: the raw identifier never leaves the process. It is not
// returned, logged or put into an error message, and the fingerprint cannot be
// turned back into it. Fingerprints of two application IDs on one machine
// cannot be linked to each other without the raw identifier.
//
// What it does not protect: the fingerprint is no secret and no proof of a
// machine. Anyone who can read the raw identifier (any local user for
// /etc/machine-id, root for everything) can compute the fingerprint and present
// it from another machine. Machines cloned from one image share a machine ID
// and so share fingerprints unless each clone gets a fresh ID. A fingerprint is
// only as stable as its source: with [FirstOf], a host that gains or loses its
// machine ID moves to another source and so to another fingerprint.
//
// [Platform] reports the value for a machine's "platform" field.
package fingerprint
