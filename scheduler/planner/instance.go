package planner

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
	// Fixed jobs are already confirmed: they are kept as they are, count
	// toward their request and occupy their workers.
	Fixed []Assignment `json:"fixed,omitempty"`
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
	// Fixed marks a job copied from Instance.Fixed; the rest are new.
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

// LateRequest is a request finished Days after its window closes.
type LateRequest struct {
	Request int64 `json:"request"`
	Days    int   `json:"days"`
}

// Score is the plan's value term by term. Plans compare lexicographically
// in the order of the fields: more InWindowWeighted is better, then less
// UnplacedHalfDays, less LateWeighted, less BalanceTerm, more SameGroup,
// less LoadSpread. The other fields are for reading.
type Score struct {
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

// Bounds are upper bounds on the in-window work of any plan: the maximum
// flow of the requests' half days into the capacity of each day inside
// their windows, with precedence and the one-job-a-day rule relaxed.
type Bounds struct {
	Weighted int64 `json:"weighted"` // bound on Score.InWindowWeighted
	HalfDays int64 `json:"halfDays"` // bound on Score.InWindowHalfDays
}
