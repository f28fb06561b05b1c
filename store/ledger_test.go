package store_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/testdb"
)

// ledgerT is what the ledger helpers need of a test: *testing.T, *testing.B
// and rapid's *rapid.T all have it.
type ledgerT interface {
	require.TestingT
	Helper()
}

// ledgerT0 is the ledger tests' stopped clock: a spring morning in the
// village, so postings without a date fall on 2026-04-20.
var ledgerT0 = time.Date(2026, 4, 20, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// nextEntryID is the next ledger entry's ID as the posting path numbers
// them, for tests that write entries by hand: Postgres's sequence behind
// the column knows nothing of the IDs the store gives.
const nextEntryID = "(SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_entries)"

// ledgerStore opens a store on a fresh database file in tb's temp dir with
// the clock stopped at ledgerT0, and closes it when the test ends.
func ledgerStore(tb testing.TB) *store.Store {
	tb.Helper()
	st := ledgerOpen(tb, testdb.Database(tb, "x.db"))
	tb.Cleanup(func() { assert.NoError(tb, st.Close()) })
	return st
}

// ledgerOpen opens a store at path with the clock stopped at ledgerT0; the
// caller closes it.
func ledgerOpen(t ledgerT, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	require.NoError(t, err)
	st.Now = func() time.Time { return ledgerT0 }
	return st
}

// ledgerVillage creates a village; softLimit 0 keeps the default.
func ledgerVillage(t ledgerT, st *store.Store, name string, softLimit int64) *store.Village {
	t.Helper()
	v := &store.Village{Name: name, County: "玉山县", Township: "四股桥乡", SoftLimit: softLimit}
	require.NoError(t, st.CreateVillage(context.Background(), v))
	return v
}

// ledgerHouseholds creates n households in the village; the ones whose
// index is listed in exempt have their help covered by the village fund.
func ledgerHouseholds(t ledgerT, st *store.Store, villageID int64, n int, exempt ...int) []*store.Household {
	t.Helper()
	hs := make([]*store.Household, n)
	for i := range hs {
		hs[i] = &store.Household{VillageID: villageID, HeadName: fmt.Sprintf("户主%d", i+1), Group: 1 + i%3, Laborers: 2, Members: 4}
		for _, e := range exempt {
			hs[i].Exempt = hs[i].Exempt || e == i
		}
		require.NoError(t, st.CreateHousehold(context.Background(), hs[i]))
	}
	return hs
}

// ledgerPosting is a cadre's posting in the village with no key.
func ledgerPosting(villageID int64) store.Posting {
	return store.Posting{VillageID: villageID, Actor: "cadre#1", Memo: "测试"}
}

// ledgerBalances reads the village's balances straight from the account
// rows: households by ID, and the fund.
func ledgerBalances(t ledgerT, st *store.Store, villageID int64) (households map[int64]int64, fund int64) {
	t.Helper()
	var rows []struct {
		HouseholdID *int64
		Key         string
		Balance     int64
	}
	require.NoError(t, st.DB().NewSelect().Table("accounts").Column("household_id", "key", "balance").
		Where("village_id = ?", villageID).Scan(context.Background(), &rows))
	households = map[int64]int64{}
	for _, r := range rows {
		if r.HouseholdID == nil {
			require.Equal(t, store.FundKey, r.Key)
			fund = r.Balance
			continue
		}
		households[*r.HouseholdID] = r.Balance
	}
	return households, fund
}

// ledgerCheckBooks checks what must hold after any step: every
// transaction in the database has the entries it declares (two or more)
// and they sum to zero, all balances sum to zero, and the villages' stored
// balances equal their recompute from entries. It verifies the villages
// given, or every village, and returns their verifications.
func ledgerCheckBooks(t ledgerT, st *store.Store, villages ...int64) map[int64]*store.Verification {
	t.Helper()
	ctx := context.Background()
	var unbalanced []struct {
		ID, Sum, N, EntryCount int64
	}
	require.NoError(t, st.DB().NewRaw(`
		SELECT t.id, COALESCE(SUM(e.amount), 0) AS sum, COUNT(e.id) AS n, t.entry_count
		FROM ledger_transactions AS t LEFT JOIN ledger_entries AS e ON e.transaction_id = t.id
		GROUP BY t.id
		HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) <> t.entry_count OR COUNT(e.id) < 2`).Scan(ctx, &unbalanced))
	assert.Empty(t, unbalanced, "transactions whose entries do not balance")
	var total int64
	require.NoError(t, st.DB().NewRaw(`SELECT COALESCE(SUM(balance), 0) FROM accounts`).Scan(ctx, &total))
	assert.Zero(t, total, "sum of all balances")
	if len(villages) == 0 {
		require.NoError(t, st.DB().NewRaw(`SELECT id FROM villages ORDER BY id`).Scan(ctx, &villages))
	}
	out := map[int64]*store.Verification{}
	for _, id := range villages {
		ver, err := st.VerifyLedger(ctx, id)
		require.NoError(t, err)
		assert.True(t, ver.OK(), "village %d: %v", id, ver.Mismatches)
		assert.Zero(t, ver.Total, "village %d: sum of balances", id)
		out[id] = ver
	}
	return out
}

// ledgerRaceBuild reports whether the test binary was built with -race,
// under which the pure-Go SQLite runs more than ten times slower. The race
// detector has little to find in SQL run from one goroutine, so the long
// tests do a share of their work then and all of it in the plain run.
func ledgerRaceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// ledgerCount counts a table's rows.
func ledgerCount(t ledgerT, st *store.Store, table string) int {
	t.Helper()
	n, err := st.DB().NewSelect().Table(table).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// ledgerAssertCode checks err's domain code and, when field is not "",
// the input it names.
func ledgerAssertCode(t ledgerT, err error, code, field string) bool {
	t.Helper()
	if !assert.Equal(t, code, store.ErrorCode(err), "error %v", err) {
		return false
	}
	if field != "" {
		var e *store.Error
		require.ErrorAs(t, err, &e)
		return assert.Equal(t, field, e.Field, "field of %v", err)
	}
	return true
}

// ledgerEntries turns a transaction's entries into household ID → amount,
// with the fund under 0.
func ledgerEntries(t ledgerT, tx *store.Transaction) map[int64]int64 {
	t.Helper()
	out := map[int64]int64{}
	for _, e := range tx.Entries {
		require.NotNil(t, e.Account, "entry %d without its account", e.ID)
		var id int64
		if e.Account.HouseholdID != nil {
			id = *e.Account.HouseholdID
		}
		out[id] += e.Amount
	}
	return out
}

func TestLedger_PostJob(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 4, 3) // hs[3] is exempt
	p := ledgerPosting(v.ID)
	att := []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 3}, {HouseholdID: hs[2].ID, HalfDays: 2}}

	tx, replayed, err := st.PostJob(ctx, p, 7, hs[0].ID, att)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, store.TxJob, tx.Kind)
	assert.Equal(t, "2026-04-20", tx.Date, "today in the village")
	assert.Equal(t, map[int64]int64{hs[0].ID: -5, hs[1].ID: 3, hs[2].ID: 2}, ledgerEntries(t, tx))
	stored, err := st.GetTransaction(ctx, v.ID, tx.ID)
	require.NoError(t, err)
	posted, read := *tx, *stored
	posted.Entries, read.Entries = nil, nil
	assert.True(t, posted.PostedAt.Equal(read.PostedAt), "posted at %v, read back %v", posted.PostedAt, read.PostedAt)
	posted.PostedAt = read.PostedAt
	assert.Equal(t, read, posted, "the transaction as posted and as read back")
	require.Len(t, stored.Entries, 3)
	for i, e := range tx.Entries {
		assert.Equal(t, *stored.Entries[i], store.Entry{ID: e.ID, TransactionID: tx.ID, AccountID: e.AccountID, Amount: e.Amount, Account: stored.Entries[i].Account},
			"entry %d as posted and as read back", i)
		assert.Equal(t, stored.Entries[i].Account.ID, e.Account.ID)
	}
	assert.Equal(t, int64(-5), tx.Entries[0].Account.Balance, "accounts come back with their new balances")
	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Equal(t, map[int64]int64{hs[0].ID: -5, hs[1].ID: 3, hs[2].ID: 2, hs[3].ID: 0}, bal)
	assert.Zero(t, fund)

	t.Run("same job and attendance replays", func(t *testing.T) {
		again, replayed, err := st.PostJob(ctx, p, 7, hs[0].ID, att)
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, tx.ID, again.ID)
		assert.Equal(t, ledgerEntries(t, tx), ledgerEntries(t, again))
	})
	t.Run("same attendance in another order replays", func(t *testing.T) {
		again, replayed, err := st.PostJob(ctx, p, 7, hs[0].ID, []store.Attendance{att[1], att[0]})
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, tx.ID, again.ID)
	})
	t.Run("same job with other attendance conflicts", func(t *testing.T) {
		_, _, err := st.PostJob(ctx, p, 7, hs[0].ID, []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 4}})
		ledgerAssertCode(t, err, store.ECONFLICT, "")
		_, _, err = st.PostJob(ctx, p, 7, hs[2].ID, []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 3}, {HouseholdID: hs[0].ID, HalfDays: 2}})
		ledgerAssertCode(t, err, store.ECONFLICT, "")
	})
	t.Run("exempt household's help is debited to the fund", func(t *testing.T) {
		tx, _, err := st.PostJob(ctx, p, 8, hs[3].ID, []store.Attendance{{HouseholdID: hs[0].ID, HalfDays: 4}})
		require.NoError(t, err)
		assert.Equal(t, map[int64]int64{0: -4, hs[0].ID: 4}, ledgerEntries(t, tx))
		bal, fund := ledgerBalances(t, st, v.ID)
		assert.Zero(t, bal[hs[3].ID])
		assert.Equal(t, int64(-4), fund)
	})
	assert.Equal(t, 2, ledgerCount(t, st, "ledger_transactions"))
	ledgerCheckBooks(t, st)
}

