package migrate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files for %s", pattern)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

var fuzzProducts = []byte(`[{"id":"cp-desktop","name":"desktop-app","displayName":"Desktop App",
 "licenseTemplate":{"allowedActivations":2,"validity":86400,"type":"node-locked"}},{"id":"cp-cloud","name":"cloud"}]`)

// FuzzCryptlexCSV: any licenses CSV is read without a panic; every license
// the plan accepts has a key and metadata Licentric takes, and the reports
// can be written.
func FuzzCryptlexCSV(f *testing.F) {
	seedFiles(f, filepath.Join("testdata", "cryptlex", "*.csv"))
	f.Add([]byte("key,productId,type\r\nK-1,cp-desktop,node-locked\r\n"))
	f.Add([]byte("\ufeff\"key\",\"productId\"\n\"a,\nb\",cp-desktop\n"))
	f.Add([]byte("key,expiresAt,revoked\nK,2026-01-15T12:00:00.1234567Z,TRUE\nK,x,maybe\n"))
	f.Add([]byte("key\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBuilder(SystemCryptlex, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil)
		cx := newCryptlexReader(b)
		if err := cx.readProducts("products.json", fuzzProducts); err != nil {
			t.Fatal(err)
		}
		if err := cx.readLicenses(context.Background(), "licenses.csv", &capReader{r: bytes.NewReader(data), limits: b.limits}); err != nil {
			return
		}
		cx.finish()
		b.finish()
		checkPlanInvariants(t, b.plan)
	})
}

// FuzzCryptlexProducts: any products JSON is read without a panic.
func FuzzCryptlexProducts(f *testing.F) {
	seedFiles(f, filepath.Join("testdata", "cryptlex", "*.json"))
	f.Add([]byte(`{"data":[{"id":1,"name":null,"metadata":"x","licenseTemplate":[]}]}`))
	f.Add([]byte(`{"id":"p","trialPolicy":{"trialLength":"9999999999999"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBuilder(SystemCryptlex, time.Now(), nil)
		cx := newCryptlexReader(b)
		if err := cx.readProducts("products.json", data); err != nil {
			return
		}
		csv := "key,productId,type,allowedActivations\nK-1,p,node-locked,1\n"
		for _, p := range cx.order {
			csv += "K-" + p.rec.SourceID + "," + p.rec.SourceID + ",hosted-floating,-1\n"
		}
		_ = cx.readLicenses(context.Background(), "licenses.csv", bytes.NewReader([]byte(csv)))
		cx.finish()
		b.finish()
		checkPlanInvariants(t, b.plan)
	})
}

// FuzzKeygenPage: any JSON:API page is parsed and mapped without a panic.
func FuzzKeygenPage(f *testing.F) {
	seedFiles(f, filepath.Join("testdata", "keygen", "*.json"))
	seedFiles(f, filepath.Join("testdata", "keygen", "*", "*.json"))
	f.Add([]byte(`{"data":{"id":"x","type":"licenses","attributes":{"key":"k","expiry":7},"relationships":{"policy":{"data":[]}}}}`))
	f.Add([]byte(`{"data":[null]}`))
	f.Add([]byte(`{"data":[{"type":"machines","attributes":{"fingerprint":"12345678","cores":1e300}}],"links":{"self":{"href":"/v1/accounts/a/licenses/%zz/entitlements"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := parseKeygenPage(data)
		if err != nil {
			return
		}
		kg := newKeygenData(nil)
		if err := kg.add(page, "page.json", "", ""); err != nil {
			return
		}
		b := newBuilder(SystemKeygen, time.Now(), nil)
		kg.mapAll(b, &Keygen{})
		b.finish()
		checkPlanInvariants(t, b.plan)
	})
}

// FuzzJournal: any journal file is loaded or refused without a panic.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"journal":"licentric-import","v":1,"system":"keygen"}` + "\n" + `{"k":"license","s":"a","id":"lic_1","st":"done"}` + "\n{\"k\""))
	f.Add([]byte("garbage\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		j := &Journal{entries: map[journalKey]JournalEntry{}}
		keep, err := j.load(data)
		if err == nil && (keep > len(data) || keep < 0) {
			t.Fatalf("keep %d of %d", keep, len(data))
		}
	})
}

func checkPlanInvariants(t *testing.T, p *Plan) {
	t.Helper()
	for _, l := range p.Licenses {
		if !l.Accepted() {
			continue
		}
		if code, _ := checkKey(string(l.Key)); code != "" {
			t.Fatalf("accepted license %q has a key Licentric refuses: %s", l.SourceID, code)
		}
		if metadataSize(l.Metadata) > MaxMetadataBytes {
			t.Fatalf("accepted license %q has metadata over the limit", l.SourceID)
		}
	}
	var buf bytes.Buffer
	if err := p.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSONLines(&buf); err != nil {
		t.Fatal(err)
	}
}
