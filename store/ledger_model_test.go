package store_test

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"huangong/store"
)

// TestLedger_Model runs random sequences of job postings, transfers,
// donations, reversals and retries, valid and not, against the store and
// against a plain in-memory model of the ledger, and after every step
// checks that every transaction sums to zero, all balances sum to zero,
// each balance equals the model's and the recompute from entries, and
// that refused requests wrote nothing.
//
// Each check gets its own database file, a copy of one migrated once.
// Tune with -rapid.checks (default 100; 25 under -race unless given) and
// -rapid.steps (default 30 per check).
// SQLite-only: each check starts from a copy of an empty database file
// (a fresh Postgres database per check would cost more than the check).
func TestLedger_Model(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); ledgerRaceBuild() && f != nil && f.Value.String() == f.DefValue {
		old := f.Value.String()
		require.NoError(t, f.Value.Set("25"))
		t.Cleanup(func() { f.Value.Set(old) })
	}
	dir := t.TempDir()
	template := filepath.Join(dir, "template.db")
	require.NoError(t, ledgerOpen(t, template).Close()) // the last close checkpoints the WAL away
	empty, err := os.ReadFile(template)
	require.NoError(t, err)

	var checks, steps, posted int
	outcomes := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		checks++
		path := filepath.Join(dir, fmt.Sprintf("model-%d.db", checks))
		require.NoError(rt, os.WriteFile(path, empty, 0o600))
		st := ledgerOpen(rt, path)
		defer func() {
			st.Close()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}()
		m := newLedgerModel(rt, st)
		rt.Repeat(map[string]func(*rapid.T){
			"job":      m.job,
			"transfer": m.transfer,
			"donate":   m.donate,
			"reverse":  m.reverse,
			"retry":    m.retry,
			"":         m.check,
		})
		m.checkEnd(rt)
		steps += m.steps
		posted += len(m.txs)
		for k, n := range m.outcomes {
			outcomes[k] += n
		}
	})
	t.Logf("%d checks, %d steps, %d transactions posted; outcomes %v", checks, steps, posted, outcomes)
}

// ledgerBadDate is a date that looks right and is not one.
const ledgerBadDate = "2026-02-30"

// ledgerLine is one side of a transaction in the model: a household's
// account, or the fund's under 0.
type ledgerLine struct{ account, amount int64 }

// ledgerModelTx is a transaction the model knows was posted.
type ledgerModelTx struct {
	id       int64
	kind     string
	lines    []ledgerLine
	reverses *ledgerModelTx
	reversed bool
	req      ledgerReq // the request that posted it
}

// ledgerReq is one request to the ledger, kept whole so it can be sent
// again as it was.
type ledgerReq struct {
	kind       string
	key, date  string
	job        int64 // job
	helped     int64 // job
	attendance []store.Attendance
	from, to   int64 // transfer, donation
	amount     int64
	tx         int64 // reversal
}

// hash is the request's fingerprint, as the API would take it from the body.
func (r ledgerReq) hash() string {
	return fmt.Sprintf("%s date=%s job=%d helped=%d att=%v from=%d to=%d amount=%d tx=%d",
		r.kind, r.date, r.job, r.helped, r.attendance, r.from, r.to, r.amount, r.tx)
}

func (r ledgerReq) String() string { return fmt.Sprintf("%s key=%q", r.hash(), r.key) }

// ledgerWant is what the model expects of a request.
type ledgerWant struct {
	code   string         // the error's code, or "" for success
	replay *ledgerModelTx // the earlier transaction the request replays
	lines  []ledgerLine   // the new transaction's lines
}

type ledgerModel struct {
	st         *store.Store
	village    int64
	softLimit  int64
	households []int64
	exempt     map[int64]bool // every household of the village is a key

	// Another village, its household and its transaction: never touched.
	other, foreign, foreignTx int64

	balance         map[int64]int64 // household → half days; the fund under 0
	given, received map[int64]int64
	txs             []*ledgerModelTx
	byID            map[int64]*ledgerModelTx
	jobs            map[int64]*ledgerModelTx
	keys            map[string]*ledgerModelTx
	last            *ledgerReq
	steps           int
	outcomes        map[string]int // "posted", "replayed" or the error code
}