func TestLedger_Invalid(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3)
	other := ledgerVillage(t, st, "西岭村", 0)
	foreign := ledgerHouseholds(t, st, other.ID, 1)[0]
	p := ledgerPosting(v.ID)
	a := func(h int64, n int64) store.Attendance { return store.Attendance{HouseholdID: h, HalfDays: n} }
	h0, h1, h2 := hs[0].ID, hs[1].ID, hs[2].ID
	for _, tc := range []struct {
		name  string
		post  func() error
		code  string
		field string
	}{
		{"job without attendance", func() error { _, _, err := st.PostJob(ctx, p, 1, h0, nil); return err }, store.EINVALID, "body.attendance"},
		{"job of zero half days", func() error {
			_, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(h1, 2), a(h2, 0)})
			return err
		}, store.EINVALID, "body.attendance[1].workdays"},
		{"job of negative half days", func() error { _, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(h1, -2)}); return err }, store.EINVALID, "body.attendance[0].workdays"},
		{"job with a household twice", func() error {
			_, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(h1, 1), a(h1, 1)})
			return err
		}, store.EINVALID, "body.attendance[1].householdId"},
		{"job paying the helped household", func() error {
			_, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(h1, 1), a(h0, 1)})
			return err
		}, store.EINVALID, "body.attendance[1].householdId"},
		{"job for an unknown household", func() error { _, _, err := st.PostJob(ctx, p, 1, 9999, []store.Attendance{a(h1, 1)}); return err }, store.EINVALID, "body.householdId"},
		{"job for another village's household", func() error { _, _, err := st.PostJob(ctx, p, 1, foreign.ID, []store.Attendance{a(h1, 1)}); return err }, store.EINVALID, "body.householdId"},
		{"job attended by another village's household", func() error { _, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(foreign.ID, 1)}); return err }, store.EINVALID, "body.attendance[0].householdId"},
		{"job with a bad date", func() error {
			p := p
			p.Date = "2026-02-30"
			_, _, err := st.PostJob(ctx, p, 1, h0, []store.Attendance{a(h1, 1)})
			return err
		}, store.EINVALID, "body.date"},
		{"job in an unknown village", func() error {
			_, _, err := st.PostJob(ctx, ledgerPosting(9999), 1, h0, []store.Attendance{a(h1, 1)})
			return err
		}, store.ENOTFOUND, ""},
		{"transfer to itself", func() error { _, _, err := st.Transfer(ctx, p, h0, h0, 2); return err }, store.EINVALID, "body.to"},
		{"transfer of zero", func() error { _, _, err := st.Transfer(ctx, p, h0, h1, 0); return err }, store.EINVALID, "body.workdays"},
		{"transfer of a negative amount", func() error { _, _, err := st.Transfer(ctx, p, h0, h1, -3); return err }, store.EINVALID, "body.workdays"},
		{"transfer from an unknown household", func() error { _, _, err := st.Transfer(ctx, p, 9999, h1, 2); return err }, store.EINVALID, "body.from"},
		{"transfer to another village", func() error { _, _, err := st.Transfer(ctx, p, h0, foreign.ID, 2); return err }, store.EINVALID, "body.to"},
		{"donation of zero", func() error { _, _, err := st.Donate(ctx, p, h0, 0); return err }, store.EINVALID, "body.workdays"},
		{"donation of a negative amount", func() error { _, _, err := st.Donate(ctx, p, h0, -1); return err }, store.EINVALID, "body.workdays"},
		{"donation from an unknown household", func() error { _, _, err := st.Donate(ctx, p, 9999, 1); return err }, store.EINVALID, "body.from"},
		{"reversal of an unknown transaction", func() error { _, _, err := st.Reverse(ctx, p, 9999); return err }, store.ENOTFOUND, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ledgerAssertCode(t, tc.post(), tc.code, tc.field)
			assert.Zero(t, ledgerCount(t, st, "ledger_transactions"), "nothing written")
			assert.Zero(t, ledgerCount(t, st, "ledger_entries"), "nothing written")
			bal, fund := ledgerBalances(t, st, v.ID)
			assert.Equal(t, map[int64]int64{h0: 0, h1: 0, h2: 0}, bal)
			assert.Zero(t, fund)
		})
	}
	ledgerCheckBooks(t, st)
}

