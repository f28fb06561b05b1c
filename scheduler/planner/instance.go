package planner

import "math"

// Instance is one planning problem: the open help requests of a village,
// its teams, the days no one can work and the households' balances, over
// the dates Start..End. It is what `huangong plan --in` reads; the JSON
// names are the contract and InstanceSchema describes them.
type Instance struct {
	// Start and End bound the plan (inclusive, YYYY-MM-DD). Nothing is
	// planned after End; a request that cannot be finished by then is
	// reported unplaced.
	Start string `json:"start"`
	End   string `json:"end"`
	// Requests to plan, each with its remaining window.
	Requests []Request `json:"requests"`
	Teams    []Team    `json:"teams"`
	// Blocked days: rain, village-wide (group 0) or in one village group.
	Blocked []Blocked `json:"blocked,omitempty"`
	// Balances are the households' workday balances in half days before
	// the plan; negative means the household owes help. Missing is zero.
	Balances map[int64]int64 `json:"balances,omitempty"`
	// Fixed jobs are confirmed, done, or inside the village's freeze
	// horizon (today and tomorrow): they are kept as they are, count toward
	// their request and occupy their workers.
	Fixed []Assignment `json:"fixed,omitempty"`
	// Previous are the saved jobs not yet confirmed of the requests to
	// plan: the plan already told to the teams and households. A re-plan
	// keeps each one (same request, day, team and workers) while it still
	// fits, and moves it only when keeping it is infeasible or moving it
	// lets strictly more requests finish inside their windows; Plan.Changes
	// says which moved and why.
	Previous []Assignment `json:"previous,omitempty"`
}

// Request is a household's help request for one field and task.
type Request struct {
	ID        int64  `json:"id"`
	Household int64  `json:"household"` // the household helped
	Field     int64  `json:"field,omitempty"`
	Group     int    `json:"group"` // the field's village group: rain and locality
	Task      string `json:"task,omitempty"`
	// HalfDays of work the request needs in all (fixed jobs included).
	HalfDays int64 `json:"halfDays"`
	// Earliest and Latest are the window. Work never starts before
	// Earliest; work after Latest is late and reported.
	Earliest string `json:"earliest"`
	Latest   string `json:"latest"`
	// Priority weighs the request's in-window work: 1 (least) … 100.
	Priority int `json:"priority"`
	// After lists requests that must finish (their last day) before this
	// one starts: prepare before transplant on one field.
	After []int64 `json:"after,omitempty"`
	// Exempt households have the help they get paid by the village fund,
	// so it does not lower their balance.
	Exempt bool `json:"exempt,omitempty"`
	// Area of the field in mu: the default crew cap.
	Area float64 `json:"area,omitempty"`
	// CrewCap is the most people the field takes on one day (a 1-mu paddy
	// holds 2–3 transplanters); 0 means DefaultCrewCap(Area).
	CrewCap int `json:"crewCap,omitempty"`
	// LeftUnplaced marks a request the saved plan could not place: a
	// re-plan still puts it in free capacity, but moves no saved job to
	// make room for it unless something changed (a new request, a job
	// that no longer fits). A new request leaves it false.
	LeftUnplaced bool `json:"leftUnplaced,omitempty"`
}

// Crew caps: a field takes at least MinCrew and at most MaxCrew people a
// day; DefaultCrewCap gives two people a mu in between.
const (
	MinCrew = 2
	MaxCrew = 6
)

// DefaultCrewCap is the crew cap of a field of areaMu mu: ceil(2 × mu),
// between MinCrew and MaxCrew. An unknown area (0) gets MaxCrew.
func DefaultCrewCap(areaMu float64) int {
	if areaMu <= 0 {
		return MaxCrew
	}
	n := int(math.Ceil(2*areaMu - 1e-9))
	return min(max(n, MinCrew), MaxCrew)
}

// Team is a mutual-aid team and its member households.
type Team struct {
	ID      int64    `json:"id"`
	Members []Member `json:"members"`
}

