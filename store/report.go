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
	// Counted in the database: the report reads a few numbers, not every
	// request and job of the season.
	today := s.Now().In(v.Location()).Format(time.DateOnly)
	var counts struct {
		Received, Scheduled, Done, DoneOnTime, Cancelled, Open, Overdue, Feedbacks, Stars int
	}
	const (
		done   = "r.state IN ('" + RequestDone + "', '" + RequestClosed + "')"
		closed = "r.state IN ('" + RequestDone + "', '" + RequestClosed + "', '" + RequestCancelled + "')"
	)
	err = s.db.NewSelect().TableExpr("help_requests AS r").
		ColumnExpr("COUNT(*) AS received").
		ColumnExpr("COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM jobs AS j WHERE j.request_id = r.id) THEN 1 ELSE 0 END), 0) AS scheduled").
		ColumnExpr("COALESCE(SUM(CASE WHEN "+done+" THEN 1 ELSE 0 END), 0) AS done").
		ColumnExpr("COALESCE(SUM(CASE WHEN "+done+" AND r.done_date <= r.latest THEN 1 ELSE 0 END), 0) AS done_on_time").
		ColumnExpr("COALESCE(SUM(CASE WHEN r.state = ? THEN 1 ELSE 0 END), 0) AS cancelled", RequestCancelled).
		ColumnExpr("COALESCE(SUM(CASE WHEN NOT "+closed+" THEN 1 ELSE 0 END), 0) AS open").
		ColumnExpr("COALESCE(SUM(CASE WHEN NOT "+closed+" AND r.latest < ? THEN 1 ELSE 0 END), 0) AS overdue", today).
		ColumnExpr("COUNT(r.feedback_stars) AS feedbacks, COALESCE(SUM(r.feedback_stars), 0) AS stars").
		Where("r.village_id = ?", villageID).Where("r.season_id = ?", seasonID).Scan(ctx, &counts)
	if err != nil {
		return nil, translate(err, "help requests")
	}
	rep.Received, rep.Scheduled, rep.Done, rep.DoneOnTime = counts.Received, counts.Scheduled, counts.Done, counts.DoneOnTime
	rep.Cancelled, rep.Open, rep.Overdue, rep.Feedbacks = counts.Cancelled, counts.Open, counts.Overdue, counts.Feedbacks
	// Response times: the two instants of each request that has a
	// confirmed job, for the mean and the 90th percentile (instants
	// subtract differently in each SQL dialect, so here).
	var times []struct{ SubmittedAt, FirstConfirmedAt time.Time }
	err = s.db.NewSelect().Model((*HelpRequest)(nil)).Column("submitted_at", "first_confirmed_at").
		Where("village_id = ?", villageID).Where("season_id = ?", seasonID).Where("first_confirmed_at IS NOT NULL").
		Scan(ctx, &times)
	if err != nil {
		return nil, translate(err, "help requests")
	}
	responses := make([]time.Duration, len(times))
	for i, t := range times {
		responses[i] = t.FirstConfirmedAt.Sub(t.SubmittedAt)
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
		rep.MeanFeedback = float64(counts.Stars) / float64(rep.Feedbacks)
	}
	var jobs []struct {
		TeamID                                 int64
		Done, Disputed, DisputesOpen, Reversed int
	}
	err = s.db.NewSelect().TableExpr("jobs AS j").ColumnExpr("j.team_id").
		ColumnExpr("SUM(CASE WHEN j.state = ? THEN 1 ELSE 0 END) AS done", JobDone).
		ColumnExpr("SUM(CASE WHEN j.disputed_at IS NOT NULL THEN 1 ELSE 0 END) AS disputed").
		ColumnExpr("SUM(CASE WHEN j.dispute_state = ? THEN 1 ELSE 0 END) AS disputes_open", DisputeOpen).
		ColumnExpr("SUM(CASE WHEN j.dispute_state = ? THEN 1 ELSE 0 END) AS reversed", DisputeReversed).
		Where("j.village_id = ?", villageID).
		Where("j.request_id IN (?)", s.db.NewSelect().Model((*HelpRequest)(nil)).Column("id").Where("season_id = ?", seasonID)).
		GroupExpr("j.team_id").Scan(ctx, &jobs)
	if err != nil {
		return nil, translate(err, "jobs")
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
		if tw := byTeam[j.TeamID]; tw != nil {
			tw.Jobs += j.Done
		}
		rep.Disputed += j.Disputed
		rep.DisputesOpen += j.DisputesOpen
		rep.DisputesReversed += j.Reversed
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
