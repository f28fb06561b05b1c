// Package planner is the planner: a pure function from help requests,
// mutual-aid teams, blocked days, balances and confirmed jobs (an
// Instance) to jobs — team, request, date, workers — with the requests
// it could not place and the plan's score term by term (a Plan). It has
// no database and no clock; store/ feeds it and saves what it returns,
// and `huangong plan --in instance.json` runs it on a file.
//
// Hard rules: a team's daily capacity, a member household on one job a
// day, precedence, blocked days, never before a window opens, nothing
// after End. Soft, in order: priority-weighted work inside windows, less
// lateness, workers from the households that owe the most help, the
// field's own village group, even load across teams.
//
// Solve is deterministic: it counts search iterations rather than time
// and draws from a seeded generator. Bound gives the upper bound plans
// are measured against.
package planner
