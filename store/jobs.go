package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Job is one team's work for one request on one date.
type Job struct {
	bun.BaseModel `bun:"table:jobs"`

	ID            int64           `bun:",pk,autoincrement"`
	VillageID     int64           `bun:",notnull"`
	TeamID        int64           `bun:",notnull"`
	RequestID     int64           `bun:",notnull"`
	Date          string          `bun:",notnull"`
	Workers       []PlannedWorker `bun:",type:json,notnull"`
	State         string          `bun:",notnull"`
	DeclineReason string          `bun:",notnull"`
	Meal          bool            `bun:",notnull"` // the helped household hosted a meal: a note, not currency
	Attendance    []JobAttendance `bun:",type:json,notnull"`
	TransactionID *int64          ``
	CreatedBy     string          `bun:",notnull"`
	Version       int64           `bun:",notnull"`
	CreatedAt     time.Time       `bun:",notnull"`
	UpdatedAt     time.Time       `bun:",notnull"`

	// CompletedAt is when the leader recorded the attendance: the helped
	// household may dispute the posting until DisputeWindow after it.
	CompletedAt   *time.Time ``
	DisputeState  string     `bun:",notnull"` // "" (none raised), DisputeOpen, DisputeConfirmed, DisputeReversed
	DisputeReason string     `bun:",notnull"`
	DisputedAt    *time.Time ``
	ReversalID    *int64     `` // the ledger reversal a cadre posted for the dispute
}

// Active reports whether the job still counts toward its request.
func (j *Job) Active() bool { return j.State != JobDeclined && j.State != JobCancelled }

// PlannedWorker is a member household the plan sends, and how many of its people.
type PlannedWorker struct {
	HouseholdID int64 `json:"householdId"`
	Workers     int   `json:"workers"`
}

// JobAttendance is who worked and for how long, recorded by the leader.
type JobAttendance struct {
	HouseholdID int64 `json:"householdId"`
	HalfDays    int64 `json:"halfDays"`
	// Workers is how many of the household's people came; 0 on input
	// means the people planned for it, or 1 when it was not planned.
	Workers int    `json:"workers,omitempty"`
	Helper  bool   `json:"helper,omitempty"` // not a member of the team: a named helper
	Reason  string `json:"reason,omitempty"` // why a household not planned on the job worked on it
}

// NewJob is a cadre's hand-made job (the planner's override).
type NewJob struct {
	TeamID    int64
	RequestID int64
	Date      string
	Workers   []PlannedWorker
}

func requestJobs(ctx context.Context, db bun.IDB, requestID int64) ([]*Job, error) {
	var out []*Job
	err := db.NewSelect().Model(&out).Where("request_id = ?", requestID).OrderExpr("date, id").Scan(ctx)
	return out, translate(err, "jobs")
}

func (l *loopTx) setJobState(ctx context.Context, j *Job, to, note string) error {
	from := j.State
	j.State, j.UpdatedAt = to, l.now
	j.Version++
	if _, err := l.db.NewUpdate().Model(j).WherePK().Exec(ctx); err != nil {
		return translate(err, "job")
	}
	return l.transition(ctx, "job", j.ID, from, to, note)
}

// jobContext is a job with what its messages and rules need.
type jobContext struct {
	job     *Job
	request *HelpRequest
	field   *Field
	helped  *Household
	team    *Team
}

