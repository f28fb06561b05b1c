package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestTokenCommands prints a group's cards, lists, revokes and reissues
// from the command line against a running service: the household's demo
// token stops when its group's cards are printed, a revoked card stops at
// once, and a reissued card revokes the one before.
func TestTokenCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokens.db")
	app := MustRunApp(t, db)
	base := "http://" + app.Addr()
	c := client{tb: t, base: base}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"token", args[0], "--db", db}, args[1:]...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	home := app.DemoTokens[store.RoleHousehold]
	status, me := c.do(http.MethodGet, "/v1/me", home, nil)
	require.Equal(t, http.StatusOK, status)
	h, err := app.Store.GetHousehold(ctx, app.Village.ID, int64(me["householdId"].(float64)))
	require.NoError(t, err)

	_, _, err = cmd("cards", "--group", "1")
	assert.Error(t, err, "no --pdf")
	_, _, err = cmd("cards", "--pdf", "x.pdf")
	assert.Error(t, err, "neither --group nor --all")
	_, _, err = cmd("cards", "--group", "1", "--pdf", "x.pdf")
	assert.Error(t, err, "no --base and no public address")

	pdfPath := filepath.Join(t.TempDir(), "cards.pdf")
	out, stderr, err := cmd("cards", "--group", itoa(h.Group), "--pdf", pdfPath, "--base", base)
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "warning", "127.0.0.1 is no address for a phone")
	assert.Contains(t, out, "旧卡已作废")
	info, err := os.Stat(pdfPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the cards are keys")
	raw, err := os.ReadFile(pdfPath)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(raw, []byte("%PDF-")))
	status, _ = c.do(http.MethodGet, "/v1/me", home, nil)
	assert.Equal(t, http.StatusUnauthorized, status, "printing the group's cards revoked the household's old card")

	out, _, err = cmd("list", "--household", itoa(h.ID))
	require.NoError(t, err)
	assert.Contains(t, out, h.HeadName+"户")
	assert.NotContains(t, out, store.TokenPrefix, "never a secret")
	assert.Equal(t, 2, strings.Count(out, "\n"), "one live card under the heading:\n%s", out)
	out, _, err = cmd("list", "--household", itoa(h.ID), "--all")
	require.NoError(t, err)
	assert.Contains(t, out, "已作废 revoked")

	// Reissue from the command line: a new card, the sheet's one revoked.
	out, _, err = cmd("reissue", "--household", itoa(h.ID), "--base", "http://192.168.1.10:8080", "--days", "30")
	require.NoError(t, err)
	m := regexp.MustCompile(`token=(hg_[a-z2-7]+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Contains(t, out, "该户旧卡已作废")
	card := m[1]
	status, _ = c.do(http.MethodGet, "/v1/me", card, nil)
	require.Equal(t, http.StatusOK, status)
	short := regexp.MustCompile(`http://192\.168\.1\.10:8080/c/([0-9A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{3})\n`).FindStringSubmatch(out)
	require.NotNil(t, short, "the short link is printed:\n%s", out)
	opened, err := app.Store.CardSecret(ctx, short[1])
	require.NoError(t, err)
	assert.Equal(t, card, opened, "the short link opens the new card")

	tok, err := app.Store.Authenticate(ctx, card)
	require.NoError(t, err)
	assert.WithinDuration(t, app.Store.Now().AddDate(0, 0, 30), *tok.ExpiresAt, time.Minute, "--days 30")
	_, _, err = cmd("reissue", "--household", itoa(h.ID), "--base", "http://192.168.1.10:8080", "--days", "-1")
	assert.Error(t, err, "an expiry in the past")
	out, _, err = cmd("revoke", itoa(tok.ID))
	require.NoError(t, err, out)
	status, _ = c.do(http.MethodGet, "/v1/me", card, nil)
	assert.Equal(t, http.StatusUnauthorized, status, "revoked from the command line: refused at once")
	_, _, err = cmd("revoke", itoa(tok.ID))
	assert.Error(t, err, "twice")
	_, _, err = cmd("revoke", "x")
	assert.Error(t, err)
	n, err := app.Store.DB().NewSelect().Model((*store.AuditEntry)(nil)).Where("actor = 'cli'").Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, int(n), "the sheet, both reissues (one refused) and both revokes are audited")
	n, err = app.Store.DB().NewSelect().Model((*store.AuditEntry)(nil)).Where("actor = 'cli'").Where("outcome = ?", store.OutcomeOK).Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, int(n))
}

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }
