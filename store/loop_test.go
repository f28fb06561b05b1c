package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/storetest"
)

// The loop village and its helpers are shared with the planning tests of
// package scheduler (storetest).
type loopEnv = storetest.Loop

const (
	loopHousehold   = storetest.LoopHousehold
	loopCadre       = storetest.LoopCadre
	loopLeader1     = storetest.LoopLeader1
	loopLeader2     = storetest.LoopLeader2
	loopCron        = storetest.LoopCron
	loopUnavailable = storetest.LoopUnavailable
)

var (
	loopSetup                = storetest.NewLoop
	loopSeasonState          = storetest.LoopSeasonState
	loopCounts               = storetest.LoopCounts
	loopChain                = storetest.LoopChain
	loopEvents               = storetest.LoopEvents
	loopBalances             = storetest.LoopBalances
	loopAssertNothingWritten = storetest.LoopAssertNothingWritten
)

// TestLoop_Lifecycle walks one request through the whole loop with two
// teams and an exact clock: every transition is recorded with its actor and
// time, every event lands in the outbox, and the ledger moves by exactly
// the attendance.
func TestLoop_Lifecycle(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	f := e.Field(t, e.Helped, 160)

	submitted := e.At(0)
	r, err := st.CreateRequest(ctx, v, loopHousehold, store.NewRequest{HouseholdID: e.Helped.ID, FieldID: f.ID,
		Task: store.TaskTransplant, Earliest: "2026-04-25", Latest: "2026-04-30", Note: "门口田插秧"})
	require.NoError(t, err)
	assert.Equal(t, store.RequestSubmitted, r.State)
	assert.EqualValues(t, 5, r.HalfDays, "1.6 mu × 1.5 = 2.4 → 2.5 workdays")
	assert.Equal(t, 3, r.Priority, "an elderly household: 1 + 2")
	assert.Equal(t, loopHousehold, r.EnteredBy)
	assert.Equal(t, e.Season.ID, r.SeasonID)

	scheduled := e.At(90 * time.Minute)
	j1 := e.Job(t, r, e.Team1, "2026-04-26")
	assert.Equal(t, store.JobScheduled, j1.State)
	assert.Equal(t, loopCadre, j1.CreatedBy)
	e.At(100 * time.Minute)
	j2 := e.Job(t, r, e.Team2, "2026-04-25")
	got, _ := e.Reload(t, r.ID)
	assert.Equal(t, store.RequestScheduled, got.State)

	firstConfirmed := e.At(2 * time.Hour)
	e.Confirm(t, j1)
	got, _ = e.Reload(t, r.ID)
	assert.Equal(t, store.RequestScheduled, got.State, "one of two jobs confirmed")
	require.NotNil(t, got.FirstConfirmedAt)
	AssertSameTime(t, firstConfirmed, *got.FirstConfirmedAt, "first confirmed")

	confirmed := e.At(3 * time.Hour)
	e.Confirm(t, j2)
	got, _ = e.Reload(t, r.ID)
	assert.Equal(t, store.RequestConfirmed, got.State, "both jobs confirmed")
	AssertSameTime(t, firstConfirmed, *got.FirstConfirmedAt, "first confirmed stays")

	// The later job is recorded first: the request's done date is still
	// the last job's date.
	j1Done := e.At(6*24*time.Hour + 10*time.Hour) // 2026-04-26 18:00
	j1, replayed, err := st.CompleteJob(ctx, v, j1.ID, loopLeader1, store.Completion{Meal: true,
		Attendance: []store.JobAttendance{{HouseholdID: e.A.ID, HalfDays: 4}, {HouseholdID: e.B.ID, HalfDays: 1}}})
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, store.JobDone, j1.State)
	assert.True(t, j1.Meal)
	got, _ = e.Reload(t, r.ID)
	assert.Equal(t, store.RequestConfirmed, got.State, "one job still to do")
	assert.Nil(t, got.DoneDate)

	done := e.At(6*24*time.Hour + 10*time.Hour + 30*time.Minute)
	j2, _, err = st.CompleteJob(ctx, v, j2.ID, loopLeader2, store.Completion{
		Attendance: []store.JobAttendance{{HouseholdID: e.D.ID, HalfDays: 2}}})
	require.NoError(t, err)
	got, _ = e.Reload(t, r.ID)
	assert.Equal(t, store.RequestDone, got.State)
	require.NotNil(t, got.DoneDate)
	assert.Equal(t, "2026-04-26", *got.DoneDate, "the last job's date, not the last recorded")
	AssertSameTime(t, done, *got.DoneAt, "done at")
	assert.Nil(t, got.OpenKey, "a done request frees its field")

	bal, fund := loopBalances(t, e)
	assert.Equal(t, map[int64]int64{e.Helped.ID: -7, e.A.ID: 4, e.B.ID: 1, e.D.ID: 2}, bal)
	assert.Zero(t, fund)
	require.NotNil(t, j1.TransactionID)
	tx, err := st.GetTransaction(ctx, v, *j1.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, store.TxJob, tx.Kind)
	assert.Equal(t, "2026-04-26", tx.Date, "posted on the job's date")
	assert.Equal(t, loopLeader1, tx.Actor)
	assert.Equal(t, &e.Helped.ID, tx.BeneficiaryID)

	closed := e.At(7*24*time.Hour + time.Hour) // 2026-04-27 09:00
	got, err = st.SubmitFeedback(ctx, v, r.ID, loopHousehold, 5, " 队员很卖力，饭也吃得香 ")
	require.NoError(t, err)
	assert.Equal(t, store.RequestClosed, got.State)
	require.NotNil(t, got.FeedbackStars)
	assert.Equal(t, 5, *got.FeedbackStars)
	assert.Equal(t, "队员很卖力，饭也吃得香", got.FeedbackComment)
	AssertSameTime(t, closed, *got.ClosedAt, "closed at")

	type step struct {
		from, to, actor string
		at              time.Time
	}
	steps := func(trs []*store.Transition) []step {
		out := make([]step, len(trs))
		for i, tr := range trs {
			out[i] = step{tr.FromState, tr.ToState, tr.Actor, tr.At.UTC()}
			assert.Equal(t, v, tr.VillageID)
		}
		return out
	}
	utc := func(tm time.Time) time.Time { return tm.UTC() }
	assert.Equal(t, []step{
		{"", store.RequestSubmitted, loopHousehold, utc(submitted)},
		{store.RequestSubmitted, store.RequestScheduled, loopCadre, utc(scheduled)},
		{store.RequestScheduled, store.RequestConfirmed, loopLeader2, utc(confirmed)},
		{store.RequestConfirmed, store.RequestDone, loopLeader2, utc(done)},
		{store.RequestDone, store.RequestClosed, loopHousehold, utc(closed)},
	}, steps(loopChain(t, e, "request", r.ID, store.RequestClosed)))
	assert.Equal(t, []step{
		{"", store.JobScheduled, loopCadre, utc(scheduled)},
		{store.JobScheduled, store.JobConfirmed, loopLeader1, utc(firstConfirmed)},
		{store.JobConfirmed, store.JobDone, loopLeader1, utc(j1Done)},
	}, steps(loopChain(t, e, "job", j1.ID, store.JobDone)))
	loopChain(t, e, "job", j2.ID, store.JobDone)

	hh, cadre := fmt.Sprintf("household:%d", e.Helped.ID), fmt.Sprintf("cadre:%d", v)
	t1, t2 := fmt.Sprintf("team:%d", e.Team1.ID), fmt.Sprintf("team:%d", e.Team2.ID)
	job1, job2, req := fmt.Sprintf("job:%d", j1.ID), fmt.Sprintf("job:%d", j2.ID), fmt.Sprintf("request:%d", r.ID)
	assert.Equal(t, []string{
		cadre + " request.submitted " + req,
		t1 + " job.scheduled " + job1, hh + " job.scheduled " + job1,
		t2 + " job.scheduled " + job2, hh + " job.scheduled " + job2,
		hh + " job.confirmed " + job1,
		hh + " job.confirmed " + job2,
		hh + " job.done " + job1,
		hh + " request.done " + req, hh + " job.done " + job2,
		t2 + " request.feedback " + req, t1 + " request.feedback " + req, // in job-date order
	}, loopEvents(t, e, 0))
	evs, err := st.Outbox(ctx, v, store.OutboxFilter{Audience: store.AudienceHousehold, AudienceID: e.Helped.ID})
	require.NoError(t, err)
	require.Len(t, evs, 7, "the household hears of its own events")
	AssertSameTime(t, submitted.Add(90*time.Minute), evs[0].CreatedAt, "written with the change")
	assert.Contains(t, evs[0].Message, "第一互助队")
	assert.Contains(t, evs[0].Message, "2026-04-26")
}

