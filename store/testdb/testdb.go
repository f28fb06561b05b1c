// Package testdb names the database a test opens its store on: a fresh
// PostgreSQL database when HUANGONG_TEST_PG names a server, else a SQLite
// file in the test's temp dir. It imports nothing of the store, so the
// store's own internal tests use it too.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver the store opens PostgreSQL with
)

// PGEnv names the PostgreSQL server the tests run on: a postgres:// URL
// of a role that may CREATE DATABASE. Unset, every test runs on SQLite.
const PGEnv = "HUANGONG_TEST_PG"

var (
	pgAdmin     *sql.DB
	pgAdminErr  error
	pgAdminOnce sync.Once
	skippedOnce sync.Once
)

// Postgres reports whether the tests run on PostgreSQL (PGEnv is set).
func Postgres() bool { return os.Getenv(PGEnv) != "" }

// Database names a fresh, empty database for one test, for store.Open or
// the service's --db: with PGEnv set, a new PostgreSQL database
// hg_<random> on that server, dropped when the test ends; otherwise the
// SQLite file named file in tb's temp dir. Every test that opens a store
// through it runs on both databases, one per run of the suite.
func Database(tb testing.TB, file string) string {
	tb.Helper()
	admin := os.Getenv(PGEnv)
	if admin == "" {
		skippedOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "storetest: %s is not set: tests run on SQLite, the PostgreSQL runs are skipped\n", PGEnv)
		})
		return filepath.Join(tb.TempDir(), file)
	}
	return NewPGDatabase(tb, admin)
}

// NewPGDatabase creates a database on the server of the URL admin and
// returns its URL; the database is dropped (its connections ended) when
// tb ends.
func NewPGDatabase(tb testing.TB, admin string) string {
	tb.Helper()
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s: want a postgres:// URL, got %q", PGEnv, admin)
	}
	pgAdminOnce.Do(func() {
		pgAdmin, pgAdminErr = sql.Open("pgx", admin)
		if pgAdminErr == nil {
			pgAdmin.SetMaxOpenConns(2)
		}
	})
	if pgAdminErr != nil {
		tb.Fatalf("%s: %v", PGEnv, pgAdminErr)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "hg_" + hex.EncodeToString(b)
	if _, err := pgAdmin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := pgAdmin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Of names the database db has open as Database named it, for a child
// process to open the same one: the SQLite file's path, or the PostgreSQL
// database's URL on the PGEnv server.
func Of(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	ctx := context.Background()
	if !Postgres() {
		var path string
		if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
			tb.Fatalf("database file: %v", err)
		}
		return path
	}
	var name string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		tb.Fatalf("database name: %v", err)
	}
	u, err := url.Parse(os.Getenv(PGEnv))
	if err != nil {
		tb.Fatalf("%s: %v", PGEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
