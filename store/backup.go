package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

// Backup writes a consistent copy of the whole database to path while the
// service keeps serving. SQLite's VACUUM INTO reads the database in one
// read transaction, so the copy holds every transaction committed before
// it began, whole, and none that committed after; writers go on meanwhile
// (WAL). The copy is one self-contained file, compacted, with no WAL
// beside it. It is written to a temporary file next to path, flushed to
// disk (VACUUM INTO does not fsync) and renamed into place, so a crash
// never leaves a half-written backup under the final name. An existing
// path is refused. A Postgres database is backed up with pg_dump instead.
func (s *Store) Backup(ctx context.Context, path string) error {
	if name := s.db.Dialect().Name(); name != dialect.SQLite {
		return Errorf(EINVALID, "%s 数据库请用 pg_dump 备份 back up a %s database with pg_dump", name, name)
	}
	if _, err := os.Lstat(path); err == nil {
		return Errorf(ECONFLICT, "备份文件已存在 %s already exists; choose a new name", path)
	}
	tmp := path + ".partial"
	_ = os.Remove(tmp) // an earlier attempt's leftover
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: vacuum into %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

// BackupFile backs up the SQLite database at path (see Store.Backup)
// without opening it as a store: no migration runs, so a newer binary
// taking the nightly copy never changes the schema under the server that
// is running on the file.
func BackupFile(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer sqldb.Close()
	s := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), Now: time.Now}
	return s.Backup(ctx, out)
}

// CheckBackup opens a backup file read-only and runs SQLite's integrity
// check on it: a copy taken with cp from a live database may be corrupt.
func CheckBackup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=ro")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&result); err != nil {
		return fmt.Errorf("backup: %s is not a readable SQLite database: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("backup: %s is corrupt: %s", path, result)
	}
	var migrated int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migrations").Scan(&migrated); err != nil || migrated == 0 {
		return fmt.Errorf("backup: %s is not a huangong database (no migrations recorded)", path)
	}
	return nil
}

// syncFile flushes a file or a directory's entries to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
