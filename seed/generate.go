package seed

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"huangong/store"
)

// Config describes a village to generate.
type Config struct {
	Name, County, Township string // empty County/Township: the story's 玉山县 四股桥乡
	Households             int    // how many households; < 0 counts as 0
	Groups                 int    // 村民小组, numbered 1..Groups; < 1 counts as 1
	Teams                  int    // 互助队; < 0 counts as 0
	Seed                   uint64 // same Config, same village
}

// pcgStream fixes the second half of the PCG state ("huangong" in ASCII),
// so a village depends on Config.Seed alone.
const pcgStream = 0x6875616e676f6e67

// unavailableYear is the farming year the members' unavailable days fall
// in. Generate takes no clock so that its output never drifts; the demo's
// seasons are created for this year too.
const unavailableYear = 2026

// Busy seasons of the year, as [first, last] day-of-year ranges roughly
// matching 清明–立夏, 小暑–立秋 and 寒露–立冬: when a member says it cannot
// come, it is because it is busy itself at the same time.
var busySpans = [][2]int{{95, 125}, {188, 219}, {281, 311}}

// Generate builds a Jiangxi double-cropping rice village from cfg. It is
// deterministic: the same cfg gives an identical village. Every record
// passes the store's checks, so the result loads with store.ImportVillage.
//
// The shape of the village follows what the cadres' survey (逐户逐田摸清)
// finds: about a quarter of the households are short of labor (0–1
// laborers), many of them elderly or left-behind; every household is linked
// to a party member (党员联户, one per about ten households); the households
// with two or more laborers each belong to one mutual-aid team, led by a
// party member.
func Generate(cfg Config) *store.VillageImport {
	g := newGenerator(cfg)
	g.households()
	g.finish()
	return g.in
}

// generator is one run of Generate. Its stages consume the random stream
// in a fixed order; Demo pins the story's households between them.
type generator struct {
	cfg  Config
	rng  *rand.Rand
	in   *store.VillageImport
	used map[string]bool // head names given so far
}

func newGenerator(cfg Config) *generator {
	cfg.Households = max(cfg.Households, 0)
	cfg.Groups = max(cfg.Groups, 1)
	cfg.Teams = max(cfg.Teams, 0)
	if strings.TrimSpace(cfg.Name) == "" {
		cfg.Name = "互助村"
	}
	if cfg.County == "" {
		cfg.County = "玉山县"
	}
	if cfg.Township == "" {
		cfg.Township = "四股桥乡"
	}
	return &generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		in: &store.VillageImport{Village: store.Village{
			Name: cfg.Name, County: cfg.County, Township: cfg.Township, Timezone: store.DefaultTimezone,
		}},
		used: map[string]bool{},
	}
}

