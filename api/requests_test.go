package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestRetries: create-request and cancel-request take an optional
// Idempotency-Key. A retry with the same key and body gets the first
// call's status and request, marked replayed; the key with another body
// is 422; a caller that sends no key is answered as before.
func TestRequestRetries(t *testing.T) {
	l := mustLoop(t)
	ask := map[string]any{"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"}

	resp, first := l.call(t, "POST", "/v1/requests", l.householdTok, ask, "Idempotency-Key", "ask-1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, first)
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	resp, again := l.call(t, "POST", "/v1/requests", l.householdTok, ask, "Idempotency-Key", "ask-1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, again)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first, again)

	// The same key from the cadre is the cadre's own key (keys are scoped
	// to their caller): its request is judged on its merits, and the
	// field already has an open one.
	onBehalf := map[string]any{"householdId": l.home.ID}
	for k, v := range ask {
		onBehalf[k] = v
	}
	resp, body := l.call(t, "POST", "/v1/requests", l.cadre, onBehalf, "Idempotency-Key", "ask-1")
	assertProblem(t, resp, body, http.StatusConflict, "body.fieldId")
	resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, ask, "Idempotency-Key", "ask-2")
	assertProblem(t, resp, body, http.StatusConflict, "body.fieldId")
	resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, ask)
	assertProblem(t, resp, body, http.StatusConflict, "body.fieldId")

	path := "/v1/requests/" + itoa(id(first)) + "/cancel"
	why := map[string]any{"reason": "儿子回来了"}
	resp, cancelled := l.call(t, "POST", path, l.householdTok, why, "Idempotency-Key", "cancel-1")
	require.Equal(t, http.StatusOK, resp.StatusCode, cancelled)
	assert.Equal(t, "cancelled", cancelled["state"])
	resp, again = l.call(t, "POST", path, l.householdTok, why, "Idempotency-Key", "cancel-1")
	require.Equal(t, http.StatusOK, resp.StatusCode, again)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, cancelled, again)
	resp, body = l.call(t, "POST", path, l.householdTok, map[string]any{"reason": "不要了"}, "Idempotency-Key", "cancel-1")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "header.Idempotency-Key")
	resp, body = l.call(t, "POST", path, l.householdTok, why)
	assertProblem(t, resp, body, http.StatusConflict, "")
}

// TestRequestWindowEnded: a window that ended before today in the village
// is refused naming body.latest; one that began before today is taken.
func TestRequestWindowEnded(t *testing.T) {
	l := mustLoop(t) // 2026-04-20 08:00 in the village
	resp, body := l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
		"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-10", "latest": "2026-04-19"})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.latest")
	assert.Contains(t, body["detail"], "最晚日期已过 the window ended on 2026-04-19")

	resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
		"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-10", "latest": "2026-04-20"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, "2026-04-10", body["earliest"])
}

