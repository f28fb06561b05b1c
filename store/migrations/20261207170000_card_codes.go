package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Card codes: a household card's short link (/c/7KQ-M4XP-2RT) lives on its
// token's row as the code's hash (unique, found by it) and the token's
// secret sealed under a key only the code gives (see store.CardSecret).
// Tokens minted before this step have neither: their cards keep the long
// link only until they are reissued.
func init() {
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			blob := "BLOB"
			if tx.Dialect().Name() == dialect.PG {
				blob = "BYTEA"
			}
			for _, col := range []string{"short_hash", "short_seal"} {
				if _, err := tx.NewAddColumn().Table("tokens").ColumnExpr(col + " " + blob).Exec(ctx); err != nil {
					return fmt.Errorf("tokens %s: %w", col, err)
				}
			}
			if _, err := tx.NewCreateIndex().Table("tokens").Index("tokens_short_hash").Unique().
				Column("short_hash").Exec(ctx); err != nil {
				return fmt.Errorf("tokens short_hash index: %w", err)
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, q := range []string{"DROP INDEX tokens_short_hash",
				"ALTER TABLE tokens DROP COLUMN short_seal", "ALTER TABLE tokens DROP COLUMN short_hash"} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
