package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/storetest"
)

// tokenIDs lists the IDs of a list-tokens answer, failing on any field
// that would give a token away.
func tokenIDs(tb testing.TB, body map[string]any) []int64 {
	tb.Helper()
	var ids []int64
	items, _ := body["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		for _, secretish := range []string{"secret", "hash"} {
			assert.NotContains(tb, m, secretish)
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				assert.NotContains(tb, s, store.TokenPrefix, "field %s", k)
			}
		}
		ids = append(ids, int64(m["id"].(float64)))
	}
	return ids
}

func (e *testEnv) tokenID(tb testing.TB, secret string) int64 {
	tb.Helper()
	tok, err := e.st.Authenticate(context.Background(), secret)
	require.NoError(tb, err)
	return tok.ID
}

func TestListTokens_Scope(t *testing.T) {
	e := mustEnv(t)
	cadre, leader, home, neighbour := e.tokenID(t, e.cadre), e.tokenID(t, e.leader), e.tokenID(t, e.householdTok), e.tokenID(t, e.neighbourTok)

	resp, body := e.call(t, http.MethodGet, "/v1/tokens", e.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, []int64{cadre, leader, home, neighbour}, tokenIDs(t, body), "a cadre sees the village's tokens, not the other village's")
	first := body["items"].([]any)[2].(map[string]any)
	assert.Equal(t, "章仁标", first["headName"])
	assert.EqualValues(t, 3, first["group"])
	assert.Equal(t, true, first["live"])
	assert.NotEmpty(t, first["expiresAt"])
	assert.NotEmpty(t, first["lastUsedAt"], "tokenID signed in with it")

	resp, body = e.call(t, http.MethodGet, "/v1/tokens", e.householdTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, []int64{home}, tokenIDs(t, body), "a household sees its own")
	resp, body = e.call(t, http.MethodGet, "/v1/tokens", e.leader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, []int64{leader}, tokenIDs(t, body), "a leader sees its own")
	resp, body = e.call(t, http.MethodGet, fmt.Sprintf("/v1/tokens?householdId=%d", e.neighbour.ID), e.householdTok, nil)
	assertProblem(t, resp, body, http.StatusNotFound, "")
	resp, body = e.call(t, http.MethodGet, fmt.Sprintf("/v1/tokens?householdId=%d&live=true", e.neighbour.ID), e.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, []int64{neighbour}, tokenIDs(t, body))
}

func TestRevokeToken(t *testing.T) {
	e := mustEnv(t)
	clock := storetest.SetClock(e.st, time.Now().UTC())
	home, neighbour := e.tokenID(t, e.householdTok), e.tokenID(t, e.neighbourTok)
	extra, err := e.st.CreateToken(context.Background(), &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.home.ID})
	require.NoError(t, err)

	for _, tc := range []struct {
		name, token string
		id          int64
	}{
		{"another village's cadre", e.cadreB, home},
		{"another household", e.householdTok, neighbour},
		{"a leader, a household's", e.leader, home},
		{"missing", e.cadre, 9999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, http.MethodDelete, fmt.Sprintf("/v1/tokens/%d", tc.id), tc.token, nil)
			assertProblem(t, resp, body, http.StatusNotFound, "")
		})
	}
	resp, _ := e.call(t, http.MethodGet, "/v1/me", e.neighbourTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a refused revoke leaves the token live")

	// A household revokes its other card; the card stops within the same
	// second, on the same clock.
	resp, body := e.call(t, http.MethodDelete, fmt.Sprintf("/v1/tokens/%d", e.tokenID(t, extra)), e.householdTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.NotEmpty(t, body["revokedAt"])
	assert.Equal(t, false, body["live"])
	resp, body = e.call(t, http.MethodGet, "/v1/me", extra, nil)
	assertProblem(t, resp, body, http.StatusUnauthorized, "")

	// The cadre revokes the neighbour's card.
	resp, body = e.call(t, http.MethodDelete, fmt.Sprintf("/v1/tokens/%d", neighbour), e.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = e.call(t, http.MethodGet, "/v1/me", e.neighbourTok, nil)
	assertProblem(t, resp, body, http.StatusUnauthorized, "")
	resp, body = e.call(t, http.MethodDelete, fmt.Sprintf("/v1/tokens/%d", neighbour), e.cadre, nil)
	assertProblem(t, resp, body, http.StatusNotFound, "") // twice

	n, err := e.st.DB().NewSelect().Model((*store.AuditEntry)(nil)).
		Where("action = ?", "revoke-token").Where("outcome = ?", store.OutcomeOK).Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, int(n), "each revoke is audited")

	t.Run("expired", func(t *testing.T) {
		tok, err := e.st.Authenticate(context.Background(), e.householdTok)
		require.NoError(t, err)
		clock.Set(tok.ExpiresAt.Add(-time.Second))
		resp, _ := e.call(t, http.MethodGet, "/v1/me", e.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		clock.Set(*tok.ExpiresAt)
		resp, body := e.call(t, http.MethodGet, "/v1/me", e.householdTok, nil)
		assertProblem(t, resp, body, http.StatusUnauthorized, "")
	})
}

func TestReissueToken(t *testing.T) {
	e := mustEnv(t)
	resp, body := e.call(t, http.MethodPatch, "/v1/village", e.cadre, map[string]any{"publicUrl": "http://192.168.1.10:8080/"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "http://192.168.1.10:8080", body["publicUrl"])
	resp, body = e.call(t, http.MethodPatch, "/v1/village", e.cadre, map[string]any{"publicUrl": "ftp://x"})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.publicUrl")

	old := e.tokenID(t, e.householdTok)
	resp, body = e.call(t, http.MethodPost, fmt.Sprintf("/v1/households/%d/card", e.home.ID), e.cadre, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	secret := body["secret"].(string)
	assert.Equal(t, "http://192.168.1.10:8080/signin?token="+secret, body["signinUrl"])
	code := body["shortCode"].(string)
	assert.Regexp(t, `^[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}$`, code, "Crockford base32, grouped")
	assert.Equal(t, "http://192.168.1.10:8080/c/"+code, body["shortLink"])
	opened, err := e.st.CardSecret(t.Context(), strings.ToLower(strings.ReplaceAll(code, "-", "")))
	require.NoError(t, err)
	assert.Equal(t, secret, opened, "the short code opens this card's token")
	assert.Equal(t, []any{float64(old)}, body["revoked"])
	assert.Equal(t, "章仁标", body["token"].(map[string]any)["headName"])

	resp, body = e.call(t, http.MethodGet, "/v1/me", e.householdTok, nil)
	assertProblem(t, resp, body, http.StatusUnauthorized, "")
	resp, body = e.call(t, http.MethodGet, "/v1/me", secret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	for _, tc := range []struct {
		name, token string
		id          int64
		status      int
	}{
		{"another village's household", e.cadre, e.stranger.ID, http.StatusNotFound},
		{"by a household", secret, e.home.ID, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, http.MethodPost, fmt.Sprintf("/v1/households/%d/card", tc.id), tc.token, nil)
			assertProblem(t, resp, body, tc.status, "")
		})
	}
}
