package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestPolicy_AssistedFundPays: a vulnerable household follows 帮扶 by
// default, so the village fund, not the household, is debited the help it
// receives, while each worker is still credited in full; once a cadre
// sets it to 换工, later postings debit the household itself.
func TestPolicy_AssistedFundPays(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "皇珠村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 3)
	helped, a, b := hs[0], hs[1], hs[2]
	helped, err := st.UpdateHousehold(ctx, v.ID, helped.ID, helped.Version, func(h *store.Household) error {
		h.Elderly, h.Laborers = true, 0
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, store.PolicyAssisted, helped.EffectivePolicy(), "an elderly household is assisted by default")
	assert.Equal(t, store.PolicyExchange, a.EffectivePolicy())

	tx, _, err := st.PostJob(ctx, ledgerPosting(v.ID), 1, helped.ID, []store.Attendance{{HouseholdID: a.ID, HalfDays: 4}, {HouseholdID: b.ID, HalfDays: 2}})
	require.NoError(t, err)
	require.NotNil(t, tx.BeneficiaryID)
	assert.Equal(t, helped.ID, *tx.BeneficiaryID, "the help is recorded against the household helped")
	bal, fund := ledgerBalances(t, st, v.ID)
	assert.Zero(t, bal[helped.ID], "帮扶: the household is not debited")
	assert.EqualValues(t, -6, fund, "the fund pays the 3 workdays")
	assert.EqualValues(t, 4, bal[a.ID], "the workers' days still count")
	assert.EqualValues(t, 2, bal[b.ID])
	ledgerCheckBooks(t, st, v.ID)

	t.Run("a cadre sets 换工", func(t *testing.T) {
		exchange := store.PolicyExchange
		got, err := st.UpdateHousehold(ctx, v.ID, helped.ID, helped.Version, func(h *store.Household) error {
			h.Policy = &exchange
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, store.PolicyExchange, got.EffectivePolicy())
		_, _, err = st.PostJob(ctx, ledgerPosting(v.ID), 2, helped.ID, []store.Attendance{{HouseholdID: a.ID, HalfDays: 2}})
		require.NoError(t, err)
		bal, fund := ledgerBalances(t, st, v.ID)
		assert.EqualValues(t, -2, bal[helped.ID], "换工: later help is owed back")
		assert.EqualValues(t, -6, fund, "the earlier posting stays on the fund")
		ledgerCheckBooks(t, st, v.ID)
	})

	t.Run("an unknown policy is refused", func(t *testing.T) {
		h, err := st.GetHousehold(ctx, v.ID, b.ID)
		require.NoError(t, err)
		bogus := "gift"
		_, err = st.UpdateHousehold(ctx, v.ID, b.ID, h.Version, func(h *store.Household) error {
			h.Policy = &bogus
			return nil
		})
		assert.Equal(t, store.EINVALID, store.ErrorCode(err))
	})
}

// TestPolicy_NeverFlaggedAsOwing: a household debited before it became
// assisted (a posting under 换工, or a transfer) keeps its balance, as
// the ledger says, but is never flagged below the soft limit.
func TestPolicy_NeverFlaggedAsOwing(t *testing.T) {
	ctx := context.Background()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "皇珠村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 2)
	helped, worker := hs[0], hs[1]
	_, _, err := st.PostJob(ctx, ledgerPosting(v.ID), 1, helped.ID, []store.Attendance{{HouseholdID: worker.ID, HalfDays: 30}})
	require.NoError(t, err)
	below, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{BelowLimit: true})
	require.NoError(t, err)
	require.Len(t, below, 1, "换工: 15 days owed is below the −10 limit")

	_, err = st.UpdateHousehold(ctx, v.ID, helped.ID, helped.Version, func(h *store.Household) error {
		h.Elderly = true // now assisted by default
		return nil
	})
	require.NoError(t, err)
	rows, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{HouseholdID: helped.ID})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.EqualValues(t, -30, rows[0].Balance, "the ledger is as it was")
	assert.True(t, rows[0].FundCovers)
	assert.False(t, rows[0].BelowLimit, "but an assisted household is never flagged as owing")
	below, _, err = st.Balances(ctx, v.ID, store.BalanceQuery{BelowLimit: true})
	require.NoError(t, err)
	assert.Empty(t, below)
}
