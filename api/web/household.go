package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"huangong/store"
)

// householdView is the household's phone page.
type householdView struct {
	H        *store.Household
	Flags    []string // catalogue keys of the household's flags
	Fields   []fieldView
	Season   *seasonView // the season help can be asked for now; nil when none is open
	Form     askForm
	Error    string // why the last ask was refused
	Flash    string // catalogue key of what the last post did
	Given    int64  // half days of help given, ever
	Received int64  // half days of help received, ever
	Balance  int64
	Below    bool // below the village's soft limit
	Assisted bool // 帮扶: the village fund pays for its help; never worded as debt
	Upcoming []jobView
	Requests []requestView
	Postings []postingView // done jobs' postings against it, newest first
	Messages []messageView // the newest text messages sent to it, newest first
	Cadre    bool          // a cadre looks on the household's behalf
	AllAsked bool          // every field and task of the season has an open request
}

// messageView is a text message to the household and how far it got.
type messageView struct {
	Text  string
	When  string // queued, the village's time
	State string // a store delivery state
	Next  string // a pending message's next try, the village's time
	Error string // why it failed
}

// recentMessages is how many of its messages a household's page shows.
const recentMessages = 5

type fieldView struct {
	ID   int64
	Name string
	Area string // mu
	Crop string
}

type seasonView struct {
	ID               int64
	Name             string
	Start, End, Min  string // Min: the first day one may still ask for
	Tasks            []string
	Open, BeforeOpen bool
}

// askForm is what the household typed, kept when the ask is refused.
type askForm struct {
	FieldID          int64
	Task             string
	Earliest, Latest string
	Note             string
}

type jobView struct {
	ID     int64
	Date   string
	Team   string
	People int
	State  string
	Field  string
	Task   string
	Late   bool
}

type requestView struct {
	ID               int64
	Field, Task      string
	Earliest, Latest string
	State            string
	HalfDays         int64
	Overdue          bool
	Jobs             []jobView // the jobs that stand: planned, confirmed or done
	Changes          []jobView // cancelled or declined ones, folded away
	Unplaced         string    // why the last plan could not place it
	Note             string    // what the household typed when it asked
	CanCancel        bool      // open, and the page's viewer may cancel it
	CanRate          bool
	Stars            int
}

// household shows a household's page: to the household itself, or to a
// cadre of its village. Another household's page does not exist for a
// household's cookie (404, audited as a denial), as in the API.
func (p *Pages) household(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	if err != nil || (c.who.Role == store.RoleHousehold && c.who.HouseholdID != id) {
		return p.deny(c)
	}
	form := askForm{}
	return p.showHousehold(c, id, http.StatusOK, form, "")
}

