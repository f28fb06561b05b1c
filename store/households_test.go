package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestHousehold_CreateGet(t *testing.T) {
	st, _ := MustOpen(t)
	v := MustVillage(t, st, "皇珠村")
	h := &store.Household{
		VillageID: v.ID, HeadName: "  章仁标 ", Group: 3, Laborers: 0, Members: 2,
		Elderly: true, LeftBehind: true, Exempt: true, PartyMember: "周国华", Phone: "13812345678",
	}
	require.NoError(t, st.CreateHousehold(t.Context(), h))
	assert.NotZero(t, h.ID)
	assert.Equal(t, int64(1), h.Version)
	assert.Equal(t, "章仁标", h.HeadName, "name trimmed")

	got, err := st.GetHousehold(t.Context(), v.ID, h.ID)
	require.NoError(t, err)
	AssertSameTime(t, t0, got.CreatedAt, "created")
	AssertSameTime(t, t0, got.UpdatedAt, "updated")
	got.CreatedAt, got.UpdatedAt = h.CreatedAt, h.UpdatedAt // compared above, zones differ
	assert.Equal(t, h, got)
	assert.True(t, got.Vulnerable())
}

func TestHousehold_CreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mod       func(*store.Household)
		wantField string
	}{
		{"no head name", func(h *store.Household) { h.HeadName = "  " }, "body.headName"},
		{"group 0", func(h *store.Household) { h.Group = 0 }, "body.group"},
		{"negative laborers", func(h *store.Household) { h.Laborers = -1 }, "body.laborers"},
		{"fewer members than laborers", func(h *store.Household) { h.Laborers, h.Members = 3, 2 }, "body.members"},
		{"phone too short", func(h *store.Household) { h.Phone = "1381234567" }, "body.phone"},
		{"phone with letters", func(h *store.Household) { h.Phone = "0793-12345ab" }, "body.phone"},
		{"mobile", func(h *store.Household) { h.Phone = "13812345678" }, ""},
		{"landline", func(h *store.Household) { h.Phone = "0793-1234567" }, ""},
		{"no laborers at all", func(h *store.Household) { h.Laborers, h.Members = 0, 1 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			v := MustVillage(t, st, "皇珠村")
			h := &store.Household{VillageID: v.ID, HeadName: "章仁标", Group: 1, Laborers: 2, Members: 3}
			tc.mod(h)
			err := st.CreateHousehold(t.Context(), h)
			if tc.wantField == "" {
				assert.NoError(t, err)
				assert.Equal(t, 1, CountRows(t, st, "households"))
				return
			}
			AssertError(t, err, store.EINVALID, tc.wantField)
			assert.Equal(t, 0, CountRows(t, st, "households"), "nothing written")
		})
	}
}

func TestHousehold_ListPages(t *testing.T) {
	for _, pc := range PageCases {
		t.Run(pageCaseName(pc.n), func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			var want []int64
			for i := range pc.n {
				want = append(want, MustHousehold(t, st, a.ID, nil).ID)
				if i%2 == 0 { // gaps in A's IDs, and records the cursor must skip
					MustHousehold(t, st, b.ID, nil)
				}
			}
			list := func(p store.Page) ([]*store.Household, int64, error) {
				return st.ListHouseholds(t.Context(), a.ID, store.HouseholdFilter{}, p)
			}
			got, pages := CollectPages(t, 3, list, func(h *store.Household) int64 { return h.ID })
			assert.Equal(t, want, got, "each of A's households once, in ID order, none of B's")
			assert.Equal(t, pc.pages, pages)
		})
	}
}

func TestHousehold_ListVillageIsolation(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	ha := MustHousehold(t, st, a.ID, nil)
	hb := MustHousehold(t, st, b.ID, nil)
	for _, tc := range []struct {
		name    string
		village int64
		want    []int64
	}{
		{"A", a.ID, []int64{ha.ID}},
		{"B", b.ID, []int64{hb.ID}},
		{"missing village", b.ID + 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := st.ListHouseholds(t.Context(), tc.village, store.HouseholdFilter{}, store.Page{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(got, func(h *store.Household) int64 { return h.ID }))
			assert.Zero(t, next)
		})
	}
}