// TestUpdateRequest: a cadre sets a request's crew cap and work and
// resets the cap to the default from the field's area with null; every
// answer about the request shows the cap in effect and whether a cadre
// set it. Bad values are 422 naming the field, a household's or leader's
// token 403, another village's cadre finds nothing (404, as for every
// record of another village), a stale If-Match 412, a closed request 409;
// none of them writes anything.
func TestUpdateRequest(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID) // 1.6 mu: default cap ceil(3.2) = 4
	path := "/v1/requests/" + itoa(reqID)

	resp, got := l.call(t, "GET", path, l.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, got)
	assert.EqualValues(t, 4, got["crewCap"])
	assert.Equal(t, false, got["crewCapSet"])
	assert.NotContains(t, got, "unplacedReason")
	tag := resp.Header.Get("ETag")
	require.Equal(t, `"`+itoa(int64(got["version"].(float64)))+`"`, tag)

	resp, set := l.call(t, "PATCH", path, l.cadre, map[string]any{"crewCap": 2}, "If-Match", tag)
	require.Equal(t, http.StatusOK, resp.StatusCode, set)
	assert.EqualValues(t, 2, set["crewCap"])
	assert.Equal(t, true, set["crewCapSet"])
	assert.EqualValues(t, 2.5, set["workdays"], "work left as it was")
	assert.Equal(t, `"`+itoa(int64(set["version"].(float64)))+`"`, resp.Header.Get("ETag"))
	_, got = l.call(t, "GET", path, l.householdTok, nil)
	assert.EqualValues(t, 2, got["crewCap"], "the household sees the cap too")
	_, list := l.call(t, "GET", "/v1/requests", l.cadre, nil)
	require.Len(t, items(list), 1)
	assert.EqualValues(t, 2, items(list)[0]["crewCap"])
	assert.Equal(t, true, items(list)[0]["crewCapSet"])

	resp, body := l.call(t, "PATCH", path, l.cadre, map[string]any{"crewCap": 3}, "If-Match", tag)
	assertProblem(t, resp, body, http.StatusPreconditionFailed, "")

	resp, body = l.call(t, "PATCH", path, l.cadre, map[string]any{"workdays": 3})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.EqualValues(t, 3, body["workdays"])
	assert.EqualValues(t, 2, body["crewCap"], "the cap left as it was")

	resp, body = l.call(t, "PATCH", path, l.cadre, []byte(`{"crewCap":null}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.EqualValues(t, 4, body["crewCap"], "back to the default from the area")
	assert.Equal(t, false, body["crewCapSet"])
	_, got = l.call(t, "GET", path, l.cadre, nil)
	assert.EqualValues(t, 4, got["crewCap"])
	assert.Equal(t, false, got["crewCapSet"])

	before, err := l.st.GetRequest(context.Background(), l.village.ID, reqID)
	require.NoError(t, err)
	unchanged := func(t *testing.T) {
		t.Helper()
		now, err := l.st.GetRequest(context.Background(), l.village.ID, reqID)
		require.NoError(t, err)
		assert.Equal(t, before.Version, now.Version, "nothing written")
		assert.Equal(t, before.CrewCap, now.CrewCap)
		assert.Equal(t, before.HalfDays, now.HalfDays)
	}
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"crew cap zero", l.cadre, []byte(`{"crewCap":0}`), 422, "body.crewCap"},
		{"crew cap 51", l.cadre, []byte(`{"crewCap":51}`), 422, "body.crewCap"},
		{"crew cap a string", l.cadre, []byte(`{"crewCap":"3"}`), 422, "body.crewCap"},
		{"crew cap a fraction", l.cadre, []byte(`{"crewCap":2.5}`), 422, "body.crewCap"},
		{"workdays zero", l.cadre, []byte(`{"workdays":0}`), 422, "body.workdays"},
		{"workdays not in half days", l.cadre, []byte(`{"workdays":1.2}`), 422, "body.workdays"},
		{"nothing to change", l.cadre, []byte(`{}`), 422, "body"},
		{"household token", l.householdTok, []byte(`{"crewCap":3}`), 403, ""},
		{"leader token", l.leader, []byte(`{"crewCap":3}`), 403, ""},
		{"another village's cadre", l.cadreB, []byte(`{"crewCap":3}`), 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.call(t, "PATCH", path, tc.token, tc.body)
			assertProblem(t, resp, body, tc.status, tc.field)
			unchanged(t)
		})
	}

	t.Run("closed request", func(t *testing.T) {
		resp, body := l.call(t, "POST", path+"/cancel", l.householdTok, map[string]any{"reason": "儿子回来了"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		before, err = l.st.GetRequest(context.Background(), l.village.ID, reqID)
		require.NoError(t, err)
		resp, body = l.call(t, "PATCH", path, l.cadre, map[string]any{"crewCap": 3})
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "请重新登记", "says what to do next, Chinese first")
		assert.Contains(t, body["detail"], "register a new request")
		unchanged(t)
	})
}

// TestUnplacedReasonShows: a request the saved plan could not place says
// why in its answers, Chinese first; once placed it says nothing.
func TestUnplacedReasonShows(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	_, err := l.st.BlockDays(context.Background(), l.village.ID, "cadre", []string{"2026-04-22"}, 0, "大雨")
	require.NoError(t, err)
	l.plan(t, map[string]any{"from": "2026-04-22", "to": "2026-04-22", "dryRun": false})
	_, got := l.call(t, "GET", "/v1/requests/"+itoa(reqID), l.householdTok, nil)
	assert.Equal(t, "submitted", got["state"])
	why, _ := got["unplacedReason"].(string)
	require.NotEmpty(t, why, "%v", got)
	assert.Regexp(t, `^\p{Han}`, why, "Chinese first")
	_, list := l.call(t, "GET", "/v1/requests?household="+itoa(l.home.ID), l.cadre, nil)
	assert.Equal(t, why, items(list)[0]["unplacedReason"])

	l.plan(t, map[string]any{"from": "2026-04-23", "to": "2026-04-25", "dryRun": false})
	_, got = l.call(t, "GET", "/v1/requests/"+itoa(reqID), l.householdTok, nil)
	assert.Equal(t, "scheduled", got["state"], "%v", got)
	assert.NotContains(t, got, "unplacedReason")
}
