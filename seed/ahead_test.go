package seed_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/seed"
	"huangong/store"
)

var village = time.FixedZone("CST", 8*3600)

// aheadRequests returns every help request of a season.
func aheadRequests(t *testing.T, st *store.Store, villageID, seasonID int64) []*store.HelpRequest {
	t.Helper()
	reqs, next, err := st.ListRequests(context.Background(), villageID, store.RequestFilter{SeasonID: seasonID}, store.Page{Limit: store.MaxPageLimit})
	require.NoError(t, err)
	require.Zero(t, next)
	return reqs
}

// aheadCounts counts the rows the season ahead adds to.
func aheadCounts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"seasons", "help_requests", "transitions", "outbox"} {
		var n int
		require.NoError(t, st.DB().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+tbl).Scan(&n))
		out[tbl] = n
	}
	return out
}

// TestSeasonAheadDemo starts the demo in late November 2026: next year's
// seasons are there, and next spring's 春耕 has requests waiting.
func TestSeasonAheadDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := MustOpen(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, village)
	st.Now = func() time.Time { return now }
	v, _, err := seed.EnsureDemo(ctx, st)
	require.NoError(t, err)
	assert.Equal(t, now, st.Now(), "the store's clock is given back")

	seasons, err := st.ListSeasons(ctx, v.ID, 2027)
	require.NoError(t, err)
	require.Len(t, seasons, 3, "next year's spring, summer and autumn")
	want, err := scheduler.DefaultSeasons(2027, v.Location(), scheduler.SystemDoubleRice)
	require.NoError(t, err)
	for i, se := range seasons {
		assert.Equal(t, want[i].Kind, se.Kind)
		assert.Equal(t, want[i].StartDate, se.StartDate)
		assert.Equal(t, want[i].EndDate, se.EndDate)
		wantState := store.SeasonPlanned
		if i == 0 {
			wantState = store.SeasonOpen // the season ahead, open for the nightly plan
		}
		assert.Equal(t, wantState, se.State)
		assert.Equal(t, want[i].Crons, se.Crons)
		assert.True(t, se.CreatedAt.Before(now))
	}
	spring := seasons[0]
	assert.Equal(t, "2027 春耕", spring.Name)

	reqs := aheadRequests(t, st, v.ID, spring.ID)
	assert.GreaterOrEqual(t, len(reqs), 20)
	assert.LessOrEqual(t, len(reqs), 30)
	story := historyHousehold(t, st, v.ID, seed.StoryHead)
	storyTasks := map[string][]string{}
	behalf := 0
	for _, r := range reqs {
		assert.Equal(t, store.RequestSubmitted, r.State, "waiting for the nightly plan")
		assert.Contains(t, []string{store.TaskPrepare, store.TaskTransplant}, r.Task)
		assert.LessOrEqual(t, spring.StartDate, r.Earliest, "inside the season")
		assert.LessOrEqual(t, r.Earliest, r.Latest)
		assert.LessOrEqual(t, r.Latest, spring.EndDate, "inside the season")
		assert.True(t, r.SubmittedAt.Before(now) && r.SubmittedAt.After(now.AddDate(0, 0, -8)), "asked in the week before: %v", r.SubmittedAt)
		assert.Positive(t, r.HalfDays)
		f, err := st.GetField(ctx, v.ID, r.FieldID)
		require.NoError(t, err)
		assert.Equal(t, store.CropEarlyRice, f.Crop)
		h, err := st.GetHousehold(ctx, v.ID, r.HouseholdID)
		require.NoError(t, err)
		assert.True(t, h.Laborers <= 1 || h.Vulnerable(), "%s is short of labor or vulnerable", h.HeadName)
		if r.OnBehalf {
			behalf++
			assert.Equal(t, "cadre:"+seed.StoryCadre, r.EnteredBy)
		} else {
			assert.Equal(t, "household:"+strconv.FormatInt(h.ID, 10), r.EnteredBy)
		}
		if h.ID == story.ID {
			storyTasks[f.Name] = append(storyTasks[f.Name], r.Task)
		}
	}
	assert.Positive(t, behalf, "some entered by 邱锦 for the household")
	assert.Less(t, behalf, len(reqs), "some asked by the household itself")
	assert.Equal(t, map[string][]string{
		"门口田": {store.TaskPrepare, store.TaskTransplant},
		"塘下垄": {store.TaskPrepare, store.TaskTransplant},
	}, storyTasks, "章仁标 asks for both of his fields, 门口田 among them")

	// Prepared before transplanted: a field's transplant window opens
	// no earlier than the day before its preparation is due.
	byField := map[int64]map[string]*store.HelpRequest{}
	for _, r := range reqs {
		if byField[r.FieldID] == nil {
			byField[r.FieldID] = map[string]*store.HelpRequest{}
		}
		byField[r.FieldID][r.Task] = r
	}
	for field, rs := range byField {
		if p, tr := rs[store.TaskPrepare], rs[store.TaskTransplant]; p != nil && tr != nil {
			assert.GreaterOrEqual(t, tr.Earliest, p.Earliest, "field %d", field)
			assert.GreaterOrEqual(t, tr.Latest, p.Latest, "field %d", field)
		}
	}

	t.Run("again changes nothing", func(t *testing.T) {
		before := aheadCounts(t, st)
		again, tokens, err := seed.EnsureDemo(ctx, st)
		require.NoError(t, err)
		assert.Equal(t, v.ID, again.ID)
		assert.Nil(t, tokens)
		assert.Equal(t, before, aheadCounts(t, st))

		require.NoError(t, seed.SeasonAhead(ctx, st, v.ID, now))
		assert.Equal(t, before, aheadCounts(t, st), "SeasonAhead twice adds nothing")
		assert.Equal(t, now, st.Now())
	})
}

