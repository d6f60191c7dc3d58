package api

// List publishes each element of in with publish, in order. nil stays nil, so a list the master
// has not got is null in JSON, not [].
func List[T, U any](in []T, publish func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = publish(v)
	}
	return out
}
