package web

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"huangong/api"
	"huangong/store"
)

// boardView is the cadre's season board.
type boardView struct {
	Seasons []*store.Season
	Season  *store.Season
	Today   string
	Teams   []teamView
	Days    []dayView
	Waiting []waitView // not placed, or late
	Counts  map[string]int
	Chart   chartView
	Groups  []int        // village groups, for a rain-out of one
	RainDay string       // the rain-out form's day: today, or tomorrow after 18:00
	Rain    *rainConfirm // a rain-out to confirm, with what it would cancel
	More    int          // days of a season too long to show, left off
	Preview *previewView
	Flash   string
	Error   string
	Version int64  // the newest outbox event: the live refresh asks what came after
	Every   int64  // how often it asks, in milliseconds
	Live    string // the board's own address, which the live refresh reads again
	// Disputes are done jobs the helped household disputed, waiting for a
	// cadre to confirm or reverse them.
	Disputes []disputeView
	// FailedMessages counts the notifications the relay gave up on.
	FailedMessages int
}

// rainConfirm is a rain-out asked for, not yet made: block-days' dry run
// says how many jobs and households it would touch.
type rainConfirm struct {
	Date       string
	Group      int
	Where      string // the whole village, or the group, in words
	Reason     string
	Jobs       int
	Households int
}

// maxBoardDays bounds the days a board shows, so no season, however its
// dates were typed, makes a page without end; it is the longest a season
// may now run.
const maxBoardDays = store.MaxSeasonDays

// rainDay is the day a rain-out is most likely for: today in the village,
// or tomorrow once the day's work is over (18:00), kept inside the season.
func rainDay(now time.Time, se *store.Season) string {
	if now.Hour() >= 18 {
		now = now.AddDate(0, 0, 1)
	}
	return min(max(now.Format(time.DateOnly), se.StartDate), se.EndDate)
}

type teamView struct {
	ID         int64
	Name       string
	Leader     string
	Members    int
	Capacity   int // people a day, all members free
	Jobs       int
	PeopleDays int // people-days planned or done in the season
	LoadPct    int // PeopleDays against Capacity over the season's days
}

type dayView struct {
	Date    string
	Past    bool
	Today   bool
	Rain    string // reason, when the whole village is rained out
	RainFor []int  // village groups rained out
	Cells   [][]chipView
}

type chipView struct {
	Job       int64
	Household string
	Field     string
	Task      string
	People    int
	State     string
	Late      bool
	CrewCap   int // the request's crew cap, shown while it is open; 0: not shown
}

type waitView struct {
	ID          int64
	HouseholdID int64
	Household   string
	Field       string
	Task        string
	Earliest    string
	Latest      string
	HalfDays    int64
	Priority    int
	State       string
	Unplaced    bool
	Overdue     bool
	Late        bool
	Reason      string // why the plan could not place it
	CrewCap     int    // most people on the field a day
	CrewCapSet  bool   // a cadre set it; else the default from the area
}

// previewView is a dry run of the plan, shown before it is saved.
type previewView struct {
	Plan     string // its fingerprint: apply saves this plan or nothing
	Jobs     []previewJob
	Unplaced []waitView
	Late     int
	Ratio    string // in-window, against the bound: "98.6%"
	Workdays string
	Fixed    int
}

type previewJob struct {
	chipView
	Date string
	Team string
}