// aheadVillage loads a small generated village, without history.
func aheadVillage(t *testing.T) (*store.Store, *store.Village) {
	t.Helper()
	st := MustOpen(t)
	v, created, err := st.ImportVillage(context.Background(), seed.Generate(seed.Config{Name: "前村", Households: 80, Groups: 3, Teams: 2, Seed: 11}), true)
	require.NoError(t, err)
	require.True(t, created)
	return st, v
}

func TestSeasonAheadWithinTheYear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kinds := func(ss []*store.Season) []string {
		var out []string
		for _, se := range ss {
			out = append(out, se.Kind)
		}
		return out
	}

	t.Run("spring under way", func(t *testing.T) {
		st, v := aheadVillage(t)
		now := time.Date(2027, 4, 20, 7, 0, 0, 0, village)
		require.NoError(t, seed.SeasonAhead(ctx, st, v.ID, now))
		ss, err := st.ListSeasons(ctx, v.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{store.SeasonSpring, store.SeasonSummer, store.SeasonAutumn}, kinds(ss))
		reqs := aheadRequests(t, st, v.ID, ss[0].ID)
		require.NotEmpty(t, reqs)
		for _, r := range reqs {
			assert.Greater(t, r.Earliest, "2027-04-20", "no window opens in the past")
			assert.LessOrEqual(t, r.Latest, ss[0].EndDate)
		}
	})

	t.Run("after spring: the double-rush", func(t *testing.T) {
		st, v := aheadVillage(t)
		now := time.Date(2027, 5, 20, 7, 0, 0, 0, village)
		require.NoError(t, seed.SeasonAhead(ctx, st, v.ID, now))
		ss, err := st.ListSeasons(ctx, v.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{store.SeasonSummer, store.SeasonAutumn}, kinds(ss), "spring is over")
		reqs := aheadRequests(t, st, v.ID, ss[0].ID)
		require.NotEmpty(t, reqs)
		tasks := map[string]bool{}
		for _, r := range reqs {
			tasks[r.Task] = true
			assert.LessOrEqual(t, ss[0].StartDate, r.Earliest)
			assert.LessOrEqual(t, r.Latest, ss[0].EndDate)
		}
		assert.Equal(t, map[string]bool{store.TaskHarvest: true, store.TaskTransplant: true}, tasks,
			"early rice harvested, late rice transplanted")
	})

	t.Run("a closed season is passed over", func(t *testing.T) {
		st, v := aheadVillage(t)
		summer := &store.Season{VillageID: v.ID, Kind: store.SeasonSummer, StartDate: "2027-07-01", EndDate: "2027-08-05",
			Tasks: []string{store.TaskHarvest, store.TaskTransplant}, State: store.SeasonOpen}
		require.NoError(t, st.CreateSeason(ctx, summer))
		_, err := st.UpdateSeason(ctx, v.ID, summer.ID, 0, func(se *store.Season) error { se.State = store.SeasonClosed; return nil })
		require.NoError(t, err)
		now := time.Date(2027, 6, 1, 7, 0, 0, 0, village)
		require.NoError(t, seed.SeasonAhead(ctx, st, v.ID, now))
		assert.Empty(t, aheadRequests(t, st, v.ID, summer.ID))
		ss, err := st.ListSeasons(ctx, v.ID, 2027)
		require.NoError(t, err)
		autumn := ss[slices.IndexFunc(ss, func(se *store.Season) bool { return se.Kind == store.SeasonAutumn })]
		reqs := aheadRequests(t, st, v.ID, autumn.ID)
		require.NotEmpty(t, reqs)
		for _, r := range reqs {
			assert.Equal(t, store.TaskHarvest, r.Task)
		}
	})
}

// TestSeasonAheadDeterministic seeds two databases on the same date: the
// same requests, asked at the same times.
func TestSeasonAheadDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type row struct {
		household, field int64
		task, earliest   string
		latest           string
		submitted        time.Time
		enteredBy        string
	}
	var got [2][]row
	for i := range got {
		st, v := aheadVillage(t)
		// Two different hours of the same day: the script follows the date.
		require.NoError(t, seed.SeasonAhead(ctx, st, v.ID, time.Date(2026, 11, 29, 9+i*8, 0, 0, 0, village)))
		ss, err := st.ListSeasons(ctx, v.ID, 2027)
		require.NoError(t, err)
		require.NotEmpty(t, ss)
		for _, r := range aheadRequests(t, st, v.ID, ss[0].ID) {
			got[i] = append(got[i], row{r.HouseholdID, r.FieldID, r.Task, r.Earliest, r.Latest, r.SubmittedAt.UTC(), r.EnteredBy})
		}
	}
	require.NotEmpty(t, got[0])
	assert.Equal(t, got[0], got[1])
}
