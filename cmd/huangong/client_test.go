package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/seed"
	"huangong/store"
	"huangong/store/testdb"
)

func TestMain(m *testing.M) {
	// Event streams look for new outbox rows this often; a second is
	// right for people, slow for a test.
	api.EventPoll = 20 * time.Millisecond
	if os.Getenv(instanceEnv) != "" {
		os.Exit(runInstance())
	}
	os.Exit(m.Run())
}

// clientEnv is the service on :0 with a generated village (no demo: the
// village has no seasons yet, whatever the date, and starts fast), set up
// for today's work: a season from yesterday on, a household asking for
// help on two fields, a job of the leader's team today and one of another
// team.
type clientEnv struct {
	app     *App
	server  string
	http    client
	cadre   string
	leader  string
	tokenID int64 // the leader's token's
	village int64
	dir     string
	today   string // in the village
	team    int64  // the leader's team
	members []int64
	job     int64 // the leader's team's, today, planned on members[0] and members[1]
	other   int64 // another team's, today
	field   int64 // the household's first field
	fields  []int64
	helped  int64            // the household both jobs help: 徐冬凤, phone 13879312345
	names   map[int64]string // the heads of the leader's team's member households
	outside int64            // a member of the other team: no business of the leader's
}

func mustClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	return mustClientEnvAt(t, nil)
}

// mustClientEnvAt is clientEnv with the server's and the client's clock
// stopped at now(); nil leaves the server on the real clock and stops the
// client's at the start.
func mustClientEnvAt(t *testing.T, now func() time.Time) *clientEnv {
	t.Helper()
	ctx := context.Background()
	app := mustRun(t, Config{Addr: "127.0.0.1:0", DB: testdb.Database(t, "client.db")}, func(a *App) {
		if now != nil {
			a.Store.Now = now
		}
	})
	v, _, err := app.Store.ImportVillage(ctx, seed.Generate(seed.Config{Name: "客户端村", Households: 40, Groups: 2, Teams: 2, Seed: 3}), false)
	require.NoError(t, err)
	teams, _, err := app.Store.ListTeams(ctx, v.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, teams, 2)
	e := &clientEnv{app: app, server: "http://" + app.Addr(), dir: t.TempDir(), village: v.ID}
	e.cadre, err = app.Store.CreateToken(ctx, &store.Token{VillageID: v.ID, Role: store.RoleCadre})
	require.NoError(t, err)
	leader := &store.Token{VillageID: v.ID, Role: store.RoleLeader, TeamID: &teams[0].ID}
	e.leader, err = app.Store.CreateToken(ctx, leader)
	require.NoError(t, err)
	e.tokenID = leader.ID
	e.http = client{tb: t, base: e.server}

	// The client commands read nothing but flags and these.
	t.Setenv("HUANGONG_SERVER", "")
	t.Setenv("HUANGONG_TOKEN", "")
	t.Setenv("HUANGONG_CONFIG", filepath.Join(e.dir, "huangong", "config.json"))

	// One "today" for the test and the client, in the village.
	if now == nil {
		start := time.Now()
		now = func() time.Time { return start }
	}
	saved := clientNow
	clientNow = now
	t.Cleanup(func() { clientNow = saved })
	local := now().In(v.Location())
	e.today = local.Format(time.DateOnly)
	day := func(n int) string { return local.AddDate(0, 0, n).Format(time.DateOnly) }

	status, me := e.http.do("GET", "/v1/me", e.leader, nil)
	require.Equal(t, 200, status, me)
	e.team = int64(me["teamId"].(float64))
	status, list := e.http.do("GET", "/v1/teams", e.cadre, nil)
	require.Equal(t, 200, status, list)
	var otherTeam int64
	var otherMember int64
	e.names = map[int64]string{}
	for _, it := range list["items"].([]any) {
		team := it.(map[string]any)
		id := int64(team["id"].(float64))
		for _, m := range team["members"].([]any) {
			m := m.(map[string]any)
			hh := int64(m["householdId"].(float64))
			if id == e.team {
				e.names[hh] = m["headName"].(string)
			}
			if slices.Contains(m["unavailableDays"].([]any), any(e.today)) {
				continue
			}
			switch {
			case id == e.team && len(e.members) < 3:
				e.members = append(e.members, hh)
			case id != e.team && otherTeam == 0:
				otherTeam, otherMember = id, hh
			}
		}
	}
	require.Len(t, e.members, 3, "three members of the leader's team free today")
	require.NotZero(t, otherTeam)
	require.NotContains(t, e.members, otherMember)
	e.outside = otherMember

	status, season := e.http.do("POST", "/v1/seasons", e.cadre, map[string]any{"kind": "autumn",
		"startDate": day(-1), "endDate": day(10), "tasks": []string{"prepare", "transplant", "harvest"},
		// The jobs here are the test's own: a nightly plan caught up by the
		// server's scheduler while the test builds them (yesterday's 20:00 is
		// due at once, between 20:00 and 08:00 in the village) would place
		// the requests first and take their workers. February 30th never comes.
		"crons": map[string]string{"plan": "0 0 30 2 *"}})
	require.Equal(t, 201, status, season)
	status, hh := e.http.do("POST", "/v1/households", e.cadre, map[string]any{
		"headName": "徐冬凤", "group": 2, "laborers": 0, "members": 1, "elderly": true, "phone": "13879312345"})
	require.Equal(t, 201, status, hh)
	e.helped = int64(hh["id"].(float64))
	var fields []int64
	for _, name := range []string{"岭背田", "门口田"} {
		status, f := e.http.do("POST", "/v1/fields", e.cadre, map[string]any{
			"householdId": hh["id"], "name": name, "area": 1.2, "crop": "late_rice"})
		require.Equal(t, 201, status, f)
		fields = append(fields, int64(f["id"].(float64)))
	}
	e.field, e.fields = fields[0], fields
	job := func(field int64, team int64, workers ...int64) int64 {
		status, r := e.http.do("POST", "/v1/requests", e.cadre, map[string]any{"householdId": hh["id"], "fieldId": field,
			"task": "harvest", "earliest": e.today, "latest": day(5)})
		require.Equal(t, 201, status, r)
		var ws []map[string]any
		for _, w := range workers {
			ws = append(ws, map[string]any{"householdId": w, "workers": 1})
		}
		status, j := e.http.do("POST", "/v1/jobs", e.cadre, map[string]any{"teamId": team, "requestId": r["id"],
			"date": e.today, "workers": ws})
		require.Equal(t, 201, status, j)
		return int64(j["id"].(float64))
	}
	e.job = job(fields[0], e.team, e.members[0], e.members[1])
	e.other = job(fields[1], otherTeam, otherMember)
	return e
}

