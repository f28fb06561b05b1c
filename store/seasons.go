package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Tasks a team does on a field.
const (
	TaskPrepare    = "prepare"    // 整地
	TaskTransplant = "transplant" // 插秧
	TaskHarvest    = "harvest"    // 收割
)

// Tasks lists every task in field order: prepare before transplant.
var Tasks = []string{TaskPrepare, TaskTransplant, TaskHarvest}

// Season kinds and states.
const (
	SeasonSpring = "spring" // 春耕
	SeasonSummer = "summer" // 夏收/双抢
	SeasonAutumn = "autumn" // 秋收

	SeasonPlanned = "planned"
	SeasonOpen    = "open"
	SeasonClosed  = "closed"
)

// SeasonKinds lists the season kinds in calendar order.
var SeasonKinds = []string{SeasonSpring, SeasonSummer, SeasonAutumn}

// Season is a busy season: the dates help requests may fall in and the
// tasks they may ask for.
type Season struct {
	bun.BaseModel `bun:"table:seasons"`

	ID        int64             `bun:",pk,autoincrement"`
	VillageID int64             `bun:",notnull"`
	Year      int               `bun:",notnull"`
	Kind      string            `bun:",notnull"`
	Name      string            `bun:",notnull"`
	StartDate string            `bun:",notnull"`
	EndDate   string            `bun:",notnull"`
	Tasks     []string          `bun:",type:json,notnull"`
	State     string            `bun:",notnull"`
	Crons     map[string]string `bun:",type:json,notnull"` // filled by the calendar issue
	Version   int64             `bun:",notnull"`
	CreatedAt time.Time         `bun:",notnull"`
	UpdatedAt time.Time         `bun:",notnull"`
}

func (s *Season) kind() string                { return "season" }
func (s *Season) stamp() (*int64, *time.Time) { return &s.Version, &s.UpdatedAt }
func (s *Season) ident() (*int64, *int64)     { return &s.ID, &s.VillageID }

func (s *Season) check(ctx context.Context, db bun.IDB) error {
	s.Name = strings.TrimSpace(s.Name)
	if !slices.Contains(SeasonKinds, s.Kind) {
		return Invalid("body.kind", "农时类型无效 season kind must be one of %v", SeasonKinds)
	}
	start, err := time.Parse(time.DateOnly, s.StartDate)
	if err != nil {
		return Invalid("body.startDate", "日期格式应为2026-04-05 %q is not a date like 2026-04-05", s.StartDate)
	}
	if _, err := time.Parse(time.DateOnly, s.EndDate); err != nil {
		return Invalid("body.endDate", "日期格式应为2026-05-05 %q is not a date like 2026-05-05", s.EndDate)
	}
	if s.EndDate < s.StartDate {
		return Invalid("body.endDate", "结束日期早于开始日期 the season ends (%s) before it starts (%s)", s.EndDate, s.StartDate)
	}
	s.Year = start.Year()
	if len(s.Tasks) == 0 {
		return Invalid("body.tasks", "至少一项农活 a season allows at least one task")
	}
	for i, t := range s.Tasks {
		if !slices.Contains(Tasks, t) {
			return Invalid(fmt.Sprintf("body.tasks[%d]", i), "农活类型无效 unknown task %q; one of %v", t, Tasks)
		}
	}
	if s.Crons == nil {
		s.Crons = map[string]string{}
	}
	if s.Name == "" {
		s.Name = fmt.Sprintf("%d %s", s.Year, seasonNames[s.Kind])
	}
	return nil
}

var seasonNames = map[string]string{SeasonSpring: "春耕", SeasonSummer: "双抢", SeasonAutumn: "秋收"}

// Allows reports whether the season takes requests for task in [from, to].
func (s *Season) Allows(task, from, to string) bool {
	return slices.Contains(s.Tasks, task) && s.StartDate <= from && to <= s.EndDate
}

// MaxSeasonDays is the longest a season may run: the longest real busy
// season (双抢) is a few weeks; 120 days leaves room for a late spring.
const MaxSeasonDays = 120

