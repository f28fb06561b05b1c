package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestLoopSmoke(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "loop.db"))
	require.NoError(t, err)
	defer st.Close()
	v := &store.Village{Name: "v"}
	require.NoError(t, st.CreateVillage(ctx, v))
	old := &store.Household{VillageID: v.ID, HeadName: "章仁标", Group: 1, Laborers: 1, Members: 2, Elderly: true}
	a := &store.Household{VillageID: v.ID, HeadName: "章吉仙", Group: 1, Laborers: 2, Members: 3}
	b := &store.Household{VillageID: v.ID, HeadName: "徐", Group: 1, Laborers: 2, Members: 3}
	for _, h := range []*store.Household{old, a, b} {
		require.NoError(t, st.CreateHousehold(ctx, h))
	}
	f := &store.Field{VillageID: v.ID, HouseholdID: old.ID, Name: "门口田", AreaCentimu: 160, Crop: store.CropEarlyRice}
	require.NoError(t, st.CreateField(ctx, f))
	team := &store.Team{VillageID: v.ID, Name: "第一互助队"}
	require.NoError(t, st.CreateTeam(ctx, team))
	require.NoError(t, st.AddTeamMember(ctx, v.ID, &store.TeamMember{TeamID: team.ID, HouseholdID: a.ID, WorkersPerDay: 2}))
	require.NoError(t, st.AddTeamMember(ctx, v.ID, &store.TeamMember{TeamID: team.ID, HouseholdID: b.ID, WorkersPerDay: 1}))
	se := &store.Season{VillageID: v.ID, Kind: store.SeasonSpring, StartDate: "2027-04-05", EndDate: "2027-05-10", Tasks: []string{"prepare", "transplant"}}
	require.NoError(t, st.CreateSeason(ctx, se))

	_, err = st.CreateRequest(ctx, v.ID, "hh", store.NewRequest{HouseholdID: old.ID, FieldID: f.ID, Task: "harvest", Earliest: "2027-04-20", Latest: "2027-04-25"})
	require.Equal(t, store.EINVALID, store.ErrorCode(err))
	r, err := st.CreateRequest(ctx, v.ID, "hh", store.NewRequest{HouseholdID: old.ID, FieldID: f.ID, Task: "transplant", Earliest: "2027-04-20", Latest: "2027-04-25"})
	require.NoError(t, err)
	assert.EqualValues(t, 5, r.HalfDays, "1.6 mu × 1.5 = 2.4 → 2.5 workdays")
	_, err = st.CreateRequest(ctx, v.ID, "hh", store.NewRequest{HouseholdID: old.ID, FieldID: f.ID, Task: "transplant", Earliest: "2027-04-20", Latest: "2027-04-25"})
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err), "%v", err)

	j, err := st.CreateJob(ctx, v.ID, "cadre", store.NewJob{TeamID: team.ID, RequestID: r.ID, Date: "2027-04-21",
		Workers: []store.PlannedWorker{{HouseholdID: a.ID, Workers: 2}, {HouseholdID: b.ID, Workers: 1}}})
	require.NoError(t, err)
	_, _, err = st.CompleteJob(ctx, v.ID, j.ID, "leader", store.Completion{Attendance: []store.JobAttendance{{HouseholdID: a.ID, HalfDays: 3}}})
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err), "%v", err)
	_, err = st.ConfirmJob(ctx, v.ID, j.ID, "leader")
	require.NoError(t, err)
	got, err := st.GetRequest(ctx, v.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RequestConfirmed, got.State)

	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, results[i] = st.CompleteJob(ctx, v.ID, j.ID, "leader", store.Completion{
				Attendance:     []store.JobAttendance{{HouseholdID: a.ID, HalfDays: 3}, {HouseholdID: b.ID, HalfDays: 2}},
				Meal:           true,
				IdempotencyKey: "k", RequestHash: "h"})
		}()
	}
	wg.Wait()
	for _, e := range results {
		require.NoError(t, e)
	}
	bal, _, err := st.Balances(ctx, v.ID, store.BalanceQuery{})
	require.NoError(t, err)
	assert.EqualValues(t, -5, bal[0].Balance)
	done, err := st.GetRequest(ctx, v.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RequestDone, done.State)
	_, err = st.SubmitFeedback(ctx, v.ID, r.ID, "hh", 5, "好")
	require.NoError(t, err)
	_, err = st.SubmitFeedback(ctx, v.ID, r.ID, "hh", 5, "好")
	require.Equal(t, store.ECONFLICT, store.ErrorCode(err))
	rep, err := st.SeasonReport(ctx, v.ID, se.ID)
	require.NoError(t, err)
	t.Logf("%+v", rep)
	ev, err := st.Outbox(ctx, v.ID, store.OutboxFilter{})
	require.NoError(t, err)
	for _, e := range ev {
		t.Logf("%s %d %s %s", e.Audience, e.AudienceID, e.Event, e.Message)
	}
}
