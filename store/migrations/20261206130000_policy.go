package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Household policy: how the help a household receives is paid. NULL
// follows the household's flags (assisted, 帮扶, when it is vulnerable:
// the village fund pays; exchange, 换工, otherwise: it owes the help
// back); a cadre sets 'assisted' or 'exchange' to choose.
func init() {
	up := func(ctx context.Context, db *bun.DB) error {
		_, err := db.NewAddColumn().Table("households").ColumnExpr("policy VARCHAR").Exec(ctx)
		return err
	}
	down := func(ctx context.Context, db *bun.DB) error {
		_, err := db.ExecContext(ctx, "ALTER TABLE households DROP COLUMN policy")
		return err
	}
	Migrations.MustRegister(up, down)
}