// checkBounds keeps a season's dates within the village's year ± 1 (the
// year of its today) and at most MaxSeasonDays long: a typo such as
// 0202-07-07 would otherwise make every page and the scheduler walk
// centuries of days. The dates are checked as dates first.
func checkBounds(se *Season, year int) error {
	start, err := time.Parse(time.DateOnly, se.StartDate)
	if err != nil {
		return Invalid("body.startDate", "日期格式应为2026-04-05 %q is not a date like 2026-04-05", se.StartDate)
	}
	end, err := time.Parse(time.DateOnly, se.EndDate)
	if err != nil {
		return Invalid("body.endDate", "日期格式应为2026-05-05 %q is not a date like 2026-05-05", se.EndDate)
	}
	for _, d := range []struct {
		field string
		t     time.Time
	}{{"body.startDate", start}, {"body.endDate", end}} {
		if y := d.t.Year(); y < year-1 || y > year+1 {
			return Invalid(d.field, "农时须在%[2]d至%[3]d年之间 %[1]s is outside %[2]d–%[3]d, the village's year ± 1",
				d.t.Format(time.DateOnly), year-1, year+1)
		}
	}
	if days := int(end.Sub(start).Hours()/24) + 1; days > MaxSeasonDays {
		return Invalid("body.endDate", "农时最长%[2]d天 the season would last %[1]d days; at most %[2]d", days, MaxSeasonDays)
	}
	return nil
}

// villageYear is the year of the village's today, by the injected clock.
func (s *Store) villageYear(ctx context.Context, villageID int64) (int, error) {
	v, err := s.GetVillage(ctx, villageID)
	if err != nil {
		return 0, err
	}
	return s.Now().In(v.Location()).Year(), nil
}

// CreateSeason adds a season; one per village, year and kind, within the
// village's year ± 1 and at most MaxSeasonDays long.
func (s *Store) CreateSeason(ctx context.Context, se *Season) error {
	se.ID, se.CreatedAt = 0, s.Now().UTC()
	if se.State == "" {
		se.State = SeasonPlanned
	}
	year, err := s.villageYear(ctx, se.VillageID)
	if err != nil {
		return err
	}
	if err := checkBounds(se, year); err != nil {
		return err
	}
	err = create(ctx, s.db, se.CreatedAt, se)
	if ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Field: "body.kind",
			Message: fmt.Sprintf("该年已有此农时 the village already has a %s season in %d", se.Kind, se.Year)}
	}
	return err
}

// GetSeason returns a season of the village.
func (s *Store) GetSeason(ctx context.Context, villageID, id int64) (*Season, error) {
	return getOne[Season](ctx, s.db, villageID, id, "season")
}

// ListSeasons returns the village's seasons of a year (0: all), by start date.
func (s *Store) ListSeasons(ctx context.Context, villageID int64, year int) ([]*Season, error) {
	var out []*Season
	q := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).OrderExpr("start_date, id")
	if year != 0 {
		q = q.Where("year = ?", year)
	}
	return out, translate(q.Scan(ctx), "seasons")
}

// seasonStates is the only way a season moves: planned → open → closed.
var seasonStates = map[string]int{SeasonPlanned: 0, SeasonOpen: 1, SeasonClosed: 2}

// UpdateSeason changes a season's dates, tasks or state; a state only moves
// forward, and changed dates keep the bounds CreateSeason keeps.
func (s *Store) UpdateSeason(ctx context.Context, villageID, id, ifVersion int64, change func(*Season) error) (*Season, error) {
	year, err := s.villageYear(ctx, villageID)
	if err != nil {
		return nil, err
	}
	return update[Season](ctx, s, villageID, id, ifVersion, func(se *Season) error {
		was, start, end := se.State, se.StartDate, se.EndDate
		if err := change(se); err != nil {
			return err
		}
		if se.StartDate != start || se.EndDate != end {
			if err := checkBounds(se, year); err != nil {
				return err
			}
		}
		to, ok := seasonStates[se.State]
		if !ok {
			return Invalid("body.state", "农时状态无效 unknown season state %q", se.State)
		}
		if to < seasonStates[was] || to > seasonStates[was]+1 {
			return &Error{Code: ECONFLICT, Field: "body.state",
				Message: fmt.Sprintf("农时当前为%[2]s，只能依次推进 season is %[1]s; it can only move planned → open → closed", was, was)}
		}
		return nil
	})
}

