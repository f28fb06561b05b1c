package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// The ledger counts workdays in half days. A household's account is
// credited the help it gives and debited the help it receives, so a
// positive balance is help the village owes it. The village fund (公益)
// carries the help given to exempt households and receives donations.
// Every transaction's entries sum to zero, so all balances sum to zero.

// Transaction kinds.
const (
	TxJob      = "job"      // a finished job: helped household debited, workers credited
	TxTransfer = "transfer" // a cadre moves workdays between two households
	TxDonation = "donation" // a household gives workdays to the village fund
	TxReversal = "reversal" // the negation of an earlier transaction
	TxOpening  = "opening"  // a season's settlement zeroing a balance
)

// FundKey is the village fund's account key; households are "household:ID".
const FundKey = "fund"

// DefaultSoftLimit is −10 workdays in half days.
const DefaultSoftLimit = -20

func householdKey(id int64) string { return "household:" + strconv.FormatInt(id, 10) }

// Account is a household's or the fund's workday account.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID          int64     `bun:",pk,autoincrement"`
	VillageID   int64     `bun:",notnull"`
	Key         string    `bun:",notnull"`
	HouseholdID *int64    ``
	Balance     int64     `bun:",notnull"` // half days; kept with every posting
	CreatedAt   time.Time `bun:",notnull"`

	Household *Household `bun:"rel:belongs-to,join:household_id=id"`
}

// Transaction is one posting. It and its entries are never changed: the
// database refuses UPDATE and DELETE on both tables.
type Transaction struct {
	bun.BaseModel `bun:"table:ledger_transactions"`

	ID             int64     `bun:",pk,autoincrement"`
	VillageID      int64     `bun:",notnull"`
	Kind           string    `bun:",notnull"`
	Memo           string    `bun:",notnull"`
	Actor          string    `bun:",notnull"`
	SourceKind     string    `bun:",notnull"` // with SourceID: what posted it, at most once
	SourceID       *string   ``
	IdempotencyKey *string   ``
	RequestHash    string    `bun:",notnull"` // fingerprint of the request that posted it
	ReversesID     *int64    ``               // UNIQUE: a transaction is reversed at most once
	EntryCount     int       `bun:",notnull"`
	Date           string    `bun:",notnull"` // business date in the village's timezone
	PostedAt       time.Time `bun:",notnull"`

	Entries []*Entry `bun:"rel:has-many,join:id=transaction_id"`
}

// Entry moves Amount half days into (positive) or out of (negative) an account.
type Entry struct {
	bun.BaseModel `bun:"table:ledger_entries"`

	ID            int64 `bun:",pk,autoincrement"`
	TransactionID int64 `bun:",notnull"`
	AccountID     int64 `bun:",notnull"`
	Amount        int64 `bun:",notnull"`

	Account *Account `bun:"rel:belongs-to,join:account_id=id"`
}

// Posting is what every ledger write carries besides its amounts.
type Posting struct {
	VillageID      int64
	Actor          string // who asked: "cadre#token1", "leader:team2#token5"
	Memo           string
	IdempotencyKey string // "" for none; else the same key replays the first answer
	RequestHash    string // fingerprint of the request; a reused key must match it
	Date           string // business date YYYY-MM-DD; "" for today in the village
}

// Attendance is one member household's work on a job.
type Attendance struct {
	HouseholdID int64
	HalfDays    int64
}

// line is one side of a transaction before accounts are resolved.
type line struct {
	account *Account
	amount  int64
}

func (s *Store) createAccount(ctx context.Context, db bun.IDB, villageID int64, householdID *int64) error {
	a := &Account{VillageID: villageID, Key: FundKey, HouseholdID: householdID, CreatedAt: s.Now().UTC()}
	if householdID != nil {
		a.Key = householdKey(*householdID)
	}
	_, err := db.NewInsert().Model(a).Exec(ctx)
	return translate(err, "account")
}

