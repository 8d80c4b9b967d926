package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/atomicfile"
	"github.com/licentric/licentric-go/offline"
)

// maxKeyFileSize caps a public-key file named with @path.
const maxKeyFileSize = 64 << 10

// machineFlags are the flags that name the machine a file is for.
type machineFlags struct {
	fingerprint, appID, stateDir string
	anyMachine                   bool
}

// register adds --fingerprint, --app-id, --state-dir and
// --any-machine when anyOK.
func (m *machineFlags) register(fs *flag.FlagSet, anyOK bool) {
	fs.StringVar(&m.fingerprint, "fingerprint", "", "the machine's fingerprint `FP`, as 'licentric fingerprint' prints it there")
	fs.StringVar(&m.appID, "app-id", "", "compute this machine's fingerprint for the application `ID`")
	fs.StringVar(&m.stateDir, "state-dir", "", "with --app-id: keep a random machine ID in `DIR` when the OS has none")
	if anyOK {
		fs.BoolVar(&m.anyMachine, "any-machine", false, "accept a file bound to any machine (inspection only)")
	}
}

// keyFlag registers --public-key on fs.
func keyFlag(fs *flag.FlagSet, keys *keyList) {
	fs.Var(keys, "public-key", "the vendor's public key `KEY` (base64, hex, PEM, or @file); repeat during a key rotation")
}

// keyList collects --public-key values, parsed as they come.
type keyList []ed25519.PublicKey

func (k *keyList) String() string { return "" }

func (k *keyList) Set(s string) error {
	text := s
	if path, ok := strings.CutPrefix(s, "@"); ok {
		b, err := atomicfile.ReadCapped(path, maxKeyFileSize)
		if err != nil {
			return fmt.Errorf("reading the key file: %w", err)
		}
		text = string(b)
	}
	pub, err := offline.ParsePublicKey(text)
	if err != nil {
		// The reason (not base64, a weak key, ...) without the package prefix.
		return fmt.Errorf("not an Ed25519 public key (base64, 64 hex digits, PEM, or @file): %s",
			strings.TrimPrefix(err.Error(), "offline: "))
	}
	*k = append(*k, pub)
	return nil
}

// stringList collects a repeated flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	*l = append(*l, s)
	return nil
}

// ttlValue is a duration that also takes whole days ("14d").
type ttlValue time.Duration

func (t *ttlValue) String() string {
	d := time.Duration(*t)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (t *ttlValue) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 366 {
			return errors.New("want a number of days such as 14d, or a duration such as 336h")
		}
		*t = ttlValue(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 336h, or a number of days such as 14d")
	}
	*t = ttlValue(d)
	return nil
}
