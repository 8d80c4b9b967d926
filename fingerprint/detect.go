package fingerprint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/denisbrodbeck/machineid"

	"github.com/licentric/licentric-go/internal/atomicfile"
)

// Origin kinds: which identity a Generator's fingerprint came from.
const (
	// OriginMachineID: the operating system's machine ID.
	OriginMachineID = "machine-id"
	// OriginStateDir: the random identity kept in the WithStateDir directory.
	OriginStateDir = "state-dir"
	// OriginKubernetesPod: the pod identity of WithKubernetesPod.
	OriginKubernetesPod = "kubernetes-pod"
	// OriginCustom: the Source given with WithSource.
	OriginCustom = "custom"
)

// Origin tells which identity a fingerprint came from and why: Kind is one
// of the Origin* constants, and Reason, when not empty, says why an earlier
// identity was passed over (the machine ID is empty, a known image default,
// or that of a container) or, for OriginMachineID, why the fingerprint may
// be shared with clones of this machine. Reason never holds the raw ID.
type Origin struct {
	Kind   string
	Reason string
	// Shared reports that other machines may well have the same
	// fingerprint: the machine ID of an image or of a container's host,
	// used because no WithStateDir was given. Two installations then hold
	// one seat between them; give each a state directory.
	Shared bool
}

// maxIDFile caps what is read from a machine-ID or downward-API file.
const maxIDFile = 4096

// knownStaticMachineIDs are machine IDs that ship in images and are thus
// shared by every installation: all zeros, and Whonix's fixed ID. Add more
// with WithStaticMachineIDs.
var knownStaticMachineIDs = []string{
	"00000000000000000000000000000000",
	"b08dfa6083e7567a1921a715000001fb", // Whonix sets this on every install
}

// env is what detection reads; every part can be replaced for tests.
type env struct {
	root      string
	lookupEnv func(string) (string, bool)
	hostname  func() (string, error)
	goos      string
	static    []string
}

func (e *env) path(p string) string {
	if e.root == "" {
		return p
	}
	return filepath.Join(e.root, filepath.FromSlash(p))
}

func (e *env) readFile(p string) ([]byte, error) {
	return atomicfile.ReadCapped(e.path(p), maxIDFile)
}

func (e *env) exists(p string) bool {
	_, err := os.Stat(e.path(p))
	return err == nil
}

// machineIDPaths are where Linux keeps the machine ID, in the order
// github.com/denisbrodbeck/machineid reads them.
var machineIDPaths = []string{"/var/lib/dbus/machine-id", "/etc/machine-id"}

// readMachineID returns the machine ID, or a reason it is unusable
// (problem) or shared (weak). On Linux it reads the files under the root
// itself, with machineid's trimming, so the fingerprint equals
// machineid.ProtectedID; elsewhere it asks machineid.
func (e *env) readMachineID() (id, problem string) {
	if e.goos != "linux" {
		raw, err := machineid.ID()
		if err != nil {
			return "", "the operating system's machine ID is unreadable"
		}
		return classifyMachineID(raw, e.static)
	}
	problem = "no machine ID file"
	for _, p := range machineIDPaths {
		data, err := e.readFile(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				problem = "machine ID file " + p + " is unreadable"
			}
			continue
		}
		id, problem = classifyMachineID(string(data), e.static)
		if id != "" || problem != "the machine ID is empty" {
			return id, problem
		}
		// An empty first file: machineid would stop here; the second may
		// still hold the ID.
	}
	return "", problem
}

// classifyMachineID trims a machine ID as machineid does and returns it,
// with a problem when it is not usable: empty and uninitialized IDs are no
// ID (""), a known static one is returned with its problem.
func classifyMachineID(raw string, extra []string) (id, problem string) {
	id = strings.TrimSpace(strings.Trim(raw, "\n"))
	switch {
	case id == "":
		return "", "the machine ID is empty"
	case id == "uninitialized":
		return "", "the machine ID is not initialized"
	}
	lower := strings.ToLower(id)
	for _, s := range knownStaticMachineIDs {
		if lower == s {
			return id, "the machine ID is a known image default, shared by every copy"
		}
	}
	for _, s := range extra {
		if lower == strings.ToLower(s) {
			return id, "the machine ID is listed as static (WithStaticMachineIDs)"
		}
	}
	return id, ""
}

// container reports why this looks like a container, or "".
func (e *env) container() string {
	if e.lookupEnv != nil {
		if v, ok := e.lookupEnv("KUBERNETES_SERVICE_HOST"); ok && v != "" {
			return "running in a Kubernetes pod"
		}
	}
	if e.exists("/.dockerenv") {
		return "running in a Docker container"
	}
	if e.exists("/run/.containerenv") {
		return "running in a Podman container"
	}
	for _, p := range []string{"/proc/1/cgroup", "/proc/self/cgroup"} {
		if data, err := e.readFile(p); err == nil {
			if rt := ContainerFromCgroup(data); rt != "" {
				return "running in a container (" + rt + " cgroup)"
			}
		}
	}
	return ""
}

