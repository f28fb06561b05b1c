package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/api/web"
	"huangong/seed"
	"huangong/store"
	"huangong/store/testdb"
)

// env is the demo village 皇珠村 served with its pages on a real server
// over a real SQLite file, on 25 November 2026: last year's history is
// played and next spring's 春耕 is open with requests waiting. A second,
// small village is there so nothing crosses between them.
type env struct {
	st      *store.Store
	url     string
	village *store.Village
	other   *store.Village // a second village

	home      *store.Household // 章仁标's, the story's household
	neighbour *store.Household // 章吉仙's, in the first team

	cadre, leader, homeTok, neighbourTok, otherCadre string
}

var cst = time.FixedZone("CST", 8*3600)

func mustEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.Database(tb, "web.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, cst)
	st.Now = func() time.Time { return now }
	v, tokens, err := seed.EnsureDemo(ctx, st)
	require.NoError(tb, err)
	other, _, err := st.ImportVillage(ctx, seed.Generate(seed.Config{Name: "邻村", Households: 6, Groups: 1, Teams: 1, Seed: 3}), true)
	require.NoError(tb, err)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(st, log)
	srv.SetClock(st.Now) // stopped too: the throttle refills only when a test says
	web.Mount(srv, st, log)
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)

	e := &env{st: st, url: hs.URL, village: v, other: other,
		cadre: tokens[store.RoleCadre], leader: tokens[store.RoleLeader], homeTok: tokens[store.RoleHousehold]}
	hh, _, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{}, store.Page{Limit: 2})
	require.NoError(tb, err)
	e.home, e.neighbour = hh[0], hh[1]
	require.Equal(tb, seed.StoryHead, e.home.HeadName)
	e.neighbourTok = e.mint(tb, &store.Token{VillageID: v.ID, Role: store.RoleHousehold, HouseholdID: &e.neighbour.ID})
	e.otherCadre = e.mint(tb, &store.Token{VillageID: other.ID, Role: store.RoleCadre})
	return e
}

func (e *env) mint(tb testing.TB, t *store.Token) string {
	tb.Helper()
	secret, err := e.st.CreateToken(context.Background(), t)
	require.NoError(tb, err)
	return secret
}

// client is a browser-like client: a cookie jar, no redirects followed
// unless asked, and the Sec-Fetch-Site a browser sends on its own forms.
type client struct {
	tb   testing.TB
	e    *env
	http *http.Client
	name string // who, for a test's messages
}

func (e *env) client(tb testing.TB) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(tb, err)
	return &client{tb: tb, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn is a client that followed a token's sign-in link.
func (e *env) signedIn(tb testing.TB, token string) *client {
	c := e.client(tb)
	resp, _ := c.get("/signin?token=" + url.QueryEscape(token))
	require.Equal(tb, http.StatusSeeOther, resp.StatusCode)
	return c
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.tb.Helper()
	resp, err := c.http.Do(req)
	require.NoError(c.tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.tb, err)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.url+path, nil)
	require.NoError(c.tb, err)
	return c.do(req)
}

