package migrations

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// The closed loop: seasons, labor norms, help requests, jobs, the log of
// every state transition and the notification outbox.
func init() {
	type season struct {
		bun.BaseModel `bun:"table:seasons"`
		ID            int64             `bun:",pk,autoincrement"`
		VillageID     int64             `bun:",notnull,unique:seasons_village_year_kind"`
		Year          int               `bun:",notnull,unique:seasons_village_year_kind"`
		Kind          string            `bun:",notnull,unique:seasons_village_year_kind"`
		Name          string            `bun:",notnull"`
		StartDate     string            `bun:",notnull"`
		EndDate       string            `bun:",notnull"`
		Tasks         []string          `bun:",type:json,notnull"`
		State         string            `bun:",notnull"`
		Crons         map[string]string `bun:",type:json,notnull"`
		Version       int64             `bun:",notnull"`
		CreatedAt     time.Time         `bun:",notnull"`
		UpdatedAt     time.Time         `bun:",notnull"`
	}
	type laborNorm struct {
		bun.BaseModel `bun:"table:labor_norms"`
		VillageID     int64  `bun:",pk"`
		Crop          string `bun:",pk"`
		Task          string `bun:",pk"`
		CentiPerMu    int64  `bun:",notnull"`
	}
	type helpRequest struct {
		bun.BaseModel    `bun:"table:help_requests"`
		ID               int64      `bun:",pk,autoincrement"`
		VillageID        int64      `bun:",notnull"`
		HouseholdID      int64      `bun:",notnull"`
		FieldID          int64      `bun:",notnull"`
		SeasonID         int64      `bun:",notnull"`
		Task             string     `bun:",notnull"`
		Earliest         string     `bun:",notnull"`
		Latest           string     `bun:",notnull"`
		HalfDays         int64      `bun:",notnull"`
		Priority         int        `bun:",notnull"`
		State            string     `bun:",notnull"`
		OpenKey          *string    `bun:",unique"`
		EnteredBy        string     `bun:",notnull"`
		OnBehalf         bool       `bun:",notnull"`
		Note             string     `bun:",notnull"`
		FeedbackStars    *int       ``
		FeedbackComment  string     `bun:",notnull"`
		SubmittedAt      time.Time  `bun:",notnull"`
		FirstConfirmedAt *time.Time ``
		DoneAt           *time.Time ``
		DoneDate         *string    ``
		ClosedAt         *time.Time ``
		Version          int64      `bun:",notnull"`
		CreatedAt        time.Time  `bun:",notnull"`
		UpdatedAt        time.Time  `bun:",notnull"`
	}
	type job struct {
		bun.BaseModel `bun:"table:jobs"`
		ID            int64            `bun:",pk,autoincrement"`
		VillageID     int64            `bun:",notnull"`
		TeamID        int64            `bun:",notnull"`
		RequestID     int64            `bun:",notnull"`
		Date          string           `bun:",notnull"`
		Workers       []map[string]any `bun:",type:json,notnull"`
		State         string           `bun:",notnull"`
		DeclineReason string           `bun:",notnull"`
		Meal          bool             `bun:",notnull"`
		Attendance    []map[string]any `bun:",type:json,notnull"`
		TransactionID *int64           ``
		CreatedBy     string           `bun:",notnull"`
		Version       int64            `bun:",notnull"`
		CreatedAt     time.Time        `bun:",notnull"`
		UpdatedAt     time.Time        `bun:",notnull"`
	}
	type transition struct {
		bun.BaseModel `bun:"table:transitions"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull"`
		Subject       string    `bun:",notnull"`
		SubjectID     int64     `bun:",notnull"`
		FromState     string    `bun:",notnull"`
		ToState       string    `bun:",notnull"`
		Actor         string    `bun:",notnull"`
		Note          string    `bun:",notnull"`
		At            time.Time `bun:",notnull"`
	}
	type outboxEvent struct {
		bun.BaseModel `bun:"table:outbox"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull"`
		Audience      string    `bun:",notnull"`
		AudienceID    int64     `bun:",notnull"`
		Event         string    `bun:",notnull"`
		Subject       string    `bun:",notnull"`
		SubjectID     int64     `bun:",notnull"`
		Message       string    `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			const villageFK = "(village_id) REFERENCES villages (id)"
			err := createTables(ctx, tx, []table{
				{model: (*season)(nil), foreignKeys: []string{villageFK}},
				{model: (*laborNorm)(nil), foreignKeys: []string{villageFK}},
				{model: (*helpRequest)(nil), foreignKeys: []string{villageFK, "(household_id) REFERENCES households (id)",
					"(field_id) REFERENCES fields (id)", "(season_id) REFERENCES seasons (id)"}},
				{model: (*job)(nil), foreignKeys: []string{villageFK, "(team_id) REFERENCES teams (id)",
					"(request_id) REFERENCES help_requests (id)", "(transaction_id) REFERENCES ledger_transactions (id)"}},
				{model: (*transition)(nil), foreignKeys: []string{villageFK}},
				{model: (*outboxEvent)(nil), foreignKeys: []string{villageFK}},
			})
			if err != nil {
				return err
			}
			for model, idx := range map[any]map[string][]string{
				(*helpRequest)(nil): {"help_requests_village_state_idx": {"village_id", "state"}, "help_requests_season_idx": {"season_id"}},
				(*job)(nil):         {"jobs_request_idx": {"request_id"}, "jobs_team_date_idx": {"team_id", "date"}},
				(*transition)(nil):  {"transitions_subject_idx": {"subject", "subject_id"}},
				(*outboxEvent)(nil): {"outbox_audience_idx": {"village_id", "audience", "audience_id", "id"}},
			} {
				if err := createIndexes(ctx, tx, model, idx); err != nil {
					return err
				}
			}
			for _, t := range []string{"transitions", "outbox"} {
				if err := appendOnly(ctx, tx, t); err != nil {
					return err
				}
			}
			return nil
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, m := range []any{(*outboxEvent)(nil), (*transition)(nil), (*job)(nil), (*helpRequest)(nil),
				(*laborNorm)(nil), (*season)(nil)} {
				if _, err := tx.NewDropTable().Model(m).IfExists().Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
