package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api/web"
	"huangong/store"
)

// TestRainOutFormDefaultsToTodayOrTomorrow: the rain-out form starts on
// the village's today, or tomorrow once the day's work is over (18:00),
// not on the season's first day.
func TestRainOutFormDefaultsToTodayOrTomorrow(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	se := &store.Season{VillageID: e.other.ID, Kind: store.SeasonAutumn, StartDate: "2026-11-01", EndDate: "2026-12-20",
		Tasks: []string{store.TaskHarvest}}
	require.NoError(t, e.st.CreateSeason(ctx, se))
	cadre := e.signedIn(t, e.otherCadre)
	dateInput := regexp.MustCompile(`name="date" min="2026-11-01" max="2026-12-20" value="([^"]*)"`)
	for _, c := range []struct {
		hour int
		want string
	}{{10, "2026-11-25"}, {17, "2026-11-25"}, {19, "2026-11-26"}} {
		now := time.Date(2026, 11, 25, c.hour, 0, 0, 0, cst)
		e.st.Now = func() time.Time { return now }
		resp, body := cadre.get("/board?season=" + strconv.FormatInt(se.ID, 10))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		m := dateInput.FindStringSubmatch(body)
		require.NotNil(t, m, "the rain-out form")
		assert.Equal(t, c.want, m[1], "at %d:00", c.hour)
	}
}

// TestRainOutAsksToConfirmAndCanBeTakenBack: the first post only says how
// many jobs and households the rain-out touches; the second, confirmed,
// blocks the day; the board then offers to take it back, which plans the
// season again.
func TestRainOutAsksToConfirmAndCanBeTakenBack(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c, token, season := e.cadreOnBoard(t)
	savePlan(t, c, token, season)

	js, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{From: "2027-01-01"}, store.Page{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, js)
	day := js[0].Date
	onDay, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{From: day, To: day}, store.Page{Limit: 200})
	require.NoError(t, err)
	households := map[int64]bool{}
	jobs := 0
	for _, j := range onDay {
		if j.State == store.JobScheduled || j.State == store.JobConfirmed {
			jobs++
			r, err := e.st.GetRequest(ctx, e.village.ID, j.RequestID)
			require.NoError(t, err)
			households[r.HouseholdID] = true
		}
	}
	require.Positive(t, jobs)
	blocked := func() []*store.BlockedDay {
		bs, err := e.st.ListBlockedDays(ctx, e.village.ID, "", "")
		require.NoError(t, err)
		return bs
	}

	form := url.Values{"csrf": {token}, "season": {season}, "date": {day}, "group": {"0"}, "reason": {"大雨"}}
	resp, body := c.post("/board/rain", form)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a page to confirm, not a redirect")
	assert.Contains(t, body, `id="rain-confirm"`)
	assert.Contains(t, body, "将取消 "+strconv.Itoa(jobs)+" 个派工，涉及 "+strconv.Itoa(len(households))+" 户")
	assert.Contains(t, body, `name="confirm" value="1"`)
	assert.Empty(t, blocked(), "asking blocks nothing")
	again, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{From: day, To: day}, store.Page{Limit: 200})
	require.NoError(t, err)
	assert.Equal(t, onDay, again, "and cancels nothing")

	form.Set("confirm", "1")
	resp, _ = c.post("/board/rain", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, blocked(), 1)
	resp, body = c.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `action="/board/unblock"[\s\S]*?name="date" value="`+day+`"`, body, "the day can be taken back")

	resp, _ = c.post("/board/unblock", url.Values{"csrf": {token}, "season": {season}, "date": {day}, "group": {"0"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Empty(t, blocked(), "the day is taken back")
	resp, body = c.get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, day+" 已撤销停工")

	resp, body = c.post("/board/unblock", url.Values{"csrf": {token}, "season": {season}, "date": {day}, "group": {"0"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a day not blocked is the API's 404, shown on the board")
	assert.Contains(t, body, `class="alert"`)
}

// TestFormsRefuseNUL: a NUL in a form field is refused like broken
// UTF-8, naming the field.
func TestFormsRefuseNUL(t *testing.T) {
	e := mustEnv(t)
	cadre, token, season := e.cadreOnBoard(t)
	resp, body := cadre.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {"2027-04-21"}, "reason": {"大\x00雨"}, "confirm": {"1"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "停工原因")
	assert.Contains(t, body, "空字符")
	bs, err := e.st.ListBlockedDays(context.Background(), e.village.ID, "", "")
	require.NoError(t, err)
	assert.Empty(t, bs)
}

// TestPagesRenderACappedAmount: a season typed before the bounds existed
// (0202-07-07) shows 120 days and a line saying how many more there are,
// not centuries; the notice prints its households in sheets.
func TestPagesRenderACappedAmount(t *testing.T) {
	e := mustEnv(t)
	c, _, season := e.cadreOnBoard(t)
	_, err := e.st.DB().Exec("UPDATE seasons SET start_date = '0202-07-07' WHERE id = ?", season)
	require.NoError(t, err)
	resp, body := c.get("/board?season=" + season)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, len(body), 2<<20, "a page, not 100 MB")
	assert.Len(t, regexp.MustCompile(`<tr class="[^"]*" data-date=`).FindAllString(body, -1), store.MaxSeasonDays)
	assert.Contains(t, body, "农时太长，另有")

	defer web.SetNoticeRowsPerSheet(100)()
	resp, body = c.get("/notice")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, regexp.MustCompile(`<tr data-household=`).FindAllString(body, -1), 100)
	assert.Contains(t, body, "第 1 页，共 2 页；后面还有 50 户。")
	assert.Contains(t, body, "page=2")
	resp, body = c.get("/notice?page=2")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, regexp.MustCompile(`<tr data-household=`).FindAllString(body, -1), 50)
}