// result is what a command line did: its exit status and its output.
type result struct {
	code           int
	stdout, stderr string
}

// huangong runs a command line as main does, through cli.
func huangong(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := cli(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// row finds the table row whose first cell is id.
func row(t *testing.T, out string, id int64) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == itoa64(id) {
			return line
		}
	}
	t.Fatalf("no row %d in:\n%s", id, out)
	return ""
}

// countValues counts the keys of m whose value is v.
func countValues[K comparable, V comparable](m map[K]V, v V) int {
	n := 0
	for _, x := range m {
		if x == v {
			n++
		}
	}
	return n
}

// balanceOf reads a household's balance through the client's --json.
func balanceOf(t *testing.T, household int64) float64 {
	t.Helper()
	r := huangong(t, "balance", itoa64(household), "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var b struct{ Items []struct{ Balance float64 } }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &b), r.stdout)
	require.Len(t, b.Items, 1)
	return b.Items[0].Balance
}

func jobPostings(t *testing.T, app *App, job int64) int {
	t.Helper()
	var n int
	require.NoError(t, app.Store.DB().QueryRow(
		"SELECT COUNT(*) FROM ledger_transactions WHERE source_kind = 'job' AND (source_id = ? OR source_id LIKE ?)",
		itoa64(job), itoa64(job)+"/%").Scan(&n))
	return n
}

// TestClientLeaderDay is a team leader's morning through the client
// commands against the whole service: log in, list today's jobs, confirm
// one, record who worked, read the balance; then record it again and get
// the same answer with nothing posted twice.
func TestClientLeaderDay(t *testing.T) {
	e := mustClientEnv(t)
	m1, m2 := e.members[0], e.members[1]
	n1, n2 := e.names[m1], e.names[m2]
	require.Equal(t, 1, countValues(e.names, n1), "the seed gives %s a name no other member has", n1)

	r := huangong(t, "login", "--server", e.server, "--token", e.leader)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "客户端村（玉山县四股桥乡）")
	assert.Contains(t, r.stdout, "队长 leader · 第一互助队")
	info, err := os.Stat(os.Getenv("HUANGONG_CONFIG"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token is a password")
	saved, err := os.ReadFile(os.Getenv("HUANGONG_CONFIG"))
	require.NoError(t, err)
	assert.Contains(t, string(saved), e.leader)

	// From here on the login file is all the commands have.
	r = huangong(t, "jobs", "list", "--date", "today")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, "the heading and the team's one job today:\n%s", r.stdout)
	assert.True(t, strings.HasPrefix(lines[0], "编号 ID  日期 Date"), lines[0])
	// Names, not numbers: the household helped, the field, the workers;
	// no team column, every job of a leader's is its team's.
	assert.Regexp(t, fmt.Sprintf(`^%d\s+%s\s+收割 harvest\s+徐冬凤户\s+岭背田 1.2亩\s+%s1人、%s1人\s+已派工 scheduled$`, e.job, e.today, n1, n2), lines[1])
	assert.NotContains(t, lines[0], "队 Team")
	// The columns line up under the headings, Chinese counting two.
	assert.Equal(t, displayWidth(lines[0][:strings.Index(lines[0], "状态 State")]),
		displayWidth(lines[1][:strings.Index(lines[1], "已派工")]), "State column aligned:\n%s", r.stdout)

	before1, before2 := balanceOf(t, m1), balanceOf(t, m2)

	r = huangong(t, "jobs", "confirm", itoa64(e.job))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("派工 %d 已确认 job %d confirmed", e.job, e.job))
	assert.Contains(t, row(t, r.stdout, e.job), "已确认 confirmed")

	// A member by its head's name (with 户 or without) or by number.
	complete := []string{"jobs", "complete", itoa64(e.job), "--worked", n1 + "户=0.5", "--worked", fmt.Sprintf("%d=1", m2), "--meal"}
	first := huangong(t, complete...)
	require.Equal(t, 0, first.code, first.stderr)
	assert.Regexp(t, fmt.Sprintf(`派工 %d 已完工，记账 \d+，共 1.5 个工日 job %d done: transaction \d+, 1.5 workdays`, e.job, e.job), first.stdout)
	assert.Regexp(t, `已完工 done 管饭 meal$`, row(t, first.stdout, e.job))
	assert.Contains(t, row(t, first.stdout, e.job), n1+"=0.5")
	assert.Contains(t, row(t, first.stdout, e.job), n2+"=1")
	assert.Empty(t, first.stderr)

	r = huangong(t, "balance", itoa64(m1))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, fmt.Sprintf(`^%d\s+\S+\s+\d+\s+%s\s`, m1, num(before1+0.5)), row(t, r.stdout, m1))
	assert.Contains(t, r.stdout, "户号 Household  户主 Head")
	assert.Equal(t, before2+1, balanceOf(t, m2))

	// The same record again, the flags in another order, numbers for
	// names: the same answer, one posting.
	again := huangong(t, "jobs", "complete", "--meal", "--worked", n2+"=1", itoa64(e.job), "--worked", fmt.Sprintf("%d=0.5", m1))
	require.Equal(t, 0, again.code, again.stderr)
	assert.Equal(t, first.stdout, again.stdout)
	assert.Contains(t, again.stderr, "nothing was posted twice")
	assert.Equal(t, 1, jobPostings(t, e.app, e.job))
	assert.Equal(t, before1+0.5, balanceOf(t, m1))

	// Other attendance for a job already done is a conflict, not a second posting.
	r = huangong(t, "jobs", "complete", itoa64(e.job), "--worked", fmt.Sprintf("%d=2", m1))
	assert.Equal(t, exitConflict, r.code, r.stderr)
	assert.Contains(t, r.stderr, "huangong: 409 冲突 Conflict")
	assert.Equal(t, 1, jobPostings(t, e.app, e.job))

	r = huangong(t, "jobs", "list", "--date", e.today, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var list struct {
		Items []struct {
			ID            int64  `json:"id"`
			State         string `json:"state"`
			TransactionID int64  `json:"transactionId"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list), r.stdout)
	require.Len(t, list.Items, 1)
	assert.Equal(t, "done", list.Items[0].State)
	assert.Contains(t, first.stdout, fmt.Sprintf("transaction %d,", list.Items[0].TransactionID))

	r = huangong(t, "statement", itoa64(m1))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("%s户（农户 %d）工日明细", n1, m1))
	assert.Contains(t, r.stdout, fmt.Sprintf("期末 closing %s", num(before1+0.5)))
	assert.Contains(t, r.stdout, fmt.Sprintf("%s  %d", e.today, list.Items[0].TransactionID))
}

// TestClientErrors: every failure is one line on stderr with the exit code
// of its kind, and nothing on stdout.
func TestClientErrors(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)

	// A closed port: nothing answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	job := itoa64(e.job)
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"a wrong token", []string{"jobs", "list", "--token", "hg_notatoken"}, exitAuth, "401 未授权 Unauthorized: 令牌无效"},
		{"a job of another team", []string{"jobs", "confirm", itoa64(e.other)}, exitNotFound, fmt.Sprintf("404 未找到 Not Found: 未找到 job %d not found", e.other)},
		{"workdays that are not a number", []string{"jobs", "complete", job, "--worked", fmt.Sprintf("%d=abc", e.members[0])}, exitUsage, "--worked " + itoa64(e.members[0]) + "=abc: 工日须为0.5的倍数"},
		{"a quarter day", []string{"jobs", "complete", job, "--worked", fmt.Sprintf("%d=1.25", e.members[0])}, exitUsage, "0.5, 1, 1.5"},
		{"no household", []string{"jobs", "complete", job, "--worked", "1.5"}, exitUsage, "want HOUSEHOLD=WORKDAYS"},
		{"a household twice", []string{"jobs", "complete", job, "--worked", "5=1", "--worked", "5=0.5"}, exitUsage, "household 5 is listed twice"},
		{"no attendance", []string{"jobs", "complete", job}, exitUsage, "needs --worked"},
		{"a reason for no line", []string{"jobs", "complete", job, "--worked", "5=1", "--reason", "6=亲戚"}, exitUsage, "household 6 has no --worked or --helper line"},
		{"an empty reason", []string{"jobs", "complete", job, "--worked", "5=1", "--reason", "5="}, exitUsage, "want HOUSEHOLD=TEXT"},
		{"a server that is down", []string{"jobs", "list", "--server", down}, exitServer, "nothing answers at " + down},
		{"a server URL that does not parse", []string{"jobs", "list", "--server", "http://[::1"}, exitUsage, `bad server URL "http://[::1": missing ']' in host`},
		{"a server URL of another scheme", []string{"jobs", "list", "--server", "ftp://example.org"}, exitUsage, "want http:// or https://"},
		{"a server URL without a host", []string{"jobs", "list", "--server", "https://:8080"}, exitUsage, "has no host"},
		{"a login to a server URL that does not parse", []string{"login", "--server", "http://[::1", "--token", e.leader}, exitUsage, "bad server URL"},
		{"completing a job not yet confirmed", []string{"jobs", "complete", job, "--worked", fmt.Sprintf("%d=1", e.members[0])}, exitConflict,
			"409 冲突 Conflict: 当前状态为已派工，不能完工；下一步：请队长先确认派工，再完工记工 job " + job + " is scheduled and cannot be completed; " +
				"next: the team's leader confirms it first (confirm-job), then records the work；命令 command: huangong jobs confirm " + job},
		{"a worker's name no member has", []string{"jobs", "complete", job, "--worked", "无此人=1"}, exitUsage,
			"--worked 无此人=1: 第一互助队没有户主叫无此人的队员户 no member household of 第一互助队 is headed by 无此人"},
		{"a helper by name", []string{"jobs", "complete", job, "--helper", "张三=1"}, exitUsage, "a helper from outside the team is given by household number"},
		{"a server without a scheme", []string{"login", "--server", "127.0.0.1:8080", "--token", e.leader}, exitUsage,
			`server URL "127.0.0.1:8080" has no scheme: want http://HOST:PORT or https://HOST`},
		{"a server from the environment without a scheme", []string{"jobs", "list", "--server", "localhost:8080"}, exitUsage, "has no scheme"},
		{"a server URL with a query", []string{"jobs", "list", "--server", e.server + "/?x=1"}, exitUsage, "no query or fragment"},
		{"a leader planning", []string{"plan", "run", "--season", "1", "--dry-run"}, exitAuth, "403 无权限 Forbidden"},
		{"a date that is not one", []string{"jobs", "list", "--date", "yesterday"}, exitUsage, "--date: 日期应为 today"},
		{"a state the API does not know", []string{"jobs", "list", "--state", "finished"}, exitUsage, "422 请求无效 Unprocessable Entity"},
		{"an unknown flag", []string{"jobs", "list", "--colour"}, exitUsage, "flag provided but not defined: -colour"},
		{"an ID that is not one", []string{"jobs", "confirm", "nine"}, exitUsage, "ID must be a positive number"},
		{"no ID", []string{"jobs", "confirm"}, exitUsage, "usage: huangong jobs confirm ID"},
		{"a decline without a reason", []string{"jobs", "decline", job}, exitUsage, "needs --reason"},
		{"an unknown subcommand", []string{"jobs", "finish", job}, exitUsage, "unknown command jobs finish"},
		{"an unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := huangong(t, tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "huangong: "), r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.Contains(t, r.stderr, tc.says)
			assert.NotContains(t, r.stderr, "goroutine")
			assert.Empty(t, r.stdout)
		})
	}

	t.Run("attendance of a household outside the team", func(t *testing.T) {
		require.Equal(t, 0, huangong(t, "jobs", "confirm", job).code)
		r := huangong(t, "jobs", "complete", job, "--worked", "99999=1")
		assert.Equal(t, exitUsage, r.code, r.stderr)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
		assert.Contains(t, r.stderr, "huangong: 422 请求无效 Unprocessable Entity: body.attendance[0].householdId: 不是该队队员")
		assert.Equal(t, 0, jobPostings(t, e.app, e.job))

		// Confirming again is no error: the job is confirmed.
		r = huangong(t, "jobs", "confirm", job)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stderr, "was already confirmed")
	})

	t.Run("no token anywhere", func(t *testing.T) {
		t.Setenv("HUANGONG_TOKEN", "")
		r := huangong(t, "balance")
		assert.Equal(t, exitAuth, r.code)
		assert.Contains(t, r.stderr, "huangong login")
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	})

	t.Run("a login with a wrong token saves nothing", func(t *testing.T) {
		r := huangong(t, "login", "--server", e.server, "--token", "hg_notatoken")
		assert.Equal(t, exitAuth, r.code)
		_, err := os.Stat(os.Getenv("HUANGONG_CONFIG"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

// TestClientRetriesPostOnce puts a bad network between the client and the
// server: each posting reaches the server but its answer is lost, then a
// gateway fails. The client tries again with the same Idempotency-Key
// and shows the one change the server made: a completion posted once, a
// request registered once and cancelled once.
func TestClientRetriesPostOnce(t *testing.T) {
	e := mustClientEnv(t)
	require.Equal(t, 0, huangong(t, "jobs", "confirm", itoa64(e.job), "--server", e.server, "--token", e.leader).code)

	target, err := url.Parse(e.server)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	keys := map[string][]string{} // each try's Idempotency-Key, by path
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			proxy.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		keys[r.URL.Path] = append(keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
		attempt := len(keys[r.URL.Path])
		mu.Unlock()
		switch attempt {
		case 1: // the server acts, the answer never arrives
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			assert.Less(t, rec.Code, 300, rec.Body.String())
			conn, _, err := http.NewResponseController(w).Hijack()
			if assert.NoError(t, err) {
				conn.Close()
			}
		case 2:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer flaky.Close()
	tries := func(path string) []string {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		k := keys[path]
		require.Len(t, k, 3, path)
		assert.NotEmpty(t, k[0])
		assert.Equal(t, []string{k[0], k[0], k[0]}, k, "one key for every try")
		return k
	}

	r := huangong(t, "jobs", "complete", itoa64(e.job), "--worked", fmt.Sprintf("%d=1", e.members[0]),
		"--server", flaky.URL, "--token", e.leader)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "已完工")
	assert.Contains(t, r.stderr, "nothing was posted twice", "the third try was answered from the first")
	tries("/v1/jobs/" + itoa64(e.job) + "/complete")
	assert.Equal(t, 1, jobPostings(t, e.app, e.job))

	_, j := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	household := fmt.Sprint(int64(j["householdId"].(float64)))
	r = huangong(t, "requests", "create", "--household", household, "--field", itoa64(e.field), "--task", "prepare",
		"--earliest", "today", "--latest", e.today, "--server", flaky.URL, "--token", e.cadre)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `求助 \d+ 已登记 request \d+ submitted`, r.stdout)
	assert.Contains(t, r.stderr, "nothing was done twice")
	create := tries("/v1/requests")
	status, list := e.http.do("GET", "/v1/requests?household="+household+"&task=prepare", e.cadre, nil)
	require.Equal(t, 200, status, list)
	require.Len(t, list["items"], 1, "one request registered")
	reqID := int64(list["items"].([]any)[0].(map[string]any)["id"].(float64))
	assert.Contains(t, r.stdout, fmt.Sprintf("求助 %d 已登记", reqID))

	r = huangong(t, "requests", "cancel", itoa64(reqID), "--reason", "自己种上了", "--server", flaky.URL, "--token", e.cadre)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, reqID), "已撤销 cancelled")
	assert.Contains(t, r.stderr, "nothing was done twice")
	cancel := tries("/v1/requests/" + itoa64(reqID) + "/cancel")
	assert.NotEqual(t, create[0], cancel[0], "a key per command run")
	status, got := e.http.do("GET", "/v1/requests/"+itoa64(reqID), e.cadre, nil)
	require.Equal(t, 200, status, got)
	assert.Len(t, got["transitions"], 2, "submitted, then cancelled once: %v", got["transitions"])
}

// TestClientTodayIsTheVillages: at 2026-04-19 16:30 UTC it is already
// 00:30 on 2026-04-20 in the village (Asia/Shanghai) while it is still the
// 19th in UTC and on the machine running the client, here in Los Angeles.
// `jobs list --date today` lists the 20th's job, not the 19th's.
func TestClientTodayIsTheVillages(t *testing.T) {
	const child = "HUANGONG_TEST_TZ_CHILD"
	if os.Getenv(child) == "" {
		// The process's own zone is read once, at start: run this test
		// again in a process started with TZ set, so every clock in it,
		// server and client, lives in Los Angeles.
		exe, err := os.Executable()
		require.NoError(t, err)
		cmd := exec.Command(exe, "-test.run=^TestClientTodayIsTheVillages$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), child+"=1", "TZ=America/Los_Angeles")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestClientTodayIsTheVillages", "%s", out)
		return
	}
	now := time.Date(2026, 4, 19, 16, 30, 0, 0, time.UTC)
	require.Equal(t, "2026-04-19 09:30", now.Local().Format("2006-01-02 15:04"), "the process runs in Los Angeles")
	e := mustClientEnvAt(t, func() time.Time { return now })
	require.Equal(t, "2026-04-20", e.today, "the village's today")

	// Yesterday's job of the same team, on a member free that day.
	const yesterday = "2026-04-19"
	_, team := e.http.do("GET", "/v1/teams/"+itoa64(e.team), e.cadre, nil)
	var worker int64
	for _, m := range team["members"].([]any) {
		m := m.(map[string]any)
		if !slices.Contains(m["unavailableDays"].([]any), any(yesterday)) {
			worker = int64(m["householdId"].(float64))
			break
		}
	}
	require.NotZero(t, worker)
	_, j := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	status, req := e.http.do("POST", "/v1/requests", e.cadre, map[string]any{"householdId": j["householdId"], "fieldId": e.field,
		"task": "prepare", "earliest": yesterday, "latest": e.today})
	require.Equal(t, 201, status, req)
	status, old := e.http.do("POST", "/v1/jobs", e.cadre, map[string]any{"teamId": e.team, "requestId": req["id"],
		"date": yesterday, "workers": []map[string]any{{"householdId": worker, "workers": 1}}})
	require.Equal(t, 201, status, old)

	r := huangong(t, "jobs", "list", "--date", "today", "--server", e.server, "--token", e.leader)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, e.job), " 2026-04-20 ")
	assert.NotContains(t, r.stdout, yesterday, "yesterday's job is not today's")

	r = huangong(t, "jobs", "list", "--date", "tomorrow", "--server", e.server, "--token", e.leader)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "没有派工 no jobs\n", r.stdout)
}

