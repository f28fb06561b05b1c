package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestRevokedCardSignsThePhoneOut: a cadre revokes a household's card on
// the cards page and the phone signed in with it is out on its next
// request, within the same second of the same clock; an expired card's
// cookie is out the same way, and no cookie outlives its card.
func TestRevokedCardSignsThePhoneOut(t *testing.T) {
	e := mustEnv(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, cst)
	e.st.Now = func() time.Time { return now } // stopped: everything below happens in one second

	phone := e.signedIn(t, e.neighbourTok)
	resp, _ := phone.get(hpath(e.neighbour))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	csrf := phone.csrf(hpath(e.neighbour))
	tok, err := e.st.Authenticate(context.Background(), e.neighbourTok)
	require.NoError(t, err)

	board := e.signedIn(t, e.cadre)
	form := url.Values{"csrf": {board.csrf("/board/cards")}, "group": {strconv.Itoa(e.neighbour.Group)}}
	resp, _ = board.post("/board/cards/tokens/"+strconv.FormatInt(tok.ID, 10)+"/revoke", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, body := board.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "已作废")

	resp, _ = phone.get(hpath(e.neighbour))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the page sends the phone to sign in again")
	assert.Equal(t, "/signin", resp.Header.Get("Location"))
	resp, _ = phone.post("/signout", url.Values{"csrf": {csrf}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a form from the revoked cookie is refused")
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.neighbourTok)
	resp, _ = phone.do(req)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "and the token itself")

	t.Run("cookie lives no longer than its card", func(t *testing.T) {
		soon := now.Add(10 * 24 * time.Hour)
		secret := e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.neighbour.ID, ExpiresAt: &soon})
		c := e.client(t)
		resp, _ := c.get("/signin?token=" + url.QueryEscape(secret))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		var maxAge int
		for _, ck := range resp.Cookies() {
			if ck.Name == "huangong_session" {
				maxAge = ck.MaxAge
			}
		}
		assert.Equal(t, int((10 * 24 * time.Hour).Seconds()), maxAge)

		now = soon.Add(-time.Second)
		resp, _ = c.get(hpath(e.neighbour))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		now = soon
		resp, _ = c.get(hpath(e.neighbour))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "an expired card signs nobody in")
	})
}

// TestCardsPage: the cadre's cards page lists a group's households with
// their live cards; reissuing one answers with the new card as a PDF and
// revokes the old card; the group's sheet reissues every card of it.
func TestCardsPage(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	board := e.signedIn(t, e.cadre)
	group := strconv.Itoa(e.home.Group)

	resp, body := board.get("/board/cards?group=" + group)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, e.home.HeadName)
	assert.Contains(t, body, "本机地址", "the test server is 127.0.0.1: the page says no phone reaches it")
	homeTok, err := e.st.Authenticate(ctx, e.homeTok)
	require.NoError(t, err)
	assert.Contains(t, body, `data-token="`+strconv.FormatInt(homeTok.ID, 10)+`"`, "the household's live card")

	household := e.signedIn(t, e.homeTok)
	resp, _ = household.get("/board/cards")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "cadres only")

	csrf := board.csrf("/board/cards?group=" + group)
	resp, _ = board.post("/board/cards/"+strconv.FormatInt(e.home.ID, 10)+"/reissue", url.Values{"group": {group}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no form token")
	resp, pdf := board.post("/board/cards/"+strconv.FormatInt(e.home.ID, 10)+"/reissue", url.Values{"csrf": {csrf}, "group": {group}})
	require.Equal(t, http.StatusOK, resp.StatusCode, pdf)
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.True(t, strings.HasPrefix(pdf, "%PDF-"))
	_, err = e.st.Authenticate(ctx, e.homeTok)
	assert.Equal(t, store.EUNAUTHORIZED, store.ErrorCode(err), "the reissue revoked the old card")
	resp, _ = household.get(hpath(e.home))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "and signed its phone out")

	resp, _ = board.post("/board/cards/"+strconv.FormatInt(e.other.ID*1000, 10)+"/reissue", url.Values{"csrf": {csrf}, "group": {group}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	before, _, err := e.st.ListTokens(ctx, e.village.ID, store.TokenFilter{Role: store.RoleHousehold, Live: true}, store.Page{Limit: 200})
	require.NoError(t, err)
	resp, pdf = board.post("/board/cards/sheet", url.Values{"csrf": {csrf}, "group": {group}})
	require.Equal(t, http.StatusOK, resp.StatusCode, pdf)
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	after, _, err := e.st.ListTokens(ctx, e.village.ID, store.TokenFilter{Role: store.RoleHousehold, Live: true}, store.Page{Limit: 200})
	require.NoError(t, err)
	groupOf := map[int64]int{}
	for _, tk := range after {
		groupOf[*tk.HouseholdID] = tk.Household.Group
	}
	for _, tk := range before {
		if tk.Household.Group == e.home.Group {
			for _, a := range after {
				assert.NotEqual(t, tk.ID, a.ID, "the group's old cards are revoked")
			}
		}
	}
	hh, _, err := e.st.ListHouseholds(ctx, e.village.ID, store.HouseholdFilter{Group: e.home.Group}, store.Page{Limit: 200})
	require.NoError(t, err)
	for _, h := range hh {
		assert.Contains(t, groupOf, h.ID, "household %d of the group has a new card", h.ID)
	}
}
