package native

import (
	"github.com/stampede-load/stampede/scenario"
)

// apportion divides users over weights by largest remainder, as the master splits a fleet's users
// over classes (scenario.Apportion). With no positive weight the users are spread evenly.
func apportion(users int64, weights []int64) []int64 {
	if out := scenario.Apportion(users, weights); out != nil || len(weights) == 0 {
		if out == nil {
			out = []int64{}
		}
		return out
	}
	even := make([]int64, len(weights))
	for i := range even {
		even[i] = 1
	}
	return scenario.Apportion(users, even)
}