// syncBuffer is a bytes.Buffer written by a command in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientWatch follows the leader's notifications while the cadre
// sends the team a new job, then stops as Ctrl-C would.
func TestClientWatch(t *testing.T) {
	e := mustClientEnv(t)
	w := startWatch(t, e.server, e.leader)
	stdout, stderr := &w.stdout, &w.stderr

	_, j := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	status, req := e.http.do("POST", "/v1/requests", e.cadre, map[string]any{"householdId": j["householdId"], "fieldId": e.field,
		"task": "prepare", "earliest": e.today, "latest": e.today})
	require.Equal(t, 201, status, req)
	status, job := e.http.do("POST", "/v1/jobs", e.cadre, map[string]any{"teamId": e.team, "requestId": req["id"],
		"date": e.today, "workers": []map[string]any{{"householdId": e.members[2], "workers": 1}}})
	require.Equal(t, 201, status, job)

	want := fmt.Sprintf("job.scheduled  派工 job %s  ", id(job))
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), want) },
		20*time.Second, 10*time.Millisecond, "the new job is announced: %s", stdout.String())
	line := stdout.String()[strings.Index(stdout.String(), want)-len("2006-01-02 15:04  "):]
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d  job.scheduled`, line)
	w.cancel()
	assert.Equal(t, 0, <-w.done, stderr.String())
}

// watch is a `jobs watch` running in the background.
type watch struct {
	stdout, stderr syncBuffer
	done           chan int // its exit code, when it ends
	cancel         context.CancelFunc
}

// startWatch runs `jobs watch` against server until the stream is open;
// the test's end stops it.
func startWatch(t *testing.T, server, token string) *watch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &watch{done: make(chan int, 1), cancel: cancel}
	go func() {
		w.done <- cli(ctx, []string{"jobs", "watch", "--server", server, "--token", token}, &w.stdout, &w.stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(w.stderr.String(), "watching events") },
		20*time.Second, 10*time.Millisecond, "the stream opens: %s", w.stderr.String())
	return w
}

// TestClientWatchStopsWhenRefused: the leader's token is revoked while
// the watch runs and the network drops the stream. The reconnect is
// refused (401), and the watch stops with the auth exit code instead of
// trying again every few seconds for ever.
func TestClientWatchStopsWhenRefused(t *testing.T) {
	e := mustClientEnv(t)
	saved := eventReconnect
	eventReconnect = 20 * time.Millisecond
	t.Cleanup(func() { eventReconnect = saved })
	target, err := url.Parse(e.server)
	require.NoError(t, err)
	network := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer network.Close()

	w := startWatch(t, network.URL, e.leader)

	_, err = e.app.Store.RevokeToken(context.Background(), e.village, e.tokenID)
	require.NoError(t, err)
	network.CloseClientConnections()
	select {
	case code := <-w.done:
		assert.Equal(t, exitAuth, code, w.stderr.String())
		assert.Contains(t, w.stderr.String(), "huangong: 401 未授权 Unauthorized")
		assert.NotContains(t, w.stderr.String(), "reconnecting", "the one reconnect was refused")
	case <-time.After(10 * time.Second):
		t.Fatalf("the watch still runs with a revoked token: %s", w.stderr.String())
	}

	// A network that drops, or a server that fails, is waited out.
	assert.False(t, refused(unreachable(e.server, io.ErrUnexpectedEOF)))
	assert.False(t, refused(&problemError{Status: http.StatusServiceUnavailable}))
	assert.False(t, refused(&problemError{Status: http.StatusTooManyRequests}))
	assert.True(t, refused(&problemError{Status: http.StatusForbidden}))
}

// TestClientRequestsAndPlan: a cadre's token enters a request for a
// household, lists it, cancels it, and previews a plan.
func TestClientRequestsAndPlan(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.cadre)
	_, j := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	household := fmt.Sprint(int64(j["householdId"].(float64)))

	r := huangong(t, "requests", "create", "--household", household, "--field", itoa64(e.field), "--task", "prepare",
		"--earliest", "today", "--latest", e.today, "--note", "家里没有劳力")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `求助 \d+ 已登记 request \d+ submitted`, r.stdout)
	var reqID int64
	_, err := fmt.Sscanf(r.stdout, "求助 %d", &reqID)
	require.NoError(t, err)
	assert.Contains(t, row(t, r.stdout, reqID), "整地 prepare")

	r = huangong(t, "requests", "list", "--household", household, "--state", "submitted")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, reqID), e.today+".."+e.today)

	r = huangong(t, "requests", "create", "--household", household, "--field", itoa64(e.field), "--task", "prepare",
		"--earliest", e.today, "--latest", e.today)
	assert.Equal(t, exitConflict, r.code, "one open request per field and task: %s", r.stderr)
	assert.Contains(t, r.stderr, "body.fieldId")

	// A cadre sets the crew cap and puts it back to the default.
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "5")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `求助 \d+ 已修改 request \d+ updated`, r.stdout)
	assert.Contains(t, row(t, r.stdout, reqID), "5 设定 set")
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "5", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"crewCapSet": true`)
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "default")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, reqID), "默认 default")
	assert.NotContains(t, row(t, r.stdout, reqID), "设定 set")
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "51")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "body.crewCap")
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "many")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	r = huangong(t, "requests", "update", itoa64(reqID))
	assert.Equal(t, exitUsage, r.code, r.stderr)

	r = huangong(t, "requests", "cancel", itoa64(reqID), "--reason", "自己种上了")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, reqID), "已撤销 cancelled")
	assert.Empty(t, r.stderr)
	r = huangong(t, "requests", "update", itoa64(reqID), "--crew-cap", "3")
	assert.Equal(t, exitConflict, r.code, r.stderr)
	assert.Contains(t, r.stderr, "409")

	// Cancelling again is no error for whoever cancelled it: the request
	// is cancelled. For another token it is the conflict it is: that
	// caller's reason was not recorded.
	r = huangong(t, "requests", "cancel", itoa64(reqID), "--reason", "自己种上了")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, reqID), "已撤销 cancelled")
	assert.Contains(t, r.stderr, fmt.Sprintf("request %d was already cancelled", reqID))
	otherCadre, err := e.app.Store.CreateToken(context.Background(), &store.Token{VillageID: e.village, Role: store.RoleCadre})
	require.NoError(t, err)
	r = huangong(t, "requests", "cancel", itoa64(reqID), "--reason", "不要了", "--token", otherCadre)
	assert.Equal(t, exitConflict, r.code, r.stderr)
	assert.Contains(t, r.stderr, "409 冲突 Conflict")
	assert.Empty(t, r.stdout)

	_, seasons := e.http.do("GET", "/v1/seasons", e.cadre, nil)
	var season string
	for _, s := range seasons["items"].([]any) {
		s := s.(map[string]any)
		if s["startDate"].(string) <= e.today && e.today <= s["endDate"].(string) {
			season = id(s)
		}
	}
	require.NotEmpty(t, season)
	r = huangong(t, "plan", "run", "--season", season, "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "预览，未保存 dry run, nothing saved")

	r = huangong(t, "balance", "--below-limit", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, json.Valid([]byte(r.stdout)), r.stdout)
	assert.Contains(t, r.stdout, `"fund"`, "a cadre sees the village fund")

	// A list of several pages reads as one: the table has every job, the
	// JSON every item.
	saved := pageLimit
	pageLimit = 1
	defer func() { pageLimit = saved }()
	r = huangong(t, "jobs", "list", "--date", "today")
	require.Equal(t, 0, r.code, r.stderr)
	row(t, r.stdout, e.job)
	row(t, r.stdout, e.other)
	r = huangong(t, "jobs", "list", "--date", "today", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var jobs struct{ Items []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &jobs), r.stdout)
	assert.Len(t, jobs.Items, 2)

	var out bytes.Buffer
	require.Equal(t, 0, cli(context.Background(), []string{"jobs", "list", "-h"}, &out, io.Discard))
	assert.Contains(t, out.String(), "-date")
	out.Reset()
	require.Equal(t, 0, cli(context.Background(), []string{"help"}, &out, io.Discard))
	assert.Contains(t, out.String(), "Exit codes 退出码")
}

