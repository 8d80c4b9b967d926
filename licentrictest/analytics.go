package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

type analytics struct {
	Licenses struct {
		Total     int `json:"total"`
		Active    int `json:"active"`
		Expired   int `json:"expired"`
		Suspended int `json:"suspended"`
		Revoked   int `json:"revoked"`
		Banned    int `json:"banned"`
		// Billable counts toward plan limits: every license not deleted
		// and not expired (contract §12: billable = total - expired).
		Billable int `json:"billable"`
	} `json:"licenses"`
	Machines struct {
		Total  int `json:"total"`
		Active int `json:"active"`
		Dead   int `json:"dead"`
	} `json:"machines"`
	Activations struct {
		Trend []trendPoint `json:"trend"`
	} `json:"activations"`
	Validations struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Failed     int `json:"failed"`
	} `json:"validations"`
}

type trendPoint struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

// hAnalytics is GET /analytics (docs-facts §2.7), computed on every call.
func hAnalytics(c *call) (int, any, *apiError) {
	var a analytics
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
	a.Activations.Trend = []trendPoint{}
	for i := 6; i >= 0; i-- {
		d := today.AddDate(0, 0, -i).Format(time.DateOnly)
		a.Activations.Trend = append(a.Activations.Trend, trendPoint{Date: d, Count: counts[d]})
	}
	v := c.st.validations[c.env]
	a.Validations.Total, a.Validations.Successful, a.Validations.Failed = v.total, v.ok, v.failed
	return http.StatusOK, wire.Data[analytics]{Data: a}, nil
}
