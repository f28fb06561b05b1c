package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/store"
	"huangong/store/testdb"
)

// testEnv is a server over a fresh database with two villages, so every
// test can check that nothing crosses from one to the other.
type testEnv struct {
	st  *store.Store
	srv *api.Server
	url string

	village, villageB *store.Village
	home, neighbour   *store.Household // in village A
	stranger          *store.Household // in village B
	team              *store.Team      // in village A, neighbour is a member

	cadre, cadreB, leader, householdTok, neighbourTok string
}

func mustEnv(tb testing.TB) *testEnv {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.Database(tb, "api.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { st.Close() })
	as := api.NewServer(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(as.Handler())
	tb.Cleanup(srv.Close)

	e := &testEnv{st: st, srv: as, url: srv.URL}
	e.village = &store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"}
	e.villageB = &store.Village{Name: "邻村", County: "玉山县", Township: "四股桥乡"}
	require.NoError(tb, st.CreateVillage(ctx, e.village))
	require.NoError(tb, st.CreateVillage(ctx, e.villageB))
	// 章仁标 here has a laborer and owes help back (换工), so the tests
	// can follow his balance; the default 帮扶 of an elderly household is
	// TestHouseholdPolicy's.
	exchange := store.PolicyExchange
	e.home = &store.Household{VillageID: e.village.ID, HeadName: "章仁标", Group: 3, Laborers: 1, Members: 2, Elderly: true, Policy: &exchange}
	e.neighbour = &store.Household{VillageID: e.village.ID, HeadName: "章吉仙", Group: 3, Laborers: 3, Members: 4}
	require.NoError(tb, st.CreateHousehold(ctx, e.home))
	require.NoError(tb, st.CreateHousehold(ctx, e.neighbour))
	e.stranger = &store.Household{VillageID: e.villageB.ID, HeadName: "外村人", Group: 1, Laborers: 2, Members: 2}
	require.NoError(tb, st.CreateHousehold(ctx, e.stranger))
	e.team = &store.Team{VillageID: e.village.ID, Name: "第一互助队", LeaderName: "章吉仙", LeaderHouseholdID: &e.neighbour.ID}
	require.NoError(tb, st.CreateTeam(ctx, e.team))
	require.NoError(tb, st.AddTeamMember(ctx, e.village.ID, &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.neighbour.ID, WorkersPerDay: 2}))

	mint := func(t *store.Token) string {
		secret, err := st.CreateToken(ctx, t)
		require.NoError(tb, err)
		return secret
	}
	e.cadre = mint(&store.Token{VillageID: e.village.ID, Role: store.RoleCadre})
	e.cadreB = mint(&store.Token{VillageID: e.villageB.ID, Role: store.RoleCadre})
	e.leader = mint(&store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.team.ID})
	e.householdTok = mint(&store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.home.ID})
	e.neighbourTok = mint(&store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.neighbour.ID})
	return e
}

