package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func mustAudit(t *testing.T, st *store.Store, villageID *int64, action string) *store.AuditEntry {
	t.Helper()
	e := &store.AuditEntry{VillageID: villageID, Actor: "cadre#1", Action: action, Target: "/v1/households", Status: 201, Outcome: store.OutcomeOK}
	require.NoError(t, st.AppendAudit(t.Context(), e))
	return e
}

func TestAudit_AppendOnly(t *testing.T) {
	for _, tc := range []struct{ name, sql string }{
		{"update one line", "UPDATE audit_log SET outcome = 'denied' WHERE id = 1"},
		{"update every line", "UPDATE audit_log SET actor = 'anonymous'"},
		{"delete one line", "DELETE FROM audit_log WHERE id = 1"},
		{"delete every line", "DELETE FROM audit_log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			v := MustVillage(t, st, "皇珠村")
			first := mustAudit(t, st, &v.ID, "create-household")
			require.Equal(t, int64(1), first.ID)
			mustAudit(t, st, nil, "get-household")

			_, err := st.DB().ExecContext(t.Context(), tc.sql)
			assert.ErrorContains(t, err, "append-only")

			got, _, err := st.ListAudit(t.Context(), v.ID, store.Page{})
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, "cadre#1", got[0].Actor)
			assert.Equal(t, store.OutcomeOK, got[0].Outcome)
			assert.Equal(t, 2, CountRows(t, st, "audit_log"))
		})
	}
}

func TestAudit_Append(t *testing.T) {
	st, clock := MustOpen(t)
	v := MustVillage(t, st, "皇珠村")
	stamped := mustAudit(t, st, &v.ID, "create-household")
	AssertSameTime(t, t0, stamped.At, "stamped from the clock")

	at := t0.Add(-time.Minute)
	given := &store.AuditEntry{ID: 77, VillageID: &v.ID, Actor: "anonymous", Action: "list-households", Target: "/v1/households",
		Status: 401, Outcome: store.OutcomeDenied, At: at}
	clock.Advance(time.Hour)
	require.NoError(t, st.AppendAudit(t.Context(), given))
	assert.Equal(t, stamped.ID+1, given.ID, "the ID is the database's, not the caller's")

	got, _, err := st.ListAudit(t.Context(), v.ID, store.Page{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	AssertSameTime(t, at, got[1].At, "a time given is kept")
	assert.Equal(t, 401, got[1].Status)
	assert.Equal(t, store.OutcomeDenied, got[1].Outcome)
}

func TestAudit_ListPages(t *testing.T) {
	for _, pc := range PageCases {
		t.Run(pageCaseName(pc.n), func(t *testing.T) {
			st, _ := MustOpen(t)
			a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
			var want []int64
			for i := range pc.n {
				want = append(want, mustAudit(t, st, &a.ID, fmt.Sprintf("action-%d", i)).ID)
				if i%2 == 0 {
					mustAudit(t, st, &b.ID, "other village")
					mustAudit(t, st, nil, "no village") // e.g. a request with no valid token
				}
			}
			got, pages := CollectPages(t, 3, func(p store.Page) ([]*store.AuditEntry, int64, error) {
				return st.ListAudit(t.Context(), a.ID, p)
			}, func(e *store.AuditEntry) int64 { return e.ID })
			assert.Equal(t, want, got, "each of A's lines once, oldest first, none of B's")
			assert.Equal(t, pc.pages, pages)
		})
	}
}

// TestAudit_WrittenWithTheChange: a change's audit line commits in the
// change's own transaction — both or neither — and a refused change
// leaves its line to the caller.
func TestAudit_WrittenWithTheChange(t *testing.T) {
	ctx := t.Context()
	st := ledgerStore(t)
	v := ledgerVillage(t, st, "皇珠村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 2)
	p := store.Posting{VillageID: v.ID, Actor: "cadre#token1"}
	pending := func(target string) *store.PendingAudit {
		return &store.PendingAudit{Entry: store.AuditEntry{VillageID: &v.ID, Actor: "cadre#token1", Action: "create-transfer", Target: target, Status: 201}}
	}

	ok := pending("/v1/transfers")
	tx, _, err := st.Transfer(store.WithAudit(ctx, ok), p, hs[0].ID, hs[1].ID, 2)
	require.NoError(t, err)
	require.True(t, ok.Written())
	lines, _, err := st.ListAudit(ctx, v.ID, store.Page{})
	require.NoError(t, err)
	require.Len(t, lines, 1)
	assert.Equal(t, "create-transfer", lines[0].Action)
	assert.Equal(t, store.OutcomeOK, lines[0].Outcome)
	assert.Equal(t, 201, lines[0].Status)

	refused := pending("/v1/transfers")
	_, _, err = st.Transfer(store.WithAudit(ctx, refused), p, hs[0].ID, hs[0].ID, 2)
	assert.Equal(t, store.EINVALID, store.ErrorCode(err))
	assert.False(t, refused.Written(), "nothing committed, the caller writes the refusal's line")
	assert.Equal(t, 1, CountRows(t, st, "audit_log"))

	// The line cannot be written: the posting rolls back with it.
	refuse := []string{`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_log WHEN NEW.target = '/boom'
		BEGIN SELECT RAISE(ABORT, 'refused'); END`}
	if st.Postgres() {
		refuse = []string{`CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.target = '/boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refuse()`}
	}
	for _, q := range refuse {
		_, err = st.DB().ExecContext(ctx, q)
		require.NoError(t, err)
	}
	boom := pending("/boom")
	_, _, err = st.Transfer(store.WithAudit(ctx, boom), p, hs[0].ID, hs[1].ID, 3)
	require.Error(t, err)
	assert.False(t, boom.Written())
	assert.Equal(t, 1, CountRows(t, st, "ledger_transactions"), "no posting without its audit line")
	assert.Equal(t, 1, CountRows(t, st, "audit_log"))

	// A second write of the same request does not write the line again.
	twice := pending("/v1/transfers")
	actx := store.WithAudit(ctx, twice)
	_, _, err = st.Transfer(actx, p, hs[1].ID, hs[0].ID, 1)
	require.NoError(t, err)
	_, replayed, err := st.Reverse(actx, p, tx.ID)
	require.NoError(t, err)
	require.False(t, replayed)
	assert.Equal(t, 2, CountRows(t, st, "audit_log"))
	assert.Equal(t, 3, CountRows(t, st, "ledger_transactions"))
}
