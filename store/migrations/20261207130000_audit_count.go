package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Audit count: how many requests one audit line stands for. A flood of
// anonymous denials from one address is written as one line a minute
// with its count instead of a line per request; every other line is 1.
func init() {
	up := func(ctx context.Context, db *bun.DB) error {
		_, err := db.NewAddColumn().Table("audit_log").ColumnExpr("count BIGINT NOT NULL DEFAULT 1").Exec(ctx)
		return err
	}
	down := func(ctx context.Context, db *bun.DB) error {
		_, err := db.ExecContext(ctx, "ALTER TABLE audit_log DROP COLUMN count")
		return err
	}
	Migrations.MustRegister(up, down)
}
