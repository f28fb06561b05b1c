package api_test

import (
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

	// The same body as the cadre enters it on the household's behalf is
	// another request: the fingerprint is of the request as resolved.
	onBehalf := map[string]any{"householdId": l.home.ID}
	for k, v := range ask {
		onBehalf[k] = v
	}
	resp, body := l.call(t, "POST", "/v1/requests", l.cadre, onBehalf, "Idempotency-Key", "ask-1")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "header.Idempotency-Key")
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
