package scheduler

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"huangong/scheduler/planner"
	"huangong/store"
)

// seasonSpecs returns the spec of every job of the season (the keys of
// CronJobs): its own where it sets one, DefaultCrons otherwise.
func seasonSpecs(se *store.Season) map[string]string {
	defaults, _ := DefaultCrons(se.EndDate) // a stored season's end date is a date
	out := make(map[string]string, len(CronJobs))
	for _, job := range CronJobs {
		out[job] = cmp.Or(se.Crons[job], defaults[job])
	}
	return out
}

// parseSpec reads a standard cron spec. Only robfig/cron's parser and
// schedules are used, not its runner: the runner keeps its schedule in
// memory, runs nothing it missed and knows no other instance, so the
// slots are kept in the database instead (schedule_runs) and Tick runs
// what is due from there.
func parseSpec(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// JobFunc is the body of a cron job for one slot of one season.
type JobFunc func(ctx context.Context, v *store.Village, se *store.Season, slot time.Time) error

// CronOptions tune a Scheduler; zero values take the defaults.
type CronOptions struct {
	// Holder names this instance in the lease row; default host:pid:random.
	Holder string
	// Interval is how often Run ticks (default 30 s).
	Interval time.Duration
	// LeaseTTL is how long the lease lasts unless renewed (default 2 min);
	// it is renewed when half of it is left.
	LeaseTTL time.Duration
	// CatchUp is how far back a slot missed while the service was down is
	// still run (default 24 h); older ones are recorded as missed.
	CatchUp time.Duration
	// Now is the clock (default time.Now); tests inject a stopped one.
	Now func() time.Time
	// Rescan bounds how long a tick trusts the last reading of the
	// seasons and their specs (default 5 min): a season opened or a spec
	// changed since is seen at the latest then, its due slots run late
	// rather than never.
	Rescan time.Duration
	// Log receives failures and panics (default: discarded).
	Log *slog.Logger
}

// Defaults of CronOptions.
const (
	DefaultInterval = 30 * time.Second
	DefaultLeaseTTL = 2 * time.Minute
	DefaultCatchUp  = 24 * time.Hour
	DefaultRescan   = 5 * time.Minute
)

// maxSlotsPerJob bounds the slots one tick enumerates for one job of one
// season (an every-minute spec after a long outage); the rest are taken up
// by the next tick, from the last slot recorded.
const maxSlotsPerJob = 5000

// Scheduler runs the cron jobs of every village's open seasons. The
// schedule's state is only in the database: each slot is recorded once in
// schedule_runs (UNIQUE per village, season, job and instant), so a
// restart loses nothing and two instances never run a slot twice; a lease
// row lets only one of several instances run jobs at all.
type Scheduler struct {
	store *store.Store
	opts  CronOptions
	log   *slog.Logger
	jobs  map[string]JobFunc

	// tick is held while a tick runs; a tick that finds it held is skipped
	// (robfig/cron's SkipIfStillRunning), so jobs never overlap.
	tick sync.Mutex
	// leaseUntil is when the lease this instance holds runs out (zero:
	// not held). Only the goroutine holding tick touches it.
	leaseUntil time.Time
	// nextScan is when the records must be read again: the earliest slot
	// the last scan saw coming, or Rescan after it, whichever is first.
	// Ticks before it have nothing due and touch no table. Zero: at once.
	nextScan time.Time
	// warned remembers the bad specs already logged, so a broken season
	// does not fill the log every tick.
	warned map[string]bool
}

// NewScheduler returns a scheduler over st with the default job bodies.
func NewScheduler(st *store.Store, opts CronOptions) *Scheduler {
	if opts.Holder == "" {
		opts.Holder = defaultHolder()
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.CatchUp <= 0 {
		opts.CatchUp = DefaultCatchUp
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Scheduler{store: st, opts: opts, log: log, warned: map[string]bool{}}
	s.jobs = map[string]JobFunc{
		CronPlan:     s.nightlyPlan,
		CronMorning:  s.morningJobs,
		CronOverdue:  s.overdueSweep,
		CronFeedback: s.feedbackClose,
		CronNotice:   s.weeklyNotice,
		CronClose:    s.seasonClose,
	}
	return s
}

func defaultHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Holder is the name this instance holds the lease under.
func (s *Scheduler) Holder() string { return s.opts.Holder }

// Handle replaces the body of a job; call it before the first tick.
func (s *Scheduler) Handle(job string, fn JobFunc) { s.jobs[job] = fn }

// Run ticks now and then every Interval until ctx is done. A job running
// when ctx ends is let finish (jobs run on a context that shutdown does
// not cancel) and no slot is started after; then the lease is released so
// another instance can take over at once.
func (s *Scheduler) Run(ctx context.Context) error {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseLease(rctx, s.opts.Holder); err != nil {
			s.log.Warn("释放租约失败 releasing the scheduler lease", "err", err)
		}
	}()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx, s.opts.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("定时任务出错 scheduler tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// dueSlot is one slot to run.
type dueSlot struct {
	season *store.Season
	job    string
	slot   time.Time
}

// Tick runs what is due at now, if this instance holds the lease: for
// each job of each open season, the slots after the last one recorded up
// to now. Slots older than the catch-up window are recorded as missed,
// one row per job and catch-up standing for them all (except
// season-close, which a season needs however late); the others
// are claimed one by one, oldest first, and run, each recorded as
// succeeded or failed — a panic is a failure, and the next slot still
// runs. A tick while another is running is skipped. Until the next slot
// the last scan saw coming (or Rescan, if sooner) a tick reads nothing.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	if !s.tick.TryLock() {
		return nil
	}
	defer s.tick.Unlock()
	now = now.UTC()
	if held, err := s.holdLease(ctx, now); err != nil || !held {
		return err
	}
	if now.Before(s.nextScan) {
		return nil
	}
	s.nextScan = time.Time{} // until this scan has run what it found
	nextScan := now.Add(s.opts.Rescan)
	seasons, err := s.store.OpenSeasons(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, len(seasons))
	for i, se := range seasons {
		ids[i] = se.ID
	}
	last, err := s.store.LastSlots(ctx, ids)
	if err != nil {
		return err
	}
	villages := map[int64]*store.Village{}
	var runs []dueSlot
	missed := map[store.RunKey]*pendingMissed{} // recorded after the runs, one row a job
	var order []store.RunKey
	for _, se := range seasons {
		v := villages[se.VillageID]
		if v == nil {
			if v, err = s.store.GetVillage(ctx, se.VillageID); err != nil {
				return err
			}
			villages[v.ID] = v
		}
		specs := seasonSpecs(se)
		for _, job := range CronJobs {
			spec := specs[job]
			if s.jobs[job] == nil || (se.State != store.SeasonOpen && job != CronPlan) {
				continue // a planned season takes requests: only its plan runs
			}
			m, slots, next, err := s.slots(v, se, job, spec, last[store.RunKey{SeasonID: se.ID, Job: job}], now)
			if err != nil {
				continue // logged once in slots
			}
			if !next.IsZero() && next.Before(nextScan) {
				nextScan = next
			}
			for _, t := range slots {
				runs = append(runs, dueSlot{se, job, t})
			}
			if m.count > 0 {
				k := store.RunKey{SeasonID: se.ID, Job: job}
				missed[k] = &pendingMissed{villageID: v.ID, slot: m.last, catchUp: m}
				order = append(order, k)
			}
		}
	}
	slices.SortFunc(runs, func(a, b dueSlot) int {
		return cmp.Or(a.slot.Compare(b.slot), cmp.Compare(slices.Index(CronJobs, a.job), slices.Index(CronJobs, b.job)),
			cmp.Compare(a.season.ID, b.season.ID))
	})
	// Slots of a season closed during this tick (its close ran) are not
	// run: a closed season is never due again.
	closed := map[int64]bool{}
	for _, d := range runs {
		if ctx.Err() != nil {
			break // shutting down: what is left is due again on the next start
		}
		if !closed[d.season.ID] {
			if held, err := s.holdLease(ctx, s.opts.Now().UTC()); err != nil || !held {
				return err
			}
			open, err := s.runSlot(ctx, villages[d.season.VillageID], d)
			if err != nil {
				return err
			}
			if open {
				continue
			}
			closed[d.season.ID] = true
		}
		k := store.RunKey{SeasonID: d.season.ID, Job: d.job}
		if missed[k] == nil {
			missed[k] = &pendingMissed{villageID: d.season.VillageID}
			order = append(order, k)
		}
		missed[k].slot, missed[k].late = d.slot, missed[k].late+1
	}
	// One row per job and tick stands for every slot it missed, at the
	// latest of them: an ancient open season must not write a row per
	// slot. (Written after the runs, which are newer, so what is due next
	// is the same either way.)
	window := strings.TrimSuffix(strings.TrimSuffix(s.opts.CatchUp.String(), "0s"), "0m") // 24h, 1h30m
	for _, k := range order {
		m := missed[k]
		var why []string
		if c := m.catchUp; c.count > 0 {
			more := ""
			if c.earlier {
				more = " and more before"
			}
			why = append(why, fmt.Sprintf("停机超过%[1]s，%[2]d次未补跑 missed: the service was down past the %[1]s catch-up window; %[2]d slot(s)%[3]s",
				window, c.count, more))
		}
		if m.late > 0 {
			why = append(why, fmt.Sprintf("农时已不在进行中，%[1]d次未运行 missed: the season is no longer open; %[1]d slot(s)", m.late))
		}
		if _, err := s.store.RecordMissed(context.WithoutCancel(ctx), m.villageID, k.SeasonID, k.Job, []time.Time{m.slot}, strings.Join(why, "; ")); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	s.nextScan = nextScan
	return nil
}

// pendingMissed is the one missed row a tick writes for a job of a
// season: its latest slot, and what the catch-up and a season closed
// during the tick left unrun.
type pendingMissed struct {
	villageID int64
	slot      time.Time
	catchUp   missedSlots
	late      int
}

// missedSlots is what one catch-up found too old to run: the latest slot,
// how many there were, and whether older ones were not even counted.
type missedSlots struct {
	last    time.Time
	count   int
	earlier bool
}

// missedHorizon is how far back before the catch-up window missed slots
// are counted; older ones are folded into the one missed row unseen, so
// an open season typed centuries ago costs a year of slots, not ages.
const missedHorizon = 400 * 24 * time.Hour

// slots are the job's slots after last (or from the season's first day)
// up to now, inside the season's days in the village's timezone: those
// older than the catch-up window (except season-close's) as missed, the
// rest as due, and the slot after them (zero when the season has none
// left). The nightly plan's days start earlier: from when the season was
// recorded.
func (s *Scheduler) slots(v *store.Village, se *store.Season, job, spec string, last, now time.Time) (missed missedSlots, due []time.Time, next time.Time, err error) {
	sched, err := parseSpec(spec)
	if err != nil {
		key := fmt.Sprintf("%d/%s/%s", se.ID, job, spec)
		if !s.warned[key] {
			s.warned[key] = true
			s.log.Error("定时规则无效 bad cron spec; the job does not run", "season", se.ID, "job", job, "spec", spec, "err", err)
		}
		return missed, nil, time.Time{}, err
	}
	loc := v.Location()
	first, err := time.ParseInLocation(time.DateOnly, se.StartDate, loc)
	if err != nil {
		return missed, nil, time.Time{}, err
	}
	end, err := time.ParseInLocation(time.DateOnly, se.EndDate, loc)
	if err != nil {
		return missed, nil, time.Time{}, err
	}
	end = end.AddDate(0, 0, 1) // the season's days end at midnight after its last
	if job == CronPlan {
		// Requests for a season arrive from when it is recorded, so its
		// nightly plan runs from then, not only on the season's days; of
		// the nights before its first day only the catch-up window's are
		// taken up, since a later plan covers whatever an earlier missed.
		early := se.CreatedAt
		if c := now.Add(-s.opts.CatchUp); c.After(early) {
			early = c
		}
		if early.Before(first) {
			first = early.In(loc)
		}
	}
	from := first.Add(-time.Second)
	if !last.IsZero() && last.After(from) {
		from = last
	}
	t := sched.Next(from.In(loc))
	if job != CronClose {
		if floor := now.Add(-s.opts.CatchUp - missedHorizon); !t.IsZero() && t.Before(floor) {
			missed.earlier = true
			t = sched.Next(floor.In(loc))
		}
		for ; !t.IsZero() && t.Before(end) && now.Sub(t) > s.opts.CatchUp; t = sched.Next(t) {
			missed.last = t.UTC()
			missed.count++
		}
		if missed.count == 0 {
			missed.earlier = false // nothing to fold them into; they lie outside the season
		}
	}
	for ; !t.IsZero() && !t.After(now) && t.Before(end) && len(due) < maxSlotsPerJob; t = sched.Next(t) {
		due = append(due, t.UTC())
	}
	if !t.IsZero() && t.Before(end) {
		next = t.UTC() // at or before now when the cap stopped the loop: scan again at once
	}
	return missed, due, next, nil
}

// holdLease takes or renews the lease when less than half of it is left,
// and reports whether this instance holds it. Taking it over from another
// instance also fails that instance's runs left running.
func (s *Scheduler) holdLease(ctx context.Context, now time.Time) (bool, error) {
	if now.Add(s.opts.LeaseTTL / 2).Before(s.leaseUntil) {
		return true, nil
	}
	ok, err := s.store.AcquireLease(ctx, s.opts.Holder, now, s.opts.LeaseTTL)
	if err != nil || !ok {
		s.leaseUntil = time.Time{}
		return false, err
	}
	if s.leaseUntil.IsZero() {
		// Newly held: only a lease holder runs jobs, and this one runs
		// none yet, so a run still "running" was left by an instance that
		// stopped. (Should that instance still finish it, its FinishRun
		// records the real outcome over this one.)
		s.nextScan = time.Time{} // what another holder ran is unknown here: read it
		if n, err := s.store.FailInterrupted(ctx, now); err != nil {
			return false, err
		} else if n > 0 {
			s.log.Warn("中断的运行已记为失败 interrupted runs recorded as failed", "runs", n)
		}
	}
	s.leaseUntil = now.Add(s.opts.LeaseTTL)
	return true, nil
}

// runSlot claims a slot and runs it, and reports false without running
// it when the season is no longer open by now (Tick records those slots);
// a slot already claimed is skipped.
func (s *Scheduler) runSlot(ctx context.Context, v *store.Village, d dueSlot) (bool, error) {
	se, err := s.store.GetSeason(ctx, v.ID, d.season.ID)
	if err != nil {
		return true, err
	}
	if se.State != store.SeasonOpen && (se.State != store.SeasonPlanned || d.job != CronPlan) {
		return false, nil
	}
	run, ok, err := s.store.ClaimRun(ctx, v.ID, se.ID, d.job, d.slot)
	if err != nil || !ok {
		return true, err
	}
	// The job and its record run to the end even when shutdown starts.
	jctx := context.WithoutCancel(ctx)
	state, runErr := store.RunSucceeded, s.call(jctx, s.jobs[d.job], v, se, d)
	if runErr != nil {
		state = store.RunFailed
		s.log.Error("定时任务失败 cron job failed", "village", v.ID, "season", se.ID, "job", d.job,
			"slot", d.slot.Format(time.RFC3339), "err", runErr)
	}
	return true, s.store.FinishRun(jctx, run.ID, state, runErr)
}

// call runs a job body, turning a panic into its error.
func (s *Scheduler) call(ctx context.Context, fn JobFunc, v *store.Village, se *store.Season, d dueSlot) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("定时任务崩溃 cron job panicked", "job", d.job, "season", se.ID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, v, se, d.slot)
}

func cronActor(job string) string { return "scheduler:" + job }

// nightlyPlan plans the season's open requests and saves the plan, as
// run-plan does for a cadre.
func (s *Scheduler) nightlyPlan(ctx context.Context, v *store.Village, se *store.Season, _ time.Time) error {
	if s.opts.Now().In(v.Location()).Format(time.DateOnly) > se.EndDate {
		return nil // a slot caught up after the season's days: nothing is left to plan
	}
	scope := store.PlanScope{SeasonID: se.ID}
	in, err := PlanInstance(ctx, s.store, v.ID, scope)
	if err != nil {
		return err
	}
	if len(in.Requests) == 0 {
		return nil
	}
	plan, err := SolveVillage(ctx, in, planner.Options{})
	if err != nil {
		return err
	}
	_, err = ApplyPlan(ctx, s.store, v.ID, cronActor(CronPlan), scope, plan)
	return err
}

// morningJobs tells each team leader the jobs of the slot's day.
func (s *Scheduler) morningJobs(ctx context.Context, v *store.Village, _ *store.Season, slot time.Time) error {
	_, err := s.store.NotifyDayJobs(ctx, v.ID, slot.In(v.Location()).Format(time.DateOnly), cronActor(CronMorning))
	return err
}

func (s *Scheduler) overdueSweep(ctx context.Context, v *store.Village, se *store.Season, _ time.Time) error {
	_, err := s.store.NotifyOverdue(ctx, v.ID, se.ID, cronActor(CronOverdue))
	return err
}

func (s *Scheduler) feedbackClose(ctx context.Context, v *store.Village, _ *store.Season, _ time.Time) error {
	_, err := s.store.CloseUnrated(ctx, v.ID, cronActor(CronFeedback))
	return err
}

func (s *Scheduler) weeklyNotice(ctx context.Context, v *store.Village, se *store.Season, _ time.Time) error {
	_, err := s.store.PublishNotice(ctx, v.ID, se.ID, cronActor(CronNotice))
	return err
}

// seasonClose settles the season by the village's policy.
func (s *Scheduler) seasonClose(ctx context.Context, v *store.Village, se *store.Season, _ time.Time) error {
	_, err := s.store.SettleSeason(ctx, v.ID, se.ID, cronActor(CronClose), "")
	return err
}
