package migrations

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Tokens that end: each token's expiry and the last time it was used, and
// on each village the days a new household or leader token lives (365)
// and the public address its sign-in cards point at. Tokens minted before
// this step never expired; they get the default lifetime from today, not
// from their creation, so no phone is signed out by the upgrade itself.
func init() {
	alters := []column{
		{"tokens", "expires_at TIMESTAMP"},
		{"tokens", "last_used_at TIMESTAMP"},
		{"villages", "token_days INTEGER NOT NULL DEFAULT 365"},
		{"villages", "public_url VARCHAR NOT NULL DEFAULT ''"},
	}
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := addColumns(ctx, tx, alters); err != nil {
				return err
			}
			now := time.Now().UTC()
			for _, d := range []struct {
				where string
				days  int
			}{{"role = 'cadre'", 90}, {"role <> 'cadre'", 365}} {
				if _, err := tx.NewUpdate().Table("tokens").Set("expires_at = ?", now.AddDate(0, 0, d.days)).
					Where("expires_at IS NULL").Where(d.where).Exec(ctx); err != nil {
					return fmt.Errorf("tokens expires_at: %w", err)
				}
			}
			if _, err := tx.NewCreateIndex().Table("tokens").Index("tokens_village_household").
				Column("village_id", "household_id").Exec(ctx); err != nil {
				return fmt.Errorf("tokens index: %w", err)
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "DROP INDEX tokens_village_household"); err != nil {
				return err
			}
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
