package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"huangong/scheduler/planner"
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
}

// BlockDays records rained-out days for the village (group 0) or one
// village group and, in the same transaction, cancels every scheduled or
// confirmed job on them — for a group, the jobs on its fields — telling
// each team and household. A request left with no job to do goes back to
// submitted for the next plan. Blocking a day again changes nothing, so a
// retry is safe.
func (s *Store) BlockDays(ctx context.Context, villageID int64, actor string, dates []string, group int, reason string) (*Blocking, error) {
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
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// taskRank orders the tasks on one field: in the summer double-rush the
// early rice is harvested, the field prepared, then the late rice
// transplanted.
var taskRank = map[string]int{TaskHarvest: 0, TaskPrepare: 1, TaskTransplant: 2}

// planning is a scope's planning problem read from the records: the
// planner's instance and what saving a plan of it needs. PlanInstance and
// ApplyPlan build it the same way, so a plan is checked against the
// records as they are when it is saved.
type planning struct {
	in planner.Instance
	// replan are the requests the plan places: submitted, or scheduled
	// with no job confirmed. pending are their scheduled jobs, which the
	// plan replaces.
	replan  map[int64]*HelpRequest
	pending map[int64][]*Job

	requests   map[int64]*HelpRequest // every request of the instance
	fields     map[int64]*Field
	households map[int64]*Household
	teams      map[int64]*Team // every team of the village, with members
}

// PlanInstance builds the planner's input for a scope from the records:
//   - the open requests in scope, each with its window, work, village
//     group (its field's), priority and exemption (its household's);
//     on a field, a request waits for the season's requests of earlier
//     tasks (harvest, prepare, transplant);
//   - the requests that are confirmed, or have a confirmed job, are not
//     planned again: their jobs are fixed, and so is every other active
//     job in the plan's dates, so their workers stay taken;
//   - teams with members, their workers a day and days off; blocked days;
//     balances from the ledger.
//
// The plan runs from the scope's first day, or today in the village if
// later, to its last.
func (s *Store) PlanInstance(ctx context.Context, villageID int64, scope PlanScope) (planner.Instance, error) {
	p, err := s.loadPlanning(ctx, s.db, villageID, scope, s.Now())
	if err != nil {
		return planner.Instance{}, err
	}
	return p.in, nil
}

var (
	openStates   = []string{RequestSubmitted, RequestScheduled, RequestConfirmed}
	activeStates = []string{JobScheduled, JobConfirmed, JobDone}
)

func (s *Store) loadPlanning(ctx context.Context, db bun.IDB, villageID int64, sc PlanScope, now time.Time) (*planning, error) {
	if err := sc.check(); err != nil {
		return nil, err
	}
	v, err := s.village(ctx, db, villageID)
	if err != nil {
		return nil, err
	}
	start, end, field := sc.From, sc.To, "body.to"
	var reqs []*HelpRequest
	q := db.NewSelect().Model(&reqs).Where("village_id = ?", villageID).Where("state IN (?)", bun.In(openStates))
	if sc.SeasonID != 0 {
		se, err := getOne[Season](ctx, db, villageID, sc.SeasonID, "season")
		if ErrorCode(err) == ENOTFOUND {
			return nil, Invalid("body.seasonId", "本村无此农时 season %d does not exist in this village", sc.SeasonID)
		} else if err != nil {
			return nil, err
		}
		if se.State == SeasonClosed {
			return nil, &Error{Code: ECONFLICT, Field: "body.seasonId", Message: fmt.Sprintf("农时已结束 season %d is closed", se.ID)}
		}
		start, end, field = se.StartDate, se.EndDate, "body.seasonId"
		q = q.Where("season_id = ?", se.ID)
	} else {
		q = q.Where("earliest <= ?", sc.To).Where("latest >= ?", sc.From)
	}
	// Nothing is planned in the past, and nothing unconfirmed inside the
	// freeze horizon (today and the next FreezeDays-1 days) moves.
	today := now.In(v.Location()).Format(time.DateOnly)
	if today > start {
		start = today
	}
	frozenUntil := addDays(today, v.FreezeDays) // first day a saved job may move
	if start > end {
		return nil, Invalid(field, "日期已过，无可安排 nothing is left to plan: the dates ended on %s", end)
	}
	if err := q.OrderExpr("id").Scan(ctx); err != nil {
		return nil, translate(err, "help requests")
	}
	inScope := make([]int64, len(reqs))
	scoped := make(map[int64]bool, len(reqs))
	for i, r := range reqs {
		inScope[i], scoped[r.ID] = r.ID, true
	}

	// Every job of the requests in scope, and the other active jobs in the
	// plan's dates: their workers are taken.
	var jobs []*Job
	err = db.NewSelect().Model(&jobs).Where("village_id = ?", villageID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("date >= ? AND date <= ? AND state IN (?)", start, end, bun.In(activeStates))
			if len(inScope) > 0 {
				q = q.WhereOr("request_id IN (?)", bun.In(inScope))
			}
			return q
		}).OrderExpr("date, id").Scan(ctx)
	if err != nil {
		return nil, translate(err, "jobs")
	}
	byReq := map[int64][]*Job{}
	var others []int64
	for _, j := range jobs {
		if _, ok := byReq[j.RequestID]; !ok && !scoped[j.RequestID] {
			others = append(others, j.RequestID)
		}
		byReq[j.RequestID] = append(byReq[j.RequestID], j)
	}
	if len(others) > 0 {
		var more []*HelpRequest
		if err := db.NewSelect().Model(&more).Where("village_id = ?", villageID).Where("id IN (?)", bun.In(others)).Scan(ctx); err != nil {
			return nil, translate(err, "help requests")
		}
		reqs = append(reqs, more...)
		slices.SortFunc(reqs, func(a, b *HelpRequest) int { return cmp.Compare(a.ID, b.ID) })
	}

	var teams []*Team
	err = db.NewSelect().Model(&teams).
		Relation("Members", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("household_id") }).
		Relation("Members.Household").
		Where("team.village_id = ?", villageID).OrderExpr("team.id").Scan(ctx)
	if err != nil {
		return nil, translate(err, "teams")
	}
	p := &planning{
		in: planner.Instance{Start: start, End: end, Requests: []planner.Request{}, Teams: []planner.Team{},
			Blocked: []planner.Blocked{}, Balances: map[int64]int64{}, Fixed: []planner.Assignment{}, Previous: []planner.Assignment{}},
		replan: map[int64]*HelpRequest{}, pending: map[int64][]*Job{}, requests: map[int64]*HelpRequest{},
		fields: map[int64]*Field{}, households: map[int64]*Household{}, teams: map[int64]*Team{},
	}
	members := map[int64]map[int64]*TeamMember{} // team → household → membership
	for _, t := range teams {
		p.teams[t.ID] = t
		if len(t.Members) == 0 {
			continue // a team with no one cannot be sent
		}
		members[t.ID] = map[int64]*TeamMember{}
		for _, m := range t.Members {
			members[t.ID][m.HouseholdID] = m
		}
	}

	// A job's workers as the planner counts them: the members who came to
	// a done job, or those planned on another, two half days a person.
	// The others (no longer members, named helpers) are only kept free
	// that day.
	away := map[int64][]string{} // household → dates it is on a job outside its team
	workersOf := func(j *Job) []planner.Worker {
		var ws []planner.Worker
		add := func(hh, half int64) {
			if members[j.TeamID][hh] != nil {
				ws = append(ws, planner.Worker{Household: hh, HalfDays: half})
			} else if j.Date >= start && j.Date <= end {
				away[hh] = append(away[hh], j.Date)
			}
		}
		if j.State == JobDone {
			for _, a := range j.Attendance {
				if !a.Helper && a.HalfDays > 0 {
					add(a.HouseholdID, a.HalfDays)
				}
			}
		} else {
			for _, w := range j.Workers {
				add(w.HouseholdID, 2*int64(w.Workers))
			}
		}
		slices.SortFunc(ws, func(a, b planner.Worker) int { return cmp.Compare(a.Household, b.Household) })
		return ws
	}
	// A saved unconfirmed job as the plan may keep it: its workers who are
	// still members. One who left is dropped here, so the plan keeps the
	// job with the others and the save changes its workers.
	plannedOf := func(j *Job) []planner.Worker {
		var ws []planner.Worker
		for _, w := range j.Workers {
			if members[j.TeamID][w.HouseholdID] != nil {
				ws = append(ws, planner.Worker{Household: w.HouseholdID, HalfDays: 2 * int64(w.Workers)})
			}
		}
		slices.SortFunc(ws, func(a, b planner.Worker) int { return cmp.Compare(a.Household, b.Household) })
		return ws
	}
	// movable: a saved unconfirmed job past the freeze horizon and inside
	// the plan's dates. The others stay where they are: a job the plan
	// cannot move into its dates is better kept than dropped.
	movable := func(j *Job) bool { return j.Date >= frozenUntil && j.Date >= start && j.Date <= end }
	sumHalf := func(ws []planner.Worker) (n int64) {
		for _, w := range ws {
			n += w.HalfDays
		}
		return n
	}
	inRange := func(j *Job) bool { return j.Date >= start && j.Date <= end && slices.Contains(activeStates, j.State) }

	// Which requests are planned, and which jobs stay as they are.
	type fixedJob struct {
		job     *Job
		workers []planner.Worker
	}
	var fixed []fixedJob
	halfDays := map[int64]int64{} // the work each request of the instance needs
	for _, r := range reqs {
		js := byReq[r.ID]
		replan := scoped[r.ID] && r.State != RequestConfirmed &&
			!slices.ContainsFunc(js, func(j *Job) bool { return j.State == JobConfirmed })
		var done []fixedJob
		if replan {
			// Done work and the frozen jobs count toward the request; when
			// they cover it, there is nothing to plan.
			var half int64
			for _, j := range js {
				if j.State == JobDone || j.State == JobScheduled && !movable(j) {
					ws := workersOf(j)
					half += sumHalf(ws)
					done = append(done, fixedJob{j, ws})
				}
			}
			replan = half < r.HalfDays
		}
		if replan {
			p.replan[r.ID] = r
			halfDays[r.ID] = r.HalfDays
			for _, d := range done {
				if len(d.workers) > 0 {
					fixed = append(fixed, d)
				}
			}
			for _, j := range js {
				if j.State != JobScheduled || !movable(j) {
					continue
				}
				p.pending[r.ID] = append(p.pending[r.ID], j)
				if ws := plannedOf(j); len(ws) > 0 {
					p.in.Previous = append(p.in.Previous, planner.Assignment{Request: j.RequestID, Team: j.TeamID, Date: j.Date, Workers: ws})
				}
			}
			continue
		}
		// Kept as it is: its active jobs in the plan's dates are fixed and
		// are all the work it asks of the plan.
		for _, j := range js {
			if !inRange(j) {
				continue
			}
			if ws := workersOf(j); len(ws) > 0 {
				fixed = append(fixed, fixedJob{j, ws})
				halfDays[r.ID] += sumHalf(ws)
			}
		}
	}
	slices.SortStableFunc(fixed, func(a, b fixedJob) int {
		return cmp.Or(cmp.Compare(a.job.Date, b.job.Date), cmp.Compare(a.job.ID, b.job.ID))
	})
	for _, f := range fixed {
		p.in.Fixed = append(p.in.Fixed, planner.Assignment{Request: f.job.RequestID, Team: f.job.TeamID, Date: f.job.Date, Workers: f.workers})
	}

	// Fields and households of the requests planned or kept.
	var fieldIDs, hhIDs []int64
	for _, r := range reqs {
		if halfDays[r.ID] > 0 {
			p.requests[r.ID] = r
			fieldIDs = append(fieldIDs, r.FieldID)
			hhIDs = append(hhIDs, r.HouseholdID)
		}
	}
	if len(fieldIDs) > 0 {
		var fs []*Field
		if err := db.NewSelect().Model(&fs).Where("village_id = ?", villageID).Where("id IN (?)", bun.In(fieldIDs)).Scan(ctx); err != nil {
			return nil, translate(err, "fields")
		}
		for _, f := range fs {
			p.fields[f.ID] = f
		}
		var hs []*Household
		if err := db.NewSelect().Model(&hs).Where("village_id = ?", villageID).Where("id IN (?)", bun.In(hhIDs)).Scan(ctx); err != nil {
			return nil, translate(err, "households")
		}
		for _, h := range hs {
			p.households[h.ID] = h
		}
	}

	// Requests, by ID, with precedence on a field among the season's open
	// requests.
	onField := map[int64][]*HelpRequest{}
	for _, r := range reqs {
		if p.requests[r.ID] != nil && r.Open() {
			onField[r.FieldID] = append(onField[r.FieldID], r)
		}
	}
	for _, r := range reqs {
		if p.requests[r.ID] == nil {
			continue
		}
		pr := planner.Request{ID: r.ID, Household: r.HouseholdID, Field: r.FieldID, Group: p.fields[r.FieldID].Group,
			Task: r.Task, HalfDays: halfDays[r.ID], Earliest: r.Earliest, Latest: r.Latest,
			Priority: min(max(r.Priority, 1), 100), Exempt: p.households[r.HouseholdID].Exempt,
			Area: float64(p.fields[r.FieldID].AreaCentimu) / 100, CrewCap: crewCapOf(r),
			LeftUnplaced: r.State == RequestSubmitted && r.UnplacedReason != ""}
		if p.replan[r.ID] != nil {
			for _, o := range onField[r.FieldID] {
				if o.SeasonID == r.SeasonID && taskRank[o.Task] < taskRank[r.Task] {
					pr.After = append(pr.After, o.ID)
				}
			}
		}
		p.in.Requests = append(p.in.Requests, pr)
	}

	for _, t := range teams {
		if members[t.ID] == nil {
			continue
		}
		pt := planner.Team{ID: t.ID}
		for _, m := range t.Members {
			var off []string
			for _, d := range append(slices.Clone(m.UnavailableDays), away[m.HouseholdID]...) {
				if d >= start && d <= end {
					off = append(off, d)
				}
			}
			slices.Sort(off)
			pt.Members = append(pt.Members, planner.Member{Household: m.HouseholdID, Group: m.Household.Group,
				Workers: m.WorkersPerDay, Unavailable: slices.Compact(off)})
		}
		p.in.Teams = append(p.in.Teams, pt)
	}

	blocked, err := blockedDays(ctx, db, villageID, start, end)
	if err != nil {
		return nil, err
	}
	for _, b := range blocked {
		p.in.Blocked = append(p.in.Blocked, planner.Blocked{Date: b.Date, Group: b.Group})
	}

	var accounts []*Account
	err = db.NewSelect().Model(&accounts).Where("village_id = ?", villageID).
		Where("household_id IS NOT NULL").Where("balance <> 0").Scan(ctx)
	if err != nil {
		return nil, translate(err, "accounts")
	}
	for _, a := range accounts {
		p.in.Balances[*a.HouseholdID] = a.Balance
	}
	return p, nil
}

