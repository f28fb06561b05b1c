package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/testdb"
)

// cronClock is a stopped clock the tests move; schedulers and stores read
// it from several goroutines.
type cronClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *cronClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *cronClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// cronLoc is the villages' timezone.
var cronLoc = func() *time.Location {
	loc, err := time.LoadLocation(store.DefaultTimezone)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// cronAt is a wall-clock time in the village.
func cronAt(date string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, date, cronLoc)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// cronEnv is a village (Asia/Shanghai) with one open season over a
// database file, its store reading the test's clock.
type cronEnv struct {
	ctx    context.Context
	path   string
	st     *store.Store
	clock  *cronClock
	v      *store.Village
	season *store.Season
}

func newCronEnv(t *testing.T, start, end string, crons map[string]string) *cronEnv {
	t.Helper()
	e := &cronEnv{ctx: context.Background(), path: testdb.Database(t, "cron.db"), clock: &cronClock{now: cronAt(start, 0, 0)}}
	e.st = e.open(t)
	e.v = &store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"}
	require.NoError(t, e.st.CreateVillage(e.ctx, e.v))
	e.season = &store.Season{VillageID: e.v.ID, Kind: store.SeasonSpring, StartDate: start, EndDate: end,
		Tasks: []string{store.TaskPrepare, store.TaskTransplant}, Crons: crons}
	require.NoError(t, e.st.CreateSeason(e.ctx, e.season))
	var err error
	e.season, err = e.st.UpdateSeason(e.ctx, e.v.ID, e.season.ID, 0, func(se *store.Season) error { se.State = store.SeasonOpen; return nil })
	require.NoError(t, err)
	return e
}

// open opens another store on the env's database file.
func (e *cronEnv) open(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(e.ctx, e.path)
	require.NoError(t, err)
	st.Now = e.clock.Now
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	return st
}

// scheduler is a scheduler over st (the env's store when nil) on the
// test's clock, with a lease long enough not to be renewed every tick.
func (e *cronEnv) scheduler(st *store.Store, holder string, log *slog.Logger) *Scheduler {
	if st == nil {
		st = e.st
	}
	return NewScheduler(st, CronOptions{Holder: holder, Now: e.clock.Now, LeaseTTL: 10 * time.Minute, Log: log})
}

// tick sets the clock and ticks.
func (e *cronEnv) tick(t *testing.T, s *Scheduler, now time.Time) {
	t.Helper()
	e.clock.Set(now)
	require.NoError(t, s.Tick(e.ctx, now))
}

// counts is the runs recorded by job and state.
func (e *cronEnv) counts(t *testing.T) map[string]map[string]int {
	t.Helper()
	rows, err := e.st.DB().QueryContext(e.ctx, "SELECT job, state, COUNT(*) FROM schedule_runs GROUP BY job, state")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var job, state string
		var n int
		require.NoError(t, rows.Scan(&job, &state, &n))
		if out[job] == nil {
			out[job] = map[string]int{}
		}
		out[job][state] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// runs lists every run of the village in the order recorded.
func (e *cronEnv) runs(t *testing.T) []*store.Run {
	t.Helper()
	var out []*store.Run
	p := store.Page{Limit: store.MaxPageLimit}
	for {
		rows, next, err := e.st.ListRuns(e.ctx, e.v.ID, store.RunFilter{}, p)
		require.NoError(t, err)
		out = append(out, rows...)
		if next == 0 {
			return out
		}
		p.After = next
	}
}

// fakeJobs replaces every job body with one that records the slot it ran.
type fakeJobs struct {
	mu  sync.Mutex
	ran map[string]int    // "job slot" → times run
	by  map[string]string // "job slot" → holder that ran it
}

func (f *fakeJobs) install(s *Scheduler) {
	for _, job := range CronJobs {
		s.Handle(job, func(_ context.Context, _ *store.Village, _ *store.Season, slot time.Time) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			key := job + " " + slot.UTC().Format(time.RFC3339)
			f.ran[key]++
			f.by[key] = s.Holder()
			return nil
		})
	}
}

func newFakeJobs() *fakeJobs { return &fakeJobs{ran: map[string]int{}, by: map[string]string{}} }

func TestADayOfAnOpenSeasonFiresTheExpectedRuns(t *testing.T) {
	// A Monday, the season's first day: nothing before it to catch up.
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	s := e.scheduler(nil, "a", nil)
	start := cronAt("2026-04-20", 0, 0)
	for now := start; now.Before(start.Add(24 * time.Hour)); now = now.Add(30 * time.Second) {
		e.tick(t, s, now)
	}
	assert.Equal(t, map[string]map[string]int{
		CronPlan:     {store.RunSucceeded: 1},
		CronMorning:  {store.RunSucceeded: 1},
		CronOverdue:  {store.RunSucceeded: 24},
		CronFeedback: {store.RunSucceeded: 1},
		CronNotice:   {store.RunSucceeded: 1},
	}, e.counts(t))

	// Each ran at its slot, recorded as the UTC instant, in the order due.
	runs := e.runs(t)
	require.Len(t, runs, 28)
	slots := map[string][]time.Time{}
	for i, r := range runs {
		require.NotNil(t, r.StartedAt)
		assert.True(t, r.StartedAt.Equal(r.ScheduledAt), "%s ran at its slot %v, not %v", r.Job, r.ScheduledAt, r.StartedAt)
		assert.Equal(t, time.UTC, r.ScheduledAt.Location())
		if i > 0 {
			assert.False(t, r.ScheduledAt.Before(runs[i-1].ScheduledAt), "recorded in slot order")
		}
		slots[r.Job] = append(slots[r.Job], r.ScheduledAt)
	}
	assert.Equal(t, []time.Time{cronAt("2026-04-20", 20, 0).UTC()}, slots[CronPlan])
	assert.Equal(t, []time.Time{cronAt("2026-04-20", 6, 0).UTC()}, slots[CronMorning])
	assert.Equal(t, []time.Time{cronAt("2026-04-20", 6, 30).UTC()}, slots[CronFeedback])
	assert.Equal(t, []time.Time{cronAt("2026-04-20", 8, 0).UTC()}, slots[CronNotice])
	assert.Equal(t, cronAt("2026-04-20", 0, 0).UTC(), slots[CronOverdue][0])
	assert.Equal(t, cronAt("2026-04-20", 23, 0).UTC(), slots[CronOverdue][23])

	// The weekly notice is a snapshot row.
	notices, err := e.st.ListNotices(e.ctx, e.v.ID, e.season.ID)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	assert.Equal(t, store.NoticeWeekly, notices[0].Kind)
}

func TestSeasonSpecsAreData(t *testing.T) {
	// A season's own specs replace the defaults; a bad one stops only its job.
	var logs bytes.Buffer
	e := newCronEnv(t, "2026-04-20", "2026-05-10", map[string]string{
		CronOverdue: "*/30 6-7 * * *", CronPlan: "every evening",
	})
	s := e.scheduler(nil, "a", slog.New(slog.NewTextHandler(&logs, nil)))
	f := newFakeJobs()
	f.install(s)
	for now := cronAt("2026-04-20", 0, 0); now.Before(cronAt("2026-04-21", 0, 0)); now = now.Add(10 * time.Minute) {
		e.tick(t, s, now)
	}
	c := e.counts(t)
	assert.Equal(t, 4, c[CronOverdue][store.RunSucceeded], "06:00 06:30 07:00 07:30")
	assert.Nil(t, c[CronPlan], "a bad spec runs nothing")
	assert.Equal(t, 1, c[CronMorning][store.RunSucceeded])
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("bad cron spec")), "the bad spec is logged once: %s", logs.String())
}