// householdAccount returns a household's account in the village, or
// EINVALID naming field when the household is not of the village.
func householdAccount(ctx context.Context, db bun.IDB, villageID, householdID int64, field string) (*Account, error) {
	a := new(Account)
	err := db.NewSelect().Model(a).Relation("Household").
		Where("account.village_id = ?", villageID).Where("account.household_id = ?", householdID).Scan(ctx)
	if err != nil {
		if err = translate(err, "account"); ErrorCode(err) == ENOTFOUND {
			return nil, Invalid(field, "household %d does not exist in this village 本村无此农户", householdID)
		}
		return nil, err
	}
	return a, nil
}

func fundAccount(ctx context.Context, db bun.IDB, villageID int64) (*Account, error) {
	a := new(Account)
	err := db.NewSelect().Model(a).Where("village_id = ?", villageID).Where("key = ?", FundKey).Scan(ctx)
	return a, translate(err, "village fund account")
}

// PostJob posts a finished job: the helped household (or, when it is
// exempt, the village fund) is debited the total and each attending member
// household credited its own half days. A job posts at most once: posting
// the same job again returns the first transaction (replayed), or
// ECONFLICT if the attendance differs.
func (s *Store) PostJob(ctx context.Context, p Posting, jobID, helpedID int64, attendance []Attendance) (tx *Transaction, replayed bool, err error) {
	source := strconv.FormatInt(jobID, 10)
	return s.post(ctx, p, TxJob, &source, nil, func(ctx context.Context, db bun.IDB) ([]line, error) {
		if len(attendance) == 0 {
			return nil, Invalid("body.attendance", "a job needs at least one worker 至少记录一名出工人员")
		}
		helped, err := householdAccount(ctx, db, p.VillageID, helpedID, "body.householdId")
		if err != nil {
			return nil, err
		}
		debit := helped
		if helped.Household.Exempt {
			if debit, err = fundAccount(ctx, db, p.VillageID); err != nil {
				return nil, err
			}
		}
		var lines []line
		var total int64
		seen := map[int64]bool{}
		for i, a := range attendance {
			field := fmt.Sprintf("body.attendance[%d]", i)
			switch {
			case a.HalfDays <= 0:
				return nil, Invalid(field+".workdays", "workdays must be more than zero 工日须大于零")
			case a.HouseholdID == helpedID:
				return nil, Invalid(field+".householdId", "the helped household cannot be paid for its own job 受助户不能为自己记工")
			case seen[a.HouseholdID]:
				return nil, Invalid(field+".householdId", "household %d is listed twice 重复记录", a.HouseholdID)
			}
			seen[a.HouseholdID] = true
			acct, err := householdAccount(ctx, db, p.VillageID, a.HouseholdID, field+".householdId")
			if err != nil {
				return nil, err
			}
			lines = append(lines, line{acct, a.HalfDays})
			total += a.HalfDays
		}
		return append([]line{{debit, -total}}, lines...), nil
	})
}

// Transfer moves half days from one household's account to another's: a
// cadre's correction or a gift between neighbours.
func (s *Store) Transfer(ctx context.Context, p Posting, fromID, toID, halfDays int64) (*Transaction, bool, error) {
	return s.post(ctx, p, TxTransfer, nil, nil, func(ctx context.Context, db bun.IDB) ([]line, error) {
		if fromID == toID {
			return nil, Invalid("body.to", "a transfer needs two different households 转出与转入不能是同一户")
		}
		if halfDays <= 0 {
			return nil, Invalid("body.workdays", "workdays must be more than zero 工日须大于零")
		}
		from, err := householdAccount(ctx, db, p.VillageID, fromID, "body.from")
		if err != nil {
			return nil, err
		}
		to, err := householdAccount(ctx, db, p.VillageID, toID, "body.to")
		if err != nil {
			return nil, err
		}
		return []line{{from, -halfDays}, {to, halfDays}}, nil
	})
}