// freeMember is a member household of the leader's team free on day (not
// unavailable, not on another job that day), other than those in busy.
func (e *clientEnv) freeMember(t *testing.T, day string, busy ...int64) int64 {
	t.Helper()
	_, team := e.http.do("GET", "/v1/teams/"+itoa64(e.team), e.cadre, nil)
	for _, m := range team["members"].([]any) {
		m := m.(map[string]any)
		hh := int64(m["householdId"].(float64))
		if !slices.Contains(m["unavailableDays"].([]any), any(day)) && !slices.Contains(busy, hh) {
			return hh
		}
	}
	t.Fatalf("no member of team %d free on %s", e.team, day)
	return 0
}

// mustJob puts the leader's team on day for a new request of the helped
// household on a field and task, with one person of each worker.
func (e *clientEnv) mustJob(t *testing.T, day, earliest, latest string, field int64, task string, workers ...int64) int64 {
	t.Helper()
	status, r := e.http.do("POST", "/v1/requests", e.cadre, map[string]any{"householdId": e.helped, "fieldId": field,
		"task": task, "earliest": earliest, "latest": latest})
	require.Equal(t, 201, status, r)
	var ws []map[string]any
	for _, w := range workers {
		ws = append(ws, map[string]any{"householdId": w, "workers": 1})
	}
	status, j := e.http.do("POST", "/v1/jobs", e.cadre, map[string]any{"teamId": e.team, "requestId": r["id"], "date": day, "workers": ws})
	require.Equal(t, 201, status, j)
	return int64(j["id"].(float64))
}

