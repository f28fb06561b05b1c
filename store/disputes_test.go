package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/storetest"
)

// TestAttendanceRules: what CompleteJob refuses of a leader's record, each
// a 422 naming the line with nothing written; and the village's slack.
func TestAttendanceRules(t *testing.T) {
	e := loopSetup(t) // 2026-04-20 08:00; Team1's jobs plan A×2 and B×1
	ctx, st, v := e.Ctx, e.St, e.V.ID
	j := e.Confirm(t, e.Job(t, e.Request(t, nil), e.Team1, e.Day())) // 2026-04-25
	a := func(h *store.Household, half int64, workers int, helper bool, reason string) store.JobAttendance {
		return store.JobAttendance{HouseholdID: h.ID, HalfDays: half, Workers: workers, Helper: helper, Reason: reason}
	}
	complete := func(att ...store.JobAttendance) error {
		_, _, err := st.CompleteJob(ctx, v, j.ID, loopLeader1, store.Completion{Attendance: att})
		return err
	}

	t.Run("not before the job's day in the village", func(t *testing.T) {
		e.Clock.Set(time.Date(2026, 4, 24, 23, 59, 0, 0, storetest.T0.Location())) // a minute before the job's day in the village
		before := loopCounts(t, st)
		AssertError(t, complete(a(e.A, 4, 0, false, "")), store.EINVALID, "path.id")
		loopAssertNothingWritten(t, e, before)
	})

	// 00:30 on the job's day in the village is still the 24th in UTC: the
	// village's date counts.
	e.Clock.Set(time.Date(2026, 4, 25, 0, 30, 0, 0, storetest.T0.Location()))
	for _, tc := range []struct {
		name  string
		att   []store.JobAttendance
		field string
	}{
		{"1.5 workdays for one person", []store.JobAttendance{a(e.A, 4, 0, false, ""), a(e.B, 3, 0, false, "")}, "body.attendance[1].workdays"},
		{"1.5 workdays for B's one planned person, though A sent fewer", []store.JobAttendance{a(e.A, 1, 1, false, ""), a(e.B, 3, 0, false, "")}, "body.attendance[1].workdays"},
		{"a helper without a reason", []store.JobAttendance{a(e.A, 4, 0, false, ""), a(e.Outsider, 1, 0, true, "")}, "body.attendance[1].reason"},
		{"a member not planned without a reason", []store.JobAttendance{a(e.C, 2, 0, false, "")}, "body.attendance[0].reason"},
		{"more people than 3 planned + 2", []store.JobAttendance{a(e.A, 4, 0, false, ""), a(e.B, 2, 0, false, ""), a(e.C, 4, 2, false, "轮空来帮忙"), a(e.Outsider, 2, 1, true, "亲戚")}, "body.attendance[3].workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopCounts(t, st)
			AssertError(t, complete(tc.att...), store.EINVALID, tc.field)
			loopAssertNothingWritten(t, e, before)
		})
	}

	t.Run("the slack set to 0 holds the record to the plan", func(t *testing.T) {
		zero := 0
		got, err := st.UpdateVillage(ctx, v, store.VillageUpdate{AttendanceSlack: &zero})
		require.NoError(t, err)
		assert.Zero(t, got.AttendanceSlack)
		AssertError(t, complete(a(e.A, 4, 0, false, ""), a(e.B, 2, 0, false, ""), a(e.Outsider, 1, 0, true, "亲戚")), store.EINVALID, "body.attendance[2].workers")
		bad := 21
		_, err = st.UpdateVillage(ctx, v, store.VillageUpdate{AttendanceSlack: &bad})
		AssertError(t, err, store.EINVALID, "body.attendanceSlack")
		two := 2
		_, err = st.UpdateVillage(ctx, v, store.VillageUpdate{AttendanceSlack: &two})
		require.NoError(t, err)
	})

	t.Run("within the rules it posts", func(t *testing.T) {
		require.NoError(t, complete(a(e.A, 3, 0, false, ""), a(e.B, 2, 0, false, ""), a(e.Outsider, 1, 0, true, "亲戚顺路来帮忙")))
		bal, _ := loopBalances(t, e)
		assert.EqualValues(t, -6, bal[e.Helped.ID])
	})
}