// TestLoop_Transitions plays every move DESIGN.md's lifecycles allow and
// checks where the request and its jobs end, and that each got there
// through recorded transitions.
func TestLoop_Transitions(t *testing.T) {
	e := loopSetup(t)
	cases := []struct {
		name    string
		play    func(t *testing.T) *store.HelpRequest
		request string
		jobs    []string // in the order made
	}{
		{"a new request is submitted", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestSubmitted)
			return r
		}, store.RequestSubmitted, nil},
		{"create-job schedules a submitted request", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestScheduled)
			return r
		}, store.RequestScheduled, []string{store.JobScheduled}},
		{"a second job keeps it scheduled", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestScheduled)
			e.Job(t, r, e.Team2, e.Day())
			return r
		}, store.RequestScheduled, []string{store.JobScheduled, store.JobScheduled}},
		{"confirming its only job confirms it", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestConfirmed)
			return r
		}, store.RequestConfirmed, []string{store.JobConfirmed}},
		{"confirming one of two jobs keeps it scheduled", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestScheduled)
			e.Job(t, r, e.Team2, e.Day())
			e.Confirm(t, j)
			return r
		}, store.RequestScheduled, []string{store.JobConfirmed, store.JobScheduled}},
		{"a new job on a confirmed request schedules it again", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestConfirmed)
			e.Job(t, r, e.Team2, e.Day())
			return r
		}, store.RequestScheduled, []string{store.JobConfirmed, store.JobScheduled}},
		{"declining its only job sends it back to submitted", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.JobDeclined)
			return r
		}, store.RequestSubmitted, []string{store.JobDeclined}},
		{"declining its only confirmed job sends it back to submitted", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			e.Decline(t, j)
			return r
		}, store.RequestSubmitted, []string{store.JobDeclined}},
		{"a declined request is scheduled again", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.JobDeclined)
			e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			return r
		}, store.RequestConfirmed, []string{store.JobDeclined, store.JobConfirmed}},
		{"declining one of two scheduled jobs keeps it scheduled", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestScheduled)
			e.Job(t, r, e.Team2, e.Day())
			e.Decline(t, j)
			return r
		}, store.RequestScheduled, []string{store.JobDeclined, store.JobScheduled}},
		{"declining the scheduled one beside a confirmed job confirms it", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestScheduled)
			other := e.Job(t, r, e.Team2, e.Day())
			e.Confirm(t, j)
			e.Decline(t, other)
			return r
		}, store.RequestConfirmed, []string{store.JobConfirmed, store.JobDeclined}},
		{"declining one of two confirmed jobs keeps it confirmed", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			other := e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			_ = j
			e.Decline(t, other)
			return r
		}, store.RequestConfirmed, []string{store.JobConfirmed, store.JobDeclined}},
		{"declining the last job to do beside a done one sends it back to submitted", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			other := e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			e.Complete(t, j)
			e.Decline(t, other)
			return r
		}, store.RequestSubmitted, []string{store.JobDone, store.JobDeclined}},
		{"the replacement of a declined job finishes it", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			other := e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			e.Complete(t, j)
			e.Decline(t, other)
			e.Complete(t, e.Confirm(t, e.Job(t, r, e.Team2, e.Day())))
			return r
		}, store.RequestDone, []string{store.JobDone, store.JobDeclined, store.JobDone}},
		{"completing one of two confirmed jobs keeps it confirmed", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			e.Complete(t, j)
			return r
		}, store.RequestConfirmed, []string{store.JobDone, store.JobConfirmed}},
		{"completing a confirmed job while another is unconfirmed keeps it scheduled", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			e.Job(t, r, e.Team2, e.Day())
			e.Complete(t, j)
			return r
		}, store.RequestScheduled, []string{store.JobDone, store.JobScheduled}},
		{"completing its last job makes it done", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestDone)
			return r
		}, store.RequestDone, []string{store.JobDone}},
		{"feedback closes a done request", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestClosed)
			return r
		}, store.RequestClosed, []string{store.JobDone}},
		{"a submitted request is cancelled", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestSubmitted)
			e.Cancel(t, r)
			return r
		}, store.RequestCancelled, nil},
		{"cancelling a scheduled request cancels its job", func(t *testing.T) *store.HelpRequest {
			r, _ := e.Reach(t, store.RequestCancelled)
			return r
		}, store.RequestCancelled, []string{store.JobCancelled}},
		{"cancelling a confirmed request cancels its active jobs only", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			e.Decline(t, e.Job(t, r, e.Team2, e.Day()))
			_ = j
			e.Cancel(t, r)
			return r
		}, store.RequestCancelled, []string{store.JobCancelled, store.JobDeclined}},
		{"cancelling keeps a job already done", func(t *testing.T) *store.HelpRequest {
			r, j := e.Reach(t, store.RequestConfirmed)
			e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
			e.Complete(t, j)
			e.Cancel(t, r)
			return r
		}, store.RequestCancelled, []string{store.JobDone, store.JobCancelled}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, jobs := e.Reload(t, tc.play(t).ID)
			assert.Equal(t, tc.request, r.State)
			var states []string
			for _, j := range jobs {
				states = append(states, j.State)
				loopChain(t, e, "job", j.ID, j.State)
			}
			assert.Equal(t, tc.jobs, states)
			loopChain(t, e, "request", r.ID, r.State)
			assert.Equal(t, r.Open(), r.OpenKey != nil, "an open request holds its field's key, and only an open one")
			if r.State == store.RequestDone {
				assert.Equal(t, jobs[len(jobs)-1].Date, *r.DoneDate)
			}
		})
	}
	ver, err := e.St.VerifyLedger(e.Ctx, e.V.ID)
	require.NoError(t, err)
	assert.True(t, ver.OK(), "%v", ver.Mismatches)
}

