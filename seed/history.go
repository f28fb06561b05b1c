package seed

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"huangong/store"
)

// historySeed fixes the demo village's last year: the same seed plays the
// same requests, jobs, attendance and feedback on every first start.
const historySeed = 20261107

// Who acts in the history, as the transitions and the ledger record them.
const (
	historyCadre = "cadre:" + StoryCadre
	historyCron  = "cron:close-unrated"
)

// PlayHistory gives the demo village a past: the 2026 summer double-rush
// (双抢) and autumn harvest (秋收) played through the store's own methods,
// the same path the API takes. Households short of labor ask for help
// (章仁标 on both of his early-rice fields, some entered by the cadre on
// their behalf), the cadre assigns the team of their group with the
// members who owe the most help first, leaders confirm, now and then
// decline, and record who worked (half days, a meal hosted now and then,
// a named helper once in a while); households give stars or leave it to
// the three-day close. One request is cancelled, one job comes after its
// window. Each season is opened before its requests and closed at the end.
//
// It is deterministic: a fixed random seed and a scripted clock. It sets
// st.Now for the time it runs and puts it back after, so it must not run
// while anything else uses the store. A season the village already has
// for 2026 is not played again.
func PlayHistory(ctx context.Context, st *store.Store, villageID int64) error {
	now := st.Now
	defer func() { st.Now = now }()
	h, err := newHistory(ctx, st, villageID)
	if err != nil {
		return fmt.Errorf("seed: history: %w", err)
	}
	if len(h.teams) == 0 {
		return fmt.Errorf("seed: history: village %d has no team to do the work", villageID)
	}
	st.Now = func() time.Time { return h.now }
	for _, plan := range []func() error{h.summer, h.autumn} {
		if err := plan(); err != nil {
			return fmt.Errorf("seed: history: %w", err)
		}
	}
	return nil
}

// historyYear is the farming year the history plays: the year the
// members' unavailable days fall in.
const historyYear = unavailableYear

// history is one run of PlayHistory: the village as loaded, the scripted
// clock and the events still to play.
type history struct {
	ctx context.Context
	st  *store.Store
	v   *store.Village
	loc *time.Location
	rng *rand.Rand
	now time.Time

	households []*store.Household        // in ID order
	fields     map[int64][]*store.Field  // by household, in ID order
	teams      []*store.Team             // with their members
	member     map[int64]bool            // households in a team
	balance    map[int64]int64           // half days, as the ledger will have them
	busy       map[string]map[int64]bool // date → households on a job that day
	jobs       map[int64]int             // team → jobs given so far
	existing   map[string]bool           // season kinds the village has for the year
	cron       map[time.Time]bool        // daily runs already scheduled

	queue []historyEvent
	seq   int
}

type historyEvent struct {
	at  time.Time
	seq int
	do  func() error
}

func newHistory(ctx context.Context, st *store.Store, villageID int64) (*history, error) {
	v, err := st.GetVillage(ctx, villageID)
	if err != nil {
		return nil, err
	}
	h := &history{
		ctx: ctx, st: st, v: v, loc: v.Location(),
		rng:    rand.New(rand.NewPCG(historySeed, pcgStream)),
		fields: map[int64][]*store.Field{}, member: map[int64]bool{}, balance: map[int64]int64{},
		busy: map[string]map[int64]bool{}, jobs: map[int64]int{}, existing: map[string]bool{}, cron: map[time.Time]bool{},
	}
	for p := (store.Page{Limit: store.MaxPageLimit}); ; {
		hs, next, err := st.ListHouseholds(ctx, villageID, store.HouseholdFilter{}, p)
		if err != nil {
			return nil, err
		}
		h.households = append(h.households, hs...)
		if p.After = next; next == 0 {
			break
		}
	}
	for p := (store.Page{Limit: store.MaxPageLimit}); ; {
		fs, next, err := st.ListFields(ctx, villageID, store.FieldFilter{}, p)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			h.fields[f.HouseholdID] = append(h.fields[f.HouseholdID], f)
		}
		if p.After = next; next == 0 {
			break
		}
	}
	for p := (store.Page{Limit: store.MaxPageLimit}); ; {
		ts, next, err := st.ListTeams(ctx, villageID, p)
		if err != nil {
			return nil, err
		}
		h.teams = append(h.teams, ts...)
		if p.After = next; next == 0 {
			break
		}
	}
	for _, t := range h.teams {
		for _, m := range t.Members {
			h.member[m.HouseholdID] = true
		}
	}
	bs, _, err := st.Balances(ctx, villageID, store.BalanceQuery{})
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		h.balance[b.HouseholdID] = b.Balance
	}
	seasons, err := st.ListSeasons(ctx, villageID, historyYear)
	if err != nil {
		return nil, err
	}
	for _, se := range seasons {
		h.existing[se.Kind] = true
	}
	return h, nil
}

