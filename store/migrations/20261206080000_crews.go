package migrations

import (
	"context"
	"strings"

	"github.com/uptrace/bun"
)

// Crews and stable re-plans: a help request's crew cap (the most people
// its field takes a day; NULL: the default from the field's area), why the
// last saved plan left it unplaced (” when it did not), and each
// village's freeze horizon (days from today whose unconfirmed jobs a
// re-plan never moves: 2 is today and tomorrow).
func init() {
	alters := []column{
		{"help_requests", "crew_cap INTEGER"},
		{"help_requests", "unplaced_reason VARCHAR NOT NULL DEFAULT ''"},
		{"villages", "freeze_days INTEGER NOT NULL DEFAULT 2"},
	}
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := addColumns(ctx, tx, alters); err != nil {
				return err
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, a := range alters {
				column, _, _ := strings.Cut(a.column, " ")
				if _, err := tx.ExecContext(ctx, "ALTER TABLE "+a.table+" DROP COLUMN "+column); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
