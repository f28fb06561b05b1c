package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/seed"
	"huangong/store"
	"huangong/store/testdb"
)

// MustRunApp starts the whole service on :0 over a database file in dir
// and stops it when the test ends.
func MustRunApp(tb testing.TB, dbPath string) *App {
	tb.Helper()
	return mustRun(tb, Config{Addr: "127.0.0.1:0", DB: dbPath, Demo: true})
}

// mustRun starts the service with cfg and stops it when the test ends.
func mustRun(tb testing.TB, cfg Config, setup ...func(*App)) *App {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(tb, err)
	for _, f := range setup { // before anything runs: a clock, say
		f(app)
	}
	require.NoError(tb, app.Listen())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		assert.NoError(tb, <-done, "graceful shutdown")
		assert.NoError(tb, app.Close())
	})
	return app
}

type client struct {
	tb   testing.TB
	base string
}

func (c client) do(method, path, token string, body any) (int, map[string]any) {
	c.tb.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.tb, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	require.NoError(c.tb, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.tb, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.tb, err)
	if len(raw) > 0 {
		require.NoError(c.tb, json.Unmarshal(raw, &out), "%s", raw)
	}
	if resp.StatusCode >= 400 {
		assert.Equal(c.tb, "application/problem+json", resp.Header.Get("Content-Type"), "%s %s", method, path)
	}
	return resp.StatusCode, out
}

func id(v map[string]any) string { return strconv.FormatInt(int64(v["id"].(float64)), 10) }

// TestEndToEnd walks the foundation the way a cadre and a household would:
// the whole app on :0 with a temp database, the demo tokens it prints, a
// household token minted like `huangong token create` does.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	app := MustRunApp(t, testdb.Database(t, "e2e.db"))
	require.NotNil(t, app.DemoTokens, "first start prints the demo tokens")
	cadre := app.DemoTokens[store.RoleCadre]
	c := client{tb: t, base: "http://" + app.Addr()}

	status, hh := c.do("POST", "/v1/households", cadre, map[string]any{
		"headName": "徐冬凤", "group": 2, "laborers": 1, "members": 2, "elderly": true, "phone": "13879312345"})
	require.Equal(t, 201, status, hh)
	status, field := c.do("POST", "/v1/fields", cadre, map[string]any{
		"householdId": hh["id"], "name": "岭背田", "area": 2.35, "crop": "late_rice"})
	require.Equal(t, 201, status, field)

	hhID, _ := strconv.ParseInt(id(hh), 10, 64)
	own, err := app.Store.CreateToken(ctx, &store.Token{VillageID: app.Village.ID, Role: store.RoleHousehold, HouseholdID: &hhID})
	require.NoError(t, err)

	status, got := c.do("GET", "/v1/households/"+id(hh), own, nil)
	require.Equal(t, 200, status, got)
	assert.Equal(t, "徐冬凤", got["headName"])
	assert.Equal(t, true, got["vulnerable"])
	status, got = c.do("GET", "/v1/fields/"+id(field), own, nil)
	require.Equal(t, 200, status, got)
	assert.EqualValues(t, 2.35, got["area"])
	assert.EqualValues(t, 2, got["group"])
	status, got = c.do("GET", "/v1/fields", own, nil)
	require.Equal(t, 200, status)
	assert.Len(t, got["items"], 1, "the household's own fields, no one else's")

	other := app.DemoTokens[store.RoleHousehold] // 章仁标's
	status, got = c.do("GET", "/v1/households/"+id(hh), other, nil)
	assert.Equal(t, 404, status, got)
	status, got = c.do("GET", "/v1/fields/"+id(field), other, nil)
	assert.Equal(t, 404, status, got)

	status, got = c.do("GET", "/v1/households/"+id(hh), "", nil)
	assert.Equal(t, 401, status, got)
	status, got = c.do("POST", "/v1/households", own, map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1})
	assert.Equal(t, 403, status, got)
	status, got = c.do("GET", "/v1/households", own, nil)
	assert.Equal(t, 403, status, got)

	status, got = c.do("GET", "/v1/teams", app.DemoTokens[store.RoleLeader], nil)
	require.Equal(t, 200, status, got)
	require.Len(t, got["items"], 1)
	assert.Equal(t, "第一互助队", got["items"].([]any)[0].(map[string]any)["name"])

	status, got = c.do("GET", "/healthz", "", nil)
	assert.Equal(t, 200, status)
	assert.Equal(t, "ok", got["status"])
}

// TestDemoSeedsOnce starts the app twice on one database file: the second
// start finds the village, changes nothing and mints no tokens.
func TestDemoSeedsOnce(t *testing.T) {
	ctx := context.Background()
	db := testdb.Database(t, "demo.db")
	first := MustRunApp(t, db)
	require.NotNil(t, first.DemoTokens)
	before, err := first.Store.Census(ctx, first.Village.ID)
	require.NoError(t, err)
	assert.Equal(t, seed.DemoName, before.Village.Name)
	assert.EqualValues(t, 3, before.Teams)
	assert.GreaterOrEqual(t, before.Households, int64(140))

	second := MustRunApp(t, db)
	assert.Nil(t, second.DemoTokens, "no new demo tokens on a second start")
	assert.Equal(t, first.Village.ID, second.Village.ID)
	after, err := second.Store.Census(ctx, second.Village.ID)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	var villages, tokens int
	require.NoError(t, second.Store.DB().QueryRow("SELECT COUNT(*) FROM villages").Scan(&villages))
	require.NoError(t, second.Store.DB().QueryRow("SELECT COUNT(*) FROM tokens").Scan(&tokens))
	assert.Equal(t, 1, villages)
	assert.Equal(t, 3, tokens)

	// The first start's tokens still work against the second.
	status, _ := client{tb: t, base: "http://" + second.Addr()}.do("GET", "/v1/households?limit=1", first.DemoTokens[store.RoleCadre], nil)
	assert.Equal(t, 200, status)
}

