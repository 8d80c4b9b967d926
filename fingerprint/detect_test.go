package fingerprint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodMachineID = "3d1219c7c4c5404aaa1f6d2a48adfda4"

// fakeRoot builds a root file system with the given files.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	return root
}

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// hostOpts isolates a Generator from this machine: files under root, no
// environment variables, Linux.
func hostOpts(root string, vars map[string]string) []Option {
	return []Option{WithRoot(root), WithLookupEnv(envOf(vars)), func(c *config) error { c.env.goos = "linux"; return nil }}
}

func stateID(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, StateFileName))
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

// TestNormalHostUsesMachineID: a host with its own machine ID gets the
// machineid.ProtectedID construction over it, even with a state dir.
func TestNormalHostUsesMachineID(t *testing.T) {
	root := fakeRoot(t, map[string]string{"/etc/machine-id": goodMachineID + "\n", "/proc/1/cgroup": "0::/init.scope\n"})
	g, err := New("app", append(hostOpts(root, nil), WithStateDir(t.TempDir()))...)
	require.NoError(t, err)
	fp, err := g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, derive(goodMachineID, "app"), fp)
	assert.Equal(t, Origin{Kind: OriginMachineID}, g.Origin())
	// /var/lib/dbus/machine-id comes first, as in machineid.
	root2 := fakeRoot(t, map[string]string{"/var/lib/dbus/machine-id": "aaaa" + goodMachineID[4:], "/etc/machine-id": goodMachineID})
	fp2, err := Compute("app", hostOpts(root2, nil)...)
	require.NoError(t, err)
	assert.Equal(t, derive("aaaa"+goodMachineID[4:], "app"), fp2)
}

// TestClonedImagesFallBackToStateDir: machine IDs that
// every copy of an image shares, and container hosts, no longer give every
// clone one fingerprint when a state dir is configured; Origin says why.
func TestClonedImagesFallBackToStateDir(t *testing.T) {
	cases := map[string]struct {
		files  map[string]string
		vars   map[string]string
		opts   []Option
		reason string
	}{
		"empty /etc/machine-id":    {files: map[string]string{"/etc/machine-id": "\n"}, reason: "empty"},
		"no machine-id at all":     {reason: "no machine ID file"},
		"uninitialized":            {files: map[string]string{"/etc/machine-id": "uninitialized\n"}, reason: "not initialized"},
		"all zeros":                {files: map[string]string{"/etc/machine-id": strings.Repeat("0", 32)}, reason: "image default"},
		"Whonix":                   {files: map[string]string{"/etc/machine-id": "b08dfa6083e7567a1921a715000001fb\n"}, reason: "image default"},
		"golden image (option)":    {files: map[string]string{"/etc/machine-id": goodMachineID}, opts: []Option{WithStaticMachineIDs(strings.ToUpper(goodMachineID))}, reason: "WithStaticMachineIDs"},
		"/.dockerenv":              {files: map[string]string{"/etc/machine-id": goodMachineID, "/.dockerenv": ""}, reason: "Docker"},
		"podman":                   {files: map[string]string{"/etc/machine-id": goodMachineID, "/run/.containerenv": ""}, reason: "Podman"},
		"kubernetes env":           {files: map[string]string{"/etc/machine-id": goodMachineID}, vars: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, reason: "Kubernetes"},
		"docker cgroup":            {files: map[string]string{"/etc/machine-id": goodMachineID, "/proc/1/cgroup": "12:pids:/docker/4f2c1a\n0::/\n"}, reason: "docker cgroup"},
		"kubepods cgroup (self)":   {files: map[string]string{"/etc/machine-id": goodMachineID, "/proc/self/cgroup": "0::/kubepods.slice/kubepods-burstable.slice/x\n"}, reason: "kubernetes cgroup"},
		"empty dbus, empty etc":    {files: map[string]string{"/var/lib/dbus/machine-id": "", "/etc/machine-id": ""}, reason: "empty"},
		"missing pod, static host": {files: map[string]string{"/etc/machine-id": strings.Repeat("0", 32)}, opts: []Option{WithKubernetesPod(PodIdentity{})}, reason: "no pod identity"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root := fakeRoot(t, c.files)
			// Two clones: the same image, each with its own state dir.
			var fps []string
			for range 2 {
				dir := t.TempDir()
				g, err := New("app", append(append(hostOpts(root, c.vars), WithStateDir(dir)), c.opts...)...)
				require.NoError(t, err)
				fp, err := g.Fingerprint()
				require.NoError(t, err)
				assert.Equal(t, derive(stateID(t, dir), "app"), fp)
				o := g.Origin()
				assert.Equal(t, OriginStateDir, o.Kind)
				assert.Contains(t, o.Reason, c.reason)
				assert.NotContains(t, o.Reason, goodMachineID)
				fps = append(fps, fp)
			}
			assert.NotEqual(t, fps[0], fps[1], "two clones share a fingerprint")
		})
	}
}