func TestLedger_TransferDonate(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 2)
	p := ledgerPosting(v.ID)

	tx, replayed, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 3)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, store.TxTransfer, tx.Kind)
	assert.Equal(t, map[int64]int64{hs[0].ID: -3, hs[1].ID: 3}, ledgerEntries(t, tx))

	// Without an idempotency key the same transfer is a second transfer.
	tx2, replayed, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 3)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.NotEqual(t, tx.ID, tx2.ID)

	don, _, err := st.Donate(ctx, p, hs[1].ID, 4)
	require.NoError(t, err)
	assert.Equal(t, store.TxDonation, don.Kind)
	assert.Equal(t, map[int64]int64{hs[1].ID: -4, 0: 4}, ledgerEntries(t, don))

	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Equal(t, map[int64]int64{hs[0].ID: -6, hs[1].ID: 2}, bal)
	assert.Equal(t, int64(4), fund)
	ledgerCheckBooks(t, st)
}

func TestLedger_Reverse(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3, 2)
	p := ledgerPosting(v.ID)
	job, _, err := st.PostJob(ctx, p, 1, hs[2].ID, []store.Attendance{{HouseholdID: hs[0].ID, HalfDays: 2}, {HouseholdID: hs[1].ID, HalfDays: 3}})
	require.NoError(t, err)

	rev, replayed, err := st.Reverse(ctx, p, job.ID)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, store.TxReversal, rev.Kind)
	require.NotNil(t, rev.ReversesID)
	assert.Equal(t, job.ID, *rev.ReversesID)
	assert.Equal(t, map[int64]int64{0: 5, hs[0].ID: -2, hs[1].ID: -3}, ledgerEntries(t, rev))
	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Equal(t, map[int64]int64{hs[0].ID: 0, hs[1].ID: 0, hs[2].ID: 0}, bal)
	assert.Zero(t, fund)

	t.Run("second reversal conflicts", func(t *testing.T) {
		_, _, err := st.Reverse(ctx, p, job.ID)
		ledgerAssertCode(t, err, store.ECONFLICT, "")
	})
	t.Run("a reversal is not reversed", func(t *testing.T) {
		_, _, err := st.Reverse(ctx, p, rev.ID)
		ledgerAssertCode(t, err, store.ECONFLICT, "")
	})
	t.Run("another village's transaction is not found", func(t *testing.T) {
		other := ledgerVillage(t, st, "西岭村", 0)
		_, _, err := st.Reverse(ctx, ledgerPosting(other.ID), job.ID)
		ledgerAssertCode(t, err, store.ENOTFOUND, "")
	})
	t.Run("a reversed job posts its corrected figures once", func(t *testing.T) {
		att := []store.Attendance{{HouseholdID: hs[0].ID, HalfDays: 2}, {HouseholdID: hs[1].ID, HalfDays: 4}}
		fixed, replayed, err := st.PostJob(ctx, p, 1, hs[2].ID, att)
		require.NoError(t, err)
		assert.False(t, replayed)
		assert.NotEqual(t, job.ID, fixed.ID)
		require.NotNil(t, fixed.SourceID)
		assert.Equal(t, "1/2", *fixed.SourceID, "the job's second revision")
		again, replayed, err := st.PostJob(ctx, p, 1, hs[2].ID, att)
		require.NoError(t, err)
		assert.True(t, replayed, "the live revision replays")
		assert.Equal(t, fixed.ID, again.ID)
		_, _, err = st.PostJob(ctx, p, 1, hs[2].ID, att[:1])
		ledgerAssertCode(t, err, store.ECONFLICT, "")
		bal, _ := ledgerBalances(t, st, v.ID)
		assert.Equal(t, int64(4), bal[hs[1].ID])
	})
	t.Run("the database refuses a second reversal too", func(t *testing.T) {
		// Past the store's check, with balanced entries: the UNIQUE
		// reverses_id stops it.
		sqlTx, err := st.DB().BeginTx(ctx, nil)
		require.NoError(t, err)
		defer sqlTx.Rollback()
		var id int64
		require.NoError(t, sqlTx.QueryRowContext(ctx, "SELECT MAX(id) + 1 FROM ledger_transactions").Scan(&id))
		_, err = sqlTx.ExecContext(ctx, "INSERT INTO ledger_entries (id, transaction_id, account_id, amount) VALUES ("+nextEntryID+", ?, ?, 1), ("+nextEntryID+" + 1, ?, ?, -1)",
			id, job.Entries[0].AccountID, id, job.Entries[1].AccountID)
		require.NoError(t, err)
		_, err = sqlTx.ExecContext(ctx, `INSERT INTO ledger_transactions
			(id, village_id, kind, memo, actor, source_kind, source_id, request_hash, reverses_id, entry_count, date, posted_at)
			VALUES (?, ?, 'reversal', '', 'raw', 'raw', 'x', '', ?, 2, '2026-04-20', ?)`, id, v.ID, job.ID, ledgerT0)
		require.Error(t, err)
		assert.Regexp(t, "(?i)unique", err.Error()) // SQLite: "UNIQUE constraint failed"; Postgres: "unique constraint"
	})
	assert.Equal(t, 3, ledgerCount(t, st, "ledger_transactions"))
	ledgerCheckBooks(t, st)
}