// TestCommands runs the CLI the way the README shows it.
func TestCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	db := testdb.Database(t, "cli.db")
	runCmd := commandRunner(ctx)

	out, err := runCmd("migrate", "--db", db)
	require.NoError(t, err)
	assert.Contains(t, out, "migrated")

	out, err = runCmd("seed", "--db", db)
	require.NoError(t, err)
	assert.Contains(t, out, "皇珠村")
	assert.Contains(t, out, "cadre token: hg_")
	out, err = runCmd("seed", "--db", db)
	require.NoError(t, err)
	assert.Contains(t, out, "unchanged")

	out, err = runCmd("seed", "--db", db, "--households", "40", "--seed", "7", "--name", "测试村")
	require.NoError(t, err)
	assert.Contains(t, out, "测试村")
	assert.Contains(t, out, "40 households")
	assert.Contains(t, out, "3 teams", "a generated village has the three teams by default")

	out, err = runCmd("token", "create", "--db", db, "--role", "household", "--household", "1")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, store.TokenPrefix), out)
	_, err = runCmd("token", "create", "--db", db, "--role", "leader")
	assert.Error(t, err, "a leader token needs a team")
	_, err = runCmd("token", "create", "--db", db, "--role", "mayor")
	assert.Error(t, err)

	out, err = runCmd("openapi", "--out", dir)
	require.NoError(t, err)
	assert.Contains(t, out, "openapi-3.0.json")
	raw, err := readJSON(filepath.Join(dir, "openapi-3.0.json"))
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", raw["openapi"])

	_, err = runCmd("frobnicate")
	assert.Error(t, err)
}

func readJSON(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// TestShutdownEndsEventStreams: a phone following /v1/events must not hold
// the server's graceful shutdown until its timeout.
func TestShutdownEndsEventStreams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, Config{Addr: "127.0.0.1:0", DB: testdb.Database(t, "sse.db"), Demo: true},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer app.Close()
	require.NoError(t, app.Listen())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()

	req, err := http.NewRequest("GET", "http://"+app.Addr()+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+app.DemoTokens[store.RoleCadre])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/event-stream")

	cancel()
	// Shutdown returns an error only when its timeout passed with the
	// stream still open.
	assert.NoError(t, <-done)
}

// TestPlanCommand runs the pure planner the way the README shows it.
func TestPlanCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "plan.json")
	var stdout bytes.Buffer
	require.NoError(t, run(ctx, []string{"plan", "--in", "../../scheduler/planner/testdata/instance.json", "--out", out}, &stdout, io.Discard))
	plan, err := readJSON(out)
	require.NoError(t, err)
	require.NotEmpty(t, plan["assignments"], "the example instance gets jobs")
	assert.Contains(t, plan, "score")

	// The same instance and seed give the same plan, byte for byte.
	again := filepath.Join(dir, "again.json")
	require.NoError(t, run(ctx, []string{"plan", "--in", "../../scheduler/planner/testdata/instance.json", "--out", again}, &stdout, io.Discard))
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	assert.Equal(t, string(a), string(b))

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"start": "2027-04-01", "end": "2027-04-20", "requests": [{"id": 1`), 0o644))
	err = run(ctx, []string{"plan", "--in", bad}, &stdout, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid JSON")

	stdout.Reset()
	require.NoError(t, run(ctx, []string{"plan", "schema"}, &stdout, io.Discard))
	var schema map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &schema))
	assert.Contains(t, schema, "properties")
}

// TestBusyPortSeedsNothing: a first start on a busy port fails before it
// seeds the demo village, so no demo tokens are minted that nobody saw;
// the next start, on a free port, seeds and prints them.
func TestBusyPortSeedsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "busy.db")

	var out bytes.Buffer
	err = run(ctx, []string{"serve", "--db", db, "--addr", busy.Addr().String()}, &out, io.Discard)
	require.Error(t, err, "the port is taken")
	assert.Contains(t, err.Error(), "listen")
	assert.NotContains(t, out.String(), "hg_", "no tokens printed for a start that never served")
	_, statErr := os.Stat(db)
	assert.True(t, os.IsNotExist(statErr), "no database created, let alone seeded: %v", statErr)

	app := MustRunApp(t, db)
	require.NotNil(t, app.DemoTokens, "the first start that serves seeds and has the tokens to show")
	var welcome bytes.Buffer
	printWelcome(&welcome, app)
	assert.Contains(t, welcome.String(), app.DemoTokens[store.RoleCadre])
}