func (p *Pages) board(c *call) error {
	v, err := p.loadBoard(c)
	if err != nil {
		return err
	}
	switch c.r.URL.Query().Get("done") {
	case "applied":
		v.Flash = text(c.lang, "flash.applied", atoi(c.r.URL.Query().Get("jobs")))
		if c.r.URL.Query().Get("changed") != "" {
			v.Flash += " " + text(c.lang, "flash.changed")
		}
	case "rain":
		v.Flash = text(c.lang, "flash.rain", c.r.URL.Query().Get("date"), atoi(c.r.URL.Query().Get("cancelled")))
	case "resolved":
		v.Flash = text(c.lang, "flash.resolved", atoi(c.r.URL.Query().Get("job")))
	case "unblock":
		v.Flash = text(c.lang, "flash.unblock", c.r.URL.Query().Get("date"))
	}
	p.render(c, http.StatusOK, "board", "board.title", v)
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// loadBoard reads a season's board: ?season=, or the season at hand.
func (p *Pages) loadBoard(c *call) (*boardView, error) {
	ctx := c.ctx()
	v := &boardView{Today: p.today(c), Counts: map[string]int{}, Every: LivePoll.Milliseconds()}
	var err error
	if v.Seasons, err = p.store.ListSeasons(ctx, c.v.ID, 0); err != nil {
		return nil, err
	}
	v.Season = pickSeason(v.Seasons, c.r.FormValue("season"), v.Today, false)
	v.Live = "/board"
	if v.Season != nil {
		v.Live += "?season=" + itoa(v.Season.ID)
	}
	if v.Version, err = p.store.LastEvent(ctx, c.v.ID); err != nil {
		return nil, err
	}
	households, err := all(func(pg store.Page) ([]*store.Household, int64, error) {
		return p.store.ListHouseholds(ctx, c.v.ID, store.HouseholdFilter{}, pg)
	})
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	groups := map[int]bool{}
	for _, h := range households {
		names[h.ID] = h.HeadName
		groups[h.Group] = true
	}
	for g := range groups {
		v.Groups = append(v.Groups, g)
	}
	slices.Sort(v.Groups)
	rows, _, err := p.store.Balances(ctx, c.v.ID, store.BalanceQuery{Sort: "balance"})
	if err != nil {
		return nil, err
	}
	v.Chart = balanceChart(rows, c.v.SoftLimit)
	if v.Season == nil {
		return v, nil
	}
	se := v.Season
	v.RainDay = rainDay(p.store.Now().In(c.v.Location()), se)
	teams, err := all(func(pg store.Page) ([]*store.Team, int64, error) { return p.store.ListTeams(ctx, c.v.ID, pg) })
	if err != nil {
		return nil, err
	}
	col := map[int64]int{}
	for i, t := range teams {
		tv := teamView{ID: t.ID, Name: t.Name, Leader: t.LeaderName, Members: len(t.Members)}
		for _, m := range t.Members {
			tv.Capacity += m.WorkersPerDay
		}
		v.Teams = append(v.Teams, tv)
		col[t.ID] = i
	}
	fields, areas, err := p.fieldNames(c)
	if err != nil {
		return nil, err
	}
	reqs, err := all(func(pg store.Page) ([]*store.HelpRequest, int64, error) {
		return p.store.ListRequests(ctx, c.v.ID, store.RequestFilter{SeasonID: se.ID}, pg)
	})
	if err != nil {
		return nil, err
	}
	byID := map[int64]*store.HelpRequest{}
	for _, r := range reqs {
		byID[r.ID] = r
		v.Counts[r.State]++
		v.Counts["all"]++
	}
	jobs, err := all(func(pg store.Page) ([]*store.Job, int64, error) {
		return p.store.ListJobs(ctx, c.v.ID, store.JobFilter{From: se.StartDate, To: se.EndDate}, pg)
	})
	if err != nil {
		return nil, err
	}
	blocked, err := p.store.ListBlockedDays(ctx, c.v.ID, se.StartDate, se.EndDate)
	if err != nil {
		return nil, err
	}
	dayIndex := map[string]int{}
	for d := se.StartDate; d <= se.EndDate; d = nextDay(d) {
		if len(v.Days) == maxBoardDays {
			v.More = daysBetween(d, se.EndDate) + 1
			break
		}
		dayIndex[d] = len(v.Days)
		v.Days = append(v.Days, dayView{Date: d, Past: d < v.Today, Today: d == v.Today, Cells: make([][]chipView, len(teams))})
	}
	for _, b := range blocked {
		if i, ok := dayIndex[b.Date]; ok {
			if b.Group == 0 {
				v.Days[i].Rain = b.Reason
			} else {
				v.Days[i].RainFor = append(v.Days[i].RainFor, b.Group)
			}
		}
	}
	lateJob := map[int64]bool{}
	for _, j := range jobs {
		r, ok := byID[j.RequestID]
		i, inSeason := dayIndex[j.Date]
		k, known := col[j.TeamID]
		if !ok || !inSeason || !known {
			continue
		}
		chip := chipView{Job: j.ID, Household: names[r.HouseholdID], Field: fields[r.FieldID], Task: r.Task,
			People: people(j), State: j.State, Late: j.Active() && j.Date > r.Latest}
		if r.Open() && j.Active() {
			chip.CrewCap = api.CrewCap(r, areas[r.FieldID])
		}
		v.Days[i].Cells[k] = append(v.Days[i].Cells[k], chip)
		if j.Active() {
			v.Teams[k].Jobs++
			v.Teams[k].PeopleDays += chip.People
			if chip.Late && r.Open() {
				lateJob[r.ID] = true
			}
		}
	}
	for i := range v.Teams {
		if room := v.Teams[i].Capacity * len(v.Days); room > 0 {
			v.Teams[i].LoadPct = min(100, v.Teams[i].PeopleDays*100/room)
		}
	}
	for _, r := range reqs {
		unplaced := r.State == store.RequestSubmitted
		overdue := r.Open() && r.Latest < v.Today
		if !unplaced && !overdue && !lateJob[r.ID] {
			continue
		}
		v.Waiting = append(v.Waiting, waitView{ID: r.ID, HouseholdID: r.HouseholdID, Household: names[r.HouseholdID],
			Field: fields[r.FieldID], Task: r.Task, Earliest: r.Earliest, Latest: r.Latest, HalfDays: r.HalfDays,
			Priority: r.Priority, State: r.State, Unplaced: unplaced, Overdue: overdue, Late: lateJob[r.ID],
			Reason: r.UnplacedReason, CrewCap: api.CrewCap(r, areas[r.FieldID]), CrewCapSet: r.CrewCap != nil})
	}
	slices.SortStableFunc(v.Waiting, func(a, b waitView) int {
		return cmp.Or(-cmp.Compare(a.Priority, b.Priority), strings.Compare(a.Latest, b.Latest))
	})
	if v.Disputes, err = p.disputes(c, names); err != nil {
		return nil, err
	}
	failed, _, err := p.store.ListDeliveries(c.ctx(), c.v.ID, store.DeliveryFilter{State: store.DeliveryFailed}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	v.FailedMessages = len(failed)
	return v, nil
}

// pickSeason is the season a page is about: the one asked for by ID
// (?season=), else the one at hand — the first not closed that has not
// ended and, with begun, has started — else the latest (with begun, the
// latest that has started, if one has). Nil when the village has none.
// The board plans the season at hand, before it starts too; the notice
// shows the figures of one that has begun; the household page asks for
// help in the season at hand only (see atHand).
func pickSeason(seasons []*store.Season, asked, today string, begun bool) *store.Season {
	if id, err := strconv.ParseInt(asked, 10, 64); err == nil {
		if i := slices.IndexFunc(seasons, func(se *store.Season) bool { return se.ID == id }); i >= 0 {
			return seasons[i]
		}
	}
	started := func(se *store.Season) bool { return !begun || se.StartDate <= today }
	if i := slices.IndexFunc(seasons, func(se *store.Season) bool { return atHand(se, today) && started(se) }); i >= 0 {
		return seasons[i]
	}
	for _, se := range slices.Backward(seasons) {
		if started(se) {
			return se
		}
	}
	if len(seasons) > 0 {
		return seasons[len(seasons)-1]
	}
	return nil
}

// atHand reports whether a season is still to be worked in: not closed
// and not ended.
func atHand(se *store.Season, today string) bool {
	return se.State != store.SeasonClosed && se.EndDate >= today
}

func nextDay(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return "9999-12-31"
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// daysBetween is how many days from a to b (dates), 0 if either is none.
func daysBetween(a, b string) int {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(tb.Sub(ta).Hours() / 24)
}

// fieldNames are the village's field names and areas (hundredths of a
// mu, for the default crew cap) by field ID.
func (p *Pages) fieldNames(c *call) (names map[int64]string, areas map[int64]int64, _ error) {
	fields, err := all(func(pg store.Page) ([]*store.Field, int64, error) {
		return p.store.ListFields(c.ctx(), c.v.ID, store.FieldFilter{}, pg)
	})
	if err != nil {
		return nil, nil, err
	}
	names, areas = make(map[int64]string, len(fields)), make(map[int64]int64, len(fields))
	for _, f := range fields {
		names[f.ID], areas[f.ID] = f.Name, f.AreaCentimu
	}
	return names, areas, nil
}

// boardLive tells the board's script whether anything happened in the
// village after the event it has seen: a request, a plan, a confirmation.
func (p *Pages) boardLive(c *call) error {
	after, _ := strconv.ParseInt(c.r.URL.Query().Get("after"), 10, 64)
	rows, err := p.store.Outbox(c.ctx(), c.v.ID, store.OutboxFilter{After: after, Limit: 1})
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(c.w).Encode(map[string]any{"changed": len(rows) > 0, "every": LivePoll.Milliseconds()})
}

// boardPlan runs the API's run-plan for the season: a dry run shows the
// proposal on the board, with a button to save it; saving replaces the
// unconfirmed jobs as the API does. Saving plans again, so it first makes
// sure the plan is still the one the cadre looked at: a request or a
// confirmation since the dry run changes it, and then nothing is saved and
// the new proposal is shown instead.
func (p *Pages) boardPlan(c *call) error {
	seasonID, _ := strconv.ParseInt(c.r.PostFormValue("season"), 10, 64)
	apply := c.r.PostFormValue("mode") == "apply"
	var plan api.PlanBody
	err := p.callAPI(c, http.MethodPost, "/v1/plan", map[string]any{"seasonId": seasonID, "dryRun": true}, &plan)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.boardError(c, ae)
	}
	if err != nil {
		return err
	}
	seen := c.r.PostFormValue("plan")
	status := http.StatusOK
	if apply && planFingerprint(&plan) == seen {
		var saved api.PlanBody
		err := p.callAPI(c, http.MethodPost, "/v1/plan", map[string]any{"seasonId": seasonID, "dryRun": false}, &saved)
		if errors.As(err, &ae) {
			return p.boardError(c, ae)
		}
		if err != nil {
			return err
		}
		q := url.Values{"season": {itoa(seasonID)}, "done": {"applied"}, "jobs": {strconv.Itoa(len(saved.JobIDs))}}
		if planFingerprint(&saved) != seen {
			// The records changed in the moment between the check and
			// the save: what was saved is said, not hidden.
			q.Set("changed", "1")
		}
		redirectBoard(c, q)
		return nil
	}
	v, err := p.loadBoard(c)
	if err != nil {
		return err
	}
	if apply {
		status, v.Error = http.StatusConflict, text(c.lang, "plan.changed")
	}
	if v.Preview, err = p.preview(c, &plan); err != nil {
		return err
	}
	p.render(c, status, "board", "board.title", v)
	return nil
}

// planFingerprint sums up what a plan would save — its new jobs with
// their days, teams and workers, the requests it leaves unplaced and the
// jobs it keeps — so that a saved plan can be matched to its preview.
func planFingerprint(plan *api.PlanBody) string {
	jobs := slices.Clone(plan.Jobs)
	for i := range jobs {
		jobs[i].ID = 0 // a saved job's, absent from a preview
	}
	b, err := json.Marshal(struct {
		Jobs     []api.ProposedJob
		Unplaced []api.UnplacedRequest
		Fixed    int
	}{jobs, plan.Unplaced, plan.FixedJobs})
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

func (p *Pages) boardError(c *call, ae *apiError) error {
	v, err := p.loadBoard(c)
	if err != nil {
		return err
	}
	v.Error = ae.Detail
	p.render(c, ae.Status, "board", "board.title", v)
	return nil
}

func (p *Pages) preview(c *call, plan *api.PlanBody) (*previewView, error) {
	teams, err := p.teamNames(c)
	if err != nil {
		return nil, err
	}
	fields, _, err := p.fieldNames(c)
	if err != nil {
		return nil, err
	}
	pv := &previewView{Plan: planFingerprint(plan), Late: len(plan.Late), Fixed: plan.FixedJobs,
		Ratio:    strconv.FormatFloat(plan.InWindowRatio*100, 'f', 1, 64) + "%",
		Workdays: strconv.FormatFloat(plan.Score.PlannedWorkdays, 'f', -1, 64)}
	heads := map[int64]string{}
	head := func(id int64) string {
		if n, ok := heads[id]; ok {
			return n
		}
		h, err := p.store.GetHousehold(c.ctx(), c.v.ID, id)
		if err != nil {
			return "#" + itoa(id)
		}
		heads[id] = h.HeadName
		return h.HeadName
	}
	for _, j := range plan.Jobs {
		n := 0
		for _, w := range j.Workers {
			n += w.Workers
		}
		pv.Jobs = append(pv.Jobs, previewJob{Date: j.Date, Team: teams[j.TeamID], chipView: chipView{
			Household: head(j.HouseholdID), Field: fields[j.FieldID], Task: j.Task, People: n, State: "proposed", Late: j.Late}})
	}
	for _, u := range plan.Unplaced {
		r, err := p.store.GetRequest(c.ctx(), c.v.ID, u.RequestID)
		if err != nil {
			return nil, err
		}
		pv.Unplaced = append(pv.Unplaced, waitView{ID: r.ID, HouseholdID: r.HouseholdID, Household: head(r.HouseholdID),
			Field: fields[r.FieldID], Task: r.Task, Earliest: r.Earliest, Latest: r.Latest, Reason: u.Reason})
	}
	return pv, nil
}

// boardRain marks a rained-out day through the API's block-days: the jobs
// on it are cancelled, the teams and households told, and the seasons it
// falls in planned again.
func (p *Pages) boardRain(c *call) error {
	seasonID := c.r.PostFormValue("season")
	date := c.r.PostFormValue("date")
	// Empty is the whole village; a group that is no number must not
	// become 0, the whole village, by accident.
	group := 0
	if g := strings.TrimSpace(c.r.PostFormValue("group")); g != "" {
		n, err := strconv.Atoi(g)
		if err != nil || n < 0 {
			return p.boardError(c, formError("group", text(c.lang, "rain.badgroup", g)))
		}
		group = n
	}
	reason := strings.TrimSpace(c.r.PostFormValue("reason"))
	// The first post only asks block-days what it would cancel; the
	// board shows it and the cadre confirms with a second post.
	confirmed := c.r.PostFormValue("confirm") == "1"
	var out api.BlockBody
	err := p.callAPI(c, http.MethodPost, "/v1/blocked-days",
		map[string]any{"dates": []string{date}, "group": group, "reason": reason, "dryRun": !confirmed}, &out)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.boardError(c, ae)
	}
	if err != nil {
		return err
	}
	if !confirmed {
		v, err := p.loadBoard(c)
		if err != nil {
			return err
		}
		v.Rain = &rainConfirm{Date: date, Group: group, Where: text(c.lang, "rain.all"), Reason: reason,
			Jobs: len(out.Cancelled), Households: out.Households}
		if group != 0 {
			v.Rain.Where = text(c.lang, "household.group", group)
		}
		p.render(c, http.StatusOK, "board", "board.title", v)
		return nil
	}
	redirectBoard(c, url.Values{"season": {seasonID}, "done": {"rain"}, "date": {date}, "cancelled": {strconv.Itoa(len(out.Cancelled))}})
	return nil
}

// boardUnblock takes a rained-out day back through the API's unblock-day:
// the seasons it falls in are planned again.
func (p *Pages) boardUnblock(c *call) error {
	seasonID := c.r.PostFormValue("season")
	date := c.r.PostFormValue("date")
	group := strings.TrimSpace(c.r.PostFormValue("group"))
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return p.boardError(c, formError("date", text(c.lang, "unblock.baddate", date)))
	}
	path := "/v1/blocked-days/" + date
	if group != "" && group != "0" {
		if n, err := strconv.Atoi(group); err != nil || n < 0 {
			return p.boardError(c, formError("group", text(c.lang, "rain.badgroup", group)))
		}
		path += "?group=" + url.QueryEscape(group)
	}
	var out api.UnblockBody
	err := p.callAPI(c, http.MethodDelete, path, nil, &out)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.boardError(c, ae)
	}
	if err != nil {
		return err
	}
	redirectBoard(c, url.Values{"season": {seasonID}, "done": {"unblock"}, "date": {date}})
	return nil
}

// redirectBoard answers a board's post with the board, saying what it did.
func redirectBoard(c *call, q url.Values) {
	http.Redirect(c.w, c.r, "/board?"+q.Encode(), http.StatusSeeOther)
}
