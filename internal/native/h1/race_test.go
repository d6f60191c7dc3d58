//go:build race

package h1

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// what relies on a pool to allocate nothing cannot be counted.
const raceEnabled = true
