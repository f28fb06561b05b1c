package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/testdb"
)

// TestRequestsAheadArePlannedFromTheNightTheyArrive: in December a
// household asks for help with next spring's transplanting. The nightly
// run plans it that night, for a spring season still planned as for one
// already open; the other jobs of a season wait for its days (and a
// planned season runs only its plan).
func TestRequestsAheadArePlannedFromTheNightTheyArrive(t *testing.T) {
	for _, state := range []string{store.SeasonPlanned, store.SeasonOpen} {
		t.Run(state, func(t *testing.T) {
			e := &cronEnv{ctx: t.Context(), clock: &cronClock{now: cronAt("2026-12-01", 9, 0)}}
			e.path = testdb.Database(t, "cron.db")
			e.st = e.open(t)
			ctx := e.ctx
			e.v = &store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"}
			require.NoError(t, e.st.CreateVillage(ctx, e.v))
			e.season = &store.Season{VillageID: e.v.ID, Kind: store.SeasonSpring, StartDate: "2027-04-15", EndDate: "2027-05-10",
				Tasks: []string{store.TaskPrepare, store.TaskTransplant}}
			require.NoError(t, e.st.CreateSeason(ctx, e.season))
			if state == store.SeasonOpen {
				_, err := e.st.UpdateSeason(ctx, e.v.ID, e.season.ID, 0, func(se *store.Season) error { se.State = store.SeasonOpen; return nil })
				require.NoError(t, err)
			}
			helped := &store.Household{VillageID: e.v.ID, HeadName: "章仁标", Group: 1, Laborers: 0, Members: 2, Elderly: true}
			worker := &store.Household{VillageID: e.v.ID, HeadName: "章吉仙", Group: 1, Laborers: 2, Members: 3}
			require.NoError(t, e.st.CreateHousehold(ctx, helped))
			require.NoError(t, e.st.CreateHousehold(ctx, worker))
			team := &store.Team{VillageID: e.v.ID, Name: "第一互助队", LeaderName: "章吉仙"}
			require.NoError(t, e.st.CreateTeam(ctx, team))
			require.NoError(t, e.st.AddTeamMember(ctx, e.v.ID, &store.TeamMember{TeamID: team.ID, HouseholdID: worker.ID, WorkersPerDay: 2}))
			f := &store.Field{VillageID: e.v.ID, HouseholdID: helped.ID, Name: "门口田", AreaCentimu: 100, Crop: store.CropEarlyRice}
			require.NoError(t, e.st.CreateField(ctx, f))

			s := e.scheduler(nil, "a", nil)
			for now := cronAt("2026-12-01", 10, 0); !now.After(cronAt("2026-12-01", 21, 0)); now = now.Add(30 * time.Minute) {
				e.tick(t, s, now) // the first night: nothing asked yet
			}
			e.clock.Set(cronAt("2026-12-03", 15, 0))
			r, err := e.st.CreateRequest(ctx, e.v.ID, "household:1", store.NewRequest{HouseholdID: helped.ID, FieldID: f.ID,
				Task: store.TaskTransplant, Earliest: "2027-04-20", Latest: "2027-04-25"})
			require.NoError(t, err)
			for now := cronAt("2026-12-03", 15, 0); !now.After(cronAt("2026-12-04", 8, 0)); now = now.Add(30 * time.Minute) {
				e.tick(t, s, now)
			}

			r, err = e.st.GetRequest(ctx, e.v.ID, r.ID)
			require.NoError(t, err)
			assert.Equal(t, store.RequestScheduled, r.State, "planned the night it arrived, months before the season")
			jobs, _, err := e.st.ListJobs(ctx, e.v.ID, store.JobFilter{RequestID: r.ID}, store.Page{})
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			assert.GreaterOrEqual(t, jobs[0].Date, "2027-04-20")
			assert.LessOrEqual(t, jobs[0].Date, "2027-04-25")

			c := e.counts(t)
			assert.Equal(t, map[string]int{store.RunSucceeded: 3}, c[CronPlan], "the nights of 1, 2 and 3 December")
			for job := range c {
				assert.Equal(t, CronPlan, job, "only the plan runs before the season's days")
			}
		})
	}
}