// at is a time in the village: a date and a clock time.
func (h *history) at(date string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, date, h.loc)
	if err != nil {
		panic(err) // dates here are the script's own
	}
	return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

func (h *history) date(t time.Time) string { return t.In(h.loc).Format(time.DateOnly) }

func addDays(date string, n int) string {
	d, _ := time.Parse(time.DateOnly, date)
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

// awake moves a time out of the night: nobody answers a phone between
// 21:30 and 7:00, so it comes the next morning.
func (h *history) awake(t time.Time) time.Time {
	l := t.In(h.loc)
	switch {
	case l.Hour() < 7:
		return h.at(h.date(l), 7, h.rng.IntN(60))
	case l.Hour()*60+l.Minute() > 21*60+30:
		return h.at(addDays(h.date(l), 1), 7, h.rng.IntN(60))
	}
	return t
}

// minutes is a random span between lo and hi minutes.
func (h *history) minutes(lo, hi int) time.Duration {
	return time.Duration(lo+h.rng.IntN(hi-lo+1)) * time.Minute
}

// schedule adds an event; events at the same time play in the order they
// were scheduled.
func (h *history) schedule(at time.Time, do func() error) {
	h.seq++
	e := historyEvent{at: at, seq: h.seq, do: do}
	i, _ := slices.BinarySearchFunc(h.queue, e, func(a, b historyEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	h.queue = slices.Insert(h.queue, i, e)
}

// play runs the events in time order, the clock following them.
func (h *history) play() error {
	for len(h.queue) > 0 {
		e := h.queue[0]
		h.queue = h.queue[1:]
		if e.at.After(h.now) {
			h.now = e.at
		}
		if err := e.do(); err != nil {
			return err
		}
	}
	return nil
}

// historySeason is one busy season of the script.
type historySeason struct {
	kind       string
	start, end string
	tasks      []string
}

// ask is one help request of the script and what will become of it.
type ask struct {
	household *store.Household
	field     *store.Field
	task      string
	submit    time.Time
	earliest  string
	latest    string
	onBehalf  bool

	after   *ask   // on the same field, this one's work comes after after's
	decline string // the first job is declined for this reason
	late    bool   // re-assigned past its window
	cancel  string // the household cancels it for this reason
	stars   int    // 0: no feedback, closed after three days
	comment string

	req     *store.HelpRequest
	jobs    []*store.Job // not declined
	planned int64        // half days of work left to plan
	left    int          // jobs not yet done
}

// lastDate is the date of the request's last job so far, "" for none.
func (a *ask) lastDate() string {
	last := ""
	for _, j := range a.jobs {
		last = max(last, j.Date)
	}
	return last
}

func (a *ask) actor() string {
	if a.onBehalf {
		return historyCadre
	}
	return "household:" + a.household.HeadName
}

// season creates a season (planned), opens it before its first request,
// plays its requests and closes it once every one of them has ended.
func (h *history) season(s historySeason, asks []*ask) error {
	h.now = h.at(addDays(s.start, -14), 9, 0)
	se := &store.Season{VillageID: h.v.ID, Kind: s.kind, StartDate: s.start, EndDate: s.end, Tasks: s.tasks}
	if err := h.st.CreateSeason(h.ctx, se); err != nil {
		return fmt.Errorf("%s season: %w", s.kind, err)
	}
	h.now = h.at(addDays(s.start, -10), 9, 30)
	if _, err := h.st.UpdateSeason(h.ctx, h.v.ID, se.ID, se.Version, func(se *store.Season) error {
		se.State = store.SeasonOpen
		return nil
	}); err != nil {
		return fmt.Errorf("open %s season: %w", s.kind, err)
	}
	for _, a := range asks {
		h.schedule(a.submit, func() error { return h.submit(a) })
	}
	if err := h.play(); err != nil {
		return err
	}
	if end := h.at(addDays(s.end, 6), 10, 0); end.After(h.now) {
		h.now = end
	}
	if _, err := h.st.UpdateSeason(h.ctx, h.v.ID, se.ID, 0, func(se *store.Season) error {
		se.State = store.SeasonClosed
		return nil
	}); err != nil {
		return fmt.Errorf("close %s season: %w", s.kind, err)
	}
	return nil
}

func (h *history) submit(a *ask) error {
	r, err := h.st.CreateRequest(h.ctx, h.v.ID, a.actor(), store.NewRequest{
		HouseholdID: a.household.ID, FieldID: a.field.ID, Task: a.task,
		Earliest: a.earliest, Latest: a.latest, OnBehalf: a.onBehalf,
	})
	if err != nil {
		return fmt.Errorf("%s asks for %s on %s: %w", a.household.HeadName, a.task, a.field.Name, err)
	}
	a.req, a.planned = r, r.HalfDays
	h.schedule(h.awake(h.now.Add(h.minutes(20, 100))), func() error {
		return h.assign(a, h.teamFor(a.field, 0), a.earliest)
	})
	return nil
}

// teamFor picks a team other than skip: of the teams with members in the
// field's village group (neighbours first), the one with the fewest jobs
// so far (even load), the one with more members there on a tie.
func (h *history) teamFor(f *store.Field, skip int64) *store.Team {
	var best *store.Team
	var bestNear bool
	var bestN int
	for _, t := range h.teams {
		if t.ID == skip || len(t.Members) == 0 {
			continue
		}
		n := 0
		for _, m := range t.Members {
			if m.Household != nil && m.Household.Group == f.Group {
				n++
			}
		}
		near := n > 0
		switch {
		case best == nil, near && !bestNear:
		case near != bestNear:
			continue
		case h.jobs[t.ID] != h.jobs[best.ID]:
			if h.jobs[t.ID] > h.jobs[best.ID] {
				continue
			}
		case n <= bestN:
			continue
		}
		best, bestNear, bestN = t, near, n
	}
	return best
}

// maxJobWorkers caps the people one job sends; more work takes another day.
const maxJobWorkers = 6

// assign plans the rest of a request's work for a team from the first
// date on or after from that has free members, the members who owe the
// most help first, and schedules each job's confirmation (or decline).
func (h *history) assign(a *ask, t *store.Team, from string) error {
	if a.req.State == store.RequestCancelled {
		return nil
	}
	if a.after != nil {
		// Harvest the early rice before transplanting the late: wait for
		// the harvest's plan, then come the day after it.
		if a.after.req == nil || a.after.planned > 0 && a.after.req.State != store.RequestCancelled {
			h.schedule(h.now.Add(30*time.Minute), func() error { return h.assign(a, t, from) })
			return nil
		}
		if last := a.after.lastDate(); last >= from {
			from = addDays(last, 1)
		}
	}
	if today := addDays(h.date(h.now), 1); from < today {
		from = today
	}
	for date := from; a.planned > 0; date = addDays(date, 1) {
		if date > addDays(from, 60) {
			return fmt.Errorf("%s finds no one free for %s's %s", t.Name, a.household.HeadName, a.task)
		}
		workers := h.pick(t, date, (a.planned+1)/2)
		if len(workers) == 0 {
			continue
		}
		j, err := h.st.CreateJob(h.ctx, h.v.ID, historyCadre, store.NewJob{TeamID: t.ID, RequestID: a.req.ID, Date: date, Workers: workers})
		if err != nil {
			return fmt.Errorf("job for %s on %s: %w", a.household.HeadName, date, err)
		}
		h.jobs[t.ID]++
		if a.req, err = h.st.GetRequest(h.ctx, h.v.ID, a.req.ID); err != nil {
			return err
		}
		var days int64
		for _, w := range workers {
			h.busy[date][w.HouseholdID] = true
			days += 2 * int64(w.Workers)
		}
		a.planned = max(a.planned-days, 0)
		a.jobs = append(a.jobs, j)
		a.left++
		leader := "leader:" + t.Name
		if a.decline != "" {
			reason := a.decline
			a.decline = ""
			h.schedule(h.awake(h.now.Add(h.minutes(30, 120))), func() error { return h.declined(a, j, leader, reason) })
			continue
		}
		h.schedule(h.awake(h.now.Add(h.minutes(15, 130))), func() error { return h.confirm(a, j, leader) })
	}
	if a.cancel != "" {
		reason := a.cancel
		h.schedule(h.now.Add(h.minutes(10, 14)), func() error {
			_, err := h.st.CancelRequest(h.ctx, h.v.ID, a.req.ID, a.actor(), reason)
			if err == nil {
				a.req.State = store.RequestCancelled
				for _, j := range a.jobs {
					for _, w := range j.Workers {
						delete(h.busy[j.Date], w.HouseholdID)
					}
				}
			}
			return err
		})
	}
	return nil
}

// pick chooses the team's members free on date, the ones who owe the most
// help first, until they make up need workers (or maxJobWorkers).
func (h *history) pick(t *store.Team, date string, need int64) []store.PlannedWorker {
	if h.busy[date] == nil {
		h.busy[date] = map[int64]bool{}
	}
	free := make([]*store.TeamMember, 0, len(t.Members))
	for _, m := range t.Members {
		if !h.busy[date][m.HouseholdID] && !slices.Contains(m.UnavailableDays, date) {
			free = append(free, m)
		}
	}
	slices.SortStableFunc(free, func(x, y *store.TeamMember) int {
		return cmp.Or(cmp.Compare(h.balance[x.HouseholdID], h.balance[y.HouseholdID]), cmp.Compare(x.HouseholdID, y.HouseholdID))
	})
	need = min(need, maxJobWorkers)
	var out []store.PlannedWorker
	for _, m := range free {
		if need <= 0 {
			break
		}
		n := min(int64(m.WorkersPerDay), need)
		out = append(out, store.PlannedWorker{HouseholdID: m.HouseholdID, Workers: int(n)})
		need -= n
	}
	return out
}

func (h *history) confirm(a *ask, j *store.Job, leader string) error {
	if a.req.State == store.RequestCancelled {
		return nil
	}
	if _, err := h.st.ConfirmJob(h.ctx, h.v.ID, j.ID, leader); err != nil {
		return fmt.Errorf("confirm job %d: %w", j.ID, err)
	}
	h.schedule(h.at(j.Date, 17, 30).Add(h.minutes(0, 120)), func() error { return h.complete(a, j, leader) })
	return nil
}

// declined is a leader turning a job down; the cadre gives the work to
// another team some time later, past the window when the script says so.
func (h *history) declined(a *ask, j *store.Job, leader, reason string) error {
	if _, err := h.st.DeclineJob(h.ctx, h.v.ID, j.ID, leader, reason); err != nil {
		return fmt.Errorf("decline job %d: %w", j.ID, err)
	}
	for _, w := range j.Workers {
		delete(h.busy[j.Date], w.HouseholdID)
	}
	a.left--
	a.jobs = slices.DeleteFunc(a.jobs, func(o *store.Job) bool { return o.ID == j.ID })
	for _, w := range j.Workers {
		a.planned += 2 * int64(w.Workers)
	}
	a.planned = min(a.planned, a.req.HalfDays)
	from := j.Date
	if a.late {
		from = addDays(a.latest, 1) // the rain kept everyone out of the fields
	}
	h.schedule(h.awake(h.now.Add(h.minutes(40, 100))), func() error {
		return h.assign(a, h.teamFor(a.field, j.TeamID), from)
	})
	return nil
}

// complete records a job's attendance: each planned household its people's
// full days, until the request's estimate is reached; sometimes someone
// leaves at noon, sometimes a relative outside the team comes too.
func (h *history) complete(a *ask, j *store.Job, leader string) error {
	done := int64(0)
	for _, o := range a.jobs {
		if o.State == store.JobDone {
			for _, at := range o.Attendance {
				done += at.HalfDays
			}
		}
	}
	left := max(a.req.HalfDays-done, 1)
	var att []store.JobAttendance
	for _, w := range j.Workers {
		half := min(2*int64(w.Workers), left)
		if half <= 0 {
			break
		}
		att = append(att, store.JobAttendance{HouseholdID: w.HouseholdID, HalfDays: half})
		left -= half
	}
	if len(att) > 1 && h.rng.IntN(6) == 0 {
		att[0].HalfDays = max(att[0].HalfDays-1, 1) // left at noon for his own field
	}
	if h.rng.IntN(8) == 0 {
		if helper := h.helperFor(a, j.Date); helper != nil {
			att = append(att, store.JobAttendance{HouseholdID: helper.ID, HalfDays: 1 + int64(h.rng.IntN(2)), Helper: true,
				Reason: "亲戚顺路来帮忙"})
			h.busy[j.Date][helper.ID] = true
		}
	}
	meal := a.household.HeadName == StoryHead || h.rng.IntN(3) == 0
	got, _, err := h.st.CompleteJob(h.ctx, h.v.ID, j.ID, leader, store.Completion{Attendance: att, Meal: meal})
	if err != nil {
		return fmt.Errorf("complete job %d: %w", j.ID, err)
	}
	*j = *got
	for i, o := range a.jobs {
		if o.ID == j.ID {
			a.jobs[i] = j
		}
	}
	var total int64
	for _, at := range att {
		h.balance[at.HouseholdID] += at.HalfDays
		total += at.HalfDays
	}
	if !a.household.FundCovers() {
		h.balance[a.household.ID] -= total
	}
	if a.left--; a.left > 0 || a.planned > 0 {
		return nil
	}
	if a.stars > 0 {
		h.schedule(h.awake(h.now.Add(h.minutes(12*60, 40*60))), func() error {
			_, err := h.st.SubmitFeedback(h.ctx, h.v.ID, a.req.ID, a.actor(), a.stars, a.comment)
			return err
		})
		return nil
	}
	// The daily run at six in the morning closes what waited three days.
	due := h.now.Add(store.FeedbackWindow)
	run := h.at(h.date(due), 6, 0)
	if run.Before(due) {
		run = run.AddDate(0, 0, 1)
	}
	if !h.cron[run] {
		h.cron[run] = true
		h.schedule(run, func() error {
			_, err := h.st.CloseUnrated(h.ctx, h.v.ID, historyCron)
			return err
		})
	}
	return nil
}

// helperFor finds a neighbour outside every team, in the field's group and
// free that day, who comes along as a named helper.
func (h *history) helperFor(a *ask, date string) *store.Household {
	var free []*store.Household
	for _, o := range h.households {
		if o.ID != a.household.ID && o.Group == a.field.Group && !h.member[o.ID] && o.Laborers >= 1 &&
			!o.Vulnerable() && !h.busy[date][o.ID] {
			free = append(free, o)
		}
	}
	if len(free) == 0 {
		return nil
	}
	return free[h.rng.IntN(len(free))]
}

// candidates are the households short of labor or vulnerable and in no
// team, with fields that fit: 章仁标 first, then the exempt ones, then
// the rest in a random order.
func (h *history) candidates(fits func(*store.Field) bool) []*store.Household {
	var story, exempt, rest []*store.Household
	for _, o := range h.households {
		if h.member[o.ID] || !(o.Laborers <= 1 || o.Vulnerable()) || !slices.ContainsFunc(h.fields[o.ID], fits) {
			continue
		}
		switch {
		case o.HeadName == StoryHead:
			story = append(story, o)
		case o.Exempt:
			exempt = append(exempt, o)
		default:
			rest = append(rest, o)
		}
	}
	h.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return slices.Concat(story, exempt, rest)
}

// onBehalf: the cadre enters the request for households without a phone,
// five-guarantee ones and some elderly.
func (h *history) onBehalf(o *store.Household) bool {
	return o.Phone == "" || o.FiveGuarantee || o.Elderly && h.rng.IntN(2) == 0
}

var (
	comments5 = []string{
		"队员们干活又快又细，谢谢大家！",
		"一碗农家饭就是一天的酬劳，邻里情暖心。",
		"天刚亮就来了，半天就割完了。",
		"年纪大了干不动，多亏了互助队。",
		"插得又直又匀，比我自己插得还好。",
		"儿子在外打工，家里的田有人管了，放心。",
	}
	comments4 = []string{
		"活干得好，就是晚来了一天。",
		"挺好的，下次早点通知我们准备饭菜。",
		"谷子收得干净，田角还剩一点我自己收了。",
	}
	comments3 = []string{
		"人手少了点，拖到天黑才干完。",
	}
)

// rate decides a request's feedback: mostly 4 or 5 stars, some none.
func (h *history) rate(a *ask) {
	switch r := h.rng.IntN(20); {
	case a.household.HeadName == StoryHead:
		a.stars, a.comment = 5, "互助队的年轻人帮我插秧收稻，冬凤做了一桌饭菜，大家吃得开心。"
	case r < 3:
		// no feedback: the daily run closes it after three days
	case r < 12:
		a.stars, a.comment = 5, comments5[h.rng.IntN(len(comments5))]
	case r < 18:
		a.stars, a.comment = 4, comments4[h.rng.IntN(len(comments4))]
	default:
		a.stars, a.comment = 3, comments3[h.rng.IntN(len(comments3))]
	}
}

// summer plays the double-rush: early rice harvested, then late rice
// transplanted on the same field before 立秋.
func (h *history) summer() error {
	if h.existing[store.SeasonSummer] {
		return nil
	}
	s := historySeason{kind: store.SeasonSummer, start: "2026-07-07", end: "2026-08-07",
		tasks: []string{store.TaskHarvest, store.TaskPrepare, store.TaskTransplant}}
	early := func(f *store.Field) bool { return f.Crop == store.CropEarlyRice }
	var asks []*ask
	for i, o := range h.candidates(early) {
		if len(asks) >= 18 {
			break
		}
		behalf := h.onBehalf(o)
		for _, f := range h.fields[o.ID] {
			if !early(f) {
				continue
			}
			submit := h.at(addDays("2026-07-04", min(i, 10)), 7, 30).Add(h.minutes(0, 600))
			earliest := max(addDays(h.date(submit), 2+h.rng.IntN(3)), "2026-07-08")
			harvest := &ask{household: o, field: f, task: store.TaskHarvest, submit: submit, onBehalf: behalf,
				earliest: earliest, latest: addDays(earliest, 4+h.rng.IntN(4))}
			transplant := &ask{household: o, field: f, task: store.TaskTransplant, submit: submit.Add(5 * time.Minute), onBehalf: behalf,
				earliest: addDays(harvest.latest, -1), latest: min(addDays(harvest.latest, 6+h.rng.IntN(3)), "2026-08-05"), after: harvest}
			h.rate(harvest)
			h.rate(transplant)
			asks = append(asks, harvest, transplant)
			if o.HeadName != StoryHead {
				break
			}
		}
	}
	if len(asks) > 5 {
		asks[5].decline = "队里几户自家也在双抢，人手不够"
	}
	return h.season(s, asks)
}

// autumn plays the autumn harvest of the late and single-crop rice and
// of the dry fields.
func (h *history) autumn() error {
	if h.existing[store.SeasonAutumn] {
		return nil
	}
	s := historySeason{kind: store.SeasonAutumn, start: "2026-10-08", end: "2026-11-07", tasks: []string{store.TaskHarvest}}
	// Early-rice fields carry the late rice now; "other" is mostly sweet
	// potato and peanut, lifted in the same weeks.
	rice := func(f *store.Field) bool { return f.Crop != store.CropRapeseed }
	var asks []*ask
	for i, o := range h.candidates(rice) {
		if len(asks) >= 27 {
			break
		}
		behalf := h.onBehalf(o)
		n := 0
		for _, f := range h.fields[o.ID] {
			if !rice(f) || n == 2 {
				continue
			}
			n++
			submit := h.at(addDays("2026-10-03", min(i*25/30, 24)), 7, 30).Add(h.minutes(0, 600))
			earliest := max(addDays(h.date(submit), 2+h.rng.IntN(4)), s.start)
			a := &ask{household: o, field: f, task: store.TaskHarvest, submit: submit, onBehalf: behalf,
				earliest: earliest, latest: min(addDays(earliest, 5+h.rng.IntN(5)), s.end)}
			h.rate(a)
			asks = append(asks, a)
		}
	}
	script := []struct {
		i       int
		decline string
		late    bool
		cancel  string
	}{
		{i: 6, decline: "那天有大雨，田里进不去", late: true},
		{i: 14, decline: "队长家里办喜事，改派别的队"},
		{i: 10, cancel: "儿子从浙江回来了，自己收"},
	}
	for _, sc := range script {
		if sc.i < len(asks) {
			a := asks[sc.i]
			a.decline, a.late, a.cancel = sc.decline, sc.late, sc.cancel
			if sc.cancel != "" {
				a.stars = 0
			}
		}
	}
	return h.season(s, asks)
}
