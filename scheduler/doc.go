// Package scheduler owns time: the solar-term calendar, seasons, the
// cron-driven runs and the planner, a pure function from requests, teams
// and balances to jobs with no database inside. It is filled in by the
// calendar and planner issues; the foundation only reserves its place.
package scheduler
