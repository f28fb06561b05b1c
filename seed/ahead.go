package seed

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"huangong/scheduler"
	"huangong/store"
)

// aheadSeed fixes who asks for help in the season ahead: the same
// households, fields and windows on every first start.
const aheadSeed = 20271129

// aheadAsks is about how many help requests the season ahead starts with.
const aheadAsks = 26

// SeasonAhead gives the village a season ahead, so that a first start
// shows work waiting for the nightly plan: once now (in the village) is
// past the start of this year's autumn harvest it creates next year's
// default seasons (double-cropping rice; in late November, next spring's
// 春耕 first), before that this year's seasons not yet over. A kind the
// village already has that year is kept as it is.
//
// Into the first of those seasons that is not closed go some 26 help
// requests, submitted over the week before now: households short of labor
// or vulnerable and in no team ask for the season's work on their rice
// fields (in spring: prepare, then transplant, on the early-rice fields),
// 章仁标 on both of his, 门口田 and 塘下垄; the cadre 邱锦 enters them for
// households without a phone, five-guarantee households and some elderly
// ones. Their windows lie inside the season and after today.
//
// It is deterministic for a given date: a fixed random seed, and the
// store's clock set to a script of the days before now while it runs (and
// put back after), so it must not run while anything else uses the store.
// Running it again adds nothing: a field with an open request for a task
// gets no second one.
func SeasonAhead(ctx context.Context, st *store.Store, villageID int64, now time.Time) error {
	clock := st.Now
	defer func() { st.Now = clock }()
	if err := seasonAhead(ctx, st, villageID, now); err != nil {
		return fmt.Errorf("seed: season ahead: %w", err)
	}
	return nil
}

func seasonAhead(ctx context.Context, st *store.Store, villageID int64, now time.Time) error {
	h, err := newHistory(ctx, st, villageID)
	if err != nil {
		return err
	}
	h.rng = rand.New(rand.NewPCG(aheadSeed, pcgStream))
	today := h.date(now)
	specs, err := aheadSpecs(now.In(h.loc).Year(), h.loc, today)
	if err != nil {
		return err
	}

	// The seasons are set up the week before the households ask.
	h.now = h.at(addDays(today, -8), 9, 0)
	st.Now = func() time.Time { return h.now }
	created, existing, err := scheduler.EnsureSeasons(ctx, st, villageID, specs)
	if err != nil {
		return err
	}
	seasons := slices.Concat(created, existing)
	slices.SortFunc(seasons, func(a, b *store.Season) int { return cmp.Compare(a.StartDate, b.StartDate) })
	i := slices.IndexFunc(seasons, func(se *store.Season) bool { return se.State != store.SeasonClosed })
	if i < 0 {
		return nil
	}
	// The season ahead is open, so the nightly plan picks its requests up.
	if seasons[i].State == store.SeasonPlanned {
		opened, err := st.UpdateSeason(ctx, villageID, seasons[i].ID, 0, func(se *store.Season) error {
			se.State = store.SeasonOpen
			return nil
		})
		if err != nil {
			return fmt.Errorf("open %s: %w", seasons[i].Name, err)
		}
		seasons[i] = opened
	}
	asks := h.aheadAsks(seasons[i], today)
	for _, a := range asks {
		h.now = a.submit
		_, err := st.CreateRequest(ctx, villageID, a.actor, store.NewRequest{
			HouseholdID: a.household.ID, FieldID: a.field.ID, Task: a.task,
			Earliest: a.earliest, Latest: a.latest, OnBehalf: a.onBehalf,
		})
		if store.ErrorCode(err) == store.ECONFLICT {
			continue // asked already: a second run adds nothing
		}
		if err != nil {
			return fmt.Errorf("%s asks for %s on %s: %w", a.household.HeadName, a.task, a.field.Name, err)
		}
	}
	return nil
}