func loadJob(ctx context.Context, db bun.IDB, villageID, id int64) (*jobContext, error) {
	j, err := getOne[Job](ctx, db, villageID, id, "job")
	if err != nil {
		return nil, err
	}
	c := &jobContext{job: j}
	if c.request, err = getOne[HelpRequest](ctx, db, villageID, j.RequestID, "help request"); err != nil {
		return nil, err
	}
	if c.field, err = getOne[Field](ctx, db, villageID, c.request.FieldID, "field"); err != nil {
		return nil, err
	}
	if c.helped, err = getOne[Household](ctx, db, villageID, c.request.HouseholdID, "household"); err != nil {
		return nil, err
	}
	if c.team, err = getOne[Team](ctx, db, villageID, j.TeamID, "team"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *jobContext) what() string {
	return fmt.Sprintf("%s户 %s %s", c.helped.HeadName, c.field.Name, taskNames[c.request.Task])
}

func teamMembers(ctx context.Context, db bun.IDB, teamID int64) (map[int64]*TeamMember, error) {
	var ms []*TeamMember
	if err := db.NewSelect().Model(&ms).Where("team_id = ?", teamID).Scan(ctx); err != nil {
		return nil, translate(err, "team members")
	}
	out := make(map[int64]*TeamMember, len(ms))
	for _, m := range ms {
		out[m.HouseholdID] = m
	}
	return out, nil
}

// CreateJob puts a team on a request for a day: the cadre's hand-made
// assignment. Planned workers must be the team's members, available that
// day and on no other job that day.
func (s *Store) CreateJob(ctx context.Context, villageID int64, actor string, in NewJob) (*Job, error) {
	if _, err := time.Parse(time.DateOnly, in.Date); err != nil {
		return nil, Invalid("body.date", "日期格式应为2026-04-20 %q is not a date like 2026-04-20", in.Date)
	}
	if len(in.Workers) == 0 {
		return nil, Invalid("body.workers", "至少安排一户队员 plan at least one member household")
	}
	var j *Job
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		r, err := getOne[HelpRequest](ctx, l.db, villageID, in.RequestID, "help request")
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return Invalid("body.requestId", "本村无此求助 help request %d does not exist in this village", in.RequestID)
			}
			return err
		}
		if !r.Open() {
			return stateError("help request", r.ID, r.State, "scheduled")
		}
		if in.Date < r.Earliest {
			return Invalid("body.date", "派工日期早于求助窗口 the job (%s) is before the request's window opens (%s)", in.Date, r.Earliest)
		}
		if err := exists(ctx, l.db, (*Team)(nil), villageID, in.TeamID, "body.teamId", "team"); err != nil {
			return err
		}
		members, err := teamMembers(ctx, l.db, in.TeamID)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for i, w := range in.Workers {
			field := fmt.Sprintf("body.workers[%d]", i)
			m := members[w.HouseholdID]
			switch {
			case m == nil:
				return Invalid(field+".householdId", "不是该队队员 household %d is not a member of team %d", w.HouseholdID, in.TeamID)
			case seen[w.HouseholdID]:
				return Invalid(field+".householdId", "重复安排 household %d is listed twice", w.HouseholdID)
			case w.Workers < 1 || w.Workers > m.WorkersPerDay:
				return Invalid(field+".workers", "该户每日可出工1到%[3]d人 household %[1]d offers 1 to %[2]d workers a day", w.HouseholdID, m.WorkersPerDay, m.WorkersPerDay)
			case slices.Contains(m.UnavailableDays, in.Date):
				return Invalid(field+".householdId", "该户当天不能出工 household %d cannot come on %s", w.HouseholdID, in.Date)
			}
			seen[w.HouseholdID] = true
		}
		if err := l.checkFreeOn(ctx, in.Date, seen, 0); err != nil {
			return err
		}
		j = &Job{VillageID: villageID, TeamID: in.TeamID, RequestID: r.ID, Date: in.Date, Workers: in.Workers,
			State: JobScheduled, Attendance: []JobAttendance{}, CreatedBy: actor, Version: 1, CreatedAt: l.now, UpdatedAt: l.now}
		if _, err := l.db.NewInsert().Model(j).Exec(ctx); err != nil {
			return translate(err, "job")
		}
		if err := l.transition(ctx, "job", j.ID, "", JobScheduled, ""); err != nil {
			return err
		}
		if r.State != RequestScheduled {
			if err := l.setRequestState(ctx, r, RequestScheduled, fmt.Sprintf("job %d", j.ID)); err != nil {
				return err
			}
		}
		c, err := loadJob(ctx, l.db, villageID, j.ID)
		if err != nil {
			return err
		}
		return l.notifyScheduled(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// notifyScheduled tells the team's leader and the household of a new job,
// whether a cadre made it or the plan did.
func (l *loopTx) notifyScheduled(ctx context.Context, c *jobContext) error {
	j, r := c.job, c.request
	late := ""
	if j.Date > r.Latest {
		late = "（晚于求助期限" + r.Latest + "）"
	}
	if err := l.notify(ctx, AudienceTeam, j.TeamID, "job.scheduled", "job", j.ID,
		"新派工：%s 去%s，计划%d人%s。请确认。", j.Date, c.what(), plannedWorkers(j.Workers), late); err != nil {
		return err
	}
	return l.notify(ctx, AudienceHousehold, r.HouseholdID, "job.scheduled", "job", j.ID,
		"%s 将于%s来帮您%s（%s），计划%d人。", c.team.Name, j.Date, taskNames[r.Task], c.field.Name, plannedWorkers(j.Workers))
}

func plannedWorkers(ws []PlannedWorker) int {
	n := 0
	for _, w := range ws {
		n += w.Workers
	}
	return n
}

// checkFreeOn refuses a household already planned on another active job
// that day, done ones included: a member works on one job a day.
func (l *loopTx) checkFreeOn(ctx context.Context, date string, households map[int64]bool, except int64) error {
	var others []*Job
	err := l.db.NewSelect().Model(&others).Where("village_id = ?", l.v).Where("date = ?", date).
		Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed, JobDone})).Where("id <> ?", except).Scan(ctx)
	if err != nil {
		return translate(err, "jobs")
	}
	for _, o := range others {
		for _, w := range o.Workers {
			if households[w.HouseholdID] {
				return &Error{Code: ECONFLICT, Field: "body.workers",
					Message: conflictNext(fmt.Sprintf("该户当天已有派工%d", o.ID), fmt.Sprintf("household %d is already on job %d on %s", w.HouseholdID, o.ID, date),
						"请换一户队员或另选日期", "choose another member household or another date (create-job)").Message}
			}
		}
	}
	return nil
}

