package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// Who acts in the loop tests. Every transition must carry its actor.
const (
	LoopHousehold = "household:章仁标"
	LoopCadre     = "cadre:邱锦"
	LoopLeader1   = "leader:第一互助队"
	LoopLeader2   = "leader:第二互助队"
	LoopCron      = "cron:close-unrated"
)

// LoopUnavailable is the day member c told its team it cannot come.
const LoopUnavailable = "2026-06-01"

// Loop is the village every loop test plays in: 章仁标's elderly
// household asks for help; 第一互助队 (a, b, c) and 第二互助队 (d) do the
// work; a five-guarantee household's help is covered by the village fund;
// a neighbour outside every team comes as a named helper. The spring
// season (2026-04-05 to 2026-05-10, prepare and transplant) is open, the
// soft limit is −5 workdays and the clock stands at T0 (2026-04-20 08:00
// in the village) until a test moves it.
type Loop struct {
	Ctx    context.Context
	St     *store.Store
	Clock  *Clock
	V      *store.Village
	Season *store.Season

	Helped, Exempt, Outsider *store.Household
	A, B, C, D               *store.Household // a (2 a day), b (1), c (2) in team1; d (1) in team2
	Team1, Team2             *store.Team

	fields int // fields made so far, for their names
	days   int // job dates handed out so far
}

func NewLoop(t *testing.T) *Loop {
	t.Helper()
	st, clock := MustOpen(t)
	e := &Loop{Ctx: context.Background(), St: st, Clock: clock}
	e.V = &store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡", SoftLimit: -10}
	require.NoError(t, st.CreateVillage(e.Ctx, e.V))
	hh := func(name string, laborers, members int, mod func(*store.Household)) *store.Household {
		return MustHousehold(t, st, e.V.ID, func(h *store.Household) {
			h.HeadName, h.Laborers, h.Members = name, laborers, members
			if mod != nil {
				mod(h)
			}
		})
	}
	// The loop's helped household owes its help back (换工): the tests
	// follow its balance. An elderly household is assisted (帮扶) unless a
	// cadre chooses otherwise; policy_test.go covers that default.
	exchange := store.PolicyExchange
	e.Helped = hh("章仁标", 1, 2, func(h *store.Household) { h.Elderly, h.Policy = true, &exchange })
	e.Exempt = hh("李五保", 0, 1, func(h *store.Household) { h.FiveGuarantee, h.Elderly, h.Exempt = true, true, true })
	e.Outsider = hh("徐冬生", 1, 2, nil)
	e.A = hh("章吉仙", 2, 4, nil)
	e.B = hh("周国华", 2, 3, nil)
	e.C = hh("王春生", 3, 4, nil)
	e.D = hh("邱水根", 2, 3, nil)
	e.Team1 = MustTeam(t, st, e.V.ID, "第一互助队")
	e.Team2 = MustTeam(t, st, e.V.ID, "第二互助队")
	MustMember(t, st, e.Team1, e.A, 2)
	MustMember(t, st, e.Team1, e.B, 1)
	require.NoError(t, st.AddTeamMember(e.Ctx, e.V.ID, &store.TeamMember{TeamID: e.Team1.ID, HouseholdID: e.C.ID,
		WorkersPerDay: 2, UnavailableDays: []string{LoopUnavailable}}))
	MustMember(t, st, e.Team2, e.D, 1)
	e.Season = &store.Season{VillageID: e.V.ID, Kind: store.SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10",
		Tasks: []string{store.TaskPrepare, store.TaskTransplant}}
	require.NoError(t, st.CreateSeason(e.Ctx, e.Season))
	e.Season = LoopSeasonState(t, e, e.Season.ID, store.SeasonOpen)
	return e
}

// LoopSeasonState moves a season to state.
func LoopSeasonState(t *testing.T, e *Loop, id int64, state string) *store.Season {
	t.Helper()
	se, err := e.St.UpdateSeason(e.Ctx, e.V.ID, id, 0, func(se *store.Season) error { se.State = state; return nil })
	require.NoError(t, err)
	return se
}

// At sets the clock to T0 + d.
func (e *Loop) At(d time.Duration) time.Time {
	e.Clock.Set(T0.Add(d))
	return e.Clock.Now()
}

