package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Workdays travel as numbers in half-day steps (1.5) and are stored as
// integer half days.
func workdays(halfDays int64) float64 { return float64(halfDays) / 2 }

// Transaction is a posted ledger transaction.
type Transaction struct {
	ID         int64         `json:"id" example:"12" doc:"Transaction ID 记账编号"`
	Kind       string        `json:"kind" enum:"job,transfer,donation,reversal,opening" example:"job" doc:"What posted it 类型：派工、转账、捐赠、冲正、期初"`
	Memo       string        `json:"memo" example:"第一互助队 2026-04-21 插秧（门口田）" doc:"Note 备注"`
	Actor      string        `json:"actor" example:"cadre#token1" doc:"Who posted it 记账人"`
	Date       string        `json:"date" format:"date" example:"2026-04-22" doc:"Business date in the village 业务日期"`
	PostedAt   time.Time     `json:"postedAt" example:"2026-04-21T10:05:00Z" doc:"When it was written 记账时间"`
	ReversesID *int64        `json:"reversesId,omitempty" example:"11" doc:"The transaction this one reverses 冲正的原记账"`
	HelpedID   *int64        `json:"helpedHouseholdId,omitempty" example:"1" doc:"For a job: the household helped, also when the village fund paid 受助户"`
	Entries    []LedgerEntry `json:"entries" doc:"Entries; they sum to zero 分录（合计为零）"`
}

// LedgerEntry is one side of a transaction.
type LedgerEntry struct {
	Account     string  `json:"account" example:"household:3" doc:"household:ID or fund (村公益账户)"`
	HouseholdID *int64  `json:"householdId,omitempty" example:"3" doc:"The household, unless it is the fund 农户"`
	Workdays    float64 `json:"workdays" example:"-1.5" doc:"Positive: help given (credited); negative: help received (debited) 正数为出工，负数为受助"`
}

func transactionOf(t *store.Transaction) Transaction {
	out := Transaction{ID: t.ID, Kind: t.Kind, Memo: t.Memo, Actor: t.Actor, Date: t.Date,
		PostedAt: t.PostedAt, ReversesID: t.ReversesID, HelpedID: t.BeneficiaryID, Entries: make([]LedgerEntry, len(t.Entries))}
	for i, e := range t.Entries {
		out.Entries[i] = LedgerEntry{Workdays: workdays(e.Amount)}
		if e.Account != nil {
			out.Entries[i].Account, out.Entries[i].HouseholdID = e.Account.Key, e.Account.HouseholdID
		}
	}
	return out
}

// TransactionOutput is a posted transaction; a replay carries the header.
type TransactionOutput struct {
	Replayed string `header:"Idempotent-Replayed" example:"true" doc:"\"true\" when this answers a repeated Idempotency-Key; absent otherwise 重复请求的原答复"`
	Body     Transaction
}

func transactionOutput(t *store.Transaction, replayed bool) *TransactionOutput {
	out := &TransactionOutput{Body: transactionOf(t)}
	if replayed {
		out.Replayed = "true"
	}
	return out
}

// IdempotencyHeader is required on every posting operation.
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" example:"6f1c2a4e-8b3d-4f7a-9c55-2d0e1b7a9f10" doc:"Required. A unique key per posting, e.g. a UUID; repeating it with the same body replays the first answer, with another body is 422. 幂等键（必填）"`
}

