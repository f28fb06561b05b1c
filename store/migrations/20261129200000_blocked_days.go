package migrations

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Blocked days: the days a cadre marks as rained out, for the whole
// village (group 0) or one village group, which the planner keeps free.
func init() {
	type blockedDay struct {
		bun.BaseModel `bun:"table:blocked_days"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull,unique:blocked_days_village_date_group"`
		Date          string    `bun:",notnull,unique:blocked_days_village_date_group"`
		GroupNo       int       `bun:",notnull,unique:blocked_days_village_date_group"`
		Reason        string    `bun:",notnull"`
		CreatedBy     string    `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return createTables(ctx, tx, []table{
				{model: (*blockedDay)(nil), foreignKeys: []string{"(village_id) REFERENCES villages (id)"}},
			})
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewDropTable().Model((*blockedDay)(nil)).IfExists().Exec(ctx)
			return err
		})
	}
	Migrations.MustRegister(up, down)
}
