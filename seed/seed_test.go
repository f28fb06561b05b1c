package seed_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/seed"
	"huangong/store"
	"huangong/store/testdb"
)

// MustOpen returns a fresh store in its own temp-file database.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), testdb.Database(tb, "t.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { st.Close() })
	return st
}

func TestTeamName(t *testing.T) {
	for i, want := range map[int]string{1: "第一互助队", 2: "第二互助队", 3: "第三互助队", 10: "第十互助队", 11: "第11互助队", 42: "第42互助队"} {
		assert.Equal(t, want, seed.TeamName(i))
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := seed.Config{Name: "测试村", Households: 120, Groups: 5, Teams: 3, Seed: 7}
	a, b := seed.Generate(cfg), seed.Generate(cfg)
	require.Equal(t, a, b)

	cfg.Seed = 8
	c := seed.Generate(cfg)
	assert.NotEqual(t, a, c)
	assert.NotEqual(t, heads(a), heads(c), "another seed gives other people")

	assert.Equal(t, seed.Demo(), seed.Demo())
}

func TestGenerateLoads(t *testing.T) {
	for _, cfg := range []seed.Config{
		{Name: "小村", Households: 10, Groups: 1, Teams: 1, Seed: 1},
		{Name: "十户三队", Households: 10, Groups: 3, Teams: 3, Seed: 2},
		{Name: "中村", Households: 150, Groups: 6, Teams: 3, Seed: 3},
		{Name: "大村", Households: 600, Groups: 12, Teams: 12, Seed: 4},
		{Name: "空村", Households: 0, Groups: 0, Teams: 0, Seed: 5},
	} {
		t.Run(fmt.Sprintf("%s/%d", cfg.Name, cfg.Households), func(t *testing.T) {
			in := seed.Generate(cfg)
			checkVillage(t, cfg, in)

			ctx := context.Background()
			st := MustOpen(t)
			v, created, err := st.ImportVillage(ctx, in, false)
			require.NoError(t, err)
			require.True(t, created)
			c, err := st.Census(ctx, v.ID)
			require.NoError(t, err)
			fields, members := 0, 0
			for _, h := range in.Households {
				fields += len(h.Fields)
			}
			for _, tm := range in.Teams {
				members += len(tm.Members)
			}
			assert.Equal(t, cfg.Name, c.Village.Name)
			assert.Equal(t, store.DefaultTimezone, c.Village.Timezone)
			assert.EqualValues(t, cfg.Households, c.Households)
			assert.EqualValues(t, fields, c.Fields)
			assert.EqualValues(t, max(cfg.Teams, 0), c.Teams)
			assert.EqualValues(t, members, c.Members)
		})
	}
}

// TestGenerateShape checks that a large village looks like the survey of a
// Jiangxi rice village: the proportions the generator promises.
func TestGenerateShape(t *testing.T) {
	for _, s := range []uint64{11, 12, 13} {
		in := seed.Generate(seed.Config{Name: "大村", Households: 1000, Groups: 10, Teams: 8, Seed: s})
		n := float64(len(in.Households))
		var short, elderly, left, disabled, five, phones, rice, fields int
		crops := map[string]int{}
		for _, ih := range in.Households {
			h := ih.Household
			if h.Laborers <= 1 {
				short++
			}
			for flag, count := range map[*bool]*int{&h.Elderly: &elderly, &h.LeftBehind: &left, &h.Disabled: &disabled, &h.FiveGuarantee: &five} {
				if *flag {
					*count++
				}
			}
			if h.Phone != "" {
				phones++
			}
			for _, f := range ih.Fields {
				fields++
				crops[f.Crop]++
				if f.Crop == store.CropEarlyRice || f.Crop == store.CropLateRice || f.Crop == store.CropSingleRice {
					rice++
				}
			}
		}
		assert.InDelta(t, 0.25, float64(short)/n, 0.06, "households short of labor")
		assert.InDelta(t, 0.20, float64(elderly)/n, 0.06, "elderly")
		assert.InDelta(t, 0.12, float64(left)/n, 0.04, "left-behind")
		assert.InDelta(t, 0.03, float64(disabled)/n, 0.02, "disabled")
		assert.InDelta(t, 0.02, float64(five)/n, 0.015, "five-guarantee")
		assert.Greater(t, float64(phones)/n, 0.8, "most households have a phone")
		assert.Greater(t, float64(rice)/float64(fields), 0.75, "mostly rice")
		for _, c := range store.Crops {
			assert.Positive(t, crops[c], "some %s", c)
			if c != store.CropEarlyRice {
				assert.Greater(t, crops[store.CropEarlyRice], crops[c], "early rice is the commonest crop")
			}
		}
	}
}

func TestDemo(t *testing.T) {
	in := seed.Demo()
	cfg := seed.Config{Households: len(in.Households), Groups: 6, Teams: 3}
	checkVillage(t, cfg, in)

	assert.Equal(t, seed.DemoName, in.Village.Name)
	assert.Equal(t, "皇珠村", in.Village.Name)
	assert.Equal(t, "玉山县", in.Village.County)
	assert.Equal(t, "四股桥乡", in.Village.Township)
	assert.Equal(t, "Asia/Shanghai", in.Village.Timezone)
	assert.InDelta(t, 150, len(in.Households), 10)

	groups := map[int]bool{}
	for _, h := range in.Households {
		groups[h.Household.Group] = true
	}
	assert.Equal(t, map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true}, groups)

	var names []string
	for _, tm := range in.Teams {
		names = append(names, tm.Team.Name)
	}
	assert.Equal(t, []string{"第一互助队", "第二互助队", "第三互助队"}, names)

	story := findAll(in, "章仁标")
	require.Len(t, story, 1, "章仁标 is in the village once")
	h := in.Households[story[0]]
	assert.True(t, h.Household.Elderly)
	assert.LessOrEqual(t, h.Household.Laborers, 1, "short of labor")
	assert.Equal(t, 2, h.Household.Members, "he and his wife 徐冬凤")
	var area int64
	for _, f := range h.Fields {
		area += f.AreaCentimu
		assert.Equal(t, store.CropEarlyRice, f.Crop)
	}
	assert.EqualValues(t, 300, area, "3.00 mu")
	assert.Empty(t, teamsOf(in, story[0]), "章仁标 is helped, not a member")

	helper := findAll(in, "章吉仙")
	require.Len(t, helper, 1, "章吉仙 is in the village once")
	assert.Equal(t, []string{"第一互助队"}, teamsOf(in, helper[0]))
	assert.Empty(t, findAll(in, "徐冬凤"), "徐冬凤 is a member of 章仁标's household, not a head")

	vulnerable, rice, fields := 0, 0, 0
	for _, ih := range in.Households {
		if ih.Household.Vulnerable() {
			vulnerable++
		}
		for _, f := range ih.Fields {
			fields++
			if f.Crop == store.CropEarlyRice || f.Crop == store.CropLateRice || f.Crop == store.CropSingleRice {
				rice++
			}
		}
	}
	assert.Greater(t, vulnerable, len(in.Households)/10, "vulnerable households")
	assert.Greater(t, float64(rice)/float64(fields), 0.7, "mostly rice")

	// It loads, and the store sees the vulnerable households too.
	ctx := context.Background()
	st := MustOpen(t)
	v, _, err := st.ImportVillage(ctx, in, false)
	require.NoError(t, err)
	yes := true
	got, _, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{Vulnerable: &yes}, store.Page{Limit: store.MaxPageLimit})
	require.NoError(t, err)
	assert.Len(t, got, vulnerable)
}