func TestHousehold_ListFilters(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	mk := func(villageID int64, group int, mod func(*store.Household)) int64 {
		return MustHousehold(t, st, villageID, func(h *store.Household) {
			h.Group = group
			if mod != nil {
				mod(h)
			}
		}).ID
	}
	plain1 := mk(a.ID, 1, nil)
	elderly1 := mk(a.ID, 1, func(h *store.Household) { h.Elderly = true })
	leftBehind2 := mk(a.ID, 2, func(h *store.Household) { h.LeftBehind = true })
	plain2 := mk(a.ID, 2, nil)
	disabled3 := mk(a.ID, 3, func(h *store.Household) { h.Disabled = true })
	fiveGuarantee3 := mk(a.ID, 3, func(h *store.Household) { h.FiveGuarantee = true })
	exempt1 := mk(a.ID, 1, func(h *store.Household) { h.Exempt = true }) // exempt alone is not vulnerable
	mk(b.ID, 1, func(h *store.Household) { h.Elderly = true })
	mk(b.ID, 2, nil)

	yes, no := true, false
	for _, tc := range []struct {
		name   string
		filter store.HouseholdFilter
		want   []int64
	}{
		{"all", store.HouseholdFilter{}, []int64{plain1, elderly1, leftBehind2, plain2, disabled3, fiveGuarantee3, exempt1}},
		{"group 1", store.HouseholdFilter{Group: 1}, []int64{plain1, elderly1, exempt1}},
		{"group 3", store.HouseholdFilter{Group: 3}, []int64{disabled3, fiveGuarantee3}},
		{"empty group", store.HouseholdFilter{Group: 9}, nil},
		{"vulnerable", store.HouseholdFilter{Vulnerable: &yes}, []int64{elderly1, leftBehind2, disabled3, fiveGuarantee3}},
		{"not vulnerable", store.HouseholdFilter{Vulnerable: &no}, []int64{plain1, plain2, exempt1}},
		{"vulnerable in group 2", store.HouseholdFilter{Group: 2, Vulnerable: &yes}, []int64{leftBehind2}},
		{"not vulnerable in group 3", store.HouseholdFilter{Group: 3, Vulnerable: &no}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := CollectPages(t, 2, func(p store.Page) ([]*store.Household, int64, error) {
				return st.ListHouseholds(t.Context(), a.ID, tc.filter, p)
			}, func(h *store.Household) int64 { return h.ID })
			assert.Equal(t, tc.want, got)
			assert.Equal(t, max(1, (len(tc.want)+1)/2), pages, "filters apply before the page is cut")
		})
	}
}

