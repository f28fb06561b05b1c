package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientNotify configures a team's WeCom robot through the CLI,
// makes a job for the team, and sees the running service's relay deliver
// it to a fake robot on :0, the secret never printed.
func TestClientNotify(t *testing.T) {
	e := mustClientEnv(t)
	var mu sync.Mutex
	var bodies []string
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.URL.Query().Get("key")+" "+string(b))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(robot.Close)
	as := []string{"--server", e.server, "--token", e.cadre}

	r := huangong(t, append([]string{"notify", "quiet", "--from", "00:00", "--to", "00:00"}, as...)...)
	require.Equal(t, 0, r.code, r.stderr) // the service runs on the real clock: no quiet hours here
	r = huangong(t, append([]string{"notify", "add", "--kind", "wecom", "--team", itoa64(e.team),
		"--url", robot.URL + "/cgi-bin/webhook/send?key=cli-secret-key", "--name", "一队群"}, as...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "key=***")
	r = huangong(t, append([]string{"notify", "channels"}, as...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "一队群")
	assert.NotContains(t, r.stdout, "cli-secret-key")
	r = huangong(t, append([]string{"notify", "channels", "--json"}, as...)...)
	assert.NotContains(t, r.stdout, "cli-secret-key")
	r = huangong(t, append([]string{"notify", "add", "--kind", "wecom", "--url", robot.URL}, as...)...)
	assert.Equal(t, 2, r.code, "a robot without a team is refused: %s", r.stderr)

	// A new job of the team: its leader's group hears of it.
	status, old := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	require.Equal(t, 200, status, old)
	status, req := e.http.do("POST", "/v1/requests", e.cadre, map[string]any{"householdId": old["householdId"], "fieldId": e.field,
		"task": "prepare", "earliest": e.today, "latest": e.today})
	require.Equal(t, 201, status, req)
	status, job := e.http.do("POST", "/v1/jobs", e.cadre, map[string]any{"teamId": e.team, "requestId": req["id"],
		"date": e.today, "workers": []map[string]any{{"householdId": e.members[2], "workers": 1}}})
	require.Equal(t, 201, status, job)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0
	}, 20*time.Second, 50*time.Millisecond, "the relay in serve delivers to the robot")
	mu.Lock()
	assert.True(t, strings.HasPrefix(bodies[0], "cli-secret-key {\"msgtype\":\"text\""), bodies[0])
	mu.Unlock()

	require.Eventually(t, func() bool {
		r = huangong(t, append([]string{"notify", "deliveries", "--state", "delivered"}, as...)...)
		return r.code == 0 && strings.Contains(r.stdout, "已送达")
	}, 10*time.Second, 50*time.Millisecond)
	assert.NotContains(t, r.stdout, "cli-secret-key")
}