func (p *Pages) showHousehold(c *call, id int64, status int, form askForm, formErr string) error {
	ctx := c.ctx()
	h, err := p.store.GetHousehold(ctx, c.v.ID, id)
	if store.ErrorCode(err) == store.ENOTFOUND {
		return p.deny(c)
	}
	if err != nil {
		return err
	}
	today := p.today(c)
	v := &householdView{H: h, Form: form, Error: formErr, Cadre: c.who.Role == store.RoleCadre}
	v.Flags = householdFlags(h)
	v.Assisted = h.FundCovers()
	if k := c.r.URL.Query().Get("done"); k == "asked" || k == "rated" || k == "disputed" || k == "cancelled" {
		v.Flash = "flash." + k
	}
	fields, err := all(func(pg store.Page) ([]*store.Field, int64, error) {
		return p.store.ListFields(ctx, c.v.ID, store.FieldFilter{HouseholdID: id}, pg)
	})
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, f := range fields {
		names[f.ID] = f.Name
		v.Fields = append(v.Fields, fieldView{ID: f.ID, Name: f.Name, Area: mu(f.AreaCentimu), Crop: f.Crop})
	}
	if v.Season, err = p.currentSeason(c, today); err != nil {
		return err
	}
	if v.Season != nil && v.Form.Earliest == "" {
		v.Form.Earliest, v.Form.Latest = v.Season.Min, v.Season.End
	}
	bal, _, err := p.store.Balances(ctx, c.v.ID, store.BalanceQuery{HouseholdID: id})
	if err != nil {
		return err
	}
	if len(bal) == 1 {
		v.Given, v.Received, v.Balance, v.Below = bal[0].Given, bal[0].Received, bal[0].Balance, bal[0].BelowLimit
	}
	teams, err := p.teamNames(c)
	if err != nil {
		return err
	}
	reqs, err := all(func(pg store.Page) ([]*store.HelpRequest, int64, error) {
		return p.store.ListRequests(ctx, c.v.ID, store.RequestFilter{HouseholdID: id}, pg)
	})
	if err != nil {
		return err
	}
	jobs, err := all(func(pg store.Page) ([]*store.Job, int64, error) {
		return p.store.ListJobs(ctx, c.v.ID, store.JobFilter{HouseholdID: id}, pg)
	})
	if err != nil {
		return err
	}
	byRequest := map[int64][]jobView{}
	latest := map[int64]string{}
	for _, r := range reqs {
		latest[r.ID] = r.Latest
	}
	for _, j := range jobs {
		jv := jobView{ID: j.ID, Date: j.Date, Team: teams[j.TeamID], People: people(j), State: j.State, Late: j.Date > latest[j.RequestID]}
		byRequest[j.RequestID] = append(byRequest[j.RequestID], jv)
	}
	if v.Season != nil && form.FieldID == 0 && form.Task == "" {
		v.Form.FieldID, v.Form.Task = freeAsk(v.Fields, v.Season.Tasks, reqs)
		v.AllAsked = v.Form.FieldID == 0 && len(v.Fields) > 0
	}
	// Newest first: what the household asked last is what it looks for.
	for _, r := range slices.Backward(reqs) {
		rv := requestView{ID: r.ID, Field: names[r.FieldID], Task: r.Task, Earliest: r.Earliest, Latest: r.Latest,
			State: r.State, HalfDays: r.HalfDays, Overdue: r.Open() && r.Latest < today,
			CanRate: r.State == store.RequestDone && c.who.Role == store.RoleHousehold, Note: r.Note, CanCancel: r.Open()}
		// The household looks for when help comes: the jobs that stand;
		// those a re-plan, a decline or a cancellation replaced are history.
		for _, j := range byRequest[r.ID] {
			if j.State == store.JobCancelled || j.State == store.JobDeclined {
				rv.Changes = append(rv.Changes, j)
			} else {
				rv.Jobs = append(rv.Jobs, j)
			}
		}
		if r.State == store.RequestSubmitted {
			rv.Unplaced = r.UnplacedReason
		}
		if r.FeedbackStars != nil {
			rv.Stars = *r.FeedbackStars
		}
		v.Requests = append(v.Requests, rv)
		for _, j := range byRequest[r.ID] {
			if j.Date >= today && (j.State == store.JobScheduled || j.State == store.JobConfirmed) {
				j.Field, j.Task = names[r.FieldID], r.Task
				v.Upcoming = append(v.Upcoming, j)
			}
		}
	}
	slices.SortFunc(v.Upcoming, func(a, b jobView) int { return strings.Compare(a.Date, b.Date) })
	v.Postings = p.postings(c, jobs, reqs, names, teams)
	ds, err := p.store.RecentDeliveries(ctx, c.v.ID, store.AudienceHousehold, id, recentMessages)
	if err != nil {
		return err
	}
	loc := c.v.Location()
	for _, d := range ds {
		m := messageView{Text: d.Text, When: d.CreatedAt.In(loc).Format("01-02 15:04"), State: d.State, Error: d.LastError}
		if d.State == store.DeliveryPending {
			m.Next = d.NextAt.In(loc).Format("01-02 15:04")
		}
		v.Messages = append(v.Messages, m)
	}
	p.render(c, status, "household", "household.title", v)
	return nil
}

func householdFlags(h *store.Household) []string {
	var out []string
	for _, f := range []struct {
		on  bool
		key string
	}{{h.Elderly, "flag.elderly"}, {h.LeftBehind, "flag.leftBehind"}, {h.Disabled, "flag.disabled"},
		{h.FiveGuarantee, "flag.fiveGuarantee"}, {h.Exempt, "flag.exempt"},
		{!h.Exempt && h.EffectivePolicy() == store.PolicyAssisted, "flag.assisted"}} {
		if f.on {
			out = append(out, f.key)
		}
	}
	return out
}

// freeAsk is the form's starting field and task: the first pair with no
// open request, since asking again for one that has is a 409; none (0,
// "") when every pair has one, so the household chooses.
func freeAsk(fields []fieldView, tasks []string, reqs []*store.HelpRequest) (int64, string) {
	if len(fields) == 0 || len(tasks) == 0 {
		return 0, ""
	}
	open := map[string]bool{}
	for _, r := range reqs {
		if r.Open() {
			open[itoa(r.FieldID)+":"+r.Task] = true
		}
	}
	for _, t := range tasks {
		for _, f := range fields {
			if !open[itoa(f.ID)+":"+t] {
				return f.ID, t
			}
		}
	}
	return 0, ""
}

