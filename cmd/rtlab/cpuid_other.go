//go:build !amd64

package main

// cpuBrand is "" off amd64: go test names the CPU from /proc/cpuinfo there.
func cpuBrand() string { return "" }