func TestHousehold_Update(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prior     int // updates made (with no version check) before this one
		ifVersion int64
		change    func(*store.Household) error
		wantCode  string
		wantField string
	}{
		{name: "current version", ifVersion: 1, change: setLaborers(4)},
		{name: "current version after an update", prior: 1, ifVersion: 2, change: setLaborers(4)},
		{name: "no version check", prior: 2, ifVersion: 0, change: setLaborers(4)},
		{name: "stale version", prior: 1, ifVersion: 1, change: setLaborers(4), wantCode: store.EPRECONDITION},
		{name: "version from the future", ifVersion: 9, change: setLaborers(4), wantCode: store.EPRECONDITION},
		{name: "negative laborers", ifVersion: 1, change: setLaborers(-1), wantCode: store.EINVALID, wantField: "body.laborers"},
		{name: "laborers below the workers offered a team", ifVersion: 1, change: setLaborers(1), wantCode: store.EINVALID, wantField: "body.laborers"},
		{name: "laborers down to the workers offered a team", ifVersion: 1, change: setLaborers(2)},
		{name: "no head name", ifVersion: 1, change: func(h *store.Household) error { h.HeadName = ""; return nil },
			wantCode: store.EINVALID, wantField: "body.headName"},
		{name: "change refuses", ifVersion: 1, change: func(h *store.Household) error {
			h.Laborers = 4
			return store.Invalid("body.exempt", "only a cadre may exempt")
		}, wantCode: store.EINVALID, wantField: "body.exempt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clock := MustOpen(t)
			v := MustVillage(t, st, "皇珠村")
			h := MustHousehold(t, st, v.ID, func(h *store.Household) { h.Laborers, h.Members = 3, 5 })
			MustMember(t, st, MustTeam(t, st, v.ID, "第一互助队"), h, 2)
			for range tc.prior {
				clock.Advance(time.Hour)
				_, err := st.UpdateHousehold(t.Context(), v.ID, h.ID, 0, func(h *store.Household) error { h.PartyMember += "周"; return nil })
				require.NoError(t, err)
			}
			before, err := st.GetHousehold(t.Context(), v.ID, h.ID)
			require.NoError(t, err)
			require.Equal(t, int64(1+tc.prior), before.Version)

			now := clock.Advance(time.Hour)
			got, err := st.UpdateHousehold(t.Context(), v.ID, h.ID, tc.ifVersion, tc.change)
			after, gerr := st.GetHousehold(t.Context(), v.ID, h.ID)
			require.NoError(t, gerr)
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, tc.wantField)
				assert.Nil(t, got)
				assert.Equal(t, before, after, "nothing written")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, before.Version+1, got.Version)
			AssertSameTime(t, now, got.UpdatedAt, "updated")
			AssertSameTime(t, t0, got.CreatedAt, "created")
			assert.Equal(t, got.Version, after.Version)
			assert.Equal(t, got.Laborers, after.Laborers)
			AssertSameTime(t, now, after.UpdatedAt, "stored updated")
			AssertSameTime(t, t0, after.CreatedAt, "stored created")
		})
	}
}

func TestHousehold_UpdateOtherVillage(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	h := MustHousehold(t, st, a.ID, nil)
	_, err := st.UpdateHousehold(t.Context(), b.ID, h.ID, 0, setLaborers(1))
	AssertError(t, err, store.ENOTFOUND, "")
	got, err := st.GetHousehold(t.Context(), a.ID, h.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "nothing written")
}

// TestUpdate_IdentityStays: whatever a change does to the record's ID or
// village, the update writes the record it was asked to and keeps it in
// its village.
func TestUpdate_IdentityStays(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *store.Household, other *store.Household)
	}{
		{"change moves it to another village", func(h, other *store.Household) { h.VillageID = other.VillageID }},
		{"change points it at another household", func(h, other *store.Household) { h.ID = other.ID }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			h := MustHousehold(t, st, a.ID, nil)
			other := MustHousehold(t, st, b.ID, func(h *store.Household) { h.HeadName = "别村户" })

			got, err := st.UpdateHousehold(t.Context(), a.ID, h.ID, 1, func(rec *store.Household) error {
				tc.change(rec, other)
				rec.Members = 7
				return nil
			})
			if err == nil {
				assert.Equal(t, h.ID, got.ID)
				assert.Equal(t, a.ID, got.VillageID)
			}
			stored, err := st.GetHousehold(t.Context(), a.ID, h.ID)
			require.NoError(t, err, "still in its village")
			assert.Equal(t, "章仁标", stored.HeadName)
			untouched, err := st.GetHousehold(t.Context(), b.ID, other.ID)
			require.NoError(t, err)
			assert.Equal(t, "别村户", untouched.HeadName)
			assert.Equal(t, int64(1), untouched.Version, "the other village's household is not written")
			assert.Equal(t, 3, untouched.Members)
		})
	}
}

func setLaborers(n int) func(*store.Household) error {
	return func(h *store.Household) error { h.Laborers = n; return nil }
}

func ids[T any](rows []*T, idOf func(*T) int64) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, idOf(r))
	}
	return out
}
