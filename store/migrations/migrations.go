// Package migrations holds the schema history of the store, one
// timestamped Go file per step. Each step carries its own copies of the
// structs it creates, so later changes to store models never rewrite history.
package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migrations is the ordered set the store applies at start-up.
var Migrations = migrate.NewMigrations()

// createTables creates each model's table inside tx, with the foreign keys
// given per table as "(column) REFERENCES table (id)" clauses.
func createTables(ctx context.Context, tx bun.Tx, tables []table) error {
	for _, t := range tables {
		q := tx.NewCreateTable().Model(t.model)
		for _, fk := range t.foreignKeys {
			q = q.ForeignKey(fk)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("create table for %T: %w", t.model, err)
		}
	}
	return nil
}

// column is a column one step adds to an existing table: its name, type
// and constraints as SQL ("disputed_at TIMESTAMP").
type column struct{ table, column string }

// addColumns adds each column inside tx. TIMESTAMP is what bun makes of a
// time.Time in SQLite; Postgres gets TIMESTAMPTZ, as bun's own tables there.
func addColumns(ctx context.Context, tx bun.Tx, columns []column) error {
	for _, a := range columns {
		def := a.column
		if tx.Dialect().Name() == dialect.PG {
			def = strings.Replace(def, " TIMESTAMP", " TIMESTAMPTZ", 1)
		}
		if _, err := tx.NewAddColumn().Table(a.table).ColumnExpr(def).Exec(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", a.table, a.column, err)
		}
	}
	return nil
}

type table struct {
	model       any
	foreignKeys []string
}

// appendOnly makes the database itself refuse UPDATE and DELETE on a table,
// so no code path, old or new, can rewrite history.
func appendOnly(ctx context.Context, tx bun.Tx, name string) error {
	var stmts []string
	switch tx.Dialect().Name() {
	case dialect.SQLite:
		for _, op := range []string{"UPDATE", "DELETE"} {
			stmts = append(stmts, fmt.Sprintf(
				`CREATE TRIGGER %[1]s_no_%[2]s BEFORE %[2]s ON %[1]s
				 BEGIN SELECT RAISE(ABORT, '%[1]s is append-only'); END`, name, op))
		}
	case dialect.PG:
		stmts = append(stmts,
			fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s_append_only() RETURNS trigger
			 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '%[1]s is append-only' USING ERRCODE = '`+PGTriggerRefused+`'; END $$`, name),
			fmt.Sprintf(`CREATE TRIGGER %[1]s_append_only BEFORE UPDATE OR DELETE ON %[1]s
			 FOR EACH ROW EXECUTE FUNCTION %[1]s_append_only()`, name))
	default:
		return fmt.Errorf("append-only triggers: dialect %s not supported", tx.Dialect().Name())
	}
	return execAll(ctx, tx, "append-only "+name, stmts)
}

// PGTriggerRefused is the SQLSTATE (restrict_violation) every PL/pgSQL
// trigger here raises when it refuses a change, as SQLite's triggers
// RAISE(ABORT): the store maps both to one error code.
const PGTriggerRefused = "23001"

// execAll runs statements in order inside tx.
func execAll(ctx context.Context, tx bun.Tx, what string, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func createIndexes(ctx context.Context, tx bun.Tx, model any, indexes map[string][]string) error {
	for name, cols := range indexes {
		if _, err := tx.NewCreateIndex().Model(model).Index(name).Column(cols...).Exec(ctx); err != nil {
			return fmt.Errorf("create index %s: %w", name, err)
		}
	}
	return nil
}