// PlanResult is what ApplyPlan saved.
type PlanResult struct {
	// Jobs has the job of each new assignment of the plan, in the plan's
	// order: a saved job kept as it was, one whose workers changed, or a
	// job created.
	Jobs []*Job
	// Kept counts the saved jobs left exactly as they were; WorkersChanged
	// those kept on their day and team with other workers; Created the
	// jobs made new.
	Kept, WorkersChanged, Created int
	// Cancelled are the unconfirmed jobs the plan no longer has.
	Cancelled []*Job
	// Scheduled are the requests the plan placed; Unplaced those it could
	// not, left submitted.
	Scheduled, Unplaced []int64
}

// Notes and the event of a saved plan's changes.
const (
	workersNote = "派工人数调整 workers changed"
	// EventPlanUpdated is the one notice a household, or a team, gets from
	// a saved plan that changed its jobs: a digest of the changes.
	EventPlanUpdated = "plan.updated"
)

// saveChunk is how many rows one INSERT or UPDATE … IN carries.
const saveChunk = 500

// ApplyPlan saves a plan of a scope made from PlanInstance, in one
// transaction, touching only what changed. Each new assignment is matched
// to an unconfirmed job of its request on the same day with the same
// team: with the same workers the job stays untouched, with others its
// workers are changed in place; an assignment with no such job becomes a
// new job, and the unconfirmed jobs left unmatched are cancelled. Each
// placed request is scheduled and each one the plan could not place is
// left submitted with the reason. Every household whose requests' jobs
// changed gets one notice, and every team whose jobs changed one notice,
// each a digest of the changes; no one hears of a job that did not
// change. The plan must still fit the records: a request planned, kept or
// fixed since, a worker gone, a day blocked is ECONFLICT, and nothing is
// saved.
func (s *Store) ApplyPlan(ctx context.Context, villageID int64, actor string, scope PlanScope, plan planner.Plan) (*PlanResult, error) {
	res := &PlanResult{Jobs: []*Job{}, Cancelled: []*Job{}, Scheduled: []int64{}, Unplaced: []int64{}}
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		p, err := s.loadPlanning(ctx, l.db, villageID, scope, l.now)
		if err != nil {
			return err
		}
		if err := p.check(plan); err != nil {
			return err
		}
		sv := &planSave{l: l, p: p, res: res, told: newDigest(p)}
		if err := sv.jobs(ctx, plan); err != nil {
			return err
		}
		if err := sv.requests(ctx, plan); err != nil {
			return err
		}
		if err := insertChunks(ctx, l.db, sv.transitions, "transitions"); err != nil {
			return err
		}
		return insertChunks(ctx, l.db, sv.told.events(l), "outbox events")
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// planSave is one ApplyPlan's writes, gathered so that rows of a kind go
// in together.
type planSave struct {
	l           *loopTx
	p           *planning
	res         *PlanResult
	transitions []*Transition
	told        *digest
}

func (sv *planSave) transition(subject string, id int64, from, to, note string) {
	l := sv.l
	sv.transitions = append(sv.transitions, &Transition{VillageID: l.v, Subject: subject, SubjectID: id,
		FromState: from, ToState: to, Actor: l.actor, Note: note, At: l.now})
}

// jobKey is what ties an assignment to a saved job: the same request,
// team and day.
type jobKey struct {
	request, team int64
	date          string
}

// jobs matches the plan's new assignments to the saved unconfirmed jobs,
// changes workers in place, cancels what is left and creates the rest.
func (sv *planSave) jobs(ctx context.Context, plan planner.Plan) error {
	l, p, res := sv.l, sv.p, sv.res
	var news []planner.Assignment
	for _, a := range plan.Assignments {
		if !a.Fixed {
			news = append(news, a)
		}
	}
	ids := sortedKeys(p.replan)
	pend := map[jobKey][]*Job{}
	for _, id := range ids {
		for _, j := range p.pending[id] {
			k := jobKey{j.RequestID, j.TeamID, j.Date}
			pend[k] = append(pend[k], j)
		}
	}
	take := func(a planner.Assignment, match func(*Job) bool) *Job {
		k := jobKey{a.Request, a.Team, a.Date}
		i := slices.IndexFunc(pend[k], match)
		if i < 0 {
			return nil
		}
		j := pend[k][i]
		pend[k] = slices.Delete(pend[k], i, i+1)
		return j
	}
	// Exact matches first, so that a job kept as it was is never the one
	// whose workers change.
	res.Jobs = make([]*Job, len(news))
	for i, a := range news {
		if j := take(a, func(j *Job) bool { return sameWorkers(j, a) }); j != nil {
			res.Jobs[i] = j
			res.Kept++
		}
	}
	var created []*Job
	for i, a := range news {
		if res.Jobs[i] != nil {
			continue
		}
		if j := take(a, func(*Job) bool { return true }); j != nil {
			j.Workers, j.UpdatedAt = PlannedWorkers(a.Workers), l.now
			j.Version++
			if _, err := l.db.NewUpdate().Model(j).Column("workers", "version", "updated_at").WherePK().Exec(ctx); err != nil {
				return translate(err, "job")
			}
			sv.transition("job", j.ID, JobScheduled, JobScheduled, workersNote)
			sv.told.add(j, changeWorkers)
			res.Jobs[i] = j
			res.WorkersChanged++
			continue
		}
		j := &Job{VillageID: l.v, TeamID: a.Team, RequestID: a.Request, Date: a.Date, Workers: PlannedWorkers(a.Workers),
			State: JobScheduled, Attendance: []JobAttendance{}, CreatedBy: l.actor, Version: 1, CreatedAt: l.now, UpdatedAt: l.now}
		res.Jobs[i] = j
		created = append(created, j)
	}

	// What no assignment took is cancelled.
	var cancel []int64
	for _, id := range ids {
		for _, j := range p.pending[id] {
			if k := (jobKey{j.RequestID, j.TeamID, j.Date}); !slices.Contains(pend[k], j) {
				continue
			}
			cancel = append(cancel, j.ID)
			sv.transition("job", j.ID, j.State, JobCancelled, replanNote)
			j.State, j.UpdatedAt = JobCancelled, l.now
			j.Version++
			sv.told.add(j, changeCancelled)
			res.Cancelled = append(res.Cancelled, j)
		}
	}
	for c := range slices.Chunk(cancel, saveChunk) {
		_, err := l.db.NewUpdate().Model((*Job)(nil)).Set("state = ?", JobCancelled).Set("version = version + 1").
			Set("updated_at = ?", l.now).Where("id IN (?)", bun.In(c)).Exec(ctx)
		if err != nil {
			return translate(err, "jobs")
		}
	}

	if err := insertChunks(ctx, l.db, created, "jobs"); err != nil {
		return err
	}
	for _, j := range created {
		sv.transition("job", j.ID, "", JobScheduled, planNote)
		sv.told.add(j, changeCreated)
	}
	res.Created = len(created)
	return nil
}

// requests schedules the requests placed and leaves the others submitted
// with the reason, writing only those whose state or reason changes.
func (sv *planSave) requests(ctx context.Context, plan planner.Plan) error {
	l, p, res := sv.l, sv.p, sv.res
	placed := map[int64]bool{}
	for _, a := range plan.Assignments {
		if !a.Fixed {
			placed[a.Request] = true
		}
	}
	why := map[int64]string{}
	for _, u := range plan.Unplaced {
		why[u.Request] = u.Reason
	}
	type to struct{ state, reason string }
	var order []to
	groups := map[to][]int64{}
	for _, id := range sortedKeys(p.replan) {
		r := p.replan[id]
		want, note := to{RequestScheduled, ""}, planNote
		if placed[id] {
			res.Scheduled = append(res.Scheduled, id)
		} else {
			res.Unplaced = append(res.Unplaced, id)
			want, note = to{RequestSubmitted, why[id]}, unplacedNote+why[id]
		}
		if r.State == want.state && r.UnplacedReason == want.reason {
			continue
		}
		if r.State != want.state {
			sv.transition("request", r.ID, r.State, want.state, note)
		}
		r.State, r.UnplacedReason, r.UpdatedAt = want.state, want.reason, l.now
		r.Version++
		if groups[want] == nil {
			order = append(order, want)
		}
		groups[want] = append(groups[want], r.ID)
	}
	for _, g := range order {
		for c := range slices.Chunk(groups[g], saveChunk) {
			_, err := l.db.NewUpdate().Model((*HelpRequest)(nil)).Set("state = ?", g.state).Set("unplaced_reason = ?", g.reason).
				Set("version = version + 1").Set("updated_at = ?", l.now).Where("id IN (?)", bun.In(c)).Exec(ctx)
			if err != nil {
				return translate(err, "help requests")
			}
		}
	}
	return nil
}

// insertChunks inserts rows saveChunk at a time; bun sets their IDs.
func insertChunks[T any](ctx context.Context, db bun.IDB, rows []*T, what string) error {
	for c := range slices.Chunk(rows, saveChunk) {
		if _, err := db.NewInsert().Model(&c).Exec(ctx); err != nil {
			return translate(err, what)
		}
	}
	return nil
}

// Kinds of change a digest tells of.
const (
	changeCreated   = "created"
	changeCancelled = "cancelled"
	changeWorkers   = "workers"
)

// digestItems is how many changes a notice spells out; the rest are
// counted, so a message stays the length of a text message.
const digestItems = 8

// digest gathers a saved plan's changes by household and by team, so that
// each hears once.
type digest struct {
	p          *planning
	households map[int64][]digestItem
	teams      map[int64][]digestItem
}

type digestItem struct {
	job  *Job
	kind string
}

func newDigest(p *planning) *digest {
	return &digest{p: p, households: map[int64][]digestItem{}, teams: map[int64][]digestItem{}}
}

func (d *digest) add(j *Job, kind string) {
	hh := d.p.requests[j.RequestID].HouseholdID
	d.households[hh] = append(d.households[hh], digestItem{j, kind})
	d.teams[j.TeamID] = append(d.teams[j.TeamID], digestItem{j, kind})
}

// events are the notices: one a household, one a team, in ID order.
func (d *digest) events(l *loopTx) []*OutboxEvent {
	var out []*OutboxEvent
	for _, hh := range sortedKeys(d.households) {
		items := d.households[hh]
		first := slices.MinFunc(items, func(a, b digestItem) int { return cmp.Compare(a.job.RequestID, b.job.RequestID) })
		out = append(out, &OutboxEvent{VillageID: l.v, Audience: AudienceHousehold, AudienceID: hh, Event: EventPlanUpdated,
			Subject: "request", SubjectID: first.job.RequestID, Message: d.householdMessage(items), CreatedAt: l.now})
	}
	for _, t := range sortedKeys(d.teams) {
		out = append(out, &OutboxEvent{VillageID: l.v, Audience: AudienceTeam, AudienceID: t, Event: EventPlanUpdated,
			Subject: "team", SubjectID: t, Message: d.teamMessage(d.teams[t]), CreatedAt: l.now})
	}
	return out
}

// householdMessage tells a household, request by request, which days a
// team comes now: new days, days moved, days cancelled, crews changed.
func (d *digest) householdMessage(items []digestItem) string {
	byReq := map[int64][]digestItem{}
	for _, it := range items {
		byReq[it.job.RequestID] = append(byReq[it.job.RequestID], it)
	}
	var parts []string
	for _, id := range sortedKeys(byReq) {
		var news, olds, crews []string
		for _, it := range sortByDate(byReq[id]) {
			c := d.p.context(it.job)
			switch it.kind {
			case changeCreated:
				news = append(news, fmt.Sprintf("%s %s%d人", it.job.Date, c.team.Name, plannedWorkers(it.job.Workers)))
			case changeCancelled:
				olds = append(olds, it.job.Date)
			case changeWorkers:
				crews = append(crews, fmt.Sprintf("%s %d人", it.job.Date, plannedWorkers(it.job.Workers)))
			}
		}
		r := d.p.requests[id]
		part := d.p.fields[r.FieldID].Name + taskNames[r.Task] + " "
		var says []string
		switch {
		case len(news) > 0 && len(olds) > 0:
			says = append(says, "改期 moved "+listOf(olds)+" → "+listOf(news))
		case len(news) > 0:
			says = append(says, "新派工 new "+listOf(news))
		case len(olds) > 0:
			says = append(says, "取消 cancelled "+listOf(olds))
		}
		if len(crews) > 0 {
			says = append(says, "人数调整 workers "+listOf(crews))
		}
		parts = append(parts, part+strings.Join(says, "，"))
	}
	return "派工有变 plan changed：" + strings.Join(parts, "；") + "。"
}

// teamMessage tells a team's leader its changed jobs by date.
func (d *digest) teamMessage(items []digestItem) string {
	var parts []string
	confirm := false
	for _, it := range sortByDate(items) {
		j, c := it.job, d.p.context(it.job)
		switch it.kind {
		case changeCreated:
			confirm = true
			parts = append(parts, fmt.Sprintf("新派工 new %s %s %d人", j.Date, c.what(), plannedWorkers(j.Workers)))
		case changeCancelled:
			parts = append(parts, fmt.Sprintf("取消 cancelled %s %s", j.Date, c.what()))
		case changeWorkers:
			confirm = true
			parts = append(parts, fmt.Sprintf("人数调整 workers %s %s 改为%d人", j.Date, c.what(), plannedWorkers(j.Workers)))
		}
	}
	msg := "派工调整 plan changed：" + listOf(parts) + "。"
	if confirm {
		msg += "请确认 please confirm."
	}
	return msg
}

func sortByDate(items []digestItem) []digestItem {
	return slices.SortedStableFunc(slices.Values(items), func(a, b digestItem) int {
		return cmp.Or(cmp.Compare(a.job.Date, b.job.Date), cmp.Compare(a.job.ID, b.job.ID))
	})
}

// listOf joins the first digestItems of xs and counts the rest.
func listOf(xs []string) string {
	if len(xs) <= digestItems {
		return strings.Join(xs, "、")
	}
	return fmt.Sprintf("%s 等共%d项 (%d in all)", strings.Join(xs[:digestItems], "、"), len(xs), len(xs))
}

// check refuses a plan that no longer fits the records: it must place or
// report exactly the requests to plan, keep exactly the fixed jobs, and
// each new job must hold every hard rule against them. The planner keeps
// these rules; the check is here because the records may have moved
// since the plan was made.
func (p *planning) check(plan planner.Plan) error {
	stale := func(format string, args ...any) error {
		return Errorf(ECONFLICT, "记录已变动，请重新排计划 the plan no longer fits the records: %s; run the plan again",
			fmt.Sprintf(format, args...))
	}
	fixed := map[string]int{}
	for _, a := range p.in.Fixed {
		fixed[assignmentKey(a)]++
	}
	for _, a := range plan.Assignments {
		if a.Fixed {
			if fixed[assignmentKey(a)]--; fixed[assignmentKey(a)] < 0 {
				return stale("the job of request %d on %s is no longer kept as it was", a.Request, a.Date)
			}
		}
	}
	for _, a := range p.in.Fixed {
		if fixed[assignmentKey(a)] > 0 {
			return stale("request %d has a job on %s the plan does not know", a.Request, a.Date)
		}
	}
	seen := map[int64]bool{}
	for _, u := range plan.Unplaced {
		if p.replan[u.Request] == nil {
			return stale("request %d is no longer to plan", u.Request)
		}
		seen[u.Request] = true
	}
	reqs := map[int64]*planner.Request{}
	for i := range p.in.Requests {
		reqs[p.in.Requests[i].ID] = &p.in.Requests[i]
	}
	members := map[int64]map[int64]*planner.Member{}
	for _, t := range p.in.Teams {
		members[t.ID] = map[int64]*planner.Member{}
		for i := range t.Members {
			members[t.ID][t.Members[i].Household] = &t.Members[i]
		}
	}
	blocked := map[planner.Blocked]bool{}
	for _, b := range p.in.Blocked {
		blocked[b] = true
	}
	type hhDay struct {
		hh   int64
		date string
	}
	busy := map[hhDay]bool{}
	for _, a := range p.in.Fixed {
		for _, w := range a.Workers {
			busy[hhDay{w.Household, a.Date}] = true
		}
	}
	for _, a := range plan.Assignments {
		if a.Fixed {
			continue
		}
		r := reqs[a.Request]
		if p.replan[a.Request] == nil || r == nil {
			return stale("request %d is no longer to plan", a.Request)
		}
		seen[a.Request] = true
		ms := members[a.Team]
		switch {
		case ms == nil:
			return stale("team %d has no members", a.Team)
		case a.Date < p.in.Start || a.Date > p.in.End:
			return stale("%s is outside the plan's dates %s to %s", a.Date, p.in.Start, p.in.End)
		case a.Date < r.Earliest:
			return stale("request %d's window opens on %s, after %s", r.ID, r.Earliest, a.Date)
		case blocked[planner.Blocked{Date: a.Date}] || blocked[planner.Blocked{Date: a.Date, Group: r.Group}]:
			return stale("%s is blocked", a.Date)
		case len(a.Workers) == 0:
			return stale("a job of request %d has no workers", r.ID)
		}
		for _, w := range a.Workers {
			m := ms[w.Household]
			switch {
			case m == nil:
				return stale("household %d is not a member of team %d", w.Household, a.Team)
			case w.HalfDays < 1 || w.HalfDays > 2*int64(m.Workers):
				return stale("household %d offers %d workers, not %d half days", w.Household, m.Workers, w.HalfDays)
			case slices.Contains(m.Unavailable, a.Date):
				return stale("household %d cannot come on %s", w.Household, a.Date)
			case busy[hhDay{w.Household, a.Date}]:
				return stale("household %d is on two jobs on %s", w.Household, a.Date)
			}
			busy[hhDay{w.Household, a.Date}] = true
		}
	}
	for id := range p.replan {
		if !seen[id] {
			return stale("request %d is new to the plan", id)
		}
	}
	return nil
}

// context is a job with what its notices need, from what was loaded.
func (p *planning) context(j *Job) *jobContext {
	r := p.requests[j.RequestID]
	return &jobContext{job: j, request: r, field: p.fields[r.FieldID], helped: p.households[r.HouseholdID], team: p.teams[j.TeamID]}
}

// PlannedWorkers turns an assignment's half days into people: a person works
// two half days, so a household planned for 3 sends 2.
func PlannedWorkers(ws []planner.Worker) []PlannedWorker {
	out := make([]PlannedWorker, len(ws))
	for i, w := range ws {
		out[i] = PlannedWorker{HouseholdID: w.Household, Workers: int((w.HalfDays + 1) / 2)}
	}
	slices.SortFunc(out, func(a, b PlannedWorker) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
	return out
}

// sameWorkers reports whether a saved job sends the assignment's workers.
func sameWorkers(j *Job, a planner.Assignment) bool {
	ws := slices.Clone(j.Workers)
	slices.SortFunc(ws, func(a, b PlannedWorker) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
	return slices.Equal(ws, PlannedWorkers(a.Workers))
}

func assignmentKey(a planner.Assignment) string {
	ws := slices.Clone(a.Workers)
	slices.SortFunc(ws, func(a, b planner.Worker) int { return cmp.Compare(a.Household, b.Household) })
	return fmt.Sprintf("request %d, team %d, %s, %v", a.Request, a.Team, a.Date, ws)
}

// crewCapOf is a request's crew cap as the planner reads it: 0 for the
// default from the field's area.
func crewCapOf(r *HelpRequest) int {
	if r.CrewCap == nil {
		return 0
	}
	return *r.CrewCap
}

// addDays is the date n days after date (YYYY-MM-DD).
func addDays(date string, n int) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
