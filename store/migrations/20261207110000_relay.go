package migrations

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// The notification relay: the channels a cadre configures (an SMS
// gateway, team group robots, a webhook), the village's quiet hours, one
// delivery row per outbox event and channel — the delivery state, so a
// crash loses nothing — and the relay's cursor into the outbox.
func init() {
	type notifyChannel struct {
		bun.BaseModel `bun:"table:notify_channels"`
		ID            int64             `bun:",pk,autoincrement"`
		VillageID     int64             `bun:",notnull"`
		Kind          string            `bun:",notnull"`
		TeamID        int64             `bun:",notnull"`
		Name          string            `bun:",notnull"`
		URL           string            `bun:",notnull"`
		Method        string            `bun:",notnull"`
		Headers       map[string]string `bun:",type:json,notnull"`
		Body          string            `bun:",notnull"`
		Secret        string            `bun:",notnull"`
		Enabled       bool              `bun:",notnull"`
		FromEvent     int64             `bun:",notnull"`
		Version       int64             `bun:",notnull"`
		CreatedAt     time.Time         `bun:",notnull"`
		UpdatedAt     time.Time         `bun:",notnull"`
		DeletedAt     *time.Time        ``
	}
	type notifySettings struct {
		bun.BaseModel  `bun:"table:notify_settings"`
		VillageID      int64     `bun:",pk"`
		QuietFrom      string    `bun:",notnull"`
		QuietTo        string    `bun:",notnull"`
		UrgentOverride bool      `bun:",notnull"`
		GiveUpMinutes  int       `bun:",notnull"`
		UpdatedAt      time.Time `bun:",notnull"`
	}
	type delivery struct {
		bun.BaseModel `bun:"table:deliveries"`
		ID            int64      `bun:",pk,autoincrement"`
		VillageID     int64      `bun:",notnull"`
		EventID       int64      `bun:",notnull,unique:deliveries_event_channel"`
		ChannelID     int64      `bun:",notnull,unique:deliveries_event_channel"`
		MessageID     string     `bun:",notnull"`
		Kind          string     `bun:",notnull"`
		Audience      string     `bun:",notnull"`
		AudienceID    int64      `bun:",notnull"`
		Recipient     string     `bun:",notnull"`
		Event         string     `bun:",notnull"`
		Subject       string     `bun:",notnull"`
		SubjectID     int64      `bun:",notnull"`
		Text          string     `bun:",notnull"`
		Urgent        bool       `bun:",notnull"`
		State         string     `bun:",notnull"`
		Attempts      int        `bun:",notnull"`
		DueAt         time.Time  `bun:",notnull"`
		NextAt        time.Time  `bun:",notnull"`
		LastError     string     `bun:",notnull"`
		LastAttemptAt *time.Time ``
		DeliveredAt   *time.Time ``
		CreatedAt     time.Time  `bun:",notnull"`
	}
	type relayCursor struct {
		bun.BaseModel `bun:"table:relay_cursor"`
		ID            int64 `bun:",pk"`
		LastEvent     int64 `bun:",notnull"`
	}
	models := []any{(*notifyChannel)(nil), (*notifySettings)(nil), (*delivery)(nil), (*relayCursor)(nil)}
	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			const villageFK = "(village_id) REFERENCES villages (id)"
			err := createTables(ctx, tx, []table{
				{model: (*notifyChannel)(nil), foreignKeys: []string{villageFK}},
				{model: (*notifySettings)(nil), foreignKeys: []string{villageFK}},
				{model: (*delivery)(nil), foreignKeys: []string{villageFK, "(event_id) REFERENCES outbox (id)",
					"(channel_id) REFERENCES notify_channels (id) ON DELETE CASCADE"}},
				{model: (*relayCursor)(nil)},
			})
			if err != nil {
				return err
			}
			// One live channel of a kind per village or team; a removed
			// one keeps its row (and its deliveries) beside its successor.
			// Both dialects take a partial unique index.
			_, err = tx.ExecContext(ctx, `CREATE UNIQUE INDEX notify_channels_owner
				ON notify_channels (village_id, kind, team_id) WHERE deleted_at IS NULL`)
			if err != nil {
				return err
			}
			return createIndexes(ctx, tx, (*delivery)(nil), map[string][]string{
				"deliveries_due_idx":      {"state", "next_at"},
				"deliveries_audience_idx": {"village_id", "audience", "audience_id", "id"},
			})
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for i := len(models) - 1; i >= 0; i-- {
				if _, err := tx.NewDropTable().Model(models[i]).IfExists().Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