// Day hands out a job date no earlier job of the test has: 2026-04-25
// (the default window's first day), then one day later each call.
func (e *Loop) Day() string {
	d := time.Date(2026, 4, 25+e.days, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	e.days++
	return d
}

// Field makes a new early-rice field of h with area in hundredths of a mu.
func (e *Loop) Field(t *testing.T, h *store.Household, area int64) *store.Field {
	t.Helper()
	return MustField(t, e.St, h, func(f *store.Field) { f.Name, f.AreaCentimu = e.FieldName(), area })
}

// FieldName names the next field made in the village: 田1, 田2, ….
func (e *Loop) FieldName() string {
	e.fields++
	return fmt.Sprintf("田%d", e.fields)
}

// Request asks for transplanting on a new 1.6-mu field of 章仁标's in the
// window 2026-04-25 to 2026-04-30, unless mod says otherwise.
func (e *Loop) Request(t *testing.T, mod func(*store.NewRequest)) *store.HelpRequest {
	t.Helper()
	in := store.NewRequest{HouseholdID: e.Helped.ID, FieldID: e.Field(t, e.Helped, 160).ID, Task: store.TaskTransplant,
		Earliest: "2026-04-25", Latest: "2026-04-30"}
	if mod != nil {
		mod(&in)
	}
	r, err := e.St.CreateRequest(e.Ctx, e.V.ID, LoopHousehold, in)
	require.NoError(t, err)
	return r
}

// Job puts team on r for date: team1 plans a (2 workers) and b (1),
// team2 plans d (1), unless workers are given.
func (e *Loop) Job(t *testing.T, r *store.HelpRequest, team *store.Team, date string, workers ...store.PlannedWorker) *store.Job {
	t.Helper()
	if len(workers) == 0 {
		workers = []store.PlannedWorker{{HouseholdID: e.D.ID, Workers: 1}}
		if team.ID == e.Team1.ID {
			workers = []store.PlannedWorker{{HouseholdID: e.A.ID, Workers: 2}, {HouseholdID: e.B.ID, Workers: 1}}
		}
	}
	j, err := e.St.CreateJob(e.Ctx, e.V.ID, LoopCadre, store.NewJob{TeamID: team.ID, RequestID: r.ID, Date: date, Workers: workers})
	require.NoError(t, err)
	return j
}

// Leader is who acts for j's team.
func (e *Loop) Leader(j *store.Job) string {
	if j.TeamID == e.Team1.ID {
		return LoopLeader1
	}
	return LoopLeader2
}

// Confirm has the leader confirm j.
func (e *Loop) Confirm(t *testing.T, j *store.Job) *store.Job {
	t.Helper()
	j, err := e.St.ConfirmJob(e.Ctx, e.V.ID, j.ID, e.Leader(j))
	require.NoError(t, err)
	return j
}

// Decline has the leader decline j.
func (e *Loop) Decline(t *testing.T, j *store.Job) *store.Job {
	t.Helper()
	j, err := e.St.DeclineJob(e.Ctx, e.V.ID, j.ID, e.Leader(j), "队员家里也在插秧")
	require.NoError(t, err)
	return j
}

// EveningOf moves the clock on to 18:00 of date in the village, when a
// leader records the day's attendance; a clock already later stays.
func (e *Loop) EveningOf(t testing.TB, date string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, date, T0.Location())
	require.NoError(t, err)
	if evening := d.Add(18 * time.Hour); e.Clock.Now().Before(evening) {
		e.Clock.Set(evening)
	}
	return e.Clock.Now()
}

// CompleteJob is st.CompleteJob of job id, at 18:00 of the job's day when
// the test's clock stands earlier; the clock then goes back, so the rest
// of the test reads its own times as written.
func (e *Loop) CompleteJob(t *testing.T, id int64, actor string, c store.Completion) (*store.Job, bool, error) {
	t.Helper()
	j, err := e.St.GetJob(e.Ctx, e.V.ID, id)
	require.NoError(t, err)
	was := e.Clock.Now()
	e.EveningOf(t, j.Date)
	defer e.Clock.Set(was)
	return e.St.CompleteJob(e.Ctx, e.V.ID, id, actor, c)
}

// Complete records every planned worker for a full day each. A job is
// never completed before its day: when the test's clock stands earlier,
// the completion happens at 18:00 of the job's day and the clock then goes
// back, so the rest of the test reads its own times as written.
func (e *Loop) Complete(t *testing.T, j *store.Job) *store.Job {
	t.Helper()
	was := e.Clock.Now()
	e.EveningOf(t, j.Date)
	defer e.Clock.Set(was)
	att := make([]store.JobAttendance, len(j.Workers))
	for i, w := range j.Workers {
		att[i] = store.JobAttendance{HouseholdID: w.HouseholdID, HalfDays: 2 * int64(w.Workers)}
	}
	j, replayed, err := e.St.CompleteJob(e.Ctx, e.V.ID, j.ID, e.Leader(j), store.Completion{Attendance: att})
	require.NoError(t, err)
	require.False(t, replayed)
	return j
}

// Cancel has the household cancel r.
func (e *Loop) Cancel(t *testing.T, r *store.HelpRequest) {
	t.Helper()
	_, err := e.St.CancelRequest(e.Ctx, e.V.ID, r.ID, LoopHousehold, "儿子回来了")
	require.NoError(t, err)
}

