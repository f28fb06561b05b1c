package web

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"huangong/store"
)

// postingView is one done job's posting against the household, as its
// page lists them: what was recorded, and whether it may still object.
type postingView struct {
	Job        int64
	Date       string
	Team       string
	Field      string
	Task       string
	HalfDays   int64 // the workdays recorded, in half days
	People     int
	Dispute    string // store.Job.Dispute: open, disputed, confirmed, reversed
	Until      string // the end of the dispute window, in the village's time
	Reason     string
	CanDispute bool
}

// disputeView is a disputed job on the cadre's board.
type disputeView struct {
	Job         int64
	Date        string
	HouseholdID int64
	Household   string
	Team        string
	HalfDays    int64
	Reason      string
	At          string // when it was raised, in the village's time
}

// postings lists the household's done jobs, newest first, with their
// dispute state; only the household itself is offered the dispute form.
func (p *Pages) postings(c *call, jobs []*store.Job, reqs []*store.HelpRequest, fields, teams map[int64]string) []postingView {
	byID := make(map[int64]*store.HelpRequest, len(reqs))
	for _, r := range reqs {
		byID[r.ID] = r
	}
	now, loc := p.store.Now(), c.v.Location()
	var out []postingView
	for i := len(jobs) - 1; i >= 0; i-- {
		j := jobs[i]
		if j.State != store.JobDone {
			continue
		}
		pv := postingView{Job: j.ID, Date: j.Date, Team: teams[j.TeamID], Dispute: j.Dispute(now), Reason: j.DisputeReason}
		planned := map[int64]int{}
		for _, w := range j.Workers {
			planned[w.HouseholdID] = w.Workers
		}
		for _, a := range j.Attendance {
			pv.HalfDays += a.HalfDays
			// Records older than the attendance rules carry no people.
			pv.People += cmp.Or(a.Workers, planned[a.HouseholdID], 1)
		}
		if r := byID[j.RequestID]; r != nil {
			pv.Field, pv.Task = fields[r.FieldID], r.Task
		}
		if u := j.DisputeUntil(); u != nil {
			pv.Until = u.In(loc).Format("2006-01-02 15:04")
		}
		pv.CanDispute = pv.Dispute == store.DisputeWindowOpen && c.who.Role == store.RoleHousehold
		out = append(out, pv)
	}
	return out
}

// disputeJob is the household objecting to a posting, through the API's
// dispute-job.
func (p *Pages) disputeJob(c *call) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	jid, jerr := strconv.ParseInt(c.r.PathValue("jid"), 10, 64)
	if err != nil || jerr != nil || c.who.Role != store.RoleHousehold || c.who.HouseholdID != id {
		return p.deny(c)
	}
	body := map[string]any{"reason": strings.TrimSpace(c.r.PostFormValue("reason"))}
	err = p.callAPI(c, http.MethodPost, "/v1/jobs/"+itoa(jid)+"/dispute", body, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.showHousehold(c, id, ae.Status, askForm{}, ae.Detail)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/h/"+itoa(id)+"?done=disputed#postings", http.StatusSeeOther)
	return nil
}

// disputes lists the village's jobs waiting for a cadre's decision.
func (p *Pages) disputes(c *call, names map[int64]string) ([]disputeView, error) {
	ctx := c.ctx()
	jobs, err := p.store.DisputedJobs(ctx, c.v.ID)
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	teams, err := p.teamNames(c)
	if err != nil {
		return nil, err
	}
	out := make([]disputeView, 0, len(jobs))
	for _, j := range jobs {
		r, err := p.store.GetRequest(ctx, c.v.ID, j.RequestID)
		if err != nil {
			return nil, err
		}
		dv := disputeView{Job: j.ID, Date: j.Date, HouseholdID: r.HouseholdID, Household: names[r.HouseholdID], Team: teams[j.TeamID], Reason: j.DisputeReason}
		for _, a := range j.Attendance {
			dv.HalfDays += a.HalfDays
		}
		if j.DisputedAt != nil {
			dv.At = j.DisputedAt.In(c.v.Location()).Format(time.DateTime)
		}
		out = append(out, dv)
	}
	return out, nil
}

// boardResolve is a cadre confirming or reversing a disputed job from the
// board, through the API's resolve-dispute.
func (p *Pages) boardResolve(c *call) error {
	jid, err := strconv.ParseInt(c.r.PathValue("jid"), 10, 64)
	if err != nil {
		return p.deny(c)
	}
	body := map[string]any{"resolution": c.r.PostFormValue("resolution")}
	if n := strings.TrimSpace(c.r.PostFormValue("note")); n != "" {
		body["note"] = n
	}
	err = p.callAPI(c, http.MethodPost, "/v1/jobs/"+itoa(jid)+"/resolve-dispute", body, nil)
	var ae *apiError
	if errors.As(err, &ae) {
		return p.boardError(c, ae)
	}
	if err != nil {
		return err
	}
	redirectBoard(c, url.Values{"season": {c.r.PostFormValue("season")}, "done": {"resolved"}, "job": {itoa(jid)}})
	return nil
}
