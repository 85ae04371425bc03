//go:build race

package channels

// Under -race the Plain litmus variant (a data race on purpose, see
// litmus_plain.go) is not compiled.

const plainBuilt = false

func plainVariant(LitmusTest) (variant, bool) { return variant{}, false }
