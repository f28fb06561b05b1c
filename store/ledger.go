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
// carries the help given to exempt and assisted (帮扶) households and
// receives donations.
// Every transaction's entries sum to zero, so all balances sum to zero.

// Transaction kinds.
const (
	TxJob      = "job"      // a finished job: helped household debited, workers credited
	TxTransfer = "transfer" // a cadre moves workdays between two households
	TxDonation = "donation" // a household gives workdays to the village fund
	TxReversal = "reversal" // the negation of an earlier transaction
	TxOpening  = "opening"  // a season's settlement zeroing a balance (posted by the calendar's settlement, to come)
)

// FundKey is the village fund's account key; households are "household:ID".
const FundKey = "fund"

// DefaultSoftLimit is −10 workdays in half days.
const DefaultSoftLimit = -20

func householdKey(id int64) string { return "household:" + strconv.FormatInt(id, 10) }

// Account is a household's or the fund's workday account.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID          int64  `bun:",pk,autoincrement"`
	VillageID   int64  `bun:",notnull"`
	Key         string `bun:",notnull"`
	HouseholdID *int64 ``
	Balance     int64  `bun:",notnull"` // half days; kept with every posting
	// Given and Received are the household's work on jobs, net of their
	// reversals, kept with every posting like the balance (see Balance).
	Given     int64     `bun:",notnull"`
	Received  int64     `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`

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
	BeneficiaryID  *int64    ``               // the household helped by a job, even when the fund paid
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

