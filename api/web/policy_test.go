package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestAssistedHouseholdNeverOwes: 章仁标 (elderly, no young labor) is 帮扶
// by default. Helped every season, his balance stays at or above zero, the
// fund carries his help, and neither his page nor the printed notice
// calls him a debtor; his page words it as help received and given. Set
// to 换工 by a cadre, later help is owed back and his page says so.
func TestAssistedHouseholdNeverOwes(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	require.Equal(t, store.PolicyAssisted, e.home.EffectivePolicy())
	bal, fund, err := e.st.Balances(ctx, e.village.ID, store.BalanceQuery{HouseholdID: e.home.ID})
	require.NoError(t, err)
	require.Len(t, bal, 1)
	assert.Positive(t, bal[0].Received, "the demo's history helped him")
	assert.GreaterOrEqual(t, bal[0].Balance, int64(0))
	assert.Negative(t, fund, "the village fund paid")
	ver, err := e.st.VerifyLedger(ctx, e.village.ID)
	require.NoError(t, err)
	assert.True(t, ver.OK(), ver.Mismatches)

	home := e.signedIn(t, e.homeTok)
	resp, page := home.get(hpath(e.home))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, page, "欠", "the household page never calls him a debtor")
	assert.Contains(t, page, "得到帮助 "+strconv.FormatFloat(float64(bal[0].Received)/2, 'f', -1, 64)+" 天工")
	assert.Contains(t, page, "帮别人 ")
	assert.Contains(t, page, "帮扶户")

	cadre := e.signedIn(t, e.cadre)
	resp, notice := cadre.get("/notice?lang=zh")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, notice, "欠", "the printed notice lists no one as owing")
	row := regexp.MustCompile(`<tr data-household="` + strconv.FormatInt(e.home.ID, 10) + `"([^>]*)><td>([^<]*)(<small>※</small>)?</td>(?:<td class="num">[^<]*</td>){2}<td class="num">([^<]*)</td>`).FindStringSubmatch(notice)
	require.NotNil(t, row, "his line on the notice")
	assert.NotContains(t, row[1], "below")
	assert.NotEmpty(t, row[3], "marked as assisted")
	assert.False(t, strings.HasPrefix(row[4], "-"), "his balance %q is not negative", row[4])

	resp, board := cadre.get("/board?lang=zh")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotRegexp(t, `(?s)低于警戒线的.*`+e.home.HeadName, board, "not flagged below the soft limit")

	t.Run("a cadre sets 换工", func(t *testing.T) {
		h, err := e.st.UpdateHousehold(ctx, e.village.ID, e.home.ID, e.home.Version, func(h *store.Household) error {
			exchange := store.PolicyExchange
			h.Policy = &exchange
			return nil
		})
		require.NoError(t, err)
		neighbour := e.neighbour.ID
		_, _, err = e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test"}, 99999, h.ID,
			[]store.Attendance{{HouseholdID: neighbour, HalfDays: 2*bal[0].Balance + 40}})
		require.NoError(t, err)
		after, fundAfter, err := e.st.Balances(ctx, e.village.ID, store.BalanceQuery{HouseholdID: h.ID})
		require.NoError(t, err)
		assert.Equal(t, bal[0].Balance-2*bal[0].Balance-40, after[0].Balance, "换工: the household is debited")
		assert.Equal(t, fund, fundAfter, "the fund is not")
		_, page := home.get(hpath(h))
		assert.Contains(t, page, "您家还欠乡亲们")
	})
}
