package web_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/api/web"
	"huangong/store"
)

// requestBlock is the household page's line of one request.
func requestBlock(tb testing.TB, page string, id int64) string {
	tb.Helper()
	m := regexp.MustCompile(`(?s)<li class="request [a-z]+" data-request="` + itoa(id) + `">(.*?)</li>`).FindStringSubmatch(page)
	require.NotNil(tb, m, "request %d on the page", id)
	return m[1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func areaOf(tb testing.TB, e *env, fieldID int64) int64 {
	tb.Helper()
	f, err := e.st.GetField(context.Background(), e.village.ID, fieldID)
	require.NoError(tb, err)
	return f.AreaCentimu
}

// TestPagesShowPlanChangesAndCrewCaps: after a saved plan and a rained-out
// day, the household page shows a request's jobs that stand and folds the
// cancelled ones behind one "调整记录" line; a request the re-plan could
// not place says why; the board shows each open request's crew cap, the
// one a cadre set through update-request marked as set.
func TestPagesShowPlanChangesAndCrewCaps(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c, token, season := e.cadreOnBoard(t)
	savePlan(t, c, token, season)

	js, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{From: "2027-01-01"}, store.Page{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, js)
	rained := js[0]
	day := rained.Date
	r, err := e.st.GetRequest(ctx, e.village.ID, rained.RequestID)
	require.NoError(t, err)

	// A request of more work than the season can take: the re-plan after
	// the rain cannot place it.
	asker, f := e.quietHousehold(t)
	stuck, err := e.st.CreateRequest(ctx, e.village.ID, "test", store.NewRequest{HouseholdID: asker.ID, FieldID: f.ID,
		Task: r.Task, Earliest: day, Latest: day, HalfDays: 2000})
	require.NoError(t, err)

	resp, _ := c.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {day}, "group": {"0"}, "reason": {"大雨"}, "confirm": {"1"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	// The household of the rained-out job: its request's cancelled jobs
	// fold away, the ones that stand are shown.
	r, err = e.st.GetRequest(ctx, e.village.ID, rained.RequestID)
	require.NoError(t, err)
	all, _, err := e.st.ListJobs(ctx, e.village.ID, store.JobFilter{RequestID: r.ID}, store.Page{Limit: 100})
	require.NoError(t, err)
	var standing, changed []*store.Job
	for _, j := range all {
		if j.Active() {
			standing = append(standing, j)
		} else {
			changed = append(changed, j)
		}
	}
	require.NotEmpty(t, changed, "the rained-out job is cancelled")
	resp, page := c.get("/h/" + itoa(r.HouseholdID) + "?lang=zh")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	block := requestBlock(t, page, r.ID)
	m := regexp.MustCompile(`(?s)<details class="line2 changes"><summary>调整记录 (\d+) 条</summary>(.*?)</details>`).FindStringSubmatch(block)
	require.NotNil(t, m, "the changes line: %s", block)
	assert.Equal(t, itoa(int64(len(changed))), m[1])
	outside := strings.Replace(block, m[0], "", 1)
	assert.Equal(t, len(changed), strings.Count(m[2], `class="jobline`), "every cancelled job inside")
	assert.Contains(t, m[2], day)
	assert.Equal(t, len(standing), strings.Count(outside, `class="line2 jobline`), "only the jobs that stand outside")
	assert.NotContains(t, outside, "jobline cancelled")

	// The request that could not be placed says why.
	stuck, err = e.st.GetRequest(ctx, e.village.ID, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, store.RequestSubmitted, stuck.State)
	require.NotEmpty(t, stuck.UnplacedReason)
	resp, page = c.get("/h/" + itoa(asker.ID) + "?lang=zh")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	block = requestBlock(t, page, stuck.ID)
	assert.Contains(t, block, `<div class="line2 unplaced">暂未排上：`+template.HTMLEscapeString(stuck.UnplacedReason)+`</div>`)
	assert.NotContains(t, block, "<details", "no changes to fold")

	// The board: the crew cap the cadre set, and the one from the area.
	req, err := http.NewRequest(http.MethodPatch, e.url+"/v1/requests/"+itoa(stuck.ID), strings.NewReader(`{"crewCap":5}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.cadre)
	req.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	presp.Body.Close()
	require.Equal(t, http.StatusOK, presp.StatusCode)
	resp, page = c.get("/board?lang=zh&season=" + season)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, "<th>人数上限</th>")
	assert.Contains(t, page, `<td class="crew" data-request="`+itoa(stuck.ID)+`">5 <small>村干部设定</small></td>`)
	assert.Contains(t, page, `<small class="reason">`+template.HTMLEscapeString(stuck.UnplacedReason)+`</small>`)
	if len(standing) > 0 {
		want := api.CrewCap(r, areaOf(t, e, r.FieldID))
		assert.Regexp(t, `title="#`+itoa(standing[0].ID)+`">[^<]*<small class="crew">上限`+itoa(int64(want))+`人</small>`, page)
	}
}

// TestEveryEventTypeHasALabel: the pages can name every event the outbox
// carries, plan.updated included, Chinese first.
func TestEveryEventTypeHasALabel(t *testing.T) {
	require.Contains(t, api.EventTypes, "plan.updated")
	for _, ev := range api.EventTypes {
		zh, en := web.Text("zh", "event."+ev), web.Text("en", "event."+ev)
		assert.NotEqual(t, "event."+ev, zh, "no label for %s", ev)
		assert.NotEqual(t, zh, en, "%s has the same label in both languages", ev)
	}
	assert.Equal(t, "派工计划有调整", web.Text("zh", "event.plan.updated"))
}