// call sends a request; body may be nil, a []byte sent as is, or a value
// sent as JSON. headers are name, value pairs.
func (e *testEnv) call(tb testing.TB, method, path, token string, body any, headers ...string) (*http.Response, map[string]any) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(tb, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	require.NoError(tb, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(tb, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp, out
}

// assertProblem checks an RFC 9457 answer with the status and, when
// location is given, an error detail naming it.
func assertProblem(tb testing.TB, resp *http.Response, body map[string]any, status int, location string) {
	tb.Helper()
	assert.Equal(tb, status, resp.StatusCode, "body: %v", body)
	assert.Equal(tb, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.EqualValues(tb, status, body["status"])
	if location == "" {
		return
	}
	var locs []string
	errs, _ := body["errors"].([]any)
	for _, d := range errs {
		if m, ok := d.(map[string]any); ok {
			locs = append(locs, m["location"].(string))
		}
	}
	assert.Contains(tb, locs, location, "problem: %v", body)
}

func TestBadInputIsA4xxProblemNamingTheField(t *testing.T) {
	e := mustEnv(t)
	field := func(mods map[string]any) map[string]any {
		f := map[string]any{"householdId": e.home.ID, "name": "门口田", "area": 1.6, "crop": "early_rice"}
		for k, v := range mods {
			f[k] = v
		}
		return f
	}
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		body     any
		status   int
		location string
	}{
		{"negative area", "POST", "/v1/fields", field(map[string]any{"area": -1}), 422, "body.area"},
		{"zero area", "POST", "/v1/fields", field(map[string]any{"area": 0}), 422, "body.area"},
		{"area over 100 mu", "POST", "/v1/fields", field(map[string]any{"area": 100.5}), 422, "body.area"},
		{"area with three decimals", "POST", "/v1/fields", field(map[string]any{"area": 1.234}), 422, "body.area"},
		{"unknown crop", "POST", "/v1/fields", field(map[string]any{"crop": "wheat"}), 422, "body.crop"},
		{"field of an unknown household", "POST", "/v1/fields", field(map[string]any{"householdId": 999}), 422, "body.householdId"},
		{"field of another village's household", "POST", "/v1/fields", field(map[string]any{"householdId": e.stranger.ID}), 422, "body.householdId"},
		{"member from another village", "POST", "/v1/teams/" + itoa(e.team.ID) + "/members", map[string]any{"householdId": e.stranger.ID, "workersPerDay": 1}, 422, "body.householdId"},
		{"area as text", "POST", "/v1/fields", field(map[string]any{"area": "three"}), 422, "body.area"},
		{"unknown property", "POST", "/v1/fields", field(map[string]any{"acreage": 3}), 422, "body.acreage"},
		{"negative laborers", "POST", "/v1/households", map[string]any{"headName": "王五", "group": 1, "laborers": -1, "members": 1}, 422, "body.laborers"},
		{"bad phone", "POST", "/v1/households", map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1, "phone": "12345"}, 422, "body.phone"},
		{"members fewer than laborers", "POST", "/v1/households", map[string]any{"headName": "王五", "group": 1, "laborers": 3, "members": 1}, 422, "body.members"},
		{"blank head name", "POST", "/v1/households", map[string]any{"headName": "  ", "group": 1, "laborers": 1, "members": 1}, 422, "body.headName"},
		// A missing property is reported on the body, its name in the message.
		{"missing group", "POST", "/v1/households", map[string]any{"headName": "王五", "laborers": 1, "members": 1}, 422, "body"},
		{"broken JSON", "POST", "/v1/households", []byte(`{"headName": "王五",`), 400, ""},
		{"workers beyond laborers", "POST", "/v1/teams/" + itoa(e.team.ID) + "/members", map[string]any{"householdId": e.home.ID, "workersPerDay": 2}, 422, "body.workersPerDay"},
		{"bad unavailable day", "POST", "/v1/teams/" + itoa(e.team.ID) + "/members", map[string]any{"householdId": e.home.ID, "workersPerDay": 1, "unavailableDays": []string{"2026-13-01"}}, 422, "body.unavailableDays[0]"},
		{"duplicate member", "POST", "/v1/teams/" + itoa(e.team.ID) + "/members", map[string]any{"householdId": e.neighbour.ID, "workersPerDay": 1}, 409, "body.householdId"},
		{"duplicate team name", "POST", "/v1/teams", map[string]any{"name": "第一互助队"}, 409, "body.name"},
		{"unknown crop filter", "GET", "/v1/fields?crop=wheat", nil, 422, "query.crop"},
		{"unknown query parameter", "GET", "/v1/fields?colour=red", nil, 422, "query.colour"},
		{"bad cursor", "GET", "/v1/households?cursor=bm90LWEtY3Vyc29y", nil, 422, "query.cursor"},
		{"limit too large", "GET", "/v1/households?limit=1000", nil, 422, "query.limit"},
		{"id not a number", "GET", "/v1/households/abc", nil, 422, "path.id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(t, e)
			resp, body := e.call(t, tc.method, tc.path, e.cadre, tc.body)
			assertProblem(t, resp, body, tc.status, tc.location)
			if tc.location == "body" {
				assert.Contains(t, fmt.Sprint(body["errors"]), "group")
			}
			assert.Equal(t, before, countRows(t, e), "nothing is written on bad input")
		})
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// countRows counts the records a bad request might have written.
func countRows(tb testing.TB, e *testEnv) [3]int {
	tb.Helper()
	var n [3]int
	for i, table := range []string{"households", "fields", "team_members"} {
		require.NoError(tb, e.st.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n[i]))
	}
	return n
}

func TestOversizedBodyIs413(t *testing.T) {
	e := mustEnv(t)
	big := []byte(`{"headName":"` + strings.Repeat("章", 1<<20) + `","group":1,"laborers":1,"members":1}`)
	require.Greater(t, len(big), 2<<20)
	resp, body := e.call(t, "POST", "/v1/households", e.cadre, big)
	assertProblem(t, resp, body, http.StatusRequestEntityTooLarge, "")
}

// TestBodyAndQueryProblems pins the statuses huma answers before a
// handler runs, which every operation documents (see TestOpenAPIContract).
func TestBodyAndQueryProblems(t *testing.T) {
	e := mustEnv(t)
	resp, body := e.call(t, "POST", "/v1/households", e.cadre, []byte{})
	assertProblem(t, resp, body, http.StatusBadRequest, "")
	resp, body = e.call(t, "POST", "/v1/households", e.cadre, []byte(`headName=王五`), "Content-Type", "text/plain")
	assertProblem(t, resp, body, http.StatusUnsupportedMediaType, "")
	resp, body = e.call(t, "GET", "/v1/village?verbose=1", e.cadre, nil)
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.verbose")
	resp, body = e.call(t, "GET", "/healthz?verbose=1", "", nil)
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.verbose")

	// The document shows patternDescription as x-pattern-description; the
	// message it makes is unchanged.
	resp, body = e.call(t, "POST", "/v1/households", e.cadre, map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1, "phone": "12345"})
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.phone")
	assert.Contains(t, fmt.Sprint(body["errors"]), "a mobile number like 13879312345 or a landline like 0793-2212345 手机或座机号码")
}

