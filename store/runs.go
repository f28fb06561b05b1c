package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Run states. A slot is claimed as running and finishes succeeded or
// failed; a slot that fell outside the catch-up window while the service
// was down is recorded as missed, never silently dropped.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunMissed    = "missed"
)

// RunStates lists the run states in the order the API documents them.
var RunStates = []string{RunRunning, RunSucceeded, RunFailed, RunMissed}

// Run is one slot of a season's cron job: the job at one scheduled
// instant. UNIQUE(village, season, job, scheduled_at) in the database is
// what makes a slot run at most once, whatever instance claims it.
type Run struct {
	bun.BaseModel `bun:"table:schedule_runs"`

	ID          int64      `bun:",pk,autoincrement"`
	VillageID   int64      `bun:",notnull"`
	SeasonID    int64      `bun:",notnull"`
	Job         string     `bun:",notnull"`
	ScheduledAt time.Time  `bun:",notnull"` // the slot, a UTC instant
	State       string     `bun:",notnull"`
	StartedAt   *time.Time `` // nil for a missed slot
	FinishedAt  *time.Time ``
	Error       string     `bun:",notnull"` // why it failed or was missed
}

var _ bun.AfterScanRowHook = (*Run)(nil)

// AfterScanRow shows a run's instants in UTC, however the driver read them.
func (r *Run) AfterScanRow(context.Context) error {
	r.ScheduledAt = r.ScheduledAt.UTC()
	for _, t := range []**time.Time{&r.StartedAt, &r.FinishedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return nil
}

// slotTime is how a slot is stored: UTC, whole seconds, so the same slot
// computed twice is the same key.
func slotTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// ClaimRun records the slot as running and returns it; ok is false, with
// no error, when the slot was already claimed or recorded (by this or
// another instance): the UNIQUE constraint decides, so a slot runs at most
// once.
func (s *Store) ClaimRun(ctx context.Context, villageID, seasonID int64, job string, slot time.Time) (run *Run, ok bool, err error) {
	now := s.Now().UTC()
	run = &Run{VillageID: villageID, SeasonID: seasonID, Job: job, ScheduledAt: slotTime(slot), State: RunRunning, StartedAt: &now}
	res, err := s.db.NewInsert().Model(run).
		On("CONFLICT (village_id, season_id, job, scheduled_at) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, false, translate(err, "schedule run")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, false, nil
	}
	return run, true, nil
}

// FinishRun records how a claimed run ended: succeeded, or failed with
// runErr's text.
func (s *Store) FinishRun(ctx context.Context, id int64, state string, runErr error) error {
	if state != RunSucceeded && state != RunFailed {
		return Invalid("state", "运行结果只能是成功或失败 a run finishes succeeded or failed, not %q", state)
	}
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	res, err := s.db.NewUpdate().Model((*Run)(nil)).
		Set("state = ?", state).Set("finished_at = ?", s.Now().UTC()).Set("error = ?", msg).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return translate(err, "schedule run")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Errorf(ENOTFOUND, "未找到 schedule run %d not found", id)
	}
	return nil
}