func TestLedger_IdempotencyKey(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3)
	p := ledgerPosting(v.ID)
	p.IdempotencyKey, p.RequestHash = "key-1", "hash-a"

	first, replayed, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 3)
	require.NoError(t, err)
	require.False(t, replayed)
	require.NotNil(t, first.IdempotencyKey)
	assert.Equal(t, "key-1", *first.IdempotencyKey)

	t.Run("same key and request replays", func(t *testing.T) {
		again, replayed, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 3)
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, first.ID, again.ID)
		assert.Equal(t, ledgerEntries(t, first), ledgerEntries(t, again))
		bal, _ := ledgerBalances(t, st, v.ID)
		assert.Equal(t, map[int64]int64{hs[0].ID: -3, hs[1].ID: 3, hs[2].ID: 0}, bal, "posted once")
	})
	t.Run("same key with another request", func(t *testing.T) {
		p := p
		p.RequestHash = "hash-b"
		_, _, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 4)
		ledgerAssertCode(t, err, store.EINVALID, "header.Idempotency-Key")
	})
	t.Run("same key for another kind", func(t *testing.T) {
		_, _, err := st.Donate(ctx, p, hs[0].ID, 3)
		ledgerAssertCode(t, err, store.EINVALID, "header.Idempotency-Key")
		_, _, err = st.PostJob(ctx, p, 1, hs[0].ID, []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 3}})
		ledgerAssertCode(t, err, store.EINVALID, "header.Idempotency-Key")
		_, _, err = st.Reverse(ctx, p, first.ID)
		ledgerAssertCode(t, err, store.EINVALID, "header.Idempotency-Key")
	})
	t.Run("a key is the village's own", func(t *testing.T) {
		other := ledgerVillage(t, st, "西岭村", 0)
		ohs := ledgerHouseholds(t, st, other.ID, 2)
		p := p
		p.VillageID = other.ID
		tx, replayed, err := st.Transfer(ctx, p, ohs[0].ID, ohs[1].ID, 3)
		require.NoError(t, err)
		assert.False(t, replayed)
		assert.NotEqual(t, first.ID, tx.ID)
	})
	t.Run("a keyed reversal replays instead of conflicting", func(t *testing.T) {
		p := p
		p.IdempotencyKey, p.RequestHash = "key-2", "reverse-first"
		rev, replayed, err := st.Reverse(ctx, p, first.ID)
		require.NoError(t, err)
		assert.False(t, replayed)
		again, replayed, err := st.Reverse(ctx, p, first.ID)
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, rev.ID, again.ID)
		p.IdempotencyKey = "key-3"
		_, _, err = st.Reverse(ctx, p, first.ID)
		ledgerAssertCode(t, err, store.ECONFLICT, "")
	})
	t.Run("a keyed job replays by key and by job", func(t *testing.T) {
		p := p
		p.IdempotencyKey, p.RequestHash = "key-4", "job-9"
		att := []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 1}}
		job, _, err := st.PostJob(ctx, p, 9, hs[2].ID, att)
		require.NoError(t, err)
		for _, key := range []string{"key-4", "key-5", ""} {
			p.IdempotencyKey = key
			again, replayed, err := st.PostJob(ctx, p, 9, hs[2].ID, att)
			require.NoError(t, err, key)
			assert.True(t, replayed, key)
			assert.Equal(t, job.ID, again.ID, key)
		}
	})
	ledgerCheckBooks(t, st)
}

