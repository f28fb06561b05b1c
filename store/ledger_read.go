package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Balance is one household's standing in the ledger.
type Balance struct {
	HouseholdID int64
	HeadName    string
	Group       int
	Balance     int64 // half days: positive, the village owes it help
	Given       int64 // half days credited by jobs (help given), net of reversals
	Received    int64 // half days workers were credited on jobs helping it (help received), net of reversals
	BelowLimit  bool  // below the village's soft limit: flagged, never refused; never a fund-covered household
	FundCovers  bool  // exempt or assisted (帮扶): the fund pays for its help, it owes none
}

// fundCoversSQL is Household.FundCovers in SQL over the households table
// aliased h: exempt, or policy assisted (chosen, or by default when
// vulnerable).
const fundCoversSQL = `(h.exempt OR COALESCE(h.policy, CASE WHEN h.elderly OR h.left_behind OR h.disabled OR h.five_guarantee
	THEN '` + PolicyAssisted + `' ELSE '` + PolicyExchange + `' END) = '` + PolicyAssisted + `')`

// BalanceQuery narrows and orders list-balances.
type BalanceQuery struct {
	HouseholdID int64  // 0: every household
	TeamID      int64  // 0: any; else only the team's member households (a leader's view)
	Sort        string // "household" (default), "balance" (lowest first), "-balance" (highest first)
	BelowLimit  bool   // only households below the soft limit
}

// Balances lists households' balances with the village's soft-limit flag,
// and the village fund's balance beside them.
func (s *Store) Balances(ctx context.Context, villageID int64, q BalanceQuery) (rows []*Balance, fund int64, err error) {
	v, err := s.village(ctx, s.db, villageID)
	if err != nil {
		return nil, 0, err
	}
	// Given and received are kept on the account row with every posting
	// (see line): job postings and the reversals of job postings count;
	// transfers, donations and their reversals do not. Given is what a
	// household's account was credited for work; received is what workers
	// were credited on jobs that helped it, also when the fund paid.
	sel := s.db.NewSelect().TableExpr("accounts AS a").
		Join("JOIN households AS h ON h.id = a.household_id").
		ColumnExpr("h.id AS household_id, h.head_name, h.group_no AS \"group\", a.balance, a.given, a.received").
		ColumnExpr(fundCoversSQL+" AS fund_covers").
		Where("a.village_id = ?", villageID)
	if q.HouseholdID != 0 {
		sel = sel.Where("a.household_id = ?", q.HouseholdID)
	}
	if q.TeamID != 0 {
		sel = sel.Where("a.household_id IN (SELECT household_id FROM team_members WHERE team_id = ?)", q.TeamID)
	}
	if q.BelowLimit {
		// A fund-covered household is never flagged as owing, even with a
		// balance from before it was (a posting of an earlier policy).
		sel = sel.Where("a.balance < ?", v.SoftLimit).Where("NOT " + fundCoversSQL)
	}
	switch q.Sort {
	case "", "household":
		sel = sel.OrderExpr("h.id")
	case "balance":
		sel = sel.OrderExpr("a.balance ASC, h.id")
	case "-balance":
		sel = sel.OrderExpr("a.balance DESC, h.id")
	default:
		return nil, 0, Invalid("query.sort", "排序方式无效 sort by household, balance or -balance")
	}
	if err := sel.Scan(ctx, &rows); err != nil {
		return nil, 0, translate(err, "balances")
	}
	for _, r := range rows {
		r.BelowLimit = r.Balance < v.SoftLimit && !r.FundCovers
	}
	f, err := fundAccount(ctx, s.db, villageID)
	if err != nil {
		return nil, 0, err
	}
	return rows, f.Balance, nil
}

// StatementLine is one entry of an account with the balance after it.
type StatementLine struct {
	TransactionID int64
	Kind          string
	Memo          string
	Date          string
	Amount        int64
	Running       int64
	ReversesID    *int64
}

// Statement is an account's entries over a date range.
type Statement struct {
	HouseholdID int64
	From, To    string
	Opening     int64 // balance before From
	Closing     int64 // balance after To
	Lines       []StatementLine
}

// MaxStatementLines caps one statement; a narrower date range shows the rest.
const MaxStatementLines = 2000

// Statement lists a household's entries dated in [from, to] (either may be
// "" for open-ended) in posting order, each with its running balance.
func (s *Store) Statement(ctx context.Context, villageID, householdID int64, from, to string) (*Statement, error) {
	for field, d := range map[string]string{"query.from": from, "query.to": to} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			return nil, Invalid(field, "日期格式应为2026-04-20 %q is not a date like 2026-04-20", d)
		}
	}
	if from != "" && to != "" && from > to {
		return nil, Invalid("query.from", "起始日期晚于结束日期 from %s is after to %s", from, to)
	}
	acct, err := householdAccount(ctx, s.db, villageID, householdID, "path.householdId")
	if err != nil {
		if ErrorCode(err) == EINVALID {
			return nil, Errorf(ENOTFOUND, "未找到 household %d not found", householdID)
		}
		return nil, err
	}
	st := &Statement{HouseholdID: householdID, From: from, To: to}
	base := func() *bun.SelectQuery {
		return s.db.NewSelect().TableExpr("ledger_entries AS e").
			Join("JOIN ledger_transactions AS t ON t.id = e.transaction_id").
			Where("e.account_id = ?", acct.ID)
	}
	if from != "" {
		if err := base().ColumnExpr("COALESCE(SUM(e.amount), 0)").Where("t.date < ?", from).Scan(ctx, &st.Opening); err != nil {
			return nil, translate(err, "statement")
		}
	}
	q := base().ColumnExpr("t.id AS transaction_id, t.kind, t.memo, t.date, e.amount, t.reverses_id").
		OrderExpr("t.date, t.id").Limit(MaxStatementLines + 1)
	if from != "" {
		q = q.Where("t.date >= ?", from)
	}
	if to != "" {
		q = q.Where("t.date <= ?", to)
	}
	if err := q.Scan(ctx, &st.Lines); err != nil {
		return nil, translate(err, "statement")
	}
	if len(st.Lines) > MaxStatementLines {
		return nil, Invalid("query.from", "记录过多，请缩短日期范围 more than %d entries; ask for a shorter date range", MaxStatementLines)
	}
	running := st.Opening
	for i := range st.Lines {
		running += st.Lines[i].Amount
		st.Lines[i].Running = running
	}
	st.Closing = running
	return st, nil
}

