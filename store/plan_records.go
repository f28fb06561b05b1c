package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// PlanningRecords are the records a plan of a scope is made from and saved
// against, read in one go: the requests the plan places and the jobs it
// must keep, the teams, blocked days and balances. The scheduler turns
// them into the planner's instance; SavePlan reads them again inside its
// transaction, so a plan is checked against the records as they are when
// it is saved.
type PlanningRecords struct {
	// Start and End bound the plan (inclusive): the scope's dates, from
	// today in the village if later.
	Start, End string
	// Requests are those the plan places (Replan) and those kept as they
	// are whose jobs fall in the plan's dates, by ID.
	Requests []PlanRequest
	// Teams are the village's teams that have members, by ID.
	Teams []PlanTeam
	// Blocked are the blocked days in the plan's dates, by date and group.
	Blocked []*BlockedDay
	// Balances are the households' workday balances in half days; a
	// household with none is missing.
	Balances map[int64]int64
	// Fixed are the jobs that stay as they are, by date: done, confirmed,
	// inside the freeze horizon, or of a request kept as it is.
	Fixed []PlanJob
	// Previous are the saved unconfirmed jobs of the requests to place
	// past the freeze horizon, with their workers still members: what the
	// plan has told so far.
	Previous []PlanJob

	// replan are the requests the plan places: submitted, or scheduled
	// with no job confirmed. pending are their movable scheduled jobs,
	// which a saved plan replaces.
	replan  map[int64]*HelpRequest
	pending map[int64][]*Job

	requests   map[int64]*HelpRequest // every request of Requests
	fields     map[int64]*Field
	households map[int64]*Household
	teams      map[int64]*Team // every team of the village, with members
}

// PlanRequest is a request as a plan sees it.
type PlanRequest struct {
	Request   *HelpRequest
	Field     *Field
	Household *Household // the household helped
	// HalfDays is the work the request asks of the plan in all, done and
	// fixed jobs included; for a request kept as it is, the work of its
	// fixed jobs.
	HalfDays int64
	// Replan is set on a request the plan places; the others are kept as
	// they are and only hold their fixed jobs.
	Replan bool
}

// PlanTeam is a team with its members as a plan may send them.
type PlanTeam struct {
	ID      int64
	Members []PlanMember
}

// PlanMember is a member household of a team.
type PlanMember struct {
	HouseholdID   int64
	Group         int // the household's village group
	WorkersPerDay int
	// Unavailable are the days in the plan's dates it cannot come: its
	// days off, and the days its people are on a job of another team.
	Unavailable []string
}

// PlanJob is one team's work for one request on one date, its workers
// counted in half days.
type PlanJob struct {
	RequestID, TeamID int64
	Date              string
	Workers           []PlanWorker
}

// PlanWorker is a household on a job and the half days of work it brings.
type PlanWorker struct {
	HouseholdID int64
	HalfDays    int64
}

// PlanningRecords reads the records a plan of a scope is made from:
//   - the open requests in scope;
//   - the requests that are confirmed, or have a confirmed job, are not
//     planned again: their jobs are fixed, and so is every other active
//     job in the plan's dates, so their workers stay taken; a request's
//     done jobs and its jobs inside the freeze horizon are fixed too;
//   - teams with members, their workers a day and days off; blocked days;
//     balances from the ledger.
//
// The plan runs from the scope's first day, or today in the village if
// later, to its last.
func (s *Store) PlanningRecords(ctx context.Context, villageID int64, scope PlanScope) (*PlanningRecords, error) {
	return s.loadPlanning(ctx, s.db, villageID, scope, s.Now())
}

var (
	openStates   = []string{RequestSubmitted, RequestScheduled, RequestConfirmed}
	activeStates = []string{JobScheduled, JobConfirmed, JobDone}
)

