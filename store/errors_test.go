package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestCreateTeam_NameUniquePerVillage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		village   string // "A" or "B"
		team      string
		wantCode  string
		wantField string
	}{
		{name: "same name same village", village: "A", team: "第一互助队", wantCode: store.ECONFLICT, wantField: "body.name"},
		{name: "same name after trimming", village: "A", team: " 第一互助队 ", wantCode: store.ECONFLICT, wantField: "body.name"},
		{name: "same name other village", village: "B", team: "第一互助队"},
		{name: "other name same village", village: "A", team: "第二互助队"},
		{name: "empty name", village: "A", team: "  ", wantCode: store.EINVALID, wantField: "body.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			villages := map[string]*store.Village{"A": MustVillage(t, st, "皇珠村"), "B": MustVillage(t, st, "东山村")}
			MustTeam(t, st, villages["A"].ID, "第一互助队")

			team := &store.Team{VillageID: villages[tc.village].ID, Name: tc.team}
			err := st.CreateTeam(t.Context(), team)
			if tc.wantCode == "" {
				require.NoError(t, err)
				assert.Equal(t, 2, CountRows(t, st, "teams"))
				return
			}
			AssertError(t, err, tc.wantCode, tc.wantField)
			assert.Equal(t, 1, CountRows(t, st, "teams"), "nothing written")
			assert.NotContains(t, store.ErrorMessage(err), "UNIQUE", "the client never sees driver text")
		})
	}
}

func TestCreateField_HouseholdOfTheVillage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		household func(own, other *store.Household) int64
		wantCode  string
	}{
		{name: "own village", household: func(own, _ *store.Household) int64 { return own.ID }},
		{name: "other village", household: func(_, other *store.Household) int64 { return other.ID }, wantCode: store.EINVALID},
		{name: "missing", household: func(_, _ *store.Household) int64 { return 9999 }, wantCode: store.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			own, other := MustHousehold(t, st, a.ID, nil), MustHousehold(t, st, b.ID, nil)

			f := &store.Field{VillageID: a.ID, HouseholdID: tc.household(own, other), Name: "门口田", AreaCentimu: 150, Crop: store.CropLateRice}
			err := st.CreateField(t.Context(), f)
			if tc.wantCode == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, CountRows(t, st, "fields"))
				return
			}
			AssertError(t, err, tc.wantCode, "body.householdId")
			assert.Equal(t, 0, CountRows(t, st, "fields"), "nothing written")
		})
	}
}

func TestGet_NotFound(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	h := MustHousehold(t, st, a.ID, nil)
	f := MustField(t, st, h, nil)
	team := MustTeam(t, st, a.ID, "第一互助队")

	for _, tc := range []struct {
		name string
		get  func() error
	}{
		{"missing household", func() error { _, err := st.GetHousehold(t.Context(), a.ID, h.ID+100); return err }},
		{"household of another village", func() error { _, err := st.GetHousehold(t.Context(), b.ID, h.ID); return err }},
		{"missing field", func() error { _, err := st.GetField(t.Context(), a.ID, f.ID+100); return err }},
		{"field of another village", func() error { _, err := st.GetField(t.Context(), b.ID, f.ID); return err }},
		{"missing team", func() error { _, err := st.GetTeam(t.Context(), a.ID, team.ID+100); return err }},
		{"team of another village", func() error { _, err := st.GetTeam(t.Context(), b.ID, team.ID); return err }},
		{"missing village", func() error { _, err := st.GetVillage(t.Context(), b.ID+100); return err }},
		{"village by unknown name", func() error { _, err := st.FindVillage(t.Context(), "西山村"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			AssertError(t, tc.get(), store.ENOTFOUND, "")
		})
	}

	t.Run("found", func(t *testing.T) {
		got, err := st.GetHousehold(t.Context(), a.ID, h.ID)
		require.NoError(t, err)
		assert.Equal(t, h.HeadName, got.HeadName)
	})
}