// post sends a form as the page's own form would: same-site.
func (c *client) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	c.tb.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.url+path, strings.NewReader(form.Encode()))
	require.NoError(c.tb, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page the client can open.
func (c *client) csrf(path string) string {
	c.tb.Helper()
	resp, body := c.get(path)
	require.Equal(c.tb, http.StatusOK, resp.StatusCode, body)
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(c.tb, m, "no form token on %s", path)
	return m[1]
}

func hpath(h *store.Household) string { return "/h/" + strconv.FormatInt(h.ID, 10) }

// freeField is a field of a household with no open request for the task,
// in a household of the demo that asks nothing yet.
func (e *env) openRequests(tb testing.TB, householdID int64) []*store.HelpRequest {
	tb.Helper()
	rs, _, err := e.st.ListRequests(context.Background(), e.village.ID, store.RequestFilter{HouseholdID: householdID}, store.Page{Limit: 200})
	require.NoError(tb, err)
	var open []*store.HelpRequest
	for _, r := range rs {
		if r.Open() {
			open = append(open, r)
		}
	}
	return open
}

// quietHousehold is a household of the demo with a field and no open
// request, other than the two the tests name.
func (e *env) quietHousehold(tb testing.TB) (*store.Household, *store.Field) {
	tb.Helper()
	hs, _, err := e.st.ListHouseholds(context.Background(), e.village.ID, store.HouseholdFilter{}, store.Page{Limit: 200})
	require.NoError(tb, err)
	for _, h := range hs[2:] {
		fs, _, err := e.st.ListFields(context.Background(), e.village.ID, store.FieldFilter{HouseholdID: h.ID}, store.Page{Limit: 1})
		require.NoError(tb, err)
		if len(fs) > 0 && len(e.openRequests(tb, h.ID)) == 0 {
			return h, fs[0]
		}
	}
	tb.Fatal("no quiet household in the demo")
	return nil, nil
}

func (e *env) fieldOf(tb testing.TB, h *store.Household) *store.Field {
	tb.Helper()
	fs, _, err := e.st.ListFields(context.Background(), e.village.ID, store.FieldFilter{HouseholdID: h.ID}, store.Page{Limit: 10})
	require.NoError(tb, err)
	require.NotEmpty(tb, fs)
	return fs[0]
}

func TestSignInLinkSetsCookieAndLeavesNoToken(t *testing.T) {
	e := mustEnv(t)
	c := e.client(t)

	resp, _ := c.get("/signin?token=" + e.homeTok)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, hpath(e.home), resp.Header.Get("Location"), "the redirect carries no token")
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"), "the link's page leaks no referrer")
	var ck *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == web.CookieName {
			ck = k
		}
	}
	require.NotNil(t, ck, "the sign-in cookie is set")
	assert.True(t, ck.HttpOnly, "HttpOnly")
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite, "SameSite=Lax")
	assert.Equal(t, "/", ck.Path)
	assert.False(t, ck.Secure, "not Secure over plain HTTP")
	assert.Positive(t, ck.MaxAge)
	raw := resp.Header.Get("Set-Cookie")
	assert.Contains(t, raw, "HttpOnly")
	assert.Contains(t, raw, "SameSite=Lax")

	resp, body := c.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "章仁标")
	assert.NotContains(t, body, e.homeTok, "the secret never appears in a page")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	// The root sends a signed-in browser to its own page; the cadre's to the board.
	resp, _ = c.get("/")
	assert.Equal(t, hpath(e.home), resp.Header.Get("Location"))
	resp, _ = e.signedIn(t, e.cadre).get("/")
	assert.Equal(t, "/board", resp.Header.Get("Location"))

	t.Run("bad token", func(t *testing.T) {
		c := e.client(t)
		for _, tok := range []string{"hg_nope", e.homeTok + "x", strings.Replace(e.homeTok, e.homeTok[5:6], "0", 1)} {
			resp, body := c.get("/signin?token=" + url.QueryEscape(tok))
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Empty(t, resp.Cookies())
			assert.Contains(t, body, "无效")
		}
		resp, _ := c.get(hpath(e.home))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "no cookie: to the sign-in page")
		assert.Equal(t, "/signin", resp.Header.Get("Location"))
	})

	t.Run("revoked token", func(t *testing.T) {
		tok := e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.neighbour.ID})
		c := e.signedIn(t, tok)
		resp, _ := c.get(hpath(e.neighbour))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		ts, err := e.st.Authenticate(context.Background(), tok)
		require.NoError(t, err)
		_, err = e.st.RevokeToken(context.Background(), e.village.ID, ts.ID)
		require.NoError(t, err)
		resp, _ = c.get(hpath(e.neighbour))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a revoked token's cookie signs nobody in")
	})

	t.Run("sign out", func(t *testing.T) {
		c := e.signedIn(t, e.homeTok)
		token := c.csrf(hpath(e.home))
		resp, _ := c.post("/signout", url.Values{"csrf": {token}})
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		resp, _ = c.get(hpath(e.home))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed out")
	})

	t.Run("pasted token", func(t *testing.T) {
		c := e.client(t)
		resp, _ := c.post("/signin", url.Values{"token": {e.cadre}})
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/board", resp.Header.Get("Location"))
	})
}

