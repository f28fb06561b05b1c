package scheduler

import (
	"context"

	"huangong/scheduler/planner"
	"huangong/store"
)

// PlanInstance builds the planner's input for a scope from the store's
// planning records:
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
func PlanInstance(ctx context.Context, st *store.Store, villageID int64, scope store.PlanScope) (planner.Instance, error) {
	rec, err := st.PlanningRecords(ctx, villageID, scope)
	if err != nil {
		return planner.Instance{}, err
	}
	return instanceOf(rec), nil
}

// taskRank orders the tasks on one field: in the summer double-rush the
// early rice is harvested, the field prepared, then the late rice
// transplanted.
var taskRank = map[string]int{store.TaskHarvest: 0, store.TaskPrepare: 1, store.TaskTransplant: 2}

// instanceOf is the planner's instance of a scope's records.
func instanceOf(rec *store.PlanningRecords) planner.Instance {
	in := planner.Instance{Start: rec.Start, End: rec.End, Requests: []planner.Request{}, Teams: []planner.Team{},
		Blocked: []planner.Blocked{}, Balances: map[int64]int64{}, Fixed: []planner.Assignment{}, Previous: []planner.Assignment{}}

	// Precedence on a field among the season's open requests.
	onField := map[int64][]*store.HelpRequest{}
	for _, pr := range rec.Requests {
		if pr.Request.Open() {
			onField[pr.Request.FieldID] = append(onField[pr.Request.FieldID], pr.Request)
		}
	}
	for _, pr := range rec.Requests {
		r := pr.Request
		q := planner.Request{ID: r.ID, Household: r.HouseholdID, Field: r.FieldID, Group: pr.Field.Group,
			Task: r.Task, HalfDays: pr.HalfDays, Earliest: r.Earliest, Latest: r.Latest,
			Priority: min(max(r.Priority, 1), 100), Exempt: pr.Household.Exempt,
			Area: float64(pr.Field.AreaCentimu) / 100, CrewCap: crewCapOf(r),
			LeftUnplaced: r.State == store.RequestSubmitted && r.UnplacedReason != ""}
		if pr.Replan {
			for _, o := range onField[r.FieldID] {
				if o.SeasonID == r.SeasonID && taskRank[o.Task] < taskRank[r.Task] {
					q.After = append(q.After, o.ID)
				}
			}
		}
		in.Requests = append(in.Requests, q)
	}

	for _, t := range rec.Teams {
		pt := planner.Team{ID: t.ID}
		for _, m := range t.Members {
			pt.Members = append(pt.Members, planner.Member{Household: m.HouseholdID, Group: m.Group,
				Workers: m.WorkersPerDay, Unavailable: m.Unavailable})
		}
		in.Teams = append(in.Teams, pt)
	}
	for _, b := range rec.Blocked {
		in.Blocked = append(in.Blocked, planner.Blocked{Date: b.Date, Group: b.Group})
	}
	for hh, b := range rec.Balances {
		in.Balances[hh] = b
	}
	for _, j := range rec.Fixed {
		in.Fixed = append(in.Fixed, assignmentOf(j))
	}
	for _, j := range rec.Previous {
		in.Previous = append(in.Previous, assignmentOf(j))
	}
	return in
}

// crewCapOf is a request's crew cap as the planner reads it: 0 for the
// default from the field's area.
func crewCapOf(r *store.HelpRequest) int {
	if r.CrewCap == nil {
		return 0
	}
	return *r.CrewCap
}

// assignmentOf is a saved job as the planner sees it.
func assignmentOf(j store.PlanJob) planner.Assignment {
	a := planner.Assignment{Request: j.RequestID, Team: j.TeamID, Date: j.Date}
	for _, w := range j.Workers {
		a.Workers = append(a.Workers, planner.Worker{Household: w.HouseholdID, HalfDays: w.HalfDays})
	}
	return a
}