// TestLoop_RefusedTransitions tries every move the lifecycles forbid: each
// is ECONFLICT naming the state the job or request is in, and writes
// nothing at all.
func TestLoop_RefusedTransitions(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	confirm := func(r *store.HelpRequest, j *store.Job) error {
		_, err := st.ConfirmJob(ctx, v, j.ID, loopLeader1)
		return err
	}
	decline := func(r *store.HelpRequest, j *store.Job) error {
		_, err := st.DeclineJob(ctx, v, j.ID, loopLeader1, "下雨")
		return err
	}
	complete := func(r *store.HelpRequest, j *store.Job) error {
		_, _, err := e.CompleteJob(t, j.ID, loopLeader1, store.Completion{
			Attendance: []store.JobAttendance{{HouseholdID: e.A.ID, HalfDays: 2}}, IdempotencyKey: "refused", RequestHash: "h"})
		return err
	}
	createJob := func(r *store.HelpRequest, j *store.Job) error {
		_, err := st.CreateJob(ctx, v, loopCadre, store.NewJob{TeamID: e.Team2.ID, RequestID: r.ID, Date: e.Day(),
			Workers: []store.PlannedWorker{{HouseholdID: e.D.ID, Workers: 1}}})
		return err
	}
	cancel := func(r *store.HelpRequest, j *store.Job) error {
		_, err := st.CancelRequest(ctx, v, r.ID, loopCadre, "不需要了")
		return err
	}
	feedback := func(r *store.HelpRequest, j *store.Job) error {
		_, err := st.SubmitFeedback(ctx, v, r.ID, loopHousehold, 4, "还行")
		return err
	}
	cases := []struct {
		name    string
		reach   string // the state the request is driven to first
		act     func(*store.HelpRequest, *store.Job) error
		subject string // "job" or "request": whose state the refusal names
		state   string
	}{
		{"confirm a confirmed job", store.RequestConfirmed, confirm, "job", store.JobConfirmed},
		{"confirm a declined job", store.JobDeclined, confirm, "job", store.JobDeclined},
		{"confirm a done job", store.RequestDone, confirm, "job", store.JobDone},
		{"confirm a cancelled job", store.RequestCancelled, confirm, "job", store.JobCancelled},
		{"decline a declined job", store.JobDeclined, decline, "job", store.JobDeclined},
		{"decline a done job", store.RequestDone, decline, "job", store.JobDone},
		{"decline a cancelled job", store.RequestCancelled, decline, "job", store.JobCancelled},
		{"complete a scheduled (unconfirmed) job", store.RequestScheduled, complete, "job", store.JobScheduled},
		{"complete a declined job", store.JobDeclined, complete, "job", store.JobDeclined},
		{"complete a done job", store.RequestDone, complete, "job", store.JobDone},
		{"complete a cancelled job", store.RequestCancelled, complete, "job", store.JobCancelled},
		{"create a job for a done request", store.RequestDone, createJob, "request", store.RequestDone},
		{"create a job for a closed request", store.RequestClosed, createJob, "request", store.RequestClosed},
		{"create a job for a cancelled request", store.RequestCancelled, createJob, "request", store.RequestCancelled},
		{"cancel a done request", store.RequestDone, cancel, "request", store.RequestDone},
		{"cancel a closed request", store.RequestClosed, cancel, "request", store.RequestClosed},
		{"cancel a cancelled request", store.RequestCancelled, cancel, "request", store.RequestCancelled},
		{"feedback on a submitted request", store.RequestSubmitted, feedback, "request", store.RequestSubmitted},
		{"feedback on a scheduled request", store.RequestScheduled, feedback, "request", store.RequestScheduled},
		{"feedback on a confirmed request", store.RequestConfirmed, feedback, "request", store.RequestConfirmed},
		{"feedback on a cancelled request", store.RequestCancelled, feedback, "request", store.RequestCancelled},
		{"feedback twice", store.RequestClosed, feedback, "request", store.RequestClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, j := e.Reach(t, tc.reach)
			before := loopCounts(t, st)
			err := tc.act(r, j)
			if !AssertError(t, err, store.ECONFLICT, "") {
				return
			}
			id := r.ID
			if tc.subject == "job" {
				id = j.ID
			} else {
				tc.subject = "help request"
			}
			assert.Contains(t, store.ErrorMessage(err), fmt.Sprintf("%s %d is %s", tc.subject, id, tc.state))
			loopAssertNothingWritten(t, e, before)
			r2, jobs := e.Reload(t, r.ID)
			assert.Equal(t, r, r2, "the request is as it was")
			if j != nil {
				assert.Equal(t, j, jobs[0], "the job is as it was")
			}
		})
	}
}

