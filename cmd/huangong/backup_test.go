package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/seed"
	"huangong/store"
)

// TestBackupRestore: a backup of the demo database restores into a new
// file and, with --force only, over a database that holds data; the
// restored copy holds the backup's postings and not later ones; a file
// that is not a backup is refused and nothing is replaced.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	runCmd := commandRunner(ctx)
	_, err := runCmd("seed", "--db", db)
	require.NoError(t, err)
	transactions := func(path string) int {
		st, err := store.Open(ctx, path)
		require.NoError(t, err)
		defer st.Close()
		n, err := st.DB().NewSelect().Table("ledger_transactions").Count(ctx)
		require.NoError(t, err)
		return int(n)
	}
	post := func(job int64) {
		st, err := store.Open(ctx, db)
		require.NoError(t, err)
		defer st.Close()
		v, err := st.FindVillage(ctx, seed.DemoName)
		require.NoError(t, err)
		hs, _, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{}, store.Page{Limit: 2})
		require.NoError(t, err)
		_, _, err = st.PostJob(ctx, store.Posting{VillageID: v.ID, Actor: "test"}, job, hs[0].ID, []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 2}})
		require.NoError(t, err)
	}
	post(1_000_001)
	backedUp := transactions(db)

	backup := filepath.Join(dir, "备份 2026-12-07.db")
	out, err := runCmd("backup", "--db", db, "--out", backup)
	require.NoError(t, err, out)
	assert.Contains(t, out, "backed up")
	_, err = runCmd("backup", "--db", db, "--out", backup)
	assert.Error(t, err, "an existing backup is not overwritten")
	post(1_000_002)
	missing := filepath.Join(dir, "missing.db")
	_, err = runCmd("backup", "--db", missing, "--out", filepath.Join(dir, "m.db"))
	assert.Error(t, err)
	assert.NoFileExists(t, missing, "backup never creates the database it copies")
	_, err = runCmd("backup", "--db", "postgres://localhost/huangong", "--out", filepath.Join(dir, "pg.db"))
	assert.ErrorContains(t, err, "pg_dump")

	fresh := filepath.Join(dir, "fresh.db")
	out, err = runCmd("restore", "--from", backup, "--db", fresh)
	require.NoError(t, err, out)
	assert.Contains(t, out, "平衡 ok")
	assert.Equal(t, backedUp, transactions(fresh))

	_, err = runCmd("restore", "--from", backup, "--db", db)
	require.Error(t, err, "a database holding data needs --force")
	assert.Contains(t, err.Error(), "--force")
	assert.Equal(t, backedUp+1, transactions(db), "nothing replaced")

	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, bytes.Repeat([]byte("x"), 4096), 0o600))
	_, err = runCmd("restore", "--from", junk, "--db", db, "--force")
	require.Error(t, err)
	assert.Equal(t, backedUp+1, transactions(db), "nothing replaced")

	out, err = runCmd("restore", "--from", backup, "--db", db, "--force")
	require.NoError(t, err, out)
	assert.Equal(t, backedUp, transactions(db), "the posting after the backup is gone with --force")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".restoring", "no leftovers")
	}
}

// commandRunner runs command lines as main does, returning what each
// printed on standard output.
func commandRunner(ctx context.Context) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
}
