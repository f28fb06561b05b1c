package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// PlanSave is a plan of a scope as SavePlan takes it: what it keeps, what
// it places and what it could not.
type PlanSave struct {
	// Fixed are the jobs the plan keeps as they are: exactly the records'
	// Fixed jobs.
	Fixed []PlanJob
	// Jobs are the plan's new jobs, in its order.
	Jobs []PlanJob
	// Unplaced are the requests to place that the plan could not place,
	// each with the reason.
	Unplaced []UnplacedRequest
}

// UnplacedRequest is a request a plan could not place, and why.
type UnplacedRequest struct {
	RequestID int64
	Reason    string
}

// PlanResult is what SavePlan saved.
type PlanResult struct {
	// Jobs are the records of the plan's new jobs, in the plan's
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

// SavePlan saves a plan of a scope made from its PlanningRecords, in one
// transaction, touching only what changed. Each new job is matched
// to an unconfirmed job of its request on the same day with the same
// team: with the same workers the job stays untouched, with others its
// workers are changed in place; a new job with no saved one becomes a
// new job, and the unconfirmed jobs left unmatched are cancelled. Each
// placed request is scheduled and each one the plan could not place is
// left submitted with the reason. Every household whose requests' jobs
// changed gets one notice, and every team whose jobs changed one notice,
// each a digest of the changes; no one hears of a job that did not
// change. The plan must still fit the records: a request planned, kept or
// fixed since, a worker gone, a day blocked is ECONFLICT, and nothing is
// saved.
func (s *Store) SavePlan(ctx context.Context, villageID int64, actor string, scope PlanScope, plan PlanSave) (*PlanResult, error) {
	res := &PlanResult{Jobs: []*Job{}, Cancelled: []*Job{}, Scheduled: []int64{}, Unplaced: []int64{}}
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		p, err := s.loadPlanning(ctx, l.db, villageID, scope, l.now)
		if err != nil {
			return err
		}
		if err := p.check(plan); err != nil {
			return err
		}
		sv := &saving{l: l, p: p, res: res, told: newDigest(p)}
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

// saving is one SavePlan's writes, gathered so that rows of a kind go in
// together.
type saving struct {
	l           *loopTx
	p           *PlanningRecords
	res         *PlanResult
	transitions []*Transition
	told        *digest
}

func (sv *saving) transition(subject string, id int64, from, to, note string) {
	l := sv.l
	sv.transitions = append(sv.transitions, &Transition{VillageID: l.v, Subject: subject, SubjectID: id,
		FromState: from, ToState: to, Actor: l.actor, Note: note, At: l.now})
}

// jobKey is what ties a plan's job to a saved job: the same request, team
// and day.
type jobKey struct {
	request, team int64
	date          string
}

// jobs matches the plan's new jobs to the saved unconfirmed jobs,
// changes workers in place, cancels what is left and creates the rest.
func (sv *saving) jobs(ctx context.Context, plan PlanSave) error {
	l, p, res := sv.l, sv.p, sv.res
	news := plan.Jobs
	ids := sortedKeys(p.replan)
	pend := map[jobKey][]*Job{}
	for _, id := range ids {
		for _, j := range p.pending[id] {
			k := jobKey{j.RequestID, j.TeamID, j.Date}
			pend[k] = append(pend[k], j)
		}
	}
	take := func(a PlanJob, match func(*Job) bool) *Job {
		k := jobKey{a.RequestID, a.TeamID, a.Date}
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
		j := &Job{VillageID: l.v, TeamID: a.TeamID, RequestID: a.RequestID, Date: a.Date, Workers: PlannedWorkers(a.Workers),
			State: JobScheduled, Attendance: []JobAttendance{}, CreatedBy: l.actor, Version: 1, CreatedAt: l.now, UpdatedAt: l.now}
		res.Jobs[i] = j
		created = append(created, j)
	}

	// What no new job took is cancelled.
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
func (sv *saving) requests(ctx context.Context, plan PlanSave) error {
	l, p, res := sv.l, sv.p, sv.res
	placed := map[int64]bool{}
	for _, a := range plan.Jobs {
		placed[a.RequestID] = true
	}
	why := map[int64]string{}
	for _, u := range plan.Unplaced {
		why[u.RequestID] = u.Reason
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
	p          *PlanningRecords
	households map[int64][]digestItem
	teams      map[int64][]digestItem
}

type digestItem struct {
	job  *Job
	kind string
}

func newDigest(p *PlanningRecords) *digest {
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
// since the plan was made, and because they guard the records.
func (p *PlanningRecords) check(plan PlanSave) error {
	stale := func(format string, args ...any) error {
		return Errorf(ECONFLICT, "记录已变动，请重新排计划 the plan no longer fits the records: %s; run the plan again",
			fmt.Sprintf(format, args...))
	}
	fixed := map[string]int{}
	for _, a := range p.Fixed {
		fixed[planJobKey(a)]++
	}
	for _, a := range plan.Fixed {
		if fixed[planJobKey(a)]--; fixed[planJobKey(a)] < 0 {
			return stale("the job of request %d on %s is no longer kept as it was", a.RequestID, a.Date)
		}
	}
	for _, a := range p.Fixed {
		if fixed[planJobKey(a)] > 0 {
			return stale("request %d has a job on %s the plan does not know", a.RequestID, a.Date)
		}
	}
	seen := map[int64]bool{}
	for _, u := range plan.Unplaced {
		if p.replan[u.RequestID] == nil {
			return stale("request %d is no longer to plan", u.RequestID)
		}
		seen[u.RequestID] = true
	}
	members := map[int64]map[int64]*PlanMember{}
	for _, t := range p.Teams {
		members[t.ID] = map[int64]*PlanMember{}
		for i := range t.Members {
			members[t.ID][t.Members[i].HouseholdID] = &t.Members[i]
		}
	}
	type day struct {
		date  string
		group int
	}
	blocked := map[day]bool{}
	for _, b := range p.Blocked {
		blocked[day{b.Date, b.Group}] = true
	}
	type hhDay struct {
		hh   int64
		date string
	}
	busy := map[hhDay]bool{}
	for _, a := range p.Fixed {
		for _, w := range a.Workers {
			busy[hhDay{w.HouseholdID, a.Date}] = true
		}
	}
	for _, a := range plan.Jobs {
		r := p.replan[a.RequestID]
		if r == nil {
			return stale("request %d is no longer to plan", a.RequestID)
		}
		seen[a.RequestID] = true
		ms := members[a.TeamID]
		group := p.fields[r.FieldID].Group
		switch {
		case ms == nil:
			return stale("team %d has no members", a.TeamID)
		case a.Date < p.Start || a.Date > p.End:
			return stale("%s is outside the plan's dates %s to %s", a.Date, p.Start, p.End)
		case a.Date < r.Earliest:
			return stale("request %d's window opens on %s, after %s", r.ID, r.Earliest, a.Date)
		case blocked[day{a.Date, 0}] || blocked[day{a.Date, group}]:
			return stale("%s is blocked", a.Date)
		case len(a.Workers) == 0:
			return stale("a job of request %d has no workers", r.ID)
		}
		for _, w := range a.Workers {
			m := ms[w.HouseholdID]
			switch {
			case m == nil:
				return stale("household %d is not a member of team %d", w.HouseholdID, a.TeamID)
			case w.HalfDays < 1 || w.HalfDays > 2*int64(m.WorkersPerDay):
				return stale("household %d offers %d workers, not %d half days", w.HouseholdID, m.WorkersPerDay, w.HalfDays)
			case slices.Contains(m.Unavailable, a.Date):
				return stale("household %d cannot come on %s", w.HouseholdID, a.Date)
			case busy[hhDay{w.HouseholdID, a.Date}]:
				return stale("household %d is on two jobs on %s", w.HouseholdID, a.Date)
			}
			busy[hhDay{w.HouseholdID, a.Date}] = true
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
func (p *PlanningRecords) context(j *Job) *jobContext {
	r := p.requests[j.RequestID]
	return &jobContext{job: j, request: r, field: p.fields[r.FieldID], helped: p.households[r.HouseholdID], team: p.teams[j.TeamID]}
}

// PlannedWorkers turns a job's half days into people: a person works two
// half days, so a household planned for 3 sends 2.
func PlannedWorkers(ws []PlanWorker) []PlannedWorker {
	out := make([]PlannedWorker, len(ws))
	for i, w := range ws {
		out[i] = PlannedWorker{HouseholdID: w.HouseholdID, Workers: int((w.HalfDays + 1) / 2)}
	}
	slices.SortFunc(out, func(a, b PlannedWorker) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
	return out
}

// sameWorkers reports whether a saved job sends the plan's job's workers.
func sameWorkers(j *Job, a PlanJob) bool {
	ws := slices.Clone(j.Workers)
	slices.SortFunc(ws, func(a, b PlannedWorker) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
	return slices.Equal(ws, PlannedWorkers(a.Workers))
}

func planJobKey(a PlanJob) string {
	ws := slices.Clone(a.Workers)
	sortPlanWorkers(ws)
	return fmt.Sprintf("request %d, team %d, %s, %v", a.RequestID, a.TeamID, a.Date, ws)
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