// seasonFor finds the village's season that allows task over [from, to].
func seasonFor(ctx context.Context, db bun.IDB, villageID int64, task, from, to string) (*Season, error) {
	var ss []*Season
	err := db.NewSelect().Model(&ss).Where("village_id = ?", villageID).Where("state <> ?", SeasonClosed).
		Where("start_date <= ?", from).Where("end_date >= ?", to).OrderExpr("start_date").Scan(ctx)
	if err != nil {
		return nil, translate(err, "seasons")
	}
	for _, se := range ss {
		if se.Allows(task, from, to) {
			return se, nil
		}
	}
	return nil, Invalid("body.latest", "该时段没有安排此农活的农时 no open or planned season allows %s from %s to %s", task, from, to)
}

// Norm is how many workdays a mu of a crop takes for a task, in hundredths.
type Norm struct {
	bun.BaseModel `bun:"table:labor_norms"`

	VillageID  int64  `bun:",pk"`
	Crop       string `bun:",pk"`
	Task       string `bun:",pk"`
	CentiPerMu int64  `bun:",notnull"`
}

// DefaultNorms are workdays per mu in hundredths: manual work in Jiangxi
// double-cropping rice (prepare 0.5, transplant 1.5, harvest 2.0).
var DefaultNorms = map[string]int64{TaskPrepare: 50, TaskTransplant: 150, TaskHarvest: 200}

// Norms returns the village's labor norm for every crop and task, the
// defaults filled in where a cadre set none.
func (s *Store) Norms(ctx context.Context, villageID int64) ([]Norm, error) {
	return norms(ctx, s.db, villageID)
}

func norms(ctx context.Context, db bun.IDB, villageID int64) ([]Norm, error) {
	var set []Norm
	if err := db.NewSelect().Model(&set).Where("village_id = ?", villageID).Scan(ctx); err != nil {
		return nil, translate(err, "labor norms")
	}
	out := make([]Norm, 0, len(Crops)*len(Tasks))
	for _, crop := range Crops {
		for _, task := range Tasks {
			n := Norm{VillageID: villageID, Crop: crop, Task: task, CentiPerMu: DefaultNorms[task]}
			for _, s := range set {
				if s.Crop == crop && s.Task == task {
					n.CentiPerMu = s.CentiPerMu
				}
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// SetNorms records a cadre's norms for some crop and task pairs.
func (s *Store) SetNorms(ctx context.Context, villageID int64, set []Norm) ([]Norm, error) {
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for i := range set {
			n := &set[i]
			field := fmt.Sprintf("body.norms[%d]", i)
			if err := validateCrop(field+".crop", n.Crop); err != nil {
				return err
			}
			if !slices.Contains(Tasks, n.Task) {
				return Invalid(field+".task", "农活类型无效 unknown task %q", n.Task)
			}
			if n.CentiPerMu <= 0 || n.CentiPerMu > 2000 {
				return Invalid(field+".workdaysPerMu", "每亩工日须大于0且不超过20 workdays per mu must be more than 0 and at most 20")
			}
			n.VillageID = villageID
			_, err := tx.NewInsert().Model(n).On("CONFLICT (village_id, crop, task) DO UPDATE").
				Set("centi_per_mu = EXCLUDED.centi_per_mu").Exec(ctx)
			if err != nil {
				return translate(err, "labor norm")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Norms(ctx, villageID)
}

// EstimateHalfDays is a field's work for a task at a norm: area × norm,
// rounded up to the half day.
func EstimateHalfDays(areaCentimu, centiPerMu int64) int64 {
	// area (mu) = c/100, norm (workdays/mu) = n/100: half days = 2·c·n/10⁴.
	return (areaCentimu*centiPerMu + 4999) / 5000
}
