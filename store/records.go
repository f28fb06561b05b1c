package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Page asks for up to Limit records with IDs above After (keyset
// pagination: stable while records are added, no OFFSET scans).
type Page struct {
	After int64
	Limit int
}

// MaxPageLimit caps one page.
const MaxPageLimit = 200

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 50
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// paginate selects the village's rows of T in id order after the page's
// cursor, narrowed by filter, and returns them with the cursor of the next
// page (0 when this is the last). filter runs once the model is set, since
// bun keeps relations on the model and refuses them before.
func paginate[T any](ctx context.Context, db bun.IDB, villageID int64, p Page, idOf func(*T) int64, what string,
	filter func(*bun.SelectQuery) *bun.SelectQuery,
) ([]*T, int64, error) {
	var rows []*T
	n := p.limit()
	q := db.NewSelect().Model(&rows).Where("?TableAlias.village_id = ?", villageID)
	if filter != nil {
		q = filter(q)
	}
	err := q.Where("?TableAlias.id > ?", p.After).OrderExpr("?TableAlias.id ASC").Limit(int64(n + 1)).Scan(ctx)
	if err != nil {
		return nil, 0, translate(err, what)
	}
	if len(rows) > n {
		return rows[:n], idOf(rows[n-1]), nil
	}
	return rows, 0, nil
}

// getOne loads the record with id inside the village, or ENOTFOUND.
func getOne[T any](ctx context.Context, db bun.IDB, villageID, id int64, what string) (*T, error) {
	rec := new(T)
	err := db.NewSelect().Model(rec).
		Where("?TableAlias.village_id = ?", villageID).Where("?TableAlias.id = ?", id).
		Scan(ctx)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("%s %d", what, id))
	}
	return rec, nil
}

// record is a versioned village record: households, fields and teams.
type record interface {
	kind() string                                // "household", for messages
	stamp() (version *int64, updated *time.Time) // optimistic-concurrency fields
	ident() (id, villageID *int64)               // which record it is
	check(ctx context.Context, db bun.IDB) error // rules the schema cannot hold
}

// update loads a record, checks the caller's version (0: any), lets change
// edit it, checks it and writes it back with the version bumped, all in one
// transaction. A version that moved underneath is EPRECONDITION.
func update[T any, P interface {
	*T
	record
}](ctx context.Context, s *Store, villageID, id, ifVersion int64, change func(P) error) (P, error) {
	var rec P
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		found, err := getOne[T](ctx, tx, villageID, id, P(new(T)).kind())
		if err != nil {
			return err
		}
		rec = found
		version, updated := rec.stamp()
		if ifVersion != 0 && *version != ifVersion {
			return Errorf(EPRECONDITION, "记录已被修改，请重新读取 %s %d has changed (now version %d, If-Match names %d)",
				rec.kind(), id, *version, ifVersion)
		}
		old := *version
		if err := change(rec); err != nil {
			return err
		}
		// A change edits what the record says, never which record it is
		// or its village: the row written is the one read, in its village.
		recID, recVillage := rec.ident()
		*recID, *recVillage = id, villageID
		if err := rec.check(ctx, tx); err != nil {
			return err
		}
		*version, *updated = old+1, s.Now().UTC()
		res, err := tx.NewUpdate().Model(rec).WherePK().Where("version = ?", old).Exec(ctx)
		if err != nil {
			return translate(err, fmt.Sprintf("%s %d", rec.kind(), id))
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return Errorf(EPRECONDITION, "记录已被修改，请重试 %s %d changed during the update", rec.kind(), id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// create checks a new record, stamps it as version 1 and inserts it.
func create[P record](ctx context.Context, db bun.IDB, now time.Time, rec P) error {
	if err := rec.check(ctx, db); err != nil {
		return err
	}
	version, updated := rec.stamp()
	*version, *updated = 1, now
	_, err := db.NewInsert().Model(rec).Exec(ctx)
	return translate(err, rec.kind())
}

// validateCrop reports an EINVALID error for an unknown crop.
func validateCrop(field, crop string) error {
	if !slices.Contains(Crops, crop) {
		return Invalid(field, "作物未知 unknown crop %q; one of %v", crop, Crops)
	}
	return nil
}

// exists checks that a record of the village exists, for references.
func exists(ctx context.Context, db bun.IDB, model any, villageID, id int64, field, what string) error {
	ok, err := db.NewSelect().Model(model).Where("village_id = ?", villageID).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return translate(err, what)
	}
	if !ok {
		return Invalid(field, "本村无此记录 %s %d does not exist in this village", what, id)
	}
	return nil
}
