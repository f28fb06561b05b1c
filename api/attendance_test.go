package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompletionAttendanceRules checks the rules complete-job applies to
// what a leader records: each broken rule is a 422 naming the line, and
// nothing is written.
func TestCompletionAttendanceRules(t *testing.T) {
	l := mustLoop(t) // 2026-04-20 08:00 in the village
	reqID := l.request(t, l.householdTok, l.field.ID)
	future := l.job(t, reqID, "2026-04-21") // neighbour, 2 people
	l.confirm(t, future)
	today := l.job(t, l.request(t, l.householdTok, l.secondField(t)), "2026-04-20",
		map[string]any{"householdId": l.neighbour.ID, "workers": 2}, map[string]any{"householdId": l.member2.ID, "workers": 1})
	l.confirm(t, today)

	line := func(h int64, workdays float64, extra ...any) map[string]any {
		m := map[string]any{"householdId": h, "workdays": workdays}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	att := func(lines ...map[string]any) map[string]any { return map[string]any{"attendance": lines} }
	for _, tc := range []struct {
		name     string
		job      int64
		body     map[string]any
		location string
		detail   string
	}{
		{"a job dated tomorrow", future, att(line(l.neighbour.ID, 2)), "path.id", "还没到"},
		{"1.5 workdays for one person", today, att(line(l.neighbour.ID, 2), line(l.member2.ID, 1.5)), "body.attendance[1].workdays", "at most 1 workday"},
		{"2.5 workdays for a household's two people", today, att(line(l.neighbour.ID, 2.5)), "body.attendance[0].workdays", "每人每个派工日最多记1个工日"},
		{"more people than planned plus the slack of 2", today, att(line(l.neighbour.ID, 2), line(l.member2.ID, 1),
			line(l.outsider.ID, 3, "helper", true, "workers", 3, "reason", "亲戚来帮忙")), "body.attendance[2].workers", "slack of 2"},
		{"a named helper without a reason", today, att(line(l.neighbour.ID, 2), line(l.outsider.ID, 1, "helper", true)), "body.attendance[1].reason", "请写明原因"},
		{"a helper with a blank reason", today, att(line(l.outsider.ID, 1, "helper", true, "reason", "  ")), "body.attendance[0].reason", "reason"},
		{"the same household twice", today, att(line(l.neighbour.ID, 1), line(l.neighbour.ID, 1)), "body.attendance[1].householdId", "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopRows(t, l)
			resp, body := l.call(t, "POST", "/v1/jobs/"+itoa(tc.job)+"/complete", l.leader, tc.body, "Idempotency-Key", "bad-"+tc.name)
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, tc.location)
			assert.Contains(t, body["detail"], tc.detail)
			assert.Equal(t, before, loopRows(t, l), "nothing is written")
		})
	}

	t.Run("a cadre raises the slack", func(t *testing.T) {
		resp, body := l.call(t, "PATCH", "/v1/village", l.cadre, map[string]any{"attendanceSlack": 3})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.EqualValues(t, 3, body["attendanceSlack"])
		resp, body = l.call(t, "POST", "/v1/jobs/"+itoa(today)+"/complete", l.leader, att(line(l.neighbour.ID, 2), line(l.member2.ID, 1),
			line(l.outsider.ID, 2.5, "helper", true, "workers", 3, "reason", "亲戚来帮忙")), "Idempotency-Key", "ok")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		helper := body["attendance"].([]any)[2].(map[string]any)
		assert.Equal(t, "亲戚来帮忙", helper["reason"])
		assert.EqualValues(t, 3, helper["workers"])
		assert.Equal(t, "open", body["dispute"])
	})

	t.Run("on its day the future job may be completed", func(t *testing.T) {
		l.clock.Advance(34 * time.Hour) // 2026-04-21 18:00
		resp, body := l.call(t, "POST", "/v1/jobs/"+itoa(future)+"/complete", l.leader, att(line(l.neighbour.ID, 2)), "Idempotency-Key", "tomorrow")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	})
}