// RecordMissed records slots that will not run, with why, in one
// transaction; a slot already recorded keeps its record. It returns how
// many were recorded now.
func (s *Store) RecordMissed(ctx context.Context, villageID, seasonID int64, job string, slots []time.Time, why string) (int, error) {
	if len(slots) == 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n = 0
		// A few hundred rows a statement: SQLite binds at most 32766 values.
		for chunk := range slices.Chunk(slots, 500) {
			runs := make([]*Run, len(chunk))
			for i, t := range chunk {
				runs[i] = &Run{VillageID: villageID, SeasonID: seasonID, Job: job, ScheduledAt: slotTime(t), State: RunMissed, Error: why}
			}
			res, err := tx.NewInsert().Model(&runs).
				On("CONFLICT (village_id, season_id, job, scheduled_at) DO NOTHING").Exec(ctx)
			if err != nil {
				return translate(err, "schedule runs")
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// OpenSeasons returns every village's seasons open for requests (planned
// or open), by village and start date: the seasons whose cron jobs run.
// A planned season runs only its nightly plan (see scheduler.Tick).
func (s *Store) OpenSeasons(ctx context.Context) ([]*Season, error) {
	var out []*Season
	err := s.db.NewSelect().Model(&out).Where("state IN (?)", bun.In([]string{SeasonPlanned, SeasonOpen})).OrderExpr("village_id, start_date, id").Scan(ctx)
	return out, translate(err, "seasons")
}

// RunKey names one cron job of one season.
type RunKey struct {
	SeasonID int64
	Job      string
}

// LastSlots returns, for each job of the seasons that has any record, the
// latest slot recorded in whatever state: the scheduler computes what is
// due from there, so what ran, failed or was missed is never due again.
func (s *Store) LastSlots(ctx context.Context, seasonIDs []int64) (map[RunKey]time.Time, error) {
	out := map[RunKey]time.Time{}
	if len(seasonIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		SeasonID int64
		Job      string
		Last     time.Time
	}
	err := s.db.NewSelect().Model((*Run)(nil)).
		Column("season_id", "job").ColumnExpr("MAX(scheduled_at) AS last").
		Where("season_id IN (?)", bun.In(seasonIDs)).GroupExpr("season_id, job").Scan(ctx, &rows)
	if err != nil {
		return nil, translate(err, "schedule runs")
	}
	for _, r := range rows {
		out[RunKey{r.SeasonID, r.Job}] = r.Last.UTC()
	}
	return out, nil
}

// FailInterrupted marks as failed the runs still recorded as running that
// started before cutoff: the instance running them stopped before they
// finished. The scheduler calls it when it takes the lease over.
func (s *Store) FailInterrupted(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.NewUpdate().Model((*Run)(nil)).
		Set("state = ?", RunFailed).Set("finished_at = ?", s.Now().UTC()).
		Set("error = ?", "运行中断 interrupted: the instance running it stopped before it finished").
		Where("state = ?", RunRunning).Where("started_at < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, translate(err, "schedule runs")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RunFilter narrows list-schedule-runs.
type RunFilter struct {
	Job      string
	State    string
	SeasonID int64
}

// ListRuns returns a page of the village's schedule runs in the order
// they were recorded.
func (s *Store) ListRuns(ctx context.Context, villageID int64, f RunFilter, p Page) ([]*Run, int64, error) {
	if f.State != "" && !slices.Contains(RunStates, f.State) {
		return nil, 0, Invalid("query.state", "运行状态无效 state must be one of %v", RunStates)
	}
	return paginate(ctx, s.db, villageID, p, func(r *Run) int64 { return r.ID }, "schedule runs",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if f.Job != "" {
				q = q.Where("job = ?", f.Job)
			}
			if f.State != "" {
				q = q.Where("state = ?", f.State)
			}
			if f.SeasonID != 0 {
				q = q.Where("season_id = ?", f.SeasonID)
			}
			return q
		})
}

// Lease is the one row that says which instance runs the cron jobs, until
// when. An instance that does not hold it runs nothing.
type Lease struct {
	bun.BaseModel `bun:"table:scheduler_lease"`

	ID        int64     `bun:",pk"` // always 1
	Holder    string    `bun:",notnull"`
	ExpiresAt time.Time `bun:",notnull"`
}

// AcquireLease takes the lease for holder until now+ttl, or extends it
// when holder has it already. It reports false when another holder's lease
// has not expired at now. One statement decides, so two instances asking
// at once cannot both win.
func (s *Store) AcquireLease(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if strings.TrimSpace(holder) == "" || ttl <= 0 {
		return false, Errorf(EINVALID, "租约需要持有者和时长 a lease needs a holder and a positive ttl")
	}
	l := &Lease{ID: 1, Holder: holder, ExpiresAt: now.UTC().Add(ttl)}
	res, err := s.db.NewInsert().Model(l).
		On("CONFLICT (id) DO UPDATE").
		Set("holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at").
		Where("?TableAlias.holder = EXCLUDED.holder OR ?TableAlias.expires_at <= ?", now.UTC()).
		Exec(ctx)
	if err != nil {
		return false, translate(err, "scheduler lease")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseLease gives the lease up if holder has it, so another instance
// need not wait for it to expire.
func (s *Store) ReleaseLease(ctx context.Context, holder string) error {
	_, err := s.db.NewDelete().Model((*Lease)(nil)).Where("id = 1").Where("holder = ?", holder).Exec(ctx)
	return translate(err, "scheduler lease")
}

// LeaseHolder returns the current lease row, or nil when nobody ever
// held it or it was released.
func (s *Store) LeaseHolder(ctx context.Context) (*Lease, error) {
	var ls []*Lease
	if err := s.db.NewSelect().Model(&ls).Where("id = 1").Scan(ctx); err != nil {
		return nil, translate(err, "scheduler lease")
	}
	if len(ls) == 0 {
		return nil, nil
	}
	return ls[0], nil
}

// dayBounds is the UTC instants of the village's calendar day that holds t.
func dayBounds(t time.Time, loc *time.Location) (string, time.Time, time.Time) {
	local := t.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	return start.Format(time.DateOnly), start.UTC(), start.AddDate(0, 0, 1).UTC()
}

// Events the calendar's runs write to the outbox.
const (
	EventJobsToday      = "jobs.today"      // a team's jobs of the day, every morning
	EventRequestOverdue = "request.overdue" // an open request past its window, to the cadre
	EventNotice         = "notice.published"
)

// NotifyDayJobs writes one outbox event per team with jobs on date (in
// the village), listing them for the leader: "今日派工 …". A team told
// about that date already is not told again, so a retry is safe. It
// returns how many teams were told.
func (s *Store) NotifyDayJobs(ctx context.Context, villageID int64, date, actor string) (int, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return 0, Invalid("date", "日期格式应为2026-04-20 %q is not a date like 2026-04-20", date)
	}
	n := 0
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		n = 0
		var jobs []*Job
		err := l.db.NewSelect().Model(&jobs).Where("village_id = ?", villageID).Where("date = ?", date).
			Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed})).OrderExpr("team_id, id").Scan(ctx)
		if err != nil {
			return translate(err, "jobs")
		}
		byTeam := map[int64][]string{}
		var teams []int64
		for _, j := range jobs {
			c, err := loadJob(ctx, l.db, villageID, j.ID)
			if err != nil {
				return err
			}
			if _, ok := byTeam[j.TeamID]; !ok {
				teams = append(teams, j.TeamID)
			}
			state := "待确认"
			if j.State == JobConfirmed {
				state = "已确认"
			}
			byTeam[j.TeamID] = append(byTeam[j.TeamID], fmt.Sprintf("%s（%d人，%s）", c.what(), plannedWorkers(j.Workers), state))
		}
		prefix := "今日派工 " + date
		for _, team := range teams {
			told, err := l.db.NewSelect().Model((*OutboxEvent)(nil)).Where("village_id = ?", villageID).
				Where("event = ?", EventJobsToday).Where("subject = 'team'").Where("subject_id = ?", team).
				Where("substr(message, 1, ?) = ?", len([]rune(prefix)), prefix).Exists(ctx)
			if err != nil {
				return translate(err, "outbox")
			}
			if told {
				continue
			}
			if err := l.notify(ctx, AudienceTeam, team, EventJobsToday, "team", team,
				"%s：%s。", prefix, strings.Join(byTeam[team], "；")); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// NotifyOverdue tells the cadre about each open request of the season
// whose window ended before today (in the village), at most once a day a
// request: one already told about today is skipped, so the hourly sweep
// and its retries are idempotent. It returns how many were told now.
func (s *Store) NotifyOverdue(ctx context.Context, villageID, seasonID int64, actor string) (int, error) {
	n := 0
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		n = 0
		v, err := s.village(ctx, l.db, villageID)
		if err != nil {
			return err
		}
		today, from, to := dayBounds(l.now, v.Location())
		var rs []*HelpRequest
		err = l.db.NewSelect().Model(&rs).Where("village_id = ?", villageID).Where("season_id = ?", seasonID).
			Where("state IN (?)", bun.In(openStates)).Where("latest < ?", today).OrderExpr("id").Scan(ctx)
		if err != nil {
			return translate(err, "help requests")
		}
		for _, r := range rs {
			told, err := l.db.NewSelect().Model((*OutboxEvent)(nil)).Where("village_id = ?", villageID).
				Where("event = ?", EventRequestOverdue).Where("subject = 'request'").Where("subject_id = ?", r.ID).
				Where("created_at >= ?", from).Where("created_at < ?", to).Exists(ctx)
			if err != nil {
				return translate(err, "outbox")
			}
			if told {
				continue
			}
			h, err := getOne[Household](ctx, l.db, villageID, r.HouseholdID, "household")
			if err != nil {
				return err
			}
			f, err := getOne[Field](ctx, l.db, villageID, r.FieldID, "field")
			if err != nil {
				return err
			}
			if err := l.notify(ctx, AudienceCadre, villageID, EventRequestOverdue, "request", r.ID,
				"求助%d号已超期：%s户 %s %s，期限%s，当前%s。", r.ID, h.HeadName, f.Name, taskNames[r.Task], r.Latest, stateNames[r.State]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
