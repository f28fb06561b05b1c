// Package scheduler owns time: the solar-term calendar, seasons, the
// cron-driven runs and the planner. The planner itself lives in
// scheduler/planner, a pure function from requests, teams and balances to
// jobs with no database inside.
package scheduler
