package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"huangong/scheduler/planner"
	"huangong/store"
)

// unreachable matches the planner's refusal of one request no team can
// reach: its field is the request's own, "requests[3]".
var unreachable = regexp.MustCompile(`^requests\[(\d+)\]$`)

// SolveVillage runs the planner on an instance built from a village's
// records, for run-plan, block-days and the nightly plan alike. A request
// no team can reach before the plan ends (every day left rained out, or
// no member free) is bad input to the pure planner, but in a village it is
// a request this plan cannot place: it is set aside with the requests that
// wait for it and reported unplaced. Any other refusal is an EINVALID
// error naming the instance's field.
func SolveVillage(ctx context.Context, in planner.Instance, opts planner.Options) (planner.Plan, error) {
	aside, asideFixed, asideChanges := []planner.Unplaced{}, []planner.Assignment{}, []planner.Change{}
	for {
		plan := planner.Plan{Assignments: []planner.Assignment{}, Unplaced: []planner.Unplaced{}, Late: []planner.LateRequest{}, Changes: []planner.Change{}}
		var err error
		if len(in.Requests) > 0 {
			plan, err = planner.Solve(ctx, in, opts)
		}
		var ie *planner.InputError
		if errors.As(err, &ie) {
			m := unreachable.FindStringSubmatch(ie.Field)
			if m == nil {
				return planner.Plan{}, store.Invalid(ie.Field, "%s", ie.Message)
			}
			i, _ := strconv.Atoi(m[1])
			in, aside, asideFixed, asideChanges = setAside(in, in.Requests[i].ID, ie.Message, aside, asideFixed, asideChanges)
			continue
		}
		if err != nil {
			return planner.Plan{}, err
		}
		plan.Unplaced = append(plan.Unplaced, aside...)
		slices.SortFunc(plan.Unplaced, func(a, b planner.Unplaced) int { return cmp.Compare(a.Request, b.Request) })
		// The jobs already done for a request set aside stay as they are.
		plan.Assignments = append(plan.Assignments, asideFixed...)
		// Their saved jobs go, and the plan says so.
		plan.Changes = append(plan.Changes, asideChanges...)
		slices.SortStableFunc(plan.Changes, func(a, b planner.Change) int {
			return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Team, b.Team), cmp.Compare(a.Request, b.Request))
		})
		return plan, nil
	}
}

// setAside takes a request out of the instance with every request that
// waits for it, their fixed jobs and their saved ones, recording why; a
// saved job set aside is a change (moved: the request is no longer
// placed).
func setAside(in planner.Instance, id int64, why string, aside []planner.Unplaced, asideFixed []planner.Assignment,
	asideChanges []planner.Change) (planner.Instance, []planner.Unplaced, []planner.Assignment, []planner.Change) {
	out := map[int64]string{id: why}
	for grew := true; grew; {
		grew = false
		for _, r := range in.Requests {
			if _, ok := out[r.ID]; ok {
				continue
			}
			for _, a := range r.After {
				if _, ok := out[a]; ok {
					out[r.ID] = fmt.Sprintf("前序求助%[1]d未能安排 waits for request %[1]d, which cannot be placed", a)
					grew = true
					break
				}
			}
		}
	}
	var reqs []planner.Request
	for _, r := range in.Requests {
		if why, ok := out[r.ID]; ok {
			aside = append(aside, planner.Unplaced{Request: r.ID, Reason: why})
		} else {
			reqs = append(reqs, r)
		}
	}
	var fixed []planner.Assignment
	for _, a := range in.Fixed {
		if _, ok := out[a.Request]; ok {
			a.Fixed = true
			asideFixed = append(asideFixed, a)
		} else {
			fixed = append(fixed, a)
		}
	}
	var previous []planner.Assignment
	for _, a := range in.Previous {
		if why, ok := out[a.Request]; ok {
			asideChanges = append(asideChanges, planner.Change{Request: a.Request, Team: a.Team, Date: a.Date,
				Kind: planner.ChangeMoved, Reason: planner.ReasonDates, Message: why})
		} else {
			previous = append(previous, a)
		}
	}
	in.Requests, in.Fixed, in.Previous = reqs, fixed, previous
	return in, aside, asideFixed, asideChanges
}
