package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Settlement policies: what closing a season does to the balances.
const (
	// SettleCarry carries every balance over to the next season (the
	// default): nothing is posted.
	SettleCarry = "carry"
	// SettleZero zeroes each household's balance by one opening
	// transaction against the village fund, never by editing entries.
	SettleZero = "zero"
)

// SettlePolicies lists the policies a village may choose.
var SettlePolicies = []string{SettleCarry, SettleZero}

// SettlePolicy returns the village's settlement policy.
func (s *Store) SettlePolicy(ctx context.Context, villageID int64) (string, error) {
	return settlePolicy(ctx, s.db, villageID)
}

func settlePolicy(ctx context.Context, db bun.IDB, villageID int64) (string, error) {
	var p string
	err := db.NewSelect().Table("villages").Column("settle_policy").Where("id = ?", villageID).Scan(ctx, &p)
	return p, translate(err, fmt.Sprintf("village %d", villageID))
}

// SetSettlePolicy chooses what closing a season does to the village's balances.
func (s *Store) SetSettlePolicy(ctx context.Context, villageID int64, policy string) error {
	if !slices.Contains(SettlePolicies, policy) {
		return Invalid("body.settlePolicy", "结算方式无效 settlement policy must be one of %v", SettlePolicies)
	}
	res, err := s.db.NewUpdate().Table("villages").Set("settle_policy = ?", policy).Where("id = ?", villageID).Exec(ctx)
	if err != nil {
		return translate(err, "village")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Errorf(ENOTFOUND, "未找到 village %d not found", villageID)
	}
	return nil
}

// Notice kinds.
const (
	NoticeWeekly     = "weekly"     // the weekly public notice 每周公示
	NoticeSettlement = "settlement" // the notice of a season's close 结算公示
)

// Notice is a public-notice snapshot (公示): a season's figures and every
// household's balance as they stood when it was taken. The table is
// append-only; a later notice supersedes, never edits, an earlier one.
type Notice struct {
	bun.BaseModel `bun:"table:notices"`

	ID        int64      `bun:",pk,autoincrement"`
	VillageID int64      `bun:",notnull"`
	SeasonID  *int64     ``
	Kind      string     `bun:",notnull"`
	Title     string     `bun:",notnull"`
	Body      NoticeBody `bun:",type:json,notnull"`
	CreatedBy string     `bun:",notnull"`
	CreatedAt time.Time  `bun:",notnull"`
}

// NoticeBody is what a notice shows.
type NoticeBody struct {
	Season   string          `json:"season"`
	Policy   string          `json:"policy,omitempty"` // settlement notices: carry or zero
	Report   NoticeReport    `json:"report"`
	Balances []NoticeBalance `json:"balances"`
	Fund     int64           `json:"fundHalfDays"`
}

// NoticeReport is the season report's figures in a notice.
type NoticeReport struct {
	Received            int     `json:"received"`
	Done                int     `json:"done"`
	DoneOnTime          int     `json:"doneOnTime"`
	Cancelled           int     `json:"cancelled"`
	Open                int     `json:"open"`
	Overdue             int     `json:"overdue"`
	CompletionRate      float64 `json:"completionRate"`
	MeanResponseSeconds int64   `json:"meanResponseSeconds"`
	MeanFeedback        float64 `json:"meanFeedback"`
	Feedbacks           int     `json:"feedbacks"`
	HalfDays            int64   `json:"halfDays"`
	BelowSoftLimit      int     `json:"belowSoftLimit"`
}

// NoticeBalance is one household's line on a notice.
type NoticeBalance struct {
	HouseholdID int64  `json:"householdId"`
	HeadName    string `json:"headName"`
	Group       int    `json:"group"`
	Balance     int64  `json:"balanceHalfDays"`
	BelowLimit  bool   `json:"belowLimit,omitempty"`
}

// ListNotices returns the village's notices of a season (0: all), newest last.
func (s *Store) ListNotices(ctx context.Context, villageID, seasonID int64) ([]*Notice, error) {
	var out []*Notice
	q := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).OrderExpr("id")
	if seasonID != 0 {
		q = q.Where("season_id = ?", seasonID)
	}
	return out, translate(q.Scan(ctx), "notices")
}

// noticeBody reads a season's report and the balances as committed. Inside
// a write transaction that has written nothing yet, that is what the
// transaction sees too: its IMMEDIATE lock keeps every other writer out.
func (s *Store) noticeBody(ctx context.Context, villageID, seasonID int64) (*SeasonReport, NoticeBody, error) {
	rep, err := s.SeasonReport(ctx, villageID, seasonID)
	if err != nil {
		return nil, NoticeBody{}, err
	}
	rows, fund, err := s.Balances(ctx, villageID, BalanceQuery{})
	if err != nil {
		return nil, NoticeBody{}, err
	}
	body := NoticeBody{Season: rep.Season.Name, Fund: fund, Balances: make([]NoticeBalance, len(rows)),
		Report: NoticeReport{
			Received: rep.Received, Done: rep.Done, DoneOnTime: rep.DoneOnTime, Cancelled: rep.Cancelled,
			Open: rep.Open, Overdue: rep.Overdue, CompletionRate: rep.CompletionRate,
			MeanResponseSeconds: int64(rep.MeanResponse / time.Second), MeanFeedback: rep.MeanFeedback,
			Feedbacks: rep.Feedbacks, HalfDays: rep.HalfDays, BelowSoftLimit: rep.BelowSoftLimit,
		}}
	for i, b := range rows {
		body.Balances[i] = NoticeBalance{HouseholdID: b.HouseholdID, HeadName: b.HeadName, Group: b.Group, Balance: b.Balance, BelowLimit: b.BelowLimit}
	}
	return rep, body, nil
}

