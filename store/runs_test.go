package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestClaimRunOncePerSlot(t *testing.T) {
	e := loopSetup(t)
	ctx := e.Ctx
	slot := time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)

	run, ok, err := e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "plan", slot)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, store.RunRunning, run.State)
	require.NotNil(t, run.StartedAt)
	AssertSameTime(t, t0, *run.StartedAt, "started at the store's clock")

	// The same slot again, also given in another zone, is not claimed.
	_, ok, err = e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "plan", slot.In(time.FixedZone("CST", 8*3600)))
	require.NoError(t, err)
	assert.False(t, ok, "a slot is claimed once")
	// Another job, instant or season is another slot.
	_, ok, err = e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "morning", slot)
	require.NoError(t, err)
	assert.True(t, ok)
	_, ok, err = e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "plan", slot.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, ok)

	e.At(time.Minute)
	require.NoError(t, e.St.FinishRun(ctx, run.ID, store.RunFailed, assert.AnError))
	AssertError(t, e.St.FinishRun(ctx, run.ID, store.RunMissed, nil), store.EINVALID, "state")
	AssertError(t, e.St.FinishRun(ctx, 999, store.RunSucceeded, nil), store.ENOTFOUND, "")
	runs, next, err := e.St.ListRuns(ctx, e.V.ID, store.RunFilter{Job: "plan", State: store.RunFailed}, store.Page{})
	require.NoError(t, err)
	assert.Zero(t, next)
	require.Len(t, runs, 1)
	assert.Equal(t, assert.AnError.Error(), runs[0].Error)
	require.NotNil(t, runs[0].FinishedAt)
	AssertSameTime(t, t0.Add(time.Minute), *runs[0].FinishedAt, "finished")
	AssertSameTime(t, slot, runs[0].ScheduledAt, "slot")
}