// TestClientJobsListDefaults: with the clocks stopped at 10:00 on
// 2026-10-20 in the village, `jobs list` alone shows what is left to do
// from today on — today's scheduled job and tomorrow's, not today's done
// one nor yesterday's — says that yesterday's is still open, and the flags
// show the rest.
func TestClientJobsListDefaults(t *testing.T) {
	now := time.Date(2026, 10, 20, 2, 0, 0, 0, time.UTC)
	e := mustClientEnvAt(t, func() time.Time { return now })
	require.Equal(t, "2026-10-20", e.today)
	const yesterday, tomorrow = "2026-10-19", "2026-10-21"
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)

	done := e.mustJob(t, e.today, e.today, "2026-10-23", e.fields[1], "prepare", e.members[2])
	require.Equal(t, 0, huangong(t, "jobs", "confirm", itoa64(done)).code)
	r := huangong(t, "jobs", "complete", itoa64(done), "--worked", fmt.Sprintf("%d=1", e.members[2]))
	require.Equal(t, 0, r.code, r.stderr)
	earlier := e.mustJob(t, yesterday, yesterday, e.today, e.fields[0], "transplant", e.freeMember(t, yesterday))
	require.Equal(t, 0, huangong(t, "jobs", "confirm", itoa64(earlier)).code)
	next := e.mustJob(t, tomorrow, e.today, "2026-10-23", e.fields[1], "transplant", e.freeMember(t, tomorrow))

	r = huangong(t, "jobs", "list")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 5, r.stdout)
	assert.Equal(t, "今天（2026-10-20）起待办的派工 jobs to do from today (2026-10-20) on; every job: --all", lines[0])
	assert.Regexp(t, `^编号 ID  日期 Date\s+农活 Task`, lines[1], "no team column for a leader")
	assert.Contains(t, row(t, r.stdout, e.job), "已派工 scheduled")
	assert.Contains(t, row(t, r.stdout, next), tomorrow)
	assert.NotContains(t, r.stdout, fmt.Sprintf("\n%d ", done), "done today: nothing left to do")
	assert.NotContains(t, r.stdout, fmt.Sprintf("\n%d ", e.other), "another team's")
	assert.Equal(t, "另有 1 个之前的派工还没完工记工 1 earlier jobs are not done yet: huangong jobs list --to 2026-10-19 --open", lines[4])

	r = huangong(t, "jobs", "list", "--to", yesterday, "--open")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, earlier), "已确认 confirmed")
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 2, r.stdout)

	r = huangong(t, "jobs", "list", "--all")
	require.Equal(t, 0, r.code, r.stderr)
	for _, id := range []int64{e.job, done, earlier, next} {
		row(t, r.stdout, id)
	}
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 5, r.stdout)

	r = huangong(t, "jobs", "list", "--state", "done")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, done), "已完工 done")
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 2, r.stdout)

	r = huangong(t, "jobs", "list", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var list struct{ Items []struct{ ID int64 } }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list), r.stdout)
	assert.Equal(t, []int64{e.job, next}, []int64{list.Items[0].ID, list.Items[1].ID})
	assert.Len(t, list.Items, 2)

	// A cadre's list has the team column: it spans the teams.
	r = huangong(t, "jobs", "list", "--token", e.cadre)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "队 Team")
	assert.Contains(t, row(t, r.stdout, e.other), "互助队")

	// Nothing left to do from the day after tomorrow on.
	now = now.AddDate(0, 0, 2)
	r = huangong(t, "jobs", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "今天（2026-10-22）起没有待办的派工 no jobs to do from today (2026-10-22) on; every job: huangong jobs list --all\n"+
		"另有 3 个之前的派工还没完工记工 3 earlier jobs are not done yet: huangong jobs list --to 2026-10-21 --open\n", r.stdout)
}