func (s *Store) loadPlanning(ctx context.Context, db bun.IDB, villageID int64, sc PlanScope, now time.Time) (*PlanningRecords, error) {
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
	p := &PlanningRecords{Start: start, End: end, Requests: []PlanRequest{}, Teams: []PlanTeam{},
		Blocked: []*BlockedDay{}, Balances: map[int64]int64{}, Fixed: []PlanJob{}, Previous: []PlanJob{},
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

	// A job's workers as a plan counts them: the members who came to a
	// done job, or those planned on another, two half days a person. The
	// others (no longer members, named helpers) are only kept free that
	// day.
	away := map[int64][]string{} // household → dates it is on a job outside its team
	workersOf := func(j *Job) []PlanWorker {
		var ws []PlanWorker
		add := func(hh, half int64) {
			if members[j.TeamID][hh] != nil {
				ws = append(ws, PlanWorker{HouseholdID: hh, HalfDays: half})
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
		sortPlanWorkers(ws)
		return ws
	}
	// A saved unconfirmed job as the plan may keep it: its workers who are
	// still members. One who left is dropped here, so the plan keeps the
	// job with the others and the save changes its workers.
	plannedOf := func(j *Job) []PlanWorker {
		var ws []PlanWorker
		for _, w := range j.Workers {
			if members[j.TeamID][w.HouseholdID] != nil {
				ws = append(ws, PlanWorker{HouseholdID: w.HouseholdID, HalfDays: 2 * int64(w.Workers)})
			}
		}
		sortPlanWorkers(ws)
		return ws
	}
	// movable: a saved unconfirmed job past the freeze horizon and inside
	// the plan's dates. The others stay where they are: a job the plan
	// cannot move into its dates is better kept than dropped.
	movable := func(j *Job) bool { return j.Date >= frozenUntil && j.Date >= start && j.Date <= end }
	sumHalf := func(ws []PlanWorker) (n int64) {
		for _, w := range ws {
			n += w.HalfDays
		}
		return n
	}
	inRange := func(j *Job) bool { return j.Date >= start && j.Date <= end && slices.Contains(activeStates, j.State) }

	// Which requests are planned, and which jobs stay as they are.
	type fixedJob struct {
		job     *Job
		workers []PlanWorker
	}
	var fixed []fixedJob
	halfDays := map[int64]int64{} // the work each request of the plan needs
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
					p.Previous = append(p.Previous, PlanJob{RequestID: j.RequestID, TeamID: j.TeamID, Date: j.Date, Workers: ws})
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
		p.Fixed = append(p.Fixed, PlanJob{RequestID: f.job.RequestID, TeamID: f.job.TeamID, Date: f.job.Date, Workers: f.workers})
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
	for _, r := range reqs {
		if p.requests[r.ID] != nil {
			p.Requests = append(p.Requests, PlanRequest{Request: r, Field: p.fields[r.FieldID], Household: p.households[r.HouseholdID],
				HalfDays: halfDays[r.ID], Replan: p.replan[r.ID] != nil})
		}
	}

	for _, t := range teams {
		if members[t.ID] == nil {
			continue
		}
		pt := PlanTeam{ID: t.ID}
		for _, m := range t.Members {
			var off []string
			for _, d := range append(slices.Clone(m.UnavailableDays), away[m.HouseholdID]...) {
				if d >= start && d <= end {
					off = append(off, d)
				}
			}
			slices.Sort(off)
			pt.Members = append(pt.Members, PlanMember{HouseholdID: m.HouseholdID, Group: m.Household.Group,
				WorkersPerDay: m.WorkersPerDay, Unavailable: slices.Compact(off)})
		}
		p.Teams = append(p.Teams, pt)
	}

	if p.Blocked, err = blockedDays(ctx, db, villageID, start, end); err != nil {
		return nil, err
	}

	var accounts []*Account
	err = db.NewSelect().Model(&accounts).Where("village_id = ?", villageID).
		Where("household_id IS NOT NULL").Where("balance <> 0").Scan(ctx)
	if err != nil {
		return nil, translate(err, "accounts")
	}
	for _, a := range accounts {
		p.Balances[*a.HouseholdID] = a.Balance
	}
	return p, nil
}

func sortPlanWorkers(ws []PlanWorker) {
	slices.SortFunc(ws, func(a, b PlanWorker) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
}

// addDays is the date n days after date (YYYY-MM-DD).
func addDays(date string, n int) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}