func TestOutageCatchesUpTheLastDayAndRecordsTheRestAsMissed(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	s := e.scheduler(nil, "a", nil)
	down := cronAt("2026-04-20", 10, 30)
	e.tick(t, s, down) // the last tick before the machine was switched off
	before := e.counts(t)
	assert.Equal(t, map[string]map[string]int{
		CronMorning:  {store.RunSucceeded: 1},
		CronOverdue:  {store.RunSucceeded: 11},
		CronFeedback: {store.RunSucceeded: 1},
		CronNotice:   {store.RunSucceeded: 1},
	}, before, "the first tick runs the day so far: all within 24 h")
	first := len(e.runs(t))

	// Three days later it comes back.
	up := down.Add(72 * time.Hour)
	e.tick(t, s, up)
	c := e.counts(t)
	assert.Equal(t, map[string]map[string]int{
		// 20:00 on the 20th, 21st and 22nd: the 22nd is within 24 h; one
		// row stands for the two missed.
		CronPlan: {store.RunSucceeded: 1, store.RunMissed: 1},
		// 06:00 on the 21st, 22nd, 23rd.
		CronMorning: {store.RunSucceeded: 1 + 1, store.RunMissed: 1},
		// Hourly from 11:00 on the 20th to 10:00 on the 23rd: 72 slots,
		// the last 24 of them caught up, one row for the 48 missed.
		CronOverdue:  {store.RunSucceeded: 11 + 24, store.RunMissed: 1},
		CronFeedback: {store.RunSucceeded: 1 + 1, store.RunMissed: 1},
		CronNotice:   {store.RunSucceeded: 1},
	}, c)

	runs := e.runs(t)[first:]
	var caught []*store.Run
	for _, r := range runs {
		switch r.State {
		case store.RunMissed:
			assert.Nil(t, r.StartedAt)
			assert.Contains(t, r.Error, "past the 24h catch-up window")
			assert.Greater(t, up.Sub(r.ScheduledAt), 24*time.Hour, "only slots older than the window are missed")
			if r.Job == CronOverdue {
				assert.Equal(t, up.Add(-24*time.Hour-30*time.Minute).UTC(), r.ScheduledAt, "the row is the latest slot missed")
				assert.Contains(t, r.Error, "48次")
			}
		case store.RunSucceeded:
			assert.LessOrEqual(t, up.Sub(r.ScheduledAt), 24*time.Hour)
			caught = append(caught, r)
		default:
			t.Errorf("run %d is %s", r.ID, r.State)
		}
	}
	require.Len(t, caught, 27)
	for i := 1; i < len(caught); i++ {
		assert.False(t, caught[i].ScheduledAt.Before(caught[i-1].ScheduledAt), "caught up oldest first")
	}

	// Nothing is due twice: the next tick at the same time does nothing,
	// and the next hour runs one sweep.
	e.tick(t, s, up)
	assert.Equal(t, c, e.counts(t))
	e.tick(t, s, up.Add(30*time.Minute))
	assert.Equal(t, 11+24+1, e.counts(t)[CronOverdue][store.RunSucceeded])
}

