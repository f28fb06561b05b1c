package migrations

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// The village records: villages, households, fields, teams and members,
// tokens and the audit log.
func init() {
	type village struct {
		bun.BaseModel `bun:"table:villages"`
		ID            int64     `bun:",pk,autoincrement"`
		Name          string    `bun:",notnull,unique:villages_place"`
		County        string    `bun:",notnull,unique:villages_place"`
		Township      string    `bun:",notnull,unique:villages_place"`
		Timezone      string    `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
	}
	type household struct {
		bun.BaseModel `bun:"table:households"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull"`
		HeadName      string    `bun:",notnull"`
		Group         int       `bun:"group_no,notnull"`
		Laborers      int       `bun:",notnull"`
		Members       int       `bun:",notnull"`
		Elderly       bool      `bun:",notnull"`
		LeftBehind    bool      `bun:",notnull"`
		Disabled      bool      `bun:",notnull"`
		FiveGuarantee bool      `bun:",notnull"`
		Exempt        bool      `bun:",notnull"`
		PartyMember   string    `bun:",notnull"`
		Phone         string    `bun:",notnull"`
		Version       int64     `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
		UpdatedAt     time.Time `bun:",notnull"`
	}
	type field struct {
		bun.BaseModel `bun:"table:fields"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     int64     `bun:",notnull"`
		HouseholdID   int64     `bun:",notnull"`
		Name          string    `bun:",notnull"`
		AreaCentimu   int64     `bun:",notnull"`
		Crop          string    `bun:",notnull"`
		Group         int       `bun:"group_no,notnull"`
		Version       int64     `bun:",notnull"`
		CreatedAt     time.Time `bun:",notnull"`
		UpdatedAt     time.Time `bun:",notnull"`
	}
	type team struct {
		bun.BaseModel     `bun:"table:teams"`
		ID                int64     `bun:",pk,autoincrement"`
		VillageID         int64     `bun:",notnull,unique:teams_village_name"`
		Name              string    `bun:",notnull,unique:teams_village_name"`
		LeaderName        string    `bun:",notnull"`
		LeaderHouseholdID *int64    ``
		Version           int64     `bun:",notnull"`
		CreatedAt         time.Time `bun:",notnull"`
		UpdatedAt         time.Time `bun:",notnull"`
	}
	type teamMember struct {
		bun.BaseModel   `bun:"table:team_members"`
		TeamID          int64     `bun:",pk"`
		HouseholdID     int64     `bun:",pk"`
		WorkersPerDay   int       `bun:",notnull"`
		UnavailableDays []string  `bun:",type:json,notnull"`
		CreatedAt       time.Time `bun:",notnull"`
	}
	type token struct {
		bun.BaseModel `bun:"table:tokens"`
		ID            int64      `bun:",pk,autoincrement"`
		VillageID     int64      `bun:",notnull"`
		Role          string     `bun:",notnull"`
		TeamID        *int64     ``
		HouseholdID   *int64     ``
		Hash          []byte     `bun:",notnull,unique"`
		Label         string     `bun:",notnull"`
		CreatedAt     time.Time  `bun:",notnull"`
		RevokedAt     *time.Time ``
	}
	type auditEntry struct {
		bun.BaseModel `bun:"table:audit_log"`
		ID            int64     `bun:",pk,autoincrement"`
		VillageID     *int64    ``
		TokenID       *int64    ``
		Actor         string    `bun:",notnull"`
		Action        string    `bun:",notnull"`
		Target        string    `bun:",notnull"`
		Status        int       `bun:",notnull"`
		Outcome       string    `bun:",notnull"`
		At            time.Time `bun:",notnull"`
	}

	up := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			const villageFK = "(village_id) REFERENCES villages (id)"
			const householdFK = "(household_id) REFERENCES households (id)"
			err := createTables(ctx, tx, []table{
				{model: (*village)(nil)},
				{model: (*household)(nil), foreignKeys: []string{villageFK}},
				{model: (*field)(nil), foreignKeys: []string{villageFK, householdFK}},
				{model: (*team)(nil), foreignKeys: []string{villageFK, "(leader_household_id) REFERENCES households (id)"}},
				{model: (*teamMember)(nil), foreignKeys: []string{"(team_id) REFERENCES teams (id)", householdFK}},
				{model: (*token)(nil), foreignKeys: []string{villageFK,
					"(team_id) REFERENCES teams (id)", householdFK}},
				{model: (*auditEntry)(nil)},
			})
			if err != nil {
				return err
			}
			for model, idx := range map[any]map[string][]string{
				(*household)(nil):  {"households_village_idx": {"village_id", "id"}},
				(*field)(nil):      {"fields_household_idx": {"household_id", "id"}, "fields_village_idx": {"village_id", "id"}},
				(*teamMember)(nil): {"team_members_household_idx": {"household_id"}},
				(*auditEntry)(nil): {"audit_log_village_idx": {"village_id", "id"}},
			} {
				if err := createIndexes(ctx, tx, model, idx); err != nil {
					return err
				}
			}
			return appendOnly(ctx, tx, "audit_log")
		})
	}
	down := func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, m := range []any{(*auditEntry)(nil), (*token)(nil), (*teamMember)(nil),
				(*team)(nil), (*field)(nil), (*household)(nil), (*village)(nil)} {
				if _, err := tx.NewDropTable().Model(m).IfExists().Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	Migrations.MustRegister(up, down)
}
