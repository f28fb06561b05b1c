package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// BlockedDay is a day no field can be worked — rain — in the whole village
// (Group 0) or in one village group. The planner keeps it free.
type BlockedDay struct {
	bun.BaseModel `bun:"table:blocked_days"`

	ID        int64     `bun:",pk,autoincrement"`
	VillageID int64     `bun:",notnull"`
	Date      string    `bun:",notnull"`
	Group     int       `bun:"group_no,notnull"` // 0: the whole village
	Reason    string    `bun:",notnull"`
	CreatedBy string    `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
}

// RainNote is the note on every transition a blocked day causes.
const RainNote = "雨天停工 rain"

// Notes on the transitions a saved plan writes.
const (
	planNote     = "计划派工 plan"
	replanNote   = "重新派工 re-planned"
	unplacedNote = "未能安排:  not placed"
)

// Blocking is what BlockDays did.
type Blocking struct {
	// Days are the days asked for as recorded; a day blocked before keeps
	// its first reason.
	Days []*BlockedDay
	// Cancelled are the scheduled and confirmed jobs that fell on them.
	Cancelled []*Job
	// Households are those whose requests the cancelled jobs were for.
	Households []int64
}

// errPreview rolls back a preview's transaction.
var errPreview = errors.New("preview: roll back")

// PreviewBlockDays says what BlockDays would do — the days and the jobs
// it would cancel — and writes nothing: it runs the same transaction and
// rolls it back, so the count a cadre confirms is the one that happens.
func (s *Store) PreviewBlockDays(ctx context.Context, villageID int64, actor string, dates []string, group int, reason string) (*Blocking, error) {
	return s.blockDays(ctx, villageID, actor, dates, group, reason, true)
}

// BlockDays records rained-out days for the village (group 0) or one
// village group and, in the same transaction, cancels every scheduled or
// confirmed job on them — for a group, the jobs on its fields — telling
// each team and household. A request left with no job to do goes back to
// submitted for the next plan. Blocking a day again changes nothing, so a
// retry is safe.
func (s *Store) BlockDays(ctx context.Context, villageID int64, actor string, dates []string, group int, reason string) (*Blocking, error) {
	return s.blockDays(ctx, villageID, actor, dates, group, reason, false)
}

func (s *Store) blockDays(ctx context.Context, villageID int64, actor string, dates []string, group int, reason string, preview bool) (*Blocking, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case len(dates) == 0:
		return nil, Invalid("body.dates", "至少指定一天 name at least one day")
	case group < 0:
		return nil, Invalid("body.group", "村民小组编号无效 group %d: 0 for the whole village, or a village group's number", group)
	case reason == "":
		return nil, Invalid("body.reason", "请填写停工原因 say why the days are blocked")
	}
	for i, d := range dates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, Invalid(fmt.Sprintf("body.dates[%d]", i), "日期格式应为2026-04-20 %q is not a date like 2026-04-20", d)
		}
	}
	dates = slices.Sorted(slices.Values(dates))
	dates = slices.Compact(dates)
	out := &Blocking{}
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		for _, d := range dates {
			b := &BlockedDay{VillageID: villageID, Date: d, Group: group, Reason: reason, CreatedBy: actor, CreatedAt: l.now}
			if _, err := l.db.NewInsert().Model(b).On("CONFLICT (village_id, date, group_no) DO NOTHING").Exec(ctx); err != nil {
				return translate(err, "blocked day")
			}
		}
		err := l.db.NewSelect().Model(&out.Days).Where("village_id = ?", villageID).Where("group_no = ?", group).
			Where("date IN (?)", bun.In(dates)).OrderExpr("date").Scan(ctx)
		if err != nil {
			return translate(err, "blocked days")
		}
		q := l.db.NewSelect().Model(&out.Cancelled).Where("village_id = ?", villageID).Where("date IN (?)", bun.In(dates)).
			Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed}))
		if group != 0 {
			q = q.Where("request_id IN (?)", l.db.NewSelect().TableExpr("help_requests AS r").
				Join("JOIN fields AS f ON f.id = r.field_id").Column("r.id").
				Where("r.village_id = ?", villageID).Where("f.group_no = ?", group))
		}
		if err := q.OrderExpr("date, id").Scan(ctx); err != nil {
			return translate(err, "jobs")
		}
		var requests []int64
		for _, j := range out.Cancelled {
			c, err := loadJob(ctx, l.db, villageID, j.ID)
			if err != nil {
				return err
			}
			if err := l.setJobState(ctx, j, JobCancelled, RainNote); err != nil {
				return err
			}
			if err := l.notify(ctx, AudienceTeam, j.TeamID, "job.cancelled", "job", j.ID,
				"雨天停工：%s %s的派工取消（%s），村里会重新安排。", j.Date, c.what(), reason); err != nil {
				return err
			}
			if err := l.notify(ctx, AudienceHousehold, c.request.HouseholdID, "job.cancelled", "job", j.ID,
				"%s %s因雨停工（%s），村里会重新安排。", c.team.Name, j.Date, reason); err != nil {
				return err
			}
			if !slices.Contains(requests, j.RequestID) {
				requests = append(requests, j.RequestID)
			}
			if !slices.Contains(out.Households, c.request.HouseholdID) {
				out.Households = append(out.Households, c.request.HouseholdID)
			}
		}
		for _, id := range requests {
			r, err := getOne[HelpRequest](ctx, l.db, villageID, id, "help request")
			if err != nil {
				return err
			}
			if err := l.settle(ctx, r, RainNote); err != nil {
				return err
			}
		}
		if preview {
			return errPreview
		}
		return nil
	})
	if err != nil && !(preview && errors.Is(err, errPreview)) {
		return nil, err
	}
	return out, nil
}

// UnblockDay takes back a blocked day of the village (group 0) or of one
// village group — the rain did not come, or the day was a slip — and
// returns it as it was. The jobs the block cancelled stay cancelled: the
// caller plans the day's seasons again. A day not blocked is ENOTFOUND.
func (s *Store) UnblockDay(ctx context.Context, villageID int64, date string, group int) (*BlockedDay, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, Invalid("path.date", "日期格式应为2026-04-20 %q is not a date like 2026-04-20", date)
	}
	b := new(BlockedDay)
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewSelect().Model(b).Where("village_id = ?", villageID).Where("date = ?", date).
			Where("group_no = ?", group).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			if group != 0 {
				return Errorf(ENOTFOUND, "该日第%[2]d组未停工 %[1]s is not blocked for group %[2]d", date, group)
			}
			return Errorf(ENOTFOUND, "该日全村未停工 %s is not blocked for the whole village", date)
		}
		if err != nil {
			return translate(err, "blocked day")
		}
		_, err = tx.NewDelete().Model(b).WherePK().Exec(ctx)
		return translate(err, "blocked day")
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// settle moves a request after one of its jobs was taken away, as
// DeclineJob does: with no job left to do it goes back to submitted for
// the next plan; with only confirmed or done jobs left, it is confirmed.
func (l *loopTx) settle(ctx context.Context, r *HelpRequest, note string) error {
	jobs, err := requestJobs(ctx, l.db, r.ID)
	if err != nil {
		return err
	}
	pending := slices.ContainsFunc(jobs, func(o *Job) bool { return o.State == JobScheduled || o.State == JobConfirmed })
	switch {
	case !pending:
		return l.setRequestState(ctx, r, RequestSubmitted, note)
	case r.State == RequestScheduled:
		if all, err := allJobs(ctx, l.db, r.ID, JobConfirmed, JobDone); err != nil || !all {
			return err
		}
		return l.setRequestState(ctx, r, RequestConfirmed, "")
	}
	return nil
}

// ListBlockedDays returns the village's blocked days from from to to
// (inclusive; "" open-ended), by date and group.
func (s *Store) ListBlockedDays(ctx context.Context, villageID int64, from, to string) ([]*BlockedDay, error) {
	return blockedDays(ctx, s.db, villageID, from, to)
}

func blockedDays(ctx context.Context, db bun.IDB, villageID int64, from, to string) ([]*BlockedDay, error) {
	out := []*BlockedDay{}
	q := db.NewSelect().Model(&out).Where("village_id = ?", villageID).OrderExpr("date, group_no")
	if from != "" {
		q = q.Where("date >= ?", from)
	}
	if to != "" {
		q = q.Where("date <= ?", to)
	}
	return out, translate(q.Scan(ctx), "blocked days")
}

// PlanScope is what a plan covers: a season's open requests, or the open
// requests whose window meets the dates From..To. Exactly one is given.
type PlanScope struct {
	SeasonID int64
	From, To string
}

// maxPlanDays bounds a range: a farming year.
const maxPlanDays = 366

func (sc PlanScope) check() error {
	switch {
	case sc.SeasonID < 0:
		return Invalid("body.seasonId", "农时不存在 season %d does not exist", sc.SeasonID)
	case sc.SeasonID != 0 && (sc.From != "" || sc.To != ""):
		return Invalid("body.seasonId", "农时与起止日期只能选一种 give a season, or from and to, not both")
	case sc.SeasonID != 0:
		return nil
	case sc.From == "" && sc.To == "":
		return Invalid("body.seasonId", "请指定农时或起止日期 give a season, or from and to")
	case sc.From == "":
		return Invalid("body.from", "缺少起始日期 a range needs its first day")
	case sc.To == "":
		return Invalid("body.to", "缺少截止日期 a range needs its last day")
	}
	from, err := time.Parse(time.DateOnly, sc.From)
	if err != nil {
		return Invalid("body.from", "日期格式应为2026-04-20 %q is not a date like 2026-04-20", sc.From)
	}
	to, err := time.Parse(time.DateOnly, sc.To)
	if err != nil {
		return Invalid("body.to", "日期格式应为2026-04-30 %q is not a date like 2026-04-30", sc.To)
	}
	switch {
	case to.Before(from):
		return Invalid("body.to", "截止日期早于起始日期 to %s is before from %s", sc.To, sc.From)
	case to.Sub(from) >= maxPlanDays*24*time.Hour:
		return Invalid("body.to", "计划最长%[2]d天 a plan covers at most %[1]d days", maxPlanDays, maxPlanDays)
	}
	return nil
}