// writeNotice records a notice and tells the cadre, inside l's transaction.
func (l *loopTx) writeNotice(ctx context.Context, seasonID int64, kind string, body NoticeBody) (*Notice, error) {
	title := fmt.Sprintf("%s 公示", body.Season)
	if kind == NoticeSettlement {
		title = fmt.Sprintf("%s 结算公示", body.Season)
	}
	n := &Notice{VillageID: l.v, SeasonID: &seasonID, Kind: kind, Title: title, Body: body, CreatedBy: l.actor, CreatedAt: l.now}
	if _, err := l.db.NewInsert().Model(n).Exec(ctx); err != nil {
		return nil, translate(err, "notice")
	}
	err := l.notify(ctx, AudienceCadre, l.v, EventNotice, "notice", n.ID,
		"%s已生成：求助%d件，办结率%.0f%%，换工%s个工日。", title, body.Report.Received,
		math.Round(body.Report.CompletionRate*100), halfDaysText(body.Report.HalfDays))
	return n, err
}

// PublishNotice takes the weekly public-notice snapshot of a season: its
// report and every household's balance, as a notice row and an outbox
// event for the cadre.
func (s *Store) PublishNotice(ctx context.Context, villageID, seasonID int64, actor string) (*Notice, error) {
	var n *Notice
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		_, body, err := s.noticeBody(ctx, villageID, seasonID)
		if err != nil {
			return err
		}
		n, err = l.writeNotice(ctx, seasonID, NoticeWeekly, body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Settlement is what closing a season did.
type Settlement struct {
	Season *Season // now closed
	Report *SeasonReport
	Notice *Notice
	Policy string
	// Openings are the opening transactions that zeroed the balances
	// (SettleZero), one per household that had one; none when carried over.
	Openings []*Transaction
}

// settleStepHook, when set (by tests only), is called after each step of
// a settlement; an error aborts it there, as a crash would.
var settleStepHook func(step int) error

// SettleSeason closes an open season in one transaction, all or nothing:
// it takes the season report and the settlement notice (the report and
// every balance before settlement), applies the policy — "" for the
// village's: carry the balances over, or zero each household's by one
// opening transaction against the village fund, posted once per season
// and household — and moves the season to closed. An error at any step
// leaves the ledger, the season and the notices exactly as they were.
func (s *Store) SettleSeason(ctx context.Context, villageID, seasonID int64, actor, policy string) (*Settlement, error) {
	if policy != "" && !slices.Contains(SettlePolicies, policy) {
		return nil, Invalid("body.policy", "结算方式无效 settlement policy must be one of %v", SettlePolicies)
	}
	out := &Settlement{}
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		out.Openings = nil
		step := 0
		next := func() error {
			step++
			if settleStepHook != nil {
				return settleStepHook(step)
			}
			return nil
		}
		se, err := getOne[Season](ctx, l.db, villageID, seasonID, "season")
		if err != nil {
			return err
		}
		if se.State != SeasonOpen {
			return Errorf(ECONFLICT, "农时当前为%[2]s，只能结算进行中的农时 season %[3]d is %[1]s; only an open season is settled", se.State, stateNamesSeason[se.State], se.ID)
		}
		out.Policy = policy
		if out.Policy == "" {
			if out.Policy, err = settlePolicy(ctx, l.db, villageID); err != nil {
				return err
			}
		}
		if err := next(); err != nil {
			return err
		}

		rep, body, err := s.noticeBody(ctx, villageID, seasonID)
		if err != nil {
			return err
		}
		out.Report, body.Policy = rep, out.Policy
		if err := next(); err != nil {
			return err
		}
		if out.Notice, err = l.writeNotice(ctx, seasonID, NoticeSettlement, body); err != nil {
			return err
		}
		if err := next(); err != nil {
			return err
		}

		if out.Policy == SettleZero {
			var accounts []*Account
			err := l.db.NewSelect().Model(&accounts).Where("village_id = ?", villageID).
				Where("household_id IS NOT NULL").Where("balance <> 0").OrderExpr("household_id").Scan(ctx)
			if err != nil {
				return translate(err, "accounts")
			}
			for _, a := range accounts {
				p := Posting{VillageID: villageID, Actor: actor,
					Memo: fmt.Sprintf("%s结算清零 season %d settled: balance zeroed", se.Name, se.ID)}
				hid := *a.HouseholdID
				meta := txMeta{kind: TxOpening, source: fmt.Sprintf("season:%d:household:%d", se.ID, hid), households: []int64{hid}}
				tx, _, err := s.postIn(ctx, l.db, p, meta, func(ctx context.Context, db bun.IDB, accounts *postingAccounts) ([]line, error) {
					acct, err := accounts.household(hid, "household")
					if err != nil {
						return nil, err
					}
					return []line{{account: acct, amount: -acct.Balance}, {account: accounts.fund, amount: acct.Balance}}, nil
				})
				if err != nil {
					return err
				}
				out.Openings = append(out.Openings, tx)
				if err := next(); err != nil {
					return err
				}
			}
		}

		old := se.Version
		se.State, se.Version, se.UpdatedAt = SeasonClosed, old+1, l.now
		res, err := l.db.NewUpdate().Model(se).Column("state", "version", "updated_at").WherePK().Where("version = ?", old).Exec(ctx)
		if err != nil {
			return translate(err, "season")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return Errorf(EPRECONDITION, "记录已被修改，请重试 season %d changed during the settlement", se.ID)
		}
		out.Season = se
		return next()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var stateNamesSeason = map[string]string{SeasonPlanned: "计划中", SeasonOpen: "进行中", SeasonClosed: "已结束"}