func newLedgerModel(t *rapid.T, st *store.Store) *ledgerModel {
	ctx := context.Background()
	softLimit := rapid.SampledFrom([]int64{0, -4, -1}).Draw(t, "soft limit")
	v := ledgerVillage(t, st, "东岭村", softLimit)
	m := &ledgerModel{
		st: st, village: v.ID, softLimit: v.SoftLimit, exempt: map[int64]bool{},
		balance: map[int64]int64{0: 0}, given: map[int64]int64{}, received: map[int64]int64{},
		byID: map[int64]*ledgerModelTx{}, jobs: map[int64]*ledgerModelTx{}, keys: map[string]*ledgerModelTx{},
		outcomes: map[string]int{},
	}
	exempt := rapid.SliceOfN(rapid.Bool(), 2, 6).Draw(t, "exempt")
	for i, ex := range exempt {
		h := &store.Household{VillageID: v.ID, HeadName: fmt.Sprintf("户主%d", i+1), Group: 1, Laborers: 2, Members: 3, Exempt: ex}
		require.NoError(t, st.CreateHousehold(ctx, h))
		m.households = append(m.households, h.ID)
		m.exempt[h.ID] = ex
		m.balance[h.ID] = 0
	}
	other := ledgerVillage(t, st, "西岭村", 0)
	fs := ledgerHouseholds(t, st, other.ID, 2)
	tx, _, err := st.Transfer(ctx, ledgerPosting(other.ID), fs[0].ID, fs[1].ID, 2)
	require.NoError(t, err)
	m.other, m.foreign, m.foreignTx = other.ID, fs[0].ID, tx.ID
	return m
}

// Draws shared by the actions.

// drawKey is no key for two requests in three, else one of a few keys,
// so that keys now and then come back with another request.
func (m *ledgerModel) drawKey(t *rapid.T) string {
	if rapid.IntRange(0, 2).Draw(t, "keyed") > 0 {
		return ""
	}
	return fmt.Sprintf("key-%d", rapid.IntRange(1, 12).Draw(t, "key"))
}

func (m *ledgerModel) drawDate(t *rapid.T) string {
	return []string{"", "", "", "", "", "", "2026-04-01", "2026-05-01", "2026-04-20", ledgerBadDate}[rapid.IntRange(0, 9).Draw(t, "date")]
}

// drawAmount is mostly a valid amount, now and then zero or negative.
func (m *ledgerModel) drawAmount(t *rapid.T, label string) int64 {
	if rapid.IntRange(0, 9).Draw(t, label+" invalid") == 0 {
		return rapid.Int64Range(-2, 0).Draw(t, label)
	}
	return rapid.Int64Range(1, 8).Draw(t, label)
}

// drawUnknown is a household the village does not have.
func (m *ledgerModel) drawUnknown(t *rapid.T, label string) int64 {
	return rapid.SampledFrom([]int64{m.foreign, 999999}).Draw(t, label)
}

// The actions.

func (m *ledgerModel) job(t *rapid.T) {
	r := ledgerReq{kind: store.TxJob, job: rapid.Int64Range(1, 6).Draw(t, "job"), key: m.drawKey(t), date: m.drawDate(t)}
	if prev := m.jobs[r.job]; prev != nil && rapid.Bool().Draw(t, "same attendance") {
		// The same job again, its attendance perhaps in another order.
		r.helped = prev.req.helped
		r.attendance = rapid.Permutation(prev.req.attendance).Draw(t, "order")
		m.do(t, r)
		return
	}
	r.helped = rapid.SampledFrom(m.households).Draw(t, "helped")
	others := slices.DeleteFunc(slices.Clone(m.households), func(h int64) bool { return h == r.helped })
	n := rapid.IntRange(1, min(3, len(others))).Draw(t, "workers")
	for _, h := range rapid.SliceOfNDistinct(rapid.SampledFrom(others), n, n, func(h int64) int64 { return h }).Draw(t, "attendance") {
		r.attendance = append(r.attendance, store.Attendance{HouseholdID: h, HalfDays: rapid.Int64Range(1, 8).Draw(t, "half days")})
	}
	i := rapid.IntRange(0, len(r.attendance)-1).Draw(t, "which")
	switch rapid.IntRange(0, 19).Draw(t, "mutation") {
	case 0:
		r.attendance[i].HalfDays = rapid.Int64Range(-2, 0).Draw(t, "bad half days")
	case 1:
		r.attendance = append(r.attendance, store.Attendance{HouseholdID: r.attendance[i].HouseholdID, HalfDays: 1})
	case 2:
		r.attendance = slices.Insert(r.attendance, i, store.Attendance{HouseholdID: r.helped, HalfDays: 2})
	case 3:
		r.attendance[i].HouseholdID = m.drawUnknown(t, "unknown worker")
	case 4:
		r.attendance = nil
	case 5:
		r.helped = m.drawUnknown(t, "unknown helped")
	}
	m.do(t, r)
}

