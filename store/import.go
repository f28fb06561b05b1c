package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// VillageImport is a whole village to load at once: the seed's demo
// village, a generated test village, or a survey typed up by a cadre.
// References between records are indexes into the slices, since IDs are
// only known once the rows exist.
type VillageImport struct {
	Village    Village
	Households []ImportHousehold
	Teams      []ImportTeam
}

// ImportHousehold is a household and its fields.
type ImportHousehold struct {
	Household Household
	Fields    []Field
}

// ImportTeam is a team, its leader's household (index, -1 for none) and its members.
type ImportTeam struct {
	Team    Team
	Leader  int
	Members []ImportMember
}

// ImportMember is a member household (index) and what it offers.
type ImportMember struct {
	Household       int
	WorkersPerDay   int
	UnavailableDays []string
}

// ImportVillage loads a village in one transaction, running every check
// the single-record methods run; all of it lands or none. When a village of
// the same name exists and onlyIfAbsent is set, nothing is written and the
// existing village is returned with created false: that is what makes
// seeding the demo idempotent even with two processes starting at once
// (and villages are UNIQUE by county, township and name, should the
// write locks of another database ever allow two).
func (s *Store) ImportVillage(ctx context.Context, in *VillageImport, onlyIfAbsent bool) (v *Village, created bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if onlyIfAbsent {
			existing := new(Village)
			err := tx.NewSelect().Model(existing).Where("name = ?", in.Village.Name).
				Where("county = ?", in.Village.County).Where("township = ?", in.Village.Township).Scan(ctx)
			if err == nil {
				v = existing
				return nil
			}
			if ErrorCode(translate(err, "village")) != ENOTFOUND {
				return translate(err, "village")
			}
		}
		v, created = new(Village), true
		*v = in.Village
		if err := s.createVillage(ctx, tx, v); err != nil {
			return err
		}
		ids := make([]int64, len(in.Households))
		for i := range in.Households {
			h := in.Households[i].Household
			h.VillageID = v.ID
			if err := s.createHousehold(ctx, tx, &h); err != nil {
				return fmt.Errorf("household %d (%s): %w", i, h.HeadName, err)
			}
			ids[i] = h.ID
			for j := range in.Households[i].Fields {
				f := in.Households[i].Fields[j]
				f.VillageID, f.HouseholdID = v.ID, h.ID
				if err := s.createField(ctx, tx, &f); err != nil {
					return fmt.Errorf("household %d field %d: %w", i, j, err)
				}
			}
		}
		ref := func(i int) (int64, error) {
			if i < 0 || i >= len(ids) {
				return 0, Invalid("household", "household index %d out of range", i)
			}
			return ids[i], nil
		}
		for i := range in.Teams {
			it := &in.Teams[i]
			t := it.Team
			t.VillageID = v.ID
			if it.Leader >= 0 {
				id, err := ref(it.Leader)
				if err != nil {
					return err
				}
				t.LeaderHouseholdID = &id
			}
			if err := s.createTeam(ctx, tx, &t); err != nil {
				return fmt.Errorf("team %s: %w", t.Name, err)
			}
			for _, m := range it.Members {
				id, err := ref(m.Household)
				if err != nil {
					return err
				}
				tm := &TeamMember{TeamID: t.ID, HouseholdID: id, WorkersPerDay: m.WorkersPerDay, UnavailableDays: m.UnavailableDays}
				if err := s.addTeamMember(ctx, tx, v.ID, tm); err != nil {
					return fmt.Errorf("team %s member %d: %w", t.Name, m.Household, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return v, created, nil
}
