package fingerprint

import (
	"os"
	"runtime"

	"github.com/licentric/licentric-go/internal/wire"
)

// Platform returns the value for a machine's "platform" field on this
// machine: "kubernetes", "docker", "macos", "windows" or "linux", or "" when
// none applies (then leave the field out). See DetectPlatform.
func Platform() string {
	return DetectPlatform(runtime.GOOS, os.LookupEnv, func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// DetectPlatform is Platform with its inputs given: goos as runtime.GOOS,
// lookupEnv as os.LookupEnv and exists reporting whether a file exists; a nil
// function finds nothing. A non-empty KUBERNETES_SERVICE_HOST means
// "kubernetes", else a file /.dockerenv means "docker", else goos decides.
func DetectPlatform(goos string, lookupEnv func(key string) (string, bool), exists func(path string) bool) string {
	if lookupEnv != nil {
		if v, ok := lookupEnv("KUBERNETES_SERVICE_HOST"); ok && v != "" {
			return wire.PlatformKubernetes
		}
	}
	if exists != nil && exists("/.dockerenv") {
		return wire.PlatformDocker
	}
	switch goos {
	case "darwin":
		return wire.PlatformMacOS
	case "windows":
		return wire.PlatformWindows
	case "linux":
		return wire.PlatformLinux
	}
	return ""
}
