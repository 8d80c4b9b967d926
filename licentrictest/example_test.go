package licentrictest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/licentric/licentric-go/licentrictest"
)

// A test seeds a license, then talks to the server over HTTP as the SDK
// would; the clock moves only when the test says so.
func Example() {
	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{
		Policy: licentrictest.PolicyRequest{RequireFingerprint: new(bool)},
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
