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
// Clones and containers: many images ship a fixed or empty /etc/machine-id,
// and inside a container the machine ID is the image's or the host's. With
// [WithStateDir], a machine ID that is empty, uninitialized, a known image
// default (or one given to [WithStaticMachineIDs]), or read inside a
// container (/.dockerenv, /run/.containerenv, KUBERNETES_SERVICE_HOST, a
// container runtime in /proc/1/cgroup, see [ContainerFromCgroup]) gives way
// to the persisted identity, so each clone gets its own fingerprint;
// without it the machine ID is still used, and [Origin].Shared says that
// other machines may have it too. [WithKubernetesPod] makes the pod's UID
// (downward API) or a StatefulSet pod's name the identity.
//
// An identity is a seat: one that changes at every restart (a pod UID, a
// state directory on an emptyDir) takes a new seat each time, and a full
// license then denies the new pod until the old seat is freed (deactivated,
// or culled for missing heartbeats). For replicas that keep their seats
// across restarts and rollouts, use a StatefulSet pod's name, or a state
// directory on a persistent volume. [Generator.Origin] reports which identity was
// used and why. [WithRoot], [WithLookupEnv] and [WithHostname] replace the
// file system root, the environment and the hostname for tests.
//
// [Platform] reports the value for a machine's "platform" field.
package fingerprint
