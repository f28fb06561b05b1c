package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestTeam_CreateGet(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	leader := MustHousehold(t, st, a.ID, nil)
	foreign := MustHousehold(t, st, b.ID, nil)

	for _, tc := range []struct {
		name      string
		leader    *int64
		wantField string
	}{
		{name: "no leader household", leader: nil},
		{name: "leader household of the village", leader: &leader.ID},
		{name: "leader household of another village", leader: &foreign.ID, wantField: "body.leaderHouseholdId"},
		{name: "missing leader household", leader: ptr(int64(9999)), wantField: "body.leaderHouseholdId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			team := &store.Team{VillageID: a.ID, Name: tc.name, LeaderName: " 周国华 ", LeaderHouseholdID: tc.leader}
			err := st.CreateTeam(t.Context(), team)
			if tc.wantField != "" {
				AssertError(t, err, store.EINVALID, tc.wantField)
				_, err := st.GetTeam(t.Context(), a.ID, team.ID)
				AssertError(t, err, store.ENOTFOUND, "")
				return
			}
			require.NoError(t, err)
			got, err := st.GetTeam(t.Context(), a.ID, team.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.name, got.Name)
			assert.Equal(t, "周国华", got.LeaderName)
			assert.Equal(t, tc.leader, got.LeaderHouseholdID)
			assert.Equal(t, int64(1), got.Version)
			AssertSameTime(t, t0, got.CreatedAt, "created")
			assert.Empty(t, got.Members)
		})
	}
}

func TestTeam_ListPages(t *testing.T) {
	for _, pc := range PageCases {
		t.Run(pageCaseName(pc.n), func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			h := MustHousehold(t, st, a.ID, nil)
			var want []int64
			for i := range pc.n {
				team := MustTeam(t, st, a.ID, "互助队"+string(rune('A'+i)))
				MustMember(t, st, team, h, 1)
				want = append(want, team.ID)
				if i%2 == 0 {
					MustTeam(t, st, b.ID, "互助队"+string(rune('A'+i)))
				}
			}
			var members int
			got, pages := CollectPages(t, 3, func(p store.Page) ([]*store.Team, int64, error) {
				rows, next, err := st.ListTeams(t.Context(), a.ID, p)
				for _, r := range rows {
					members += len(r.Members)
				}
				return rows, next, err
			}, func(t *store.Team) int64 { return t.ID })
			assert.Equal(t, want, got, "each of A's teams once, in ID order, none of B's")
			assert.Equal(t, pc.pages, pages)
			assert.Equal(t, pc.n, members, "each team comes with its members")
		})
	}
}

func TestTeam_Update(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ifVersion int64
		newName   string
		wantCode  string
	}{
		{name: "rename", ifVersion: 1, newName: "第三互助队"},
		{name: "rename without version check", ifVersion: 0, newName: "第三互助队"},
		{name: "stale version", ifVersion: 2, newName: "第三互助队", wantCode: store.EPRECONDITION},
		{name: "to a name taken in the village", ifVersion: 1, newName: "第二互助队", wantCode: store.ECONFLICT},
		{name: "to no name", ifVersion: 1, newName: " ", wantCode: store.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clock := MustOpen(t)
			v := MustVillage(t, st, "皇珠村")
			team := MustTeam(t, st, v.ID, "第一互助队")
			MustTeam(t, st, v.ID, "第二互助队")
			MustMember(t, st, team, MustHousehold(t, st, v.ID, nil), 1)

			now := clock.Advance(time.Hour)
			got, err := st.UpdateTeam(t.Context(), v.ID, team.ID, tc.ifVersion, func(t *store.Team) error { t.Name = tc.newName; return nil })
			stored, gerr := st.GetTeam(t.Context(), v.ID, team.ID)
			require.NoError(t, gerr)
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, "")
				assert.Equal(t, "第一互助队", stored.Name)
				assert.Equal(t, int64(1), stored.Version)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.newName, got.Name)
			assert.Equal(t, int64(2), got.Version)
			AssertSameTime(t, now, got.UpdatedAt, "updated")
			assert.Len(t, got.Members, 1, "returned with its members")
			assert.Equal(t, tc.newName, stored.Name)
		})
	}
}

// memberEnv is a village with a team, its households and another village's.
type memberEnv struct {
	village *store.Village
	team    *store.Team
	two     *store.Household // two laborers
	none    *store.Household // no laborers
	foreign *store.Household // of another village
	other   *store.Team      // of another village
}