// Donate gives half days of a household's to the village fund.
func (s *Store) Donate(ctx context.Context, p Posting, fromID, halfDays int64) (*Transaction, bool, error) {
	return s.post(ctx, p, TxDonation, nil, nil, func(ctx context.Context, db bun.IDB) ([]line, error) {
		if halfDays <= 0 {
			return nil, Invalid("body.workdays", "workdays must be more than zero 工日须大于零")
		}
		from, err := householdAccount(ctx, db, p.VillageID, fromID, "body.from")
		if err != nil {
			return nil, err
		}
		fund, err := fundAccount(ctx, db, p.VillageID)
		if err != nil {
			return nil, err
		}
		return []line{{from, -halfDays}, {fund, halfDays}}, nil
	})
}

// Reverse posts the negation of a transaction, linked to it. A transaction
// is reversed at most once (ECONFLICT after), and a reversal itself is not
// reversed: post a new transaction instead.
func (s *Store) Reverse(ctx context.Context, p Posting, txID int64) (*Transaction, bool, error) {
	source := strconv.FormatInt(txID, 10)
	return s.post(ctx, p, TxReversal, &source, &txID, func(ctx context.Context, db bun.IDB) ([]line, error) {
		orig, err := getTransaction(ctx, db, p.VillageID, txID)
		if err != nil {
			return nil, err
		}
		if orig.Kind == TxReversal {
			return nil, Errorf(ECONFLICT, "transaction %d is itself a reversal; post a new transaction instead 冲正记录不能再冲正", txID)
		}
		lines := make([]line, len(orig.Entries))
		for i, e := range orig.Entries {
			lines[i] = line{e.Account, -e.Amount}
		}
		return lines, nil
	})
}

