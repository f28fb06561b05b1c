package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

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
	post := jobPoster(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		post(n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "postings/s")
}

// jobPoster returns a posting of job n on a fresh file database: one
// helped household and three attending ones, so one transaction, four
// entries and four balance updates.
func jobPoster(b *testing.B) func(n int) {
	ctx := context.Background()
	st := ledgerStore(b)
	v := ledgerVillage(b, st, "基准村", 0)
	hs := ledgerHouseholds(b, st, v.ID, 4)
	att := []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 2}, {HouseholdID: hs[2].ID, HalfDays: 2}, {HouseholdID: hs[3].ID, HalfDays: 1}}
	p := store.Posting{VillageID: v.ID, Actor: "bench"}
	return func(n int) {
		if _, replayed, err := st.PostJob(ctx, p, int64(n), hs[0].ID, att); err != nil || replayed {
			b.Fatalf("job %d: replayed %v, %v", n, replayed, err)
		}
	}
}

// BenchmarkRawSQLiteInsertCommit is the floor under the ledger: one
// single-row INSERT per BEGIN IMMEDIATE … COMMIT on one connection.
func BenchmarkRawSQLiteInsertCommit(b *testing.B) {
	raw := rawCommitter(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		raw(n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commits/s")
}

// rawCommitter opens a file database with the store's pragmas on one
// connection and returns a commit of one single-row INSERT.
func rawCommitter(b *testing.B) func(n int) {
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
	return func(n int) {
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
}

// BenchmarkHouseholdLedger reads one household's figures — its balance
// with help given and received, and its whole statement — in a village
// whose ledger holds 50 transactions and in one holding 50,000. The
// household's own postings are the same 22 in both, so the two should
// cost the same: nothing on the read sums the village's ledger. The goal
// is a ratio of at most 1.5. The two reads alternate in one loop and the
// ratio is of their medians, so a machine busy with other work slows
// both alike.
func BenchmarkHouseholdLedger(b *testing.B) {
	small, large := householdLedger(b, 50), householdLedger(b, 50_000)
	var ts, tl []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		small(b)
		t1 := time.Now()
		large(b)
		ts, tl = append(ts, t1.Sub(t0)), append(tl, time.Since(t1))
	}
	ms, ml := median(ts), median(tl)
	b.ReportMetric(float64(ms.Microseconds()), "µs/read@50")
	b.ReportMetric(float64(ml.Microseconds()), "µs/read@50000")
	b.ReportMetric(float64(ml)/float64(ms), "ratio")
}

// BenchmarkPostingVsRawCommit alternates a job posting through the store
// (as BenchmarkLedgerPostJob) with a raw single-row commit (as
// BenchmarkRawSQLiteInsertCommit) on the same file system, and reports
// the ratio of their median rates: the goal is at least one half. Taken
// in turns, both meet the same disk.
func BenchmarkPostingVsRawCommit(b *testing.B) {
	post, raw := jobPoster(b), rawCommitter(b)
	var tp, tr []time.Duration
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		t0 := time.Now()
		post(n)
		t1 := time.Now()
		raw(n)
		tp, tr = append(tp, t1.Sub(t0)), append(tr, time.Since(t1))
	}
	mp, mr := median(tp), median(tr)
	b.ReportMetric(float64(time.Second)/float64(mp), "postings/s")
	b.ReportMetric(float64(time.Second)/float64(mr), "commits/s")
	b.ReportMetric(float64(mr)/float64(mp), "ratio")
}

// median is the middle of xs (the upper middle of an even count).
func median[T cmp.Ordered](xs []T) T {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// householdLedger makes a village of 40 households whose ledger holds
// village transactions, 22 of them household 1's own (jobs it was helped
// on and worked on, two reversed), and returns a read of that household's
// balance and statement.
func householdLedger(b *testing.B, village int) func(b *testing.B) {
	ctx := context.Background()
	st := ledgerStore(b)
	v := ledgerVillage(b, st, "基准村", 0)
	hs := ledgerHouseholds(b, st, v.ID, 40, 39) // hs[39]'s help is paid by the fund
	const own = 20
	for i := range own {
		helped, worker := hs[0], hs[1+i%38]
		if i%2 == 1 {
			helped, worker = worker, hs[0]
		}
		tx, _, err := st.PostJob(ctx, ledgerPosting(v.ID), int64(i+1), helped.ID, []store.Attendance{{HouseholdID: worker.ID, HalfDays: 2}})
		require.NoError(b, err)
		if i < 2 {
			_, _, err = st.Reverse(ctx, ledgerPosting(v.ID), tx.ID)
			require.NoError(b, err)
		}
	}
	bulkJobs(b, st, v.ID, hs[0].ID, village-own-2)
	books := ledgerCheckBooks(b, st, v.ID)
	require.Equal(b, village, books[v.ID].Transactions)
	return func(b *testing.B) {
		bal, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: hs[0].ID})
		if err != nil || len(bal) != 1 {
			b.Fatal(bal, err)
		}
		stmt, err := st.Statement(ctx, v.ID, hs[0].ID, "", "")
		if err != nil || len(stmt.Lines) != own+2 || stmt.Closing != bal[0].Balance {
			b.Fatal(stmt, err)
		}
	}
}

// bulkJobs writes n job postings between the village's households other
// than skip, straight into the tables in one transaction (50,000 postings
// one commit at a time would take the benchmark a minute), then sets the
// balances and totals from the entries as the migrations would.
func bulkJobs(tb ledgerT, st *store.Store, villageID, skip int64, n int) {
	tb.Helper()
	ctx := context.Background()
	err := st.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			`CREATE TEMP TABLE bulk_accounts AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, id, household_id
				FROM accounts WHERE village_id = ?0 AND household_id IS NOT NULL AND household_id <> ?1`,
			`CREATE TEMP TABLE bulk_n AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
				SELECT i, (SELECT COALESCE(MAX(id), 0) FROM ledger_transactions) + 1 + i AS tid,
					(SELECT COALESCE(MAX(id), 0) FROM ledger_entries) + 1 + 2 * i AS eid,
					i % (SELECT COUNT(*) FROM bulk_accounts) AS helped,
					(i + 1 + i / 7) % (SELECT COUNT(*) FROM bulk_accounts) AS worker FROM n`,
			`INSERT INTO ledger_entries (id, transaction_id, account_id, amount)
				SELECT eid, tid, a.id, -2 FROM bulk_n JOIN bulk_accounts AS a ON a.k = helped
				UNION ALL SELECT eid + 1, tid, a.id, 2 FROM bulk_n JOIN bulk_accounts AS a ON a.k = worker`,
			`INSERT INTO ledger_transactions (id, village_id, kind, memo, actor, source_kind, source_id, request_hash,
				beneficiary_id, entry_count, date, posted_at)
				SELECT tid, ?0, 'job', '批量', 'bench', 'job', 'bulk:' || i, '', a.household_id, 2,
					date('2026-03-01', '+' || (i % 200) || ' days'), '2026-03-01 08:00:00+00:00'
				FROM bulk_n JOIN bulk_accounts AS a ON a.k = helped`,
			`UPDATE accounts SET balance = (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account_id = accounts.id)
				WHERE village_id = ?0`,
			`DROP TABLE bulk_n`,
			`DROP TABLE bulk_accounts`,
		} {
			// bun's numbered placeholders: ?0 the village, ?1 skip, ?2 n.
			if _, err := tx.ExecContext(ctx, q, villageID, skip, n); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	require.NoError(tb, err)
	refillTotals(tb, st)
}