func TestAuthenticationFailuresAre401(t *testing.T) {
	e := mustEnv(t)
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"not bearer", "Basic dXNlcjpwYXNz"},
		{"bearer without token", "Bearer "},
		{"malformed token", "Bearer not-a-token"},
		{"right shape, unknown", "Bearer hg_" + strings.Repeat("a", 52)},
		{"non-base32 characters", "Bearer hg_" + strings.Repeat("!", 52)},
		{"very long token", "Bearer " + strings.Repeat("x", 4000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, "GET", "/v1/households", "", nil, "Authorization", tc.header)
			assertProblem(t, resp, body, http.StatusUnauthorized, "")
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		})
	}
}

func TestRolesAndScopes(t *testing.T) {
	e := mustEnv(t)
	hh, fld := itoa(e.home.ID), ""
	resp, body := e.call(t, "POST", "/v1/fields", e.cadre, map[string]any{"householdId": e.home.ID, "name": "门口田", "area": 1.6, "crop": "early_rice"})
	require.Equal(t, 201, resp.StatusCode, body)
	fld = itoa(int64(body["id"].(float64)))

	for _, tc := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"household reads itself", "GET", "/v1/households/" + hh, e.householdTok, 200},
		{"household reads its field", "GET", "/v1/fields/" + fld, e.householdTok, 200},
		{"neighbour cannot read the household", "GET", "/v1/households/" + hh, e.neighbourTok, 404},
		{"neighbour cannot read the field", "GET", "/v1/fields/" + fld, e.neighbourTok, 404},
		{"neighbour cannot list the household's fields", "GET", "/v1/fields?household=" + hh, e.neighbourTok, 404},
		{"household cannot list households", "GET", "/v1/households", e.householdTok, 403},
		{"household cannot create a household", "POST", "/v1/households", e.householdTok, 403},
		{"leader reads its team", "GET", "/v1/teams/" + itoa(e.team.ID), e.leader, 200},
		{"leader cannot read another team", "GET", "/v1/teams/" + itoa(e.team.ID+1), e.leader, 404},
		{"leader cannot read households", "GET", "/v1/households/" + hh, e.leader, 403},
		{"household cannot read teams", "GET", "/v1/teams", e.householdTok, 403},
		{"other village's cadre sees nothing", "GET", "/v1/households/" + hh, e.cadreB, 404},
		{"other village's cadre cannot see the field", "GET", "/v1/fields/" + fld, e.cadreB, 404},
		{"cadre cannot read another village's household", "GET", "/v1/households/" + itoa(e.stranger.ID), e.cadre, 404},
		{"cadre reads the audit log", "GET", "/v1/audit", e.cadre, 200},
		{"leader cannot read the audit log", "GET", "/v1/audit", e.leader, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1}
			}
			resp, out := e.call(t, tc.method, tc.path, tc.token, body)
			assert.Equal(t, tc.status, resp.StatusCode, "%v", out)
			if tc.status >= 400 {
				assertProblem(t, resp, out, tc.status, "")
			}
		})
	}

	t.Run("household lists only its own fields", func(t *testing.T) {
		resp, out := e.call(t, "GET", "/v1/fields", e.neighbourTok, nil)
		require.Equal(t, 200, resp.StatusCode)
		assert.Empty(t, out["items"])
		resp, out = e.call(t, "GET", "/v1/fields", e.householdTok, nil)
		require.Equal(t, 200, resp.StatusCode)
		assert.Len(t, out["items"], 1)
	})
	t.Run("leader lists only its team", func(t *testing.T) {
		_, out := e.call(t, "POST", "/v1/teams", e.cadre, map[string]any{"name": "第二互助队"})
		require.NotNil(t, out["id"])
		resp, out := e.call(t, "GET", "/v1/teams", e.leader, nil)
		require.Equal(t, 200, resp.StatusCode)
		items := out["items"].([]any)
		require.Len(t, items, 1)
		assert.Equal(t, "第一互助队", items[0].(map[string]any)["name"])
	})
}

