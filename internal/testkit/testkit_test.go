package testkit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	licentric "github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestClientSeesTestLicensesOnTheServersClock(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	srv := licentrictest.NewServer(licentrictest.WithFrozenClock(start))
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvTest, Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)

	v, err := testkit.Client(t, srv).Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeValid, v.Code)

	v, err = testkit.AppClient(t, srv, "app-fingerprint-0123456789").Validate(t.Context(), fx.License.Key)
	require.NoError(t, err)
	assert.Equal(t, licentric.CodeNotFound, v.Code, "an application client has no API key: test licenses are hidden")
}

func TestAppClientActivatesItsFingerprint(t *testing.T) {
	srv := licentrictest.NewServer()
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	require.NoError(t, err)
	const fp = "app-fingerprint-0123456789"
	m, err := testkit.AppClient(t, srv, fp).Activate(t.Context(), fx.License.Key, licentric.ActivateParams{})
	require.NoError(t, err)
	assert.Equal(t, fp, m.Fingerprint)

	_, err = testkit.AppClient(t, srv, "").Activate(t.Context(), fx.License.Key, licentric.ActivateParams{})
	assert.ErrorIs(t, err, licentric.ErrNoFingerprinter, "AppClient with no fingerprint has no fingerprinter")
}

func TestRetriesCountsAttempts(t *testing.T) {
	srv := licentrictest.NewServer()
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvTest, Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 2} {
		srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Status: http.StatusServiceUnavailable, Times: 10})
		before := srv.CountRequests(http.MethodPost, wire.PathValidateKey)
		_, _ = testkit.WallClient(t, srv, licentric.WithRetry(testkit.Retries(n)), licentric.WithoutValidationCache()).Validate(t.Context(), fx.License.Key)
		assert.Equal(t, n+1, srv.CountRequests(http.MethodPost, wire.PathValidateKey)-before, "Retries(%d)", n)
		srv.ClearFaults()
	}
	assert.Equal(t, 3, testkit.FastRetry.MaxRetries)
	assert.Equal(t, 0, testkit.NoRetry.MaxRetries)
}