// TestPagesKeepTheAPIsScope: a household's cookie opens its own page only;
// the board and the notice are the cadre's; a cadre sees its own village.
func TestPagesKeepTheAPIsScope(t *testing.T) {
	e := mustEnv(t)
	home := e.signedIn(t, e.homeTok)
	otherVillage, _, err := e.st.ListHouseholds(context.Background(), e.other.ID, store.HouseholdFilter{}, store.Page{Limit: 1})
	require.NoError(t, err)

	cases := []struct {
		name   string
		c      *client
		path   string
		status int
	}{
		{"household opens its own page", home, hpath(e.home), http.StatusOK},
		{"household opens a neighbour's page", home, hpath(e.neighbour), http.StatusNotFound},
		{"household opens a page that is no household", home, "/h/999999", http.StatusNotFound},
		{"household opens the board", home, "/board", http.StatusForbidden},
		{"household opens the notice", home, "/notice", http.StatusForbidden},
		{"household polls the board", home, "/board/live", http.StatusForbidden},
		{"leader opens the board", e.signedIn(t, e.leader), "/board", http.StatusForbidden},
		{"leader opens a household", e.signedIn(t, e.leader), hpath(e.home), http.StatusForbidden},
		{"cadre opens a household of its village", e.signedIn(t, e.cadre), hpath(e.neighbour), http.StatusOK},
		{"cadre opens the board", e.signedIn(t, e.cadre), "/board", http.StatusOK},
		{"cadre opens the notice", e.signedIn(t, e.cadre), "/notice", http.StatusOK},
		{"another village's cadre opens a household here", e.signedIn(t, e.otherCadre), hpath(e.home), http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.c.get(tc.path)
			assert.Equal(t, tc.status, resp.StatusCode, body)
			if tc.status != http.StatusOK {
				assert.NotContains(t, body, e.neighbour.HeadName+" 户", "nothing of the record shows")
			}
		})
	}
	assert.NotEmpty(t, otherVillage)

	// Posts are held to the same scope, with a valid form token.
	token := home.csrf(hpath(e.home))
	f := e.fieldOf(t, e.neighbour)
	resp, _ := home.post(hpath(e.neighbour)+"/requests", url.Values{"csrf": {token}, "field": {strconv.FormatInt(f.ID, 10)},
		"task": {"prepare"}, "earliest": {"2027-04-10"}, "latest": {"2027-04-20"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "asking on a neighbour's page")
	resp, _ = home.post("/board/plan", url.Values{"csrf": {token}, "season": {"1"}, "mode": {"apply"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "running the plan")
	resp, _ = home.post("/board/rain", url.Values{"csrf": {token}, "date": {"2027-04-20"}, "reason": {"雨"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "marking rain")

	// Every denial is in the audit log, as the API's are.
	audit, _, err := e.st.ListAudit(context.Background(), e.village.ID, store.Page{Limit: 200})
	require.NoError(t, err)
	denied := map[string]int{}
	for _, a := range audit {
		if a.Outcome == store.OutcomeDenied {
			denied[a.Action+" "+a.Target]++
		}
	}
	assert.Positive(t, denied["web:household-page "+hpath(e.neighbour)])
	assert.Positive(t, denied["web:board /board"])
	assert.Positive(t, denied["web:household-request "+hpath(e.neighbour)+"/requests"])
	assert.Positive(t, denied["web:board-plan /board/plan"])
}

// TestDenialsAreAudited: a bad sign-in link and a cross-site post leave
// their line in the audit log too.
func TestDenialsAreAudited(t *testing.T) {
	e := mustEnv(t)
	resp, _ := e.client(t).get("/signin?token=hg_nope")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	c := e.signedIn(t, e.homeTok)
	resp, _ = c.post(hpath(e.home)+"/requests", url.Values{"csrf": {c.csrf(hpath(e.home))}}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	var lines []*store.AuditEntry
	require.NoError(t, e.st.DB().NewSelect().Model(&lines).Where("action LIKE 'web:%'").Where("outcome = ?", store.OutcomeDenied).Scan(context.Background()))
	seen := map[string]string{}
	for _, a := range lines {
		seen[a.Action] = a.Actor
	}
	assert.Equal(t, "anonymous", seen["web:signin"])
	assert.Contains(t, seen["web:cross-origin"], "household:"+strconv.FormatInt(e.home.ID, 10))
}

// TestFormsNeedTheirToken: a form posted without the session's form token,
// with a wrong one, another session's, or from another site, changes
// nothing and is refused with a page saying why.
func TestFormsNeedTheirToken(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.neighbourTok)
	token := c.csrf(hpath(e.neighbour))
	otherToken := e.signedIn(t, e.homeTok).csrf(hpath(e.home))
	f := e.fieldOf(t, e.neighbour)
	ask := func(extra ...string) url.Values {
		v := url.Values{"field": {strconv.FormatInt(f.ID, 10)}, "task": {"prepare"}, "earliest": {"2027-04-10"}, "latest": {"2027-04-20"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	before := len(e.openRequests(t, e.neighbour.ID))
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", ask(), nil},
		{"empty token", ask("csrf", ""), nil},
		{"wrong token", ask("csrf", "AAAA"+token[4:]), nil},
		{"another session's token", ask("csrf", otherToken), nil},
		{"right token from another site", ask("csrf", token), []string{"Sec-Fetch-Site", "cross-site"}},
		{"right token, foreign Origin", ask("csrf", token), []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.post(hpath(e.neighbour)+"/requests", tc.form, tc.headers...)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			assert.Contains(t, body, "表单", "a page that says why, Chinese first")
			assert.Len(t, e.openRequests(t, e.neighbour.ID), before, "nothing was asked")
		})
	}
	resp, _ := c.post("/signout", url.Values{})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "signing out needs the token too")

	resp, _ = c.post(hpath(e.neighbour)+"/requests", ask("csrf", token))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "with its token the same form goes through")
	assert.Len(t, e.openRequests(t, e.neighbour.ID), before+1)
}

// TestAskForHelp: the household's form goes through the API's
// create-request; its answer — the request or the refusal — shows on the
// page, in the household's words.
func TestAskForHelp(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.neighbourTok)
	token := c.csrf(hpath(e.neighbour))
	f := e.fieldOf(t, e.neighbour)
	form := url.Values{"csrf": {token}, "field": {strconv.FormatInt(f.ID, 10)}, "task": {"prepare"},
		"earliest": {"2027-04-20"}, "latest": {"2027-04-12"}, "note": {"腰不好"}}

	resp, body := c.post(hpath(e.neighbour)+"/requests", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "最早日期晚于最晚日期", "the API's message, on the page")
	assert.Contains(t, body, `value="腰不好"`, "what was typed is kept")
	assert.Empty(t, e.openRequests(t, e.neighbour.ID))

	form.Set("latest", "2027-04-25")
	resp, _ = c.post(hpath(e.neighbour)+"/requests", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, hpath(e.neighbour)+"?done=asked#requests", resp.Header.Get("Location"))
	open := e.openRequests(t, e.neighbour.ID)
	require.Len(t, open, 1)
	assert.Equal(t, "2027-04-20", open[0].Earliest)
	assert.False(t, open[0].OnBehalf)
	assert.Contains(t, open[0].EnteredBy, "household:"+strconv.FormatInt(e.neighbour.ID, 10))

	resp, body = c.get(hpath(e.neighbour) + "?done=asked")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "求助已登记")
	assert.Contains(t, body, `data-request="`+strconv.FormatInt(open[0].ID, 10)+`"`, "the request is listed")

	resp, body = c.post(hpath(e.neighbour)+"/requests", form)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "a second open request on the field and task")
	assert.Contains(t, body, "已有未完成的同类求助")

	// A cadre asks on another household's behalf from its page.
	cadre := e.signedIn(t, e.cadre)
	ctoken := cadre.csrf(hpath(e.neighbour))
	form.Set("csrf", ctoken)
	form.Set("task", "transplant")
	resp, _ = cadre.post(hpath(e.neighbour)+"/requests", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	open = e.openRequests(t, e.neighbour.ID)
	require.Len(t, open, 2)
	assert.True(t, open[1].OnBehalf, "entered by the cadre on its behalf")
}

// doneJob is a quiet household's prepare request with a job of one
// team member on 2027-04-07, confirmed and completed (one workday) that
// evening; the store's clock stays at that evening.
func (e *env) doneJob(tb testing.TB) (*store.Household, *store.HelpRequest, *store.Job) {
	tb.Helper()
	t := tb
	ctx := context.Background()
	h, f := e.quietHousehold(t)
	r, err := e.st.CreateRequest(ctx, e.village.ID, "test", store.NewRequest{HouseholdID: h.ID, FieldID: f.ID,
		Task: store.TaskPrepare, Earliest: "2027-04-06", Latest: "2027-04-10"})
	require.NoError(t, err)
	teams, _, err := e.st.ListTeams(ctx, e.village.ID, store.Page{Limit: 1})
	require.NoError(t, err)
	m := teams[0].Members[0]
	j, err := e.st.CreateJob(ctx, e.village.ID, "test", store.NewJob{TeamID: teams[0].ID, RequestID: r.ID, Date: "2027-04-07",
		Workers: []store.PlannedWorker{{HouseholdID: m.HouseholdID, Workers: 1}}})
	require.NoError(t, err)
	_, err = e.st.ConfirmJob(ctx, e.village.ID, j.ID, "test")
	require.NoError(t, err)
	e.st.Now = func() time.Time { return time.Date(2027, 4, 7, 18, 0, 0, 0, cst) } // the evening of the job's day
	// The demo's cadre token, minted in November, lives 90 days: the
	// cadre of April signs in with one of its own.
	e.cadre = e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleCadre})
	_, _, err = e.st.CompleteJob(ctx, e.village.ID, j.ID, "test", store.Completion{
		Attendance: []store.JobAttendance{{HouseholdID: m.HouseholdID, HalfDays: 2}}})
	require.NoError(t, err)
	return h, r, j
}

