package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestExchanged: a season's help given and received come from the ledger,
// as the balances do: a reversed job no longer counts, even when it was
// reversed after the season ended; its corrected posting ("12/2") counts
// once; the exempt household's help counts as its own though the fund
// paid; transfers, donations and other seasons' jobs do not count. The
// season report's workdays, in all and by team, are the same figures.
func TestExchanged(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	done := func(r *store.HelpRequest, team *store.Team, date string, att ...store.JobAttendance) *store.Job {
		t.Helper()
		j := e.Confirm(t, e.Job(t, r, team, date))
		j, _, err := e.CompleteJob(t, j.ID, e.Leader(j), store.Completion{Attendance: att})
		require.NoError(t, err)
		return j
	}
	done(e.Request(t, nil), e.Team1, "2026-04-26",
		store.JobAttendance{HouseholdID: e.A.ID, HalfDays: 4}, store.JobAttendance{HouseholdID: e.B.ID, HalfDays: 2})
	done(e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = e.Exempt.ID, e.Field(t, e.Exempt, 100).ID }),
		e.Team2, "2026-04-27", store.JobAttendance{HouseholdID: e.D.ID, HalfDays: 2})
	wrong := done(e.Request(t, nil), e.Team1, "2026-04-28", store.JobAttendance{HouseholdID: e.A.ID, HalfDays: 2})

	summer := &store.Season{VillageID: v, Kind: store.SeasonSummer, StartDate: "2026-07-07", EndDate: "2026-08-07", Tasks: store.Tasks}
	require.NoError(t, st.CreateSeason(ctx, summer))
	done(e.Request(t, func(in *store.NewRequest) {
		in.Task, in.Earliest, in.Latest = store.TaskHarvest, "2026-07-10", "2026-07-15"
	}),
		e.Team2, "2026-07-10", store.JobAttendance{HouseholdID: e.D.ID, HalfDays: 2})

	p := store.Posting{VillageID: v, Actor: loopCadre, Memo: "test"}
	_, _, err := st.Transfer(ctx, p, e.A.ID, e.C.ID, 3)
	require.NoError(t, err)
	_, _, err = st.Donate(ctx, p, e.B.ID, 1)
	require.NoError(t, err)

	// The third job was recorded for the wrong member: a cadre reverses it
	// after the season and posts b's work, dated on the job's day.
	e.At(30 * 24 * time.Hour) // 2026-05-20
	_, _, err = st.Reverse(ctx, p, *wrong.TransactionID)
	require.NoError(t, err)
	fix := p
	fix.Date = wrong.Date
	again, _, err := st.PostJob(ctx, fix, wrong.ID, e.Helped.ID, []store.Attendance{{HouseholdID: e.B.ID, HalfDays: 3}})
	require.NoError(t, err)
	require.Equal(t, store.TxJob, again.Kind)

	spring, err := st.Exchanged(ctx, v, e.Season.StartDate, e.Season.EndDate)
	require.NoError(t, err)
	assert.Equal(t, map[int64]int64{e.A.ID: 4, e.B.ID: 5, e.D.ID: 2}, spring.Given)
	assert.Equal(t, map[int64]int64{e.Helped.ID: 9, e.Exempt.ID: 2}, spring.Received, "the exempt household's help is its own")
	assert.Equal(t, map[int64]int64{e.Team1.ID: 9, e.Team2.ID: 2}, spring.ByTeam)
	assert.EqualValues(t, 11, spring.HalfDays)

	rep, err := st.SeasonReport(ctx, v, e.Season.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 11, rep.HalfDays, "the report's workdays are the ledger's")
	assert.Equal(t, []store.TeamWork{
		{TeamID: e.Team1.ID, Name: "第一互助队", Jobs: 2, HalfDays: 9},
		{TeamID: e.Team2.ID, Name: "第二互助队", Jobs: 1, HalfDays: 2},
	}, rep.ByTeam, "jobs done are counted from the jobs, workdays from the ledger")

	// Over every day, the figures are exactly the balances' given and received.
	ever, err := st.Exchanged(ctx, v, "0001-01-01", "9999-12-31")
	require.NoError(t, err)
	rows, _, err := st.Balances(ctx, v, store.BalanceQuery{})
	require.NoError(t, err)
	for _, b := range rows {
		assert.Equal(t, b.Given, ever.Given[b.HouseholdID], "%s given", b.HeadName)
		assert.Equal(t, b.Received, ever.Received[b.HouseholdID], "%s received", b.HeadName)
	}
	assert.EqualValues(t, 13, ever.HalfDays)

	_, err = st.Exchanged(ctx, v, "2026-13-01", "2026-05-10")
	AssertError(t, err, store.EINVALID, "from")
}

// TestLastEvent: the newest outbox event's ID, 0 for none, in one village.
func TestLastEvent(t *testing.T) {
	e := loopSetup(t)
	other := MustVillage(t, e.St, "邻村")
	last, err := e.St.LastEvent(e.Ctx, e.V.ID)
	require.NoError(t, err)
	assert.Zero(t, last)
	e.Request(t, nil)
	evs, err := e.St.Outbox(e.Ctx, e.V.ID, store.OutboxFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	last, err = e.St.LastEvent(e.Ctx, e.V.ID)
	require.NoError(t, err)
	assert.Equal(t, evs[len(evs)-1].ID, last)
	last, err = e.St.LastEvent(e.Ctx, other.ID)
	require.NoError(t, err)
	assert.Zero(t, last, "another village's events are not this one's")
}