func (m *ledgerModel) transfer(t *rapid.T) {
	r := ledgerReq{kind: store.TxTransfer, key: m.drawKey(t), date: m.drawDate(t),
		from: rapid.SampledFrom(m.households).Draw(t, "from"), amount: m.drawAmount(t, "amount")}
	others := slices.DeleteFunc(slices.Clone(m.households), func(h int64) bool { return h == r.from })
	r.to = rapid.SampledFrom(others).Draw(t, "to")
	switch rapid.IntRange(0, 14).Draw(t, "mutation") {
	case 0:
		r.from = m.drawUnknown(t, "unknown from")
	case 1:
		r.to = m.drawUnknown(t, "unknown to")
	case 2:
		r.to = r.from
	}
	m.do(t, r)
}

func (m *ledgerModel) donate(t *rapid.T) {
	r := ledgerReq{kind: store.TxDonation, key: m.drawKey(t), date: m.drawDate(t),
		from: rapid.SampledFrom(m.households).Draw(t, "from"), amount: m.drawAmount(t, "amount")}
	if rapid.IntRange(0, 9).Draw(t, "mutation") == 0 {
		r.from = m.drawUnknown(t, "unknown from")
	}
	m.do(t, r)
}

func (m *ledgerModel) reverse(t *rapid.T) {
	r := ledgerReq{kind: store.TxReversal, key: m.drawKey(t), date: m.drawDate(t)}
	if len(m.txs) == 0 || rapid.IntRange(0, 9).Draw(t, "unknown") == 0 {
		r.tx = rapid.SampledFrom([]int64{m.foreignTx, 999999}).Draw(t, "unknown tx")
	} else {
		r.tx = m.txs[rapid.IntRange(0, len(m.txs)-1).Draw(t, "tx")].id
	}
	m.do(t, r)
}

// retry sends the last request again as it was, as a client does after a
// timeout: keyed requests and jobs replay, the rest post again.
func (m *ledgerModel) retry(t *rapid.T) {
	if m.last == nil {
		t.Skip("nothing sent yet")
	}
	m.do(t, *m.last)
}

