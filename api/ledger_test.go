package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestTransfersAreIdempotent(t *testing.T) {
	e := mustEnv(t)
	transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1.5, "memo": "补记春耕互助"}

	resp, body := e.call(t, "POST", "/v1/transfers", e.cadre, transfer)
	assertProblem(t, resp, body, http.StatusBadRequest, "header.Idempotency-Key")

	resp, first := e.call(t, "POST", "/v1/transfers", e.cadre, transfer, "Idempotency-Key", "k-1")
	require.Equal(t, 201, resp.StatusCode, first)
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	entries := first["entries"].([]any)
	require.Len(t, entries, 2)
	assert.EqualValues(t, -1.5, entries[0].(map[string]any)["workdays"])
	assert.EqualValues(t, 1.5, entries[1].(map[string]any)["workdays"])

	// The same key and body, even re-ordered, replays the first answer.
	resp, again := e.call(t, "POST", "/v1/transfers", e.cadre,
		[]byte(`{"memo":"补记春耕互助","workdays":1.5,"to":`+itoa(e.home.ID)+`,"from":`+itoa(e.neighbour.ID)+`}`), "Idempotency-Key", "k-1")
	require.Equal(t, 201, resp.StatusCode, again)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first["id"], again["id"])

	other := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 2, "memo": "补记春耕互助"}
	resp, body = e.call(t, "POST", "/v1/transfers", e.cadre, other, "Idempotency-Key", "k-1")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "header.Idempotency-Key")

	_, bal := e.call(t, "GET", "/v1/balances?sort=balance", e.cadre, nil)
	items := bal["items"].([]any)
	require.Len(t, items, 2)
	assert.EqualValues(t, -1.5, items[0].(map[string]any)["balance"], "posted once")
	assert.Equal(t, "章吉仙", items[0].(map[string]any)["headName"])
	assert.EqualValues(t, -10, bal["softLimit"])

	t.Run("bad amounts and parties", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			body     map[string]any
			location string
		}{
			{"quarter day", map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1.25, "memo": "x"}, "body.workdays"},
			{"zero", map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 0, "memo": "x"}, "body.workdays"},
			{"negative", map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": -1, "memo": "x"}, "body.workdays"},
			{"to itself", map[string]any{"from": e.home.ID, "to": e.home.ID, "workdays": 1, "memo": "x"}, "body.to"},
			{"unknown household", map[string]any{"from": 999, "to": e.home.ID, "workdays": 1, "memo": "x"}, "body.from"},
			{"transfer without to", map[string]any{"from": e.home.ID, "workdays": 1, "memo": "x"}, "body.to"},
			{"donation with to", map[string]any{"kind": "donation", "from": e.home.ID, "to": e.neighbour.ID, "workdays": 1, "memo": "x"}, "body.to"},
			{"no memo", map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1}, "body"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := e.call(t, "POST", "/v1/transfers", e.cadre, tc.body, "Idempotency-Key", "bad-"+tc.name)
				assertProblem(t, resp, body, http.StatusUnprocessableEntity, tc.location)
			})
		}
		var n int
		require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM ledger_transactions").Scan(&n))
		assert.Equal(t, 1, n, "nothing posted by bad requests")
	})

	t.Run("households may not post", func(t *testing.T) {
		resp, body := e.call(t, "POST", "/v1/transfers", e.householdTok, transfer, "Idempotency-Key", "k-2")
		assertProblem(t, resp, body, http.StatusForbidden, "")
	})
}