// TestWeakMachineIDWithoutStateDir: without a state dir a shared machine
// ID is still used (as before), with a warning in Origin; no ID at all is
// ErrNoMachineID.
func TestWeakMachineIDWithoutStateDir(t *testing.T) {
	root := fakeRoot(t, map[string]string{"/etc/machine-id": goodMachineID, "/.dockerenv": ""})
	g, err := New("app", hostOpts(root, nil)...)
	require.NoError(t, err)
	fp, err := g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, derive(goodMachineID, "app"), fp)
	assert.Equal(t, OriginMachineID, g.Origin().Kind)
	assert.Contains(t, g.Origin().Reason, "WithStateDir")

	empty := fakeRoot(t, map[string]string{"/etc/machine-id": ""})
	_, err = Compute("app", hostOpts(empty, nil)...)
	assert.ErrorIs(t, err, ErrNoMachineID)
	assert.Contains(t, err.Error(), "empty")
}

func TestKubernetesPodSource(t *testing.T) {
	const uid = "7C1D0E2A-93B4-4F5E-8A61-0B2C3D4E5F60"
	root := fakeRoot(t, map[string]string{
		"/etc/machine-id":  goodMachineID,
		"/etc/podinfo/uid": "\n" + uid + "\n",
		namespaceFile:      "shop\n",
	})
	vars := map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "POD_UID": uid}
	g, err := New("app", append(hostOpts(root, vars), WithKubernetesPod(PodIdentity{}))...)
	require.NoError(t, err)
	fp, err := g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, derive("k8s-pod:"+strings.ToLower(uid), "app"), fp)
	assert.Equal(t, Origin{Kind: OriginKubernetesPod}, g.Origin())

	// From a downward-API volume file, with a variable of another name unset.
	fpFile, err := Compute("app", append(hostOpts(root, nil), WithKubernetesPod(PodIdentity{UIDEnv: "MY_UID", UIDFile: "/etc/podinfo/uid"}))...)
	require.NoError(t, err)
	assert.Equal(t, fp, fpFile)

	// A StatefulSet's ordinal: the hostname and namespace.
	ss := func(host string) (string, error) {
		return Compute("app", append(hostOpts(root, nil), WithHostname(func() (string, error) { return host, nil }),
			WithKubernetesPod(PodIdentity{StatefulSet: true}))...)
	}
	fpSS, err := ss("web-0")
	require.NoError(t, err)
	assert.Equal(t, derive("k8s-statefulset:shop/web-0", "app"), fpSS)
	other, err := ss("web-1")
	require.NoError(t, err)
	assert.NotEqual(t, fpSS, other)

	// A bad UID is not used; the chain goes on to the state dir.
	dir := t.TempDir()
	g, err = New("app", append(hostOpts(root, map[string]string{"POD_UID": "not-a-uid", "KUBERNETES_SERVICE_HOST": "x"}),
		WithKubernetesPod(PodIdentity{}), WithStateDir(dir))...)
	require.NoError(t, err)
	_, err = g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, OriginStateDir, g.Origin().Kind)
	assert.Contains(t, g.Origin().Reason, "POD_UID is not a pod UID")
	assert.NotContains(t, g.Origin().Reason, "not-a-uid")

	_, err = New("app", WithSource(fixed("x")), WithKubernetesPod(PodIdentity{}))
	assert.Error(t, err)
	for _, opt := range []Option{WithRoot(""), WithLookupEnv(nil), WithHostname(nil)} {
		_, err = New("app", opt)
		assert.Error(t, err)
	}
}

