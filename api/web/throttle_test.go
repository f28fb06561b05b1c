package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
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
	// The right card from the same address waits too, and says so.
	resp, _ := c.get("/signin?token=" + e.homeTok)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	var after int64
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log").Scan(&after))
	assert.LessOrEqual(t, after-before, int64(3), "31 denials, a few lines")
}