func TestRecordMissedKeepsWhatIsThere(t *testing.T) {
	e := loopSetup(t)
	ctx := e.Ctx
	base := time.Date(2026, 4, 18, 0, 0, 0, 0, time.UTC)
	var slots []time.Time
	for h := range 1200 { // more than one statement's worth
		slots = append(slots, base.Add(time.Duration(h)*time.Minute))
	}
	run, ok, err := e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "overdue", slots[3])
	require.NoError(t, err)
	require.True(t, ok)

	n, err := e.St.RecordMissed(ctx, e.V.ID, e.Season.ID, "overdue", slots, "down")
	require.NoError(t, err)
	assert.Equal(t, len(slots)-1, n, "the claimed slot keeps its record")
	n, err = e.St.RecordMissed(ctx, e.V.ID, e.Season.ID, "overdue", slots, "down")
	require.NoError(t, err)
	assert.Zero(t, n, "recording again changes nothing")
	got, _, err := e.St.ListRuns(ctx, e.V.ID, store.RunFilter{State: store.RunRunning}, store.Page{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, run.ID, got[0].ID)

	last, err := e.St.LastSlots(ctx, []int64{e.Season.ID, 999})
	require.NoError(t, err)
	require.Len(t, last, 1)
	AssertSameTime(t, slots[len(slots)-1], last[store.RunKey{SeasonID: e.Season.ID, Job: "overdue"}], "last slot")

	// The claimed run never finished: a new lease holder fails it.
	e.At(time.Hour)
	n, err = e.St.FailInterrupted(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, _, err = e.St.ListRuns(ctx, e.V.ID, store.RunFilter{State: store.RunFailed}, store.Page{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Error, "interrupted")
}

func TestListRunsPagesAndFilters(t *testing.T) {
	e := loopSetup(t)
	ctx := e.Ctx
	other := MustVillage(t, e.St, "邻村")
	otherSeason := &store.Season{VillageID: other.ID, Kind: store.SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10",
		Tasks: []string{store.TaskPrepare}}
	require.NoError(t, e.St.CreateSeason(ctx, otherSeason))
	base := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	for i := range 7 {
		_, ok, err := e.St.ClaimRun(ctx, e.V.ID, e.Season.ID, "overdue", base.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = e.St.ClaimRun(ctx, other.ID, otherSeason.ID, "overdue", base.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
	}
	for _, pc := range []int{1, 3, 7} {
		ids, pages := CollectPages(t, pc, func(p store.Page) ([]*store.Run, int64, error) {
			return e.St.ListRuns(ctx, e.V.ID, store.RunFilter{Job: "overdue"}, p)
		}, func(r *store.Run) int64 { return r.ID })
		assert.Len(t, ids, 7, "only the village's runs")
		assert.Equal(t, (7+pc-1)/pc, pages)
	}
	runs, _, err := e.St.ListRuns(ctx, e.V.ID, store.RunFilter{SeasonID: otherSeason.ID}, store.Page{})
	require.NoError(t, err)
	assert.Empty(t, runs, "another village's season shows nothing")
	_, _, err = e.St.ListRuns(ctx, e.V.ID, store.RunFilter{State: "sleeping"}, store.Page{})
	AssertError(t, err, store.EINVALID, "query.state")
}

func TestLeaseHasOneHolder(t *testing.T) {
	st, _ := MustOpen(t)
	ctx := context.Background()
	ttl := time.Minute

	ok, err := st.AcquireLease(ctx, "a", t0, ttl)
	require.NoError(t, err)
	assert.True(t, ok, "a free lease is taken")
	ok, err = st.AcquireLease(ctx, "b", t0.Add(30*time.Second), ttl)
	require.NoError(t, err)
	assert.False(t, ok, "a held lease is refused")
	ok, err = st.AcquireLease(ctx, "a", t0.Add(50*time.Second), ttl)
	require.NoError(t, err)
	assert.True(t, ok, "the holder renews")
	ok, err = st.AcquireLease(ctx, "b", t0.Add(100*time.Second), ttl)
	require.NoError(t, err)
	assert.False(t, ok, "the renewed lease still holds")
	ok, err = st.AcquireLease(ctx, "b", t0.Add(110*time.Second), ttl)
	require.NoError(t, err)
	assert.True(t, ok, "an expired lease is taken over")
	l, err := st.LeaseHolder(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", l.Holder)
	AssertSameTime(t, t0.Add(170*time.Second), l.ExpiresAt, "expires")

	require.NoError(t, st.ReleaseLease(ctx, "a"), "releasing a lease one does not hold does nothing")
	ok, err = st.AcquireLease(ctx, "a", t0.Add(120*time.Second), ttl)
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, st.ReleaseLease(ctx, "b"))
	ok, err = st.AcquireLease(ctx, "a", t0.Add(120*time.Second), ttl)
	require.NoError(t, err)
	assert.True(t, ok, "a released lease is free at once")

	_, err = st.AcquireLease(ctx, "", t0, ttl)
	AssertError(t, err, store.EINVALID, "")
}

func TestNotifyDayJobsOncePerTeamAndDay(t *testing.T) {
	e := loopSetup(t)
	ctx := e.Ctx
	day := e.Day()
	r1 := e.Request(t, nil)
	r2 := e.Request(t, nil)
	e.Confirm(t, e.Job(t, r1, e.Team1, day))
	e.Job(t, r2, e.Team2, day)
	e.Job(t, e.Request(t, nil), e.Team2, e.Day()) // another day

	before := outboxOf(t, e, store.EventJobsToday)
	n, err := e.St.NotifyDayJobs(ctx, e.V.ID, day, "scheduler:morning")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	events := outboxOf(t, e, store.EventJobsToday)[len(before):]
	require.Len(t, events, 2)
	assert.Equal(t, e.Team1.ID, events[0].AudienceID)
	assert.Equal(t, store.AudienceTeam, events[0].Audience)
	assert.True(t, strings.HasPrefix(events[0].Message, "今日派工 "+day), events[0].Message)
	assert.Contains(t, events[0].Message, "章仁标户")
	assert.Contains(t, events[0].Message, "3人，已确认")
	assert.Contains(t, events[1].Message, "1人，待确认")

	n, err = e.St.NotifyDayJobs(ctx, e.V.ID, day, "scheduler:morning")
	require.NoError(t, err)
	assert.Zero(t, n, "a team is told about a day once")
	_, err = e.St.NotifyDayJobs(ctx, e.V.ID, "tomorrow", "scheduler:morning")
	AssertError(t, err, store.EINVALID, "date")
}

func TestNotifyOverdueOncePerRequestAndDay(t *testing.T) {
	e := loopSetup(t)
	ctx := e.Ctx
	late := e.Request(t, nil) // window ends 2026-04-30
	done, _ := e.Reach(t, store.RequestDone)
	_ = done
	e.Request(t, func(in *store.NewRequest) { in.Latest = "2026-05-10" })

	n, err := e.St.NotifyOverdue(ctx, e.V.ID, e.Season.ID, "scheduler:overdue")
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is overdue on 2026-04-20")

	e.Clock.Set(time.Date(2026, 5, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	n, err = e.St.NotifyOverdue(ctx, e.V.ID, e.Season.ID, "scheduler:overdue")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the open request past its window; not the done one")
	ev := outboxOf(t, e, store.EventRequestOverdue)
	require.Len(t, ev, 1)
	assert.Equal(t, late.ID, ev[0].SubjectID)
	assert.Equal(t, store.AudienceCadre, ev[0].Audience)
	assert.Contains(t, ev[0].Message, "期限2026-04-30")

	// Hourly through the day: once.
	for range 14 {
		e.Clock.Advance(time.Hour)
		n, err = e.St.NotifyOverdue(ctx, e.V.ID, e.Season.ID, "scheduler:overdue")
		require.NoError(t, err)
		assert.Zero(t, n)
	}
	// 2026-05-03 00:00 in the village: a new day, told again.
	e.Clock.Advance(time.Hour)
	n, err = e.St.NotifyOverdue(ctx, e.V.ID, e.Season.ID, "scheduler:overdue")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func outboxOf(t *testing.T, e *loopEnv, event string) []*store.OutboxEvent {
	t.Helper()
	all, err := e.St.Outbox(e.Ctx, e.V.ID, store.OutboxFilter{})
	require.NoError(t, err)
	var out []*store.OutboxEvent
	for _, ev := range all {
		if ev.Event == event {
			out = append(out, ev)
		}
	}
	return out
}