// posting checks the Idempotency-Key and fingerprints the request: the
// operation, its path parameters and its parsed body, re-encoded so that
// whitespace or key order in the client's JSON do not matter. The key is
// scoped to the caller's subject: another caller's same key is another key.
func posting(ctx context.Context, op string, key string, params ...any) (store.Posting, error) {
	if key == "" {
		return store.Posting{}, toProblem(&store.Error{Code: store.EBADREQUEST, Field: "header.Idempotency-Key",
			Message: "记账请求须带幂等键 the Idempotency-Key header is required on postings"})
	}
	raw, err := json.Marshal(append([]any{op}, params...))
	if err != nil {
		return store.Posting{}, fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(raw)
	p := caller(ctx)
	return store.Posting{VillageID: p.VillageID, Actor: p.String(), IdempotencyKey: scopedKey(p, key), RequestHash: hex.EncodeToString(sum[:])}, nil
}

// Balance is a household's standing in the ledger.
type Balance struct {
	HouseholdID int64   `json:"householdId" example:"1" doc:"Household 农户"`
	HeadName    string  `json:"headName" example:"章仁标" doc:"Head of household 户主"`
	Group       int     `json:"group" example:"1" doc:"Village group 村民小组"`
	Balance     float64 `json:"balance" example:"-4.5" doc:"Workdays: positive, the village owes it help; negative, it owes help 工日余额"`
	Given       float64 `json:"given" example:"6" doc:"Workdays of help given on jobs 出工工日"`
	Received    float64 `json:"received" example:"10.5" doc:"Workdays of help received on jobs 受助工日"`
	BelowLimit  bool    `json:"belowLimit" example:"false" doc:"Below the village's soft limit: flagged for the cadre, help is never refused 低于提醒线"`
}

// BalancesBody is list-balances' answer.
type BalancesBody struct {
	Items     []Balance `json:"items" doc:"One line per household 各户余额"`
	Fund      *float64  `json:"fund,omitempty" example:"-7.5" doc:"The village fund's balance (公益账户), shown to cadres 村公益账户余额"`
	SoftLimit float64   `json:"softLimit" example:"-10" doc:"The village's soft limit in workdays 提醒线（工日）"`
}

// StatementLine is one entry with the balance after it.
type StatementLine struct {
	TransactionID int64   `json:"transactionId" example:"12" doc:"The transaction 记账编号"`
	Kind          string  `json:"kind" enum:"job,transfer,donation,reversal,opening" example:"job" doc:"What posted it 类型"`
	Memo          string  `json:"memo" example:"第一互助队 2026-04-21 插秧（门口田）" doc:"Note 备注"`
	Date          string  `json:"date" format:"date" example:"2026-04-21" doc:"Business date 业务日期"`
	Workdays      float64 `json:"workdays" example:"1.5" doc:"This entry 本笔工日"`
	Balance       float64 `json:"balance" example:"3" doc:"Balance after it 结余"`
	ReversesID    *int64  `json:"reversesId,omitempty" example:"11" doc:"The transaction this one reverses 冲正的原记账"`
}

// Statement is a household's entries over a date range.
type Statement struct {
	HouseholdID int64           `json:"householdId" example:"1" doc:"Household 农户"`
	HeadName    string          `json:"headName" example:"章仁标" doc:"Head of household 户主"`
	From        string          `json:"from,omitempty" format:"date" example:"2026-04-01" doc:"First date, when asked 起始日期"`
	To          string          `json:"to,omitempty" format:"date" example:"2026-05-31" doc:"Last date, when asked 截止日期"`
	Opening     float64         `json:"opening" example:"0" doc:"Balance before from 期初"`
	Closing     float64         `json:"closing" example:"-4.5" doc:"Balance after to 期末"`
	Lines       []StatementLine `json:"lines" doc:"Entries by date 明细"`
}

// TransferInput is a cadre's manual posting.
type TransferInput struct {
	Kind     string  `json:"kind,omitempty" enum:"transfer,donation" default:"transfer" example:"transfer" doc:"transfer: between two households; donation: a household gives to the village fund 转账或捐给公益"`
	From     int64   `json:"from" minimum:"1" example:"12" doc:"Household giving the workdays 转出户"`
	To       int64   `json:"to,omitempty" minimum:"1" example:"1" doc:"Household receiving them (transfer only) 转入户"`
	Workdays float64 `json:"workdays" exclusiveMinimum:"0" maximum:"1000" multipleOf:"0.5" example:"1.5" doc:"Workdays in half-day steps 工日（半天为单位）"`
	Memo     string  `json:"memo" minLength:"1" maxLength:"200" example:"补记春耕互助" doc:"Why, for the public notice 事由"`
}

// Verification is verify-ledger's answer.
type Verification struct {
	OK           bool     `json:"ok" example:"false" doc:"true when every balance equals its entries and every transaction sums to zero 账目平衡"`
	Accounts     int      `json:"accounts" example:"58" doc:"Accounts checked 账户数"`
	Transactions int      `json:"transactions" example:"214" doc:"Transactions checked 记账笔数"`
	Entries      int      `json:"entries" example:"655" doc:"Entries checked 分录数"`
	Total        float64  `json:"total" example:"0" doc:"Sum of all balances; 0 in a sound ledger 余额合计"`
	Mismatches   []string `json:"mismatches" example:"[\"account household:3: balance -9, entries sum to -6\"]" doc:"What does not add up 不平之处"`
}

// withNextStep adds what to do instead to a 409 whose store message does
// not say it: a transaction reversed already, or a reversal, is corrected
// by a new posting, not another reversal.
func withNextStep(err error, zh, en string) error {
	var e *store.Error
	if !errors.As(err, &e) || e.Code != store.ECONFLICT {
		return err
	}
	return &store.Error{Code: e.Code, Field: e.Field, Message: e.Message + "；下一步：" + zh + "; next: " + en}
}

func (s *Server) addLedgerRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-balances", Method: http.MethodGet, Path: "/v1/balances",
		Summary: "工日余额 Workday balances", Tags: []string{"ledger"},
		Description: "村干部看全村，队长看本队队员户（及本队派工帮过的户，限进行中的农时或90天内），农户看本户。 A cadre sees every household, sortable by balance; a leader its team's member " +
			"households; a household its own. household= narrows to one (outside the caller's view: 404); a leader may also " +
			"name a household its team helps (one with a scheduled, confirmed or done job of the team in a season still open or dated " +
			"within the last 90 days in the village).",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		Sort       string `query:"sort" enum:"household,balance,-balance" default:"household" example:"balance" doc:"household order, lowest balance first, or highest first 排序"`
		BelowLimit bool   `query:"belowLimit" example:"true" doc:"Only households below the soft limit 只看低于提醒线的户"`
		Household  int64  `query:"household" minimum:"0" example:"1" doc:"Only this household 只看某户"`
	}) (*struct{ Body BalancesBody }, error) {
		p := caller(ctx)
		q := store.BalanceQuery{Sort: in.Sort, BelowLimit: in.BelowLimit, HouseholdID: in.Household}
		switch p.Role {
		case store.RoleHousehold:
			if q.HouseholdID != 0 && q.HouseholdID != p.HouseholdID {
				return nil, deny(ctx, "household", q.HouseholdID)
			}
			q.HouseholdID = p.HouseholdID
		case store.RoleLeader:
			q.TeamID = p.TeamID
			if q.HouseholdID != 0 {
				helps, err := s.store.TeamHelps(ctx, p.VillageID, p.TeamID, q.HouseholdID)
				if err != nil {
					return nil, s.problem(ctx, err)
				}
				if helps {
					q.TeamID = 0
				}
			}
		}
		rows, fund, err := s.store.Balances(ctx, p.VillageID, q)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		v, err := s.store.GetVillage(ctx, p.VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body BalancesBody }{}
		out.Body.Items = make([]Balance, len(rows))
		for i, r := range rows {
			out.Body.Items[i] = Balance{HouseholdID: r.HouseholdID, HeadName: r.HeadName, Group: r.Group,
				Balance: workdays(r.Balance), Given: workdays(r.Given), Received: workdays(r.Received), BelowLimit: r.BelowLimit}
		}
		if q.HouseholdID != 0 && len(rows) == 0 {
			return nil, deny(ctx, "household", q.HouseholdID)
		}
		if p.Role == store.RoleCadre {
			f := workdays(fund)
			out.Body.Fund = &f
		}
		out.Body.SoftLimit = workdays(v.SoftLimit)
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-statement", Method: http.MethodGet, Path: "/v1/households/{id}/statement",
		Summary: "工日明细 A household's workday statement", Tags: []string{"ledger"},
		Description: "农户只能看本户，队长看本队队员户及本队派工帮过的户（限进行中的农时或90天内）。 Entries dated in [from, to] with the running balance. A household reads only its own, " +
			"a leader its team's member households and the households its team helps (a scheduled, confirmed or done job, in a season " +
			"still open or dated within the last 90 days).",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		From string `query:"from" format:"date" example:"2026-04-01" doc:"First date, YYYY-MM-DD 起始日期"`
		To   string `query:"to" format:"date" example:"2026-05-31" doc:"Last date, YYYY-MM-DD 截止日期"`
	}) (*struct{ Body Statement }, error) {
		p := caller(ctx)
		switch p.Role {
		case store.RoleHousehold:
			if p.HouseholdID != in.ID {
				return nil, deny(ctx, "household", in.ID)
			}
		case store.RoleLeader:
			t, err := s.store.GetTeam(ctx, p.VillageID, p.TeamID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if !slices.ContainsFunc(t.Members, func(m *store.TeamMember) bool { return m.HouseholdID == in.ID }) {
				helps, err := s.store.TeamHelps(ctx, p.VillageID, p.TeamID, in.ID)
				if err != nil {
					return nil, s.problem(ctx, err)
				}
				if !helps {
					return nil, deny(ctx, "household", in.ID)
				}
			}
		}
		st, err := s.store.Statement(ctx, p.VillageID, in.ID, in.From, in.To)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		names, err := s.store.Names(ctx, p.VillageID, store.NameRefs{Households: []int64{in.ID}})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body Statement }{Body: Statement{HouseholdID: st.HouseholdID, HeadName: names.HeadName(in.ID), From: st.From, To: st.To,
			Opening: workdays(st.Opening), Closing: workdays(st.Closing), Lines: make([]StatementLine, len(st.Lines))}}
		for i, l := range st.Lines {
			out.Body.Lines[i] = StatementLine{TransactionID: l.TransactionID, Kind: l.Kind, Memo: l.Memo, Date: l.Date,
				Workdays: workdays(l.Amount), Balance: workdays(l.Running), ReversesID: l.ReversesID}
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-transfer", Method: http.MethodPost, Path: "/v1/transfers",
		Summary: "手工转账或捐赠 Post a transfer or a donation", Tags: []string{"ledger"}, Security: secured(store.RoleCadre),
		Description: "须带幂等键。 Needs an Idempotency-Key: the same key and body replays the first answer (header Idempotent-Replayed: true); " +
			"the same key with another body is 422.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IdempotencyHeader
		Body TransferInput
	}) (*TransactionOutput, error) {
		p, err := posting(ctx, "create-transfer", in.IdempotencyKey, in.Body)
		if err != nil {
			return nil, err
		}
		p.Memo = in.Body.Memo
		half := int64(in.Body.Workdays * 2)
		var t *store.Transaction
		var replayed bool
		switch in.Body.Kind {
		case store.TxDonation:
			if in.Body.To != 0 {
				return nil, s.problem(ctx, store.Invalid("body.to", "捐赠转入村公益账户，不填转入户 a donation goes to the village fund; leave out to"))
			}
			t, replayed, err = s.store.Donate(ctx, p, in.Body.From, half)
		default:
			if in.Body.To == 0 {
				return nil, s.problem(ctx, store.Invalid("body.to", "转账须填转入户 a transfer needs the receiving household"))
			}
			t, replayed, err = s.store.Transfer(ctx, p, in.Body.From, in.Body.To, half)
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return transactionOutput(t, replayed), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-transaction", Method: http.MethodGet, Path: "/v1/transactions/{id}",
		Summary: "查看记账 Get a ledger transaction", Tags: []string{"ledger"}, Security: secured(store.RoleCadre),
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*TransactionOutput, error) {
		t, err := s.store.GetTransaction(ctx, caller(ctx).VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return transactionOutput(t, false), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "reverse-transaction", Method: http.MethodPost, Path: "/v1/transactions/{id}/reversal",
		Summary: "冲正 Reverse a transaction", Tags: []string{"ledger"}, Security: secured(store.RoleCadre),
		Description: "每笔最多冲正一次。 Posts the negated entries, linked to the original. A transaction is reversed at most once (409 after); " +
			"a reversal is not reversed (409); either 409 says to post a transfer if something is still wrong. Needs an Idempotency-Key.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IdempotencyHeader
		Body struct {
			Memo string `json:"memo" minLength:"1" maxLength:"200" example:"记错了出工人" doc:"Why 冲正原因"`
		}
	}) (*TransactionOutput, error) {
		p, err := posting(ctx, "reverse-transaction", in.IdempotencyKey, in.ID, in.Body)
		if err != nil {
			return nil, err
		}
		p.Memo = in.Body.Memo
		t, replayed, err := s.store.Reverse(ctx, p, in.ID)
		if err != nil {
			return nil, s.problem(ctx, withNextStep(err, "如仍有出入，请另记一笔转账", "if something is still wrong, post a transfer (create-transfer)"))
		}
		return transactionOutput(t, replayed), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "verify-ledger", Method: http.MethodGet, Path: "/v1/ledger/verify",
		Summary: "核账 Verify the ledger", Tags: []string{"ledger"}, Security: secured(store.RoleCadre),
		Description: "重算余额并核对。 Recomputes every balance from its entries and checks every transaction sums to zero.",
		Errors:      []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body Verification }, error) {
		v, err := s.store.VerifyLedger(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		mm := v.Mismatches
		if mm == nil {
			mm = []string{}
		}
		return &struct{ Body Verification }{Body: Verification{OK: v.OK(), Accounts: v.Accounts, Transactions: v.Transactions,
			Entries: v.Entries, Total: workdays(v.Total), Mismatches: mm}}, nil
	})
}