func TestUpdateWithETag(t *testing.T) {
	e := mustEnv(t)
	path := "/v1/households/" + itoa(e.home.ID)
	resp, body := e.call(t, "GET", path, e.cadre, nil)
	require.Equal(t, 200, resp.StatusCode)
	first := resp.Header.Get("ETag")
	require.NotEmpty(t, first)

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"phone": "13879312345"}, "If-Match", first)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "13879312345", body["phone"])
	assert.Equal(t, "章仁标", body["headName"], "absent properties stay as they were")
	second := resp.Header.Get("ETag")
	assert.NotEqual(t, first, second)

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"laborers": 0}, "If-Match", first)
	assertProblem(t, resp, body, http.StatusPreconditionFailed, "")
	_, body = e.call(t, "GET", path, e.cadre, nil)
	assert.EqualValues(t, 1, body["laborers"], "a stale If-Match writes nothing")

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"laborers": 0}, "If-Match", `"garbage"`)
	assertProblem(t, resp, body, http.StatusPreconditionFailed, "")

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"laborers": 0}, "If-Match", second)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.EqualValues(t, 0, body["laborers"])

	t.Run("field area update", func(t *testing.T) {
		resp, body := e.call(t, "POST", "/v1/fields", e.cadre, map[string]any{"householdId": e.home.ID, "name": "塘下垄", "area": 1.4, "crop": "early_rice"})
		require.Equal(t, 201, resp.StatusCode, body)
		assert.EqualValues(t, 3, body["group"], "a field lies in its household's group unless told")
		fpath := "/v1/fields/" + itoa(int64(body["id"].(float64)))
		tag := resp.Header.Get("ETag")
		resp, body = e.call(t, "PATCH", fpath, e.cadre, map[string]any{"area": 1.45}, "If-Match", tag)
		require.Equal(t, 200, resp.StatusCode, body)
		assert.EqualValues(t, 1.45, body["area"])
		resp, body = e.call(t, "PATCH", fpath, e.cadre, map[string]any{"area": 1.5}, "If-Match", tag)
		assertProblem(t, resp, body, http.StatusPreconditionFailed, "")
	})
}

