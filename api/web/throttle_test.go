package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/api/web"
	"huangong/store"
)

// TestSignInLinksAreThrottled: guessing a card's token through sign-in
// links is throttled like the API, and the guesses write a few audit
// lines, not one each.
func TestSignInLinksAreThrottled(t *testing.T) {
	e := mustEnv(t)
	var before int64
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log").Scan(&before))
	c := e.client(t)
	statuses := map[int]int{}
	for i := range 30 {
		resp, body := c.get("/signin?token=hg_guess" + strconv.Itoa(i))
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Contains(t, body, "登录失败次数太多")
		}
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: api.FailureBurst, http.StatusTooManyRequests: 30 - api.FailureBurst}, statuses)
	// The right card from the same address signs in all the same: the
	// village shares one address, and one phone guessing must not lock
	// the others out.
	resp, _ := c.get("/signin?token=" + e.homeTok)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = e.client(t).get("/signin?token=hg_guess")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a wrong one still waits")

	var after int64
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log").Scan(&after))
	assert.LessOrEqual(t, after-before, int64(3), "31 denials, a few lines")
}

// TestDeadCookieSignsOutAndIsNoGuess: the office PC left on the board
// with a cadre token that is then revoked (or expires) polls /board/live
// every few seconds. Each poll is sent to sign in and told to drop the
// cookie, and none counts as a guess: a household's good card from the
// same village Wi-Fi still signs in, and its API calls are served.
func TestDeadCookieSignsOutAndIsNoGuess(t *testing.T) {
	e := mustEnv(t)
	secret := e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleCadre})
	board := e.signedIn(t, secret)
	resp, _ := board.get("/board/live?after=0")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tok, err := e.st.Authenticate(context.Background(), secret)
	require.NoError(t, err)
	_, err = e.st.RevokeToken(context.Background(), e.village.ID, tok.ID)
	require.NoError(t, err)

	// The tab keeps its cookie whatever it is told: each poll sends it.
	for range 3 * api.FailureBurst {
		req, err := http.NewRequest(http.MethodGet, e.url+"/board/live?after=0", nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: web.CookieName, Value: secret})
		resp, _ := e.client(t).do(req)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/signin", resp.Header.Get("Location"))
		cleared := false
		for _, ck := range resp.Cookies() {
			cleared = cleared || (ck.Name == web.CookieName && ck.MaxAge < 0)
		}
		require.True(t, cleared, "a dead cookie is cleared")
	}
	// A browser that obeys drops it: the next page sees no cookie.
	resp, _ = board.get("/board")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	u, err := url.Parse(e.url)
	require.NoError(t, err)
	assert.Empty(t, board.http.Jar.Cookies(u), "the browser was told to drop the cookie")

	home := e.client(t)
	resp, _ = home.get("/signin?token=" + url.QueryEscape(e.homeTok))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a good card from the same address signs in")
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.homeTok)
	resp, _ = home.do(req)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