func TestReversalOnceAndStatements(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	job, _, err := e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test", Date: "2026-04-22", Memo: "插秧"},
		1, e.home.ID, []store.Attendance{{HouseholdID: e.neighbour.ID, HalfDays: 3}})
	require.NoError(t, err)
	path := "/v1/transactions/" + itoa(job.ID) + "/reversal"

	resp, rev := e.call(t, "POST", path, e.cadre, map[string]any{"memo": "记错了出工人"}, "Idempotency-Key", "r-1")
	require.Equal(t, 201, resp.StatusCode, rev)
	assert.EqualValues(t, job.ID, rev["reversesId"])
	assert.Equal(t, "reversal", rev["kind"])

	resp, again := e.call(t, "POST", path, e.cadre, map[string]any{"memo": "记错了出工人"}, "Idempotency-Key", "r-1")
	require.Equal(t, 201, resp.StatusCode)
	assert.Equal(t, rev["id"], again["id"], "the same key replays")

	resp, body := e.call(t, "POST", path, e.cadre, map[string]any{"memo": "again"}, "Idempotency-Key", "r-2")
	assertProblem(t, resp, body, http.StatusConflict, "")
	assert.Contains(t, body["detail"], "already reversed")
	assert.Contains(t, body["detail"], "下一步：如仍有出入，请另记一笔转账; next: if something is still wrong, post a transfer (create-transfer)")

	resp, body = e.call(t, "POST", "/v1/transactions/"+itoa(int64(rev["id"].(float64)))+"/reversal", e.cadre, map[string]any{"memo": "x"}, "Idempotency-Key", "r-3")
	assertProblem(t, resp, body, http.StatusConflict, "")
	resp, body = e.call(t, "POST", "/v1/transactions/999/reversal", e.cadre, map[string]any{"memo": "x"}, "Idempotency-Key", "r-4")
	assertProblem(t, resp, body, http.StatusNotFound, "")

	resp, st := e.call(t, "GET", "/v1/households/"+itoa(e.neighbour.ID)+"/statement", e.neighbourTok, nil)
	require.Equal(t, 200, resp.StatusCode, st)
	lines := st["lines"].([]any)
	require.Len(t, lines, 2)
	assert.EqualValues(t, 1.5, lines[0].(map[string]any)["balance"])
	assert.EqualValues(t, 0, lines[1].(map[string]any)["balance"])
	assert.EqualValues(t, 0, st["closing"])

	resp, body = e.call(t, "GET", "/v1/households/"+itoa(e.neighbour.ID)+"/statement", e.householdTok, nil)
	assertProblem(t, resp, body, http.StatusNotFound, "")
	resp, body = e.call(t, "GET", "/v1/households/"+itoa(e.neighbour.ID)+"/statement?from=2026-05-01&to=2026-04-01", e.cadre, nil)
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.from")

	resp, own := e.call(t, "GET", "/v1/balances?sort=-balance", e.householdTok, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Len(t, own["items"], 1, "a household sees its own balance only")
	assert.NotContains(t, own, "fund", "the village fund is the cadre's to see")
	assert.EqualValues(t, e.home.ID, own["items"].([]any)[0].(map[string]any)["householdId"])

	resp, ver := e.call(t, "GET", "/v1/ledger/verify", e.cadre, nil)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, true, ver["ok"], ver)
	assert.EqualValues(t, 2, ver["transactions"])
}

func TestSoftLimitFlags(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	_, _, err := e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test"},
		1, e.home.ID, []store.Attendance{{HouseholdID: e.neighbour.ID, HalfDays: 8}})
	require.NoError(t, err)
	_, body := e.call(t, "GET", "/v1/balances?belowLimit=true", e.cadre, nil)
	assert.Empty(t, body["items"], "−4 workdays is above the default −10")

	resp, body := e.call(t, "PATCH", "/v1/village", e.cadre, map[string]any{"softLimit": -3})
	require.Equal(t, 200, resp.StatusCode, body)
	assert.EqualValues(t, -3, body["softLimit"])
	_, body = e.call(t, "GET", "/v1/balances?belowLimit=true", e.cadre, nil)
	require.Len(t, body["items"], 1)
	row := body["items"].([]any)[0].(map[string]any)
	assert.Equal(t, "章仁标", row["headName"])
	assert.Equal(t, true, row["belowLimit"])
	assert.EqualValues(t, 4, row["received"])

	resp, body = e.call(t, "PATCH", "/v1/village", e.cadre, map[string]any{"softLimit": 2})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.softLimit")

	_, body = e.call(t, "GET", "/v1/village", e.householdTok, nil)
	assert.Equal(t, "carry", body["settlePolicy"], "balances carry over unless the village says otherwise")
	resp, body = e.call(t, "PATCH", "/v1/village", e.cadre, map[string]any{"settlePolicy": "zero"})
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "zero", body["settlePolicy"])
	resp, body = e.call(t, "PATCH", "/v1/village", e.cadre, map[string]any{"settlePolicy": "forgive"})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.settlePolicy")
}

