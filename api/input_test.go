package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditRows counts the audit lines with an action and outcome.
func auditRows(tb testing.TB, e *testEnv, action, outcome string) int {
	tb.Helper()
	var n int
	require.NoError(tb, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = ? AND outcome = ?", action, outcome).Scan(&n))
	return n
}

func tableRows(tb testing.TB, e *testEnv, table string) int {
	tb.Helper()
	var n int
	require.NoError(tb, e.st.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func TestNULAndBrokenTextAre422NamingTheField(t *testing.T) {
	l := mustLoop(t)
	cases := []struct {
		name, method, path, location, action string
		body                                 any
	}{
		{"household head", "POST", "/v1/households", "body.headName", "create-household",
			map[string]any{"headName": "王\u0000五", "group": 1, "laborers": 1, "members": 1}},
		{"field name", "POST", "/v1/fields", "body.name", "create-field",
			map[string]any{"householdId": l.home.ID, "name": "门口\u0000田", "area": 1.6, "crop": "early_rice"}},
		{"team name", "POST", "/v1/teams", "body.name", "create-team",
			map[string]any{"name": "\u0000", "leaderName": "王五"}},
		{"season name", "POST", "/v1/seasons", "body.name", "create-season",
			map[string]any{"kind": "summer", "name": "双抢\u0000", "startDate": "2026-07-10", "endDate": "2026-08-05", "tasks": []string{"harvest"}}},
		{"season tasks", "POST", "/v1/seasons", "body.tasks[0]", "create-season",
			map[string]any{"kind": "summer", "startDate": "2026-07-10", "endDate": "2026-08-05", "tasks": []string{"harvest\u0000"}}},
		{"season date", "POST", "/v1/seasons", "body.startDate", "create-season",
			map[string]any{"kind": "summer", "startDate": "2026-07-10\u0000", "endDate": "2026-08-05", "tasks": []string{"harvest"}}},
		{"invalid UTF-8", "POST", "/v1/households", "body.headName", "create-household",
			[]byte("{\"headName\":\"\xff\xfe\",\"group\":1,\"laborers\":1,\"members\":1}")},
		{"lone surrogate", "POST", "/v1/households", "body.headName", "create-household",
			[]byte(`{"headName":"\ud800","group":1,"laborers":1,"members":1}`)},
		{"query", "GET", "/v1/seasons?year=%00", "query.year", "list-seasons", nil},
		{"path", "GET", "/v1/households/%00", "path.id", "get-household", nil},
		{"path in a write", "PATCH", "/v1/seasons/1%00", "path.id", "update-season", map[string]any{"name": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := countRows(t, l.testEnv)
			seasons := tableRows(t, l.testEnv, "seasons")
			audited := auditRows(t, l.testEnv, c.action, "rejected")
			resp, body := l.call(t, c.method, c.path, l.cadre, c.body)
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, c.location)
			assert.Equal(t, before, countRows(t, l.testEnv), "nothing is written")
			assert.Equal(t, seasons, tableRows(t, l.testEnv, "seasons"), "nothing is written")
			assert.Equal(t, audited+1, auditRows(t, l.testEnv, c.action, "rejected"), "the refusal is audited")
		})
	}

	t.Run("a real U+FFFD is text", func(t *testing.T) {
		resp, body := l.call(t, "POST", "/v1/households", l.cadre, map[string]any{"headName": "王\uFFFD", "group": 1, "laborers": 1, "members": 1})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	})
}

func TestNULInAnUnknownPathIsAudited(t *testing.T) {
	e := mustEnv(t)
	resp, body := e.call(t, "GET", "/v1/no%00such", e.cadre, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)
	var n int
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE outcome = 'denied' AND target = '/v1/no%00such'").Scan(&n))
	assert.Equal(t, 1, n)
}

// TestADenialWithNULInThePathIsAudited: the audit line of a denial keeps
// a path with a NUL in it (as %00) instead of failing to be written.
func TestADenialWithNULInThePathIsAudited(t *testing.T) {
	e := mustEnv(t)
	for _, c := range []struct{ method, path, token, action, target string }{
		{"PATCH", "/v1/households/%00", e.leader, "update-household", "/v1/households/%00"},
		{"DELETE", "/v1/blocked-days/2026-04-22%00", e.householdTok, "unblock-day", "/v1/blocked-days/2026-04-22%00"},
		{"GET", "/v1/audit/%00", "", "unknown", "/v1/audit/%00"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			resp, body := e.call(t, c.method, c.path, c.token, nil)
			assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, resp.StatusCode, body)
			var n int
			require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = ? AND outcome = 'denied' AND target = ?",
				c.action, c.target).Scan(&n))
			assert.Equal(t, 1, n, "the denial is audited, its NUL written as %%00")
		})
	}
}