// cancelRequest cancels one of the household's open requests, with the
// reason it gave, through the API's cancel-request.
func (p *Pages) cancelRequest(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	rid, rerr := strconv.ParseInt(c.r.PathValue("rid"), 10, 64)
	if err != nil || rerr != nil || (c.who.Role == store.RoleHousehold && c.who.HouseholdID != id) {
		return p.deny(c)
	}
	r, err := p.store.GetRequest(c.ctx(), c.v.ID, rid)
	if err != nil || r.HouseholdID != id {
		return p.deny(c)
	}
	body := map[string]any{"reason": strings.TrimSpace(c.r.PostFormValue("reason"))}
	err = p.callAPI(c, http.MethodPost, "/v1/requests/"+itoa(rid)+"/cancel", body, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.showHousehold(c, id, ae.Status, askForm{}, ae.Detail)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/h/"+itoa(id)+"?done=cancelled#requests", http.StatusSeeOther)
	return nil
}

// currentSeason is the season a household can ask for help in now: the
// one at hand, open or before it opens; nil when none is.
func (p *Pages) currentSeason(c *call, today string) (*seasonView, error) {
	seasons, err := p.store.ListSeasons(c.ctx(), c.v.ID, 0)
	if err != nil {
		return nil, err
	}
	se := pickSeason(seasons, "", today, false)
	if se == nil || !atHand(se, today) {
		return nil, nil
	}
	return &seasonView{ID: se.ID, Name: se.Name, Start: se.StartDate, End: se.EndDate, Min: max(se.StartDate, today),
		Tasks: se.Tasks, Open: se.State == store.SeasonOpen, BeforeOpen: today < se.StartDate}, nil
}

// askForHelp registers the household's request through the API's
// create-request: as the household itself, or as a cadre on its behalf.
func (p *Pages) askForHelp(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	if err != nil || (c.who.Role == store.RoleHousehold && c.who.HouseholdID != id) {
		return p.deny(c)
	}
	fieldID, _ := strconv.ParseInt(c.r.PostFormValue("field"), 10, 64)
	form := askForm{FieldID: fieldID, Task: c.r.PostFormValue("task"), Earliest: c.r.PostFormValue("earliest"),
		Latest: c.r.PostFormValue("latest"), Note: strings.TrimSpace(c.r.PostFormValue("note"))}
	body := map[string]any{"fieldId": form.FieldID, "task": form.Task, "earliest": form.Earliest, "latest": form.Latest}
	if form.Note != "" {
		body["note"] = form.Note
	}
	if c.who.Role == store.RoleCadre {
		body["householdId"] = id
	}
	err = p.callAPI(c, http.MethodPost, "/v1/requests", body, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.showHousehold(c, id, ae.Status, form, ae.Detail)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/h/"+itoa(id)+"?done=asked#requests", http.StatusSeeOther)
	return nil
}

// feedback is the household's stars for a finished request, through the
// API's submit-feedback.
func (p *Pages) feedback(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	rid, rerr := strconv.ParseInt(c.r.PathValue("rid"), 10, 64)
	if err != nil || rerr != nil || c.who.Role != store.RoleHousehold || c.who.HouseholdID != id {
		return p.deny(c)
	}
	stars, _ := strconv.Atoi(c.r.PostFormValue("stars"))
	body := map[string]any{"stars": stars}
	if cm := strings.TrimSpace(c.r.PostFormValue("comment")); cm != "" {
		body["comment"] = cm
	}
	err = p.callAPI(c, http.MethodPost, "/v1/requests/"+itoa(rid)+"/feedback", body, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.showHousehold(c, id, ae.Status, askForm{}, ae.Detail)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/h/"+itoa(id)+"?done=rated#requests", http.StatusSeeOther)
	return nil
}

// today is the date in the village now.
func (p *Pages) today(c *call) string {
	return p.store.Now().In(c.v.Location()).Format(time.DateOnly)
}

func (p *Pages) teamNames(c *call) (map[int64]string, error) {
	teams, err := all(func(pg store.Page) ([]*store.Team, int64, error) { return p.store.ListTeams(c.ctx(), c.v.ID, pg) })
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, t := range teams {
		out[t.ID] = t.Name
	}
	return out, nil
}

// all reads every page of a keyset-paginated list.
func all[T any](list func(store.Page) ([]*T, int64, error)) ([]*T, error) {
	var out []*T
	for pg := (store.Page{Limit: store.MaxPageLimit}); ; {
		rows, next, err := list(pg)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if next == 0 {
			return out, nil
		}
		pg.After = next
	}
}

// people is how many people a job brings.
func people(j *store.Job) int {
	n := 0
	for _, w := range j.Workers {
		n += w.Workers
	}
	return n
}

// mu shows an area kept in hundredths of a mu.
func mu(centi int64) string {
	return strconv.FormatFloat(float64(centi)/100, 'f', -1, 64)
}
