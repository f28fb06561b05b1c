package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Ledger totals: each account keeps the help its household gave and
// received on jobs (net of reversals) beside its balance, updated in the
// posting's transaction, so a household's figures are read from its row
// instead of summed over the village's ledger on every page. The totals
// are backfilled here from the postings already made. An index serves the
// date-bounded read that still sums entries across the village: a
// season's job postings (its reversals are found by UNIQUE(reverses_id);
// a household's balance as of a date reads its own entries by account).
func init() {
	type account struct {
		bun.BaseModel `bun:"table:accounts"`
	}
	type transaction struct {
		bun.BaseModel `bun:"table:ledger_transactions"`
	}
	// A job's postings and the reversals of a job's postings; credit is a
	// worker's share: positive on the job, negative on its reversal.
	const work = `FROM ledger_entries AS e
		JOIN ledger_transactions AS t ON t.id = e.transaction_id
		LEFT JOIN ledger_transactions AS o ON o.id = t.reverses_id
		WHERE (t.kind = 'job' AND e.amount > 0) OR (t.kind = 'reversal' AND o.kind = 'job' AND e.amount < 0)`
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, col := range []string{"given", "received"} {
				if _, err := tx.NewAddColumn().Model((*account)(nil)).ColumnExpr(col + " BIGINT NOT NULL DEFAULT 0").Exec(ctx); err != nil {
					return fmt.Errorf("accounts.%s: %w", col, err)
				}
			}
			for _, s := range []string{
				`UPDATE accounts SET given = g.total FROM (SELECT e.account_id AS id, SUM(e.amount) AS total ` + work + `
					GROUP BY e.account_id) AS g WHERE accounts.id = g.id`,
				`UPDATE accounts SET received = r.total FROM (SELECT COALESCE(t.beneficiary_id, o.beneficiary_id) AS household_id,
					SUM(e.amount) AS total ` + work + ` GROUP BY COALESCE(t.beneficiary_id, o.beneficiary_id)) AS r
					WHERE accounts.household_id = r.household_id`,
			} {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("backfill ledger totals: %w", err)
				}
			}
			// Nothing looks transactions up by beneficiary any more (that
			// was the received sum), and households are never deleted: the
			// index goes, so a posting writes no more pages than before.
			if _, err := tx.NewDropIndex().Index("ledger_transactions_beneficiary_idx").IfExists().Exec(ctx); err != nil {
				return err
			}
			return createIndexes(ctx, tx, (*transaction)(nil), map[string][]string{
				"ledger_transactions_kind_date_idx": {"village_id", "kind", "date"},
			})
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewDropIndex().Index("ledger_transactions_kind_date_idx").IfExists().Exec(ctx); err != nil {
				return err
			}
			if err := createIndexes(ctx, tx, (*transaction)(nil), map[string][]string{
				"ledger_transactions_beneficiary_idx": {"beneficiary_id"},
			}); err != nil {
				return err
			}
			for _, col := range []string{"given", "received"} {
				if _, err := tx.NewDropColumn().Model((*account)(nil)).Column(col).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
