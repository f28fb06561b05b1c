package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// TokenPrefix starts every secret, so a leaked one is easy to recognise.
const TokenPrefix = "hg_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// tokenLen is the length of a secret: prefix + base32 of 32 random bytes.
var tokenLen = len(TokenPrefix) + tokenEncoding.EncodedLen(32)

func hashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// CreateToken mints a token for a role in a village, bound to a team for a
// leader and to a household for a household. The secret is returned once;
// only its SHA-256 is stored.
func (s *Store) CreateToken(ctx context.Context, t *Token) (secret string, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	secret = TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw[:]))
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.village(ctx, tx, t.VillageID); err != nil {
			return err
		}
		switch {
		case t.Role == RoleCadre && t.TeamID == nil && t.HouseholdID == nil:
		case t.Role == RoleLeader && t.TeamID != nil && t.HouseholdID == nil:
			if err := exists(ctx, tx, (*Team)(nil), t.VillageID, *t.TeamID, "team", "team"); err != nil {
				return err
			}
		case t.Role == RoleHousehold && t.HouseholdID != nil && t.TeamID == nil:
			if err := exists(ctx, tx, (*Household)(nil), t.VillageID, *t.HouseholdID, "household", "household"); err != nil {
				return err
			}
		default:
			return Invalid("role", "角色与绑定不符 role %q needs: cadre alone, leader with a team, household with a household", t.Role)
		}
		t.ID, t.Hash, t.CreatedAt, t.RevokedAt = 0, hashToken(secret), s.Now().UTC(), nil
		_, err := tx.NewInsert().Model(t).Exec(ctx)
		return translate(err, "token")
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Authenticate returns the live token whose secret this is. Anything that
// is not one (malformed, unknown, revoked) is EUNAUTHORIZED, never more.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Token, error) {
	unauthorized := Errorf(EUNAUTHORIZED, "令牌无效 the token is not valid")
	if len(secret) != tokenLen || !strings.HasPrefix(secret, TokenPrefix) {
		return nil, unauthorized
	}
	if _, err := tokenEncoding.DecodeString(strings.ToUpper(secret[len(TokenPrefix):])); err != nil {
		return nil, unauthorized
	}
	hash := hashToken(secret)
	t := new(Token)
	err := s.db.NewSelect().Model(t).Where("hash = ?", hash).Scan(ctx)
	if err != nil {
		if ErrorCode(translate(err, "token")) == ENOTFOUND {
			return nil, unauthorized
		}
		return nil, translate(err, "token")
	}
	// The index found the row by hash; compare again in constant time so
	// the check does not rest on how the database compares blobs.
	if subtle.ConstantTimeCompare(t.Hash, hash) != 1 || t.RevokedAt != nil {
		return nil, unauthorized
	}
	return t, nil
}

// RevokeToken ends a token's life; it stays in the table for the audit log.
func (s *Store) RevokeToken(ctx context.Context, villageID, id int64) error {
	now := s.Now().UTC()
	res, err := s.db.NewUpdate().Model((*Token)(nil)).Set("revoked_at = ?", now).
		Where("village_id = ?", villageID).Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return translate(err, "token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(ENOTFOUND, "未找到有效令牌 live token %d not found", id)
	}
	return nil
}