func TestEnsureDemo(t *testing.T) {
	ctx := context.Background()
	st := MustOpen(t)

	v, tokens, err := seed.EnsureDemo(ctx, st)
	require.NoError(t, err)
	require.Equal(t, seed.DemoName, v.Name)
	require.Len(t, tokens, 3)
	before, err := st.Census(ctx, v.ID)
	require.NoError(t, err)
	assert.EqualValues(t, len(seed.Demo().Households), before.Households)
	assert.EqualValues(t, 3, before.Teams)

	again, tokens2, err := seed.EnsureDemo(ctx, st)
	require.NoError(t, err)
	assert.Equal(t, v.ID, again.ID)
	assert.Nil(t, tokens2, "secrets cannot be shown twice")
	after, err := st.Census(ctx, v.ID)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	t.Run("cadre", func(t *testing.T) {
		tok, err := st.Authenticate(ctx, tokens["cadre"])
		require.NoError(t, err)
		assert.Equal(t, store.RoleCadre, tok.Role)
		assert.Equal(t, v.ID, tok.VillageID)
		assert.Nil(t, tok.TeamID)
		assert.Nil(t, tok.HouseholdID)
		assert.Contains(t, tok.Label, "邱锦")
	})
	t.Run("leader", func(t *testing.T) {
		tok, err := st.Authenticate(ctx, tokens["leader"])
		require.NoError(t, err)
		assert.Equal(t, store.RoleLeader, tok.Role)
		assert.Equal(t, v.ID, tok.VillageID)
		assert.Nil(t, tok.HouseholdID)
		require.NotNil(t, tok.TeamID)
		team, err := st.GetTeam(ctx, v.ID, *tok.TeamID)
		require.NoError(t, err)
		assert.Equal(t, "第一互助队", team.Name)
		assert.NotEmpty(t, team.LeaderName)
	})
	t.Run("household", func(t *testing.T) {
		tok, err := st.Authenticate(ctx, tokens["household"])
		require.NoError(t, err)
		assert.Equal(t, store.RoleHousehold, tok.Role)
		assert.Equal(t, v.ID, tok.VillageID)
		assert.Nil(t, tok.TeamID)
		require.NotNil(t, tok.HouseholdID)
		h, err := st.GetHousehold(ctx, v.ID, *tok.HouseholdID)
		require.NoError(t, err)
		assert.Equal(t, "章仁标", h.HeadName)
	})
}

