package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// hAnalytics is GET /analytics (docs-facts §2.7), computed on every call.
func hAnalytics(c *call) (int, any, *apiError) {
	var a wire.Analytics
	for _, l := range c.st.licenses {
		if l.env != c.env || l.deleted() {
			continue
		}
		a.Licenses.Total++
		switch reportedStatus(l, c.now) {
		case wire.StatusActive:
			a.Licenses.Active++
		case wire.StatusExpired:
			a.Licenses.Expired++
		case wire.StatusSuspended:
			a.Licenses.Suspended++
		case wire.StatusRevoked:
			a.Licenses.Revoked++
		case wire.StatusBanned:
			a.Licenses.Banned++
		}
	}
	a.Licenses.Billable = a.Licenses.Total - a.Licenses.Expired
	today := c.now.UTC().Truncate(24 * time.Hour)
	counts := map[string]int{}
	for _, m := range c.st.machines {
		if m.env != c.env {
			continue
		}
		counts[m.createdAt.UTC().Format(time.DateOnly)]++
		if m.deleted() {
			continue
		}
		a.Machines.Total++
		if c.st.machineView(m, c.now).Status == wire.MachineDead {
			a.Machines.Dead++
		} else {
			a.Machines.Active++
		}
	}
	a.Activations.Trend = []wire.AnalyticsDay{}
	for i := 6; i >= 0; i-- {
		d := today.AddDate(0, 0, -i).Format(time.DateOnly)
		a.Activations.Trend = append(a.Activations.Trend, wire.AnalyticsDay{Date: d, Count: counts[d]})
	}
	v := c.st.validations[c.env]
	a.Validations.Total, a.Validations.Successful, a.Validations.Failed = v.total, v.ok, v.failed
	return http.StatusOK, wire.Data[wire.Analytics]{Data: a}, nil
}
