package scheduler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/calendar"
	"github.com/robfig/cron/v3"

	"huangong/store"
)

// The years SolarTerms answers for: the range the almanacs publish and the
// ephemeris behind lunar-go is checked against.
const (
	MinYear = 1900
	MaxYear = 2100
)

// SolarTerm is one of the 24 solar terms (节气): the instant the sun's
// apparent ecliptic longitude reaches a multiple of 15°.
type SolarTerm struct {
	Name      string    // 清明
	Pinyin    string    // Qīngmíng
	English   string    // Pure Brightness
	Longitude int       // the sun's ecliptic longitude, degrees: 清明 15, 冬至 270
	Time      time.Time // the instant, to the second, in the requested location
	Date      string    // YYYY-MM-DD in the requested location
}

// termInfo names the terms in calendar-year order, 小寒 first.
var termInfo = []struct {
	name, pinyin, english string
	longitude             int
}{
	{"小寒", "Xiǎohán", "Minor Cold", 285},
	{"大寒", "Dàhán", "Major Cold", 300},
	{"立春", "Lìchūn", "Start of Spring", 315},
	{"雨水", "Yǔshuǐ", "Rain Water", 330},
	{"惊蛰", "Jīngzhé", "Awakening of Insects", 345},
	{"春分", "Chūnfēn", "Spring Equinox", 0},
	{"清明", "Qīngmíng", "Pure Brightness", 15},
	{"谷雨", "Gǔyǔ", "Grain Rain", 30},
	{"立夏", "Lìxià", "Start of Summer", 45},
	{"小满", "Xiǎomǎn", "Grain Buds", 60},
	{"芒种", "Mángzhòng", "Grain in Ear", 75},
	{"夏至", "Xiàzhì", "Summer Solstice", 90},
	{"小暑", "Xiǎoshǔ", "Minor Heat", 105},
	{"大暑", "Dàshǔ", "Major Heat", 120},
	{"立秋", "Lìqiū", "Start of Autumn", 135},
	{"处暑", "Chǔshǔ", "End of Heat", 150},
	{"白露", "Báilù", "White Dew", 165},
	{"秋分", "Qiūfēn", "Autumn Equinox", 180},
	{"寒露", "Hánlù", "Cold Dew", 195},
	{"霜降", "Shuāngjiàng", "Frost's Descent", 210},
	{"立冬", "Lìdōng", "Start of Winter", 225},
	{"小雪", "Xiǎoxuě", "Minor Snow", 240},
	{"大雪", "Dàxuě", "Major Snow", 255},
	{"冬至", "Dōngzhì", "Winter Solstice", 270},
}

// instant is a term as computed, before a location is chosen.
type instant struct {
	info int // index into termInfo
	at   time.Time
}

// terms caches the computed instants by year: the ephemeris is the costly
// part, and a year's terms never change.
var terms sync.Map // int → []instant

// unixJD is the Julian day of 1970-01-01T00:00:00Z.
const unixJD = 2440587.5

// instants computes the terms lunar-go knows around a year: its lunar year
// runs from the previous December's 大雪 to the next year's 惊蛰, 31
// terms in all. The first two (大雪 under the key DA_XUE, then 冬至) are
// the previous December's; this December's 冬至 is keyed DONG_ZHI, and
// the last five (XIAO_HAN…) belong to the next year. So the terms are
// named here by position, and SolarTerms keeps the ones whose date falls
// in the year asked for.
func instants(year int) []instant {
	if v, ok := terms.Load(year); ok {
		return v.([]instant)
	}
	// lunar-go keeps one year in a global cache behind a lock, so this is
	// safe from several goroutines.
	jds := calendar.NewLunarYear(year).GetJieQiJulianDays()
	out := make([]instant, len(jds))
	for i, jd := range jds {
		// The Julian days are Beijing time (UTC+8): lunar-go adds 8 h to
		// the ephemeris's UT, so take them back off. Rounded to the second,
		// finer than any almanac publishes.
		sec := math.Round((jd-unixJD)*86400) - 8*3600
		// JIE_QI_IN_USE starts at 大雪, index 22 of termInfo.
		out[i] = instant{info: (i + 22) % 24, at: time.Unix(int64(sec), 0).UTC()}
	}
	v, _ := terms.LoadOrStore(year, out)
	return v.([]instant)
}

