package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

var (
	checkedFieldRE = regexp.MustCompile(`name="field" value="(\d+)" required checked`)
	checkedTaskRE  = regexp.MustCompile(`name="task" value="([a-z]+)" required checked`)
	dateRE         = regexp.MustCompile(`name="(earliest|latest)" value="([0-9-]+)"`)
)

// TestPhoneFormStartsFree: 章仁标 asked in December for both tasks on
// both his fields, so his form starts on none of them (it started on his
// first field and task: a 409 on the first submit) and says why; once one
// is cancelled, the form starts on that field and task, and sending it as
// it stands registers a request.
func TestPhoneFormStartsFree(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	open := e.openRequests(t, e.home.ID)
	require.NotEmpty(t, open, "the demo's open requests of his")
	c := e.signedIn(t, e.homeTok)
	_, page := c.get(hpath(e.home))
	field, task := checkedFieldRE.FindStringSubmatch(page), checkedTaskRE.FindStringSubmatch(page)
	for _, r := range open {
		assert.False(t, field != nil && task != nil && strconv.FormatInt(r.FieldID, 10) == field[1] && r.Task == task[1],
			"the form starts on request %d's field and task", r.ID)
	}
	if field == nil || task == nil {
		assert.Contains(t, page, "都已登记求助", "the page says why nothing is chosen")
	}

	freed := open[len(open)-1]
	_, err := e.st.CancelRequest(ctx, e.village.ID, freed.ID, "test", "试一试")
	require.NoError(t, err)
	_, page = c.get(hpath(e.home))
	field, task = checkedFieldRE.FindStringSubmatch(page), checkedTaskRE.FindStringSubmatch(page)
	require.NotNil(t, field, "a field is chosen")
	require.NotNil(t, task, "a task is chosen")
	assert.Equal(t, []string{strconv.FormatInt(freed.FieldID, 10), freed.Task}, []string{field[1], task[1]},
		"the only field and task without an open request")
	form := url.Values{"csrf": {c.csrf(hpath(e.home))}, "field": {field[1]}, "task": {task[1]}}
	for _, m := range dateRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	resp, body := c.post(hpath(e.home)+"/requests", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
}

// TestPhoneCancelOwnRequest: a household cancels its own open request
// from its page with a reason; the note it typed is shown beside the
// request; it cannot cancel another household's.
func TestPhoneCancelOwnRequest(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	h, f := e.quietHousehold(t)
	r, err := e.st.CreateRequest(ctx, e.village.ID, "test", store.NewRequest{HouseholdID: h.ID, FieldID: f.ID,
		Task: store.TaskPrepare, Earliest: "2027-04-06", Latest: "2027-04-10", Note: "腰不好，干不了重活"})
	require.NoError(t, err)
	c := e.signedIn(t, e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &h.ID}))
	_, page := c.get(hpath(h))
	assert.Contains(t, page, "备注：腰不好，干不了重活", "the note is shown")
	cancel := hpath(h) + "/requests/" + strconv.FormatInt(r.ID, 10) + "/cancel"
	require.Contains(t, page, `action="`+cancel+`"`, "an open request can be cancelled from the page")
	token := c.csrf(hpath(h))

	resp, body := c.post(cancel, url.Values{"csrf": {token}, "reason": {""}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "a reason is needed")
	assert.Regexp(t, `[\p{Han}]`, body)
	got, err := e.st.GetRequest(ctx, e.village.ID, r.ID)
	require.NoError(t, err)
	assert.True(t, got.Open())

	// Another household's request through its own page is not found.
	other := e.openRequests(t, e.home.ID)
	require.NotEmpty(t, other)
	resp, _ = c.post(hpath(h)+"/requests/"+strconv.FormatInt(other[0].ID, 10)+"/cancel", url.Values{"csrf": {token}, "reason": {"不要了"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.True(t, e.openRequests(t, e.home.ID)[0].Open())

	resp, _ = c.post(cancel, url.Values{"csrf": {token}, "reason": {"儿子回家了"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, hpath(h)+"?done=cancelled#requests", resp.Header.Get("Location"))
	got, err = e.st.GetRequest(ctx, e.village.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RequestCancelled, got.State)
	_, page = c.get(hpath(h) + "?done=cancelled")
	assert.Contains(t, page, "求助已撤销")
	assert.NotContains(t, page, `action="`+cancel+`"`, "a cancelled request has no cancel form")
}