// TestLedger_AppendOnly goes past the store with raw SQL: the database
// itself refuses to change or remove a posting, to take an entry of zero,
// or to let a transaction's entries sum to anything but zero.
func TestLedger_AppendOnly(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3)
	p := ledgerPosting(v.ID)
	tx, _, err := st.Transfer(ctx, p, hs[0].ID, hs[1].ID, 3)
	require.NoError(t, err)
	db := st.DB()
	a0, a1 := tx.Entries[0].AccountID, tx.Entries[1].AccountID

	for _, q := range []string{
		"UPDATE ledger_entries SET amount = amount * 2",
		"UPDATE ledger_entries SET account_id = account_id WHERE id = 1",
		"UPDATE ledger_transactions SET memo = 'changed'",
		"UPDATE ledger_transactions SET kind = 'opening' WHERE id = 1",
		"DELETE FROM ledger_entries",
		"DELETE FROM ledger_entries WHERE id = 1",
		"DELETE FROM ledger_transactions",
	} {
		t.Run(q, func(t *testing.T) {
			_, err := db.ExecContext(ctx, q)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "append-only")
		})
	}
	got, err := st.GetTransaction(ctx, v.ID, tx.ID)
	require.NoError(t, err)
	assert.Equal(t, "测试", got.Memo)
	assert.Equal(t, map[int64]int64{hs[0].ID: -3, hs[1].ID: 3}, ledgerEntries(t, got))

	// raw writes entries and then a transaction row declaring declared
	// entries, the order the store uses, in one SQL transaction that is
	// committed only when commit is set (otherwise rolled back).
	raw := func(t *testing.T, declared int, commit bool, amounts ...int64) error {
		t.Helper()
		sqlTx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer sqlTx.Rollback()
		var id int64
		require.NoError(t, sqlTx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions").Scan(&id))
		for i, amt := range amounts {
			acct := []int64{a0, a1, a0}[i]
			if _, err := sqlTx.ExecContext(ctx, "INSERT INTO ledger_entries (id, transaction_id, account_id, amount) VALUES ("+nextEntryID+", ?, ?, ?)", id, acct, amt); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
		}
		if _, err := sqlTx.ExecContext(ctx, `INSERT INTO ledger_transactions
			(id, village_id, kind, memo, actor, source_kind, request_hash, entry_count, date, posted_at)
			VALUES (?, ?, 'transfer', 'raw', 'raw', 'transfer', '', ?, '2026-04-20', ?)`, id, v.ID, declared, ledgerT0); err != nil {
			return fmt.Errorf("transaction: %w", err)
		}
		if _, err := sqlTx.ExecContext(ctx, "INSERT INTO ledger_entries (id, transaction_id, account_id, amount) VALUES ("+nextEntryID+", ?, ?, 1)", id, a0); err == nil {
			return fmt.Errorf("an entry was added to a posted transaction")
		}
		if commit {
			return sqlTx.Commit()
		}
		return nil
	}
	t.Run("entries that do not balance", func(t *testing.T) {
		err := raw(t, 2, false, 3, -2)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "transaction:")
		assert.Contains(t, err.Error(), "does not balance")
	})
	t.Run("an entry of zero", func(t *testing.T) {
		err := raw(t, 2, false, 0)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "entry 0")
		assert.Contains(t, err.Error(), "zero")
	})
	t.Run("fewer entries than declared", func(t *testing.T) {
		err := raw(t, 2, false, 7)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not balance")
	})
	t.Run("more entries than declared", func(t *testing.T) {
		err := raw(t, 2, false, 3, -3, 1)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not balance")
	})
	t.Run("a single entry", func(t *testing.T) {
		err := raw(t, 1, false, 5)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not balance")
	})
	t.Run("entries without their transaction fail at commit", func(t *testing.T) {
		sqlTx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer sqlTx.Rollback()
		_, err = sqlTx.ExecContext(ctx, "INSERT INTO ledger_entries (id, transaction_id, account_id, amount) VALUES ("+nextEntryID+", 999, ?, 3), ("+nextEntryID+" + 1, 999, ?, -3)", a0, a1)
		require.NoError(t, err)
		require.Error(t, sqlTx.Commit(), "the deferred foreign key refuses orphan entries")
	})
	t.Run("balanced entries are taken", func(t *testing.T) {
		require.NoError(t, raw(t, 2, false, 3, -3))
	})
	assert.Equal(t, 1, ledgerCount(t, st, "ledger_transactions"))
	assert.Equal(t, 2, ledgerCount(t, st, "ledger_entries"))
	ledgerCheckBooks(t, st)
}

