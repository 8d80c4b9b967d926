// Command migrate shows a Keygen migration end to end with package
// migrate: it reads a directory of saved Keygen list responses
// (keygen-export/), prints the dry run's report, imports the plan with a
// journal, checks that the migrated keys validate (byte for byte, with
// their status), and runs the import again to show that a re-run creates
// nothing.
//
// By default it runs against an in-process licentrictest server, so it
// needs no account:
//
//	go run ./examples/migrate
//
// To run it against a real instance (it creates real data: use an lk_test_
// key), set LICENTRIC_BASE_URL and LICENTRIC_API_KEY. The same migration
// from the command line is:
//
//	licentric import keygen --from examples/migrate/keygen-export --dry-run
//	licentric import keygen --from examples/migrate/keygen-export --journal keygen.journal
//
// It exits non-zero on any unexpected result.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/migrate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

// exportDir is the Keygen export next to this file.
func exportDir() string {
	if _, err := os.Stat("keygen-export"); err == nil {
		return "keygen-export"
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		return filepath.Join(filepath.Dir(file), "keygen-export")
	}
	return filepath.Join("examples", "migrate", "keygen-export")
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, closeFn, err := newClient()
	if err != nil {
		return err
	}
	defer closeFn()

	tmp, err := os.MkdirTemp("", "migrate-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	journalPath := filepath.Join(tmp, "keygen.journal")
	source := &migrate.Keygen{Dir: exportDir()}

	// 1. The dry run: read everything, map it, check it against the target.
	// Nothing is written.
	journal, err := migrate.OpenJournal(journalPath)
	if err != nil {
		return err
	}
	plan, err := migrate.NewPlan(ctx, source, client, &migrate.PlanOptions{Journal: journal})
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if err := plan.WriteText(os.Stdout); err != nil {
		return err
	}
	if plan.Rejected() != 0 {
		return fmt.Errorf("the example export has %d rejected records", plan.Rejected())
	}

	// 2. The import, journaled record by record.
	fmt.Println("\nImporting...")
	res, err := migrate.Apply(ctx, client, plan, journal, migrate.WithProgress(func(p migrate.Progress) {
		fmt.Printf("  %2d/%d  %s\n", p.Done, p.Total, p.Kind)
	}))
	if cerr := journal.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := res.WriteText(os.Stdout); err != nil {
		return err
	}
	if res.Failed() != 0 {
		return fmt.Errorf("%d records failed", res.Failed())
	}

	// 3. The customers' keys work as they are, statuses included. Machines
	// keep their fingerprints: an application that passes the app ID it
	// gave keygen-go's machineid.ProtectedID to licentric.WithAppID computes
	// the same fingerprint, so migrated machines stay bound.
	const fp = "3f6c1e9a0b4d4e27a8f15c2d9e7b6a10c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9"
	for _, want := range []struct {
		key, fingerprint string
		code             licentric.Code
	}{
		{"ACME-7F3K-Q2PX-88LM-ZR4T-V3", fp, licentric.CodeValid},
		{signedKey, "", licentric.CodeValid},
		{"ACME-LAPSED-0003", "", licentric.CodeSuspended},
	} {
		var opts []licentric.ValidateOption
		if want.fingerprint != "" {
			opts = append(opts, licentric.WithFingerprint(want.fingerprint))
		}
		v, err := client.Validate(ctx, want.key, opts...)
		if err != nil {
			return fmt.Errorf("validate a migrated key: %w", err)
		}
		if v.Code != want.code {
			return fmt.Errorf("migrated key %.12s… validates as %s, want %s", want.key, v.Code, want.code)
		}
		fmt.Printf("migrated key %.12s… validates: %s\n", want.key, v.Code)
	}

	// 4. Running the import again (after a crash, or just to be sure)
	// finds everything in the journal and creates nothing.
	journal, err = migrate.OpenJournal(journalPath)
	if err != nil {
		return err
	}
	defer journal.Close()
	again, err := migrate.NewPlan(ctx, source, client, &migrate.PlanOptions{Journal: journal})
	if err != nil {
		return err
	}
	res, err = migrate.Apply(ctx, client, again, journal)
	if err != nil {
		return err
	}
	created := 0
	for _, k := range migrate.Kinds {
		created += res.Counts(k).Created
	}
	if again.ToImport() != 0 || created != 0 {
		return errors.New("the second run created records")
	}
	fmt.Println("second run: nothing left to import")
	return nil
}

// signedKey is the Keygen signed key (key/<payload>.<signature>) of the
// export's second license.
const signedKey = "key/eyJhY2NvdW50Ijp7ImlkIjoiZXhhbXBsZS1hY2N0In0sImxpY2Vuc2UiOnsiaWQiOiI0YTFkMmMzZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAxMDIiLCJleHBpcnkiOiIyMDMwLTA1LTAxVDA4OjAwOjAwLjAwMFoifSwidXNlciI6eyJlbWFpbCI6ImFsYW5AZXhhbXBsZS5jb20ifX0.dGhpcy1pcy1hbi1leGFtcGxlLXNpZ25hdHVyZS1vZi02NC1ieXRlcy1zby1pdC1sb29rcy1yZWFsLWVub3VnaA"

// newClient returns a client for LICENTRIC_BASE_URL and LICENTRIC_API_KEY,
// or for a fresh in-process server when they are not set.
func newClient() (*licentric.Client, func(), error) {
	if base, key := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY"); base != "" && key != "" {
		c, err := licentric.NewClient(licentric.WithBaseURL(base), licentric.WithAPIKey(key))
		return c, func() {}, err
	}
	srv := licentrictest.NewServer()
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithAPIKey(srv.TestAPIKey()))
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	fmt.Printf("using an in-process Licentric server at %s\n\n", srv.URL)
	return c, srv.Close, nil
}
