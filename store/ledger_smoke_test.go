package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestLedgerSmoke(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "l.db"))
	require.NoError(t, err)
	defer st.Close()
	v := &store.Village{Name: "v"}
	require.NoError(t, st.CreateVillage(ctx, v))
	var hs []*store.Household
	for i := 0; i < 3; i++ {
		h := &store.Household{VillageID: v.ID, HeadName: "h", Group: 1, Laborers: 2, Members: 2, Exempt: i == 2}
		require.NoError(t, st.CreateHousehold(ctx, h))
		hs = append(hs, h)
	}
	p := store.Posting{VillageID: v.ID, Actor: "t"}
	tx, replayed, err := st.PostJob(ctx, p, 1, hs[0].ID, []store.Attendance{{hs[1].ID, 3}, {hs[2].ID, 2}})
	require.NoError(t, err)
	require.False(t, replayed)
	require.Len(t, tx.Entries, 3)
	tx2, replayed, err := st.PostJob(ctx, p, 1, hs[0].ID, []store.Attendance{{hs[1].ID, 3}, {hs[2].ID, 2}})
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, tx.ID, tx2.ID)
	_, _, err = st.PostJob(ctx, p, 1, hs[0].ID, []store.Attendance{{hs[1].ID, 4}})
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err), "%v", err)
	_, _, err = st.PostJob(ctx, p, 2, hs[2].ID, []store.Attendance{{hs[1].ID, 4}})
	require.NoError(t, err)
	r, _, err := st.Reverse(ctx, p, tx.ID)
	require.NoError(t, err)
	_, _, err = st.Reverse(ctx, p, tx.ID)
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err), "%v", err)
	_, _, err = st.Reverse(ctx, p, r.ID)
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err), "%v", err)
	bal, fund, err := st.Balances(ctx, v.ID, store.BalanceQuery{Sort: "balance"})
	require.NoError(t, err)
	require.Equal(t, int64(-4), fund)
	t.Logf("%+v %+v %+v", *bal[0], *bal[1], *bal[2])
	ver, err := st.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	require.True(t, ver.OK(), ver.Mismatches)
	stmt, err := st.Statement(ctx, v.ID, hs[1].ID, "", "")
	require.NoError(t, err)
	t.Logf("%+v", stmt)
	_, err = st.DB().Exec("UPDATE ledger_entries SET amount = 1")
	require.Error(t, err)
	_, err = st.DB().Exec("DELETE FROM ledger_transactions")
	require.Error(t, err)
}
