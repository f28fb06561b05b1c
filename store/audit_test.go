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
