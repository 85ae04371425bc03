package load

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestIdle holds a few connections on the goroutine design, which keeps one
// goroutine per connection: at least one per connection over the baseline.
func TestIdle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r, err := Idle(context.Background(), IdleConfig{Server: goroutineChild, Conns: 20})
	require.NoError(t, err)
	assert.Equal(t, 20, r.Conns)
	assert.GreaterOrEqual(t, r.Goroutines, 1.0)
	assert.Contains(t, r.String(), "20 idle connections")
}

func TestIdleErrors(t *testing.T) {
	_, err := Idle(context.Background(), IdleConfig{})
	assert.ErrorContains(t, err, "wsconn/load: IdleConfig.Server is zero")
	_, err = Idle(context.Background(), IdleConfig{Server: goroutineChild, Conns: -1})
	assert.ErrorContains(t, err, "wsconn/load: IdleConfig.Conns -1 must be > 0")
}