// TestLedger_VerifyFindsTampering changes what the triggers do not guard
// and checks VerifyLedger reports it.
func TestLedger_VerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 2)
	_, _, err := st.Transfer(ctx, ledgerPosting(v.ID), hs[0].ID, hs[1].ID, 3)
	require.NoError(t, err)
	ver, err := st.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	require.True(t, ver.OK(), ver.Mismatches)
	assert.Equal(t, 3, ver.Accounts)
	assert.Equal(t, 1, ver.Transactions)
	assert.Equal(t, 2, ver.Entries)

	_, err = st.DB().ExecContext(ctx, "UPDATE accounts SET balance = balance + 1 WHERE household_id = ?", hs[0].ID)
	require.NoError(t, err)
	// A transaction with fewer entries than it declares: the database
	// refuses it now; with the trigger dropped (as a bad migration or a
	// hand edit could), only the verify would see it.
	insertShort := func() error {
		_, err := st.DB().ExecContext(ctx, `INSERT INTO ledger_transactions
			(id, village_id, kind, memo, actor, source_kind, request_hash, entry_count, date, posted_at)
			VALUES (100, ?, 'transfer', 'raw', 'raw', 'transfer', '', 2, '2026-04-20', ?)`, v.ID, ledgerT0)
		return err
	}
	require.Error(t, insertShort())
	dropTrigger := "DROP TRIGGER ledger_transactions_balanced"
	if st.Postgres() {
		dropTrigger += " ON ledger_transactions"
	}
	_, err = st.DB().ExecContext(ctx, dropTrigger)
	require.NoError(t, err)
	require.NoError(t, insertShort())

	ver, err = st.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	assert.False(t, ver.OK())
	assert.Equal(t, int64(1), ver.Total)
	joined := strings.Join(ver.Mismatches, "\n")
	assert.Contains(t, joined, fmt.Sprintf("account household:%d: balance -2, entries sum to -3", hs[0].ID))
	assert.Contains(t, joined, "balances sum to 1")
	assert.Contains(t, joined, "0 of 2 entries")
	assert.Len(t, ver.Mismatches, 3)
}

func TestLedger_Statement(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3)
	me, other := hs[0].ID, hs[1].ID
	on := func(date string) store.Posting { p := ledgerPosting(v.ID); p.Date = date; return p }

	// Posted out of date order on purpose: a statement runs in date order.
	j1, _, err := st.PostJob(ctx, on("2026-04-02"), 1, other, []store.Attendance{{HouseholdID: me, HalfDays: 4}}) // +4
	require.NoError(t, err)
	t1, _, err := st.Transfer(ctx, on("2026-04-01"), me, other, 1) // -1
	require.NoError(t, err)
	j2, _, err := st.PostJob(ctx, on("2026-04-10"), 2, me, []store.Attendance{{HouseholdID: other, HalfDays: 6}}) // -6
	require.NoError(t, err)
	_, _, err = st.Transfer(ctx, on("2026-04-11"), other, hs[2].ID, 2) // not mine
	require.NoError(t, err)
	d1, _, err := st.Donate(ctx, on("2026-04-15"), me, 2) // -2
	require.NoError(t, err)
	r1, _, err := st.Reverse(ctx, on("2026-04-20"), j2.ID) // +6
	require.NoError(t, err)

	type line struct {
		tx      int64
		amount  int64
		running int64
	}
	lines := func(s *store.Statement) []line {
		var out []line
		for _, l := range s.Lines {
			out = append(out, line{l.TransactionID, l.Amount, l.Running})
		}
		return out
	}
	for _, tc := range []struct {
		name, from, to string
		opening        int64
		want           []line
		closing        int64
	}{
		{"everything", "", "", 0, []line{{t1.ID, -1, -1}, {j1.ID, 4, 3}, {j2.ID, -6, -3}, {d1.ID, -2, -5}, {r1.ID, 6, 1}}, 1},
		{"from a date", "2026-04-10", "", 3, []line{{j2.ID, -6, -3}, {d1.ID, -2, -5}, {r1.ID, 6, 1}}, 1},
		{"up to a date", "", "2026-04-10", 0, []line{{t1.ID, -1, -1}, {j1.ID, 4, 3}, {j2.ID, -6, -3}}, -3},
		{"between dates, both ends included", "2026-04-02", "2026-04-15", -1, []line{{j1.ID, 4, 3}, {j2.ID, -6, -3}, {d1.ID, -2, -5}}, -5},
		{"one day", "2026-04-15", "2026-04-15", -3, []line{{d1.ID, -2, -5}}, -5},
		{"a range with nothing in it", "2026-04-16", "2026-04-19", -5, nil, -5},
		{"after the last entry", "2026-05-01", "", 1, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := st.Statement(ctx, v.ID, me, tc.from, tc.to)
			require.NoError(t, err)
			assert.Equal(t, me, s.HouseholdID)
			assert.Equal(t, tc.opening, s.Opening, "opening")
			assert.Equal(t, tc.want, lines(s))
			assert.Equal(t, tc.closing, s.Closing, "closing")
		})
	}
	t.Run("lines say what they are", func(t *testing.T) {
		s, err := st.Statement(ctx, v.ID, me, "2026-04-20", "2026-04-20")
		require.NoError(t, err)
		require.Len(t, s.Lines, 1)
		l := s.Lines[0]
		assert.Equal(t, store.TxReversal, l.Kind)
		assert.Equal(t, "2026-04-20", l.Date)
		assert.Equal(t, "测试", l.Memo)
		require.NotNil(t, l.ReversesID)
		assert.Equal(t, j2.ID, *l.ReversesID)
	})
	t.Run("closing balance is the account's", func(t *testing.T) {
		bal, _ := ledgerBalances(t, st, v.ID)
		s, err := st.Statement(ctx, v.ID, me, "", "")
		require.NoError(t, err)
		assert.Equal(t, bal[me], s.Closing)
	})
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"bad from", "2026-4-1", "", "query.from"},
		{"bad to", "", "20260410", "query.to"},
		{"impossible day", "2026-02-30", "", "query.from"},
		{"from after to", "2026-04-11", "2026-04-10", "query.from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Statement(ctx, v.ID, me, tc.from, tc.to)
			ledgerAssertCode(t, err, store.EINVALID, tc.field)
		})
	}
	t.Run("unknown household", func(t *testing.T) {
		_, err := st.Statement(ctx, v.ID, 9999, "", "")
		ledgerAssertCode(t, err, store.ENOTFOUND, "")
		o := ledgerVillage(t, st, "西岭村", 0)
		_, err = st.Statement(ctx, o.ID, me, "", "")
		ledgerAssertCode(t, err, store.ENOTFOUND, "")
	})
}

