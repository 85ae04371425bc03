package stack

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var sinkInt int

// TestClosureAllocs proves the escape analysis claims of closure.go.
func TestClosureAllocs(t *testing.T) {
	assert.Equal(t, 6, EscapingClosure(3))
	assert.Equal(t, 6, StackClosure(3))
	x := 1
	escaping := testing.AllocsPerRun(1000, func() { x++; sinkInt = EscapingClosure(x) })
	onStack := testing.AllocsPerRun(1000, func() { x++; sinkInt = StackClosure(x) })
	assert.Equal(t, 1.0, escaping, "a returned closure lives on the heap")
	assert.Equal(t, 0.0, onStack, "a closure that is only passed down stays on the stack")
}
