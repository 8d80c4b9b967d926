package licentrictest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/resource"
)

// A test seeds a license, then talks to the server over HTTP as the SDK
// would. The clock flows with real time and Advance moves it further.
func Example() {
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{
		Policy: licentrictest.PolicyRequest{RequireFingerprint: resource.Value(false)},
	})
	if err != nil {
		panic(err)
	}

	validate := func() string {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/licenses/validate-key",
			strings.NewReader(`{"key":"`+fx.License.Key+`"}`))
		req.Header.Set("Authorization", "Bearer "+srv.TestAPIKey())
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Valid bool   `json:"valid"`
				Code  string `json:"code"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return fmt.Sprintf("%d %v %s", resp.StatusCode, out.Data.Valid, out.Data.Code)
	}
	fmt.Println(validate())
	if _, err := srv.SetLicenseStatus(licentrictest.EnvTest, fx.License.ID, "suspend"); err != nil {
		panic(err)
	}
	fmt.Println(validate())
	srv.Advance(time.Hour)
	fmt.Println(srv.CountRequests("POST", "/licenses/validate-key"))
	// Output:
	// 200 true VALID
	// 200 false SUSPENDED
	// 2
}

// The in-memory transport serves requests without a socket; with
// WithInMemory the server opens none at all, which is what a test in a
// testing/synctest bubble needs (see TestSynctestBubble in this package's
// tests for the whole story: 14 days pass in milliseconds there).
func ExampleServer_Transport() {
	srv := licentrictest.NewServer(licentrictest.WithInMemory())
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{
		Policy: licentrictest.PolicyRequest{RequireFingerprint: resource.Value(false)},
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: srv.Transport()} // srv.Client() is the same here
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/licenses/validate-key",
		strings.NewReader(`{"key":"`+fx.License.Key+`"}`))
	req.Header.Set("Authorization", "Bearer "+srv.TestAPIKey())
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Code string `json:"code"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println(resp.StatusCode, out.Data.Code)
	// Output:
	// 200 VALID
}

// A seed file gives a standalone server (licentric serve --seed) fixed
// fixtures: licenses with known keys.
func ExampleServer_SeedJSON() {
	srv := licentrictest.NewServer(licentrictest.WithInMemory())
	defer srv.Close()
	err := srv.SeedJSON(strings.NewReader(`{
	  "products": [{
	    "name": "Desktop App", "code": "desktop", "keyPrefix": "DSK",
	    "policies": [{
	      "name": "Standard", "maxMachines": 3, "requireFingerprint": false,
	      "licenses": [{"key": "DSK-CI-0001"}, {"key": "DSK-CI-0002", "status": "suspended"}]
	    }]
	  }]
	}`))
	fmt.Println(err)
	for _, key := range []string{"DSK-CI-0001", "DSK-CI-0002"} {
		// The seed's environment is "test", so validate with a test key.
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/licenses/validate-key",
			strings.NewReader(`{"key":"`+key+`"}`))
		req.Header.Set("Authorization", "Bearer "+srv.TestAPIKey())
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		var out struct {
			Data struct {
				Code string `json:"code"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		fmt.Println(key, out.Data.Code)
	}
	// Output:
	// <nil>
	// DSK-CI-0001 VALID
	// DSK-CI-0002 SUSPENDED
}
