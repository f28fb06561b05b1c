package store

import (
	"context"
	"math"
	"slices"
	"time"
)

// SeasonReport is a season's closed-loop figures, measured from records:
// what the village reports upward (requests received, completion rate,
// mean response time, feedback).
type SeasonReport struct {
	Season *Season

	Received   int // help requests registered in the season
	Scheduled  int // given at least one job
	Done       int // done or closed
	DoneOnTime int // done with the last job on or before the window's end
	Cancelled  int
	Open       int // still waiting
	Overdue    int // open with the window already past (as of the report)

	CompletionRate float64       // done / (received − cancelled); 0 when nothing counts
	MeanResponse   time.Duration // submitted → first confirmed job
	P90Response    time.Duration
	Responded      int // requests with a confirmed job, the sample of the two above

	MeanFeedback float64 // stars
	Feedbacks    int

	HalfDays       int64 // workdays exchanged in the season, in half days, from the ledger (see Exchanged)
	ByTeam         []TeamWork
	Exchange       *Exchange // the season's help given and received, by household and team
	BelowSoftLimit int       // households below the village's soft limit now

	// Disputes over the season's done jobs: raised by the helped household
	// (any outcome), still waiting for a cadre, and reversed by one.
	Disputed, DisputesOpen, DisputesReversed int
}

// TeamWork is one team's share of a season: its jobs done (of the
// season's requests), and the workdays the ledger holds for its jobs
// dated in the season, so a reversed posting no longer counts.
type TeamWork struct {
	TeamID   int64
	Name     string
	Jobs     int
	HalfDays int64
}

// SeasonReport computes a season's figures.
func (s *Store) SeasonReport(ctx context.Context, villageID, seasonID int64) (*SeasonReport, error) {
	se, err := s.GetSeason(ctx, villageID, seasonID)
	if err != nil {
		return nil, err
	}
	v, err := s.GetVillage(ctx, villageID)
	if err != nil {
		return nil, err
	}
	rep := &SeasonReport{Season: se}
	var reqs []*HelpRequest
	if err := s.db.NewSelect().Model(&reqs).Where("village_id = ?", villageID).Where("season_id = ?", seasonID).Scan(ctx); err != nil {
		return nil, translate(err, "help requests")
	}
	var jobs []*Job
	err = s.db.NewSelect().Model(&jobs).Where("village_id = ?", villageID).
		Where("request_id IN (?)", s.db.NewSelect().Model((*HelpRequest)(nil)).Column("id").Where("season_id = ?", seasonID)).
		OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, translate(err, "jobs")
	}
	withJob := map[int64]bool{}
	for _, j := range jobs {
		withJob[j.RequestID] = true
	}
	today := s.Now().In(v.Location()).Format(time.DateOnly)
	var responses []time.Duration
	var stars int
	for _, r := range reqs {
		rep.Received++
		if withJob[r.ID] {
			rep.Scheduled++
		}
		switch {
		case r.State == RequestCancelled:
			rep.Cancelled++
		case r.State == RequestDone || r.State == RequestClosed:
			rep.Done++
			if r.DoneDate != nil && *r.DoneDate <= r.Latest {
				rep.DoneOnTime++
			}
		default:
			rep.Open++
			if r.Latest < today {
				rep.Overdue++
			}
		}
		if r.FirstConfirmedAt != nil {
			responses = append(responses, r.FirstConfirmedAt.Sub(r.SubmittedAt))
		}
		if r.FeedbackStars != nil {
			stars += *r.FeedbackStars
			rep.Feedbacks++
		}
	}
	if n := rep.Received - rep.Cancelled; n > 0 {
		rep.CompletionRate = float64(rep.Done) / float64(n)
	}
	if rep.Responded = len(responses); rep.Responded > 0 {
		slices.Sort(responses)
		var sum time.Duration
		for _, d := range responses {
			sum += d
		}
		rep.MeanResponse = sum / time.Duration(len(responses))
		// Nearest rank: the smallest response at or above 90 % of them.
		rep.P90Response = responses[int(math.Ceil(0.9*float64(len(responses))))-1]
	}
	if rep.Feedbacks > 0 {
		rep.MeanFeedback = float64(stars) / float64(rep.Feedbacks)
	}
	teams, _, err := s.ListTeams(ctx, villageID, Page{Limit: MaxPageLimit})
	if err != nil {
		return nil, err
	}
	byTeam := map[int64]*TeamWork{}
	for _, t := range teams {
		rep.ByTeam = append(rep.ByTeam, TeamWork{TeamID: t.ID, Name: t.Name})
	}
	for i := range rep.ByTeam {
		byTeam[rep.ByTeam[i].TeamID] = &rep.ByTeam[i]
	}
	for _, j := range jobs {
		if tw := byTeam[j.TeamID]; tw != nil && j.State == JobDone {
			tw.Jobs++
		}
		if j.DisputedAt != nil {
			rep.Disputed++
		}
		switch j.DisputeState {
		case DisputeOpen:
			rep.DisputesOpen++
		case DisputeReversed:
			rep.DisputesReversed++
		}
	}
	// Workdays are the ledger's, not the attendance's: a job's posting
	// may have been reversed, and corrected, since the job was done.
	if rep.Exchange, err = s.Exchanged(ctx, villageID, se.StartDate, se.EndDate); err != nil {
		return nil, err
	}
	rep.HalfDays = rep.Exchange.HalfDays
	for id, n := range rep.Exchange.ByTeam {
		if tw := byTeam[id]; tw != nil {
			tw.HalfDays = n
		}
	}
	below, _, err := s.Balances(ctx, villageID, BalanceQuery{BelowLimit: true})
	if err != nil {
		return nil, err
	}
	rep.BelowSoftLimit = len(below)
	return rep, nil
}