// TestFeedbackStars: once a team has done the job, the household rates it
// with stars on its page, through the API's submit-feedback, once.
func TestFeedbackStars(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	h, r, _ := e.doneJob(t)

	c := e.signedIn(t, e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &h.ID}))
	_, body := c.get(hpath(h))
	rate := hpath(h) + "/requests/" + strconv.FormatInt(r.ID, 10) + "/feedback"
	require.Contains(t, body, `action="`+rate+`"`, "a finished request asks for stars")
	token := csrfRE.FindStringSubmatch(body)[1]

	resp, body := c.post(rate, url.Values{"csrf": {token}, "stars": {"9"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "nine stars is the API's 422")
	assert.Contains(t, body, `class="alert"`)
	resp, _ = c.post(rate, url.Values{"csrf": {token}, "stars": {"4"}, "comment": {"来得及时"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err := e.st.GetRequest(ctx, e.village.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RequestClosed, got.State)
	require.NotNil(t, got.FeedbackStars)
	assert.Equal(t, 4, *got.FeedbackStars)
	assert.Equal(t, "来得及时", got.FeedbackComment)
	_, body = c.get(hpath(h) + "?done=rated")
	assert.Contains(t, body, "谢谢您的评价")
	assert.Contains(t, body, "★★★★☆")
	assert.NotContains(t, body, `action="`+rate+`"`, "rated once")

	// Only the household itself rates its help, as in the API.
	cadre := e.signedIn(t, e.cadre)
	resp, _ = cadre.post(rate, url.Values{"csrf": {cadre.csrf("/board")}, "stars": {"1"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestBoardPlansAndRainsThroughTheAPI: the board's dry run saves nothing,
// its apply saves the plan, a rain-out day cancels that day's jobs.
func TestBoardPlansAndRainsThroughTheAPI(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.cadre)
	resp, body := c.get("/board")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "2027 春耕")
	assert.Contains(t, body, `<svg class="chart"`)
	assert.Equal(t, 150, strings.Count(body, "<rect "), "one bar per household")
	token := csrfRE.FindStringSubmatch(body)[1]
	season := seasonRE.FindStringSubmatch(body)[1]
	jobs := func() int {
		js, _, err := e.st.ListJobs(context.Background(), e.village.ID, store.JobFilter{}, store.Page{Limit: 200})
		require.NoError(t, err)
		n := 0
		for _, j := range js {
			if j.Date >= "2027-01-01" {
				n++
			}
		}
		return n
	}
	require.Zero(t, jobs())

	resp, body = c.post("/board/plan", url.Values{"csrf": {token}, "season": {season}, "mode": {"dry"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `id="preview"`)
	assert.Zero(t, jobs(), "a dry run saves nothing")
	seen := planFingerprint.FindStringSubmatch(body)
	require.NotNil(t, seen)

	resp, _ = c.post("/board/plan", url.Values{"csrf": {token}, "season": {season}, "mode": {"apply"}, "plan": {seen[1]}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	n := jobs()
	require.Positive(t, n)
	resp, body = c.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "计划已保存：新派工 "+strconv.Itoa(n)+" 个")
	assert.Len(t, regexp.MustCompile(`class="chip scheduled[^"]*" title="#\d+"`).FindAllString(body, -1), n, "every job on the grid")

	js, _, err := e.st.ListJobs(context.Background(), e.village.ID, store.JobFilter{From: "2027-01-01"}, store.Page{Limit: 1})
	require.NoError(t, err)
	day := js[0].Date
	resp, _ = c.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {day}, "group": {"0"}, "reason": {"大雨"}, "confirm": {"1"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, body = c.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, day+" 已登记停工")
	assert.Regexp(t, `<tr class="[^"]*rain[^"]*" data-date="`+day+`">`, body)

	resp, body = c.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {"2027-13-01"}, "reason": {"雨"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "a bad date is the API's 422, shown on the board")
	assert.Contains(t, body, `class="alert"`)

	resp, body = c.get("/board/live?after=0")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"changed":true`)
}

// TestNoticeListsEveryHousehold: the public notice has a line for each of
// the 150 households with the season's figures beside them.
func TestNoticeListsEveryHousehold(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.cadre)
	resp, body := c.get("/notice")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 150, strings.Count(body, `<tr data-household="`))
	assert.Contains(t, body, "换工互助公示")
	assert.Contains(t, body, "办结率")
	assert.Contains(t, body, "第一互助队")

	resp, body = c.get("/notice?lang=en")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Completion rate")
	assert.Contains(t, body, `lang="en"`)
	resp, body = c.get("/notice")
	assert.Contains(t, body, "Completion rate", "the language is remembered")
}

// TestCatalogueCoversTheTemplates: every key a template names is in the
// catalogue, in both languages.
func TestCatalogueCoversTheTemplates(t *testing.T) {
	keys := map[string]bool{}
	re := regexp.MustCompile(`T "([a-z][a-zA-Z0-9_.]+)"`)
	files, err := filepath.Glob("templates/*.tmpl")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	require.NotEmpty(t, keys)
	// The keys made from a record's value.
	for prefix, values := range map[string][]string{
		"task.": store.Tasks, "crop.": store.Crops, "season.": {store.SeasonPlanned, store.SeasonOpen, store.SeasonClosed},
		"request.": {store.RequestSubmitted, store.RequestScheduled, store.RequestConfirmed, store.RequestDone, store.RequestClosed, store.RequestCancelled},
		"job.":     {store.JobScheduled, store.JobConfirmed, store.JobDeclined, store.JobDone, store.JobCancelled},
	} {
		for _, v := range values {
			keys[prefix+v] = true
		}
	}
	for k := range keys {
		zh, en := web.Text("zh", k), web.Text("en", k)
		assert.NotEqual(t, k, zh, "missing key %s", k)
		assert.NotEqual(t, zh, en, "key %s has the same text in both languages", k)
	}
}

var seasonRE = regexp.MustCompile(`name="season" value="(\d+)"`)

// cadreOnBoard is the cadre's browser with the board open: the client,
// the board's form token and the season it shows.
// savePlan previews the season's plan on the board and saves it.
func savePlan(tb testing.TB, c *client, token, season string) {
	tb.Helper()
	resp, body := c.post("/board/plan", url.Values{"csrf": {token}, "season": {season}, "mode": {"dry"}})
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	seen := planFingerprint.FindStringSubmatch(body)
	require.NotNil(tb, seen)
	resp, _ = c.post("/board/plan", url.Values{"csrf": {token}, "season": {season}, "mode": {"apply"}, "plan": {seen[1]}})
	require.Equal(tb, http.StatusSeeOther, resp.StatusCode)
}

func (e *env) cadreOnBoard(tb testing.TB) (c *client, token, season string) {
	tb.Helper()
	c = e.signedIn(tb, e.cadre)
	resp, body := c.get("/board")
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	return c, csrfRE.FindStringSubmatch(body)[1], seasonRE.FindStringSubmatch(body)[1]
}

// apiPost calls an API operation with a token, as a client would.
func (e *env) apiPost(tb testing.TB, token, path, body string, headers ...string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	resp.Body.Close()
	return resp
}

// noticeFigures is what a notice shows, in half days: each household's
// given, received and balance, each team's jobs and workdays, and the
// season's workdays exchanged.
type noticeFigures struct {
	households map[int64][3]int64
	teams      map[string][2]int64
	workdays   int64
}

var (
	noticeRowRE  = regexp.MustCompile(`<tr data-household="(\d+)"[^>]*><td>.*?</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td></tr>`)
	noticeTeamRE = regexp.MustCompile(`<tr><td>([^<]+)</td><td class="num">(\d+)</td><td class="num">([^<]*)</td></tr>`)
	noticeWdRE   = regexp.MustCompile(`<dt>换工工日</dt><dd>([^<]*)</dd>`)
)

// halfDays reads a number of workdays as shown ("4.5") in half days.
func halfDays(tb testing.TB, s string) int64 {
	tb.Helper()
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	require.NoError(tb, err, "workdays %q", s)
	return int64(f * 2)
}

func (c *client) notice(season int64) noticeFigures {
	c.tb.Helper()
	resp, body := c.get("/notice?lang=zh&season=" + strconv.FormatInt(season, 10))
	require.Equal(c.tb, http.StatusOK, resp.StatusCode)
	out := noticeFigures{households: map[int64][3]int64{}, teams: map[string][2]int64{}}
	for _, m := range noticeRowRE.FindAllStringSubmatch(body, -1) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		require.NoError(c.tb, err)
		out.households[id] = [3]int64{halfDays(c.tb, m[2]), halfDays(c.tb, m[3]), halfDays(c.tb, m[4])}
	}
	for _, m := range noticeTeamRE.FindAllStringSubmatch(body, -1) {
		jobs, err := strconv.ParseInt(m[2], 10, 64)
		require.NoError(c.tb, err)
		out.teams[m[1]] = [2]int64{jobs, halfDays(c.tb, m[3])}
	}
	m := noticeWdRE.FindStringSubmatch(body)
	require.NotNil(c.tb, m, "the season's workdays")
	out.workdays = halfDays(c.tb, m[1])
	require.Len(c.tb, out.households, 150)
	require.NotEmpty(c.tb, out.teams)
	return out
}

// TestNoticeFollowsTheLedger: the notice's given and received, its team
// totals and the season's workdays are the ledger's. A job's posting
// reversed through the API leaves them as the balances say, not as the
// job's attendance still does; the corrected posting counts once.
func TestNoticeFollowsTheLedger(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c := e.signedIn(t, e.cadre)
	done, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{State: store.JobDone}, store.Page{Limit: 50})
	require.NoError(t, err)
	var j *store.Job
	for _, d := range done {
		if d.TransactionID != nil && len(d.Attendance) > 1 {
			j = d
			break
		}
	}
	require.NotNil(t, j, "a finished job of last year's history")
	r, err := e.st.GetRequest(ctx, e.village.ID, j.RequestID)
	require.NoError(t, err)
	team, err := e.st.GetTeam(ctx, e.village.ID, j.TeamID)
	require.NoError(t, err)
	helped, err := e.st.GetHousehold(ctx, e.village.ID, r.HouseholdID)
	require.NoError(t, err)
	var total int64
	att := make([]store.Attendance, len(j.Attendance))
	for i, a := range j.Attendance {
		total += a.HalfDays
		att[i] = store.Attendance{HouseholdID: a.HouseholdID, HalfDays: a.HalfDays}
	}

	before := c.notice(r.SeasonID)
	resp := e.apiPost(t, e.cadre, "/v1/transactions/"+strconv.FormatInt(*j.TransactionID, 10)+"/reversal",
		`{"memo":"记错了出工人"}`, "Idempotency-Key", "notice-test-reversal")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	after := c.notice(r.SeasonID)

	want := map[int64][3]int64{}
	for id, f := range before.households {
		want[id] = f
	}
	for _, a := range j.Attendance {
		f := want[a.HouseholdID]
		f[0] -= a.HalfDays
		f[2] -= a.HalfDays
		want[a.HouseholdID] = f
	}
	f := want[helped.ID]
	f[1] -= total
	if !helped.FundCovers() { // exempt or assisted (帮扶): the fund was debited
		f[2] += total
	}
	want[helped.ID] = f
	assert.Equal(t, want, after.households, "given, received and balance after the reversal")
	assert.Equal(t, before.workdays-total, after.workdays, "the season's workdays")
	assert.Equal(t, [2]int64{before.teams[team.Name][0], before.teams[team.Name][1] - total}, after.teams[team.Name],
		"the team's jobs done stay; its workdays are the ledger's")

	// The notice's balance is the ledger's for every household.
	rows, _, err := e.st.Balances(ctx, e.village.ID, store.BalanceQuery{})
	require.NoError(t, err)
	for _, b := range rows {
		assert.Equal(t, b.Balance, after.households[b.HouseholdID][2], "%s's balance", b.HeadName)
	}

	// The corrected posting ("12/2") counts once: the notice is as before.
	_, _, err = e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test", Memo: "改正", Date: j.Date}, j.ID, r.HouseholdID, att)
	require.NoError(t, err)
	again := c.notice(r.SeasonID)
	assert.Equal(t, before, again)
}

// TestBoardRainGroup: the rain-out form's group is a village group's
// number, or empty for the whole village; anything else is refused on the
// board and nothing is blocked.
func TestBoardRainGroup(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c, token, season := e.cadreOnBoard(t)
	blocked := func() []*store.BlockedDay {
		bs, err := e.st.ListBlockedDays(ctx, e.village.ID, "2027-01-01", "2027-12-31")
		require.NoError(t, err)
		return bs
	}
	rain := func(date, group string) (*http.Response, string) {
		return c.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {date}, "group": {group}, "reason": {"大雨"}, "confirm": {"1"}})
	}
	for _, bad := range []string{"abc", "-1", "1.5", "0x2", "２"} {
		t.Run(bad, func(t *testing.T) {
			resp, body := rain("2027-04-21", bad)
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			assert.Contains(t, body, `class="alert"`)
			assert.Contains(t, body, "村民小组")
			assert.Empty(t, blocked(), "nothing blocked, least of all the whole village")
		})
	}
	resp, _ := rain("2027-04-21", "2")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = rain("2027-04-22", "")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got := map[string]int{}
	for _, b := range blocked() {
		got[b.Date] = b.Group
	}
	assert.Equal(t, map[string]int{"2027-04-21": 2, "2027-04-22": 0}, got, "group 2; empty is the whole village")
}

// TestSignInLinkDoesNotSwitchSilently: a sign-in link opened in a browser
// already signed in as someone else — a link from another site, say —
// asks before it changes who is signed in, and only a post with the
// session's form token switches. With no session the link signs in at
// once, and a link for the one already signed in just goes home.
func TestSignInLinkDoesNotSwitchSilently(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.homeTok)
	link := "/signin?token=" + url.QueryEscape(e.neighbourTok)

	resp, body := c.get(link)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a page that asks, not a redirect")
	assert.Empty(t, resp.Cookies(), "the session is not replaced")
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	assert.Contains(t, body, "您已作为"+e.home.HeadName+"户登录，要换成"+e.neighbour.HeadName+"户吗？")
	assert.Contains(t, body, `action="/signin"`)
	assert.Contains(t, body, `name="token" value="`+e.neighbourTok+`"`)
	token := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, token, "the switch carries the session's form token")
	resp, _ = c.get(hpath(e.home))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "still signed in as before")

	// Without the form token (a forged form of the same site) nothing changes.
	resp, body = c.post("/signin", url.Values{"token": {e.neighbourTok}})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "您已作为")
	resp, _ = c.post("/signin", url.Values{"token": {e.neighbourTok}, "csrf": {token[1]}}, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a cross-site post is refused")
	resp, _ = c.get(hpath(e.home))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "still signed in as before")

	// The button switches, and leaves no token in the address.
	resp, _ = c.post("/signin", url.Values{"token": {e.neighbourTok}, "csrf": {token[1]}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, hpath(e.neighbour), resp.Header.Get("Location"))
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	resp, _ = c.get(hpath(e.neighbour))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "now the neighbour's")

	// The cadre's card in the neighbour's browser asks too, in English as well.
	resp, body = c.get("/signin?lang=en&token=" + url.QueryEscape(e.cadre))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "You are signed in as")
	assert.Contains(t, body, e.village.Name)

	// The link of the one signed in goes home in one step.
	resp, _ = c.get("/signin?token=" + url.QueryEscape(e.neighbourTok))
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, hpath(e.neighbour), resp.Header.Get("Location"))
}

