// Package seed owns the named fixtures of the service: the demo village
// 皇珠村 with its three mutual-aid teams, and a deterministic generator of
// villages of any size. Tests, benchmarks and `huangong seed` all draw
// their villages from here, so they all see the same people and fields.
package seed

import (
	"context"
	"fmt"

	"huangong/store"
)

// DemoName is the demo village: 皇珠村, 四股桥乡, 玉山县, 江西.
const DemoName = "皇珠村"

// demoSeed fixes the demo village; changing it changes every household
// but the story's.
const demoSeed = 20250622

// The people of the story, by the names the article gives them.
const (
	StoryHead   = "章仁标" // 62, 3 mu, no young labor at home
	StoryWife   = "徐冬凤" // cooks the meal that pays the helpers
	StoryHelper = "章吉仙" // a neighbour in the first team
	StoryCadre  = "邱锦"  // the college-student village cadre (大学生村干部)
)

// Demo returns the demo village 皇珠村 of 玉山县四股桥乡.
//
// The story comes from 《一碗农耕地 盛满邻里情》 (the third article of
// seed-article.txt): 章仁标, 62, farms 3 mu and for years had no young
// labor at home to work them. Since the village formed three mutual-aid
// teams (农耕地互助队) of neighbours, a team comes to his fields at every
// busy season, spring ploughing, summer harvest and autumn harvest, to
// prepare the land, transplant and harvest. On the day the article tells
// of, the team transplanted his rice while his wife 徐冬凤 cooked; a bowl
// of farm food is a day's pay (一碗农家饭就是一天的酬劳). 章吉仙, a
// neighbour in the team, said helping one another is only natural. The
// village surveyed every household and field (逐户逐田摸清) and links party
// members to households (党员联户); 邱锦 is its college-student cadre.
//
// So the first household is 章仁标's: elderly, one laborer (himself; his
// wife is the second member), two fields of early rice making exactly
// 3.00 mu, and no team of its own. The second is 章吉仙's, a household
// with labor to spare in 第一互助队. The other 148 households are generated.
func Demo() *store.VillageImport {
	g := newGenerator(Config{
		Name: DemoName, County: "玉山县", Township: "四股桥乡",
		Households: 150, Groups: 6, Teams: 3, Seed: demoSeed,
	})
	g.households()

	// Pinned before the teams are formed, so the generator keeps 章仁标
	// out of every team (one laborer) and puts 章吉仙, the first household
	// with two laborers, into the first team.
	story := &g.in.Households[0]
	story.Household = store.Household{
		HeadName: StoryHead, Group: story.Household.Group,
		Laborers: 1, Members: 2, Elderly: true,
		Phone: story.Household.Phone,
	}
	if story.Household.Phone == "" {
		story.Household.Phone = g.mobile()
	}
	story.Fields = []store.Field{
		{Name: "门口田", AreaCentimu: 160, Crop: store.CropEarlyRice, Group: story.Household.Group},
		{Name: "塘下垄", AreaCentimu: 140, Crop: store.CropEarlyRice, Group: story.Household.Group},
	}
	helper := &g.in.Households[1]
	helper.Household = store.Household{
		HeadName: StoryHelper, Group: helper.Household.Group,
		Laborers: 2, Members: 4,
		Phone: helper.Household.Phone,
	}
	if helper.Household.Phone == "" {
		helper.Household.Phone = g.mobile()
	}
	// At least one five-guarantee household (五保户) whose help the
	// village fund covers, so the demo shows the fund at work: the first
	// household after the story's without a laborer to spare, so the
	// teams come out as they would anyway.
	for i := 2; i < len(g.in.Households); i++ {
		if h := &g.in.Households[i].Household; h.Laborers <= 1 && !h.FiveGuarantee {
			h.FiveGuarantee, h.Exempt, h.Elderly, h.Laborers, h.Members = true, true, true, 0, 1
			break
		}
	}

	g.finish()
	return g.in
}

// EnsureDemo loads the demo village unless a village of that name exists.
// When it loads it, it plays the village's last year (PlayHistory), so a
// first start shows balances, season reports and an outbox with something
// in them, and mints one token per role: the cadre 邱锦, the leader
// of 第一互助队 and the household of 章仁标, keyed by role. When the village
// was already there it returns it with nil tokens: secrets are stored
// hashed and cannot be shown again (a cadre mints new ones with
// `huangong token create`).
func EnsureDemo(ctx context.Context, st *store.Store) (v *store.Village, tokens map[string]string, err error) {
	v, created, err := st.ImportVillage(ctx, Demo(), true)
	if err != nil {
		// Another process seeding the same database at this moment keeps
		// the write lock busy while it plays the history, and the wait
		// for it can time out; its village is as good as ours. Reads go
		// on beside a writer, so this one can see it.
		if found, ferr := st.FindVillage(ctx, DemoName); ferr == nil {
			return found, nil, nil
		}
		return nil, nil, fmt.Errorf("seed: demo village: %w", err)
	}
	if !created {
		return v, nil, nil
	}
	if err := PlayHistory(ctx, st, v.ID); err != nil {
		return nil, nil, err
	}
	if err := SeasonAhead(ctx, st, v.ID, st.Now()); err != nil {
		return nil, nil, err
	}
	tokens, err = demoTokens(ctx, st, v)
	if err != nil {
		return nil, nil, fmt.Errorf("seed: demo tokens: %w", err)
	}
	return v, tokens, nil
}

func demoTokens(ctx context.Context, st *store.Store, v *store.Village) (map[string]string, error) {
	team, err := findTeam(ctx, st, v.ID, TeamName(1))
	if err != nil {
		return nil, err
	}
	household, err := findHousehold(ctx, st, v.ID, StoryHead)
	if err != nil {
		return nil, err
	}
	tokens := map[string]string{}
	for _, t := range []*store.Token{
		{Role: store.RoleCadre, Label: "demo cadre " + StoryCadre},
		{Role: store.RoleLeader, TeamID: &team.ID, Label: "demo leader " + team.Name + " " + team.LeaderName},
		{Role: store.RoleHousehold, HouseholdID: &household.ID, Label: "demo household " + household.HeadName},
	} {
		t.VillageID = v.ID
		secret, err := st.CreateToken(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("%s token: %w", t.Role, err)
		}
		tokens[t.Role] = secret
	}
	return tokens, nil
}

// findTeam returns the village's team of that name. Names are unique per
// village (an index holds it), so the team is looked up by name rather
// than by paging through the list; the store then loads it as usual.
func findTeam(ctx context.Context, st *store.Store, villageID int64, name string) (*store.Team, error) {
	teams, _, err := st.ListTeams(ctx, villageID, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, store.Errorf(store.ENOTFOUND, "未找到互助队 team %s not found", name)
}

func findHousehold(ctx context.Context, st *store.Store, villageID int64, head string) (*store.Household, error) {
	for p := (store.Page{Limit: store.MaxPageLimit}); ; {
		hs, next, err := st.ListHouseholds(ctx, villageID, store.HouseholdFilter{}, p)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if h.HeadName == head {
				return h, nil
			}
		}
		if next == 0 {
			return nil, store.Errorf(store.ENOTFOUND, "未找到农户 household of %s not found", head)
		}
		p.After = next
	}
}