// TestClientLeaderReadsHelpedHousehold: the leader reads the balance and
// statement of the household its team is going to help, not a member of
// the team, and still not a household its team has nothing to do with;
// once the team declines its only job there, the household is out of
// its view again.
func TestClientLeaderReadsHelpedHousehold(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)
	require.NotContains(t, e.names, e.helped, "徐冬凤 is no member of the team")

	r := huangong(t, "balance", itoa64(e.helped))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, fmt.Sprintf(`^%d\s+徐冬凤\s+2\s+0\s`, e.helped), row(t, r.stdout, e.helped))
	r = huangong(t, "statement", itoa64(e.helped))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("徐冬凤户（农户 %d）工日明细", e.helped))

	// The team's own list stays its members'.
	r = huangong(t, "balance")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "徐冬凤")

	for _, args := range [][]string{{"balance", itoa64(e.outside)}, {"statement", itoa64(e.outside)}} {
		r = huangong(t, args...)
		assert.Equal(t, exitNotFound, r.code, "%v: %s", args, r.stderr)
	}

	r = huangong(t, "jobs", "decline", itoa64(e.job), "--reason", "队员都在抢收自家晚稻")
	require.Equal(t, 0, r.code, r.stderr)
	r = huangong(t, "balance", itoa64(e.helped))
	assert.Equal(t, exitNotFound, r.code, "a declined job helps no one: %s", r.stderr)
	r = huangong(t, "statement", itoa64(e.helped))
	assert.Equal(t, exitNotFound, r.code, r.stderr)
}

