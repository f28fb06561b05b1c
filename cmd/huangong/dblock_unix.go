//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDB takes an advisory lock on the sidecar file path+".lock": shared
// for serve (several instances may serve one database), exclusive for
// restore, which must be alone on the file. It never waits: a lock held
// the other way is errDBLocked. unlock releases it. The lock goes with
// the process, so a killed server leaves nothing to clean up.
func lockDB(path string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("锁文件 lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errDBLocked
		}
		return nil, fmt.Errorf("锁文件 lock file %s.lock: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
