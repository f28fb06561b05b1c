package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/api/web"
	"huangong/store"
)

// sessionCookie is the sign-in cookie an answer sets, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, k := range resp.Cookies() {
		if k.Name == web.CookieName && k.MaxAge > 0 {
			return k
		}
	}
	return nil
}

// TestShortLinkSignsIn: a card's short link, typed in any case, with or
// without its dashes, signs in as the card's long link does: the token's
// own cookie, a redirect to the household's page, no referrer. Revoking
// the card kills its short link, and the phone signed in through it.
func TestShortLinkSignsIn(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	card, err := e.st.ReissueCard(ctx, e.village.ID, e.home.ID, nil)
	require.NoError(t, err)
	shown := store.FormatCardCode(card.Code)
	require.Len(t, shown, store.CardCodeLen+2)

	var phone *client
	for _, typed := range []string{shown, strings.ToLower(shown), card.Code, strings.ToLower(card.Code), shown[:4] + strings.ToLower(shown[4:])} {
		c := e.client(t)
		resp, _ := c.get("/c/" + typed)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, typed)
		assert.Equal(t, hpath(e.home), resp.Header.Get("Location"), typed)
		assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
		ck := sessionCookie(resp)
		require.NotNil(t, ck, "the sign-in cookie is set for %s", typed)
		assert.Equal(t, card.Secret, ck.Value, "the card's own token: revoke and expiry work as for the long link")
		assert.True(t, ck.HttpOnly)
		resp, body := c.get(resp.Header.Get("Location"))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, e.home.HeadName)
		phone = c
	}

	// Typed into the sign-in page's form instead.
	resp, _ := e.client(t).post("/signin", url.Values{"token": {" " + strings.ToLower(shown) + " "}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the code typed in the sign-in form")
	assert.Equal(t, hpath(e.home), resp.Header.Get("Location"))
	require.NotNil(t, sessionCookie(resp))

	_, err = e.st.RevokeToken(ctx, e.village.ID, card.Token.ID)
	require.NoError(t, err)
	resp, body := e.client(t).get("/c/" + shown)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a revoked card's short link is dead")
	assert.Nil(t, sessionCookie(resp))
	assert.Contains(t, body, "无效")
	resp, _ = phone.get(hpath(e.home))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the phone it signed in is signed out")
	assert.Equal(t, "/signin", resp.Header.Get("Location"))
}

// TestShortLinkGuessesAreThrottled: a code is 50 bits, so wrong codes are
// failed guesses under the same per-address throttle as wrong tokens —
// 429 after the burst, the right code included (a throttled address must
// not tell a right code from a wrong one) — and the flood writes a few
// audit lines, none with a code in it. The card's long link (256 bits)
// still signs in from that address.
func TestShortLinkGuessesAreThrottled(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	card, err := e.st.ReissueCard(ctx, e.village.ID, e.home.ID, nil)
	require.NoError(t, err)
	var before int64
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log").Scan(&before))

	wrong := []byte(card.Code)
	c := e.client(t)
	statuses := map[int]int{}
	for i := range 30 {
		wrong[9] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[i%32]
		if string(wrong) == card.Code {
			wrong[8] = map[bool]byte{true: 'X', false: 'Y'}[wrong[8] != 'X']
		}
		resp, body := c.get("/c/" + store.FormatCardCode(string(wrong)))
		statuses[resp.StatusCode]++
		assert.Nil(t, sessionCookie(resp))
		if resp.StatusCode == http.StatusTooManyRequests {
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Contains(t, body, "登录失败次数太多")
		}
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: api.FailureBurst, http.StatusTooManyRequests: 30 - api.FailureBurst}, statuses)
	resp, _ := c.get("/c/not-a-code")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	resp, _ = c.get("/c/" + store.FormatCardCode(card.Code))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a throttled address waits even with the right code")
	resp, _ = c.get("/signin?token=" + url.QueryEscape(card.Secret))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the QR code's long link still signs in")

	var after, withCode int64
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log").Scan(&after))
	assert.LessOrEqual(t, after-before, int64(3), "32 denials, a few lines")
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE target LIKE '/c/%' AND target <> '/c/{code}'").Scan(&withCode))
	assert.Zero(t, withCode, "no code, right or guessed, is written to the audit log")
}