// Member is a household working for a team.
type Member struct {
	Household int64 `json:"household"`
	Group     int   `json:"group,omitempty"` // the household's village group
	// Workers it sends on a day it works (each works 2 half days).
	Workers int `json:"workers"`
	// Unavailable dates (YYYY-MM-DD) it cannot come.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Blocked is a day no field can be worked: village-wide when Group is 0.
type Blocked struct {
	Date  string `json:"date"`
	Group int    `json:"group,omitempty"`
}

// Assignment is one job: a team working on a request on one date, with
// the member households it sends.
type Assignment struct {
	Request int64    `json:"request"`
	Team    int64    `json:"team"`
	Date    string   `json:"date"`
	Workers []Worker `json:"workers"`
	// Fixed marks a job copied from Instance.Fixed; the rest are new or
	// kept from Instance.Previous.
	Fixed bool `json:"fixed,omitempty"`
}

// HalfDays is the job's total work.
func (a *Assignment) HalfDays() int64 {
	var n int64
	for _, w := range a.Workers {
		n += w.HalfDays
	}
	return n
}

// Worker is a member household on a job and the half days it works there
// (up to twice its workers).
type Worker struct {
	Household int64 `json:"household"`
	HalfDays  int64 `json:"halfDays"`
}

// Plan is the planner's answer.
type Plan struct {
	// Assignments, fixed ones included, by date, team and request.
	Assignments []Assignment `json:"assignments"`
	// Unplaced requests could not be finished by End; they get no new jobs.
	Unplaced []Unplaced `json:"unplaced"`
	// Changes are the jobs of Instance.Previous the plan does not keep as
	// they were, each with its reason; a job not listed is kept exactly.
	Changes []Change `json:"changes"`
	// Late requests finish after their window: Days after Latest.
	Late  []LateRequest `json:"late"`
	Score Score         `json:"score"`
	// Bound is the most the in-window terms could reach (see Bound).
	Bound Bounds `json:"bound"`
}

// Unplaced is a request the plan could not finish, and why.
type Unplaced struct {
	Request int64  `json:"request"`
	Reason  string `json:"reason"`
}

// Change is a job of Instance.Previous that the plan does not keep as it
// was: Kind ChangeMoved (the request's work of that day went to another
// day or team, or the request is no longer placed) or ChangeWorkers (the
// same request, day and team with other workers).
type Change struct {
	Request int64  `json:"request"`
	Team    int64  `json:"team"`
	Date    string `json:"date"`
	Kind    string `json:"kind"`
	// Reason is one of the Reason… codes; Message says it in words.
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Kinds of Change.
const (
	ChangeMoved   = "moved"
	ChangeWorkers = "workers"
)

// Reasons a previous job changed.
const (
	// ReasonBlocked: its day is blocked now (rain).
	ReasonBlocked = "blocked"
	// ReasonWorker: a worker can no longer come that day (unavailable, on
	// a fixed job, no longer a member).
	ReasonWorker = "worker"
	// ReasonDates: the day is outside the plan's dates or before the
	// request's window.
	ReasonDates = "dates"
	// ReasonCrew: the job has more people than the field's crew cap.
	ReasonCrew = "crew"
	// ReasonOneTeam: another job of the request on that day stays (a
	// field's work of a day is one team's).
	ReasonOneTeam = "one-team"
	// ReasonWork: the request's work changed (less is left to do).
	ReasonWork = "work"
	// ReasonPrecedence: a job of an earlier task on the field moved, so
	// this one had to follow it.
	ReasonPrecedence = "precedence"
	// ReasonRequest: part of the same request's work had to be planned
	// again (its job on a rained-out day, say) and the rest moved with it.
	ReasonRequest = "request"
	// ReasonMoreFinished: moving it lets strictly more requests finish
	// inside their windows.
	ReasonMoreFinished = "more-finished"
)

// LateRequest is a request finished Days after its window closes.
type LateRequest struct {
	Request int64 `json:"request"`
	Days    int   `json:"days"`
}

// Score is the plan's value term by term. Plans compare lexicographically
// in the order of the fields: more FinishedWeighted is better, then less
// ChangeCost, more InWindowWeighted, less UnplacedHalfDays, less
// LateWeighted, less BalanceTerm, more SameGroup, less LoadSpread. The
// other fields are for reading.
type Score struct {
	// FinishedWeighted is Σ priority over the requests whose work is all
	// done on or before Latest: how many households' fields get done in
	// time, the vulnerable counting more.
	FinishedWeighted int64 `json:"finishedWeighted"`
	// ChangeCost is how far the plan moves from Instance.Previous: 4 for
	// each previous job moved, 1 for each kept with other workers. It is 0
	// for a first plan.
	ChangeCost int64 `json:"changeCost"`
	// InWindowWeighted is Σ priority × half days worked inside windows
	// (on or before Latest: only a fixed job can come before Earliest).
	InWindowWeighted int64 `json:"inWindowWeighted"`
	// UnplacedHalfDays is the work of the unplaced requests not yet done.
	UnplacedHalfDays int64 `json:"unplacedHalfDays"`
	// LateWeighted is Σ priority × half days × days after the window.
	LateWeighted int64 `json:"lateWeighted"`
	// BalanceTerm is Σ, over the households of the teams and requests,
	// of the balance after the plan squared (half days²): it falls as
	// those who owe help give it.
	BalanceTerm int64 `json:"balanceTerm"`
	// SameGroup is the half days worked in the worker's own village group.
	SameGroup int64 `json:"sameGroup"`
	// LoadSpread is the most minus the least half days of a team.
	LoadSpread int64 `json:"loadSpread"`

	Finished         int   `json:"finished"` // requests finished inside their windows
	Moved            int   `json:"moved"`    // previous jobs moved
	WorkersChanged   int   `json:"workersChanged"`
	InWindowHalfDays int64 `json:"inWindowHalfDays"`
	LateHalfDays     int64 `json:"lateHalfDays"`
	PlannedHalfDays  int64 `json:"plannedHalfDays"` // fixed and new, all requests
	// MaxAbsBalance and SumAbsBalance are over member households after the plan.
	MaxAbsBalance int64 `json:"maxAbsBalance"`
	SumAbsBalance int64 `json:"sumAbsBalance"`
}

// Compare returns +1 when s is better than o, −1 when worse and 0 when
// the ranked terms are equal.
func (s Score) Compare(o Score) int {
	terms := [...][2]int64{
		{s.FinishedWeighted, o.FinishedWeighted},
		{o.ChangeCost, s.ChangeCost},
		{s.InWindowWeighted, o.InWindowWeighted},
		{o.UnplacedHalfDays, s.UnplacedHalfDays},
		{o.LateWeighted, s.LateWeighted},
		{o.BalanceTerm, s.BalanceTerm},
		{s.SameGroup, o.SameGroup},
		{o.LoadSpread, s.LoadSpread},
	}
	for _, t := range terms {
		switch {
		case t[0] > t[1]:
			return 1
		case t[0] < t[1]:
			return -1
		}
	}
	return 0
}

// Bounds are upper bounds on the first terms of any plan's score (see
// Bound for how each is computed).
type Bounds struct {
	Finished int64 `json:"finished"` // bound on Score.FinishedWeighted
	Weighted int64 `json:"weighted"` // bound on Score.InWindowWeighted
	HalfDays int64 `json:"halfDays"` // bound on Score.InWindowHalfDays
}