// TestClientRefusalsSayNextStep: every change the server refuses with a
// 409 is one line on stderr, exit 5, that says what to do instead: the
// server's reason and next step as the server gave them, then the command
// to type where there is one, and no reasoning of the client's own.
func TestClientRefusalsSayNextStep(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)
	job := itoa64(e.job)
	m2 := fmt.Sprintf("%d=1", e.members[2])

	// A second job that the cadre cancels, a third the leader declines.
	cancelled := e.mustJob(t, e.today, e.today, e.today, e.fields[1], "prepare", e.members[2])
	status, j := e.http.do("GET", "/v1/jobs/"+itoa64(cancelled), e.cadre, nil)
	require.Equal(t, 200, status, j)
	r := huangong(t, "requests", "cancel", id(map[string]any{"id": j["requestId"]}), "--reason", "自己收完了", "--token", e.cadre)
	require.Equal(t, 0, r.code, r.stderr)
	declined := e.mustJob(t, e.today, e.today, e.today, e.fields[0], "prepare", e.members[2])
	require.Equal(t, 0, huangong(t, "jobs", "decline", itoa64(declined), "--reason", "人手不够").code)

	require.Equal(t, 0, huangong(t, "jobs", "confirm", job).code)
	require.Equal(t, 0, huangong(t, "jobs", "complete", job, "--worked", fmt.Sprintf("%d=1", e.members[0])).code)

	for _, tc := range []struct {
		name    string
		args    []string
		server  string // the server's reason and next step
		command string // the command the client adds, "" for none
	}{
		{"confirming a done job", []string{"jobs", "confirm", job},
			"job " + job + " is done and cannot be confirmed; next: the work is already recorded", "huangong jobs list --state done"},
		{"declining a done job", []string{"jobs", "decline", job, "--reason", "算了"},
			"the village cadre reverses it (reverse-transaction)", ""},
		{"completing a done job with other figures", []string{"jobs", "complete", job, "--worked", fmt.Sprintf("%d=0.5", e.members[0])},
			"the household disputes it within 3 days (dispute-job) or the village cadre reverses it", ""},
		{"confirming a cancelled job", []string{"jobs", "confirm", itoa64(cancelled)},
			"nobody needs to go", "huangong jobs list"},
		{"declining a cancelled job", []string{"jobs", "decline", itoa64(cancelled), "--reason", "不去了"},
			"nothing to decline", "huangong jobs list"},
		{"completing a cancelled job", []string{"jobs", "complete", itoa64(cancelled), "--worked", m2},
			"a cancelled job is not recorded", "huangong jobs list"},
		{"confirming a declined job", []string{"jobs", "confirm", itoa64(declined)},
			"the village plans its request again", "huangong jobs list"},
		{"completing a declined job", []string{"jobs", "complete", itoa64(declined), "--worked", m2},
			"a declined job is not recorded", "huangong jobs list"},
		{"a second open request on a field and task", []string{"requests", "create", "--household", itoa64(e.helped), "--field",
			itoa64(e.fields[1]), "--task", "harvest", "--earliest", "today", "--latest", e.today, "--token", e.cadre},
			"next: see it in list-requests", fmt.Sprintf("huangong requests list --task harvest --household %d", e.helped)},
		{"changing a cancelled request", []string{"requests", "update", id(map[string]any{"id": j["requestId"]}), "--crew-cap", "3", "--token", e.cadre},
			"register a new request (create-request)", "huangong requests create --household " + id(map[string]any{"id": j["householdId"]}) + " --field "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := huangong(t, tc.args...)
			assert.Equal(t, exitConflict, r.code, r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "huangong: 409 冲突 Conflict: "), r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.Contains(t, r.stderr, tc.server)
			assert.Contains(t, r.stderr, "；下一步：", "the server's next step")
			assert.Equal(t, 1, strings.Count(r.stderr, "下一步"), "said once, by the server")
			if tc.command == "" {
				assert.NotContains(t, r.stderr, "命令 command:")
			} else if assert.Contains(t, r.stderr, "；命令 command: ") {
				assert.Contains(t, r.stderr[strings.Index(r.stderr, "；命令 command: "):], tc.command)
			}
			assert.Empty(t, r.stdout)
		})
	}
	assert.Equal(t, 1, jobPostings(t, e.app, e.job))

	// Someone else cancelling a request already cancelled: nothing to do.
	other, err := e.app.Store.CreateToken(context.Background(), &store.Token{VillageID: e.village, Role: store.RoleCadre})
	require.NoError(t, err)
	r = huangong(t, "requests", "cancel", id(map[string]any{"id": j["requestId"]}), "--reason", "不要了", "--token", other)
	assert.Equal(t, exitConflict, r.code, r.stderr)
	assert.Contains(t, r.stderr, "；下一步：已撤销过，无需再撤销")
	assert.Contains(t, r.stderr, "next: it is already cancelled: nothing to do")
	assert.NotContains(t, r.stderr, "命令 command:")
}