func TestCursorPagination(t *testing.T) {
	e := mustEnv(t)
	for i := 0; i < 9; i++ {
		resp, body := e.call(t, "POST", "/v1/households", e.cadre, map[string]any{"headName": "王" + itoa(int64(i)), "group": 1 + i%2, "laborers": 1, "members": 2})
		require.Equal(t, 201, resp.StatusCode, body)
	}
	seen := map[float64]bool{}
	cursor, pages := "", 0
	for {
		resp, body := e.call(t, "GET", "/v1/households?limit=4&cursor="+cursor, e.cadre, nil)
		require.Equal(t, 200, resp.StatusCode, body)
		pages++
		for _, it := range body["items"].([]any) {
			id := it.(map[string]any)["id"].(float64)
			assert.False(t, seen[id], "household %v listed twice", id)
			seen[id] = true
		}
		next, _ := body["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		require.Less(t, pages, 10, "pagination does not end")
	}
	assert.Len(t, seen, 11)
	assert.Equal(t, 3, pages)

	_, body := e.call(t, "GET", "/v1/households?group=2", e.cadre, nil)
	assert.Len(t, body["items"], 4)
	_, body = e.call(t, "GET", "/v1/households?vulnerable=true", e.cadre, nil)
	require.Len(t, body["items"], 1)
	assert.Equal(t, "章仁标", body["items"].([]any)[0].(map[string]any)["headName"])
	_, body = e.call(t, "GET", "/v1/households", e.cadreB, nil)
	require.Len(t, body["items"], 1, "another village's cadre lists none of them, only its own")
	assert.Equal(t, "外村人", body["items"].([]any)[0].(map[string]any)["headName"])
}

func TestTeamMembers(t *testing.T) {
	e := mustEnv(t)
	tp := "/v1/teams/" + itoa(e.team.ID)
	resp, body := e.call(t, "POST", tp+"/members", e.cadre, map[string]any{"householdId": e.home.ID, "workersPerDay": 1, "unavailableDays": []string{"2026-04-21"}})
	require.Equal(t, 201, resp.StatusCode, body)
	_, body = e.call(t, "GET", tp, e.leader, nil)
	assert.EqualValues(t, 3, body["capacity"])
	assert.Len(t, body["members"], 2)

	resp, body = e.call(t, "GET", "/v1/teams", e.cadre, nil)
	require.Equal(t, 200, resp.StatusCode, body)
	require.Len(t, body["items"], 1)
	listed := body["items"].([]any)[0].(map[string]any)
	assert.EqualValues(t, 3, listed["capacity"])
	members := listed["members"].([]any)
	require.Len(t, members, 2)
	assert.Equal(t, "章仁标", members[0].(map[string]any)["headName"], "members in household order")
	assert.Equal(t, "章吉仙", members[1].(map[string]any)["headName"])

	resp, body = e.call(t, "PATCH", tp+"/members/"+itoa(e.neighbour.ID), e.cadre, map[string]any{"workersPerDay": 3})
	require.Equal(t, 200, resp.StatusCode, body)
	_, body = e.call(t, "GET", tp, e.leader, nil)
	assert.EqualValues(t, 4, body["capacity"])

	resp, body = e.call(t, "PATCH", "/v1/households/"+itoa(e.neighbour.ID), e.cadre, map[string]any{"laborers": 2})
	assertProblem(t, resp, body, 422, "body.laborers")

	resp, _ = e.call(t, "DELETE", tp+"/members/"+itoa(e.home.ID), e.cadre, nil)
	assert.Equal(t, 204, resp.StatusCode)
	resp, body = e.call(t, "DELETE", tp+"/members/"+itoa(e.home.ID), e.cadre, nil)
	assertProblem(t, resp, body, 404, "")
}

func TestAuditLogRecordsChangesAndDenials(t *testing.T) {
	e := mustEnv(t)
	e.call(t, "POST", "/v1/households", e.cadre, map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1})
	e.call(t, "POST", "/v1/households", e.cadre, map[string]any{"headName": "王五", "group": 0, "laborers": 1, "members": 1})
	e.call(t, "POST", "/v1/households", e.householdTok, map[string]any{"headName": "王五", "group": 1, "laborers": 1, "members": 1})
	e.call(t, "GET", "/v1/households/"+itoa(e.home.ID), e.neighbourTok, nil)
	e.call(t, "GET", "/v1/households/"+itoa(e.home.ID), e.cadre, nil) // a plain read is not audited
	e.call(t, "GET", "/v1/households", "", nil)

	resp, body := e.call(t, "GET", "/v1/audit", e.cadre, nil)
	require.Equal(t, 200, resp.StatusCode)
	var got []string
	for _, it := range body["items"].([]any) {
		m := it.(map[string]any)
		got = append(got, m["action"].(string)+" "+m["outcome"].(string)+" "+strings.SplitN(m["actor"].(string), "#", 2)[0])
	}
	assert.Equal(t, []string{
		"create-household ok cadre",
		"create-household rejected cadre",
		"create-household denied household:" + itoa(e.home.ID),
		"get-household denied household:" + itoa(e.neighbour.ID),
	}, got)

	var anonymous int
	require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE village_id IS NULL AND outcome = 'denied' AND actor = 'anonymous'").Scan(&anonymous))
	assert.Equal(t, 1, anonymous, "a request without a token is recorded too, outside any village")
}

