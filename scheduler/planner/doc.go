// Package planner is the planner: a pure function from help requests,
// mutual-aid teams, blocked days, balances, confirmed jobs and the plan
// saved before (an Instance) to jobs — team, request, date, workers —
// with the requests it could not place, what changed against the saved
// plan and the plan's score term by term (a Plan). It has no database
// and no clock; scheduler/ feeds it from the records and saves what it
// returns, and `huangong plan --in instance.json` runs it on a file.
//
// Hard rules: a team's daily capacity; a member household on one job a
// day; a request's work of a day done by one team, with no more people
// than the request's crew cap (its field holds no more); precedence;
// blocked days; never before a window opens; nothing after End. Fixed
// jobs (confirmed, or inside the village's freeze horizon) are kept as
// they are.
//
// The objective is lexicographic; a plan is better than another when it
// is better in the first term where they differ:
//
//  1. the priority-weighted count of requests finished inside their
//     windows (Score.FinishedWeighted);
//  2. for a re-plan, the least change to the saved plan: a saved job
//     moved (to another day or team, or dropped) costs 4, a job kept
//     with other workers 1 (Score.ChangeCost). A saved job therefore
//     moves only when keeping it is infeasible or moving it finishes
//     strictly more requests;
//  3. the priority-weighted half days inside windows
//     (Score.InWindowWeighted), then the least work left unplaced;
//  4. the least priority-weighted lateness;
//  5. the fewest requests split between teams (one team on all of a
//     request's days);
//  6. in the worker choice, after the search: workers from the
//     households that owe the most help, the field's own village group,
//     even load across teams.
//
// Re-planning is stable: the saved jobs are kept first wherever they
// still fit, and the search then only tries to make room for what
// changed (new requests, and those whose saved jobs could not all stay).
//
// Solve is deterministic: it counts search iterations rather than time
// and draws from a seeded generator; it stops with the context's error
// when the context ends. Bound gives the upper bound plans are measured
// against: Bound.Finished bounds term 1 (a Lagrangian relaxation), the
// other two the in-window work (a maximum flow).
package planner