// planFingerprint is the dry run's fingerprint carried by its apply form.
var planFingerprint = regexp.MustCompile(`name="plan" value="([^"]+)"`)

// TestBoardApplySavesThePreview: "apply" saves the plan the cadre looked
// at. When a request came in since the dry run, the plan would differ:
// nothing is saved and the new preview is shown with a word why.
func TestBoardApplySavesThePreview(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c, token, season := e.cadreOnBoard(t)
	jobs := func() int {
		js, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{From: "2027-01-01"}, store.Page{Limit: 200})
		require.NoError(t, err)
		return len(js)
	}
	plan := func(mode, fingerprint string) (*http.Response, string) {
		return c.post("/board/plan", url.Values{"csrf": {token}, "season": {season}, "mode": {mode}, "plan": {fingerprint}})
	}
	resp, body := plan("dry", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	seen := planFingerprint.FindStringSubmatch(body)
	require.NotNil(t, seen, "the apply form carries what was previewed")

	asker, f := e.quietHousehold(t)
	_, err := e.st.CreateRequest(ctx, e.village.ID, "test", store.NewRequest{HouseholdID: asker.ID, FieldID: f.ID,
		Task: store.TaskPrepare, Earliest: "2027-04-20", Latest: "2027-04-28"})
	require.NoError(t, err)

	resp, body = plan("apply", seen[1])
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, body, "计划已变化，请再看一遍")
	assert.Contains(t, body, `id="preview"`, "the new preview")
	assert.Contains(t, body, asker.HeadName, "with the new request in it")
	assert.Zero(t, jobs(), "nothing saved")
	fresh := planFingerprint.FindStringSubmatch(body)
	require.NotNil(t, fresh)
	assert.NotEqual(t, seen[1], fresh[1])

	resp, _ = plan("apply", "")
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "an apply with no preview behind it saves nothing")
	assert.Zero(t, jobs())

	resp, _ = plan("apply", fresh[1])
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "the plan looked at is saved")
	assert.Positive(t, jobs())
}