func TestHealthAndSpecs(t *testing.T) {
	e := mustEnv(t)
	for _, path := range []string{"/healthz", "/openapi.json", "/openapi-3.0.json", "/docs"} {
		resp, err := http.Get(e.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, path)
	}
	resp, body := e.call(t, "GET", "/v2/nothing", e.cadre, nil)
	assertProblem(t, resp, body, http.StatusNotFound, "")
}

// TestMe: each token says whom it speaks for.
func TestMe(t *testing.T) {
	e := mustEnv(t)
	for _, tc := range []struct {
		name, token, role string
		check             func(t *testing.T, body map[string]any)
	}{
		{"cadre", e.cadre, "cadre", func(t *testing.T, body map[string]any) { assert.NotContains(t, body, "teamId") }},
		{"leader", e.leader, "leader", func(t *testing.T, body map[string]any) {
			assert.EqualValues(t, e.team.ID, body["teamId"])
			assert.Equal(t, "第一互助队", body["teamName"])
		}},
		{"household", e.householdTok, "household", func(t *testing.T, body map[string]any) {
			assert.EqualValues(t, e.home.ID, body["householdId"])
			assert.Equal(t, "章仁标", body["headName"])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, "GET", "/v1/me", tc.token, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, tc.role, body["role"])
			assert.Equal(t, "皇珠村", body["village"].(map[string]any)["name"])
			tc.check(t, body)
		})
	}
	resp, body := e.call(t, "GET", "/v1/me", "hg_nonsense", nil)
	assertProblem(t, resp, body, http.StatusUnauthorized, "")
}

// TestStatusOf: the one table from domain error codes to HTTP statuses,
// which the web pages read too; an unknown code (a bug) is no status.
func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		store.EBADREQUEST: http.StatusBadRequest, store.ENOTFOUND: http.StatusNotFound, store.ECONFLICT: http.StatusConflict,
		store.EINVALID: http.StatusUnprocessableEntity, store.EPRECONDITION: http.StatusPreconditionFailed,
		store.EUNAUTHORIZED: http.StatusUnauthorized, store.EFORBIDDEN: http.StatusForbidden,
	} {
		got, ok := api.StatusOf(code)
		assert.True(t, ok, code)
		assert.Equal(t, want, got, code)
	}
	_, ok := api.StatusOf(store.EINTERNAL)
	assert.False(t, ok, "an internal error has no status of its own: it is a 500, logged")
}
