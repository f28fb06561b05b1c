package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

var recordTables = []string{"villages", "households", "fields", "teams", "team_members"}

func countAll(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, table := range recordTables {
		n[table] = CountRows(t, st, table)
	}
	return n
}

// smallImport is 皇珠村 in miniature: an elderly household with no labor of
// its own, two neighbours with labor, and one team of the two neighbours.
func smallImport() *store.VillageImport {
	field := func(name string, centimu int64, crop string) store.Field {
		return store.Field{Name: name, AreaCentimu: centimu, Crop: crop}
	}
	return &store.VillageImport{
		Village: store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"},
		Households: []store.ImportHousehold{
			{Household: store.Household{HeadName: "章仁标", Group: 1, Laborers: 0, Members: 2, Elderly: true},
				Fields: []store.Field{field("门口田", 150, store.CropEarlyRice), field("塘边田", 150, store.CropEarlyRice)}},
			{Household: store.Household{HeadName: "周国华", Group: 1, Laborers: 2, Members: 4, PartyMember: "周国华"},
				Fields: []store.Field{field("大丘", 420, store.CropSingleRice), field("山脚田", 80, store.CropRapeseed)}},
			{Household: store.Household{HeadName: "章水根", Group: 2, Laborers: 3, Members: 5},
				Fields: []store.Field{field("长丘", 260, store.CropLateRice)}},
		},
		Teams: []store.ImportTeam{{
			Team:   store.Team{Name: "第一互助队", LeaderName: "周国华"},
			Leader: 1,
			Members: []store.ImportMember{
				{Household: 1, WorkersPerDay: 2},
				{Household: 2, WorkersPerDay: 1, UnavailableDays: []string{"2026-04-20"}},
			},
		}},
	}
}

func TestImportVillage(t *testing.T) {
	st, _ := MustOpen(t)
	MustHousehold(t, st, MustVillage(t, st, "东山村").ID, nil)

	in := smallImport()
	v, created, err := st.ImportVillage(t.Context(), in, false)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "皇珠村", v.Name)
	assert.Equal(t, store.DefaultTimezone, v.Timezone)
	AssertSameTime(t, t0, v.CreatedAt, "created")

	c, err := st.Census(t.Context(), v.ID)
	require.NoError(t, err)
	assert.Equal(t, store.VillageCensus{Village: c.Village, Households: 3, Fields: 5, Teams: 1, Members: 2}, *c)

	households, _, err := st.ListHouseholds(t.Context(), v.ID, store.HouseholdFilter{}, store.Page{})
	require.NoError(t, err)
	require.Len(t, households, 3)
	for i, h := range households {
		assert.Equal(t, in.Households[i].Household.HeadName, h.HeadName)
		fields, _, err := st.ListFields(t.Context(), v.ID, store.FieldFilter{HouseholdID: h.ID}, store.Page{})
		require.NoError(t, err)
		assert.Len(t, fields, len(in.Households[i].Fields), "household %d", i)
		for _, f := range fields {
			assert.Equal(t, h.Group, f.Group, "a field lies in its household's group")
		}
	}

	teams, _, err := st.ListTeams(t.Context(), v.ID, store.Page{})
	require.NoError(t, err)
	require.Len(t, teams, 1)
	team, err := st.GetTeam(t.Context(), v.ID, teams[0].ID)
	require.NoError(t, err)
	if assert.NotNil(t, team.LeaderHouseholdID) {
		assert.Equal(t, households[1].ID, *team.LeaderHouseholdID)
	}
	require.Len(t, team.Members, 2)
	assert.Equal(t, households[1].ID, team.Members[0].HouseholdID)
	assert.Equal(t, 2, team.Members[0].WorkersPerDay)
	assert.Equal(t, households[2].ID, team.Members[1].HouseholdID)
	assert.Equal(t, []string{"2026-04-20"}, team.Members[1].UnavailableDays)
}

