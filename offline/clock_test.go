package offline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/clocktest"
)

// TestWithClock: Verify reads the clock.Clock it is given, and the
// deprecated WithClock still works through clock.Func.
func TestWithClock(t *testing.T) {
	cert := validFile(t, nil)
	c := clocktest.New(now)
	v := newTestVerifier(t, WithClock(c))
	_, err := v.Verify(cert)
	require.NoError(t, err)
	c.Advance(14 * 24 * time.Hour)
	_, err = v.Verify(cert)
	require.ErrorIs(t, err, ErrFileExpired)

	// The deprecated form, and clock.Func, read the same time.
	late := issued.Add(15 * 24 * time.Hour)
	for _, opt := range []Option{WithClock(clock.Func(fixedClock(late)))} {
		_, err = newTestVerifier(t, opt).Verify(cert)
		require.ErrorIs(t, err, ErrFileExpired)
	}

	_, err = NewVerifier(WithPublicKey(testSigner(t, testSeed).PublicKey()), WithClock(nil))
	require.Error(t, err)
}