// TestClientDaySheet: `jobs today` is the sheet a leader reads out before
// work: for each job the household, its phone, the field, the task and
// who goes, by name, in columns that line up; then each member household
// and where it goes.
func TestClientDaySheet(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)
	m0, m1, m2 := e.members[0], e.members[1], e.members[2]
	second := e.mustJob(t, e.today, e.today, e.today, e.fields[1], "prepare", m2)
	require.Equal(t, 0, huangong(t, "jobs", "confirm", itoa64(e.job)).code)
	// A declined job is no one's work that day.
	gone := e.mustJob(t, e.today, e.today, e.today, e.fields[0], "prepare", e.freeMember(t, e.today, m0, m1, m2))
	require.Equal(t, 0, huangong(t, "jobs", "decline", itoa64(gone), "--reason", "人手不够").code)

	r := huangong(t, "jobs", "today")
	require.Equal(t, 0, r.code, r.stderr)
	day, err := time.Parse(time.DateOnly, e.today)
	require.NoError(t, err)
	lines := strings.Split(r.stdout, "\n")
	assert.Equal(t, fmt.Sprintf("客户端村 第一互助队 派工单 day sheet %s %s", e.today, weekdays[day.Weekday()]), lines[0])
	assert.Equal(t, "共 2 个派工，出工 3 人 2 jobs, 3 people", lines[1])
	_, j := e.http.do("GET", "/v1/jobs/"+itoa64(e.job), e.cadre, nil)
	for _, want := range []string{
		"  去 Go to     徐冬凤户  电话 13879312345",
		"  田块 Field   岭背田 1.2亩  第2组 group 2",
		fmt.Sprintf("  出工 People  %s1人、%s1人，共2人", e.names[m0], e.names[m1]),
		"  期限 Due     " + j["due"].(string),
		"  田块 Field   门口田 1.2亩  第2组 group 2",
		fmt.Sprintf("  出工 People  %s1人，共1人", e.names[m2]),
	} {
		assert.Contains(t, lines, want)
	}
	assert.Regexp(t, fmt.Sprintf(`(?m)^派工 %d\s+收割 harvest  已确认 confirmed$`, e.job), r.stdout)
	assert.Regexp(t, fmt.Sprintf(`(?m)^派工 %d\s+整地 prepare  已派工 scheduled，请确认 to confirm: huangong jobs confirm %d$`, second, second), r.stdout)
	assert.NotContains(t, r.stdout, fmt.Sprintf("派工 %d ", gone))
	assert.NotContains(t, r.stdout, "队 Team", "a leader's sheet is its team's")

	// Who goes where, one line a member household.
	who := r.stdout[strings.Index(r.stdout, "谁去哪 who goes where"):]
	for hh, where := range map[int64]string{m0: "徐冬凤户 岭背田  收割 harvest", m1: "徐冬凤户 岭背田  收割 harvest", m2: "徐冬凤户 门口田  整地 prepare"} {
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s\s+1人\s+%s`, e.names[hh], where), who)
	}
	// Every value starts in the same column, Chinese counting two.
	label := regexp.MustCompile(`^\s*\S.*?\S\s{2,}`)
	var cols []int
	for _, l := range lines[3:slices.Index(lines, "谁去哪 who goes where")] {
		if l != "" {
			cols = append(cols, displayWidth(label.FindString(l)))
		}
	}
	require.Len(t, cols, 10)
	assert.Equal(t, slices.Repeat([]int{cols[0]}, 10), cols, "aligned:\n%s", r.stdout)

	r = huangong(t, "jobs", "today", "--date", "tomorrow")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "这天没有派工 no jobs that day")

	// A cadre's sheet names the team of each job.
	r = huangong(t, "jobs", "today", "--token", e.cadre)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  队 Team      第一互助队")
	assert.Contains(t, r.stdout, "共 3 个派工")
}

// TestClientWorkedByName: a second member household headed by a name the
// team already has makes the name ambiguous: the command stops (exit 2)
// naming both households, and the number still works.
func TestClientWorkedByName(t *testing.T) {
	e := mustClientEnv(t)
	t.Setenv("HUANGONG_SERVER", e.server)
	t.Setenv("HUANGONG_TOKEN", e.leader)
	m0 := e.members[0]
	name := e.names[m0]
	status, hh := e.http.do("POST", "/v1/households", e.cadre, map[string]any{"headName": name, "group": 1, "laborers": 2, "members": 3})
	require.Equal(t, 201, status, hh)
	twin := int64(hh["id"].(float64))
	status, body := e.http.do("POST", "/v1/teams/"+itoa64(e.team)+"/members", e.cadre, map[string]any{"householdId": twin, "workersPerDay": 1})
	require.Equal(t, 201, status, body)
	require.Equal(t, 0, huangong(t, "jobs", "confirm", itoa64(e.job)).code)

	r := huangong(t, "jobs", "complete", itoa64(e.job), "--worked", name+"=1")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, fmt.Sprintf("--worked %s=1: 有2户户主叫%s，请用农户编号 2 households are headed by %s: %d, %d; give the number",
		name, name, name, m0, twin))
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Equal(t, 0, jobPostings(t, e.app, e.job), "nothing sent")

	// By number it goes through; the twin, not planned on the job, with a reason.
	r = huangong(t, "jobs", "complete", itoa64(e.job), "--worked", fmt.Sprintf("%d=1", m0), "--worked", fmt.Sprintf("%d=1", twin),
		"--reason", fmt.Sprintf("%d=顶替生病的队员", twin))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, row(t, r.stdout, e.job), name+"=1 "+name+"=1")
	assert.Equal(t, 1, jobPostings(t, e.app, e.job))
}
