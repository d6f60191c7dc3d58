package scenario

import (
	"slices"
	"testing"
)

func TestApportion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		users   int64
		weights []int64
		want    []int64
	}{
		{4, []int64{3, 1}, []int64{3, 1}},
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}},            // a tie: the lower index first
		{7, []int64{0, 2}, []int64{0, 7}},                   // weight 0 gets none
		{5, []int64{2, 3}, []int64{2, 3}},                   // exact
		{1, []int64{3, 1}, []int64{1, 0}},                   // one user: the heaviest class
		{100, []int64{1, 2, 3, 4}, []int64{10, 20, 30, 40}}, // exact
		{11, []int64{5, 3, 2}, []int64{6, 3, 2}},            // quotas 5.5, 3.3, 2.2: the .5 wins
		{0, []int64{3, 1}, []int64{0, 0}},
		{3, []int64{0, 0}, nil},
		{3, nil, nil},
		{1 << 62, []int64{3, 1}, []int64{3 << 60, 1 << 60}}, // no overflow
	}
	for _, tt := range tests {
		if got := Apportion(tt.users, tt.weights); !slices.Equal(got, tt.want) {
			t.Errorf("Apportion(%d, %v) = %v, want %v", tt.users, tt.weights, got, tt.want)
		}
	}
}