// do sends a request to the store and checks the answer against the
// model's, then records what was posted.
func (m *ledgerModel) do(t *rapid.T, r ledgerReq) {
	m.steps++
	m.last = &r
	want := m.predict(r)
	got, replayed, err := m.send(r)
	switch {
	case want.code != "":
		m.outcomes[r.kind+" "+want.code]++
	case want.replay != nil:
		m.outcomes[r.kind+" replayed"]++
	default:
		m.outcomes[r.kind+" posted"]++
	}
	if want.code != "" {
		if store.ErrorCode(err) != want.code {
			t.Fatalf("%v: got %v (tx %v), want %s", r, err, got, want.code)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v: %v", r, err)
	}
	lines := m.linesOf(t, got)
	if want.replay != nil {
		if !replayed || got.ID != want.replay.id {
			t.Fatalf("%v: got tx %d (replayed %v), want replay of %d", r, got.ID, replayed, want.replay.id)
		}
		assert.Equal(t, want.replay.lines, lines, "%v: replayed entries", r)
		return
	}
	if replayed {
		t.Fatalf("%v: replayed tx %d, want a new one", r, got.ID)
	}
	if n := len(m.txs); n > 0 && got.ID <= m.txs[n-1].id {
		t.Fatalf("%v: new tx %d is not after %d", r, got.ID, m.txs[n-1].id)
	}
	assert.Equal(t, r.kind, got.Kind, "%v", r)
	assert.Equal(t, want.lines, lines, "%v: entries", r)
	date := r.date
	if date == "" {
		date = "2026-04-20"
	}
	assert.Equal(t, date, got.Date, "%v", r)
	m.commit(r, got.ID, want.lines)
}

func (m *ledgerModel) send(r ledgerReq) (*store.Transaction, bool, error) {
	ctx := context.Background()
	p := store.Posting{VillageID: m.village, Actor: "model", IdempotencyKey: r.key, RequestHash: r.hash(), Date: r.date}
	switch r.kind {
	case store.TxJob:
		return m.st.PostJob(ctx, p, r.job, r.helped, r.attendance)
	case store.TxTransfer:
		return m.st.Transfer(ctx, p, r.from, r.to, r.amount)
	case store.TxDonation:
		return m.st.Donate(ctx, p, r.from, r.amount)
	case store.TxReversal:
		return m.st.Reverse(ctx, p, r.tx)
	}
	panic("unknown kind " + r.kind)
}

// predict is the model's answer to a request, in the order a careful
// clerk would check it: the idempotency key first, then the request
// itself, then whether its source already posted, then its date.
func (m *ledgerModel) predict(r ledgerReq) ledgerWant {
	if r.key != "" {
		if prev := m.keys[r.key]; prev != nil {
			if prev.kind == r.kind && prev.req.hash() == r.hash() {
				return ledgerWant{replay: prev}
			}
			return ledgerWant{code: store.EINVALID}
		}
	}
	lines, code := m.linesFor(r)
	if code != "" {
		return ledgerWant{code: code}
	}
	switch r.kind {
	case store.TxJob:
		// A job's live posting replays or conflicts; once reversed, the job
		// posts again (its next revision).
		if prev := m.jobs[r.job]; prev != nil && !prev.reversed {
			if ledgerSameLines(prev.lines, lines) && prev.req.helped == r.helped {
				return ledgerWant{replay: prev}
			}
			return ledgerWant{code: store.ECONFLICT}
		}
	case store.TxReversal:
		if m.byID[r.tx].reversed {
			return ledgerWant{code: store.ECONFLICT}
		}
	}
	if r.date == ledgerBadDate {
		return ledgerWant{code: store.EINVALID}
	}
	return ledgerWant{lines: lines}
}

// linesFor is what a request would post, or the code it is refused with.
func (m *ledgerModel) linesFor(r ledgerReq) ([]ledgerLine, string) {
	known := func(h int64) bool { _, ok := m.exempt[h]; return ok }
	switch r.kind {
	case store.TxJob:
		if len(r.attendance) == 0 || !known(r.helped) {
			return nil, store.EINVALID
		}
		debit := r.helped
		if m.exempt[r.helped] {
			debit = 0
		}
		lines := []ledgerLine{{debit, 0}}
		seen := map[int64]bool{}
		for _, a := range r.attendance {
			if a.HalfDays <= 0 || a.HouseholdID == r.helped || seen[a.HouseholdID] || !known(a.HouseholdID) {
				return nil, store.EINVALID
			}
			seen[a.HouseholdID] = true
			lines[0].amount -= a.HalfDays
			lines = append(lines, ledgerLine{a.HouseholdID, a.HalfDays})
		}
		return lines, ""
	case store.TxTransfer:
		if r.from == r.to || r.amount <= 0 || !known(r.from) || !known(r.to) {
			return nil, store.EINVALID
		}
		return []ledgerLine{{r.from, -r.amount}, {r.to, r.amount}}, ""
	case store.TxDonation:
		if r.amount <= 0 || !known(r.from) {
			return nil, store.EINVALID
		}
		return []ledgerLine{{r.from, -r.amount}, {0, r.amount}}, ""
	case store.TxReversal:
		orig := m.byID[r.tx]
		switch {
		case orig == nil:
			return nil, store.ENOTFOUND
		case orig.kind == store.TxReversal:
			return nil, store.ECONFLICT
		}
		lines := make([]ledgerLine, len(orig.lines))
		for i, l := range orig.lines {
			lines[i] = ledgerLine{l.account, -l.amount}
		}
		return lines, ""
	}
	panic("unknown kind " + r.kind)
}

// ledgerSameLines compares lines as sets: a job retried with its
// attendance in another order is the same job.
func ledgerSameLines(a, b []ledgerLine) bool {
	sort := func(ls []ledgerLine) []ledgerLine {
		return slices.SortedFunc(slices.Values(ls), func(x, y ledgerLine) int { return cmp.Compare(x.account, y.account) })
	}
	return slices.Equal(sort(a), sort(b))
}

func (m *ledgerModel) linesOf(t *rapid.T, tx *store.Transaction) []ledgerLine {
	var out []ledgerLine
	for _, e := range tx.Entries {
		if e.Account == nil {
			t.Fatalf("tx %d: entry %d without its account", tx.ID, e.ID)
		}
		if e.Account.VillageID != m.village {
			t.Fatalf("tx %d: entry %d on account %d of village %d", tx.ID, e.ID, e.AccountID, e.Account.VillageID)
		}
		var h int64
		if e.Account.HouseholdID != nil {
			h = *e.Account.HouseholdID
		}
		out = append(out, ledgerLine{h, e.Amount})
	}
	return out
}

// commit records a new transaction in the model.
func (m *ledgerModel) commit(r ledgerReq, id int64, lines []ledgerLine) {
	tx := &ledgerModelTx{id: id, kind: r.kind, lines: lines, req: r}
	m.txs = append(m.txs, tx)
	m.byID[id] = tx
	for _, l := range lines {
		m.balance[l.account] += l.amount
	}
	// Given and received count jobs and the reversals of jobs.
	countsAsWork, sign := r.kind == store.TxJob, int64(1)
	switch r.kind {
	case store.TxJob:
		m.jobs[r.job] = tx
	case store.TxReversal:
		tx.reverses = m.byID[r.tx]
		tx.reverses.reversed = true
		countsAsWork, sign = tx.reverses.kind == store.TxJob, -1
	}
	// Help received counts for the helped household even when the fund
	// paid for it (an exempt household): it is what the workers gave.
	if countsAsWork {
		helped := r.helped
		if tx.reverses != nil {
			helped = tx.reverses.req.helped
		}
		for _, l := range lines {
			if l.amount*sign > 0 && l.account != 0 {
				m.given[l.account] += l.amount
				m.received[helped] += l.amount
			}
		}
	}
	if r.key != "" {
		m.keys[r.key] = tx
	}
}

// checkEnd runs after the last step: the whole database is sound and the
// other village untouched.
func (m *ledgerModel) checkEnd(t *rapid.T) {
	ledgerCheckBooks(t, m.st)
	other, fund := ledgerBalances(t, m.st, m.other)
	assert.Equal(t, map[int64]int64{m.foreign: -2, m.foreign + 1: 2}, other, "the other village's households")
	assert.Zero(t, fund, "the other village's fund")
}

// check runs after every step.
func (m *ledgerModel) check(t *rapid.T) {
	ctx := context.Background()
	ver := ledgerCheckBooks(t, m.st, m.village)[m.village]
	assert.Equal(t, len(m.txs), ver.Transactions, "transactions posted (refused requests write nothing)")

	// The books as stored equal the model's.
	bal, fund := ledgerBalances(t, m.st, m.village)
	want := map[int64]int64{}
	for _, h := range m.households {
		want[h] = m.balance[h]
	}
	assert.Equal(t, want, bal, "household balances")
	assert.Equal(t, m.balance[0], fund, "fund balance")

	// And so do the balances a cadre reads.
	rows, fund, err := m.st.Balances(ctx, m.village, store.BalanceQuery{})
	require.NoError(t, err)
	assert.Equal(t, m.balance[0], fund, "Balances: fund")
	require.Len(t, rows, len(m.households))
	for i, r := range rows {
		h := m.households[i]
		assert.Equal(t, h, r.HouseholdID)
		assert.Equal(t, m.balance[h], r.Balance, "Balances: household %d", h)
		assert.Equal(t, m.given[h], r.Given, "Balances: household %d given", h)
		assert.Equal(t, m.received[h], r.Received, "Balances: household %d received", h)
		// A fund-covered household is never flagged as owing (issue 15).
		assert.Equal(t, m.balance[h] < m.softLimit && !m.exempt[h], r.BelowLimit, "Balances: household %d below %d", h, m.softLimit)
	}
}