func TestLedger_Balances(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	require.Equal(t, int64(store.DefaultSoftLimit), v.SoftLimit)
	hs := ledgerHouseholds(t, st, v.ID, 4, 3) // hs[3] exempt
	p := ledgerPosting(v.ID)
	id := func(i int) int64 { return hs[i].ID }
	a := func(i int, n int64) store.Attendance { return store.Attendance{HouseholdID: id(i), HalfDays: n} }

	_, _, err := st.PostJob(ctx, p, 1, id(0), []store.Attendance{a(1, 12), a(2, 9)}) // 0: -21, 1: +12, 2: +9
	require.NoError(t, err)
	_, _, err = st.PostJob(ctx, p, 2, id(1), []store.Attendance{a(0, 1), a(2, 20)}) // 0: -20, 1: -9, 2: +29
	require.NoError(t, err)
	j3, _, err := st.PostJob(ctx, p, 3, id(2), []store.Attendance{a(1, 5)}) // 1: -4, 2: +24
	require.NoError(t, err)
	_, _, err = st.Reverse(ctx, p, j3.ID) // 1: -9, 2: +29
	require.NoError(t, err)
	_, _, err = st.PostJob(ctx, p, 4, id(3), []store.Attendance{a(1, 4)}) // fund -4, 1: -5
	require.NoError(t, err)
	tr, _, err := st.Transfer(ctx, p, id(2), id(3), 3) // 2: +26, 3: +3
	require.NoError(t, err)
	_, _, err = st.Reverse(ctx, p, tr.ID) // 2: +29, 3: 0
	require.NoError(t, err)
	_, _, err = st.Donate(ctx, p, id(2), 2) // 2: +27, fund -2
	require.NoError(t, err)
	_, _, err = st.Transfer(ctx, p, id(0), id(3), 1) // 0: -21, 3: +1
	require.NoError(t, err)
	ledgerCheckBooks(t, st)

	type row struct {
		id                       int64
		balance, given, received int64
		below                    bool
	}
	rowsOf := func(bs []*store.Balance) []row {
		var out []row
		for _, b := range bs {
			out = append(out, row{b.HouseholdID, b.Balance, b.Given, b.Received, b.BelowLimit})
		}
		return out
	}
	// Given and received count jobs net of their reversals; transfers,
	// donations and their reversals move the balance only. Exempt hs[3]
	// received the 4 half days of job 4 though the fund paid for them.
	r0 := row{id(0), -21, 1, 21, true}
	r1 := row{id(1), -5, 16, 21, false}
	r2 := row{id(2), 27, 29, 0, false}
	r3 := row{id(3), 1, 0, 4, false}
	for _, tc := range []struct {
		name string
		q    store.BalanceQuery
		want []row
	}{
		{"by household", store.BalanceQuery{}, []row{r0, r1, r2, r3}},
		{"lowest first", store.BalanceQuery{Sort: "balance"}, []row{r0, r1, r3, r2}},
		{"highest first", store.BalanceQuery{Sort: "-balance"}, []row{r2, r3, r1, r0}},
		{"below the soft limit", store.BalanceQuery{BelowLimit: true}, []row{r0}},
		{"one household", store.BalanceQuery{HouseholdID: id(1)}, []row{r1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs, fund, err := st.Balances(ctx, v.ID, tc.q)
			require.NoError(t, err)
			assert.Equal(t, tc.want, rowsOf(bs))
			assert.Equal(t, int64(-2), fund)
		})
	}
	t.Run("names and groups", func(t *testing.T) {
		bs, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: id(2)})
		require.NoError(t, err)
		require.Len(t, bs, 1)
		assert.Equal(t, hs[2].HeadName, bs[0].HeadName)
		assert.Equal(t, hs[2].Group, bs[0].Group)
	})
	t.Run("exactly at the soft limit is not below it", func(t *testing.T) {
		bs, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: id(0)})
		require.NoError(t, err)
		require.True(t, bs[0].BelowLimit)
		_, _, err = st.Transfer(ctx, p, id(3), id(0), 1) // 0: −20, the limit itself
		require.NoError(t, err)
		bs, _, err = st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: id(0)})
		require.NoError(t, err)
		assert.Equal(t, int64(store.DefaultSoftLimit), bs[0].Balance)
		assert.False(t, bs[0].BelowLimit)
	})
	t.Run("the village's own soft limit; it never refuses help", func(t *testing.T) {
		o := ledgerVillage(t, st, "西岭村", -4)
		ohs := ledgerHouseholds(t, st, o.ID, 2)
		for job := int64(1); job <= 3; job++ {
			_, _, err := st.PostJob(ctx, ledgerPosting(o.ID), job, ohs[0].ID, []store.Attendance{{HouseholdID: ohs[1].ID, HalfDays: 2}})
			require.NoError(t, err, "job %d", job)
		}
		bs, fund, err := st.Balances(ctx, o.ID, store.BalanceQuery{Sort: "balance"})
		require.NoError(t, err)
		assert.Equal(t, []row{{ohs[0].ID, -6, 0, 6, true}, {ohs[1].ID, 6, 6, 0, false}}, rowsOf(bs))
		assert.Zero(t, fund)
	})
	t.Run("bad sort", func(t *testing.T) {
		_, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{Sort: "name"})
		ledgerAssertCode(t, err, store.EINVALID, "query.sort")
	})
	t.Run("unknown village", func(t *testing.T) {
		_, _, err := st.Balances(ctx, 9999, store.BalanceQuery{})
		ledgerAssertCode(t, err, store.ENOTFOUND, "")
	})
}