// SolarTerms returns the 24 solar terms whose date in loc falls in the
// Gregorian year, in time order (小寒 first, 冬至 last), computed
// astronomically by github.com/6tail/lunar-go (寿星万年历's ephemeris with
// ΔT fitted to DE440s). Times are to the second; published almanacs round
// them to the minute. A nil loc is Asia/Shanghai. Years outside 1900–2100
// are EINVALID.
func SolarTerms(year int, loc *time.Location) ([]SolarTerm, error) {
	if year < MinYear || year > MaxYear {
		return nil, store.Invalid("year", "年份须在%d至%d之间 year must be from %d to %d", MinYear, MaxYear, MinYear, MaxYear)
	}
	if loc == nil {
		loc = shanghai()
	}
	out := make([]SolarTerm, 0, 24)
	seen := map[int]bool{}
	for _, in := range instants(year) {
		at := in.at.In(loc)
		if at.Year() != year || seen[in.info] {
			continue
		}
		seen[in.info] = true
		ti := termInfo[in.info]
		out = append(out, SolarTerm{Name: ti.name, Pinyin: ti.pinyin, English: ti.english, Longitude: ti.longitude,
			Time: at, Date: at.Format(time.DateOnly)})
	}
	slices.SortFunc(out, func(a, b SolarTerm) int { return a.Time.Compare(b.Time) })
	if len(out) != 24 {
		return nil, fmt.Errorf("scheduler: %d solar terms in %d in %s, want 24", len(out), year, loc)
	}
	return out, nil
}

// Term returns the named term of the year (清明, 冬至…).
func Term(year int, loc *time.Location, name string) (SolarTerm, error) {
	ts, err := SolarTerms(year, loc)
	if err != nil {
		return SolarTerm{}, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return SolarTerm{}, store.Invalid("name", "无此节气 no solar term named %q", name)
}

var shanghai = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(store.DefaultTimezone)
	if err != nil {
		// No tzdata on the machine: China has kept UTC+8 without summer
		// time since 1991, which is all the calendar needs.
		return time.FixedZone("CST", 8*3600)
	}
	return loc
})

// Crop systems: which busy seasons a village's fields make.
const (
	// SystemDoubleRice is double-cropping rice (双季稻), the village
	// default in Jiangxi: early rice transplanted in spring, harvested in
	// July, late rice transplanted at once and harvested in October.
	SystemDoubleRice = "double_rice"
	// SystemSingleRice is one crop of mid-season rice (一季稻/中稻).
	SystemSingleRice = "single_rice"
	// SystemRapeseed is rapeseed followed by mid-season rice on the same
	// field (油菜–中稻): rapeseed cut in May, rice after it, rapeseed
	// seedlings transplanted once the rice is in.
	SystemRapeseed = "rapeseed"
)

// Systems lists the crop systems DefaultSeasons knows.
var Systems = []string{SystemDoubleRice, SystemSingleRice, SystemRapeseed}

// The jobs each open season runs: the keys of store.Season.Crons and the
// names the runner (cron.go) records its runs under.
const (
	CronPlan     = "plan"     // the nightly plan of the requests waiting
	CronMorning  = "morning"  // the day's job list to every team leader, into the outbox
	CronOverdue  = "overdue"  // flag requests past their due date
	CronFeedback = "feedback" // close the requests done and unrated for three days
	CronNotice   = "notice"   // the weekly public-notice snapshot (公示)
	CronClose    = "close"    // close and settle the season on its end date
)

// CronJobs lists the season jobs in the order slots due at the same
// instant run.
var CronJobs = []string{CronPlan, CronMorning, CronOverdue, CronFeedback, CronNotice, CronClose}

// DefaultCrons are a season's cron specs by job (robfig/cron standard five
// fields, read in the village's timezone): the plan at 20:00 for the next
// days, job lists at 06:00 before people go out, the overdue sweep every
// hour, the feedback close at 06:30, the public notice on Monday at 08:00,
// and the close at 22:00 on the season's last day (end, YYYY-MM-DD), after
// that evening's plan. The close spec names a day of the year, so it comes
// round every year: the runner acts on it only on the season's own end
// date.
func DefaultCrons(end string) (map[string]string, error) {
	d, err := time.Parse(time.DateOnly, end)
	if err != nil {
		return nil, store.Invalid("endDate", "日期格式应为2026-05-05 %q is not a date like 2026-05-05", end)
	}
	return map[string]string{
		CronPlan:     "0 20 * * *",
		CronMorning:  "0 6 * * *",
		CronOverdue:  "0 * * * *",
		CronFeedback: "30 6 * * *",
		CronNotice:   "0 8 * * 1",
		CronClose:    fmt.Sprintf("0 22 %d %d *", d.Day(), int(d.Month())),
	}, nil
}

