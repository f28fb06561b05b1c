// Package scheduler owns time: the solar-term calendar, seasons, the
// cron-driven runs and the planner. The planner itself lives in
// scheduler/planner, a pure function from requests, teams and balances to
// jobs with no database inside.
//
// Planning on the records is this package's too: PlanInstance
// (instance.go) builds the planner's instance from the store's planning
// records — precedence on a field, priorities, crew caps, the requests
// left unplaced — and ApplyPlan (apply.go) hands a plan to the store's
// one save transaction, which checks it against the records and writes
// it. The store never imports the planner.
//
// The calendar (calendar.go) computes the 24 solar terms of any year from
// 1900 to 2100 astronomically, never from a table, and draws each year's
// default busy seasons from them for the village's crop system, with the
// cron specs their jobs run on.
package scheduler