func mustMemberEnv(t *testing.T, st *store.Store) memberEnv {
	t.Helper()
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	return memberEnv{
		village: a,
		team:    MustTeam(t, st, a.ID, "第一互助队"),
		two:     MustHousehold(t, st, a.ID, func(h *store.Household) { h.Laborers, h.Members = 2, 4 }),
		none:    MustHousehold(t, st, a.ID, func(h *store.Household) { h.HeadName, h.Laborers, h.Members = "章仁标", 0, 1 }),
		foreign: MustHousehold(t, st, b.ID, nil),
		other:   MustTeam(t, st, b.ID, "第一互助队"),
	}
}

func TestTeam_AddMember(t *testing.T) {
	for _, tc := range []struct {
		name      string
		member    func(e memberEnv) *store.TeamMember
		wantCode  string
		wantField string
	}{
		{name: "one worker", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 1}
		}},
		{name: "every laborer, with days off", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 2, UnavailableDays: []string{"2026-04-20", "2026-05-01"}}
		}},
		{name: "no workers", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 0}
		}, wantCode: store.EINVALID, wantField: "body.workersPerDay"},
		{name: "more workers than laborers", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 3}
		}, wantCode: store.EINVALID, wantField: "body.workersPerDay"},
		{name: "household without laborers", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.none.ID, WorkersPerDay: 1}
		}, wantCode: store.EINVALID, wantField: "body.workersPerDay"},
		{name: "bad second date", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 1, UnavailableDays: []string{"2026-04-20", "2026-4-21"}}
		}, wantCode: store.EINVALID, wantField: "body.unavailableDays[1]"},
		{name: "impossible date", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 1, UnavailableDays: []string{"2026-02-30"}}
		}, wantCode: store.EINVALID, wantField: "body.unavailableDays[0]"},
		{name: "household of another village", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.foreign.ID, WorkersPerDay: 1}
		}, wantCode: store.EINVALID, wantField: "body.householdId"},
		{name: "missing household", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.team.ID, HouseholdID: 9999, WorkersPerDay: 1}
		}, wantCode: store.EINVALID, wantField: "body.householdId"},
		{name: "team of another village", member: func(e memberEnv) *store.TeamMember {
			return &store.TeamMember{TeamID: e.other.ID, HouseholdID: e.two.ID, WorkersPerDay: 1}
		}, wantCode: store.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			e := mustMemberEnv(t, st)
			m := tc.member(e)
			err := st.AddTeamMember(t.Context(), e.village.ID, m)
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, tc.wantField)
				assert.Equal(t, 0, CountRows(t, st, "team_members"), "nothing written")
				return
			}
			require.NoError(t, err)
			AssertSameTime(t, t0, m.CreatedAt, "created")
			team, err := st.GetTeam(t.Context(), e.village.ID, e.team.ID)
			require.NoError(t, err)
			require.Len(t, team.Members, 1)
			got := team.Members[0]
			assert.Equal(t, m.HouseholdID, got.HouseholdID)
			assert.Equal(t, m.WorkersPerDay, got.WorkersPerDay)
			assert.Equal(t, m.UnavailableDays, got.UnavailableDays)
			assert.NotNil(t, got.UnavailableDays, "no days off is an empty list, not null")
		})
	}
}

func TestTeam_AddMemberTwice(t *testing.T) {
	st, _ := MustOpen(t)
	e := mustMemberEnv(t, st)
	MustMember(t, st, e.team, e.two, 1)
	err := st.AddTeamMember(t.Context(), e.village.ID, &store.TeamMember{TeamID: e.team.ID, HouseholdID: e.two.ID, WorkersPerDay: 2})
	AssertError(t, err, store.ECONFLICT, "body.householdId")
	team, err := st.GetTeam(t.Context(), e.village.ID, e.team.ID)
	require.NoError(t, err)
	require.Len(t, team.Members, 1)
	assert.Equal(t, 1, team.Members[0].WorkersPerDay, "the first membership stands")
}

func TestTeam_GetWithMembers(t *testing.T) {
	st, _ := MustOpen(t)
	e := mustMemberEnv(t, st)
	third := MustHousehold(t, st, e.village.ID, func(h *store.Household) { h.HeadName = "周国华"; h.Laborers = 1 })
	second := MustTeam(t, st, e.village.ID, "第二互助队")
	// Added out of household order; listed in it.
	MustMember(t, st, e.team, third, 1)
	MustMember(t, st, e.team, e.two, 2)
	MustMember(t, st, second, e.two, 1) // a household may serve two teams

	team, err := st.GetTeam(t.Context(), e.village.ID, e.team.ID)
	require.NoError(t, err)
	require.Len(t, team.Members, 2)
	for i, want := range []*store.Household{e.two, third} {
		m := team.Members[i]
		assert.Equal(t, want.ID, m.HouseholdID, "member %d", i)
		assert.Equal(t, e.team.ID, m.TeamID, "member %d", i)
		if assert.NotNil(t, m.Household, "member %d: household loaded", i) {
			assert.Equal(t, want.ID, m.Household.ID)
			assert.Equal(t, want.HeadName, m.Household.HeadName)
			assert.Equal(t, want.Laborers, m.Household.Laborers)
		}
	}
}