// GetJob returns a job of the village.
func (s *Store) GetJob(ctx context.Context, villageID, id int64) (*Job, error) {
	return getOne[Job](ctx, s.db, villageID, id, "job")
}

// JobFilter narrows list-jobs.
type JobFilter struct {
	TeamID      int64
	HouseholdID int64 // the helped household
	RequestID   int64
	State       string
	Open        bool   // only jobs still to do: scheduled or confirmed
	From, To    string // dates, inclusive; "" open-ended
}

// ListJobs returns a page of the village's jobs.
func (s *Store) ListJobs(ctx context.Context, villageID int64, f JobFilter, p Page) ([]*Job, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(j *Job) int64 { return j.ID }, "jobs",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if f.TeamID != 0 {
				q = q.Where("team_id = ?", f.TeamID)
			}
			if f.RequestID != 0 {
				q = q.Where("request_id = ?", f.RequestID)
			}
			if f.HouseholdID != 0 {
				q = q.Where("request_id IN (?)", s.db.NewSelect().Model((*HelpRequest)(nil)).Column("id").Where("household_id = ?", f.HouseholdID))
			}
			if f.State != "" {
				q = q.Where("state = ?", f.State)
			}
			if f.Open {
				q = q.Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed}))
			}
			if f.From != "" {
				q = q.Where("date >= ?", f.From)
			}
			if f.To != "" {
				q = q.Where("date <= ?", f.To)
			}
			return q
		})
}