func TestTwoSchedulersOnOneDatabaseNeverRunASlotTwice(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
			f := newFakeJobs()
			// Two instances, each with its own store on the one file.
			a := e.scheduler(e.open(t), "a", nil)
			b := e.scheduler(e.open(t), "b", nil)
			// The lease outlasts the gap between ticks, so it changes hands
			// only when its holder stops.
			a.opts.LeaseTTL, b.opts.LeaseTTL = time.Hour, time.Hour
			f.install(a)
			f.install(b)
			start := cronAt("2026-04-20", 0, 0)
			const crash = 60 // a stops here, without releasing the lease
			for i := range 100 {
				now := start.Add(time.Duration(i) * 15 * time.Minute)
				e.clock.Set(now)
				ticking := []*Scheduler{a, b}
				if i%2 == 1 {
					ticking = []*Scheduler{b, a}
				}
				switch {
				case i == 0:
					ticking = []*Scheduler{a} // a starts first and takes the lease
				case i >= crash:
					ticking = []*Scheduler{b}
				}
				if !concurrent {
					for _, s := range ticking {
						require.NoError(t, s.Tick(e.ctx, now))
					}
					continue
				}
				var wg sync.WaitGroup
				errs := make([]error, len(ticking))
				for k, s := range ticking {
					wg.Go(func() { errs[k] = s.Tick(e.ctx, now) })
				}
				wg.Wait()
				require.NoError(t, errors.Join(errs...))
			}
			end := start.Add(99 * 15 * time.Minute)
			crashedAt := start.Add(crash * 15 * time.Minute)

			// Every slot ran exactly once, by the lease holder: a while it
			// lived, b once a's lease had run out.
			runs := e.runs(t)
			require.NotEmpty(t, runs)
			for key, n := range f.ran {
				assert.Equal(t, 1, n, "%s ran %d times", key, n)
			}
			succeeded := 0
			for _, r := range runs {
				require.Equal(t, store.RunSucceeded, r.State, "run %d", r.ID)
				succeeded++
				key := r.Job + " " + r.ScheduledAt.Format(time.RFC3339)
				require.Equal(t, 1, f.ran[key], key)
				holder := f.by[key]
				if r.StartedAt.Before(crashedAt) {
					assert.Equal(t, "a", holder, "%s before a stopped", key)
				} else {
					assert.Equal(t, "b", holder, "%s after a stopped", key)
				}
			}
			assert.Equal(t, succeeded, len(f.ran))
			// Nothing was lost: the hourly sweep has every hour up to the end.
			assert.Equal(t, int(end.Sub(start)/time.Hour)+1, e.counts(t)[CronOverdue][store.RunSucceeded])
			lease, err := e.st.LeaseHolder(e.ctx)
			require.NoError(t, err)
			assert.Equal(t, "b", lease.Holder)
		})
	}
}