// Feedback has the household rate r with stars.
func (e *Loop) Feedback(t *testing.T, r *store.HelpRequest, stars int) {
	t.Helper()
	_, err := e.St.SubmitFeedback(e.Ctx, e.V.ID, r.ID, LoopHousehold, stars, "好")
	require.NoError(t, err)
}

// Reload reads a request and its jobs back, jobs in the order made.
func (e *Loop) Reload(t *testing.T, id int64) (*store.HelpRequest, []*store.Job) {
	t.Helper()
	r, err := e.St.GetRequest(e.Ctx, e.V.ID, id)
	require.NoError(t, err)
	jobs, _, err := e.St.ListJobs(e.Ctx, e.V.ID, store.JobFilter{RequestID: id}, store.Page{Limit: store.MaxPageLimit})
	require.NoError(t, err)
	return r, jobs
}

// Reach makes a new request and drives it with one job to state:
// submitted (no job), declined (its one job declined, so the request is
// submitted again), scheduled, confirmed, done, closed (5 stars) or
// cancelled (its job cancelled with it).
func (e *Loop) Reach(t *testing.T, state string) (*store.HelpRequest, *store.Job) {
	t.Helper()
	r := e.Request(t, nil)
	if state == store.RequestSubmitted {
		r, _ = e.Reload(t, r.ID)
		return r, nil
	}
	j := e.Job(t, r, e.Team1, e.Day())
	switch state {
	case store.JobDeclined:
		e.Decline(t, j)
	case store.RequestScheduled:
	case store.RequestCancelled:
		e.Cancel(t, r)
	default:
		e.Confirm(t, j)
		if state == store.RequestConfirmed {
			break
		}
		e.Complete(t, j)
		if state == store.RequestClosed {
			e.Feedback(t, r, 5)
		}
	}
	r, jobs := e.Reload(t, r.ID)
	require.Len(t, jobs, 1)
	return r, jobs[0]
}

// LoopTables are the tables a loop change writes to.
var LoopTables = []string{"help_requests", "jobs", "transitions", "outbox", "ledger_transactions", "ledger_entries", "seasons", "labor_norms"}

// LoopCounts counts the rows of every table a loop change writes to.
func LoopCounts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range LoopTables {
		out[tbl] = CountRows(t, st, tbl)
	}
	return out
}

// LoopChain checks a subject's recorded transitions form one unbroken
// chain from creation to state, each with an actor and a time.
func LoopChain(t *testing.T, e *Loop, subject string, id int64, state string) []*store.Transition {
	t.Helper()
	trs, err := e.St.Transitions(e.Ctx, e.V.ID, subject, id)
	require.NoError(t, err)
	require.NotEmpty(t, trs, "%s %d has no transitions", subject, id)
	from := ""
	for _, tr := range trs {
		assert.Equal(t, from, tr.FromState, "%s %d: transition %d", subject, id, tr.ID)
		assert.NotEmpty(t, tr.Actor, "%s %d: transition %d", subject, id, tr.ID)
		assert.False(t, tr.At.IsZero(), "%s %d: transition %d", subject, id, tr.ID)
		from = tr.ToState
	}
	assert.Equal(t, state, from, "%s %d: the last transition ends in its state", subject, id)
	return trs
}

// LoopEvents renders the village's outbox after an event ID, one line an
// event: "audience:id event subject:id".
func LoopEvents(t *testing.T, e *Loop, after int64) []string {
	t.Helper()
	evs, err := e.St.Outbox(e.Ctx, e.V.ID, store.OutboxFilter{After: after})
	require.NoError(t, err)
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = fmt.Sprintf("%s:%d %s %s:%d", ev.Audience, ev.AudienceID, ev.Event, ev.Subject, ev.SubjectID)
		assert.NotEmpty(t, ev.Message, "event %d", ev.ID)
	}
	return out
}

// LoopBalances returns household ID → balance, and the fund's.
func LoopBalances(t *testing.T, e *Loop) (map[int64]int64, int64) {
	t.Helper()
	rows, fund, err := e.St.Balances(e.Ctx, e.V.ID, store.BalanceQuery{})
	require.NoError(t, err)
	out := map[int64]int64{}
	for _, r := range rows {
		if r.Balance != 0 {
			out[r.HouseholdID] = r.Balance
		}
	}
	return out, fund
}

// LoopAssertNothingWritten checks a refused change left every loop table
// as it was.
func LoopAssertNothingWritten(t *testing.T, e *Loop, before map[string]int) {
	t.Helper()
	assert.Equal(t, before, LoopCounts(t, e.St), "a refused change writes nothing")
}
