package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// A removed notification channel keeps its row, so its delivery history —
// what was sent, what failed and why — stays visible to the cadre: the
// channel gets a deletion time instead of being deleted.
func init() {
	up := func(ctx context.Context, db *bun.DB) error {
		// TIMESTAMP is what bun makes of a time.Time in SQLite; Postgres
		// gets TIMESTAMPTZ, as bun's own tables there.
		column := "deleted_at TIMESTAMP"
		if db.Dialect().Name() == dialect.PG {
			column = "deleted_at TIMESTAMPTZ"
		}
		_, err := db.NewAddColumn().Table("notify_channels").ColumnExpr(column).Exec(ctx)
		return err
	}
	down := func(ctx context.Context, db *bun.DB) error {
		_, err := db.ExecContext(ctx, "ALTER TABLE notify_channels DROP COLUMN deleted_at")
		return err
	}
	Migrations.MustRegister(up, down)
}
