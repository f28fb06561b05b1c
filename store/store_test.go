package store_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"huangong/store"
)

// wantPragmas are what every pooled connection must report.
var wantPragmas = []struct{ name, want string }{
	{"journal_mode", "wal"},
	{"synchronous", "2"},
	{"foreign_keys", "1"},
	{"busy_timeout", "5000"},
}

// holdConns takes n connections from the pool at once, so each is a
// different connection, and returns them; they are closed when the test ends.
func holdConns(t *testing.T, st *store.Store, n int) []bun.Conn {
	t.Helper()
	conns := make([]bun.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := st.DB().Conn(t.Context())
		require.NoError(t, err)
		conns = append(conns, c)
	}
	return conns
}

func assertPragmas(t *testing.T, conns []bun.Conn) {
	t.Helper()
	for i, c := range conns {
		for _, p := range wantPragmas {
			var got string
			require.NoError(t, c.QueryRowContext(t.Context(), "PRAGMA "+p.name).Scan(&got))
			assert.Equal(t, p.want, strings.ToLower(got), "connection %d: pragma %s", i, p.name)
		}
	}
}

// openSQLite opens a store on a SQLite file in t's temp dir, whatever
// database the suite runs on: the pragma tests are SQLite's alone.
func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	st, _ := MustOpenAt(t, filepath.Join(t.TempDir(), "x.db"))
	return st
}

func TestOpen_PragmasOnEveryConnection(t *testing.T) {
	t.Run("pooled connections", func(t *testing.T) {
		st := openSQLite(t)
		assertPragmas(t, holdConns(t, st, 4))
	})
	t.Run("connections opened after start-up", func(t *testing.T) {
		st := openSQLite(t)
		// With no idle connections kept, every Conn below is a new one,
		// so the pragmas must come from the DSN, not from start-up code.
		st.DB().SetMaxIdleConns(0)
		conns := holdConns(t, st, 4)
		st.DB().SetMaxIdleConns(4)
		assertPragmas(t, conns)
	})
}

func TestCheckPragmas(t *testing.T) {
	t.Run("all set", func(t *testing.T) {
		st := openSQLite(t)
		assert.NoError(t, st.CheckPragmas(t.Context(), 4))
	})
	t.Run("one connection changed", func(t *testing.T) {
		st := openSQLite(t)
		c, err := st.DB().Conn(t.Context())
		require.NoError(t, err)
		_, err = c.ExecContext(t.Context(), "PRAGMA foreign_keys = OFF")
		require.NoError(t, err)
		require.NoError(t, c.Close()) // back to the pool, still off
		// Holding as many connections as the pool has reaches the bad one.
		err = st.CheckPragmas(t.Context(), 4)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "foreign_keys")
	})
}

func TestDSN(t *testing.T) {
	wantPragma := []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)", "busy_timeout(5000)"}
	for _, tc := range []struct {
		name, path, wantBase, wantTxlock string
		wantOther                        url.Values
	}{
		{name: "relative path", path: "huangong.db", wantBase: "file:huangong.db", wantTxlock: "immediate"},
		{name: "absolute path", path: "/var/lib/huangong/huangong.db", wantBase: "file:/var/lib/huangong/huangong.db", wantTxlock: "immediate"},
		{name: "path with URI characters", path: "/data/村#1/100%.db", wantBase: "file:/data/村%231/100%25.db", wantTxlock: "immediate"},
		{name: "file DSN", path: "file:huangong.db", wantBase: "file:huangong.db", wantTxlock: "immediate"},
		{name: "file DSN with its own parameters", path: "file:huangong.db?_time_format=sqlite&_txlock=exclusive",
			wantBase: "file:huangong.db", wantTxlock: "exclusive", wantOther: url.Values{"_time_format": {"sqlite"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := store.DSN(tc.path)
			base, query, ok := strings.Cut(dsn, "?")
			require.True(t, ok, "DSN %q has no query", dsn)
			assert.Equal(t, tc.wantBase, base)
			q, err := url.ParseQuery(query)
			require.NoError(t, err)
			assert.Equal(t, []string{tc.wantTxlock}, q["_txlock"], "DSN %q", dsn)
			assert.ElementsMatch(t, wantPragma, q["_pragma"], "DSN %q", dsn)
			for k, v := range tc.wantOther {
				assert.Equal(t, v, q[k], "DSN %q: %s", dsn, k)
			}
		})
	}
}

func TestOpen_RefusesInMemory(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"empty", ""},
		{"memory", ":memory:"},
		{"file URI", "file::memory:"},
		{"shared cache", "file::memory:?cache=shared"},
		{"memory mode", "file:x.db?mode=memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(t.Context(), tc.path)
			if !assert.Error(t, err) {
				st.Close()
			}
		})
	}
}

func TestOpen_PathsThatLookLikeURIs(t *testing.T) {
	// The path becomes a file: URI; characters that mean something in a
	// URI must still name the file the caller gave.
	for _, name := range []string{"plain.db", "皇珠村 2026.db", "村#1.db", "100%.db", "a%20b.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			st, _ := MustOpenAt(t, path)
			MustVillage(t, st, "皇珠村")
			_, err := os.Stat(path)
			assert.NoError(t, err, "database file at the path given")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.True(t, strings.HasPrefix(e.Name(), name), "stray file %q in the database directory", e.Name())
			}
		})
	}
}

// SQLite-only (a file reopened, sqlite_master); on Postgres every test
// opening a store migrates a fresh database, and a second instance
// starting on a migrated one is cmd/huangong's two-instance test.
func TestOpen_Twice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	first, _ := MustOpenAt(t, path)
	v := MustVillage(t, first, "皇珠村")
	require.NoError(t, first.Close())

	st, _ := MustOpenAt(t, path) // migrations already applied: nothing to redo
	require.NoError(t, st.Migrate(t.Context()))
	for _, table := range []string{"villages", "households", "fields", "teams", "team_members", "tokens", "audit_log"} {
		var n int
		err := st.DB().QueryRowContext(t.Context(),
			"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "table %s", table)
	}
	got, err := st.GetVillage(t.Context(), v.ID)
	require.NoError(t, err)
	assert.Equal(t, "皇珠村", got.Name)
}