// TestLoop_CreateJobRefused tries the jobs a cadre may not make by hand:
// each is refused naming the input at fault and writes nothing.
func TestLoop_CreateJobRefused(t *testing.T) {
	e := loopSetup(t)
	ctx, st := e.Ctx, e.St
	other := MustVillage(t, st, "东岭村")
	otherHousehold := MustHousehold(t, st, other.ID, nil)
	otherTeam := MustTeam(t, st, other.ID, "第一互助队")
	MustMember(t, st, otherTeam, otherHousehold, 1)

	// Busy days: a on a scheduled job, b on a confirmed one, d on a done
	// one; c on a job that was declined, which leaves c free.
	busy := e.Request(t, nil)
	e.Job(t, busy, e.Team1, "2026-04-26", store.PlannedWorker{HouseholdID: e.A.ID, Workers: 1})
	e.Confirm(t, e.Job(t, busy, e.Team1, "2026-04-27", store.PlannedWorker{HouseholdID: e.B.ID, Workers: 1}))
	e.Complete(t, e.Confirm(t, e.Job(t, busy, e.Team2, "2026-04-28")))
	e.Decline(t, e.Job(t, busy, e.Team1, "2026-04-29", store.PlannedWorker{HouseholdID: e.C.ID, Workers: 2}))

	r, _ := e.Reload(t, e.Request(t, nil).ID)
	w := func(h *store.Household, n int) store.PlannedWorker {
		return store.PlannedWorker{HouseholdID: h.ID, Workers: n}
	}
	cases := []struct {
		name  string
		in    store.NewJob
		code  string
		field string
	}{
		{"a date before the window", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-24", Workers: []store.PlannedWorker{w(e.A, 1)}}, store.EINVALID, "body.date"},
		{"a date that is no date", store.NewJob{TeamID: e.Team1.ID, Date: "4月26日", Workers: []store.PlannedWorker{w(e.A, 1)}}, store.EINVALID, "body.date"},
		{"no workers", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25"}, store.EINVALID, "body.workers"},
		{"a household not of the team", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(e.A, 1), w(e.D, 1)}}, store.EINVALID, "body.workers[1].householdId"},
		{"a household of another village", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(otherHousehold, 1)}}, store.EINVALID, "body.workers[0].householdId"},
		{"more workers than the member offers", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(e.A, 2), w(e.B, 2)}}, store.EINVALID, "body.workers[1].workers"},
		{"zero workers", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(e.A, 0)}}, store.EINVALID, "body.workers[0].workers"},
		{"a household listed twice", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(e.A, 1), w(e.A, 1)}}, store.EINVALID, "body.workers[1].householdId"},
		{"a day the member cannot come", store.NewJob{TeamID: e.Team1.ID, Date: loopUnavailable, Workers: []store.PlannedWorker{w(e.A, 1), w(e.C, 1)}}, store.EINVALID, "body.workers[1].householdId"},
		{"a household on a scheduled job that day", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-26", Workers: []store.PlannedWorker{w(e.C, 1), w(e.A, 1)}}, store.ECONFLICT, "body.workers"},
		{"a household on a confirmed job that day", store.NewJob{TeamID: e.Team1.ID, Date: "2026-04-27", Workers: []store.PlannedWorker{w(e.B, 1)}}, store.ECONFLICT, "body.workers"},
		{"a household on a done job that day", store.NewJob{TeamID: e.Team2.ID, Date: "2026-04-28", Workers: []store.PlannedWorker{w(e.D, 1)}}, store.ECONFLICT, "body.workers"},
		{"a team of another village", store.NewJob{TeamID: otherTeam.ID, Date: "2026-04-25", Workers: []store.PlannedWorker{w(otherHousehold, 1)}}, store.EINVALID, "body.teamId"},
		{"a request that does not exist", store.NewJob{TeamID: e.Team1.ID, RequestID: -1, Date: "2026-04-25", Workers: []store.PlannedWorker{w(e.A, 1)}}, store.EINVALID, "body.requestId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.RequestID == 0 {
				tc.in.RequestID = r.ID
			}
			before := loopCounts(t, st)
			_, err := st.CreateJob(ctx, e.V.ID, loopCadre, tc.in)
			AssertError(t, err, tc.code, tc.field)
			loopAssertNothingWritten(t, e, before)
			got, _ := e.Reload(t, r.ID)
			assert.Equal(t, r, got)
		})
	}

	// What is left free: c on the day its job was declined, a and b on
	// another day, and any date after the window (a late job).
	e.Job(t, r, e.Team1, "2026-04-29", w(e.C, 2))
	e.Job(t, r, e.Team1, "2026-05-20", w(e.A, 2), w(e.B, 1))
	late, _ := e.Reload(t, r.ID)
	assert.Equal(t, store.RequestScheduled, late.State)
}

// TestLoop_Attendance records who worked: members, named helpers, the
// fund paying for an exempt household, and the attendance it refuses.
func TestLoop_Attendance(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID

	t.Run("an exempt household's help is debited to the fund", func(t *testing.T) {
		r := e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = e.Exempt.ID, e.Field(t, e.Exempt, 100).ID })
		j := e.Confirm(t, e.Job(t, r, e.Team1, e.Day()))
		j, _, err := e.CompleteJob(t, j.ID, loopLeader1, store.Completion{
			Attendance: []store.JobAttendance{{HouseholdID: e.A.ID, HalfDays: 2}, {HouseholdID: e.B.ID, HalfDays: 1}}})
		require.NoError(t, err)
		tx, err := st.GetTransaction(ctx, v, *j.TransactionID)
		require.NoError(t, err)
		assert.Equal(t, &e.Exempt.ID, tx.BeneficiaryID, "the household helped, though the fund paid")
		bal, fund := loopBalances(t, e)
		assert.EqualValues(t, -3, fund)
		assert.Zero(t, bal[e.Exempt.ID])
		assert.EqualValues(t, 2, bal[e.A.ID])
		assert.EqualValues(t, 1, bal[e.B.ID])
	})

	t.Run("a named helper may work beside the team", func(t *testing.T) {
		r := e.Request(t, nil)
		j := e.Confirm(t, e.Job(t, r, e.Team2, e.Day()))
		att := []store.JobAttendance{{HouseholdID: e.D.ID, HalfDays: 2}, {HouseholdID: e.Outsider.ID, HalfDays: 1, Helper: true, Reason: "邻居顺路来帮忙"}}
		j, _, err := e.CompleteJob(t, j.ID, loopLeader2, store.Completion{Attendance: att})
		require.NoError(t, err)
		att[0].Workers, att[1].Workers = 1, 1 // as planned; one person for the helper
		assert.Equal(t, att, j.Attendance)
		bal, _ := loopBalances(t, e)
		assert.EqualValues(t, 1, bal[e.Outsider.ID])
		got, _ := e.Reload(t, r.ID)
		assert.Equal(t, store.RequestDone, got.State)
	})

	r := e.Request(t, nil)
	e.Confirm(t, e.Job(t, r, e.Team1, e.Day()))
	_, jobs := e.Reload(t, r.ID)
	j := jobs[0]
	other := e.Confirm(t, e.Job(t, e.Request(t, nil), e.Team2, e.Day()))
	_, _, err := e.CompleteJob(t, other.ID, loopLeader2, store.Completion{
		Attendance: []store.JobAttendance{{HouseholdID: e.D.ID, HalfDays: 2}}, IdempotencyKey: "used", RequestHash: "h"})
	require.NoError(t, err)
	a := func(h *store.Household, half int64) store.JobAttendance {
		return store.JobAttendance{HouseholdID: h.ID, HalfDays: half}
	}
	cases := []struct {
		name  string
		in    store.Completion
		code  string
		field string
	}{
		{"no one", store.Completion{}, store.EINVALID, "body.attendance"},
		{"a household not of the team, not named a helper", store.Completion{Attendance: []store.JobAttendance{a(e.A, 2), a(e.Outsider, 2)}}, store.EINVALID, "body.attendance[1].householdId"},
		{"a member of another team, not named a helper", store.Completion{Attendance: []store.JobAttendance{a(e.D, 2)}}, store.EINVALID, "body.attendance[0].householdId"},
		{"a helper who is no household of the village", store.Completion{Attendance: []store.JobAttendance{a(e.A, 2), {HouseholdID: 9999, HalfDays: 2, Helper: true, Reason: "帮忙"}}}, store.EINVALID, "body.attendance[1].householdId"},
		{"the helped household itself", store.Completion{Attendance: []store.JobAttendance{a(e.A, 2), {HouseholdID: e.Helped.ID, HalfDays: 2, Helper: true, Reason: "帮忙"}}}, store.EINVALID, "body.attendance[1].householdId"},
		{"zero workdays", store.Completion{Attendance: []store.JobAttendance{a(e.A, 2), a(e.B, 0)}}, store.EINVALID, "body.attendance[1].workdays"},
		{"negative workdays", store.Completion{Attendance: []store.JobAttendance{a(e.A, -2)}}, store.EINVALID, "body.attendance[0].workdays"},
		{"a household twice", store.Completion{Attendance: []store.JobAttendance{a(e.A, 2), a(e.A, 1)}}, store.EINVALID, "body.attendance[1].householdId"},
		{"a key already used for another job", store.Completion{Attendance: []store.JobAttendance{a(e.D, 2)}, IdempotencyKey: "used", RequestHash: "h"}, store.EINVALID, "header.Idempotency-Key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := loopCounts(t, st)
			_, _, err := e.CompleteJob(t, j.ID, loopLeader1, tc.in)
			AssertError(t, err, tc.code, tc.field)
			loopAssertNothingWritten(t, e, before)
			got, err := st.GetJob(ctx, v, j.ID)
			require.NoError(t, err)
			assert.Equal(t, j, got)
		})
	}
}