// TestTodayIsTheVillagesDate: at 16:30 UTC on 19 April it is already 00:30
// on the 20th in the village, and the pages say so.
func TestTodayIsTheVillagesDate(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	se := &store.Season{VillageID: e.other.ID, Kind: store.SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10",
		Tasks: []string{store.TaskPrepare, store.TaskTransplant}}
	require.NoError(t, e.st.CreateSeason(ctx, se))
	_, err := e.st.UpdateSeason(ctx, e.other.ID, se.ID, 0, func(s *store.Season) error { s.State = store.SeasonOpen; return nil })
	require.NoError(t, err)
	hs, _, err := e.st.ListHouseholds(ctx, e.other.ID, store.HouseholdFilter{}, store.Page{Limit: 1})
	require.NoError(t, err)
	h := hs[0]
	home := e.signedIn(t, e.mint(t, &store.Token{VillageID: e.other.ID, Role: store.RoleHousehold, HouseholdID: &h.ID}))
	cadre := e.signedIn(t, e.otherCadre)

	now := time.Date(2026, 4, 19, 16, 30, 0, 0, time.UTC)
	e.st.Now = func() time.Time { return now }

	resp, body := home.get(hpath(h))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `name="earliest" value="2026-04-20" min="2026-04-20"`, body, "the first day one may ask for is the village's today")

	resp, body = cadre.get("/board?season=" + strconv.FormatInt(se.ID, 10))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "今天 2026-04-20")
	assert.Regexp(t, `<tr class="[^"]*\btoday\b[^"]*" data-date="2026-04-20">`, body)
	assert.Regexp(t, `<tr class="past" data-date="2026-04-19">`, body)
}

