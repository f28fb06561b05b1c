//go:build !unix

package main

// lockDB is a no-op where flock is missing; restore still refuses a
// database whose scheduler lease is held (see restoreCmd).
func lockDB(path string, exclusive bool) (unlock func(), err error) { return func() {}, nil }