// TestLedger_ConcurrentSameJob posts one job from 50 goroutines at once on
// a file database: it posts once and every caller gets that transaction.
func TestLedger_ConcurrentSameJob(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 4)
	att := []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 2}, {HouseholdID: hs[2].ID, HalfDays: 3}, {HouseholdID: hs[3].ID, HalfDays: 1}}

	const n = 50
	var (
		start    = make(chan struct{})
		wg       sync.WaitGroup
		ids      [n]int64
		replays  [n]bool
		errs     [n]error
		replayed atomic.Int32
	)
	for i := range n {
		wg.Go(func() {
			<-start
			tx, r, err := st.PostJob(ctx, ledgerPosting(v.ID), 42, hs[0].ID, att)
			errs[i], replays[i] = err, r
			if err == nil {
				ids[i] = tx.ID
			}
			if r {
				replayed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "goroutine %d", i)
		assert.Equal(t, ids[0], ids[i], "goroutine %d", i)
	}
	assert.Equal(t, int32(n-1), replayed.Load(), "all but one replayed")
	assert.Equal(t, 1, ledgerCount(t, st, "ledger_transactions"))
	assert.Equal(t, 4, ledgerCount(t, st, "ledger_entries"))
	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Equal(t, map[int64]int64{hs[0].ID: -6, hs[1].ID: 2, hs[2].ID: 3, hs[3].ID: 1}, bal)
	assert.Zero(t, fund)
	ledgerCheckBooks(t, st)
}

// TestLedger_ConcurrentReadThenWrite runs 32 goroutines that each, 200
// times (25 under -race), read balances and then post a transfer (itself a transaction
// that reads before it writes). No call may fail, in particular not with
// "database is locked": writes begin IMMEDIATE and wait their turn.
func TestLedger_ConcurrentReadThenWrite(t *testing.T) {
	const workers = 32
	rounds := 200
	if ledgerRaceBuild() {
		rounds = 25 // 800 postings; 6400 take over a minute under -race
	}
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	const households = 8
	hs := ledgerHouseholds(t, st, v.ID, households)

	var (
		wg     sync.WaitGroup
		failed atomic.Int32
		errMu  sync.Mutex
		errs   []error
	)
	fail := func(err error) {
		failed.Add(1)
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, err)
		}
	}
	begin := time.Now()
	for w := range workers {
		// Worker w moves w%3+1 half days from household w%8 to (w+1)%8 each round.
		from, to, amount := hs[w%households].ID, hs[(w+1)%households].ID, int64(w%3+1)
		wg.Go(func() {
			for r := range rounds {
				if _, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: from}); err != nil {
					fail(fmt.Errorf("worker %d round %d: balances: %w", w, r, err))
					continue
				}
				if _, _, err := st.Transfer(ctx, ledgerPosting(v.ID), from, to, amount); err != nil {
					fail(fmt.Errorf("worker %d round %d: transfer: %w", w, r, err))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	t.Logf("%d transfers in %v (%.0f/s)", workers*rounds, elapsed, float64(workers*rounds)/elapsed.Seconds())
	for _, err := range errs {
		t.Error(err)
	}
	require.Zero(t, failed.Load(), "failed calls")

	want := map[int64]int64{}
	for w := range workers {
		amount := int64(w%3+1) * int64(rounds)
		want[hs[w%households].ID] -= amount
		want[hs[(w+1)%households].ID] += amount
	}
	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Equal(t, want, bal)
	assert.Zero(t, fund)
	assert.Equal(t, workers*rounds, ledgerCount(t, st, "ledger_transactions"))
	assert.Equal(t, 2*workers*rounds, ledgerCount(t, st, "ledger_entries"))
	ledgerCheckBooks(t, st)
}
