package migrate

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestZZDebugPlans(t *testing.T) {
	for _, src := range []Source{&Keygen{Dir: "testdata/keygen"}, &Cryptlex{LicensesCSV: "testdata/cryptlex/licenses.csv", ProductsJSON: "testdata/cryptlex/products.json"}} {
		p, err := NewPlan(context.Background(), src, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.WriteText(os.Stdout)
	}
}

func TestZZDebugApply(t *testing.T) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	defer srv.Close()
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithAPIKey(srv.TestAPIKey()))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{&Keygen{Dir: "testdata/keygen"}, &Cryptlex{LicensesCSV: "testdata/cryptlex/licenses.csv", ProductsJSON: "testdata/cryptlex/products.json"}} {
		p, err := NewPlan(context.Background(), src, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		j, err := OpenJournal(t.TempDir() + "/j")
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(context.Background(), c, p, j, WithRetry(3, time.Millisecond, time.Millisecond))
		t.Log(err)
		res.WriteText(os.Stdout)
	}
}