func TestCustomSourceOrigin(t *testing.T) {
	g, err := New("app", WithSource(fixed("machine-1")))
	require.NoError(t, err)
	_, err = g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, Origin{Kind: OriginCustom}, g.Origin())
	dir := t.TempDir()
	g, err = New("app", WithSource(failing(errors.New("down"))), WithStateDir(dir))
	require.NoError(t, err)
	_, err = g.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, OriginStateDir, g.Origin().Kind)
}

func TestContainerFromCgroup(t *testing.T) {
	for in, want := range map[string]string{
		"0::/\n":                                  "",
		"0::/init.scope\n":                        "",
		"4:memory:/process_api/edc7b8\n0::/\n":    "",
		"12:pids:/docker/4f2c\n":                  "docker",
		"0::/system.slice/docker-4f2c.scope\n":    "docker",
		"1:name=systemd:/kubepods/besteffort/pod": "kubernetes",
		"0::/machine.slice/libpod-1234.scope":     "podman",
		"5:cpu:/lxc/c1\n":                         "lxc",
		"0::/kubepods.slice/crio-abc.scope":       "kubernetes",
		"0::/system.slice/crio-abc.scope":         "cri-o",
		"no colons\n\n:::\n":                      "",
	} {
		assert.Equal(t, want, ContainerFromCgroup([]byte(in)), in)
	}
}

func FuzzContainerFromCgroup(f *testing.F) {
	for _, s := range []string{"0::/\n", "12:pids:/docker/4f2c\n", "1:name=systemd:/kubepods/x\n0::/\n", "::", "\x00:\xff:docker-"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ContainerFromCgroup(data)
		// A docker line after anything on its own line is found.
		if !strings.Contains(string(data), "\r") && len(data) < 2048 {
			with := append(append(append([]byte{}, data...), '\n'), "3:pids:/docker/abc\n"...)
			if ContainerFromCgroup(with) == "" {
				t.Fatalf("docker line missed after %q", data)
			}
		}
	})
}

func FuzzClassifyMachineID(f *testing.F) {
	for _, s := range []string{"", "\n", "uninitialized\n", goodMachineID + "\n", strings.Repeat("0", 32), " b08dfa6083e7567a1921a715000001fb \n", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, problem := classifyMachineID(raw, []string{goodMachineID})
		if id == "" && problem == "" {
			t.Fatal("no ID and no problem")
		}
		if id != strings.TrimSpace(id) {
			t.Fatal("ID not trimmed")
		}
		switch problem {
		case "", "the machine ID is empty", "the machine ID is not initialized",
			"the machine ID is a known image default, shared by every copy",
			"the machine ID is listed as static (WithStaticMachineIDs)":
		default:
			t.Fatalf("unexpected problem %q", problem) // problems are fixed text, never the ID
		}
	})
}

func FuzzParsePodUID(f *testing.F) {
	for _, s := range []string{"7c1d0e2a-93b4-4f5e-8a61-0b2c3d4e5f60", " 7C1D0E2A-93B4-4F5E-8A61-0B2C3D4E5F60\n", "", "00000000-0000-0000-0000-000000000000", "7c1d0e2a93b44f5e8a610b2c3d4e5f60xxxx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		uid, err := ParsePodUID(data)
		if err != nil {
			if uid != "" || !strings.HasPrefix(err.Error(), "fingerprint: pod UID is ") {
				t.Fatalf("error %v with uid %q", err, uid)
			}
			return
		}
		if len(uid) != 36 || uid != strings.ToLower(uid) {
			t.Fatalf("accepted %q", uid)
		}
		again, err := ParsePodUID([]byte(uid))
		if err != nil || again != uid {
			t.Fatalf("not idempotent: %q, %v", again, err)
		}
	})
}
