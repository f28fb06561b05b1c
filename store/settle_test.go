package store

// These tests live inside the package: they abort a settlement at each of
// its steps through settleStepHook, which only tests set.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store/testdb"
)

// settleEnv is a village with an open season and a ledger that is not
// zero: three households helped or helping, a transfer and a donation.
type settleEnv struct {
	ctx    context.Context
	st     *Store
	v      *Village
	season *Season
	hh     []*Household
}

func mustSettleEnv(t *testing.T) *settleEnv {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, testdb.Database(t, "settle.db"))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	now := time.Date(2026, 5, 10, 21, 0, 0, 0, time.FixedZone("CST", 8*3600))
	st.Now = func() time.Time { return now }
	e := &settleEnv{ctx: ctx, st: st}
	e.v = &Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"}
	require.NoError(t, st.CreateVillage(ctx, e.v))
	for i, name := range []string{"章仁标", "章吉仙", "周国华", "王春生"} {
		h := &Household{VillageID: e.v.ID, HeadName: name, Group: 1 + i%2, Laborers: 2, Members: 3}
		require.NoError(t, st.CreateHousehold(ctx, h))
		e.hh = append(e.hh, h)
	}
	e.season = &Season{VillageID: e.v.ID, Kind: SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10", Tasks: []string{TaskTransplant}}
	require.NoError(t, st.CreateSeason(ctx, e.season))
	e.season, err = st.UpdateSeason(ctx, e.v.ID, e.season.ID, 0, func(se *Season) error { se.State = SeasonOpen; return nil })
	require.NoError(t, err)

	p := func(key string) Posting {
		return Posting{VillageID: e.v.ID, Actor: "cadre#test", Memo: key, IdempotencyKey: key}
	}
	// 章仁标 helped by 章吉仙 (3 half days) and 周国华 (2).
	_, _, err = st.PostJob(ctx, p("job1"), 1, e.hh[0].ID, []Attendance{{e.hh[1].ID, 3}, {e.hh[2].ID, 2}})
	require.NoError(t, err)
	_, _, err = st.Transfer(ctx, p("t1"), e.hh[2].ID, e.hh[3].ID, 1)
	require.NoError(t, err)
	_, _, err = st.Donate(ctx, p("d1"), e.hh[1].ID, 1)
	require.NoError(t, err)
	return e
}

// snapshot is every row of the tables a settlement may touch, as text.
func (e *settleEnv) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range []string{"ledger_transactions", "ledger_entries", "accounts", "seasons", "notices", "outbox"} {
		rows, err := e.st.DB().QueryContext(e.ctx, "SELECT * FROM "+table+" ORDER BY id")
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return out
}

func (e *settleEnv) balances(t *testing.T) map[int64]int64 {
	t.Helper()
	rows, fund, err := e.st.Balances(e.ctx, e.v.ID, BalanceQuery{})
	require.NoError(t, err)
	out := map[int64]int64{0: fund}
	for _, r := range rows {
		out[r.HouseholdID] = r.Balance
	}
	return out
}

// withHook sets settleStepHook for the rest of the test.
func withHook(t *testing.T, hook func(step int) error) {
	t.Helper()
	settleStepHook = hook
	t.Cleanup(func() { settleStepHook = nil })
}

// settleSteps counts a settlement's steps under a policy: the season
// loaded, the report, the notice, one per opening posted, the close.
func settleSteps(policy string, nonZero int) int {
	if policy == SettleZero {
		return 4 + nonZero
	}
	return 4
}

