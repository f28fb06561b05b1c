package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestRequest_Retries: registering or cancelling a request again with the
// same idempotency key and fingerprint is answered from the first call and
// writes nothing; the key with another fingerprint, or on another
// operation or request, is refused; without a key a repeat is the 409 it
// always was.
func TestRequest_Retries(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	in := store.NewRequest{HouseholdID: e.Helped.ID, FieldID: e.Field(t, e.Helped, 160).ID, Task: store.TaskTransplant,
		Earliest: "2026-04-25", Latest: "2026-04-30", IdempotencyKey: "key-create", RequestHash: "create-1"}
	first, replayed, err := st.CreateRequestOnce(ctx, v, loopHousehold, in)
	require.NoError(t, err)
	assert.False(t, replayed)

	t.Run("create again with the same key", func(t *testing.T) {
		before := loopCounts(t, st)
		again, replayed, err := st.CreateRequestOnce(ctx, v, loopHousehold, in)
		require.NoError(t, err)
		assert.True(t, replayed)
		want, _ := e.Reload(t, first.ID)
		assert.Equal(t, want, again)
		assert.EqualValues(t, 1, again.Version)
		loopAssertNothingWritten(t, e, before)
	})

	t.Run("create again after the window ended", func(t *testing.T) {
		// The answer was lost and the retry comes late: it is still the
		// first call's answer, not a refusal of a window now past.
		e.At(15 * 24 * time.Hour)
		defer e.At(0)
		again, replayed, err := st.CreateRequestOnce(ctx, v, loopHousehold, in)
		require.NoError(t, err)
		assert.True(t, replayed)
		assert.Equal(t, first.ID, again.ID)
	})

	t.Run("the key with another request", func(t *testing.T) {
		other := in
		other.RequestHash, other.Latest = "create-2", "2026-05-01"
		before := loopCounts(t, st)
		_, _, err := st.CreateRequestOnce(ctx, v, loopHousehold, other)
		AssertError(t, err, store.EINVALID, "header.Idempotency-Key")
		loopAssertNothingWritten(t, e, before)
	})

	t.Run("create again without a key", func(t *testing.T) {
		plain := in
		plain.IdempotencyKey, plain.RequestHash = "", ""
		_, _, err := st.CreateRequestOnce(ctx, v, loopHousehold, plain)
		AssertError(t, err, store.ECONFLICT, "body.fieldId")
	})

	cancel := store.Cancellation{Reason: "儿子回来了", IdempotencyKey: "key-cancel", RequestHash: "cancel-1"}
	cancelled, replayed, err := st.CancelRequestOnce(ctx, v, first.ID, loopHousehold, cancel)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, store.RequestCancelled, cancelled.State)

	t.Run("cancel again with the same key", func(t *testing.T) {
		e.At(time.Hour)
		defer e.At(0)
		before := loopCounts(t, st)
		again, replayed, err := st.CancelRequestOnce(ctx, v, first.ID, loopHousehold, cancel)
		require.NoError(t, err)
		assert.True(t, replayed)
		want, _ := e.Reload(t, first.ID)
		assert.Equal(t, want, again)
		assert.Equal(t, cancelled.Version, again.Version, "the request as the first call left it")
		assert.True(t, cancelled.UpdatedAt.Equal(again.UpdatedAt), "the request as the first call left it")
		loopAssertNothingWritten(t, e, before)
	})

	second := e.Request(t, nil)
	for _, tc := range []struct {
		name string
		id   int64
		in   store.Cancellation
	}{
		{"cancel again with the key and another reason", first.ID, store.Cancellation{Reason: "不要了", IdempotencyKey: "key-cancel", RequestHash: "cancel-2"}},
		{"the cancel key on another request", second.ID, cancel},
		{"the create key on a cancel", first.ID, store.Cancellation{Reason: "儿子回来了", IdempotencyKey: "key-create", RequestHash: "create-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopCounts(t, st)
			_, _, err := st.CancelRequestOnce(ctx, v, tc.id, loopHousehold, tc.in)
			AssertError(t, err, store.EINVALID, "header.Idempotency-Key")
			loopAssertNothingWritten(t, e, before)
		})
	}
	r, _ := e.Reload(t, second.ID)
	assert.Equal(t, store.RequestSubmitted, r.State, "a refused key cancels nothing")

	t.Run("cancel again without a key", func(t *testing.T) {
		_, _, err := st.CancelRequestOnce(ctx, v, first.ID, loopHousehold, store.Cancellation{Reason: "儿子回来了"})
		AssertError(t, err, store.ECONFLICT, "")
	})

	t.Run("the cancel key on a create", func(t *testing.T) {
		reuse := in
		reuse.IdempotencyKey, reuse.RequestHash = "key-cancel", "cancel-1"
		_, _, err := st.CreateRequestOnce(ctx, v, loopHousehold, reuse)
		AssertError(t, err, store.EINVALID, "header.Idempotency-Key")
	})
}

// TestRequest_WindowEnded: a window whose latest date is before today in
// the village is refused, by the store's clock and the village's calendar;
// an earliest date already past is kept as given.
func TestRequest_WindowEnded(t *testing.T) {
	e := loopSetup(t) // 2026-04-20 08:00 in the village
	ctx, st, v := e.Ctx, e.St, e.V.ID
	ask := func(earliest, latest string) (*store.HelpRequest, error) {
		return st.CreateRequest(ctx, v, loopHousehold, store.NewRequest{HouseholdID: e.Helped.ID,
			FieldID: e.Field(t, e.Helped, 160).ID, Task: store.TaskTransplant, Earliest: earliest, Latest: latest})
	}

	before := loopCounts(t, st)
	_, err := ask("2026-04-10", "2026-04-19")
	AssertError(t, err, store.EINVALID, "body.latest")
	assert.ErrorContains(t, err, "最晚日期已过 the window ended on 2026-04-19, before today (2026-04-20) in the village")
	loopAssertNothingWritten(t, e, before)

	r, err := ask("2026-04-10", "2026-04-20")
	require.NoError(t, err, "due today")
	assert.Equal(t, "2026-04-10", r.Earliest, "an earliest already past is kept: help may come from now on")

	// 2026-04-20 16:30 UTC is already 2026-04-21 00:30 in the village.
	e.Clock.Set(time.Date(2026, 4, 20, 16, 30, 0, 0, time.UTC))
	_, err = ask("2026-04-18", "2026-04-20")
	AssertError(t, err, store.EINVALID, "body.latest")
	_, err = ask("2026-04-18", "2026-04-21")
	require.NoError(t, err)
}
