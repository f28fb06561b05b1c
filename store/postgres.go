package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// PostgreSQL beside SQLite. The driver is pgx through its database/sql
// adapter (pgx/v5/stdlib): bun's pgdriver is in maintenance mode and its
// authors point to pgx, which is the maintained Go driver, speaks the
// extended protocol with server-side prepared statements (the posting
// path's statements are prepared once per connection, as on SQLite), and
// reports a server error as *pgconn.PgError with its SQLSTATE, which
// translate maps to the store's codes.

// Advisory lock keys (pg_advisory_lock's bigint space is the database's
// own; these two are this service's).
const (
	pgWriteLock   = 0x68676e77 // "hgnw": one write transaction at a time
	pgMigrateLock = 0x68676e6d // "hgnm": one migrating process at a time
)

// pgRetries is how many times a write transaction runs again after the
// server aborted it for a serialization failure (40001) or a deadlock
// (40P01).
const pgRetries = 5

// openPostgres opens the PostgreSQL database at the URL dsn.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redactDSN(dsn), err)
	}
	// Postgres serves many connections; the write lock keeps writers in
	// line, and readers (pages, streams, exports) take the rest.
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(16)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: bun.NewDB(sqldb, pgdialect.New()), Now: time.Now}
	if err := sqldb.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", redactDSN(dsn), err)
	}
	return s.start(ctx)
}

// redactDSN drops a URL's password before it goes into an error message.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres database"
	}
	return u.Redacted()
}

// pgMigrate runs migrate holding a session advisory lock, so two
// instances starting on one database at once migrate it one after the
// other: the second finds every step applied.
func (s *Store) pgMigrate(ctx context.Context, migrate func(context.Context) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", pgMigrateLock); err != nil {
		return fmt.Errorf("store: migrate lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", pgMigrateLock)
	return migrate(ctx)
}

// pgTx runs fn in a READ COMMITTED transaction that first takes the
// store's transaction-scoped write lock. The store's write paths were
// made for SQLite's single writer: they read (a balance, a job's state,
// the next ledger IDs), decide and write. Holding one lock for the
// transaction keeps that true across every instance on the database, and
// under READ COMMITTED each statement after the lock sees every write
// committed before it. Plain reads take no lock and never wait for it.
func (s *Store) pgTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	var err error
	for attempt := 0; attempt <= pgRetries; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
		}
		err = s.db.RunInTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", pgWriteLock); err != nil {
				return fmt.Errorf("write lock: %w", err)
			}
			return fn(ctx, tx)
		})
		if !pgRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// pgRetryable reports whether err is the server aborting a transaction
// that may succeed when run again.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pgLedgerSQL is ledgerSQL in PostgreSQL's words: $n placeholders, jsonb
// for the arrays of households and entries, and byte order ("C"
// collation) for the source range, whatever the database's locale.
var pgLedgerSQL = ledgerStatements{
	read: `SELECT v.timezone, (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions),
			(SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_entries),
			EXISTS (SELECT 1 FROM ledger_transactions WHERE village_id = v.id AND idempotency_key = $2::text),
			EXISTS (SELECT 1 FROM ledger_transactions WHERE village_id = v.id AND source_kind = $3::text
				AND source_id >= $4::text COLLATE "C" AND source_id < ($4::text || '0') COLLATE "C"
				AND (source_id = $4::text OR source_id > ($4::text || '/') COLLATE "C")),
			a.id, a.key, a.household_id, a.balance, a.created_at, NULL::boolean
		FROM villages AS v LEFT JOIN accounts AS a ON a.village_id = v.id AND a.key = '` + FundKey + `'
		WHERE v.id = $1::bigint
		UNION ALL
		SELECT NULL, NULL, NULL, NULL, NULL, a.id, a.key, a.household_id, a.balance, a.created_at, ` + fundCoversSQL + `
		FROM jsonb_array_elements_text(COALESCE(NULLIF($5::jsonb, 'null'), '[]')) AS j(value) JOIN accounts AS a ON a.household_id = j.value::bigint
		JOIN households AS h ON h.id = a.household_id
		WHERE a.village_id = $1::bigint`,
	entries: `INSERT INTO ledger_entries (id, transaction_id, account_id, amount)
		SELECT $2::bigint + j.ord - 1, $1::bigint, (j.value ->> 0)::bigint, (j.value ->> 1)::bigint
		FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS j(value, ord)`,
	transaction: `INSERT INTO ledger_transactions (id, village_id, kind, memo, actor, source_kind, source_id,
		idempotency_key, request_hash, reverses_id, beneficiary_id, entry_count, date, posted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
	balances: `UPDATE accounts SET balance = balance + (j.value ->> 1)::bigint,
		given = given + (j.value ->> 2)::bigint, received = received + (j.value ->> 3)::bigint
		FROM jsonb_array_elements($1::jsonb) AS j(value) WHERE accounts.id = (j.value ->> 0)::bigint`,
}

// byteOrder is the collation clause that makes text compare byte by byte
// (as SQLite's BINARY does) in a range over source IDs.
func byteOrder(db bun.IDB) string {
	if db.Dialect().Name() == dialect.PG {
		return ` COLLATE "C"`
	}
	return ""
}
