package stack

import (
	"testing"

	"go.uber.org/goleak"
)

// Every experiment starts goroutines (and children); none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