// TestFormsRefuseInvalidUTF8: a form field that is not UTF-8 text is
// refused with a page naming it; nothing is stored with U+FFFD in it.
func TestFormsRefuseInvalidUTF8(t *testing.T) {
	e := mustEnv(t)
	c := e.signedIn(t, e.neighbourTok)
	token := c.csrf(hpath(e.neighbour))
	f := e.fieldOf(t, e.neighbour)
	resp, body := c.post(hpath(e.neighbour)+"/requests", url.Values{"csrf": {token}, "field": {strconv.FormatInt(f.ID, 10)},
		"task": {"prepare"}, "earliest": {"2027-04-10"}, "latest": {"2027-04-20"}, "note": {"\xff\xfe"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "备注")
	assert.Contains(t, body, "UTF-8")
	assert.Empty(t, e.openRequests(t, e.neighbour.ID), "nothing was asked")

	cadre, ctoken, _ := e.cadreOnBoard(t)
	resp, body = cadre.post("/board/rain", url.Values{"csrf": {ctoken}, "date": {"2027-04-21"}, "reason": {"大\xffrain"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "停工原因")
	bs, err := e.st.ListBlockedDays(context.Background(), e.village.ID, "2027-01-01", "2027-12-31")
	require.NoError(t, err)
	assert.Empty(t, bs)
}