// TestDisputes walks a posting the helped household disputes: only it
// may, within 3 days; the board and the season report flag it; a cadre
// reverses it and the ledger stays balanced; later disputes are 409.
func TestDisputes(t *testing.T) {
	l := mustLoop(t)
	complete := func(fieldID, worker int64, workdays float64) int64 {
		t.Helper()
		jobID := l.job(t, l.request(t, l.householdTok, fieldID), "2026-04-20", map[string]any{"householdId": worker, "workers": workdays})
		l.confirm(t, jobID)
		resp, body := l.call(t, "POST", "/v1/jobs/"+itoa(jobID)+"/complete", l.leader,
			map[string]any{"attendance": []map[string]any{{"householdId": worker, "workdays": workdays}}}, "Idempotency-Key", "c-"+itoa(jobID))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		return jobID
	}
	disputed := complete(l.field.ID, l.neighbour.ID, 2)
	lapsed := complete(l.secondField(t), l.member2.ID, 1)
	dispute := map[string]any{"reason": "我家那天只来了一个人"}
	path := func(id int64, op string) string { return "/v1/jobs/" + itoa(id) + "/" + op }

	t.Run("the household sees the posting and its window", func(t *testing.T) {
		resp, body := l.call(t, "GET", "/v1/jobs?state=done", l.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Len(t, items(body), 2)
		assert.Equal(t, "open", items(body)[0]["dispute"])
		assert.Equal(t, "2026-04-23T00:00:00Z", items(body)[0]["disputeUntil"], "3 days after 08:00 CST")
	})

	l.clock.Advance(47 * time.Hour)
	t.Run("another household cannot dispute it", func(t *testing.T) {
		resp, body := l.call(t, "POST", path(disputed, "dispute"), l.neighbourTok, dispute)
		assertProblem(t, resp, body, http.StatusNotFound, "")
	})
	t.Run("a leader cannot dispute it", func(t *testing.T) {
		resp, body := l.call(t, "POST", path(disputed, "dispute"), l.leader, dispute)
		assertProblem(t, resp, body, http.StatusForbidden, "")
	})
	t.Run("within 3 days the household disputes it", func(t *testing.T) {
		resp, body := l.call(t, "POST", path(disputed, "dispute"), l.householdTok, dispute)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "disputed", body["dispute"])
		assert.Equal(t, dispute["reason"], body["disputeReason"])
		resp, body = l.call(t, "POST", path(disputed, "dispute"), l.householdTok, dispute)
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "等村干部处理")
	})
	t.Run("the season report counts it", func(t *testing.T) {
		resp, body := l.call(t, "GET", "/v1/seasons/"+itoa(l.season)+"/report", l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.EqualValues(t, 1, body["disputed"])
		assert.EqualValues(t, 1, body["disputesOpen"])
		assert.EqualValues(t, 0, body["disputesReversed"])
	})

	l.clock.Advance(26 * time.Hour) // 2026-04-23 09:00: past 3 days from the completion at 2026-04-20 08:00
	t.Run("after 3 days the posting stands", func(t *testing.T) {
		resp, body := l.call(t, "POST", path(lapsed, "dispute"), l.householdTok, dispute)
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "请找村干部")
		_, job := l.call(t, "GET", "/v1/jobs/"+itoa(lapsed), l.householdTok, nil)
		assert.Equal(t, "confirmed", job["dispute"], "no dispute within 3 days confirms it")
	})

	t.Run("only a cadre resolves, and reverse reverses the posting", func(t *testing.T) {
		resolve := map[string]any{"resolution": "reverse", "note": "核实后确为误记"}
		resp, body := l.call(t, "POST", path(disputed, "resolve-dispute"), l.leader, resolve)
		assertProblem(t, resp, body, http.StatusForbidden, "")
		resp, body = l.call(t, "POST", path(lapsed, "resolve-dispute"), l.cadre, resolve)
		assertProblem(t, resp, body, http.StatusConflict, "")

		resp, body = l.call(t, "POST", path(disputed, "resolve-dispute"), l.cadre, resolve)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "reversed", body["dispute"])
		require.NotNil(t, body["reversalId"])
		_, tx := l.call(t, "GET", "/v1/transactions/"+itoa(int64(body["reversalId"].(float64))), l.cadre, nil)
		assert.EqualValues(t, body["transactionId"], tx["reversesId"], "the reversal of the job's posting: %v", tx)

		_, bal := l.call(t, "GET", "/v1/balances", l.cadre, nil)
		got := map[int64]float64{}
		for _, it := range items(bal) {
			got[int64(it["householdId"].(float64))] = it["balance"].(float64)
		}
		assert.Equal(t, -1.0, got[l.home.ID], "only the undisputed job's workday remains")
		assert.Zero(t, got[l.neighbour.ID], "the disputed job's 2 workdays reversed")
		assert.Equal(t, 1.0, got[l.member2.ID])
		resp, ver := l.call(t, "GET", "/v1/ledger/verify", l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, ver)
		assert.Equal(t, true, ver["ok"], "%v", ver)

		resp, body = l.call(t, "POST", path(disputed, "resolve-dispute"), l.cadre, map[string]any{"resolution": "confirm"})
		assertProblem(t, resp, body, http.StatusConflict, "")
		resp, body = l.call(t, "POST", path(disputed, "dispute"), l.householdTok, dispute)
		assertProblem(t, resp, body, http.StatusConflict, "")

		_, rep := l.call(t, "GET", "/v1/seasons/"+itoa(l.season)+"/report", l.cadre, nil)
		assert.EqualValues(t, 1, rep["disputed"])
		assert.EqualValues(t, 0, rep["disputesOpen"])
		assert.EqualValues(t, 1, rep["disputesReversed"])
	})

	t.Run("disputes and resolutions are audited", func(t *testing.T) {
		var n int
		require.NoError(t, l.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action IN ('dispute-job', 'resolve-dispute')").Scan(&n))
		assert.GreaterOrEqual(t, n, 8)
		require.NoError(t, l.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'dispute-job' AND outcome = 'denied'").Scan(&n))
		assert.GreaterOrEqual(t, n, 1)
	})
}

// secondField gives the household another field, for a second request.
func (l *loopEnv) secondField(tb testing.TB) int64 {
	tb.Helper()
	resp, body := l.call(tb, "POST", "/v1/fields", l.cadre, map[string]any{
		"householdId": l.home.ID, "name": "塘下垄" + itoa(int64(len(l.fields))), "area": 1.4, "crop": "early_rice"})
	require.Equal(tb, http.StatusCreated, resp.StatusCode, body)
	l.fields = append(l.fields, id(body))
	return id(body)
}