// ValidateCron checks a cron spec the way the runner will parse it:
// robfig/cron's standard parser (five fields or a descriptor such as
// @daily or @every 1h). A TZ= or CRON_TZ= prefix is refused, since a
// season's jobs run in its village's timezone.
func ValidateCron(spec string) error {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return fmt.Errorf("定时规则不能指定时区，按本村时区执行 cron spec %q names a timezone; jobs run in the village's", spec)
	}
	if _, err := cron.ParseStandard(s); err != nil {
		return fmt.Errorf("定时规则无效 invalid cron spec %q: %v", spec, err)
	}
	return nil
}

// ValidateCrons checks every spec of a season's crons, naming the first bad
// one as field.job (e.g. body.crons.plan) in an EINVALID error.
func ValidateCrons(field string, crons map[string]string) error {
	jobs := make([]string, 0, len(crons))
	for job := range crons {
		jobs = append(jobs, job)
	}
	slices.Sort(jobs)
	for _, job := range jobs {
		if err := ValidateCron(crons[job]); err != nil {
			return store.Invalid(field+"."+job, "%s", err.Error())
		}
	}
	return nil
}

// SeasonSpec is a default season: its dates, from and to the solar terms
// that anchor it, the tasks it takes requests for and its cron specs.
type SeasonSpec struct {
	Kind      string            // store.SeasonSpring, SeasonSummer or SeasonAutumn
	Name      string            // "2027 春耕"
	StartDate string            // YYYY-MM-DD, the From term's date
	EndDate   string            // YYYY-MM-DD, the To term's date plus Grace days
	From, To  string            // the anchoring solar terms: 清明, 立夏
	Grace     int               // days after To the season still runs
	Tasks     []string          // in field order
	Crons     map[string]string // DefaultCrons(EndDate)
}

// Season is the spec as a planned season of a village, ready for
// store.CreateSeason.
func (sp SeasonSpec) Season(villageID int64) *store.Season {
	crons := make(map[string]string, len(sp.Crons))
	for k, v := range sp.Crons {
		crons[k] = v
	}
	return &store.Season{VillageID: villageID, Kind: sp.Kind, Name: sp.Name, StartDate: sp.StartDate, EndDate: sp.EndDate,
		Tasks: slices.Clone(sp.Tasks), State: store.SeasonPlanned, Crons: crons}
}

// window is a default season in terms of solar terms.
type window struct {
	kind, label string
	from, to    string
	grace       int
	tasks       []string
}

var (
	prepareTransplant = []string{store.TaskPrepare, store.TaskTransplant}
	allTasks          = []string{store.TaskPrepare, store.TaskTransplant, store.TaskHarvest}
)

// windows are the default seasons of each crop system, for the hills of
// north-east Jiangxi (玉山县); a cadre moves the dates with update-season
// when the year's weather asks for it.
var windows = map[string][]window{
	SystemDoubleRice: {
		// Early-rice seedlings are raised from 春分; the fields are
		// ploughed and harrowed from 清明 and transplanted from about 谷雨,
		// the last ones a few days after 立夏.
		{store.SeasonSpring, "春耕", "清明", "立夏", 5, prepareTransplant},
		// 双抢: the early rice ripens from 小暑 and is cut, the field
		// prepared and the late rice transplanted at once; the late rice
		// must be in by 立秋 (不插八一秧), with three days' grace.
		{store.SeasonSummer, "双抢", "小暑", "立秋", 3, allTasks},
		// The late rice is cut from 寒露 and in by 立冬.
		{store.SeasonAutumn, "秋收", "寒露", "立冬", 0, []string{store.TaskHarvest}},
	},
	SystemSingleRice: {
		// Mid-season rice is sown in late April and transplanted from
		// 立夏 to a week after 芒种; it grows through the summer, so there
		// is no summer season.
		{store.SeasonSpring, "春耕", "立夏", "芒种", 7, prepareTransplant},
		// It ripens from 处暑 and is in by 寒露.
		{store.SeasonAutumn, "秋收", "处暑", "寒露", 0, []string{store.TaskHarvest}},
	},
	SystemRapeseed: {
		// The rapeseed is cut around 立夏, the field prepared and the rice
		// transplanted after it, up to a week after 芒种.
		{store.SeasonSpring, "春耕", "立夏", "芒种", 7, allTasks},
		// The rice is cut from 白露; the rapeseed seedlings go into the
		// cleared fields up to a week after 立冬.
		{store.SeasonAutumn, "秋收", "白露", "立冬", 7, allTasks},
	},
}

