package scheduler

import (
	"context"

	"huangong/scheduler/planner"
	"huangong/store"
)

// ApplyPlan saves a plan of a scope made from PlanInstance: its kept and
// new jobs and the requests it could not place go to the store's
// SavePlan, which checks them against the records in its transaction
// and writes only what changed (see store.Store.SavePlan). A plan that no
// longer fits the records is ECONFLICT, and nothing is saved.
func ApplyPlan(ctx context.Context, st *store.Store, villageID int64, actor string, scope store.PlanScope, plan planner.Plan) (*store.PlanResult, error) {
	return st.SavePlan(ctx, villageID, actor, scope, saveOf(plan))
}

// saveOf is a plan as the store saves it.
func saveOf(plan planner.Plan) store.PlanSave {
	var sv store.PlanSave
	for _, a := range plan.Assignments {
		if a.Fixed {
			sv.Fixed = append(sv.Fixed, planJobOf(a))
		} else {
			sv.Jobs = append(sv.Jobs, planJobOf(a))
		}
	}
	for _, u := range plan.Unplaced {
		sv.Unplaced = append(sv.Unplaced, store.UnplacedRequest{RequestID: u.Request, Reason: u.Reason})
	}
	return sv
}

func planJobOf(a planner.Assignment) store.PlanJob {
	return store.PlanJob{RequestID: a.Request, TeamID: a.Team, Date: a.Date, Workers: planWorkersOf(a.Workers)}
}

func planWorkersOf(ws []planner.Worker) []store.PlanWorker {
	out := make([]store.PlanWorker, len(ws))
	for i, w := range ws {
		out[i] = store.PlanWorker{HouseholdID: w.Household, HalfDays: w.HalfDays}
	}
	return out
}

// PlannedWorkers turns an assignment's half days into people: a person
// works two half days, so a household planned for 3 sends 2.
func PlannedWorkers(ws []planner.Worker) []store.PlannedWorker {
	return store.PlannedWorkers(planWorkersOf(ws))
}