func TestOnlyTheLeaseHolderRuns(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	now := cronAt("2026-04-20", 9, 0)
	ok, err := e.st.AcquireLease(e.ctx, "someone else", now, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	s := e.scheduler(nil, "a", nil)
	e.tick(t, s, now)
	assert.Empty(t, e.counts(t), "no lease, no runs")
	require.NoError(t, e.st.ReleaseLease(e.ctx, "someone else"))
	e.tick(t, s, now)
	assert.NotEmpty(t, e.counts(t))
}

func TestAPanickingJobIsRecordedAsFailedAndTheNextSlotRuns(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	var logs bytes.Buffer
	s := e.scheduler(nil, "a", slog.New(slog.NewTextHandler(&logs, nil)))
	calls := 0
	s.Handle(CronOverdue, func(_ context.Context, _ *store.Village, _ *store.Season, slot time.Time) error {
		calls++
		switch calls {
		case 1:
			var m map[string]int
			m["boom"]++ // a bug: assignment to a nil map
		case 2:
			return errors.New("数据库忙 database busy")
		}
		return nil
	})
	for now := cronAt("2026-04-20", 0, 0); now.Before(cronAt("2026-04-20", 3, 0)); now = now.Add(30 * time.Minute) {
		e.tick(t, s, now)
	}
	runs, _, err := e.st.ListRuns(e.ctx, e.v.ID, store.RunFilter{Job: CronOverdue}, store.Page{})
	require.NoError(t, err)
	require.Len(t, runs, 3)
	assert.Equal(t, store.RunFailed, runs[0].State)
	assert.Contains(t, runs[0].Error, "panic: assignment to entry in nil map")
	require.NotNil(t, runs[0].FinishedAt)
	assert.Equal(t, store.RunFailed, runs[1].State)
	assert.Equal(t, "数据库忙 database busy", runs[1].Error)
	assert.Equal(t, store.RunSucceeded, runs[2].State, "the next slot still runs")
	assert.Empty(t, runs[2].Error)
	assert.Contains(t, logs.String(), "goroutine", "the panic's stack is logged")
	// A failed slot is not run again.
	e.tick(t, s, cronAt("2026-04-20", 2, 30))
	assert.Equal(t, 3, calls)
}

func TestShutdownWaitsForTheRunningJob(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	e.clock.Set(cronAt("2026-04-20", 0, 5))
	s := e.scheduler(nil, "a", nil)
	f := newFakeJobs()
	f.install(s)
	started, release := make(chan struct{}), make(chan struct{})
	var jobCtxErr error
	s.Handle(CronOverdue, func(ctx context.Context, _ *store.Village, _ *store.Season, _ time.Time) error {
		close(started)
		<-release
		jobCtxErr = ctx.Err()
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while its job was running")
	default:
	}
	close(release)
	require.NoError(t, <-done)
	assert.NoError(t, jobCtxErr, "the job's context is not cancelled by shutdown")
	runs := e.runs(t)
	require.Len(t, runs, 1)
	assert.Equal(t, store.RunSucceeded, runs[0].State, "the job finished and was recorded")
	lease, err := e.st.LeaseHolder(e.ctx)
	require.NoError(t, err)
	assert.Nil(t, lease, "the lease is released on the way out")
}

func TestSeasonCloseSettlesOnTheEndDate(t *testing.T) {
	closeAt := cronAt("2026-05-10", 22, 0).UTC()
	t.Run("back within the window", func(t *testing.T) {
		e := newCronEnv(t, "2026-05-08", "2026-05-10", nil)
		require.NoError(t, e.st.SetSettlePolicy(e.ctx, e.v.ID, store.SettleZero))
		s := e.scheduler(nil, "a", nil)
		e.tick(t, s, cronAt("2026-05-08", 9, 0))
		e.tick(t, s, cronAt("2026-05-11", 12, 0))
		se, err := e.st.GetSeason(e.ctx, e.v.ID, e.season.ID)
		require.NoError(t, err)
		assert.Equal(t, store.SeasonClosed, se.State)
		notices, err := e.st.ListNotices(e.ctx, e.v.ID, e.season.ID)
		require.NoError(t, err)
		require.Len(t, notices, 1)
		assert.Equal(t, store.NoticeSettlement, notices[0].Kind)
		assert.Equal(t, store.SettleZero, notices[0].Body.Policy)

		// The end date's slots ran in order up to the close; the sweep
		// due after it is recorded, not run: the season is closed.
		runs := e.runs(t)
		var closeRun, lastSweep *store.Run
		for _, r := range runs {
			switch {
			case r.Job == CronClose:
				closeRun = r
			case r.Job == CronOverdue && r.ScheduledAt.Equal(closeAt.Add(time.Hour)):
				lastSweep = r
			case r.Job == CronPlan && r.ScheduledAt.Equal(cronAt("2026-05-10", 20, 0).UTC()):
				assert.Equal(t, store.RunSucceeded, r.State, "the end date's plan ran before the close")
			}
		}
		require.NotNil(t, closeRun)
		assert.Equal(t, store.RunSucceeded, closeRun.State)
		assert.Equal(t, closeAt, closeRun.ScheduledAt)
		require.NotNil(t, lastSweep)
		assert.Equal(t, store.RunMissed, lastSweep.State)
		assert.Contains(t, lastSweep.Error, "no longer open")

		// A closed season runs nothing more.
		before := e.counts(t)
		e.tick(t, s, cronAt("2026-05-13", 9, 0))
		assert.Equal(t, before, e.counts(t))
	})
	t.Run("back after the window: the close is late, not lost", func(t *testing.T) {
		e := newCronEnv(t, "2026-05-08", "2026-05-10", nil)
		s := e.scheduler(nil, "a", nil)
		e.tick(t, s, cronAt("2026-05-08", 9, 0))
		e.tick(t, s, cronAt("2026-05-12", 9, 0))
		c := e.counts(t)
		assert.Equal(t, map[string]int{store.RunSucceeded: 1}, c[CronClose])
		assert.Equal(t, map[string]int{store.RunMissed: 1}, c[CronPlan], "the other jobs of those days are missed, in one row")
		se, err := e.st.GetSeason(e.ctx, e.v.ID, e.season.ID)
		require.NoError(t, err)
		assert.Equal(t, store.SeasonClosed, se.State)
	})
}

func TestTheJobsDoTheirWork(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	ctx := e.ctx
	hh := func(name string, mod func(*store.Household)) *store.Household {
		h := &store.Household{VillageID: e.v.ID, HeadName: name, Group: 1, Laborers: 2, Members: 3}
		if mod != nil {
			mod(h)
		}
		require.NoError(t, e.st.CreateHousehold(ctx, h))
		return h
	}
	helped := hh("章仁标", func(h *store.Household) { h.Laborers, h.Elderly = 1, true })
	worker := hh("章吉仙", nil)
	team := &store.Team{VillageID: e.v.ID, Name: "第一互助队", LeaderName: "章吉仙"}
	require.NoError(t, e.st.CreateTeam(ctx, team))
	require.NoError(t, e.st.AddTeamMember(ctx, e.v.ID, &store.TeamMember{TeamID: team.ID, HouseholdID: worker.ID, WorkersPerDay: 2}))
	field := func(name string) *store.Field {
		f := &store.Field{VillageID: e.v.ID, HouseholdID: helped.ID, Name: name, AreaCentimu: 100, Crop: store.CropEarlyRice}
		require.NoError(t, e.st.CreateField(ctx, f))
		return f
	}
	e.clock.Set(cronAt("2026-04-20", 0, 0))
	// To plan tonight for tomorrow.
	r, err := e.st.CreateRequest(ctx, e.v.ID, "household:1", store.NewRequest{HouseholdID: helped.ID, FieldID: field("门口田").ID,
		Task: store.TaskTransplant, Earliest: "2026-04-21", Latest: "2026-04-21"})
	require.NoError(t, err)
	// Already late on the 21st.
	late, err := e.st.CreateRequest(ctx, e.v.ID, "household:1", store.NewRequest{HouseholdID: helped.ID, FieldID: field("后山田").ID,
		Task: store.TaskPrepare, Earliest: "2026-04-20", Latest: "2026-04-20", HalfDays: 40})
	require.NoError(t, err)

	s := e.scheduler(nil, "a", nil)
	for now := cronAt("2026-04-20", 0, 0); !now.After(cronAt("2026-04-21", 12, 0)); now = now.Add(30 * time.Minute) {
		e.tick(t, s, now)
	}
	for job, states := range e.counts(t) {
		assert.Equal(t, []string{store.RunSucceeded}, keys(states), job)
	}

	// The nightly plan scheduled the request for the 21st.
	r, err = e.st.GetRequest(ctx, e.v.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RequestScheduled, r.State)
	jobs, _, err := e.st.ListJobs(ctx, e.v.ID, store.JobFilter{RequestID: r.ID}, store.Page{})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, "2026-04-21", jobs[0].Date)

	events, err := e.st.Outbox(ctx, e.v.ID, store.OutboxFilter{})
	require.NoError(t, err)
	byEvent := map[string][]*store.OutboxEvent{}
	for _, ev := range events {
		byEvent[ev.Event] = append(byEvent[ev.Event], ev)
	}
	// The morning of the 21st, the team's leader heard of the day's job;
	// the morning of the 20th there was none.
	require.Len(t, byEvent[store.EventJobsToday], 1)
	assert.Equal(t, team.ID, byEvent[store.EventJobsToday][0].AudienceID)
	assert.Contains(t, byEvent[store.EventJobsToday][0].Message, "今日派工 2026-04-21")
	// The overdue request was flagged once on the 21st, though swept hourly.
	require.Len(t, byEvent[store.EventRequestOverdue], 1)
	assert.Equal(t, late.ID, byEvent[store.EventRequestOverdue][0].SubjectID)
	// Monday's notice.
	require.Len(t, byEvent[store.EventNotice], 1)
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestASeasonOpenedLaterIsSeenWithinRescan(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	s := e.scheduler(nil, "a", nil)
	e.tick(t, s, cronAt("2026-04-20", 10, 0))
	other := &store.Season{VillageID: e.v.ID, Kind: store.SeasonSummer, StartDate: "2026-04-20", EndDate: "2026-04-30",
		Tasks: []string{store.TaskHarvest}, Crons: map[string]string{CronOverdue: "*/20 * * * *"}}
	require.NoError(t, e.st.CreateSeason(e.ctx, other))
	_, err := e.st.UpdateSeason(e.ctx, e.v.ID, other.ID, 0, func(se *store.Season) error { se.State = store.SeasonOpen; return nil })
	require.NoError(t, err)
	count := func() int {
		runs, _, err := e.st.ListRuns(e.ctx, e.v.ID, store.RunFilter{SeasonID: other.ID}, store.Page{Limit: store.MaxPageLimit})
		require.NoError(t, err)
		return len(runs)
	}
	e.tick(t, s, cronAt("2026-04-20", 10, 1))
	assert.Zero(t, count(), "between scans nothing is read")
	e.tick(t, s, cronAt("2026-04-20", 10, 5))
	assert.Equal(t, 3*10+1+3, count(), "the new season's day so far: its own 20-minute sweep and the default daily jobs")
}

func TestARunLeftRunningIsFailedByTheNextHolder(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-05-10", nil)
	crash := cronAt("2026-04-20", 20, 0)
	e.clock.Set(crash)
	ok, err := e.st.AcquireLease(e.ctx, "dead", crash, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	left, ok, err := e.st.ClaimRun(e.ctx, e.v.ID, e.season.ID, CronPlan, crash)
	require.NoError(t, err)
	require.True(t, ok)
	// The instance died in the middle of the plan; another takes over once
	// its lease has run out.
	s := e.scheduler(nil, "a", nil)
	e.tick(t, s, crash.Add(30*time.Second))
	runs, _, err := e.st.ListRuns(e.ctx, e.v.ID, store.RunFilter{Job: CronPlan}, store.Page{})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, store.RunRunning, runs[0].State, "the lease had not run out")
	e.tick(t, s, crash.Add(2*time.Minute))
	runs, _, err = e.st.ListRuns(e.ctx, e.v.ID, store.RunFilter{Job: CronPlan}, store.Page{})
	require.NoError(t, err)
	require.Len(t, runs, 1, "the slot is not run again")
	assert.Equal(t, left.ID, runs[0].ID)
	assert.Equal(t, store.RunFailed, runs[0].State)
	assert.Contains(t, runs[0].Error, "interrupted")
}

func TestAnAncientOpenSeasonRecordsOneMissedRowPerJob(t *testing.T) {
	e := newCronEnv(t, "2026-04-20", "2026-07-31", nil)
	// A season typed before the bounds existed: open since 2020.
	_, err := e.st.DB().ExecContext(e.ctx, "UPDATE seasons SET start_date = '2020-01-01', year = 2020 WHERE id = ?", e.season.ID)
	require.NoError(t, err)
	s := e.scheduler(nil, "a", nil)
	now := cronAt("2026-05-01", 12, 0)
	e.tick(t, s, now)
	for job, states := range e.counts(t) {
		assert.LessOrEqual(t, states[store.RunMissed], 1, "job %s: at most one missed row per catch-up", job)
	}
	assert.Equal(t, 1, e.counts(t)[CronOverdue][store.RunMissed])
	rows := len(e.runs(t))
	assert.Less(t, rows, 60, "a day of runs and a row per job, not years of slots")

	// The next ticks find nothing more to miss.
	e.tick(t, s, now.Add(time.Minute))
	e.tick(t, s, now.Add(10*time.Minute))
	assert.Equal(t, rows, len(e.runs(t)))
}