func TestSettlementKilledHalfwayLeavesEverythingAsBefore(t *testing.T) {
	for _, policy := range SettlePolicies {
		t.Run(policy, func(t *testing.T) {
			e := mustSettleEnv(t)
			before := e.snapshot(t)
			balances := e.balances(t)
			nonZero := 0
			for id, b := range balances {
				if id != 0 && b != 0 {
					nonZero++
				}
			}
			require.Equal(t, 4, nonZero, "every household has a balance to settle")
			steps := settleSteps(policy, nonZero)
			killed := errors.New("killed")
			// Every step, killed by an error and by a panic; then a few
			// at random, as a crash would pick.
			rng := rand.New(rand.NewPCG(6, 29))
			type kill struct {
				step  int
				panic bool
			}
			var cases []kill
			for step := 1; step <= steps; step++ {
				cases = append(cases, kill{step, false}, kill{step, true})
			}
			for range 3 {
				cases = append(cases, kill{1 + rng.IntN(steps), rng.IntN(2) == 0})
			}
			for _, c := range cases {
				name := fmt.Sprintf("step %d of %d", c.step, steps)
				if c.panic {
					name += " panic"
				}
				t.Run(name, func(t *testing.T) {
					reached := 0
					withHook(t, func(step int) error {
						reached = step
						if step < c.step {
							return nil
						}
						if c.panic {
							panic(killed)
						}
						return killed
					})
					func() {
						defer func() {
							if p := recover(); p != nil {
								assert.True(t, c.panic, "unexpected panic %v", p)
							}
						}()
						_, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "scheduler:close", policy)
						assert.ErrorIs(t, err, killed)
					}()
					assert.Equal(t, c.step, reached, "the hook saw the step it kills")
					assert.Equal(t, before, e.snapshot(t), "the records are exactly as before")
				})
			}

			// Not killed, it settles.
			settleStepHook = nil
			res, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "scheduler:close", policy)
			require.NoError(t, err)
			assert.Equal(t, SeasonClosed, res.Season.State)
			assert.NotEqual(t, before, e.snapshot(t))
		})
	}
}

