package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Idempotency keys on help requests, as on ledger transactions: the key a
// client sent with the request that registered a help request, and the one
// it sent with the request that cancelled it, each with the fingerprint of
// that request. UNIQUE per village, so a retry finds the first answer and
// a key is never used twice.
func init() {
	type helpRequest struct {
		bun.BaseModel `bun:"table:help_requests"`
		VillageID     int64   `bun:",notnull"`
		CreateKey     *string ``
		CreateHash    string  `bun:",notnull"`
		CancelKey     *string ``
		CancelHash    string  `bun:",notnull"`
	}
	columns := []string{
		"create_key VARCHAR",
		"create_hash VARCHAR NOT NULL DEFAULT ''",
		"cancel_key VARCHAR",
		"cancel_hash VARCHAR NOT NULL DEFAULT ''",
	}
	indexes := map[string][]string{
		"help_requests_create_key": {"village_id", "create_key"},
		"help_requests_cancel_key": {"village_id", "cancel_key"},
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, c := range columns {
				if _, err := tx.NewAddColumn().Model((*helpRequest)(nil)).ColumnExpr(c).Exec(ctx); err != nil {
					return fmt.Errorf("help_requests %s: %w", c, err)
				}
			}
			for name, cols := range indexes {
				_, err := tx.NewCreateIndex().Model((*helpRequest)(nil)).Unique().Index(name).Column(cols...).Exec(ctx)
				if err != nil {
					return fmt.Errorf("create index %s: %w", name, err)
				}
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for name := range indexes {
				if _, err := tx.NewDropIndex().Model((*helpRequest)(nil)).IfExists().Index(name).Exec(ctx); err != nil {
					return err
				}
			}
			for _, c := range []string{"create_key", "create_hash", "cancel_key", "cancel_hash"} {
				if _, err := tx.ExecContext(ctx, "ALTER TABLE help_requests DROP COLUMN "+c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
