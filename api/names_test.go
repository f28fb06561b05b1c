package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"huangong/store"
)

// queryCounter counts the statements the store sends to the database.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestJobAnswersCarryNames: a job, as list-jobs and get-job answer it,
// names what its IDs refer to — the team, the household helped and its
// phone, the field, the workers — and a list loads those names with the
// same number of queries whether it has one job or four.
func TestJobAnswersCarryNames(t *testing.T) {
	l := mustLoop(t)
	ctx := context.Background()
	_, err := l.st.UpdateHousehold(ctx, l.village.ID, l.home.ID, l.home.Version, func(h *store.Household) error {
		h.Phone = "13879312345"
		return nil
	})
	require.NoError(t, err)
	first := l.job(t, l.request(t, l.householdTok, l.field.ID), "2026-04-20",
		map[string]any{"householdId": l.neighbour.ID, "workers": 2}, map[string]any{"householdId": l.member2.ID, "workers": 1})

	counter := &queryCounter{}
	l.st.DB().AddQueryHook(counter)
	list := func() (jobs []map[string]any, queries int64) {
		t.Helper()
		before := counter.n.Load()
		resp, body := l.call(t, "GET", "/v1/jobs", l.leader, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		return items(body), counter.n.Load() - before
	}
	// The first request of a minute also stamps the token's last use; count
	// from the second.
	list()
	one, queries := list()
	require.Len(t, one, 1)
	require.Positive(t, queries)
	j := one[0]
	assert.Equal(t, "第一互助队", j["teamName"])
	assert.Equal(t, "章仁标", j["headName"])
	assert.Equal(t, "13879312345", j["phone"], "the leader calls the household on the way")
	assert.Equal(t, "门口田", j["fieldName"])
	assert.Equal(t, 1.6, j["fieldArea"])
	assert.Equal(t, float64(l.home.Group), j["group"], "the field lies in its household's village group")
	assert.Equal(t, []any{
		map[string]any{"householdId": float64(l.neighbour.ID), "headName": "章吉仙", "workers": float64(2)},
		map[string]any{"householdId": float64(l.member2.ID), "headName": "徐金莲", "workers": float64(1)},
	}, j["workers"])

	// Three more jobs on three more fields, other days: the same queries.
	for i, date := range []string{"2026-04-21", "2026-04-22", "2026-04-23"} {
		f := &store.Field{VillageID: l.village.ID, HouseholdID: l.home.ID, Name: []string{"岭背田", "塘边田", "山脚田"}[i], AreaCentimu: 80, Crop: store.CropEarlyRice}
		require.NoError(t, l.st.CreateField(ctx, f))
		l.job(t, l.request(t, l.householdTok, f.ID), date, map[string]any{"householdId": l.member2.ID, "workers": 1})
	}
	four, again := list()
	require.Len(t, four, 4)
	assert.Equal(t, "山脚田", four[3]["fieldName"])
	assert.Equal(t, queries, again, "one query per kind of record, not per job")
	t.Logf("list-jobs as a leader: %d queries for 1 job, %d for 4", queries, again)

	resp, body := l.call(t, "GET", "/v1/jobs/"+itoa(first), l.householdTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "门口田", body["fieldName"])
	assert.Equal(t, "章吉仙", body["workers"].([]any)[0].(map[string]any)["headName"])
}
