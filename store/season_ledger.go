package store

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Exchange is the help exchanged on jobs over a span of days, read from
// the ledger: what Balances counts as given and received, for the job
// postings dated in the span. A reversal counts with the posting it
// reverses, whenever it was posted, so a season's figures stay net of a
// correction made after the season ended; a job's corrected posting
// ("12/2") then counts in its place. Transfers, donations and settlement
// openings are not help and do not count.
type Exchange struct {
	Given    map[int64]int64 // half days a household's members worked for others, by household
	Received map[int64]int64 // half days worked for a household, by household, also when the village fund paid
	ByTeam   map[int64]int64 // half days worked on each team's jobs, by team
	HalfDays int64           // all of it
}

// Exchanged reads the help exchanged on jobs dated from from to to
// (inclusive).
func (s *Store) Exchanged(ctx context.Context, villageID int64, from, to string) (*Exchange, error) {
	for field, d := range map[string]string{"from": from, "to": to} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, Invalid(field, "日期格式应为2026-04-20 %q is not a date like 2026-04-20", d)
		}
	}
	// Each worker's credit on a job posting (positive) or on the reversal
	// of one (negative), summed by worker, helped household and job. The
	// definitions are Balances': given is a household account's credit
	// for work, received is the workers' credit on jobs for which the
	// household is the beneficiary (the fund pays for an exempt one).
	var rows []struct {
		HouseholdID   int64
		BeneficiaryID *int64
		Source        string
		HalfDays      int64
	}
	// The season's job postings are found by the (village, kind, date)
	// index, their reversals by UNIQUE(reverses_id): a reversal counts on
	// its job's date, against its job's household and source. Workers'
	// credits only: positive on a job, negative on its reversal.
	jobs := func() *bun.SelectQuery {
		return s.db.NewSelect().TableExpr("ledger_transactions AS j").
			Where("j.village_id = ?", villageID).Where("j.kind = ?", TxJob).Where("j.date BETWEEN ? AND ?", from, to)
	}
	work := jobs().ColumnExpr("j.id AS tx, j.beneficiary_id, j.source_id, 1 AS sign").
		UnionAll(jobs().Join("JOIN ledger_transactions AS r ON r.reverses_id = j.id").
			ColumnExpr("r.id AS tx, j.beneficiary_id, j.source_id, -1 AS sign"))
	err := s.db.NewSelect().TableExpr("(?) AS w", work).
		Join("JOIN ledger_entries AS e ON e.transaction_id = w.tx").
		Join("JOIN accounts AS a ON a.id = e.account_id").
		ColumnExpr("a.household_id, w.beneficiary_id, w.source_id AS source, SUM(e.amount) AS half_days").
		Where("e.amount * w.sign > 0").
		GroupExpr("a.household_id, w.beneficiary_id, w.source_id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, translate(err, "ledger")
	}
	out := &Exchange{Given: map[int64]int64{}, Received: map[int64]int64{}, ByTeam: map[int64]int64{}}
	byJob := map[int64]int64{}
	for _, r := range rows {
		out.Given[r.HouseholdID] += r.HalfDays
		if r.BeneficiaryID != nil {
			out.Received[*r.BeneficiaryID] += r.HalfDays
		}
		out.HalfDays += r.HalfDays
		// A job posts as "12", and after a reversal as "12/2", "12/3".
		id, _, _ := strings.Cut(r.Source, "/")
		if job, err := strconv.ParseInt(id, 10, 64); err == nil {
			byJob[job] += r.HalfDays
		}
	}
	// A job reversed and not posted again leaves nothing behind.
	zero := func(_ int64, n int64) bool { return n == 0 }
	maps.DeleteFunc(out.Given, zero)
	maps.DeleteFunc(out.Received, zero)
	maps.DeleteFunc(byJob, zero)
	if len(byJob) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(byJob))
	for id := range byJob {
		ids = append(ids, id)
	}
	var teams []struct{ ID, TeamID int64 }
	err = s.db.NewSelect().Model((*Job)(nil)).Column("id", "team_id").
		Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx, &teams)
	if err != nil {
		return nil, translate(err, "jobs")
	}
	for _, j := range teams {
		out.ByTeam[j.TeamID] += byJob[j.ID]
	}
	maps.DeleteFunc(out.ByTeam, zero)
	return out, nil
}
