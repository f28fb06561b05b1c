package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The workday ledger: one account per household and a village fund,
// append-only transactions and entries, and the village's soft limit.
func init() {
	type account struct {
		bun.BaseModel `bun:"table:accounts"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull,unique:accounts_village_key"`
		Key           string    `bun:",notnull,unique:accounts_village_key"`
		HouseholdID   *int64    `bun:",unique"`
		Balance       int64     `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
	}
	type transaction struct {
		bun.BaseModel  `bun:"table:ledger_transactions"`
		ID             int64     `bun:",pk,autoincrement"`
		VillageID      int64     `bun:",notnull,unique:ledger_tx_source,unique:ledger_tx_idem"`
		Kind           string    `bun:",notnull"`
		Memo           string    `bun:",notnull"`
		Actor          string    `bun:",notnull"`
		SourceKind     string    `bun:",notnull,unique:ledger_tx_source"`
		SourceID       *string   `bun:",unique:ledger_tx_source"`
		IdempotencyKey *string   `bun:",unique:ledger_tx_idem"`
		RequestHash    string    `bun:",notnull"`
		ReversesID     *int64    `bun:",unique"`
		BeneficiaryID  *int64    ``
		EntryCount     int       `bun:",notnull"`
		Date           string    `bun:",notnull"`
		PostedAt       time.Time `bun:",notnull"`
	}
	type entry struct {
		bun.BaseModel `bun:"table:ledger_entries"`
		ID            int64 `bun:",pk,autoincrement"`
		TransactionID int64 `bun:",notnull"`
		AccountID     int64 `bun:",notnull"`
		Amount        int64 `bun:",notnull"`
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewAddColumn().Model((*struct {
				bun.BaseModel `bun:"table:villages"`
			})(nil)).ColumnExpr("soft_limit BIGINT NOT NULL DEFAULT -20").Exec(ctx)
			if err != nil {
				return fmt.Errorf("villages.soft_limit: %w", err)
			}
			err = createTables(ctx, tx, []table{
				{model: (*account)(nil), foreignKeys: []string{"(village_id) REFERENCES villages (id)", "(household_id) REFERENCES households (id)"}},
				{model: (*transaction)(nil), foreignKeys: []string{"(village_id) REFERENCES villages (id)",
					"(reverses_id) REFERENCES ledger_transactions (id)", "(beneficiary_id) REFERENCES households (id)"}},
				// Entries are written before their transaction's row (see
				// balancedEntries), so their reference is checked at commit.
				{model: (*entry)(nil), foreignKeys: []string{"(transaction_id) REFERENCES ledger_transactions (id) DEFERRABLE INITIALLY DEFERRED",
					"(account_id) REFERENCES accounts (id)"}},
			})
			if err != nil {
				return err
			}
			if err := createIndexes(ctx, tx, (*transaction)(nil), map[string][]string{
				"ledger_transactions_beneficiary_idx": {"beneficiary_id"},
			}); err != nil {
				return err
			}
			if err := createIndexes(ctx, tx, (*entry)(nil), map[string][]string{
				"ledger_entries_account_idx":     {"account_id", "id"},
				"ledger_entries_transaction_idx": {"transaction_id"},
			}); err != nil {
				return err
			}
			for _, t := range []string{"ledger_transactions", "ledger_entries"} {
				if err := appendOnly(ctx, tx, t); err != nil {
					return err
				}
			}
			if err := balancedEntries(ctx, tx); err != nil {
				return err
			}
			// Accounts for the villages and households already recorded.
			now := time.Now().UTC()
			if _, err := tx.NewRaw(`INSERT INTO accounts (village_id, key, household_id, balance, created_at)
				SELECT id, 'fund', NULL, 0, ? FROM villages`, now).Exec(ctx); err != nil {
				return fmt.Errorf("fund accounts: %w", err)
			}
			if _, err := tx.NewRaw(`INSERT INTO accounts (village_id, key, household_id, balance, created_at)
				SELECT village_id, 'household:' || CAST(id AS TEXT), id, 0, ? FROM households`, now).Exec(ctx); err != nil {
				return fmt.Errorf("household accounts: %w", err)
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, m := range []any{(*entry)(nil), (*transaction)(nil), (*account)(nil)} {
				if _, err := tx.NewDropTable().Model(m).IfExists().Exec(ctx); err != nil {
					return err
				}
			}
			_, err := tx.NewDropColumn().Model((*struct {
				bun.BaseModel `bun:"table:villages"`
			})(nil)).Column("soft_limit").Exec(ctx)
			return err
		})
	}
	Migrations.MustRegister(up, down)
}

// balancedEntries makes the database itself refuse an unbalanced
// transaction. A transaction's entries are inserted first, then its row:
// the row is refused unless it declares two or more entries and exactly
// that many are there, summing to zero; once the row exists no entry can be
// added to it; an entry of zero is refused; and an entry whose transaction
// row never comes fails its deferred foreign key at commit. The store's
// code checks the same before it writes; this is the second lock.
func balancedEntries(ctx context.Context, tx bun.Tx) error {
	switch tx.Dialect().Name() {
	case dialect.SQLite:
		return execAll(ctx, tx, "balanced entries", []string{
			`CREATE TRIGGER ledger_entries_nonzero BEFORE INSERT ON ledger_entries
			 WHEN NEW.amount = 0
			 BEGIN SELECT RAISE(ABORT, 'ledger entry of zero'); END`,
			`CREATE TRIGGER ledger_entries_sealed BEFORE INSERT ON ledger_entries
			 WHEN EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id)
			 BEGIN SELECT RAISE(ABORT, 'ledger transaction already posted; entries cannot be added'); END`,
			`CREATE TRIGGER ledger_transactions_balanced BEFORE INSERT ON ledger_transactions
			 WHEN NEW.entry_count < 2
			   OR (SELECT COUNT(*) FROM ledger_entries WHERE transaction_id = NEW.id) <> NEW.entry_count
			   OR (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE transaction_id = NEW.id) <> 0
			 BEGIN SELECT RAISE(ABORT, 'ledger transaction does not balance: entries missing or not summing to zero'); END`,
		})
	case dialect.PG:
		// The same three rules as PL/pgSQL row triggers, raising the
		// SQLSTATE the store maps as SQLite's RAISE(ABORT).
		return execAll(ctx, tx, "balanced entries", []string{
			`CREATE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
			 BEGIN
			   IF NEW.amount = 0 THEN
			     RAISE EXCEPTION 'ledger entry of zero' USING ERRCODE = '` + PGTriggerRefused + `';
			   END IF;
			   IF EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id) THEN
			     RAISE EXCEPTION 'ledger transaction already posted; entries cannot be added' USING ERRCODE = '` + PGTriggerRefused + `';
			   END IF;
			   RETURN NEW;
			 END $$`,
			`CREATE TRIGGER ledger_entries_check BEFORE INSERT ON ledger_entries
			 FOR EACH ROW EXECUTE FUNCTION ledger_entries_check()`,
			`CREATE FUNCTION ledger_transactions_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
			 BEGIN
			   IF NEW.entry_count < 2
			     OR (SELECT COUNT(*) FROM ledger_entries WHERE transaction_id = NEW.id) <> NEW.entry_count
			     OR (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE transaction_id = NEW.id) <> 0 THEN
			     RAISE EXCEPTION 'ledger transaction does not balance: entries missing or not summing to zero' USING ERRCODE = '` + PGTriggerRefused + `';
			   END IF;
			   RETURN NEW;
			 END $$`,
			`CREATE TRIGGER ledger_transactions_balanced BEFORE INSERT ON ledger_transactions
			 FOR EACH ROW EXECUTE FUNCTION ledger_transactions_balanced()`,
		})
	}
	return fmt.Errorf("balanced-entries triggers: dialect %s not supported", tx.Dialect().Name())
}