// TestLeaderReadsTeamBalances: a leader sees the balances and statements of
// its team's member households and nobody else's; household= narrows a
// cadre's list to one, and names none outside the caller's view.
func TestLeaderReadsTeamBalances(t *testing.T) {
	e := mustEnv(t)
	resp, body := e.call(t, "POST", "/v1/transfers", e.cadre,
		map[string]any{"from": e.home.ID, "to": e.neighbour.ID, "workdays": 2, "memo": "补记"}, "Idempotency-Key", "lb-1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)

	resp, body = e.call(t, "GET", "/v1/balances", e.leader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	items := body["items"].([]any)
	require.Len(t, items, 1, "only the team's member households")
	assert.EqualValues(t, e.neighbour.ID, items[0].(map[string]any)["householdId"])
	assert.EqualValues(t, 2, items[0].(map[string]any)["balance"])
	assert.NotContains(t, body, "fund", "the fund is shown to cadres")

	resp, body = e.call(t, "GET", "/v1/households/"+itoa(e.neighbour.ID)+"/statement", e.leader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.EqualValues(t, 2, body["closing"])

	resp, body = e.call(t, "GET", "/v1/balances?household="+itoa(e.home.ID), e.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Len(t, body["items"], 1)
	assert.EqualValues(t, -2, body["items"].([]any)[0].(map[string]any)["balance"])

	for _, tc := range []struct{ name, path, token string }{
		{"leader, a non-member's balance", "/v1/balances?household=" + itoa(e.home.ID), e.leader},
		{"leader, a non-member's statement", "/v1/households/" + itoa(e.home.ID) + "/statement", e.leader},
		{"household, another's balance", "/v1/balances?household=" + itoa(e.neighbour.ID), e.householdTok},
		{"cadre, another village's household", "/v1/balances?household=" + itoa(e.stranger.ID), e.cadre},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, "GET", tc.path, tc.token, nil)
			assertProblem(t, resp, body, http.StatusNotFound, "")
		})
	}
}

// TestPostingAuditLine: an HTTP posting's audit line is the one the store
// commits with the posting (ok, the status answered), a replay's too, and
// a refused posting still gets its own line.
func TestPostingAuditLine(t *testing.T) {
	e := mustEnv(t)
	transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1, "memo": "补记"}
	lines := func() []string {
		rows, err := e.st.DB().Query("SELECT outcome, status, target FROM audit_log WHERE action = 'create-transfer' ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var outcome, target string
			var status int
			require.NoError(t, rows.Scan(&outcome, &status, &target))
			out = append(out, fmt.Sprintf("%s %d %s", outcome, status, target))
		}
		return out
	}
	resp, body := e.call(t, "POST", "/v1/transfers", e.cadre, transfer, "Idempotency-Key", "a-1")
	require.Equal(t, 201, resp.StatusCode, body)
	resp, body = e.call(t, "POST", "/v1/transfers", e.cadre, transfer, "Idempotency-Key", "a-1")
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), body)
	transfer["to"] = e.neighbour.ID
	resp, body = e.call(t, "POST", "/v1/transfers", e.cadre, transfer, "Idempotency-Key", "a-2")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.to")
	assert.Equal(t, []string{"ok 201 /v1/transfers", "ok 201 /v1/transfers", "rejected 422 /v1/transfers"}, lines())
}
