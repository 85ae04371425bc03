//go:build race

package channels

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const raceEnabled = true

func TestLitmusPlainNotBuilt(t *testing.T) {
	assert.NotContains(t, Syncs(), Plain)
	_, err := RunLitmus(SB, Plain, 1)
	assert.ErrorContains(t, err, "not built with -race")
}
