package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"huangong/store"
)

// backupCmd writes a consistent copy of a database the service may be
// serving at that moment (see store.Backup); it never migrates the file.
func backupCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("backup")
	out := fs.String("out", "", "备份文件 the backup file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("备份须指定 --out 文件 backup: --out FILE is needed")
	}
	if strings.Contains(*db, "://") {
		return usageErrorf("不是SQLite文件，PostgreSQL请用 pg_dump 备份 backup: %s is not a SQLite file; back up PostgreSQL with pg_dump (see the README)", *db)
	}
	if err := store.BackupFile(ctx, *db, *out); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已备份 backed up %s to %s (%d bytes)\n", *db, *out, info.Size())
	return nil
}

// restoreCmd puts a backup in place as the database: it checks the backup,
// copies it beside the target, migrates and verifies every village's
// ledger on the copy, and only then renames it over the target. A target
// that holds data, or has a WAL beside it (a server may be running on it,
// or stopped without a checkpoint), is refused unless --force: stop the
// service first. Even with --force a database a server is running on is
// refused: one holding the lock serve takes beside it (see lockDB), or
// whose scheduler lease is held and unexpired (a server without that lock,
// or one killed less than a lease ago). Restore holds the lock
// exclusively until the rename, so no server starts on the file meanwhile.
func restoreCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("restore")
	from := fs.String("from", "", "备份文件 the backup file to restore")
	force := fs.Bool("force", false, "覆盖已有数据库 replace a database that holds data (stop the service first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return usageErrorf("恢复须指定 --from 备份文件 restore: --from FILE is needed")
	}
	target := *db
	if !plainPath(target) {
		return usageErrorf("数据库须为文件路径 restore: --db must be a plain file path, not %q", target)
	}
	unlock, err := lockDB(target, true)
	if errors.Is(err, errDBLocked) {
		return fmt.Errorf("数据库正在被运行中的服务使用，请先停止 huangong serve 再恢复 %s is open in a running huangong serve; stop the service, then restore", target)
	} else if err != nil {
		return err
	}
	defer unlock()
	lease, err := store.FileLease(ctx, target)
	if err != nil {
		return err
	}
	if now := time.Now(); lease != nil && lease.ExpiresAt.After(now) {
		until := lease.ExpiresAt.Local().Format("2006-01-02 15:04:05")
		return fmt.Errorf("调度租约由 %s 持有，到 %s 为止：服务可能正在运行，请先停止服务（如服务已被强行终止，请等到 %s 之后）再恢复 "+
			"the scheduler lease of %s is held by %s until %s: a server is running on it; stop the service (or, if it was killed, wait until then), then restore",
			lease.Holder, until, until, target, lease.Holder, until)
	}
	if !*force {
		for _, p := range []string{target, target + "-wal"} {
			if info, err := os.Stat(p); err == nil && info.Size() > 0 {
				return usageErrorf("数据库已有数据，请先停止服务，再加 --force 覆盖 restore: %s holds data (a live or used database); stop the service and add --force to replace it", p)
			}
		}
	}
	if err := store.CheckBackup(ctx, *from); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".restoring")
	removeDB(tmp)
	if err := copyFile(*from, tmp); err != nil {
		removeDB(tmp)
		return err
	}
	st, err := store.Open(ctx, tmp) // applies the migrations newer than the backup
	if err != nil {
		removeDB(tmp)
		return err
	}
	err = verifyLedger(ctx, st, 0, stdout)
	if cerr := st.Close(); err == nil {
		err = cerr // a clean close checkpoints the WAL into the file
	}
	if err != nil {
		removeDB(tmp)
		return fmt.Errorf("备份的账目不平，未做替换 restore: the backup's ledger does not verify; nothing replaced: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(target + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已恢复 restored %s from %s\n", target, *from)
	return nil
}

// errDBLocked: another process holds the database's lock the other way.
var errDBLocked = errors.New("数据库已被锁定 database locked")

// plainPath reports whether db names a SQLite file by its path (not a
// DSN, a URL or an in-memory database): the databases lockDB guards.
func plainPath(db string) bool {
	return db != "" && !strings.HasPrefix(db, "file:") && !strings.Contains(db, "://") && !strings.HasPrefix(db, ":memory:")
}

// copyFile copies src to dst (created), flushed to disk.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeDB removes a database file and its WAL and shared-memory files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
