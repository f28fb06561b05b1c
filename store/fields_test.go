package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestField_CreateGet(t *testing.T) {
	st, _ := MustOpen(t)
	v := MustVillage(t, st, "皇珠村")
	h := MustHousehold(t, st, v.ID, func(h *store.Household) { h.Group = 4 })

	for _, tc := range []struct {
		name      string
		group     int
		wantGroup int
	}{
		{"group from the household", 0, 4},
		{"group of its own", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &store.Field{VillageID: v.ID, HouseholdID: h.ID, Name: " 塘边田 ", AreaCentimu: 125, Crop: store.CropSingleRice, Group: tc.group}
			require.NoError(t, st.CreateField(t.Context(), f))
			assert.Equal(t, tc.wantGroup, f.Group)
			assert.Equal(t, "塘边田", f.Name)
			assert.Equal(t, int64(1), f.Version)

			got, err := st.GetField(t.Context(), v.ID, f.ID)
			require.NoError(t, err)
			AssertSameTime(t, t0, got.CreatedAt, "created")
			AssertSameTime(t, t0, got.UpdatedAt, "updated")
			got.CreatedAt, got.UpdatedAt = f.CreatedAt, f.UpdatedAt
			assert.Equal(t, f, got)
		})
	}
}

func TestField_CreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mod       func(*store.Field)
		wantField string
	}{
		{"no name", func(f *store.Field) { f.Name = " " }, "body.name"},
		{"zero area", func(f *store.Field) { f.AreaCentimu = 0 }, "body.area"},
		{"negative area", func(f *store.Field) { f.AreaCentimu = -100 }, "body.area"},
		{"over 100 mu", func(f *store.Field) { f.AreaCentimu = store.MaxAreaCentimu + 1 }, "body.area"},
		{"unknown crop", func(f *store.Field) { f.Crop = "wheat" }, "body.crop"},
		{"no crop", func(f *store.Field) { f.Crop = "" }, "body.crop"},
		{"negative group", func(f *store.Field) { f.Group = -1 }, "body.group"},
		{"100 mu exactly", func(f *store.Field) { f.AreaCentimu = store.MaxAreaCentimu }, ""},
		{"0.01 mu", func(f *store.Field) { f.AreaCentimu = 1 }, ""},
		{"rapeseed", func(f *store.Field) { f.Crop = store.CropRapeseed }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			v := MustVillage(t, st, "皇珠村")
			h := MustHousehold(t, st, v.ID, nil)
			f := &store.Field{VillageID: v.ID, HouseholdID: h.ID, Name: "门口田", AreaCentimu: 300, Crop: store.CropEarlyRice}
			tc.mod(f)
			err := st.CreateField(t.Context(), f)
			if tc.wantField == "" {
				assert.NoError(t, err)
				assert.Equal(t, 1, CountRows(t, st, "fields"))
				return
			}
			AssertError(t, err, store.EINVALID, tc.wantField)
			assert.Equal(t, 0, CountRows(t, st, "fields"), "nothing written")
		})
	}
}

func TestField_ListPages(t *testing.T) {
	for _, pc := range PageCases {
		t.Run(pageCaseName(pc.n), func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			ha, hb := MustHousehold(t, st, a.ID, nil), MustHousehold(t, st, b.ID, nil)
			var want []int64
			for i := range pc.n {
				want = append(want, MustField(t, st, ha, nil).ID)
				if i%2 == 0 {
					MustField(t, st, hb, nil)
				}
			}
			got, pages := CollectPages(t, 3, func(p store.Page) ([]*store.Field, int64, error) {
				return st.ListFields(t.Context(), a.ID, store.FieldFilter{}, p)
			}, func(f *store.Field) int64 { return f.ID })
			assert.Equal(t, want, got, "each of A's fields once, in ID order, none of B's")
			assert.Equal(t, pc.pages, pages)
		})
	}
}

