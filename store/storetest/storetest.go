// Package storetest holds the fixtures the tests of store and of the
// packages built on it share: a store on a fresh database with a stopped
// clock, records made in one call, and the loop village (Loop) that the
// request-to-job tests and the planning tests play in.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/testdb"
)

// T0 is the clock every test starts from: a spring-ploughing morning in
// the village's own zone, so tests also see the store convert to UTC.
var T0 = time.Date(2026, 4, 20, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// MustOpen opens a store on a fresh database (see testdb.Database), with its
// clock stopped at t0, and closes it when the test ends.
func MustOpen(tb testing.TB) (*store.Store, *Clock) {
	tb.Helper()
	st, _ := MustOpenAt(tb, testdb.Database(tb, "x.db"))
	return st, SetClock(st, T0)
}

// MustOpenAt opens a store on the database at path (a file, or a
// PostgreSQL URL).
func MustOpenAt(tb testing.TB, path string) (*store.Store, string) {
	tb.Helper()
	st, err := store.Open(context.Background(), path)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, st.Close()) })
	return st, path
}

// Clock is a stopped clock that a test moves by hand.
type Clock struct{ now time.Time }

// SetClock makes st read its time from a stopped clock set to start.
func SetClock(st *store.Store, start time.Time) *Clock {
	c := &Clock{now: start}
	st.Now = func() time.Time { return c.now }
	return c
}

// Set stops the clock at now.
func (c *Clock) Set(now time.Time) { c.now = now }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return c.now }

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.now = c.now.Add(d)
	return c.now
}

// MustVillage creates a village named name.
func MustVillage(tb testing.TB, st *store.Store, name string) *store.Village {
	tb.Helper()
	v := &store.Village{Name: name, County: "玉山县", Township: "四股桥乡"}
	require.NoError(tb, st.CreateVillage(context.Background(), v))
	return v
}

// MustHousehold creates a household of the village: group 1, two laborers
// out of three members, unless mod says otherwise.
func MustHousehold(tb testing.TB, st *store.Store, villageID int64, mod func(*store.Household)) *store.Household {
	tb.Helper()
	h := &store.Household{VillageID: villageID, HeadName: "章仁标", Group: 1, Laborers: 2, Members: 3}
	if mod != nil {
		mod(h)
	}
	require.NoError(tb, st.CreateHousehold(context.Background(), h))
	return h
}

// MustField creates a 3-mu early-rice field of household h unless mod says otherwise.
func MustField(tb testing.TB, st *store.Store, h *store.Household, mod func(*store.Field)) *store.Field {
	tb.Helper()
	f := &store.Field{VillageID: h.VillageID, HouseholdID: h.ID, Name: "门口田", AreaCentimu: 300, Crop: store.CropEarlyRice}
	if mod != nil {
		mod(f)
	}
	require.NoError(tb, st.CreateField(context.Background(), f))
	return f
}

// MustTeam creates a team of the village.
func MustTeam(tb testing.TB, st *store.Store, villageID int64, name string) *store.Team {
	tb.Helper()
	tm := &store.Team{VillageID: villageID, Name: name, LeaderName: "周国华"}
	require.NoError(tb, st.CreateTeam(context.Background(), tm))
	return tm
}

// MustMember makes household h a member of team, offering wpd workers a day.
func MustMember(tb testing.TB, st *store.Store, team *store.Team, h *store.Household, wpd int) *store.TeamMember {
	tb.Helper()
	m := &store.TeamMember{TeamID: team.ID, HouseholdID: h.ID, WorkersPerDay: wpd}
	require.NoError(tb, st.AddTeamMember(context.Background(), team.VillageID, m))
	return m
}

// CountRows counts the rows of a table, straight from the database.
func CountRows(tb testing.TB, st *store.Store, table string) int {
	tb.Helper()
	var n int
	require.NoError(tb, st.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// AssertError checks that err is a domain error with code and, unless
// field is empty, naming field.
func AssertError(tb testing.TB, err error, code, field string) bool {
	tb.Helper()
	if !assert.Equal(tb, code, store.ErrorCode(err), "error: %v", err) {
		return false
	}
	if field == "" {
		return true
	}
	var e *store.Error
	if !assert.ErrorAs(tb, err, &e) {
		return false
	}
	return assert.Equal(tb, field, e.Field, "error: %v", err)
}