// TestLoop_Estimates checks the workdays a request is estimated at: area ×
// the village's norm for crop and task, rounded up to the half day.
func TestLoop_Estimates(t *testing.T) {
	t.Run("rounding", func(t *testing.T) {
		for _, tc := range []struct {
			area, norm, want int64 // centimu, workdays/mu in hundredths, half days
		}{
			{100, 50, 1},        // 1 mu × 0.5 = 0.5
			{160, 50, 2},        // 0.8 → 1
			{160, 150, 5},       // 2.4 → 2.5
			{160, 200, 7},       // 3.2 → 3.5
			{140, 200, 6},       // 2.8 → 3
			{300, 200, 12},      // 6 exactly
			{250, 200, 10},      // 5 exactly
			{251, 200, 11},      // 5.02 → 5.5
			{333, 150, 10},      // 4.995 → 5
			{125, 150, 4},       // 1.875 → 2
			{1, 50, 1},          // 0.005 → 0.5: any work is at least half a day
			{10000, 2000, 4000}, // 100 mu × 20 = 2000 workdays
		} {
			assert.Equal(t, tc.want, store.EstimateHalfDays(tc.area, tc.norm), "%d centimu × %d", tc.area, tc.norm)
		}
	})

	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	summer := &store.Season{VillageID: v, Kind: store.SeasonSummer, StartDate: "2026-07-07", EndDate: "2026-08-07", Tasks: store.Tasks}
	require.NoError(t, st.CreateSeason(ctx, summer))
	estimate := func(t *testing.T, area int64, crop, task string, half int64) *store.HelpRequest {
		t.Helper()
		f := MustField(t, st, e.Helped, func(f *store.Field) {
			f.Name, f.AreaCentimu, f.Crop = e.FieldName(), area, crop
		})
		r, err := st.CreateRequest(ctx, v, loopCadre, store.NewRequest{HouseholdID: e.Helped.ID, FieldID: f.ID, Task: task,
			Earliest: "2026-07-10", Latest: "2026-07-20", HalfDays: half, OnBehalf: true})
		require.NoError(t, err)
		assert.True(t, r.OnBehalf)
		assert.Equal(t, loopCadre, r.EnteredBy)
		return r
	}

	t.Run("default norms", func(t *testing.T) {
		norms, err := st.Norms(ctx, v)
		require.NoError(t, err)
		assert.Len(t, norms, len(store.Crops)*len(store.Tasks))
		for _, n := range norms {
			assert.Equal(t, store.DefaultNorms[n.Task], n.CentiPerMu, "%s %s", n.Crop, n.Task)
		}
		for _, tc := range []struct {
			area       int64
			crop, task string
			want       int64
		}{
			{160, store.CropEarlyRice, store.TaskPrepare, 2},
			{160, store.CropEarlyRice, store.TaskTransplant, 5},
			{160, store.CropEarlyRice, store.TaskHarvest, 7},
			{140, store.CropLateRice, store.TaskHarvest, 6},
			{300, store.CropSingleRice, store.TaskTransplant, 9},
		} {
			assert.Equal(t, tc.want, estimate(t, tc.area, tc.crop, tc.task, 0).HalfDays, "%d %s %s", tc.area, tc.crop, tc.task)
		}
	})

	t.Run("a cadre's norms change the estimate", func(t *testing.T) {
		before := estimate(t, 160, store.CropEarlyRice, store.TaskHarvest, 0)
		norms, err := st.SetNorms(ctx, v, []store.Norm{{Crop: store.CropEarlyRice, Task: store.TaskHarvest, CentiPerMu: 250}})
		require.NoError(t, err)
		for _, n := range norms {
			want := store.DefaultNorms[n.Task]
			if n.Crop == store.CropEarlyRice && n.Task == store.TaskHarvest {
				want = 250
			}
			assert.Equal(t, want, n.CentiPerMu, "%s %s", n.Crop, n.Task)
		}
		assert.EqualValues(t, 8, estimate(t, 160, store.CropEarlyRice, store.TaskHarvest, 0).HalfDays, "1.6 × 2.5 = 4")
		assert.EqualValues(t, 7, estimate(t, 160, store.CropLateRice, store.TaskHarvest, 0).HalfDays, "other crops keep the default")
		got, _ := e.Reload(t, before.ID)
		assert.EqualValues(t, 7, got.HalfDays, "a request already made keeps its estimate")

		// Set again: the latest norm wins.
		_, err = st.SetNorms(ctx, v, []store.Norm{{Crop: store.CropEarlyRice, Task: store.TaskHarvest, CentiPerMu: 180}})
		require.NoError(t, err)
		assert.EqualValues(t, 6, estimate(t, 160, store.CropEarlyRice, store.TaskHarvest, 0).HalfDays, "1.6 × 1.8 = 2.88 → 3")
	})

	t.Run("a cadre's explicit workdays win", func(t *testing.T) {
		assert.EqualValues(t, 9, estimate(t, 160, store.CropEarlyRice, store.TaskTransplant, 9).HalfDays)
	})

	t.Run("refused norms", func(t *testing.T) {
		for _, tc := range []struct {
			norm  store.Norm
			field string
		}{
			{store.Norm{Crop: "wheat", Task: store.TaskHarvest, CentiPerMu: 100}, "body.norms[1].crop"},
			{store.Norm{Crop: store.CropLateRice, Task: "weeding", CentiPerMu: 100}, "body.norms[1].task"},
			{store.Norm{Crop: store.CropLateRice, Task: store.TaskHarvest, CentiPerMu: 0}, "body.norms[1].workdaysPerMu"},
			{store.Norm{Crop: store.CropLateRice, Task: store.TaskHarvest, CentiPerMu: 2001}, "body.norms[1].workdaysPerMu"},
		} {
			before := loopCounts(t, st)
			_, err := st.SetNorms(ctx, v, []store.Norm{{Crop: store.CropOther, Task: store.TaskPrepare, CentiPerMu: 60}, tc.norm})
			AssertError(t, err, store.EINVALID, tc.field)
			loopAssertNothingWritten(t, e, before)
		}
		f := e.Field(t, e.Helped, 160)
		_, err := st.CreateRequest(ctx, v, loopCadre, store.NewRequest{HouseholdID: e.Helped.ID, FieldID: f.ID,
			Task: store.TaskHarvest, Earliest: "2026-07-10", Latest: "2026-07-20", HalfDays: -2})
		AssertError(t, err, store.EINVALID, "body.workdays")
	})
}