// TestDisputeFlow: a dispute within the window flags the job; a cadre
// reverses it with the ledger's reversal; the window closes by time alone.
func TestDisputeFlow(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	_, j := e.Reach(t, store.RequestDone) // completed 2026-04-25 18:00, the clock back at 2026-04-20 08:00
	_, late := e.Reach(t, store.RequestDone)
	require.NotNil(t, j.CompletedAt)
	assert.Equal(t, time.Date(2026, 4, 28, 10, 0, 0, 0, time.UTC), *j.DisputeUntil(), "3 days after 18:00 CST")

	e.Clock.Set(time.Date(2026, 4, 26, 9, 0, 0, 0, storetest.T0.Location()))
	assert.Equal(t, store.DisputeWindowOpen, j.Dispute(e.Clock.Now()))
	_, err := st.DisputeJob(ctx, v, j.ID, loopHousehold, "  ")
	AssertError(t, err, store.EINVALID, "body.reason")
	got, err := st.DisputeJob(ctx, v, j.ID, loopHousehold, "只来了一个人")
	require.NoError(t, err)
	assert.Equal(t, store.DisputeOpen, got.Dispute(e.Clock.Now()))
	_, err = st.DisputeJob(ctx, v, j.ID, loopHousehold, "再说一次")
	AssertError(t, err, store.ECONFLICT, "")
	flagged, err := st.DisputedJobs(ctx, v)
	require.NoError(t, err)
	require.Len(t, flagged, 1)
	assert.Equal(t, j.ID, flagged[0].ID)
	rep, err := st.SeasonReport(ctx, v, e.Season.ID)
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 1, 0}, [3]int{rep.Disputed, rep.DisputesOpen, rep.DisputesReversed})

	_, err = st.ResolveDispute(ctx, v, j.ID, loopCadre, "forgive", "")
	AssertError(t, err, store.EINVALID, "body.resolution")
	_, err = st.ResolveDispute(ctx, v, late.ID, loopCadre, store.ResolveReverse, "")
	AssertError(t, err, store.ECONFLICT, "")
	got, err = st.ResolveDispute(ctx, v, j.ID, loopCadre, store.ResolveReverse, "核实后确为误记")
	require.NoError(t, err)
	assert.Equal(t, store.DisputeReversed, got.DisputeState)
	require.NotNil(t, got.ReversalID)
	tx, err := st.GetTransaction(ctx, v, *got.ReversalID)
	require.NoError(t, err)
	assert.Equal(t, j.TransactionID, tx.ReversesID)
	bal, fund := loopBalances(t, e)
	assert.EqualValues(t, -6, bal[e.Helped.ID], "only the other job's 6 half days remain")
	assert.EqualValues(t, 4, bal[e.A.ID])
	assert.EqualValues(t, 2, bal[e.B.ID])
	assert.Zero(t, fund)
	ver, err := st.VerifyLedger(ctx, v)
	require.NoError(t, err)
	assert.True(t, ver.OK(), "%v", ver.Mismatches)
	_, err = st.ResolveDispute(ctx, v, j.ID, loopCadre, store.ResolveConfirm, "")
	AssertError(t, err, store.ECONFLICT, "")
	loopChain(t, e, "job", j.ID, store.JobDone)

	e.Clock.Set(time.Date(2026, 4, 29, 18, 1, 0, 0, storetest.T0.Location())) // past 2026-04-26 18:00 + 3 days
	assert.Equal(t, store.DisputeConfirmed, late.Dispute(e.Clock.Now()), "no dispute within 3 days confirms it")
	_, err = st.DisputeJob(ctx, v, late.ID, loopHousehold, "晚了")
	AssertError(t, err, store.ECONFLICT, "")
	rep, err = st.SeasonReport(ctx, v, e.Season.ID)
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 0, 1}, [3]int{rep.Disputed, rep.DisputesOpen, rep.DisputesReversed})
}