// aheadSpecs are the default seasons ahead of today: next year's once this
// year's autumn has begun, else this year's not yet over.
func aheadSpecs(year int, loc *time.Location, today string) ([]scheduler.SeasonSpec, error) {
	specs, err := scheduler.DefaultSeasons(year, loc, scheduler.SystemDoubleRice)
	if err != nil {
		return nil, err
	}
	autumn := slices.IndexFunc(specs, func(sp scheduler.SeasonSpec) bool { return sp.Kind == store.SeasonAutumn })
	if autumn >= 0 && today >= specs[autumn].StartDate {
		return scheduler.DefaultSeasons(year+1, loc, scheduler.SystemDoubleRice)
	}
	return slices.DeleteFunc(specs, func(sp scheduler.SeasonSpec) bool { return sp.EndDate < today }), nil
}

// aheadAsk is one help request of the season ahead.
type aheadAsk struct {
	household        *store.Household
	field            *store.Field
	task             string
	earliest, latest string
	onBehalf         bool
	actor            string
	submit           time.Time
}

// aheadTasks is what a household asks for on one field in each kind of
// season, in the order the work is done.
var aheadTasks = map[string][]string{
	store.SeasonSpring: {store.TaskPrepare, store.TaskTransplant},
	store.SeasonSummer: {store.TaskHarvest, store.TaskTransplant},
	store.SeasonAutumn: {store.TaskHarvest},
}

// aheadAsks scripts the requests for a season: windows after today,
// inside the season, one after the other on a field; submitted on the
// seven days before today, in the daytime.
func (h *history) aheadAsks(se *store.Season, today string) []aheadAsk {
	var tasks []string
	for _, t := range aheadTasks[se.Kind] {
		if slices.Contains(se.Tasks, t) {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	fits := func(f *store.Field) bool { return f.Crop == store.CropEarlyRice }
	if se.Kind == store.SeasonAutumn {
		fits = func(f *store.Field) bool { return f.Crop != store.CropRapeseed }
	}
	start := max(se.StartDate, addDays(today, 1))
	span := daysBetween(start, se.EndDate)
	if span < 0 {
		return nil
	}
	candidates := h.candidates(fits)
	var out []aheadAsk
	for _, o := range candidates {
		if len(out) >= aheadAsks {
			break
		}
		behalf := h.onBehalf(o)
		actor := "household:" + strconv.FormatInt(o.ID, 10)
		if behalf {
			actor = historyCadre
		}
		for _, f := range h.fields[o.ID] {
			if !fits(f) {
				continue
			}
			// The first work a few days to a third of the way into the
			// season, each task four to seven days; the next one from the
			// last day of the one before.
			earliest := addDays(start, min(3+h.rng.IntN(span/3+1), span))
			for _, t := range tasks {
				latest := min(addDays(earliest, 4+h.rng.IntN(4)), se.EndDate)
				out = append(out, aheadAsk{household: o, field: f, task: t, earliest: earliest, latest: latest,
					onBehalf: behalf, actor: actor})
				earliest = min(addDays(latest, -1), se.EndDate)
			}
			if o.HeadName != StoryHead {
				break // one field each; 章仁标 asks for both of his
			}
		}
	}
	// Submitted over the week before today, in the order the households
	// came, between 08:00 and 18:00; a household's requests together.
	var at time.Time
	for i := range out {
		if i == 0 || out[i].household.ID != out[i-1].household.ID {
			day := addDays(today, -7+i*7/len(out))
			at = h.at(day, 8, 0).Add(h.minutes(0, 600))
		} else {
			at = at.Add(h.minutes(2, 6))
		}
		out[i].submit = at
	}
	slices.SortStableFunc(out, func(a, b aheadAsk) int { return a.submit.Compare(b.submit) })
	return out
}

// daysBetween counts the days from a to b (YYYY-MM-DD), negative when b
// comes first.
func daysBetween(a, b string) int {
	x, _ := time.Parse(time.DateOnly, a)
	y, _ := time.Parse(time.DateOnly, b)
	return int(y.Sub(x).Hours() / 24)
}