// post is the one path into the ledger. Inside one write transaction it
// replays an earlier answer for the same idempotency key or source,
// resolves the lines, checks they balance, and writes the transaction, its
// entries and the new balances.
func (s *Store) post(ctx context.Context, p Posting, kind string, sourceID *string, reverses *int64,
	build func(context.Context, bun.IDB) ([]line, error),
) (out *Transaction, replayed bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, db bun.Tx) error {
		v, err := s.village(ctx, db, p.VillageID)
		if err != nil {
			return err
		}
		if out, err = replayKey(ctx, db, p, kind); out != nil || err != nil {
			replayed = out != nil
			return err
		}
		lines, err := build(ctx, db)
		if err != nil {
			return err
		}
		lines = merge(lines)
		if out, err = replaySource(ctx, db, p.VillageID, kind, sourceID, lines); out != nil || err != nil {
			replayed = out != nil
			return err
		}
		var sum int64
		for _, l := range lines {
			sum += l.amount
		}
		if len(lines) < 2 || sum != 0 {
			return Errorf(EINVALID, "a transaction needs two or more entries summing to zero (got %d entries, sum %d) 借贷不平", len(lines), sum)
		}
		date := p.Date
		if date == "" {
			date = s.Now().In(v.Location()).Format(time.DateOnly)
		} else if _, err := time.Parse(time.DateOnly, date); err != nil {
			return Invalid("body.date", "%q is not a date like 2026-04-20 日期格式应为2026-04-20", date)
		}
		out = &Transaction{
			VillageID: p.VillageID, Kind: kind, Memo: p.Memo, Actor: p.Actor,
			SourceKind: kind, SourceID: sourceID, RequestHash: p.RequestHash, ReversesID: reverses,
			EntryCount: len(lines), Date: date, PostedAt: s.Now().UTC(),
		}
		if p.IdempotencyKey != "" {
			out.IdempotencyKey = &p.IdempotencyKey
		}
		if _, err := db.NewInsert().Model(out).Exec(ctx); err != nil {
			if err = translate(err, "transaction"); ErrorCode(err) == ECONFLICT && reverses != nil {
				return Errorf(ECONFLICT, "transaction %d was already reversed 该笔已冲正", *reverses)
			}
			return err
		}
		for _, l := range lines {
			e := &Entry{TransactionID: out.ID, AccountID: l.account.ID, Amount: l.amount, Account: l.account}
			if _, err := db.NewInsert().Model(e).Exec(ctx); err != nil {
				return translate(err, "ledger entry")
			}
			res, err := db.NewUpdate().Model((*Account)(nil)).Set("balance = balance + ?", l.amount).
				Where("id = ?", l.account.ID).Exec(ctx)
			if err != nil {
				return translate(err, "account balance")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("account %d: balance not updated", l.account.ID)
			}
			l.account.Balance += l.amount
			out.Entries = append(out.Entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// replayKey finds the earlier posting of the same idempotency key, which
// must have been the same kind of request with the same fingerprint.
func replayKey(ctx context.Context, db bun.IDB, p Posting, kind string) (*Transaction, error) {
	if p.IdempotencyKey == "" {
		return nil, nil
	}
	prev := new(Transaction)
	err := db.NewSelect().Model(prev).Where("village_id = ?", p.VillageID).Where("idempotency_key = ?", p.IdempotencyKey).Scan(ctx)
	switch err = translate(err, "transaction"); ErrorCode(err) {
	case ENOTFOUND:
		return nil, nil
	case "":
	default:
		return nil, err
	}
	if prev.Kind != kind || prev.RequestHash != p.RequestHash {
		return nil, Invalid("header.Idempotency-Key", "this Idempotency-Key was already used for a different request 该幂等键已用于另一请求")
	}
	return getTransaction(ctx, db, p.VillageID, prev.ID)
}

// replaySource finds the earlier posting from the same source: a job posts
// once (again with the same lines replays it, with others is ECONFLICT),
// and a transaction is reversed once.
func replaySource(ctx context.Context, db bun.IDB, villageID int64, kind string, sourceID *string, lines []line) (*Transaction, error) {
	if sourceID == nil {
		return nil, nil
	}
	prev := new(Transaction)
	err := db.NewSelect().Model(prev).Where("village_id = ?", villageID).
		Where("source_kind = ?", kind).Where("source_id = ?", *sourceID).Scan(ctx)
	switch err = translate(err, "transaction"); ErrorCode(err) {
	case ENOTFOUND:
		return nil, nil
	case "":
	default:
		return nil, err
	}
	if kind == TxReversal {
		return nil, Errorf(ECONFLICT, "transaction %s was already reversed by transaction %d 该笔已冲正", *sourceID, prev.ID)
	}
	prev, err = getTransaction(ctx, db, villageID, prev.ID)
	if err != nil {
		return nil, err
	}
	same := len(prev.Entries) == len(lines)
	for i := 0; same && i < len(lines); i++ {
		same = prev.Entries[i].AccountID == lines[i].account.ID && prev.Entries[i].Amount == lines[i].amount
	}
	if !same {
		return nil, Errorf(ECONFLICT, "%s %s was already posted as transaction %d with other figures; reverse it first 已记账且内容不同，请先冲正", kind, *sourceID, prev.ID)
	}
	return prev, nil
}

// merge folds lines on the same account into one, keeping first-seen
// order, and drops lines that cancel out.
func merge(lines []line) []line {
	out := make([]line, 0, len(lines))
	for _, l := range lines {
		i := slices.IndexFunc(out, func(o line) bool { return o.account.ID == l.account.ID })
		if i < 0 {
			out = append(out, l)
			continue
		}
		out[i].amount += l.amount
	}
	return slices.DeleteFunc(out, func(l line) bool { return l.amount == 0 })
}

func getTransaction(ctx context.Context, db bun.IDB, villageID, id int64) (*Transaction, error) {
	t := new(Transaction)
	err := db.NewSelect().Model(t).
		Relation("Entries", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("entry.id") }).
		Relation("Entries.Account").
		Where("?TableAlias.village_id = ?", villageID).Where("?TableAlias.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("transaction %d", id))
	}
	return t, nil
}

// GetTransaction returns a transaction of the village with its entries.
func (s *Store) GetTransaction(ctx context.Context, villageID, id int64) (*Transaction, error) {
	return getTransaction(ctx, s.db, villageID, id)
}