// TestLoop_SeasonRules checks a request's window against the seasons, one
// open request per field and task, and that a season's state only moves
// forward.
func TestLoop_SeasonRules(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	autumn := &store.Season{VillageID: v, Kind: store.SeasonAutumn, StartDate: "2026-10-08", EndDate: "2026-11-07", Tasks: []string{store.TaskHarvest}}
	require.NoError(t, st.CreateSeason(ctx, autumn))
	assert.Equal(t, store.SeasonPlanned, autumn.State)
	assert.Equal(t, "2026 秋收", autumn.Name)
	summer := &store.Season{VillageID: v, Kind: store.SeasonSummer, StartDate: "2026-07-07", EndDate: "2026-08-07", Tasks: store.Tasks}
	require.NoError(t, st.CreateSeason(ctx, summer))
	loopSeasonState(t, e, summer.ID, store.SeasonOpen)
	loopSeasonState(t, e, summer.ID, store.SeasonClosed)

	f := e.Field(t, e.Helped, 160)
	otherField := e.Field(t, e.A, 100)
	ask := func(mod func(*store.NewRequest)) (*store.HelpRequest, error) {
		in := store.NewRequest{HouseholdID: e.Helped.ID, FieldID: f.ID, Task: store.TaskTransplant, Earliest: "2026-04-25", Latest: "2026-04-30"}
		mod(&in)
		return st.CreateRequest(ctx, v, loopHousehold, in)
	}
	for _, tc := range []struct {
		name  string
		mod   func(*store.NewRequest)
		field string
	}{
		{"a window outside any season", func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-06-01", "2026-06-05" }, "body.latest"},
		{"a window running past the season's end", func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-05-08", "2026-05-12" }, "body.latest"},
		{"a window starting before the season", func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-04-01", "2026-04-10" }, "body.latest"},
		{"a task the season does not allow", func(in *store.NewRequest) { in.Task = store.TaskHarvest }, "body.latest"},
		{"a closed season", func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-07-10", "2026-07-20" }, "body.latest"},
		{"earliest after latest", func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-04-30", "2026-04-25" }, "body.earliest"},
		{"an earliest that is no date", func(in *store.NewRequest) { in.Earliest = "4月25日" }, "body.earliest"},
		{"a latest that is no date", func(in *store.NewRequest) { in.Latest = "2026-04-31" }, "body.latest"},
		{"an unknown task", func(in *store.NewRequest) { in.Task = "weeding" }, "body.task"},
		{"another household's field", func(in *store.NewRequest) { in.FieldID = otherField.ID }, "body.fieldId"},
		{"a field that does not exist", func(in *store.NewRequest) { in.FieldID = 9999 }, "body.fieldId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopCounts(t, st)
			_, err := ask(tc.mod)
			AssertError(t, err, store.EINVALID, tc.field)
			loopAssertNothingWritten(t, e, before)
		})
	}

	t.Run("a planned season takes requests", func(t *testing.T) {
		r, err := ask(func(in *store.NewRequest) {
			in.Task, in.Earliest, in.Latest = store.TaskHarvest, "2026-10-10", "2026-10-20"
		})
		require.NoError(t, err)
		assert.Equal(t, autumn.ID, r.SeasonID)
	})

	t.Run("one open request per field and task", func(t *testing.T) {
		first, err := ask(func(*store.NewRequest) {})
		require.NoError(t, err)
		before := loopCounts(t, st)
		_, err = ask(func(*store.NewRequest) {})
		AssertError(t, err, store.ECONFLICT, "body.fieldId")
		loopAssertNothingWritten(t, e, before)
		_, err = ask(func(in *store.NewRequest) { in.Task = store.TaskPrepare })
		require.NoError(t, err, "another task on the same field")

		e.Cancel(t, first)
		second, err := ask(func(*store.NewRequest) {})
		require.NoError(t, err, "cancelling frees the field")
		e.Complete(t, e.Confirm(t, e.Job(t, second, e.Team1, e.Day())))
		_, err = ask(func(*store.NewRequest) {})
		require.NoError(t, err, "a done request frees the field")
	})

	t.Run("a season moves only forward", func(t *testing.T) {
		move := func(id int64, state string) error {
			_, err := st.UpdateSeason(ctx, v, id, 0, func(se *store.Season) error { se.State = state; return nil })
			return err
		}
		for _, tc := range []struct {
			from, to string
			code     string
		}{
			{store.SeasonPlanned, store.SeasonClosed, store.ECONFLICT}, // skips open
			{store.SeasonPlanned, "finished", store.EINVALID},
			{store.SeasonPlanned, store.SeasonOpen, ""},
			{store.SeasonOpen, store.SeasonPlanned, store.ECONFLICT},
			{store.SeasonOpen, store.SeasonOpen, ""},
			{store.SeasonOpen, store.SeasonClosed, ""},
			{store.SeasonClosed, store.SeasonOpen, store.ECONFLICT},
			{store.SeasonClosed, store.SeasonPlanned, store.ECONFLICT},
		} {
			se, err := st.GetSeason(ctx, v, autumn.ID)
			require.NoError(t, err)
			require.Equal(t, tc.from, se.State)
			err = move(autumn.ID, tc.to)
			AssertError(t, err, tc.code, "")
			if tc.code == store.ECONFLICT {
				assert.Contains(t, store.ErrorMessage(err), "season is "+tc.from)
			}
			after, err := st.GetSeason(ctx, v, autumn.ID)
			require.NoError(t, err)
			if tc.code != "" {
				assert.Equal(t, se, after, "%s → %s leaves the season as it was", tc.from, tc.to)
			}
		}
		_, err := ask(func(in *store.NewRequest) {
			in.Task, in.Earliest, in.Latest = store.TaskHarvest, "2026-10-21", "2026-10-25"
		})
		AssertError(t, err, store.EINVALID, "body.latest")
	})

	t.Run("one season per year and kind", func(t *testing.T) {
		err := st.CreateSeason(ctx, &store.Season{VillageID: v, Kind: store.SeasonAutumn, StartDate: "2026-10-01", EndDate: "2026-10-30", Tasks: []string{store.TaskHarvest}})
		AssertError(t, err, store.ECONFLICT, "body.kind")
	})
}

// TestLoop_CloseUnrated closes a done request without feedback once the
// three days have passed, not a second earlier.
func TestLoop_CloseUnrated(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	done := e.At(6*24*time.Hour + 10*time.Hour)
	r, _ := e.Reach(t, store.RequestDone)
	rated, _ := e.Reach(t, store.RequestClosed)
	open, _ := e.Reach(t, store.RequestConfirmed)

	e.At(9*24*time.Hour + 10*time.Hour - time.Second)
	n, err := st.CloseUnrated(ctx, v, loopCron)
	require.NoError(t, err)
	assert.Zero(t, n, "a second before three days")
	got, _ := e.Reload(t, r.ID)
	assert.Equal(t, store.RequestDone, got.State)

	closed := e.At(9*24*time.Hour + 10*time.Hour)
	assert.Equal(t, 3*24*time.Hour, closed.Sub(done))
	n, err = st.CloseUnrated(ctx, v, loopCron)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, _ = e.Reload(t, r.ID)
	assert.Equal(t, store.RequestClosed, got.State)
	assert.Nil(t, got.FeedbackStars)
	AssertSameTime(t, closed, *got.ClosedAt, "closed at")
	trs := loopChain(t, e, "request", r.ID, store.RequestClosed)
	last := trs[len(trs)-1]
	assert.Equal(t, loopCron, last.Actor)
	AssertSameTime(t, closed, last.At, "transition at")

	for id, state := range map[int64]string{rated.ID: store.RequestClosed, open.ID: store.RequestConfirmed} {
		got, _ := e.Reload(t, id)
		assert.Equal(t, state, got.State, "request %d", id)
	}
	n, err = st.CloseUnrated(ctx, v, loopCron)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to close")

	_, err = st.SubmitFeedback(ctx, v, r.ID, loopHousehold, 5, "晚了")
	AssertError(t, err, store.ECONFLICT, "")
	assert.Contains(t, store.ErrorMessage(err), "is closed")
}

// TestLoop_SeasonReport plays a small season with an exact clock and
// checks every figure of its report.
func TestLoop_SeasonReport(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	minute := time.Minute
	day := func(d int, hour int) time.Duration { // 2026-04-20 + d days at hour:00 in the village
		return time.Duration(d)*24*time.Hour + time.Duration(hour-8)*time.Hour
	}
	window := func(earliest, latest string) func(*store.NewRequest) {
		return func(in *store.NewRequest) { in.Earliest, in.Latest = earliest, latest }
	}

	e.At(0)
	r1 := e.Request(t, nil)
	e.At(10 * minute)
	r2 := e.Request(t, nil)
	e.At(20 * minute)
	r3 := e.Request(t, nil)
	e.At(30 * minute)
	r4 := e.Request(t, nil)
	j1 := e.Job(t, r1, e.Team1, "2026-04-26")
	j3 := e.Job(t, r3, e.Team1, "2026-04-27", store.PlannedWorker{HouseholdID: e.A.ID, Workers: 2})
	e.At(40 * minute)
	r5 := e.Request(t, window("2026-04-22", "2026-04-24")) // never helped: overdue
	e.At(50 * minute)
	r6 := e.Request(t, window("2026-04-25", "2026-05-08")) // confirmed, not yet done
	e.Confirm(t, j3)                                       // r3: 30 min
	e.At(60 * minute)
	e.Confirm(t, j1) // r1: 1 h
	e.At(70 * minute)
	j2 := e.Job(t, r2, e.Team2, "2026-05-02") // after r2's window: late
	j4 := e.Job(t, r4, e.Team2, "2026-04-28")
	j6 := e.Job(t, r6, e.Team1, "2026-05-03", store.PlannedWorker{HouseholdID: e.B.ID, Workers: 1})
	e.At(170 * minute)
	e.Confirm(t, j6) // r6: 2 h
	e.At(190 * minute)
	e.Confirm(t, j2) // r2: 3 h
	e.At(240 * minute)
	e.Cancel(t, r4)
	_ = j4

	// A request of another season counts in its own report only.
	summer := &store.Season{VillageID: v, Kind: store.SeasonSummer, StartDate: "2026-07-07", EndDate: "2026-08-07", Tasks: store.Tasks}
	require.NoError(t, st.CreateSeason(ctx, summer))
	r7 := e.Request(t, func(in *store.NewRequest) {
		in.Task, in.Earliest, in.Latest = store.TaskHarvest, "2026-07-10", "2026-07-15"
	})
	e.Complete(t, e.Confirm(t, e.Job(t, r7, e.Team2, "2026-07-10")))

	complete := func(j *store.Job, att ...store.JobAttendance) {
		_, _, err := st.CompleteJob(ctx, v, j.ID, e.Leader(j), store.Completion{Attendance: att})
		require.NoError(t, err)
	}
	e.At(day(6, 18))
	complete(j1, store.JobAttendance{HouseholdID: e.A.ID, HalfDays: 4}, store.JobAttendance{HouseholdID: e.B.ID, HalfDays: 2})
	e.At(day(7, 9))
	e.Feedback(t, r1, 5)
	e.At(day(7, 18))
	complete(j3, store.JobAttendance{HouseholdID: e.A.ID, HalfDays: 3}, store.JobAttendance{HouseholdID: e.Outsider.ID, HalfDays: 1, Helper: true, Reason: "邻居顺路来帮忙"})
	e.At(day(10, 19))
	n, err := st.CloseUnrated(ctx, v, loopCron)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "r3; the summer request, done on 2026-07-10, waits for its own feedback")
	e.At(day(12, 18))
	complete(j2, store.JobAttendance{HouseholdID: e.D.ID, HalfDays: 2}, store.JobAttendance{HouseholdID: e.Outsider.ID, HalfDays: 2, Helper: true, Reason: "邻居顺路来帮忙"})
	e.At(day(13, 9))
	e.Feedback(t, r2, 4)

	e.At(day(14, 10)) // the report is asked for on 2026-05-04
	rep, err := st.SeasonReport(ctx, v, e.Season.ID)
	require.NoError(t, err)
	assert.Equal(t, e.Season.ID, rep.Season.ID)
	assert.Equal(t, 6, rep.Received)
	assert.Equal(t, 5, rep.Scheduled, "all but r5 were given a job")
	assert.Equal(t, 3, rep.Done, "r1, r2, r3")
	assert.Equal(t, 2, rep.DoneOnTime, "r2's job came after its window")
	assert.Equal(t, 1, rep.Cancelled)
	assert.Equal(t, 2, rep.Open, "r5 and r6")
	assert.Equal(t, 1, rep.Overdue, "r5's window ended on 2026-04-24")
	assert.InDelta(t, 0.6, rep.CompletionRate, 1e-9, "3 done of 6 received less 1 cancelled")
	assert.Equal(t, 4, rep.Responded)
	assert.Equal(t, (30*minute+60*minute+120*minute+180*minute)/4, rep.MeanResponse)
	assert.Equal(t, 97*minute+30*time.Second, rep.MeanResponse)
	assert.Equal(t, 3*time.Hour, rep.P90Response)
	assert.Equal(t, 2, rep.Feedbacks)
	assert.InDelta(t, 4.5, rep.MeanFeedback, 1e-9)
	assert.EqualValues(t, 14, rep.HalfDays)
	assert.Equal(t, []store.TeamWork{
		{TeamID: e.Team1.ID, Name: "第一互助队", Jobs: 2, HalfDays: 10},
		{TeamID: e.Team2.ID, Name: "第二互助队", Jobs: 1, HalfDays: 4},
	}, rep.ByTeam)
	bal, _ := loopBalances(t, e)
	assert.EqualValues(t, -16, bal[e.Helped.ID], "6 + 4 + 4 and 2 in summer")
	assert.Equal(t, 1, rep.BelowSoftLimit, "章仁标, below −5 workdays")

	other, err := st.SeasonReport(ctx, v, summer.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, other.Received)
	assert.Equal(t, 1, other.Done)
	assert.InDelta(t, 1.0, other.CompletionRate, 1e-9)
	assert.Zero(t, other.Feedbacks)
	assert.Zero(t, other.MeanFeedback)

	for _, id := range []int64{r5.ID, r6.ID} {
		got, _ := e.Reload(t, id)
		assert.True(t, got.Open())
	}
	_, err = st.SeasonReport(ctx, v, 9999)
	AssertError(t, err, store.ENOTFOUND, "")
}

// TestLoop_ConcurrentComplete completes one job from 20 goroutines at
// once: it posts one ledger transaction. Callers with the winner's key
// replay its answer; with another key they learn the job is done.
func TestLoop_ConcurrentComplete(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	const n = 20
	att := []store.JobAttendance{{HouseholdID: e.A.ID, HalfDays: 4}, {HouseholdID: e.B.ID, HalfDays: 2}}

	run := func(t *testing.T, key func(i int) string) (jobs [n]*store.Job, replays [n]bool, errs [n]error, j *store.Job) {
		_, j = e.Reach(t, store.RequestConfirmed)
		e.EveningOf(t, j.Date)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				jobs[i], replays[i], errs[i] = st.CompleteJob(ctx, v, j.ID, loopLeader1,
					store.Completion{Attendance: att, Meal: true, IdempotencyKey: key(i), RequestHash: "complete-job:" + key(i)})
			})
		}
		close(start)
		wg.Wait()
		return jobs, replays, errs, j
	}
	posted := func(t *testing.T, j *store.Job) {
		t.Helper()
		var txs int
		require.NoError(t, st.DB().NewRaw("SELECT COUNT(*) FROM ledger_transactions WHERE source_kind = ? AND source_id = ?",
			store.TxJob, fmt.Sprint(j.ID)).Scan(ctx, &txs))
		assert.Equal(t, 1, txs, "one transaction for the job")
		trs := loopChain(t, e, "job", j.ID, store.JobDone)
		assert.Len(t, trs, 3, "scheduled, confirmed, done: once")
		var done int
		for _, ev := range loopEvents(t, e, 0) {
			if strings.HasSuffix(ev, fmt.Sprintf("job.done job:%d", j.ID)) {
				done++
			}
		}
		assert.Equal(t, 1, done, "one job.done event")
		ver, err := st.VerifyLedger(ctx, v)
		require.NoError(t, err)
		assert.True(t, ver.OK(), "%v", ver.Mismatches)
	}

	t.Run("same key", func(t *testing.T) {
		jobs, replays, errs, j := run(t, func(int) string { return "same" })
		first := 0
		for i := range n {
			require.NoError(t, errs[i], "caller %d", i)
			assert.Equal(t, store.JobDone, jobs[i].State)
			assert.Equal(t, *jobs[0].TransactionID, *jobs[i].TransactionID, "caller %d", i)
			if !replays[i] {
				first++
			}
		}
		assert.Equal(t, 1, first, "one caller posted, the others replayed")
		posted(t, j)
	})

	t.Run("mixed keys", func(t *testing.T) {
		keys := []string{"a", "b", "c", "d"}
		jobs, replays, errs, j := run(t, func(i int) string { return keys[i%len(keys)] })
		winner := ""
		for i := range n {
			if errs[i] == nil && !replays[i] {
				require.Empty(t, winner, "only one caller posts")
				winner = keys[i%len(keys)]
			}
		}
		require.NotEmpty(t, winner)
		for i := range n {
			if keys[i%len(keys)] == winner {
				assert.NoError(t, errs[i], "caller %d has the winner's key", i)
				continue
			}
			if AssertError(t, errs[i], store.ECONFLICT, "") {
				assert.Contains(t, store.ErrorMessage(errs[i]), fmt.Sprintf("job %d is done", j.ID))
			}
			assert.Nil(t, jobs[i])
		}
		posted(t, j)
	})
}

