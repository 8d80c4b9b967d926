package fingerprint

import (
	"runtime"
	"testing"
)

func TestDetectPlatform(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	files := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	k8s := map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
	tests := []struct {
		name   string
		goos   string
		env    func(string) (string, bool)
		exists func(string) bool
		want   string
	}{
		{"linux", "linux", env(nil), files(), "linux"},
		{"macos", "darwin", env(nil), files(), "macos"},
		{"windows", "windows", env(nil), files(), "windows"},
		{"unknown os", "plan9", env(nil), files(), ""},
		{"nil lookups", "linux", nil, nil, "linux"},
		{"docker", "linux", env(nil), files("/.dockerenv"), "docker"},
		{"kubernetes", "linux", env(k8s), files(), "kubernetes"},
		{"kubernetes wins over docker", "linux", env(k8s), files("/.dockerenv"), "kubernetes"},
		{"empty kubernetes variable", "linux", env(map[string]string{"KUBERNETES_SERVICE_HOST": ""}), files(), "linux"},
		{"other file", "linux", env(nil), files("/run/.containerenv"), "linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectPlatform(tt.goos, tt.env, tt.exists); got != tt.want {
				t.Errorf("DetectPlatform = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlatformIsInContractEnum(t *testing.T) {
	got := Platform()
	switch got {
	case "macos", "windows", "linux", "docker", "kubernetes":
	case "":
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
			t.Errorf("Platform() = \"\" on %s", runtime.GOOS)
		}
	default:
		t.Errorf("Platform() = %q, not in the contract's enum", got)
	}
}
