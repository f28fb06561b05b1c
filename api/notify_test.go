package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/store"
)

// Secrets of the notification tests: none may come back in an answer.
var notifySecrets = []string{"sms-secret-key-1", "Bearer sms-secret-token", "ding-secret-token-2", "SECding-signing-3", "hook-hmac-key-4"}

func TestNotifyChannels_SecretsNeverShown(t *testing.T) {
	e := mustEnv(t)
	var answers []string
	keep := func(resp *http.Response, body map[string]any) map[string]any {
		answers = append(answers, strings.Join([]string{resp.Status, toJSON(t, body)}, " "))
		return body
	}
	resp, sms := e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{
		"kind": "sms", "url": "https://sms.example.com/send?key=sms-secret-key-1",
		"headers": map[string]string{"Authorization": "Bearer sms-secret-token", "Content-Type": "application/json"},
		"body":    `{"to":"{phone}","content":"{text}"}`,
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", sms)
	keep(resp, sms)
	assert.Equal(t, "https://sms.example.com/send?key=***", sms["url"])
	assert.Equal(t, []any{"Authorization", "Content-Type"}, sms["headerKeys"])
	assert.Equal(t, false, sms["secretSet"])

	resp, ding := e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{
		"kind": "dingtalk", "teamId": e.team.ID, "url": "https://oapi.dingtalk.com/robot/send?access_token=ding-secret-token-2",
		"secret": "SECding-signing-3",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", ding)
	keep(resp, ding)
	assert.Equal(t, true, ding["secretSet"])

	resp, hook := e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{
		"kind": "webhook", "url": "https://hooks.example.com/huangong", "secret": "hook-hmac-key-4"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", hook)
	keep(resp, hook)

	keep(e.call(t, "GET", "/v1/notify/channels", e.cadre, nil))
	resp, patched := e.call(t, "PATCH", "/v1/notify/channels/"+itoa(int64(ding["id"].(float64))), e.cadre, map[string]any{"name": "一队钉钉群"})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", patched)
	keep(resp, patched)
	assert.Equal(t, true, patched["secretSet"], "a patch without the secret keeps it")
	resp, patched = e.call(t, "PATCH", "/v1/notify/channels/"+itoa(int64(sms["id"].(float64))), e.cadre,
		map[string]any{"body": `{"to":"{phone}","content":"{text}","apikey":"sms-secret-key-1"}`})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", patched)
	keep(resp, patched)
	resp, patched = e.call(t, "PATCH", "/v1/notify/channels/"+itoa(int64(sms["id"].(float64))), e.cadre,
		map[string]any{"body": `to={phone}&msg={text}&key=sms-secret-key-1`, "headers": map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", patched)
	keep(resp, patched)
	assert.Equal(t, "to={phone}&msg={text}&key=***", patched["body"])
	// Wrong input that carries a secret: the problem must not echo it.
	keep(e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{
		"kind": "sms", "url": "ftp://sms-secret-key-1", "body": "{text}"}))
	keep(e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{
		"kind": "webhook", "url": "https://x.example.com/", "secret": strings.Repeat("hook-hmac-key-4", 20)}))
	keep(e.call(t, "GET", "/v1/notify/deliveries", e.cadre, nil))

	all := strings.Join(answers, "\n")
	for _, s := range notifySecrets {
		assert.NotContains(t, all, s)
	}
}

func TestNotifyChannels_Rules(t *testing.T) {
	e := mustEnv(t)
	for _, c := range []struct {
		name     string
		body     map[string]any
		status   int
		location string
	}{
		{"sms without {phone}", map[string]any{"kind": "sms", "url": "https://sms.example.com/send", "body": `{"c":"{text}"}`}, 422, "body.body"},
		{"json body with a bare placeholder", map[string]any{"kind": "sms", "url": "https://sms.example.com/send", "body": `{"to":{phone},"c":"{text}"}`}, 422, "body.body"},
		{"robot without a team", map[string]any{"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}, 422, "body.teamId"},
		{"robot of another village's team", map[string]any{"kind": "wecom", "teamId": 999, "url": "https://qyapi.weixin.qq.com/x?key=k"}, 422, "body.teamId"},
		{"not http", map[string]any{"kind": "webhook", "url": "file:///etc/passwd"}, 422, "body.url"},
		{"secret on wecom", map[string]any{"kind": "wecom", "teamId": e.team.ID, "url": "https://qyapi.weixin.qq.com/x?key=k", "secret": "s"}, 422, "body.secret"},
		{"unknown kind", map[string]any{"kind": "fax", "url": "https://x.example.com/"}, 422, "body.kind"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.call(t, "POST", "/v1/notify/channels", e.cadre, c.body)
			assertProblem(t, resp, body, c.status, c.location)
		})
	}
	resp, body := e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{"kind": "webhook", "url": "https://x.example.com/"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", body)
	resp, body = e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{"kind": "webhook", "url": "https://y.example.com/"})
	assertProblem(t, resp, body, http.StatusConflict, "")

	resp, body = e.call(t, "GET", "/v1/notify/channels", e.leader, nil)
	assertProblem(t, resp, body, http.StatusForbidden, "")
	resp, _ = e.call(t, "GET", "/v1/notify/channels", e.cadreB, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, body = e.call(t, "PUT", "/v1/notify/settings", e.cadre, map[string]any{"quietFrom": "22:00", "quietTo": "06:30", "urgentOverride": false, "giveUpMinutes": 60})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
	_, body = e.call(t, "GET", "/v1/notify/settings", e.cadre, nil)
	assert.Equal(t, "06:30", body["quietTo"])
	resp, body = e.call(t, "PUT", "/v1/notify/settings", e.cadre, map[string]any{"quietFrom": "25:00", "quietTo": "06:30", "urgentOverride": false, "giveUpMinutes": 60})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.quietFrom")
	_, body = e.call(t, "GET", "/v1/notify/settings", e.cadreB, nil)
	assert.Equal(t, "21:00", body["quietFrom"], "another village keeps the defaults")
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestNotifyChannels_SecretsNotLogged: the server's log and the audit log
// of channel changes, good and refused, carry no secret.
func TestNotifyChannels_SecretsNotLogged(t *testing.T) {
	e := mustEnv(t)
	var buf bytes.Buffer
	srv := httptest.NewServer(api.NewServer(e.st, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	for _, body := range []map[string]any{
		{"kind": "sms", "url": "https://sms.example.com/send?key=sms-secret-key-1", "body": `{"to":"{phone}","content":"{text}"}`,
			"headers": map[string]string{"Authorization": "Bearer sms-secret-token"}},
		{"kind": "dingtalk", "teamId": e.team.ID, "url": "https://oapi.dingtalk.com/robot/send?access_token=ding-secret-token-2", "secret": "SECding-signing-3"},
		{"kind": "webhook", "url": "ftp://hook-hmac-key-4"},
	} {
		e.call(t, "POST", "/v1/notify/channels", e.cadre, body)
	}
	_, audit := e.call(t, "GET", "/v1/audit", e.cadre, nil)
	require.GreaterOrEqual(t, len(audit["items"].([]any)), 3, "the changes were audited")
	out := buf.String() + toJSON(t, audit)
	require.Contains(t, buf.String(), "/v1/notify/channels", "the requests were logged")
	for _, s := range notifySecrets {
		assert.NotContains(t, out, s)
	}
}

// TestNotifyChannels_DeleteKeepsDeliveries: a removed channel is no longer
// listed, but list-deliveries still shows what it carried, its waiting
// messages failed with the reason, and they cannot be sent again.
func TestNotifyChannels_DeleteKeepsDeliveries(t *testing.T) {
	e := mustEnv(t)
	ctx := t.Context()
	resp, hook := e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{"kind": "webhook", "url": "https://hooks.example.com/h"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", hook)
	resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{"year": 2027, "system": "double_rice"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	f := &store.Field{VillageID: e.village.ID, HouseholdID: e.home.ID, Name: "门口田", AreaCentimu: 160, Crop: store.CropEarlyRice}
	require.NoError(t, e.st.CreateField(ctx, f))
	resp, body = e.call(t, "POST", "/v1/requests", e.householdTok, map[string]any{
		"fieldId": f.ID, "task": "transplant", "earliest": "2027-04-22", "latest": "2027-04-28"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	_, err := e.st.EnqueueDeliveries(ctx, 100)
	require.NoError(t, err)
	_, body = e.call(t, "GET", "/v1/notify/deliveries", e.cadre, nil)
	require.NotEmpty(t, items(body), "the request is a message for the webhook")

	resp, _ = e.call(t, "DELETE", "/v1/notify/channels/"+itoa(int64(hook["id"].(float64))), e.cadre, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, body = e.call(t, "GET", "/v1/notify/channels", e.cadre, nil)
	assert.Empty(t, items(body), "a removed channel is not listed")
	_, body = e.call(t, "GET", "/v1/notify/deliveries?state=failed", e.cadre, nil)
	ds := items(body)
	require.NotEmpty(t, ds, "its deliveries stay")
	d := ds[0]
	assert.Equal(t, store.ChannelRemoved, d["lastError"])
	resp, body = e.call(t, "POST", "/v1/notify/deliveries/"+itoa(int64(d["id"].(float64)))+"/retry", e.cadre, nil)
	assertProblem(t, resp, body, http.StatusConflict, "")
	resp, body = e.call(t, "DELETE", "/v1/notify/channels/"+itoa(int64(hook["id"].(float64))), e.cadre, nil)
	assertProblem(t, resp, body, http.StatusNotFound, "")
	resp, body = e.call(t, "POST", "/v1/notify/channels", e.cadre, map[string]any{"kind": "webhook", "url": "https://hooks.example.com/h"})
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "a new webhook may be configured: %v", body)
}
