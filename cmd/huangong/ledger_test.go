package main

import (
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/seed"
	"huangong/store"
	"huangong/store/testdb"
)

func TestLedgerCommands(t *testing.T) {
	ctx := context.Background()
	db := testdb.Database(t, "ledger.db")
	runCmd := commandRunner(ctx)
	_, err := runCmd("seed", "--db", db)
	require.NoError(t, err)

	// Post one more job: 章吉仙 helps 章仁标 for a day and a half. (The
	// demo may already hold a season's history; only the change counts.)
	st, err := store.Open(ctx, db)
	require.NoError(t, err)
	v, err := st.FindVillage(ctx, seed.DemoName)
	require.NoError(t, err)
	hs, _, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{}, store.Page{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, seed.StoryHead, hs[0].HeadName)
	before, fundBefore, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: hs[0].ID})
	require.NoError(t, err)
	_, _, err = st.PostJob(ctx, store.Posting{VillageID: v.ID, Actor: "test"}, 1_000_000, hs[0].ID,
		[]store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 3}})
	require.NoError(t, err)
	balances, fund, err := st.Balances(ctx, v.ID, store.BalanceQuery{})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	// 章仁标 is assisted (帮扶, issue 15): the village fund, not he, pays.
	assert.Equal(t, before[0].Balance, balances[0].Balance)
	assert.Equal(t, fundBefore-3, fund)

	out, err := runCmd("ledger", "verify", "--db", db)
	require.NoError(t, err, out)
	assert.Contains(t, out, "皇珠村")
	assert.Contains(t, out, "ok")

	out, err = runCmd("ledger", "export", "--csv", "--db", db)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "\uFEFF"), "a BOM so Excel/WPS read the Chinese")
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 1+len(balances)+1, "header, one row a household, the fund")
	assert.Len(t, balances, 150)
	for i, b := range balances {
		below := ""
		if b.BelowLimit {
			below = "是 yes"
		}
		assert.Equal(t, []string{itoa64(b.HouseholdID), b.HeadName, strconv.Itoa(b.Group),
			formatWorkdays(b.Given), formatWorkdays(b.Received), formatWorkdays(b.Balance), below}, records[i+1])
	}
	assert.Equal(t, formatWorkdays(fund), records[len(records)-1][5])
	assert.Equal(t, "1", records[1][0])
	assert.Equal(t, seed.StoryHead, records[1][1])

	// Break a stored balance behind the ledger's back: verify must say so.
	st, err = store.Open(ctx, db)
	require.NoError(t, err)
	_, err = st.DB().Exec("UPDATE accounts SET balance = balance + 1 WHERE household_id = ?", hs[1].ID)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	out, err = runCmd("ledger", "verify", "--db", db)
	assert.ErrorIs(t, err, errLedgerUnbalanced)
	assert.Contains(t, out, "MISMATCH")
	assert.Contains(t, out, "household:"+itoa64(hs[1].ID))

	_, err = runCmd("ledger", "balance")
	assert.Error(t, err)
}