func TestField_ListFilters(t *testing.T) {
	st, _ := MustOpen(t)
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	h1, h2 := MustHousehold(t, st, a.ID, nil), MustHousehold(t, st, a.ID, nil)
	hb := MustHousehold(t, st, b.ID, nil)
	crop := func(c string) func(*store.Field) { return func(f *store.Field) { f.Crop = c } }
	h1Early := MustField(t, st, h1, crop(store.CropEarlyRice)).ID
	h1Late := MustField(t, st, h1, crop(store.CropLateRice)).ID
	h2Early := MustField(t, st, h2, crop(store.CropEarlyRice)).ID
	h2Rape := MustField(t, st, h2, crop(store.CropRapeseed)).ID
	h1Early2 := MustField(t, st, h1, crop(store.CropEarlyRice)).ID
	MustField(t, st, hb, crop(store.CropEarlyRice))

	for _, tc := range []struct {
		name    string
		village int64
		filter  store.FieldFilter
		want    []int64
	}{
		{"all", a.ID, store.FieldFilter{}, []int64{h1Early, h1Late, h2Early, h2Rape, h1Early2}},
		{"household 1", a.ID, store.FieldFilter{HouseholdID: h1.ID}, []int64{h1Early, h1Late, h1Early2}},
		{"household 2", a.ID, store.FieldFilter{HouseholdID: h2.ID}, []int64{h2Early, h2Rape}},
		{"early rice", a.ID, store.FieldFilter{Crop: store.CropEarlyRice}, []int64{h1Early, h2Early, h1Early2}},
		{"early rice of household 1", a.ID, store.FieldFilter{HouseholdID: h1.ID, Crop: store.CropEarlyRice}, []int64{h1Early, h1Early2}},
		{"crop nobody grows", a.ID, store.FieldFilter{Crop: store.CropOther}, nil},
		{"household of another village", a.ID, store.FieldFilter{HouseholdID: hb.ID}, nil},
		{"A's household asked in B", b.ID, store.FieldFilter{HouseholdID: h1.ID}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := CollectPages(t, 2, func(p store.Page) ([]*store.Field, int64, error) {
				return st.ListFields(t.Context(), tc.village, tc.filter, p)
			}, func(f *store.Field) int64 { return f.ID })
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestField_Update(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prior     int
		ifVersion int64
		change    func(*store.Field, fieldEnv) error
		wantCode  string
		wantField string
	}{
		{name: "current version", ifVersion: 1, change: setArea(450)},
		{name: "no version check", prior: 1, ifVersion: 0, change: setArea(450)},
		{name: "stale version", prior: 1, ifVersion: 1, change: setArea(450), wantCode: store.EPRECONDITION},
		{name: "zero area", ifVersion: 1, change: setArea(0), wantCode: store.EINVALID, wantField: "body.area"},
		{name: "unknown crop", ifVersion: 1, change: func(f *store.Field, _ fieldEnv) error { f.Crop = "wheat"; return nil },
			wantCode: store.EINVALID, wantField: "body.crop"},
		{name: "to another household of the village", ifVersion: 1, change: func(f *store.Field, e fieldEnv) error { f.HouseholdID = e.sibling.ID; return nil }},
		{name: "to a household of another village", ifVersion: 1, change: func(f *store.Field, e fieldEnv) error { f.HouseholdID = e.foreign.ID; return nil },
			wantCode: store.EINVALID, wantField: "body.householdId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clock := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			h := MustHousehold(t, st, a.ID, nil)
			e := fieldEnv{sibling: MustHousehold(t, st, a.ID, nil), foreign: MustHousehold(t, st, b.ID, nil)}
			f := MustField(t, st, h, nil)
			for range tc.prior {
				clock.Advance(time.Hour)
				_, err := st.UpdateField(t.Context(), a.ID, f.ID, 0, func(f *store.Field) error { f.Name += "东"; return nil })
				require.NoError(t, err)
			}
			before, err := st.GetField(t.Context(), a.ID, f.ID)
			require.NoError(t, err)

			now := clock.Advance(time.Hour)
			got, err := st.UpdateField(t.Context(), a.ID, f.ID, tc.ifVersion, func(f *store.Field) error { return tc.change(f, e) })
			after, gerr := st.GetField(t.Context(), a.ID, f.ID)
			require.NoError(t, gerr)
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, tc.wantField)
				assert.Equal(t, before, after, "nothing written")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, before.Version+1, got.Version)
			AssertSameTime(t, now, got.UpdatedAt, "updated")
			after.UpdatedAt, after.CreatedAt = got.UpdatedAt, got.CreatedAt
			assert.Equal(t, got, after, "what was returned is what was stored")
		})
	}
}

// fieldEnv is what a field update case may point a field at.
type fieldEnv struct{ sibling, foreign *store.Household }

func setArea(centimu int64) func(*store.Field, fieldEnv) error {
	return func(f *store.Field, _ fieldEnv) error { f.AreaCentimu = centimu; return nil }
}
