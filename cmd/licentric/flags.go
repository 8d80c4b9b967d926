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

// options holds every flag; each command registers the ones it takes.
type options struct {
	appID, stateDir string
	fingerprint     string
	anyMachine      bool
	keys            keyList
	entitlements    stringList
	env             string
	licenseID, out  string
	ttl             ttlValue
	baseURL         string
	apiKey          string
	licenseKey      string
	timeout         time.Duration
}

// newFlags registers command name's flags on fs.
func newFlags(fs *flag.FlagSet, name string) *options {
	o := &options{ttl: ttlValue(14 * 24 * time.Hour)}
	machineFlags := func(any bool) {
		fs.StringVar(&o.fingerprint, "fingerprint", "", "the machine's fingerprint `FP`, as 'licentric fingerprint' prints it there")
		fs.StringVar(&o.appID, "app-id", "", "compute this machine's fingerprint for the application `ID`")
		fs.StringVar(&o.stateDir, "state-dir", "", "with --app-id: keep a random machine ID in `DIR` when the OS has none")
		if any {
			fs.BoolVar(&o.anyMachine, "any-machine", false, "accept a file bound to any machine (inspection only)")
		}
	}
	keyFlag := func() {
		fs.Var(&o.keys, "public-key", "the vendor's public key `KEY` (base64, hex, PEM, or @file); repeat during a key rotation")
	}
	switch name {
	case "fingerprint":
		fs.StringVar(&o.appID, "app-id", "", "the application `ID` (required; the one the application itself uses)")
		fs.StringVar(&o.stateDir, "state-dir", "", "keep a random machine ID in `DIR` when the OS has none")
	case "verify":
		keyFlag()
		machineFlags(true)
		fs.Var(&o.entitlements, "entitlement", "require entitlement `CODE`; may be repeated")
		fs.StringVar(&o.env, "env", "live", "the `ENV` the file must come from: live or test")
	case "checkout":
		fs.StringVar(&o.licenseID, "license-id", "", "the license's `ID` (required)")
		keyFlag()
		machineFlags(false)
		fs.Var(&o.ttl, "ttl", "the file's lifetime `TTL`, 1h to 90 days (e.g. 336h or 14d)")
		fs.StringVar(&o.out, "out", "license.lic", "write the license file to `PATH`")
		fs.StringVar(&o.env, "env", "", "the `ENV` the file must come from: live or test (default: the API key's, else live)")
		fs.StringVar(&o.baseURL, "base-url", "", "the service's `URL` (default $LICENTRIC_BASE_URL, else https://licentric.com)")
		fs.StringVar(&o.apiKey, "api-key", "", "the API key `KEY` (default $LICENTRIC_API_KEY; prefer the variable)")
		fs.StringVar(&o.licenseKey, "license-key", "", "authenticate with the license's own `KEY` instead of an API key (default $LICENTRIC_LICENSE_KEY)")
		fs.DurationVar(&o.timeout, "timeout", time.Minute, "give up on the service after this `duration`")
	}
	return o
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
		return errors.New("not an Ed25519 public key (base64, 64 hex digits, PEM, or @file)")
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
