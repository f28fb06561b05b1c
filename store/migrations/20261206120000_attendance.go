package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// Attendance rules and disputes: each village's attendance slack (how many
// people beyond a job's planned workers a leader may record; default 2),
// and on each job when it was completed (the start of the household's
// 3-day dispute window), the dispute's state (” none, disputed, confirmed,
// reversed), its reason, when it was raised, and the reversal a cadre
// posted for it. Done jobs completed before this step count from their
// last update.
func init() {
	alters := []column{
		{"villages", "attendance_slack INTEGER NOT NULL DEFAULT 2"},
		{"jobs", "completed_at TIMESTAMP"},
		{"jobs", "dispute_state VARCHAR NOT NULL DEFAULT ''"},
		{"jobs", "dispute_reason VARCHAR NOT NULL DEFAULT ''"},
		{"jobs", "disputed_at TIMESTAMP"},
		{"jobs", "reversal_id BIGINT"},
	}
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := addColumns(ctx, tx, alters); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE jobs SET completed_at = updated_at WHERE state = 'done'"); err != nil {
				return fmt.Errorf("jobs completed_at: %w", err)
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for i := len(alters) - 1; i >= 0; i-- {
				a := alters[i]
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
