package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMsSince checks the reactor's 32-bit millisecond clock: spans across
// the wrap, and a stamp taken after the sweep read its clock, which must
// read as not elapsed. Before the fix it read as 49 days, and the sweep
// killed a connection whose message was still arriving (TestLoadEcho under
// load: "1 lost ... reset=1").
func TestMsSince(t *testing.T) {
	now := time.UnixMilli(1<<40 + 123)
	assert.Equal(t, 5*time.Second, msSince(msStamp(now.Add(-5*time.Second)), now))
	wrap := time.UnixMilli(1 << 32) // uint32 of its ms is 0
	assert.Equal(t, 3*time.Millisecond, msSince(msStamp(wrap.Add(-2*time.Millisecond)), wrap.Add(time.Millisecond)))
	later := msStamp(now.Add(7 * time.Millisecond))
	assert.Equal(t, -7*time.Millisecond, msSince(later, now))
	assert.Less(t, msSince(later, now), DefaultReadTimeout)
}
