package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The calendar's runs: every cron slot of an open season recorded once
// (UNIQUE per village, season, job and instant), the lease row that lets
// one instance of several run them, the public-notice snapshots, and the
// village's settlement policy.
func init() {
	type scheduleRun struct {
		bun.BaseModel `bun:"table:schedule_runs"`
		ID            int64      `bun:",pk,autoincrement"`
		VillageID     int64      `bun:",notnull,unique:schedule_runs_slot"`
		SeasonID      int64      `bun:",notnull,unique:schedule_runs_slot"`
		Job           string     `bun:",notnull,unique:schedule_runs_slot"`
		ScheduledAt   time.Time  `bun:",notnull,unique:schedule_runs_slot"`
		State         string     `bun:",notnull"`
		StartedAt     *time.Time ``
		FinishedAt    *time.Time ``
		Error         string     `bun:",notnull"`
	}
	type schedulerLease struct {
		bun.BaseModel `bun:"table:scheduler_lease"`
		ID            int64     `bun:",pk"` // always 1: one row
		Holder        string    `bun:",notnull"`
		ExpiresAt     time.Time `bun:",notnull"`
	}
	type notice struct {
		bun.BaseModel `bun:"table:notices"`
		ID            int64          `bun:",pk,autoincrement"`
		VillageID     int64          `bun:",notnull"`
		SeasonID      *int64         ``
		Kind          string         `bun:",notnull"`
		Title         string         `bun:",notnull"`
		Body          map[string]any `bun:",type:json,notnull"`
		CreatedBy     string         `bun:",notnull"`
		CreatedAt     time.Time      `bun:",notnull"`
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewAddColumn().Model((*struct {
				bun.BaseModel `bun:"table:villages"`
			})(nil)).ColumnExpr("settle_policy VARCHAR NOT NULL DEFAULT 'carry'").Exec(ctx)
			if err != nil {
				return fmt.Errorf("villages.settle_policy: %w", err)
			}
			const villageFK = "(village_id) REFERENCES villages (id)"
			err = createTables(ctx, tx, []table{
				{model: (*scheduleRun)(nil), foreignKeys: []string{villageFK, "(season_id) REFERENCES seasons (id)"}},
				{model: (*schedulerLease)(nil)},
				{model: (*notice)(nil), foreignKeys: []string{villageFK, "(season_id) REFERENCES seasons (id)"}},
			})
			if err != nil {
				return err
			}
			for model, idx := range map[any]map[string][]string{
				(*scheduleRun)(nil): {"schedule_runs_village_idx": {"village_id", "id"}},
				(*notice)(nil):      {"notices_village_idx": {"village_id", "id"}},
			} {
				if err := createIndexes(ctx, tx, model, idx); err != nil {
					return err
				}
			}
			return appendOnly(ctx, tx, "notices")
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, m := range []any{(*notice)(nil), (*schedulerLease)(nil), (*scheduleRun)(nil)} {
				if _, err := tx.NewDropTable().Model(m).IfExists().Exec(ctx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "ALTER TABLE villages DROP COLUMN settle_policy")
			return err
		})
	}
	Migrations.MustRegister(up, down)
}