func TestSettlementCarriesOverOrZeroes(t *testing.T) {
	t.Run("carry over, the default", func(t *testing.T) {
		e := mustSettleEnv(t)
		before := e.balances(t)
		txs := countRowsIn(t, e.st, "ledger_transactions")
		res, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "scheduler:close", "")
		require.NoError(t, err)
		assert.Equal(t, SettleCarry, res.Policy)
		assert.Empty(t, res.Openings)
		assert.Equal(t, before, e.balances(t), "balances carry over")
		assert.Equal(t, txs, countRowsIn(t, e.st, "ledger_transactions"), "nothing posted")

		se, err := e.st.GetSeason(e.ctx, e.v.ID, e.season.ID)
		require.NoError(t, err)
		assert.Equal(t, SeasonClosed, se.State)
		assert.Equal(t, e.season.Version+1, se.Version)

		// The notice keeps the report and the balances as they stood.
		notices, err := e.st.ListNotices(e.ctx, e.v.ID, e.season.ID)
		require.NoError(t, err)
		require.Len(t, notices, 1)
		n := notices[0]
		assert.Equal(t, NoticeSettlement, n.Kind)
		assert.Equal(t, "2026 春耕 结算公示", n.Title)
		assert.Equal(t, SettleCarry, n.Body.Policy)
		assert.Equal(t, res.Report.Received, n.Body.Report.Received)
		require.Len(t, n.Body.Balances, 4)
		for _, b := range n.Body.Balances {
			assert.Equal(t, before[b.HouseholdID], b.Balance, b.HeadName)
		}
		assert.Equal(t, before[0], n.Body.Fund)
		ev, err := e.st.Outbox(e.ctx, e.v.ID, OutboxFilter{Audience: AudienceCadre, AudienceID: e.v.ID})
		require.NoError(t, err)
		require.NotEmpty(t, ev)
		assert.Equal(t, EventNotice, ev[len(ev)-1].Event)
		assert.Equal(t, n.ID, ev[len(ev)-1].SubjectID)

		_, err = e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "scheduler:close", "")
		assert.Equal(t, ECONFLICT, ErrorCode(err), "a season settles once: %v", err)
	})

	t.Run("zeroed by the village's policy", func(t *testing.T) {
		e := mustSettleEnv(t)
		require.NoError(t, e.st.SetSettlePolicy(e.ctx, e.v.ID, SettleZero))
		before := e.balances(t)
		var entries int
		require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM ledger_entries").Scan(&entries))
		res, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "scheduler:close", "")
		require.NoError(t, err)
		assert.Equal(t, SettleZero, res.Policy)
		require.Len(t, res.Openings, 4, "one opening transaction per household with a balance")
		for id, b := range e.balances(t) {
			assert.Zero(t, b, "account of household %d (0: the fund)", id)
		}
		for _, tx := range res.Openings {
			assert.Equal(t, TxOpening, tx.Kind)
			require.Len(t, tx.Entries, 2)
			hh := tx.Entries[0].Account
			require.NotNil(t, hh.HouseholdID)
			assert.Equal(t, fmt.Sprintf("season:%d:household:%d", e.season.ID, *hh.HouseholdID), *tx.SourceID)
			assert.Equal(t, -before[*hh.HouseholdID], tx.Entries[0].Amount, "household −balance")
			assert.Equal(t, FundKey, tx.Entries[1].Account.Key)
			assert.Equal(t, before[*hh.HouseholdID], tx.Entries[1].Amount, "fund +balance")
		}
		// Entries were added, never edited: the old ones are all still there.
		var after int
		require.NoError(t, e.st.DB().QueryRow("SELECT COUNT(*) FROM ledger_entries").Scan(&after))
		assert.Equal(t, entries+8, after)
		ver, err := e.st.VerifyLedger(e.ctx, e.v.ID)
		require.NoError(t, err)
		assert.True(t, ver.OK(), "%v", ver.Mismatches)

		notices, err := e.st.ListNotices(e.ctx, e.v.ID, 0)
		require.NoError(t, err)
		require.Len(t, notices, 1)
		assert.Equal(t, SettleZero, notices[0].Body.Policy)
		assert.Equal(t, before[e.hh[0].ID], notices[0].Body.Balances[0].Balance, "the notice shows the balance before zeroing")
	})

	t.Run("policy given overrides the village's; bad ones are refused", func(t *testing.T) {
		e := mustSettleEnv(t)
		require.NoError(t, e.st.SetSettlePolicy(e.ctx, e.v.ID, SettleZero))
		_, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "cadre#1", "forgive")
		assert.Equal(t, EINVALID, ErrorCode(err))
		assert.Equal(t, EINVALID, ErrorCode(e.st.SetSettlePolicy(e.ctx, e.v.ID, "forgive")))
		assert.Equal(t, ENOTFOUND, ErrorCode(e.st.SetSettlePolicy(e.ctx, 999, SettleCarry)))
		res, err := e.st.SettleSeason(e.ctx, e.v.ID, e.season.ID, "cadre#1", SettleCarry)
		require.NoError(t, err)
		assert.Empty(t, res.Openings)
	})

	t.Run("only an open season", func(t *testing.T) {
		e := mustSettleEnv(t)
		planned := &Season{VillageID: e.v.ID, Kind: SeasonAutumn, StartDate: "2026-10-08", EndDate: "2026-11-07", Tasks: []string{TaskHarvest}}
		require.NoError(t, e.st.CreateSeason(e.ctx, planned))
		_, err := e.st.SettleSeason(e.ctx, e.v.ID, planned.ID, "cadre#1", "")
		assert.Equal(t, ECONFLICT, ErrorCode(err))
		_, err = e.st.SettleSeason(e.ctx, e.v.ID, 999, "cadre#1", "")
		assert.Equal(t, ENOTFOUND, ErrorCode(err))
	})
}

func TestPublishNotice(t *testing.T) {
	e := mustSettleEnv(t)
	n, err := e.st.PublishNotice(e.ctx, e.v.ID, e.season.ID, "scheduler:notice")
	require.NoError(t, err)
	assert.Equal(t, NoticeWeekly, n.Kind)
	assert.Equal(t, "2026 春耕 公示", n.Title)
	assert.Len(t, n.Body.Balances, 4)
	se, err := e.st.GetSeason(e.ctx, e.v.ID, e.season.ID)
	require.NoError(t, err)
	assert.Equal(t, SeasonOpen, se.State, "a weekly notice closes nothing")
	_, err = e.st.DB().ExecContext(e.ctx, "UPDATE notices SET title = 'x'")
	assert.Error(t, err, "notices are append-only")
}

// countRowsIn counts a table's rows.
func countRowsIn(t *testing.T, st *Store, table string) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}