// cgroupMarkers name container runtimes by what they put in cgroup paths.
var cgroupMarkers = []struct{ marker, runtime string }{
	{"kubepods", "kubernetes"},
	{"/docker/", "docker"}, {"docker-", "docker"},
	{"libpod", "podman"},
	{"/lxc/", "lxc"}, {"lxc.payload", "lxc"},
	{"crio-", "cri-o"},
	{"containerd", "containerd"},
	{"/ecs/", "ecs"},
}

// ContainerFromCgroup reads a /proc/<pid>/cgroup file (lines
// "hierarchy:controllers:path", cgroup v1 or v2) and returns the container
// runtime its paths name ("docker", "kubernetes", ...), or "" when none
// does. A host, and a container whose cgroup namespace hides the path
// ("0::/"), give "". Malformed lines are skipped.
func ContainerFromCgroup(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 512), maxIDFile)
	for sc.Scan() {
		line := sc.Text()
		first := strings.IndexByte(line, ':')
		if first < 0 {
			continue
		}
		second := strings.IndexByte(line[first+1:], ':')
		if second < 0 {
			continue
		}
		path := line[first+1+second+1:]
		for _, m := range cgroupMarkers {
			if strings.Contains(path, m.marker) {
				return m.runtime
			}
		}
	}
	return ""
}

// PodIdentity says where WithKubernetesPod finds the pod's identity.
type PodIdentity struct {
	// UIDEnv names an environment variable holding the pod's UID, set
	// through the downward API:
	//
	//	env: [{name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]
	//
	// Empty means "POD_UID". The UID changes when the pod is replaced, so
	// the seat follows the pod.
	UIDEnv string
	// UIDFile is a downward-API volume file holding the pod's UID (for
	// example /etc/podinfo/uid), read when the variable is unset.
	UIDFile string
	// StatefulSet uses the pod's hostname (a StatefulSet pod's stable
	// name, "web-0") and namespace instead of the UID, so the seat stays
	// with the StatefulSet ordinal when its pod is rescheduled.
	StatefulSet bool
}

// namespaceFile holds the pod's namespace in every pod with a service
// account token mounted.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// podID returns the pod's identity as configured, or an error.
func (e *env) podID(p PodIdentity) (string, error) {
	if p.StatefulSet {
		if e.hostname == nil {
			return "", errors.New("fingerprint: no hostname")
		}
		host, err := e.hostname()
		if err != nil || !isStatefulSetName(host) {
			return "", errors.New("fingerprint: hostname is not that of a StatefulSet pod (name-N)")
		}
		ns := "default"
		if data, err := e.readFile(namespaceFile); err == nil {
			if v := strings.TrimSpace(string(data)); v != "" {
				ns = v
			}
		}
		return "k8s-statefulset:" + ns + "/" + host, nil
	}
	name := p.UIDEnv
	if name == "" {
		name = "POD_UID"
	}
	if e.lookupEnv != nil {
		if v, ok := e.lookupEnv(name); ok {
			if uid, err := ParsePodUID([]byte(v)); err == nil {
				return "k8s-pod:" + uid, nil
			}
			return "", fmt.Errorf("fingerprint: %s is not a pod UID", name)
		}
	}
	if p.UIDFile != "" {
		data, err := e.readFile(p.UIDFile)
		if err != nil {
			return "", fmt.Errorf("fingerprint: read pod UID file: %w", err)
		}
		uid, err := ParsePodUID(data)
		if err != nil {
			return "", err
		}
		return "k8s-pod:" + uid, nil
	}
	return "", fmt.Errorf("fingerprint: %s is not set (downward API fieldRef metadata.uid)", name)
}

// ParsePodUID reads a Kubernetes pod UID (an RFC 4122 UUID, as the
// downward API gives metadata.uid), with surrounding whitespace, and
// returns it in lowercase. Its errors never quote the input.
func ParsePodUID(data []byte) (string, error) {
	s := strings.ToLower(strings.TrimSpace(string(data)))
	if len(s) != 36 {
		return "", errors.New("fingerprint: pod UID is not a UUID")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", errors.New("fingerprint: pod UID is not a UUID")
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return "", errors.New("fingerprint: pod UID is not a UUID")
			}
		}
	}
	if s == "00000000-0000-0000-0000-000000000000" {
		return "", errors.New("fingerprint: pod UID is the nil UUID")
	}
	return s, nil
}

// isStatefulSetName reports whether host looks like "<name>-<ordinal>", a
// DNS label.
func isStatefulSetName(host string) bool {
	dash := strings.LastIndexByte(host, '-')
	if dash <= 0 || dash == len(host)-1 || len(host) > 63 {
		return false
	}
	for i := dash + 1; i < len(host); i++ {
		if host[i] < '0' || host[i] > '9' {
			return false
		}
	}
	for i := 0; i < dash; i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func defaultEnv() env {
	return env{lookupEnv: os.LookupEnv, hostname: os.Hostname, goos: runtime.GOOS}
}
