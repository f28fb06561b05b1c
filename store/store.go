// Package store owns the village's records and the rules that guard them:
// bun models over SQLite or PostgreSQL, embedded migrations, tokens and
// the audit log.
// Driver errors never leave this package; callers see *Error codes.
//
// Planning is not record-keeping, and this package does not import the
// planner: for a plan it offers the records a scope's plan is made from
// (PlanningRecords) and one transaction that saves a plan (SavePlan),
// which checks it against the records as they are then — requests to
// place, fixed jobs, team membership, days off, blocked days, dates — and
// writes the jobs, request states, transitions and digest notices.
// Building the planner's instance and turning its plan into a PlanSave is
// package scheduler's.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver (PostgreSQL)
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"huangong/store/migrations"
)

// Store is the records of every village in one database.
type Store struct {
	db    *bun.DB
	stmts ledgerStmts // the posting path's prepared statements
	// writer is held by the one goroutine of this process in a write
	// transaction (inTx). The others wait here, not on a pooled
	// connection: a write transaction that reads through the pool as well
	// (the notice's report) always finds a connection free, where 4
	// writers queued on the database's lock would otherwise hold the whole
	// pool and wait on it for ever.
	writer chan struct{}

	// Now is the clock; tests replace it so nothing sleeps.
	Now func() time.Time
}

// BusyTimeout is how long a connection waits for another writer.
const BusyTimeout = 5 * time.Second

// pragmas are set on every pooled connection through the DSN (the driver
// runs them on each new connection) and read back by CheckPragmas.
// busy_timeout comes first: switching a new file to WAL takes a lock, and
// a second process starting at the same moment must wait for it, not fail.
var pragmas = []struct{ name, set, want string }{
	{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()), fmt.Sprint(BusyTimeout.Milliseconds())},
	{"journal_mode", "WAL", "wal"},
	{"synchronous", "FULL", "2"},
	{"foreign_keys", "ON", "1"},
}

// DSN turns a database path into a modernc.org/sqlite DSN that sets the
// pragmas and makes every transaction BEGIN IMMEDIATE, so two writers never
// deadlock upgrading a read lock. A value that already is a "file:" DSN is
// kept and the missing settings are added.
func DSN(path string) string {
	base, query, _ := strings.Cut(path, "?")
	if !strings.HasPrefix(base, "file:") {
		// SQLite reads a file: URI's %XX escapes and cuts it at '#'; a
		// plain path means its characters literally.
		base = "file:" + escapePath(base)
	}
	q, _ := url.ParseQuery(query)
	for _, p := range pragmas {
		q.Add("_pragma", fmt.Sprintf("%s(%s)", p.name, p.set))
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return base + "?" + q.Encode()
}

// escapePath makes a plain path safe inside a file: URI: SQLite reads its
// %XX escapes and cuts it at '#' (and '?' starts the parameters).
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f").Replace(path)
}

// IsPostgres reports whether a database name is a PostgreSQL URL
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgres(name string) bool {
	return strings.HasPrefix(name, "postgres://") || strings.HasPrefix(name, "postgresql://")
}

// Open opens the database named: a PostgreSQL URL (postgres://… or
// postgresql://…), or else a SQLite file, created if needed, whose pragmas
// are checked on every connection. Either way it applies pending
// migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path)
	}
	if path == "" || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		// Each pooled connection to :memory: is a separate empty database;
		// tests that want isolation use a file in t.TempDir() instead.
		return nil, fmt.Errorf("store: %q: use a database file, not an in-memory database", path)
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// SQLite takes one writer at a time; a few readers beside it are plenty
	// for a village and keep the pragma check below cheap.
	sqldb.SetMaxOpenConns(4)
	sqldb.SetMaxIdleConns(4)
	s := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), Now: time.Now}
	if err := s.CheckPragmas(ctx, 4); err != nil {
		s.Close()
		return nil, err
	}
	return s.start(ctx)
}

// start migrates a just-opened store and prepares its statements.
func (s *Store) start(ctx context.Context) (*Store, error) {
	s.writer = make(chan struct{}, 1)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareLedger(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.closeLedger()
	return s.db.Close()
}

// DB exposes the bun handle to sibling packages' tests and to migrations.
func (s *Store) DB() *bun.DB { return s.db }

// CheckPragmas holds n connections open at once and reads every pragma
// back on each, refusing to go on if one did not take: the driver ignores
// DSN parameters it does not know, so a typo would pass silently otherwise.
func (s *Store) CheckPragmas(ctx context.Context, n int) error {
	conns := make([]bun.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: connection %d: %w", i, err)
		}
		conns = append(conns, c)
		for _, p := range pragmas {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
				return fmt.Errorf("store: read pragma %s: %w", p.name, err)
			}
			if strings.ToLower(got) != p.want {
				return fmt.Errorf("store: connection %d: pragma %s is %q, want %q", i, p.name, got, p.want)
			}
		}
	}
	return nil
}

// Migrate applies every pending migration, each in its own transaction,
// and marks it applied only once it succeeded, so a failed step is retried
// on the next start. bun's Lock does not guard Migrate and leaves a row
// behind after a crash, so it is not used: two processes migrating at once
// serialise on SQLite's write lock; the loser's step fails on "table
// exists" and it tries again once the winner has marked its steps applied.
func (s *Store) Migrate(ctx context.Context) error {
	m := migrate.NewMigrator(s.db, migrations.Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if s.Postgres() {
		// DDL is transactional on Postgres; a session lock puts a second
		// process behind the first instead of racing it.
		return s.pgMigrate(ctx, func(ctx context.Context) error {
			if err := m.Init(ctx); err != nil {
				return fmt.Errorf("store: migrate init: %w", err)
			}
			if _, err := m.Migrate(ctx); err != nil {
				return fmt.Errorf("store: migrate: %w", err)
			}
			return nil
		})
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			// Another process was migrating the same file; what it
			// finished is now marked applied, so the next pass skips it.
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = m.Init(ctx); err != nil {
			err = fmt.Errorf("store: migrate init: %w", err)
			continue
		}
		if _, err = m.Migrate(ctx); err != nil {
			err = fmt.Errorf("store: migrate: %w", err)
			continue
		}
		return nil
	}
	return err
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.db.Dialect().Name() == dialect.PG }

// inTx runs fn in one write transaction. On SQLite the transaction is
// BEGIN IMMEDIATE: one writer at a time, which the store's write paths
// rely on (a balance checked, then moved; the next ledger IDs). On
// PostgreSQL the transaction takes the store's write lock first (see
// lockWrites), and is run again from the start, a few times, when the
// server aborts it for a serialization failure or a deadlock. When ctx
// carries a request's unwritten audit line (WithAudit), the line is
// inserted after fn, in the same transaction: the change and its line
// commit together or not at all.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return ctx.Err()
	}
	pa := pendingAudit(ctx)
	body := fn
	if pa != nil {
		body = func(ctx context.Context, tx bun.Tx) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			pa.Entry.Outcome, pa.Entry.At = OutcomeOK, time.Time{}
			return s.insertAudit(ctx, tx, &pa.Entry)
		}
	}
	var err error
	if s.Postgres() {
		err = s.pgTx(ctx, body)
	} else {
		err = s.db.RunInTx(ctx, nil, body)
	}
	if pa != nil {
		pa.done(err == nil)
	}
	return err
}

// stamp is the time a record is written with, as the database keeps it
// (microseconds): the answer to the request that wrote it then reads the
// same as the stored row, so a replay is byte for byte the first answer.
func (s *Store) stamp() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }
