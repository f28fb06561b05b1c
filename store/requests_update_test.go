package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestUpdateRequest: a cadre sets and resets an open request's crew cap
// and work; bad values name the field and write nothing, a stale version
// is a precondition failure, a request no longer open a conflict.
func TestUpdateRequest(t *testing.T) {
	e := loopSetup(t)
	ctx, st, v := e.Ctx, e.St, e.V.ID
	r := e.Request(t, nil)
	n := func(i int) *int { return &i }
	h := func(i int64) *int64 { return &i }

	got, err := st.UpdateRequest(ctx, v, r.ID, r.Version, store.RequestChange{CrewCap: n(4), HalfDays: h(7)})
	require.NoError(t, err)
	require.NotNil(t, got.CrewCap)
	assert.Equal(t, 4, *got.CrewCap)
	assert.EqualValues(t, 7, got.HalfDays)
	assert.Equal(t, r.Version+1, got.Version)

	for name, c := range map[string]struct {
		change store.RequestChange
		field  string
	}{
		"crew cap zero":     {store.RequestChange{CrewCap: n(0)}, "body.crewCap"},
		"crew cap too big":  {store.RequestChange{CrewCap: n(51)}, "body.crewCap"},
		"workdays not more": {store.RequestChange{HalfDays: h(0)}, "body.workdays"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := st.UpdateRequest(ctx, v, r.ID, 0, c.change)
			AssertError(t, err, store.EINVALID, c.field)
			again, err := st.GetRequest(ctx, v, r.ID)
			require.NoError(t, err)
			assert.Equal(t, got.Version, again.Version)
		})
	}

	t.Run("stale version", func(t *testing.T) {
		_, err := st.UpdateRequest(ctx, v, r.ID, r.Version, store.RequestChange{CrewCap: n(3)})
		AssertError(t, err, store.EPRECONDITION, "")
	})

	t.Run("reset to the default", func(t *testing.T) {
		back, err := st.UpdateRequest(ctx, v, r.ID, got.Version, store.RequestChange{ResetCrewCap: true})
		require.NoError(t, err)
		assert.Nil(t, back.CrewCap)
	})

	t.Run("closed request", func(t *testing.T) {
		e.Cancel(t, r)
		_, err := st.UpdateRequest(ctx, v, r.ID, 0, store.RequestChange{CrewCap: n(3)})
		AssertError(t, err, store.ECONFLICT, "")
	})
}
