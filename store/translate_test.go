package store

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"huangong/store/migrations"
	"huangong/store/testdb"
)

// TestTranslate_DriverErrors provokes each constraint with raw SQL, checks
// that the driver reports the extended result code translate switches on
// (modernc turns extended codes on for every connection; with primary codes
// only, every constraint would be SQLITE_CONSTRAINT and fall through to
// EINTERNAL), and that translate maps it to the right domain code without
// leaking the driver's text.
func TestTranslate_DriverErrors(t *testing.T) {
	const now = "'2026-04-20 00:00:00+00:00'"
	for _, tc := range []struct {
		name     string
		sql      string
		wantRC   int
		wantCode string
		wantPG   string // the SQLSTATE on Postgres
	}{
		{"unique", "INSERT INTO teams (village_id, name, leader_name, version, created_at, updated_at) VALUES (1, '第一互助队', '', 1, " + now + ", " + now + ")",
			sqlite3.SQLITE_CONSTRAINT_UNIQUE, ECONFLICT, "23505"},
		{"primary key", "INSERT INTO team_members (team_id, household_id, workers_per_day, unavailable_days, created_at) VALUES (1, 1, 1, '[]', " + now + ")",
			sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, ECONFLICT, "23505"},
		{"foreign key", "INSERT INTO fields (village_id, household_id, name, area_centimu, crop, group_no, version, created_at, updated_at) VALUES (1, 999, '门口田', 100, 'other', 1, 1, " + now + ", " + now + ")",
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, EINVALID, "23503"},
		{"not null", "INSERT INTO villages (name, county, township, timezone, created_at) VALUES (NULL, '', '', 'Asia/Shanghai', " + now + ")",
			sqlite3.SQLITE_CONSTRAINT_NOTNULL, EINVALID, "23502"},
		{"append-only update", "UPDATE audit_log SET actor = 'someone else'",
			sqlite3.SQLITE_CONSTRAINT_TRIGGER, ECONFLICT, migrations.PGTriggerRefused},
		{"append-only delete", "DELETE FROM audit_log",
			sqlite3.SQLITE_CONSTRAINT_TRIGGER, ECONFLICT, migrations.PGTriggerRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpenWithRecords(t)
			_, err := s.DB().ExecContext(t.Context(), tc.sql)
			require.Error(t, err)

			if s.Postgres() {
				var pe *pgconn.PgError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tc.wantPG, pe.Code, "driver error %v", err)
			} else {
				var se *sqlite.Error
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tc.wantRC, se.Code(), "driver error %v", err)
			}

			got := translate(err, "record")
			assert.Equal(t, tc.wantCode, ErrorCode(got), "translated %v", got)
			assert.NotContains(t, ErrorMessage(got), "constraint", "the message must not leak the driver's text")
		})
	}
}

func TestTranslate_OtherErrors(t *testing.T) {
	domain := Invalid("body.area", "too big")
	for _, tc := range []struct {
		name     string
		err      error
		wantCode string
		check    func(t *testing.T, got error)
	}{
		{name: "nil", err: nil, wantCode: "", check: func(t *testing.T, got error) { assert.NoError(t, got) }},
		{name: "no rows", err: fmt.Errorf("scan: %w", sql.ErrNoRows), wantCode: ENOTFOUND, check: func(t *testing.T, got error) {
			assert.Contains(t, ErrorMessage(got), "household 7")
		}},
		{name: "domain error passes through", err: fmt.Errorf("import: %w", domain), wantCode: EINVALID, check: func(t *testing.T, got error) {
			var e *Error
			require.ErrorAs(t, got, &e)
			assert.Same(t, domain, e)
		}},
		{name: "anything else is internal", err: errors.New("disk on fire"), wantCode: EINTERNAL, check: func(t *testing.T, got error) {
			assert.ErrorContains(t, got, "disk on fire", "kept for the log")
			assert.NotContains(t, ErrorMessage(got), "disk on fire", "not for the client")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(tc.err, "household 7")
			assert.Equal(t, tc.wantCode, ErrorCode(got))
			tc.check(t, got)
		})
	}
}

// mustOpenWithRecords opens a fresh store holding village 1 with household
// 1, team 1 "第一互助队" with household 1 as a member, and one audit line.
func mustOpenWithRecords(tb testing.TB) *Store {
	tb.Helper()
	ctx := tb.Context()
	s, err := Open(ctx, testdb.Database(tb, "x.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	v := &Village{Name: "皇珠村"}
	require.NoError(tb, s.CreateVillage(ctx, v))
	h := &Household{VillageID: v.ID, HeadName: "章仁标", Group: 1, Laborers: 1, Members: 1}
	require.NoError(tb, s.CreateHousehold(ctx, h))
	team := &Team{VillageID: v.ID, Name: "第一互助队"}
	require.NoError(tb, s.CreateTeam(ctx, team))
	require.NoError(tb, s.AddTeamMember(ctx, v.ID, &TeamMember{TeamID: team.ID, HouseholdID: h.ID, WorkersPerDay: 1}))
	require.NoError(tb, s.AppendAudit(ctx, &AuditEntry{VillageID: &v.ID, Actor: "cadre#1", Action: "create-team", Target: "/v1/teams", Status: 201, Outcome: OutcomeOK}))
	require.Equal(tb, []int64{1, 1, 1}, []int64{v.ID, h.ID, team.ID}, "raw SQL below assumes these IDs")
	return s
}