// DefaultSeasons returns a year's default busy seasons for a crop system
// ("" is SystemDoubleRice) from the year's solar terms in loc (nil:
// Asia/Shanghai), in calendar order. Each runs from the date of its From
// term to the date of its To term plus its grace days, and carries the
// default cron specs.
func DefaultSeasons(year int, loc *time.Location, system string) ([]SeasonSpec, error) {
	if system == "" {
		system = SystemDoubleRice
	}
	ws, ok := windows[system]
	if !ok {
		return nil, store.Invalid("system", "种植制度未知 unknown crop system %q; one of %v", system, Systems)
	}
	ts, err := SolarTerms(year, loc)
	if err != nil {
		return nil, err
	}
	date := map[string]string{}
	for _, t := range ts {
		date[t.Name] = t.Date
	}
	out := make([]SeasonSpec, 0, len(ws))
	for _, w := range ws {
		end, _ := time.Parse(time.DateOnly, date[w.to])
		sp := SeasonSpec{Kind: w.kind, Name: fmt.Sprintf("%d %s", year, w.label),
			StartDate: date[w.from], EndDate: end.AddDate(0, 0, w.grace).Format(time.DateOnly),
			From: w.from, To: w.to, Grace: w.grace, Tasks: slices.Clone(w.tasks)}
		if sp.Crons, err = DefaultCrons(sp.EndDate); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// EnsureSeasons creates the specs' seasons a village lacks. A kind the
// village already has in the spec's year is left as it is (a cadre may have
// moved its dates) and answered among existing, in the specs' order. Each
// season is its own transaction: after a failure, calling again finishes
// the job.
func EnsureSeasons(ctx context.Context, st *store.Store, villageID int64, specs []SeasonSpec) (created, existing []*store.Season, err error) {
	have := map[int]map[string]*store.Season{}
	lookup := func(year int, kind string) (*store.Season, error) {
		if have[year] == nil {
			ss, err := st.ListSeasons(ctx, villageID, year)
			if err != nil {
				return nil, err
			}
			have[year] = map[string]*store.Season{}
			for _, se := range ss {
				have[year][se.Kind] = se
			}
		}
		return have[year][kind], nil
	}
	for _, sp := range specs {
		year, _ := time.Parse(time.DateOnly, sp.StartDate)
		se, err := lookup(year.Year(), sp.Kind)
		if err != nil {
			return nil, nil, err
		}
		if se != nil {
			existing = append(existing, se)
			continue
		}
		se = sp.Season(villageID)
		if err := st.CreateSeason(ctx, se); err != nil {
			if store.ErrorCode(err) != store.ECONFLICT {
				return nil, nil, err
			}
			// Created by someone else since the lookup: read it back.
			delete(have, year.Year())
			if se, err = lookup(year.Year(), sp.Kind); err != nil || se == nil {
				return nil, nil, fmt.Errorf("scheduler: %s season of %d: conflict but not found: %v", sp.Kind, year.Year(), err)
			}
			existing = append(existing, se)
			continue
		}
		have[year.Year()][sp.Kind] = se
		created = append(created, se)
	}
	return created, existing, nil
}

// CreateDefaultSeasons gives a village the year's default seasons for its
// crop system in the village's timezone, keeping the kinds it already has.
func CreateDefaultSeasons(ctx context.Context, st *store.Store, villageID int64, year int, system string) (created, existing []*store.Season, err error) {
	v, err := st.GetVillage(ctx, villageID)
	if err != nil {
		return nil, nil, err
	}
	// The seasons' own bounds (the village's year ± 1) would name their
	// dates; the caller sent a year.
	if now := st.Now().In(v.Location()).Year(); year < now-1 || year > now+1 {
		return nil, nil, store.Invalid("year", "农时须在%[2]d至%[3]d年之间 %[1]d is outside %[2]d–%[3]d, the village's year ± 1", year, now-1, now+1)
	}
	specs, err := DefaultSeasons(year, v.Location(), system)
	if err != nil {
		return nil, nil, err
	}
	return EnsureSeasons(ctx, st, villageID, specs)
}
