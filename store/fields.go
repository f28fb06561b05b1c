package store

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// MaxAreaCentimu is the largest field: 100 mu.
const MaxAreaCentimu = 100_00

func (f *Field) kind() string                { return "field" }
func (f *Field) stamp() (*int64, *time.Time) { return &f.Version, &f.UpdatedAt }
func (f *Field) ident() (*int64, *int64)     { return &f.ID, &f.VillageID }

func (f *Field) check(ctx context.Context, db bun.IDB) error {
	f.Name = strings.TrimSpace(f.Name)
	switch {
	case f.Name == "":
		return Invalid("body.name", "田块名称必填 field name is required")
	case f.AreaCentimu <= 0 || f.AreaCentimu > MaxAreaCentimu:
		return Invalid("body.area", "面积须大于0且不超过100亩 area must be more than 0 and at most 100 mu")
	}
	if err := validateCrop("body.crop", f.Crop); err != nil {
		return err
	}
	h, err := getOne[Household](ctx, db, f.VillageID, f.HouseholdID, "household")
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Invalid("body.householdId", "本村无此农户 household %d does not exist in this village", f.HouseholdID)
		}
		return err
	}
	if f.Group == 0 {
		f.Group = h.Group // a field usually lies in its household's group
	}
	if f.Group < 1 {
		return Invalid("body.group", "村民小组编号须≥1 village group must be 1 or more")
	}
	return nil
}

// FieldFilter narrows list-fields.
type FieldFilter struct {
	HouseholdID int64 // 0: every household
	Crop        string
}

// CreateField adds a field to a household of the village.
func (s *Store) CreateField(ctx context.Context, f *Field) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.createField(ctx, tx, f)
	})
}

func (s *Store) createField(ctx context.Context, db bun.IDB, f *Field) error {
	f.ID = 0
	f.CreatedAt = s.Now().UTC()
	return create(ctx, db, f.CreatedAt, f)
}

// GetField returns one field of the village.
func (s *Store) GetField(ctx context.Context, villageID, id int64) (*Field, error) {
	return getOne[Field](ctx, s.db, villageID, id, "field")
}

// ListFields returns a page of the village's fields in ID order.
func (s *Store) ListFields(ctx context.Context, villageID int64, f FieldFilter, p Page) ([]*Field, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(f *Field) int64 { return f.ID }, "fields",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if f.HouseholdID != 0 {
				q = q.Where("household_id = ?", f.HouseholdID)
			}
			if f.Crop != "" {
				q = q.Where("crop = ?", f.Crop)
			}
			return q
		})
}

// UpdateField applies change to a field under optimistic concurrency.
func (s *Store) UpdateField(ctx context.Context, villageID, id, ifVersion int64, change func(*Field) error) (*Field, error) {
	return update[Field](ctx, s, villageID, id, ifVersion, change)
}