// Verification is what VerifyLedger found.
type Verification struct {
	Accounts     int
	Transactions int
	Entries      int
	Total        int64    // sum of all balances; must be 0
	Mismatches   []string // empty when the ledger is sound
}

// OK reports whether the ledger is sound.
func (v *Verification) OK() bool { return len(v.Mismatches) == 0 }

// VerifyLedger recomputes every balance of the village from its entries
// and checks every transaction sums to zero with the entries it declares.
func (s *Store) VerifyLedger(ctx context.Context, villageID int64) (*Verification, error) {
	out := &Verification{}
	var accounts []struct {
		ID, Balance, Recomputed int64
		Key                     string
	}
	err := s.db.NewSelect().TableExpr("accounts AS a").
		ColumnExpr("a.id, a.key, a.balance").
		ColumnExpr("COALESCE((SELECT SUM(e.amount) FROM ledger_entries AS e WHERE e.account_id = a.id), 0) AS recomputed").
		Where("a.village_id = ?", villageID).OrderExpr("a.id").Scan(ctx, &accounts)
	if err != nil {
		return nil, translate(err, "verify accounts")
	}
	for _, a := range accounts {
		out.Accounts++
		out.Total += a.Balance
		if a.Balance != a.Recomputed {
			out.Mismatches = append(out.Mismatches, fmt.Sprintf("account %s: balance %d, entries sum to %d", a.Key, a.Balance, a.Recomputed))
		}
	}
	totals, err := s.verifyTotals(ctx, villageID)
	if err != nil {
		return nil, err
	}
	out.Mismatches = append(out.Mismatches, totals...)
	if out.Total != 0 {
		out.Mismatches = append(out.Mismatches, fmt.Sprintf("balances sum to %d, not 0", out.Total))
	}
	var txs []struct {
		ID, Sum          int64
		EntryCount, Seen int
	}
	err = s.db.NewSelect().TableExpr("ledger_transactions AS t").
		ColumnExpr("t.id, t.entry_count").
		ColumnExpr("(SELECT COUNT(*) FROM ledger_entries AS e WHERE e.transaction_id = t.id) AS seen").
		ColumnExpr("COALESCE((SELECT SUM(e.amount) FROM ledger_entries AS e WHERE e.transaction_id = t.id), 0) AS sum").
		Where("t.village_id = ?", villageID).OrderExpr("t.id").Scan(ctx, &txs)
	if err != nil {
		return nil, translate(err, "verify transactions")
	}
	for _, t := range txs {
		out.Transactions++
		out.Entries += t.Seen
		if t.Sum != 0 || t.Seen != t.EntryCount || t.Seen < 2 {
			out.Mismatches = append(out.Mismatches, fmt.Sprintf("transaction %d: %d of %d entries, sum %d", t.ID, t.Seen, t.EntryCount, t.Sum))
		}
	}
	return out, nil
}

// workSQL selects a village's job postings and the reversals of job
// postings (t, o the reversed), each entry a worker's credit (e.amount):
// positive on a job, negative on its reversal.
const workSQL = `FROM ledger_entries AS e
	JOIN ledger_transactions AS t ON t.id = e.transaction_id
	LEFT JOIN ledger_transactions AS o ON o.id = t.reverses_id
	WHERE t.village_id = ? AND ((t.kind = '` + TxJob + `' AND e.amount > 0)
		OR (t.kind = '` + TxReversal + `' AND o.kind = '` + TxJob + `' AND e.amount < 0))`

// verifyTotals recomputes every household's help given and received from
// the entries and names the accounts whose kept totals differ.
func (s *Store) verifyTotals(ctx context.Context, villageID int64) ([]string, error) {
	var rows []struct {
		Key                   string
		Given, Received       int64
		SumGiven, SumReceived int64
	}
	err := s.db.NewSelect().TableExpr("accounts AS a").
		Join("LEFT JOIN (SELECT e.account_id AS id, SUM(e.amount) AS total "+workSQL+" GROUP BY e.account_id) AS g ON g.id = a.id", villageID).
		Join("LEFT JOIN (SELECT COALESCE(t.beneficiary_id, o.beneficiary_id) AS household_id, SUM(e.amount) AS total "+workSQL+
			" GROUP BY COALESCE(t.beneficiary_id, o.beneficiary_id)) AS r ON r.household_id = a.household_id", villageID).
		ColumnExpr("a.key, a.given, a.received, COALESCE(g.total, 0) AS sum_given, COALESCE(r.total, 0) AS sum_received").
		Where("a.village_id = ?", villageID).OrderExpr("a.id").Scan(ctx, &rows)
	if err != nil {
		return nil, translate(err, "verify totals")
	}
	var out []string
	for _, r := range rows {
		if r.Given != r.SumGiven || r.Received != r.SumReceived {
			out = append(out, fmt.Sprintf("account %s: given %d, received %d; entries sum to %d and %d", r.Key, r.Given, r.Received, r.SumGiven, r.SumReceived))
		}
	}
	return out, nil
}