// ConfirmJob is the team leader accepting a job. When every active job of
// the request is confirmed, the request is.
func (s *Store) ConfirmJob(ctx context.Context, villageID, id int64, actor string) (*Job, error) {
	var j *Job
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		c, err := loadJob(ctx, l.db, villageID, id)
		if err != nil {
			return err
		}
		j = c.job
		if j.State != JobScheduled {
			return stateError("job", id, j.State, "confirmed")
		}
		if err := l.setJobState(ctx, j, JobConfirmed, ""); err != nil {
			return err
		}
		r := c.request
		if r.FirstConfirmedAt == nil {
			r.FirstConfirmedAt = &l.now
		}
		to := r.State
		if all, err := allJobs(ctx, l.db, r.ID, JobConfirmed, JobDone); err != nil {
			return err
		} else if all && r.State == RequestScheduled {
			to = RequestConfirmed
		}
		if to == r.State {
			r.Version++
			r.UpdatedAt = l.now
			if _, err := l.db.NewUpdate().Model(r).WherePK().Exec(ctx); err != nil {
				return translate(err, "help request")
			}
		} else if err := l.setRequestState(ctx, r, to, ""); err != nil {
			return err
		}
		return l.notify(ctx, AudienceHousehold, r.HouseholdID, "job.confirmed", "job", j.ID,
			"%s已确认：%s来帮您%s（%s）。", c.team.Name, j.Date, taskNames[r.Task], c.field.Name)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// allJobs reports whether every active job of a request is in one of states.
func allJobs(ctx context.Context, db bun.IDB, requestID int64, states ...string) (bool, error) {
	jobs, err := requestJobs(ctx, db, requestID)
	if err != nil {
		return false, err
	}
	any := false
	for _, j := range jobs {
		if !j.Active() {
			continue
		}
		any = true
		if !slices.Contains(states, j.State) {
			return false, nil
		}
	}
	return any, nil
}

// DeclineJob is the team leader turning a job down, with a reason. When
// the request has no active job left it goes back to submitted for the
// next plan.
func (s *Store) DeclineJob(ctx context.Context, villageID, id int64, actor, reason string) (*Job, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, Invalid("body.reason", "请填写拒绝原因 say why the job is declined")
	}
	var j *Job
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		c, err := loadJob(ctx, l.db, villageID, id)
		if err != nil {
			return err
		}
		j = c.job
		if j.State != JobScheduled && j.State != JobConfirmed {
			return stateError("job", id, j.State, "declined")
		}
		j.DeclineReason = reason
		if err := l.setJobState(ctx, j, JobDeclined, reason); err != nil {
			return err
		}
		r := c.request
		jobs, err := requestJobs(ctx, l.db, r.ID)
		if err != nil {
			return err
		}
		// A done job beside it does not finish the request: with no job
		// left to do, the request goes back to the plan.
		pending := slices.ContainsFunc(jobs, func(o *Job) bool { return o.State == JobScheduled || o.State == JobConfirmed })
		switch {
		case !pending:
			err = l.setRequestState(ctx, r, RequestSubmitted, "派工被拒，待重新安排 no job left to do")
		case r.State == RequestScheduled:
			if all, aerr := allJobs(ctx, l.db, r.ID, JobConfirmed, JobDone); aerr != nil {
				err = aerr
			} else if all {
				err = l.setRequestState(ctx, r, RequestConfirmed, "")
			}
		}
		if err != nil {
			return err
		}
		if err := l.notify(ctx, AudienceCadre, villageID, "job.declined", "job", j.ID,
			"%s拒绝了%s的派工（%s）：%s。需重新安排。", c.team.Name, j.Date, c.what(), reason); err != nil {
			return err
		}
		return l.notify(ctx, AudienceHousehold, r.HouseholdID, "job.declined", "job", j.ID,
			"%s %s来不了（%s），村里会重新安排。", c.team.Name, j.Date, reason)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// Completion is the leader's record of a finished job.
type Completion struct {
	Attendance     []JobAttendance
	Meal           bool
	IdempotencyKey string
	RequestHash    string
}

// CompleteJob records who worked and posts the ledger transaction, in one
// write transaction: the job is done and the workdays posted, or neither.
// A retry with the same idempotency key replays the answer; a job already
// done is ECONFLICT.
func (s *Store) CompleteJob(ctx context.Context, villageID, id int64, actor string, in Completion) (j *Job, replayed bool, err error) {
	if len(in.Attendance) == 0 {
		return nil, false, Invalid("body.attendance", "至少记录一名出工人员 record at least one worker")
	}
	err = s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		c, err := loadJob(ctx, l.db, villageID, id)
		if err != nil {
			return err
		}
		j = c.job
		p := Posting{VillageID: villageID, Actor: actor, Date: j.Date, IdempotencyKey: in.IdempotencyKey, RequestHash: in.RequestHash,
			Memo: fmt.Sprintf("派工%d：%s", j.ID, c.what())}
		if prev, err := replayKey(ctx, l.db, p, TxJob); err != nil || prev != nil {
			if prev != nil && (prev.SourceID == nil || strings.Split(*prev.SourceID, "/")[0] != strconv.FormatInt(id, 10)) {
				return Invalid("header.Idempotency-Key", "该幂等键已用于另一派工 this Idempotency-Key was already used for another job")
			}
			replayed = prev != nil
			return err
		}
		if j.State != JobConfirmed {
			return stateError("job", id, j.State, "completed")
		}
		v, err := s.village(ctx, l.db, villageID)
		if err != nil {
			return err
		}
		if today := l.now.In(v.Location()).Format(time.DateOnly); j.Date > today {
			return Invalid("path.id", "派工日期%[1]s还没到，不能完工记工 job %[2]d is dated %[1]s; it cannot be completed before that day (today is %[3]s in the village)", j.Date, id, today)
		}
		members, err := teamMembers(ctx, l.db, j.TeamID)
		if err != nil {
			return err
		}
		if in.Attendance, err = checkAttendance(j, members, c.team.Name, v.AttendanceSlack, in.Attendance); err != nil {
			return err
		}
		att := make([]Attendance, len(in.Attendance))
		for i, a := range in.Attendance {
			att[i] = Attendance{HouseholdID: a.HouseholdID, HalfDays: a.HalfDays}
		}
		meta, build := jobPosting(j.ID, c.helped.ID, att)
		tx, _, err := s.postIn(ctx, l.db, p, meta, build)
		if err != nil {
			return err
		}
		j.Attendance, j.Meal, j.TransactionID, j.CompletedAt = in.Attendance, in.Meal, &tx.ID, &l.now
		if err := l.setJobState(ctx, j, JobDone, ""); err != nil {
			return err
		}
		var total int64
		for _, a := range att {
			total += a.HalfDays
		}
		r := c.request
		if all, err := allJobs(ctx, l.db, r.ID, JobDone); err != nil {
			return err
		} else if all && r.Open() {
			last := j.Date
			jobs, err := requestJobs(ctx, l.db, r.ID)
			if err != nil {
				return err
			}
			for _, o := range jobs {
				if o.State == JobDone && o.Date > last {
					last = o.Date
				}
			}
			r.DoneAt, r.DoneDate = &l.now, &last
			if err := l.setRequestState(ctx, r, RequestDone, ""); err != nil {
				return err
			}
			if err := l.notify(ctx, AudienceHousehold, r.HouseholdID, "request.done", "request", r.ID,
				"您的%s（%s）已完成，请给互助队评价。", taskNames[r.Task], c.field.Name); err != nil {
				return err
			}
		}
		return l.notify(ctx, AudienceHousehold, r.HouseholdID, "job.done", "job", j.ID,
			"%s %s帮您%s共%s个工日，已记账；如有出入，3天内可提异议。", c.team.Name, j.Date, taskNames[r.Task], halfDaysText(total))
	})
	if err != nil {
		return nil, false, err
	}
	if replayed {
		// The first answer: the job as it was left done.
		if j, err = s.GetJob(ctx, villageID, id); err != nil {
			return nil, false, err
		}
	}
	return j, replayed, nil
}