func TestTeam_UpdateMember(t *testing.T) {
	for _, tc := range []struct {
		name      string
		team      func(e memberEnv) int64
		household func(e memberEnv) int64
		change    func(*store.TeamMember) error
		wantCode  string
		wantField string
	}{
		{name: "more workers and days off", change: func(m *store.TeamMember) error {
			m.WorkersPerDay, m.UnavailableDays = 2, []string{"2026-06-01"}
			return nil
		}},
		{name: "more workers than laborers", change: func(m *store.TeamMember) error { m.WorkersPerDay = 3; return nil },
			wantCode: store.EINVALID, wantField: "body.workersPerDay"},
		{name: "bad date", change: func(m *store.TeamMember) error { m.UnavailableDays = []string{"2026-06-01", "06/02"}; return nil },
			wantCode: store.EINVALID, wantField: "body.unavailableDays[1]"},
		{name: "change cannot move the membership", change: func(m *store.TeamMember) error {
			m.HouseholdID, m.WorkersPerDay = 9999, 2
			return nil
		}},
		{name: "not a member", household: func(e memberEnv) int64 { return e.none.ID }, change: noMemberChange,
			wantCode: store.ENOTFOUND},
		{name: "team of another village", team: func(e memberEnv) int64 { return e.other.ID }, change: noMemberChange,
			wantCode: store.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			e := mustMemberEnv(t, st)
			MustMember(t, st, e.team, e.two, 1)
			teamID, householdID := e.team.ID, e.two.ID
			if tc.team != nil {
				teamID = tc.team(e)
			}
			if tc.household != nil {
				householdID = tc.household(e)
			}
			got, err := st.UpdateTeamMember(t.Context(), e.village.ID, teamID, householdID, tc.change)
			team, gerr := st.GetTeam(t.Context(), e.village.ID, e.team.ID)
			require.NoError(t, gerr)
			require.Len(t, team.Members, 1)
			stored := team.Members[0]
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, tc.wantField)
				assert.Equal(t, 1, stored.WorkersPerDay, "nothing written")
				assert.Empty(t, stored.UnavailableDays, "nothing written")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, e.two.ID, got.HouseholdID)
			assert.Equal(t, e.two.ID, stored.HouseholdID)
			assert.Equal(t, got.WorkersPerDay, stored.WorkersPerDay)
			assert.Equal(t, got.UnavailableDays, stored.UnavailableDays)
			assert.Equal(t, 2, stored.WorkersPerDay)
		})
	}
}

func TestTeam_RemoveMember(t *testing.T) {
	for _, tc := range []struct {
		name      string
		team      func(e memberEnv) int64
		household func(e memberEnv) int64
		wantCode  string
		wantLeft  int
	}{
		{name: "member", household: func(e memberEnv) int64 { return e.two.ID }, wantLeft: 0},
		{name: "not a member", household: func(e memberEnv) int64 { return e.none.ID }, wantCode: store.ENOTFOUND, wantLeft: 1},
		{name: "missing household", household: func(memberEnv) int64 { return 9999 }, wantCode: store.ENOTFOUND, wantLeft: 1},
		{name: "team of another village", team: func(e memberEnv) int64 { return e.other.ID }, household: func(e memberEnv) int64 { return e.two.ID },
			wantCode: store.ENOTFOUND, wantLeft: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			e := mustMemberEnv(t, st)
			MustMember(t, st, e.team, e.two, 1)
			teamID := e.team.ID
			if tc.team != nil {
				teamID = tc.team(e)
			}
			err := st.RemoveTeamMember(t.Context(), e.village.ID, teamID, tc.household(e))
			AssertError(t, err, tc.wantCode, "")
			team, err := st.GetTeam(t.Context(), e.village.ID, e.team.ID)
			require.NoError(t, err)
			assert.Len(t, team.Members, tc.wantLeft)
		})
	}

	t.Run("twice", func(t *testing.T) {
		st, _ := MustOpen(t)
		e := mustMemberEnv(t, st)
		MustMember(t, st, e.team, e.two, 1)
		require.NoError(t, st.RemoveTeamMember(t.Context(), e.village.ID, e.team.ID, e.two.ID))
		AssertError(t, st.RemoveTeamMember(t.Context(), e.village.ID, e.team.ID, e.two.ID), store.ENOTFOUND, "")
		// Off the team, the household may drop its laborers again.
		_, err := st.UpdateHousehold(t.Context(), e.village.ID, e.two.ID, 0, setLaborers(0))
		assert.NoError(t, err)
	})
}

func noMemberChange(*store.TeamMember) error { return nil }

func ptr[T any](v T) *T { return &v }
