package gc

import (
	"testing"

	"go.uber.org/goleak"
)

// The Sampler, Meter and Churner start goroutines; none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
