package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestDisputeOnThePages: the household's page lists the posting of a done
// job with a dispute form for 3 days; a dispute shows on the cadre's
// board, where a cadre reverses it and the ledger stays balanced.
func TestDisputeOnThePages(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	h, _, j := e.doneJob(t)

	c := e.signedIn(t, e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &h.ID}))
	_, body := c.get(hpath(h))
	action := hpath(h) + "/jobs/" + strconv.FormatInt(j.ID, 10) + "/dispute"
	assert.Contains(t, body, "帮工记账", "the postings against the household are listed")
	assert.Contains(t, body, "1人 · 共1个工日")
	require.Contains(t, body, `action="`+action+`"`, "a posting younger than 3 days may be disputed")
	assert.Contains(t, body, "2027-04-10 18:00前可以提异议")
	token := csrfRE.FindStringSubmatch(body)[1]

	resp, _ := c.post(action, url.Values{"csrf": {token}, "reason": {"只来了半天"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = c.get(hpath(h) + "?done=disputed")
	assert.Contains(t, body, "异议已提交")
	assert.Contains(t, body, "已提异议，等村干部核实")
	assert.NotContains(t, body, `action="`+action+`"`, "disputed once")
	resp, body = c.post(action, url.Values{"csrf": {token}, "reason": {"再提一次"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "the API's 409, on the page")
	assert.Contains(t, body, `class="alert"`)

	cadre := e.signedIn(t, e.cadre)
	_, board := cadre.get("/board")
	resolve := "/board/disputes/" + strconv.FormatInt(j.ID, 10)
	assert.Contains(t, board, "记工异议", "the board flags the disputed job")
	assert.Contains(t, board, "只来了半天")
	require.Contains(t, board, `action="`+resolve+`"`)
	ctoken := csrfRE.FindStringSubmatch(board)[1]
	resp, _ = cadre.post(resolve, url.Values{"csrf": {ctoken}, "resolution": {"reverse"}, "note": {"核实只干了半天"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, board = cadre.get(resp.Header.Get("Location"))
	assert.NotContains(t, board, `action="`+resolve+`"`, "resolved: off the board")

	got, err := e.st.GetJob(ctx, e.village.ID, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.DisputeReversed, got.DisputeState)
	require.NotNil(t, got.ReversalID)
	ver, err := e.st.VerifyLedger(ctx, e.village.ID)
	require.NoError(t, err)
	assert.True(t, ver.OK(), "%v", ver.Mismatches)
	_, body = c.get(hpath(h))
	assert.Contains(t, body, "已冲正")
}