// TestTeamHelps_EndsAfterTheSeason: a team's job on a household's request
// lets its leader read the household while the job's season is open or
// the job is dated within the last 90 days in the village; a job of a
// closed season 100 days ago no longer does.
func TestTeamHelps_EndsAfterTheSeason(t *testing.T) {
	e := loopSetup(t)
	helps := func() bool {
		t.Helper()
		ok, err := e.St.TeamHelps(e.Ctx, e.V.ID, e.Team1.ID, e.Helped.ID)
		require.NoError(t, err)
		return ok
	}
	assert.False(t, helps(), "no job yet")
	day := e.Day()
	e.Job(t, e.Request(t, nil), e.Team1, day)
	assert.True(t, helps(), "a job in the open season")

	loopSeasonState(t, e, e.Season.ID, store.SeasonClosed)
	assert.True(t, helps(), "the season closed, the job dated within 90 days")

	jobDay, err := time.ParseInLocation(time.DateOnly, day, e.V.Location())
	require.NoError(t, err)
	e.Clock.Set(jobDay.AddDate(0, 0, 89).Add(12 * time.Hour))
	assert.True(t, helps(), "89 days after the job")
	e.Clock.Set(jobDay.AddDate(0, 0, 100).Add(12 * time.Hour))
	assert.False(t, helps(), "100 days after a job of a closed season")
}