// MaxHalfDaysPerWorker is the most one person works on one job-day: a
// whole workday.
const MaxHalfDaysPerWorker = 2

// checkAttendance applies the attendance rules to a completion and returns
// its lines with each line's people filled in: every household listed
// once; a team member or a named helper; each person at most one workday,
// in half days; no more people than the job planned plus the village's
// slack; and a reason for each household the job did not plan. A broken
// rule is EINVALID naming the line.
func checkAttendance(j *Job, members map[int64]*TeamMember, team string, slack int, in []JobAttendance) ([]JobAttendance, error) {
	planned := make(map[int64]int, len(j.Workers))
	for _, w := range j.Workers {
		planned[w.HouseholdID] = w.Workers
	}
	limit := plannedWorkers(j.Workers) + slack
	out := make([]JobAttendance, len(in))
	seen := map[int64]bool{}
	people := 0
	for i, a := range in {
		line := fmt.Sprintf("body.attendance[%d]", i)
		a.Reason = strings.TrimSpace(a.Reason)
		if a.Workers == 0 {
			a.Workers = max(planned[a.HouseholdID], 1)
		}
		switch {
		case members[a.HouseholdID] == nil && !a.Helper:
			return nil, Invalid(line+".householdId",
				"不是该队队员，如为帮工请注明 household %d is not a member of %s; mark it as a named helper", a.HouseholdID, team)
		case seen[a.HouseholdID]:
			return nil, Invalid(line+".householdId", "同一户只记一行 household %d is listed twice; record its people and workdays on one line", a.HouseholdID)
		case a.Workers < 0:
			return nil, Invalid(line+".workers", "出工人数须为正 the people who came must be 1 or more")
		case a.HalfDays <= 0:
			return nil, Invalid(line+".workdays", "工日须大于0 workdays must be more than 0")
		case a.HalfDays > int64(a.Workers)*MaxHalfDaysPerWorker:
			return nil, Invalid(line+".workdays",
				"每人每个派工日最多记1个工日：%[1]d人最多%[2]s个工日，不是%[3]s each worker is at most 1 workday on a job-day: %[1]d people make at most %[2]s workdays, not %[3]s",
				a.Workers, halfDaysText(int64(a.Workers)*MaxHalfDaysPerWorker), halfDaysText(a.HalfDays))
		case planned[a.HouseholdID] == 0 && a.Reason == "":
			return nil, Invalid(line+".reason",
				"该户不在计划出工名单中，请写明原因 household %d was not planned on job %d: give a reason line for its work", a.HouseholdID, j.ID)
		}
		seen[a.HouseholdID] = true
		if people += a.Workers; people > limit {
			return nil, Invalid(line+".workers",
				"出工人数超过计划%[1]d人加上村里允许的%[2]d人 more people than the %[1]d planned plus the village's slack of %[2]d (%[3]d so far)",
				plannedWorkers(j.Workers), slack, people)
		}
		out[i] = a
	}
	return out, nil
}