func TestImportVillage_AllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spoil     func(in *store.VillageImport)
		wantCode  string
		wantField string
	}{
		{"bad field in the middle", func(in *store.VillageImport) { in.Households[1].Fields[0].AreaCentimu = 0 },
			store.EINVALID, "body.area"},
		{"bad crop of the last field", func(in *store.VillageImport) { in.Households[2].Fields[0].Crop = "wheat" },
			store.EINVALID, "body.crop"},
		{"bad last household", func(in *store.VillageImport) { in.Households[2].Household.Group = 0 },
			store.EINVALID, "body.group"},
		{"village without a name", func(in *store.VillageImport) { in.Village.Name = " " },
			store.EINVALID, "name"},
		{"member offering more than its laborers", func(in *store.VillageImport) { in.Teams[0].Members[1].WorkersPerDay = 4 },
			store.EINVALID, "body.workersPerDay"},
		{"member without laborers", func(in *store.VillageImport) {
			in.Teams[0].Members = append(in.Teams[0].Members, store.ImportMember{Household: 0, WorkersPerDay: 1})
		}, store.EINVALID, "body.workersPerDay"},
		{"member with a bad date", func(in *store.VillageImport) {
			in.Teams[0].Members[1].UnavailableDays = []string{"2026-04-20", "清明"}
		},
			store.EINVALID, "body.unavailableDays[1]"},
		{"member twice", func(in *store.VillageImport) {
			in.Teams[0].Members = append(in.Teams[0].Members, in.Teams[0].Members[0])
		}, store.ECONFLICT, "body.householdId"},
		{"leader out of range", func(in *store.VillageImport) { in.Teams[0].Leader = 3 }, store.EINVALID, ""},
		{"member out of range", func(in *store.VillageImport) { in.Teams[0].Members[0].Household = -1 }, store.EINVALID, ""},
		{"two teams of one name", func(in *store.VillageImport) {
			in.Teams = append(in.Teams, store.ImportTeam{Team: store.Team{Name: "第一互助队"}, Leader: -1})
		}, store.ECONFLICT, "body.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			other := MustVillage(t, st, "东山村")
			MustMember(t, st, MustTeam(t, st, other.ID, "第一互助队"), MustHousehold(t, st, other.ID, nil), 1)
			before := countAll(t, st)

			in := smallImport()
			tc.spoil(in)
			v, created, err := st.ImportVillage(t.Context(), in, false)
			AssertError(t, err, tc.wantCode, tc.wantField)
			assert.Nil(t, v)
			assert.False(t, created)
			assert.Equal(t, before, countAll(t, st), "no new rows in any table")
			_, err = st.FindVillage(t.Context(), "皇珠村")
			AssertError(t, err, store.ENOTFOUND, "")
		})
	}
}

func TestImportVillage_OnlyIfAbsent(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		st, _ := MustOpen(t)
		v, created, err := st.ImportVillage(t.Context(), smallImport(), true)
		require.NoError(t, err)
		assert.True(t, created)
		assert.NotZero(t, v.ID)
		assert.Equal(t, 3, CountRows(t, st, "households"))
	})
	t.Run("present", func(t *testing.T) {
		st, clock := MustOpen(t)
		first, created, err := st.ImportVillage(t.Context(), smallImport(), true)
		require.NoError(t, err)
		require.True(t, created)
		before := countAll(t, st)

		clock.Advance(24 * time.Hour)
		again := smallImport()
		again.Households = append(again.Households, again.Households[0])
		again.Households[1].Fields[0].AreaCentimu = 0 // not even looked at
		v, created, err := st.ImportVillage(t.Context(), again, true)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, first.ID, v.ID, "the village that was there")
		assert.Equal(t, "玉山县", v.County)
		AssertSameTime(t, t0, v.CreatedAt, "created")
		assert.Equal(t, before, countAll(t, st), "nothing written")
	})
	t.Run("same name in another county is another village", func(t *testing.T) {
		st, _ := MustOpen(t)
		first, _, err := st.ImportVillage(t.Context(), smallImport(), true)
		require.NoError(t, err)
		other := smallImport()
		other.Village.County = "别的县"
		v, created, err := st.ImportVillage(t.Context(), other, true)
		require.NoError(t, err)
		assert.True(t, created)
		assert.NotEqual(t, first.ID, v.ID)
	})
}