// line is one side of a transaction before accounts are resolved, with
// what it moves on the account's totals: a posting keeps an account's
// help given and received with its balance, so a household's figures are
// read from its row, not summed over the village's ledger.
type line struct {
	account  *Account
	amount   int64 // the entry; 0 for a line that moves a total only
	given    int64 // work credited to the account on a job, negated on the job's reversal
	received int64 // work done on a job for the account's household, also when the fund paid
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
			return nil, Invalid(field, "本村无此农户 household %d does not exist in this village", householdID)
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

// postingAccounts are the accounts a posting may touch: the village
// fund's and those of the households the posting named (txMeta.households)
// that are of the village. postIn reads them with the posting's context.
type postingAccounts struct {
	fund       *Account
	households map[int64]*Account // by household ID, with the household's ID and FundCovers
}

// household returns a household's account, or EINVALID naming field when
// the household is not of the village.
func (pa *postingAccounts) household(id int64, field string) (*Account, error) {
	if a := pa.households[id]; a != nil {
		return a, nil
	}
	return nil, Invalid(field, "本村无此农户 household %d does not exist in this village", id)
}

// PostJob posts a finished job: the helped household (or, when it is
// exempt or assisted, the village fund) is debited the total and each attending member
// household credited its own half days. A job posts at most once: posting
// the same job again returns the first transaction (replayed), or
// ECONFLICT if the attendance differs; once that posting is reversed, the
// corrected attendance posts.
func (s *Store) PostJob(ctx context.Context, p Posting, jobID, helpedID int64, attendance []Attendance) (tx *Transaction, replayed bool, err error) {
	meta, build := jobPosting(jobID, helpedID, attendance)
	return s.post(ctx, p, meta, build)
}

// jobPosting is a job's posting: the helped household (or the fund, when
// it is exempt or assisted) debited the total, each worker credited its own.
func jobPosting(jobID, helpedID int64, attendance []Attendance) (txMeta, buildFunc) {
	ids := []int64{helpedID}
	for _, a := range attendance {
		ids = append(ids, a.HouseholdID)
	}
	meta := txMeta{kind: TxJob, source: strconv.FormatInt(jobID, 10), beneficiary: &helpedID, households: ids}
	return meta, func(ctx context.Context, db bun.IDB, accounts *postingAccounts) ([]line, error) {
		if len(attendance) == 0 {
			return nil, Invalid("body.attendance", "至少记录一名出工人员 a job needs at least one worker")
		}
		helped, err := accounts.household(helpedID, "body.householdId")
		if err != nil {
			return nil, err
		}
		debit := helped
		if helped.Household.FundCovers() {
			debit = accounts.fund
		}
		var lines []line
		var total int64
		seen := map[int64]bool{}
		for i, a := range attendance {
			field := fmt.Sprintf("body.attendance[%d]", i)
			switch {
			case a.HalfDays <= 0:
				return nil, Invalid(field+".workdays", "工日须大于零 workdays must be more than zero")
			case a.HouseholdID == helpedID:
				return nil, Invalid(field+".householdId", "受助户不能为自己记工 the helped household cannot be paid for its own job")
			case seen[a.HouseholdID]:
				return nil, Invalid(field+".householdId", "重复记录 household %d is listed twice", a.HouseholdID)
			}
			seen[a.HouseholdID] = true
			acct, err := accounts.household(a.HouseholdID, field+".householdId")
			if err != nil {
				return nil, err
			}
			lines = append(lines, line{account: acct, amount: a.HalfDays, given: a.HalfDays})
			total += a.HalfDays
		}
		lines = append([]line{{account: debit, amount: -total}}, lines...)
		return append(lines, line{account: helped, received: total}), nil
	}
}

// Transfer moves half days from one household's account to another's: a
// cadre's correction or a gift between neighbours.
func (s *Store) Transfer(ctx context.Context, p Posting, fromID, toID, halfDays int64) (*Transaction, bool, error) {
	meta := txMeta{kind: TxTransfer, households: []int64{fromID, toID}}
	return s.post(ctx, p, meta, func(ctx context.Context, db bun.IDB, accounts *postingAccounts) ([]line, error) {
		if fromID == toID {
			return nil, Invalid("body.to", "转出与转入不能是同一户 a transfer needs two different households")
		}
		if halfDays <= 0 {
			return nil, Invalid("body.workdays", "工日须大于零 workdays must be more than zero")
		}
		from, err := accounts.household(fromID, "body.from")
		if err != nil {
			return nil, err
		}
		to, err := accounts.household(toID, "body.to")
		if err != nil {
			return nil, err
		}
		return []line{{account: from, amount: -halfDays}, {account: to, amount: halfDays}}, nil
	})
}

// Donate gives half days of a household's to the village fund.
func (s *Store) Donate(ctx context.Context, p Posting, fromID, halfDays int64) (*Transaction, bool, error) {
	meta := txMeta{kind: TxDonation, households: []int64{fromID}}
	return s.post(ctx, p, meta, func(ctx context.Context, db bun.IDB, accounts *postingAccounts) ([]line, error) {
		if halfDays <= 0 {
			return nil, Invalid("body.workdays", "工日须大于零 workdays must be more than zero")
		}
		from, err := accounts.household(fromID, "body.from")
		if err != nil {
			return nil, err
		}
		return []line{{account: from, amount: -halfDays}, {account: accounts.fund, amount: halfDays}}, nil
	})
}

// Reverse posts the negation of a transaction, linked to it. A transaction
// is reversed at most once (ECONFLICT after), and a reversal itself is not
// reversed: post a new transaction instead.
func (s *Store) Reverse(ctx context.Context, p Posting, txID int64) (*Transaction, bool, error) {
	meta, build := reversal(p, txID)
	return s.post(ctx, p, meta, build)
}

// reversal is the posting of a transaction's negation, for Reverse and for
// a cadre reversing a disputed job inside its own transaction.
func reversal(p Posting, txID int64) (txMeta, buildFunc) {
	meta := txMeta{kind: TxReversal, source: strconv.FormatInt(txID, 10), reverses: &txID}
	return meta, func(ctx context.Context, db bun.IDB, _ *postingAccounts) ([]line, error) {
		orig, err := getTransaction(ctx, db, p.VillageID, txID)
		if err != nil {
			return nil, err
		}
		if orig.Kind == TxReversal {
			return nil, conflictNext("冲正记录不能再冲正", fmt.Sprintf("transaction %d is itself a reversal", txID), "请另记一笔", "post a new transaction instead (create-transfer)")
		}
		lines := make([]line, len(orig.Entries))
		var work int64 // the job's workers' credit, taken back
		for i, e := range orig.Entries {
			lines[i] = line{account: e.Account, amount: -e.Amount}
			if orig.Kind == TxJob && e.Amount > 0 {
				lines[i].given = -e.Amount
				work += e.Amount
			}
		}
		if work == 0 || orig.BeneficiaryID == nil {
			return lines, nil
		}
		// The helped household's account: among the entries unless the
		// fund paid for its help.
		i := slices.IndexFunc(orig.Entries, func(e *Entry) bool { return equalPtr(e.Account.HouseholdID, orig.BeneficiaryID) })
		if i >= 0 {
			return append(lines, line{account: orig.Entries[i].Account, received: -work}), nil
		}
		helped, err := householdAccount(ctx, db, p.VillageID, *orig.BeneficiaryID, "path.id")
		if err != nil {
			return nil, err
		}
		return append(lines, line{account: helped, received: -work}), nil
	}
}

// post is the one path into the ledger. Inside one write transaction it
// replays an earlier answer for the same idempotency key or source,
// resolves the lines, checks they balance, and writes the transaction, its
// entries and the new balances.
func (s *Store) post(ctx context.Context, p Posting, m txMeta, build buildFunc) (out *Transaction, replayed bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out, replayed, err = s.postIn(ctx, tx, p, m, build)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// postIn is post inside the caller's transaction, so that a change
// elsewhere (a job marked done) and its posting land together.
func (s *Store) postIn(ctx context.Context, db bun.IDB, p Posting, m txMeta, build buildFunc) (out *Transaction, replayed bool, err error) {
	kind, reverses := m.kind, m.reverses
	err = func() error {
		pc, err := s.readPosting(ctx, db, p, m)
		if err != nil {
			return err
		}
		if pc.keyUsed {
			if out, err = replayKey(ctx, db, p, kind); out != nil || err != nil {
				replayed = out != nil
				return err
			}
		}
		lines, err := build(ctx, db, pc.accounts)
		if err != nil {
			return err
		}
		lines = merge(lines)
		entries := entryLines(lines)
		sourceID, prev, err := nextSource(ctx, db, p.VillageID, m, entries, pc.sourcePosted)
		if prev != nil || err != nil {
			out, replayed = prev, prev != nil
			return err
		}
		var sum int64
		for _, l := range entries {
			sum += l.amount
		}
		if len(entries) < 2 || sum != 0 {
			return Errorf(EINVALID, "借贷不平 a transaction needs two or more entries summing to zero (got %d entries, sum %d)", len(entries), sum)
		}
		date := p.Date
		if date == "" {
			date = s.Now().In(pc.village.Location()).Format(time.DateOnly)
		} else if _, err := time.Parse(time.DateOnly, date); err != nil {
			return Invalid("body.date", "日期格式应为2026-04-20 %q is not a date like 2026-04-20", date)
		}
		out = &Transaction{
			ID: pc.nextID, VillageID: p.VillageID, Kind: kind, Memo: p.Memo, Actor: p.Actor,
			SourceKind: kind, SourceID: sourceID, RequestHash: p.RequestHash, ReversesID: reverses, BeneficiaryID: m.beneficiary,
			EntryCount: len(entries), Date: date, PostedAt: s.stamp(),
		}
		if p.IdempotencyKey != "" {
			out.IdempotencyKey = &p.IdempotencyKey
		}
		if err := s.writePosting(ctx, db, out, pc.nextEntryID, lines); err != nil {
			if ErrorCode(err) == ECONFLICT && reverses != nil {
				return Errorf(ECONFLICT, "该笔已冲正 transaction %d was already reversed", *reverses)
			}
			return err
		}
		return nil
	}()
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
		return nil, Invalid("header.Idempotency-Key", "该幂等键已用于另一请求 this Idempotency-Key was already used for a different request")
	}
	return getTransaction(ctx, db, p.VillageID, prev.ID)
}

// txMeta is what a posting is, besides its lines.
type txMeta struct {
	kind        string
	source      string // "" for none; else what posted it (a job's ID, a reversed transaction's ID)
	reverses    *int64
	beneficiary *int64
	households  []int64 // whose accounts the lines may use, besides the fund's
}

// buildFunc resolves a posting's lines from the accounts its txMeta named.
type buildFunc func(ctx context.Context, db bun.IDB, accounts *postingAccounts) ([]line, error)

// nextSource decides the source ID of a new posting, or returns the
// earlier posting this one repeats. A job posts once: again with the same
// figures replays it, with others is ECONFLICT until it is reversed; after
// a reversal the corrected figures post as the job's next revision
// ("12/2"), so UNIQUE(source) still allows one live posting at a time. A
// transaction is reversed once. postedBefore is whether postingContext found an
// earlier posting of the source: most postings have none to read.
func nextSource(ctx context.Context, db bun.IDB, villageID int64, m txMeta, lines []line, postedBefore bool) (*string, *Transaction, error) {
	if m.source == "" {
		return nil, nil, nil
	}
	if !postedBefore {
		return &m.source, nil, nil
	}
	var prevs []*Transaction
	err := db.NewSelect().Model(&prevs).Where("village_id = ?", villageID).Where("source_kind = ?", m.kind).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			// "12" or its revisions "12/2", "12/3"…: a range ('/' < '0')
			// the UNIQUE(village, kind, source) index answers; a LIKE
			// would scan the village's whole ledger on every posting.
			return q.Where("source_id = ?", m.source).WhereOr("source_id > ?"+byteOrder(db)+" AND source_id < ?"+byteOrder(db), m.source+"/", m.source+"0")
		}).OrderExpr("id DESC").Scan(ctx)
	if err != nil {
		return nil, nil, translate(err, "transaction")
	}
	if len(prevs) == 0 {
		return &m.source, nil, nil
	}
	prev := prevs[0]
	if m.kind == TxReversal {
		return nil, nil, Errorf(ECONFLICT, "该笔已冲正 transaction %s was already reversed by transaction %d", m.source, prev.ID)
	}
	reversed, err := db.NewSelect().Model((*Transaction)(nil)).Where("reverses_id = ?", prev.ID).Exists(ctx)
	if err != nil {
		return nil, nil, translate(err, "transaction")
	}
	if reversed {
		next := fmt.Sprintf("%s/%d", m.source, len(prevs)+1)
		return &next, nil, nil
	}
	if prev, err = getTransaction(ctx, db, villageID, prev.ID); err != nil {
		return nil, nil, err
	}
	// The same figures in another order are the same job: a client may
	// list the attendance in any order when it retries.
	posted := make(map[int64]int64, len(prev.Entries))
	for _, e := range prev.Entries {
		posted[e.AccountID] = e.Amount
	}
	same := len(posted) == len(lines) && equalPtr(prev.BeneficiaryID, m.beneficiary)
	for i := 0; same && i < len(lines); i++ {
		amount, ok := posted[lines[i].account.ID]
		same = ok && amount == lines[i].amount
	}
	if !same {
		return nil, nil, conflictNext("已记账且内容不同", fmt.Sprintf("%s %s was already posted as transaction %d with other figures", m.kind, m.source, prev.ID),
			"请先冲正再记", "reverse it first (reverse-transaction), then post the new figures")
	}
	return nil, prev, nil
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
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
		out[i].given += l.given
		out[i].received += l.received
	}
	return slices.DeleteFunc(out, func(l line) bool { return l == line{account: l.account} })
}

// entryLines are the lines that write an entry: those moving the balance.
func entryLines(lines []line) []line {
	return slices.DeleteFunc(slices.Clone(lines), func(l line) bool { return l.amount == 0 })
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
