package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"huangong/store"
)

// noticeView is the public notice (公示) of a season, for the village's
// notice board: A4, printed.
type noticeView struct {
	Seasons []*store.Season
	Season  *store.Season
	Report  *store.SeasonReport
	Date    string
	Groups  []noticeGroup
	Teams   []store.TeamWork
	Fund    int64
	Total   noticeRow // the season's sums over every household

	Page, Pages int // this sheet of the household lines, and how many
	More        int // households on later sheets

	Completion string // "92%"
	OnTime     string
	Response   string // mean submitted → first confirmed job
	Feedback   string // mean stars
}

// noticeRowsPerSheet bounds the household lines one notice page renders:
// a village of thousands prints in sheets (?page=), never as one page
// without end.
var noticeRowsPerSheet = 500

type noticeGroup struct {
	Group int
	Rows  []noticeRow
}

type noticeRow struct {
	ID       int64
	Name     string
	Given    int64 // half days worked for others this season
	Received int64 // half days others worked for it this season
	Balance  int64 // the ledger's balance now
	Below    bool
	Exempt   bool
}

// notice is the printable public notice of a season: every household's
// workdays given and received in it and its balance, each team's totals,
// and the season's figures of the closed loop.
func (p *Pages) notice(c *call) error {
	ctx := c.ctx()
	today := p.today(c)
	seasons, err := p.store.ListSeasons(ctx, c.v.ID, 0)
	if err != nil {
		return err
	}
	v := &noticeView{Seasons: seasons, Date: today, Season: pickSeason(seasons, c.r.URL.Query().Get("season"), today, true)}
	if v.Season == nil {
		p.render(c, http.StatusOK, "notice", "notice.title", v)
		return nil
	}
	if v.Report, err = p.store.SeasonReport(ctx, c.v.ID, v.Season.ID); err != nil {
		return err
	}
	rep := v.Report
	v.Teams = rep.ByTeam
	v.Completion = percent(rep.CompletionRate)
	if rep.Done > 0 {
		v.OnTime = percent(float64(rep.DoneOnTime) / float64(rep.Done))
	}
	if rep.Responded > 0 {
		v.Response = duration(c.lang, rep.MeanResponse)
	}
	if rep.Feedbacks > 0 {
		v.Feedback = strconv.FormatFloat(rep.MeanFeedback, 'f', 1, 64)
	}
	// Given and received are the ledger's, as are the team totals and
	// the season's workdays above: a reversed posting no longer counts.
	given, received := rep.Exchange.Given, rep.Exchange.Received
	rows, fund, err := p.store.Balances(ctx, c.v.ID, store.BalanceQuery{})
	if err != nil {
		return err
	}
	v.Fund = fund
	byGroup := map[int]*noticeGroup{}
	v.Pages = max(1, (len(rows)+noticeRowsPerSheet-1)/noticeRowsPerSheet)
	v.Page = min(max(1, atoi(c.r.URL.Query().Get("page"))), v.Pages)
	first, last := (v.Page-1)*noticeRowsPerSheet, min(len(rows), v.Page*noticeRowsPerSheet)
	v.More = len(rows) - last
	for i, b := range rows {
		v.Total.Given += given[b.HouseholdID]
		v.Total.Received += received[b.HouseholdID]
		if i < first || i >= last {
			continue
		}
		g := byGroup[b.Group]
		if g == nil {
			g = &noticeGroup{Group: b.Group}
			byGroup[b.Group] = g
		}
		row := noticeRow{ID: b.HouseholdID, Name: b.HeadName, Given: given[b.HouseholdID], Received: received[b.HouseholdID],
			Balance: b.Balance, Below: b.BelowLimit, Exempt: b.FundCovers}
		g.Rows = append(g.Rows, row)
	}
	for _, g := range byGroup {
		v.Groups = append(v.Groups, *g)
	}
	slices.SortFunc(v.Groups, func(a, b noticeGroup) int { return a.Group - b.Group })
	p.render(c, http.StatusOK, "notice", "notice.title", v)
	return nil
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }

// duration shows a response time in hours, or days past two.
func duration(lang string, d time.Duration) string {
	if h := d.Hours(); h < 48 {
		return text(lang, "unit.hours", strconv.FormatFloat(h, 'f', 1, 64))
	}
	return text(lang, "unit.days", strconv.FormatFloat(d.Hours()/24, 'f', 1, 64))
}
