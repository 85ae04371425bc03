//go:build race

package channels

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

const raceEnabled = true

func TestLitmusPlainNotBuilt(t *testing.T) {
	assert.NotContains(t, Syncs(), SyncPlain)
	_, err := Litmus(context.Background(), LitmusConfig{Sync: SyncPlain, Trials: 1})
	assert.ErrorContains(t, err, "not built with -race")
}
