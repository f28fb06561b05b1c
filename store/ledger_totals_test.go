package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/migrate"

	"huangong/store"
	"huangong/store/migrations"
)

// TestLedger_TotalsBackfillAndVerify: the ledger-totals migration fills
// every account's help given and received from the postings made before
// it, to the figures the postings keep since; and the verify names an
// account whose kept totals differ from its entries.
func TestLedger_TotalsBackfillAndVerify(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "东岭村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 4, 3) // hs[3] exempt: the fund pays its help
	p := ledgerPosting(v.ID)
	a := func(i int, n int64) store.Attendance { return store.Attendance{HouseholdID: hs[i].ID, HalfDays: n} }
	_, _, err := st.PostJob(ctx, p, 1, hs[0].ID, []store.Attendance{a(1, 12), a(2, 9)})
	require.NoError(t, err)
	j2, _, err := st.PostJob(ctx, p, 2, hs[3].ID, []store.Attendance{a(1, 4), a(2, 2)})
	require.NoError(t, err)
	_, _, err = st.Reverse(ctx, p, j2.ID) // a fund-paid job's reversal
	require.NoError(t, err)
	_, _, err = st.PostJob(ctx, p, 2, hs[3].ID, []store.Attendance{a(1, 3)}) // its corrected posting
	require.NoError(t, err)
	tr, _, err := st.Transfer(ctx, p, hs[2].ID, hs[0].ID, 3)
	require.NoError(t, err)
	_, _, err = st.Reverse(ctx, p, tr.ID)
	require.NoError(t, err)

	kept, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{})
	require.NoError(t, err)
	figures := func(bs []*store.Balance) []string {
		var out []string
		for _, b := range bs {
			out = append(out, fmt.Sprintf("%d: balance %d given %d received %d", b.HouseholdID, b.Balance, b.Given, b.Received))
		}
		return out
	}
	want := []string{
		fmt.Sprintf("%d: balance -21 given 0 received 21", hs[0].ID),
		fmt.Sprintf("%d: balance 15 given 15 received 0", hs[1].ID),
		fmt.Sprintf("%d: balance 9 given 9 received 0", hs[2].ID),
		fmt.Sprintf("%d: balance 0 given 0 received 3", hs[3].ID),
	}
	require.Equal(t, want, figures(kept), "kept with the postings")

	refillTotals(t, st) // undo the migration and apply it again
	filled, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{})
	require.NoError(t, err)
	assert.Equal(t, want, figures(filled), "backfilled from the postings")
	ledgerCheckBooks(t, st)

	_, err = st.DB().ExecContext(ctx, "UPDATE accounts SET received = received + 2 WHERE household_id = ?", hs[3].ID)
	require.NoError(t, err)
	ver, err := st.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	assert.False(t, ver.OK())
	assert.Equal(t, fmt.Sprintf("account household:%d: given 0, received 5; entries sum to 0 and 3", hs[3].ID), strings.Join(ver.Mismatches, "\n"))
}

// refillTotals undoes the ledger-totals migration and applies it again,
// so every account's totals are backfilled from the entries.
func refillTotals(t ledgerT, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	var step *migrate.Migration
	for _, m := range migrations.Migrations.Sorted() {
		if m.Name == "20261207120000" {
			step = &m
		}
	}
	require.NotNil(t, step)
	migrator := migrate.NewMigrator(st.DB(), migrations.Migrations)
	require.NoError(t, step.Down(ctx, migrator, step))
	require.NoError(t, step.Up(ctx, migrator, step))
}
