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
