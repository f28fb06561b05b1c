package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
		return usageErrorf("backup: --out FILE is needed")
	}
	if strings.Contains(*db, "://") {
		return usageErrorf("backup: %s is not a SQLite file; back up PostgreSQL with pg_dump (see the README)", *db)
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
// service first.
func restoreCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("restore")
	from := fs.String("from", "", "备份文件 the backup file to restore")
	force := fs.Bool("force", false, "覆盖已有数据库 replace a database that holds data (stop the service first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return usageErrorf("restore: --from FILE is needed")
	}
	target := *db
	if strings.HasPrefix(target, "file:") || strings.Contains(target, "://") {
		return usageErrorf("restore: --db must be a plain file path, not %q", target)
	}
	if !*force {
		for _, p := range []string{target, target + "-wal"} {
			if info, err := os.Stat(p); err == nil && info.Size() > 0 {
				return usageErrorf("restore: %s holds data (a live or used database); stop the service and add --force to replace it", p)
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
		return fmt.Errorf("restore: the backup's ledger does not verify; nothing replaced: %w", err)
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