// TestEnsureDemoRace starts two processes' worth of stores on one database
// at once: the demo lands once and only one of them gets the tokens.
func TestEnsureDemoRace(t *testing.T) {
	ctx := context.Background()
	path := testdb.Database(t, "t.db")
	first, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer first.Close()
	second, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer second.Close()

	var wg sync.WaitGroup
	ids := make([]int64, 2)
	tokens := make([]map[string]string, 2)
	errs := make([]error, 2)
	for i, st := range []*store.Store{first, second} {
		wg.Go(func() {
			var v *store.Village
			v, tokens[i], errs[i] = seed.EnsureDemo(ctx, st)
			if v != nil {
				ids[i] = v.ID
			}
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, ids[0], ids[1])
	assert.Equal(t, 1, btoi(tokens[0] != nil)+btoi(tokens[1] != nil), "exactly one caller minted tokens")

	n, err := first.DB().NewSelect().Model((*store.Village)(nil)).Count(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "one demo village")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var (
	phoneRE = regexp.MustCompile(store.PhonePattern)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// checkVillage checks the promises Generate makes about any village,
// beyond what the store checks on import.
func checkVillage(t *testing.T, cfg seed.Config, in *store.VillageImport) {
	t.Helper()
	n, groups, teams := max(cfg.Households, 0), max(cfg.Groups, 1), max(cfg.Teams, 0)
	require.Len(t, in.Households, n)
	require.Len(t, in.Teams, teams)

	perGroup := map[int]int{}
	headsOf := map[string]bool{}
	for _, ih := range in.Households {
		headsOf[ih.Household.HeadName] = true
	}
	linked := map[string]int{}
	prev := 1
	for i, ih := range in.Households {
		h := ih.Household
		assert.Equal(t, 3, utf8.RuneCountInString(h.HeadName), "household %d: a surname and a two-character given name: %q", i, h.HeadName)
		assert.GreaterOrEqual(t, h.Group, prev, "household %d: groups are runs of neighbours", i)
		assert.LessOrEqual(t, h.Group, groups, "household %d", i)
		prev = h.Group
		perGroup[h.Group]++
		assert.True(t, h.Laborers >= 0 && h.Laborers <= 4, "household %d: %d laborers", i, h.Laborers)
		assert.GreaterOrEqual(t, h.Members, max(h.Laborers, 1), "household %d", i)
		if h.Exempt {
			assert.True(t, h.FiveGuarantee, "household %d: only five-guarantee households are exempt", i)
		}
		if h.Phone != "" {
			assert.Regexp(t, phoneRE, h.Phone, "household %d", i)
		}
		assert.True(t, headsOf[h.PartyMember], "household %d: party member %q lives in the village", i, h.PartyMember)
		linked[h.PartyMember]++

		require.NotEmpty(t, ih.Fields, "household %d has land", i)
		assert.LessOrEqual(t, len(ih.Fields), 4, "household %d", i)
		names := map[string]bool{}
		for _, f := range ih.Fields {
			assert.False(t, names[f.Name], "household %d: field name %q twice", i, f.Name)
			names[f.Name] = true
			assert.True(t, f.AreaCentimu >= 50 && f.AreaCentimu <= 500, "household %d: %d centimu", i, f.AreaCentimu)
			assert.Contains(t, store.Crops, f.Crop)
			assert.True(t, f.Group >= 1 && f.Group <= groups && f.Group-h.Group <= 1 && h.Group-f.Group <= 1,
				"household %d in group %d: field in group %d", i, h.Group, f.Group)
		}
	}
	if n >= groups {
		counts := make([]int, 0, groups)
		for g := 1; g <= groups; g++ {
			counts = append(counts, perGroup[g])
		}
		assert.LessOrEqual(t, slices.Max(counts)-slices.Min(counts), 1, "groups are even: %v", counts)
	}
	if n > 0 {
		assert.GreaterOrEqual(t, len(linked), max(1, n/15), "about one party member per ten households")
		for name, k := range linked {
			assert.LessOrEqual(t, k, 15, "party member %s links %d households", name, k)
		}
	}

	membership := map[int]int{}
	for k, tm := range in.Teams {
		assert.Equal(t, seed.TeamName(k+1), tm.Team.Name)
		for _, m := range tm.Members {
			membership[m.Household]++
			h := in.Households[m.Household].Household
			assert.True(t, m.WorkersPerDay >= 1 && m.WorkersPerDay <= h.Laborers, "%s member %d offers %d of %d", tm.Team.Name, m.Household, m.WorkersPerDay, h.Laborers)
			assert.NotNil(t, m.UnavailableDays)
			for _, d := range m.UnavailableDays {
				assert.Regexp(t, dateRE, d)
				_, err := time.Parse(time.DateOnly, d)
				assert.NoError(t, err)
			}
			assert.True(t, slices.IsSorted(m.UnavailableDays))
		}
		if len(tm.Members) == 0 {
			continue
		}
		require.GreaterOrEqual(t, tm.Leader, 0, "%s has a leader", tm.Team.Name)
		leader := in.Households[tm.Leader].Household
		assert.Equal(t, leader.HeadName, tm.Team.LeaderName)
		assert.Equal(t, leader.HeadName, leader.PartyMember, "%s is led by a party member", tm.Team.Name)
		assert.True(t, slices.ContainsFunc(tm.Members, func(m store.ImportMember) bool { return m.Household == tm.Leader }),
			"%s: the leader's household is a member", tm.Team.Name)
	}
	for i, ih := range in.Households {
		want := 0
		if ih.Household.Laborers >= 2 && teams > 0 {
			want = 1
		}
		assert.Equal(t, want, membership[i], "household %d with %d laborers is in %d teams", i, ih.Household.Laborers, membership[i])
	}
}

func heads(in *store.VillageImport) []string {
	var out []string
	for _, h := range in.Households {
		out = append(out, h.Household.HeadName)
	}
	return out
}

func findAll(in *store.VillageImport, head string) []int {
	var out []int
	for i, h := range in.Households {
		if h.Household.HeadName == head {
			out = append(out, i)
		}
	}
	return out
}

func teamsOf(in *store.VillageImport, household int) []string {
	var out []string
	for _, tm := range in.Teams {
		for _, m := range tm.Members {
			if m.Household == household {
				out = append(out, tm.Team.Name)
			}
		}
	}
	return out
}