// finish forms the teams and links every household to a party member; it
// runs after the households are final.
func (g *generator) finish() {
	leaders := g.teams()
	g.linkPartyMembers(leaders)
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// households creates the households with their fields. Groups are
// contiguous runs of neighbouring households of near-equal size.
func (g *generator) households() {
	n := g.cfg.Households
	g.in.Households = make([]store.ImportHousehold, n)
	for i := range n {
		group := i*g.cfg.Groups/n + 1
		g.in.Households[i] = g.household(group)
	}
}

func (g *generator) household(group int) store.ImportHousehold {
	h := store.Household{Group: group}
	h.Elderly = g.chance(0.20)
	h.LeftBehind = g.chance(0.12)
	h.Disabled = g.chance(0.03)
	h.FiveGuarantee = g.chance(0.02)

	switch {
	case h.FiveGuarantee:
		// 五保: no one to support them; they live alone and the village
		// fund pays for the help they get.
		h.Laborers, h.Members, h.Exempt = 0, 1, true
		if !h.Disabled {
			h.Elderly = true
		}
	case h.Vulnerable():
		if g.chance(0.60) {
			h.Laborers = g.pick(0, 1, 1) // short of labor
		} else {
			h.Laborers = g.pick(2, 2, 2, 3)
		}
	default:
		if g.chance(0.08) {
			h.Laborers = g.pick(0, 1, 1)
		} else {
			h.Laborers = g.pick(2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4)
		}
	}
	if !h.FiveGuarantee {
		// The rest of the family: an elderly couple, or children and
		// grandparents at home while the young work in the cities.
		switch {
		case h.Elderly:
			h.Members = h.Laborers + g.rng.IntN(3)
		case h.LeftBehind:
			h.Members = h.Laborers + 1 + g.rng.IntN(3)
		default:
			h.Members = h.Laborers + g.rng.IntN(4)
		}
		h.Members = max(h.Members, 1)
	}

	female := 0.05
	switch {
	case h.LeftBehind:
		female = 0.5 // the husband works away from home
	case h.Elderly:
		female = 0.25 // a widow
	}
	h.HeadName = g.name(g.chance(female))

	switch r := g.rng.Float64(); {
	case h.FiveGuarantee && r < 0.7:
	case r < 0.85:
		h.Phone = g.mobile()
	case r < 0.90:
		h.Phone = fmt.Sprintf("0793-%d%06d", 2+g.rng.IntN(7), g.rng.IntN(1_000_000))
	}

	nFields := g.pick(1, 2, 2, 2, 3, 3, 3, 4, 4)
	switch {
	case h.FiveGuarantee:
		nFields = 1
	case h.Laborers <= 1:
		nFields = g.pick(1, 2)
	}
	return store.ImportHousehold{Household: h, Fields: g.fields(nFields, group)}
}

// pick returns one of the choices, repeated ones weighing more.
func (g *generator) pick(choices ...int) int { return choices[g.rng.IntN(len(choices))] }

// name returns a head-of-household name not yet used in the village when
// one can be found in a few tries; real villages do have namesakes.
func (g *generator) name(female bool) string {
	given := maleGiven
	if female {
		given = femaleGiven
	}
	var n string
	for range 8 {
		n = g.surname() + given[g.rng.IntN(len(given))]
		if !g.used[n] {
			break
		}
	}
	g.used[n] = true
	return n
}

func (g *generator) surname() string {
	w := g.rng.IntN(surnameTotal)
	for _, s := range surnames {
		if w < s.weight {
			return s.name
		}
		w -= s.weight
	}
	panic("unreachable")
}

// mobile returns a mainland mobile number: 13x, 15x, 17x, 18x or 19x.
func (g *generator) mobile() string {
	return fmt.Sprintf("1%d%09d", g.pick(3, 3, 3, 5, 5, 8, 8, 7, 9), g.rng.IntN(1_000_000_000))
}

// fields returns n fields with distinct names. Areas lean small (most
// fields in the hills are one or two mu) and are kept between 1.00 and
// 5.00 mu. Most fields are double-cropped and recorded under the crop
// that comes first, early rice.
func (g *generator) fields(n, group int) []store.Field {
	names := g.rng.Perm(len(fieldNames))
	fs := make([]store.Field, n)
	for i := range fs {
		area := min(100+int64(g.rng.ExpFloat64()*80), 500) // 1–5 mu, most near 1.5
		crop := store.CropOther
		switch r := g.rng.Float64(); {
		case r < 0.55:
			crop = store.CropEarlyRice
		case r < 0.70:
			crop = store.CropLateRice
		case r < 0.85:
			crop = store.CropSingleRice
		case r < 0.95:
			crop = store.CropRapeseed
		}
		fg := group
		if g.cfg.Groups > 1 && g.chance(0.05) {
			// A field over the boundary, in the neighbouring group.
			fg = group + 1
			if fg > g.cfg.Groups {
				fg = group - 1
			}
		}
		fs[i] = store.Field{Name: fieldNames[names[i]], AreaCentimu: area, Crop: crop, Group: fg}
	}
	return fs
}

// TeamName is the name of the i-th team (from 1): 第一互助队 … 第十互助队,
// then 第11互助队.
func TeamName(i int) string {
	if i >= 1 && i <= len(chineseNumerals) {
		return "第" + chineseNumerals[i-1] + "互助队"
	}
	return fmt.Sprintf("第%d互助队", i)
}

// teams forms the teams out of the households with two or more laborers:
// they are split in order, so each team is a run of neighbours, and each is
// led by one of its strongest households. It returns the leaders' indexes.
func (g *generator) teams() []int {
	if g.cfg.Teams == 0 {
		return nil
	}
	var able []int
	for i, h := range g.in.Households {
		if h.Household.Laborers >= 2 {
			able = append(able, i)
		}
	}
	g.in.Teams = make([]store.ImportTeam, g.cfg.Teams)
	leaders := make([]int, 0, g.cfg.Teams)
	for k := range g.in.Teams {
		// Members of team k: the k-th of Teams near-equal runs of able.
		run := able[k*len(able)/g.cfg.Teams : (k+1)*len(able)/g.cfg.Teams]
		t := &g.in.Teams[k]
		t.Team.Name = TeamName(k + 1)
		t.Leader = -1
		t.Members = make([]store.ImportMember, 0, len(run))
		if len(run) > 0 {
			most := 0
			for _, i := range run {
				most = max(most, g.in.Households[i].Household.Laborers)
			}
			var strongest []int
			for _, i := range run {
				if g.in.Households[i].Household.Laborers == most {
					strongest = append(strongest, i)
				}
			}
			t.Leader = strongest[g.rng.IntN(len(strongest))]
			t.Team.LeaderName = g.in.Households[t.Leader].Household.HeadName
			leaders = append(leaders, t.Leader)
		}
		for _, i := range run {
			laborers := g.in.Households[i].Household.Laborers
			workers := 1
			switch r := g.rng.Float64(); {
			case i == t.Leader || laborers >= 3 && r < 0.55 || laborers == 2 && r < 0.4:
				workers = 2
			case laborers >= 3 && r < 0.70:
				workers = 3
			}
			t.Members = append(t.Members, store.ImportMember{
				Household: i, WorkersPerDay: workers, UnavailableDays: g.unavailable(),
			})
		}
	}
	return leaders
}

// unavailable returns the days a member cannot come, in date order: none
// for most, one to three days in a busy season for a quarter of them.
func (g *generator) unavailable() []string {
	if !g.chance(0.25) {
		return []string{}
	}
	span := busySpans[g.rng.IntN(len(busySpans))]
	var days []int
	for range 1 + g.rng.IntN(3) {
		d := span[0] + g.rng.IntN(span[1]-span[0]+1)
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = time.Date(unavailableYear, time.January, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	return out
}

// linkPartyMembers links every household to a party member (党员联户): the
// village is cut into runs of about ten neighbouring households, each with
// one party member, preferably the head of a household with labor to spare.
// Team leaders are party members themselves, and a run that has a leader is
// linked to that leader.
func (g *generator) linkPartyMembers(leaders []int) {
	n := len(g.in.Households)
	if n == 0 {
		return
	}
	runs := max(1, (n+5)/10)
	for b := range runs {
		lo, hi := b*n/runs, (b+1)*n/runs
		member := -1
		for _, l := range leaders {
			if l >= lo && l < hi {
				member = l
				break
			}
		}
		if member < 0 {
			member = g.pickIn(lo, hi, func(h *store.Household) bool { return h.Laborers >= 2 })
		}
		if member < 0 {
			member = g.pickIn(lo, hi, func(h *store.Household) bool { return !h.FiveGuarantee })
		}
		if member < 0 {
			member = lo + g.rng.IntN(hi-lo)
		}
		name := g.in.Households[member].Household.HeadName
		for i := lo; i < hi; i++ {
			g.in.Households[i].Household.PartyMember = name
		}
	}
	for _, l := range leaders {
		h := &g.in.Households[l].Household
		h.PartyMember = h.HeadName
	}
}

// pickIn returns a random household index in [lo, hi) that ok accepts, or -1.
func (g *generator) pickIn(lo, hi int, ok func(*store.Household) bool) int {
	var c []int
	for i := lo; i < hi; i++ {
		if ok(&g.in.Households[i].Household) {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[g.rng.IntN(len(c))]
}
