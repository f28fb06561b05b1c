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
		return fmt.Errorf("备份失败 backup: vacuum into %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("备份失败 backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("备份失败 backup: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

// BackupFile backs up the SQLite database at path (see Store.Backup)
// without opening it as a store: no migration runs, so a newer binary
// taking the nightly copy never changes the schema under the server that
// is running on the file.
func BackupFile(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("找不到数据库 backup: %w", err)
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return fmt.Errorf("打不开数据库 backup: open %s: %w", path, err)
	}
	defer sqldb.Close()
	s := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), Now: time.Now}
	return s.Backup(ctx, out)
}

// CheckBackup opens a backup file read-only and runs SQLite's integrity
// check on it: a copy taken with cp from a live database may be corrupt.
func CheckBackup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("找不到备份文件 backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=ro")
	if err != nil {
		return fmt.Errorf("打不开备份文件 backup: open %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&result); err != nil {
		return fmt.Errorf("备份文件无法读取，不是SQLite数据库 backup: %s is not a readable SQLite database: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("备份文件已损坏 backup: %s is corrupt: %s", path, result)
	}
	var migrated int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migrations").Scan(&migrated); err != nil || migrated == 0 {
		return fmt.Errorf("不是互助换工数据库 backup: %s is not a huangong database (no migrations recorded)", path)
	}
	return nil
}

// FileLease reads the scheduler lease of the SQLite database at path
// without migrating it: nil when the file does not exist, has no lease
// table (an older or empty database) or nobody holds the lease. Restore
// refuses a database whose lease is held and unexpired: a server is
// running on it, or was killed less than a lease ago.
func FileLease(ctx context.Context, path string) (*Lease, error) {
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		return nil, nil
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("打不开数据库 open %s: %w", path, err)
	}
	defer sqldb.Close()
	var tables int
	if err := sqldb.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'scheduler_lease'").Scan(&tables); err != nil {
		return nil, fmt.Errorf("数据库无法读取 %s is not a readable SQLite database: %w", path, err)
	}
	if tables == 0 {
		return nil, nil
	}
	s := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), Now: time.Now}
	return s.LeaseHolder(ctx)
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
