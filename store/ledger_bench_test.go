package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"huangong/store"
)

// The two benchmarks below run side by side so their ratio compares the
// ledger with the disk it sits on: both write to a file database with
// synchronous=FULL (store.DSN's pragmas), so every commit waits for fsync.
// The goal is for a job posting to keep at least half the raw rate.

// BenchmarkLedgerPostJob posts finished jobs, each with one helped
// household and three attending ones: one transaction, four entries and
// four balance updates per posting.
func BenchmarkLedgerPostJob(b *testing.B) {
	ctx := context.Background()
	st := ledgerStore(b)
	v := ledgerVillage(b, st, "基准村", 0)
	hs := ledgerHouseholds(b, st, v.ID, 4)
	att := []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 2}, {HouseholdID: hs[2].ID, HalfDays: 2}, {HouseholdID: hs[3].ID, HalfDays: 1}}
	p := store.Posting{VillageID: v.ID, Actor: "bench"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if _, replayed, err := st.PostJob(ctx, p, int64(n), hs[0].ID, att); err != nil || replayed {
			b.Fatalf("job %d: replayed %v, %v", n, replayed, err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "postings/s")
}

// BenchmarkRawSQLiteInsertCommit is the floor under the ledger: one
// single-row INSERT per BEGIN IMMEDIATE … COMMIT on one connection.
func BenchmarkRawSQLiteInsertCommit(b *testing.B) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", store.DSN(filepath.Join(b.TempDir(), "raw.db")))
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	require.NoError(b, err)
	b.Cleanup(func() { conn.Close() })
	var sync string
	require.NoError(b, conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
	require.Equal(b, "2", sync, "synchronous=FULL")
	_, err = conn.ExecContext(ctx, "CREATE TABLE raw (v INTEGER NOT NULL)")
	require.NoError(b, err)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO raw (v) VALUES (?)", n); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commits/s")
}
