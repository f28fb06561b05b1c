package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Token lifetimes. A household's card and a leader's token live a year
// unless the village says otherwise (Village.TokenDays); a cadre's token
// opens the whole village and lives 90 days.
const (
	DefaultTokenDays = 365
	CadreTokenDays   = 90
	MaxTokenDays     = 3650
)

// lastUsedEvery is how stale a token's last-used time may grow before a
// request writes it again: a phone reloading its page does not write a row
// each time.
const lastUsedEvery = time.Minute

// TokenPrefix starts every secret, so a leaked one is easy to recognise.
const TokenPrefix = "hg_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// tokenLen is the length of a secret: prefix + base32 of 32 random bytes.
var tokenLen = len(TokenPrefix) + tokenEncoding.EncodedLen(32)

func hashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func newSecret() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw[:])), nil
}

// insertToken stores a new token under secret's hash. A nil ExpiresAt
// takes the default lifetime of its role in its village; one given must
// lie ahead.
func (s *Store) insertToken(ctx context.Context, db bun.IDB, v *Village, t *Token, secret string) error {
	now := s.Now().UTC()
	if t.ExpiresAt == nil {
		days := v.TokenDays
		if days <= 0 {
			days = DefaultTokenDays
		}
		if t.Role == RoleCadre {
			days = CadreTokenDays
		}
		exp := now.AddDate(0, 0, days)
		t.ExpiresAt = &exp
	} else if exp := t.ExpiresAt.UTC(); !exp.After(now) || exp.After(now.AddDate(0, 0, MaxTokenDays)) {
		return Invalid("expiresAt", "有效期应在今后%[2]d天内 a token's expiry lies ahead, within %[1]d days", MaxTokenDays, MaxTokenDays)
	} else {
		t.ExpiresAt = &exp
	}
	t.ID, t.Hash, t.CreatedAt, t.RevokedAt, t.LastUsedAt = 0, hashToken(secret), now, nil, nil
	_, err := db.NewInsert().Model(t).Exec(ctx)
	return translate(err, "token")
}

// CreateToken mints a token for a role in a village, bound to a team for a
// leader and to a household for a household. The secret is returned once;
// only its SHA-256 is stored.
func (s *Store) CreateToken(ctx context.Context, t *Token) (secret string, err error) {
	t.ShortHash, t.ShortSeal = nil, nil
	if secret, err = newSecret(); err != nil {
		return "", err
	}
	if err := s.createToken(ctx, t, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// CreateCard is CreateToken for a card: a household's token also gets a
// short link's code (shown once, as the secret), without revoking the
// household's other cards (ReissueCard does). Any other role's token gets
// no code.
func (s *Store) CreateCard(ctx context.Context, t *Token) (*IssuedCard, error) {
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	card := &IssuedCard{Token: t, Secret: secret}
	t.ShortHash, t.ShortSeal = nil, nil
	if t.Role == RoleHousehold {
		if card.Code, t.ShortHash, t.ShortSeal, err = newCardCode(secret); err != nil {
			return nil, err
		}
	}
	if err := s.createToken(ctx, t, secret); err != nil {
		return nil, err
	}
	return card, nil
}

func (s *Store) createToken(ctx context.Context, t *Token, secret string) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.village(ctx, tx, t.VillageID)
		if err != nil {
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
		return s.insertToken(ctx, tx, v, t, secret)
	})
}

// ErrTokenEnded marks an EUNAUTHORIZED from Authenticate whose secret is a
// real token's, revoked or expired: not a guess, but a phone or a board
// still holding a card that no longer opens anything. errors.Is finds it;
// ErrorCode still says EUNAUTHORIZED and the message is the same.
var ErrTokenEnded = errors.New("token revoked or expired")

// endedError is the EUNAUTHORIZED of an ended token: the domain error, and
// ErrTokenEnded beside it.
type endedError struct{ err *Error }

func (e *endedError) Error() string   { return e.err.Error() }
func (e *endedError) Unwrap() []error { return []error{e.err, ErrTokenEnded} }

// Authenticate returns the live token whose secret this is, and notes that
// it was used (at most once a minute). Anything that is not one
// (malformed, unknown, revoked, expired) is EUNAUTHORIZED, never more; a
// revoked or expired token's is also ErrTokenEnded, so the caller can tell
// a stale card from a guess.
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
	now := s.Now().UTC()
	if subtle.ConstantTimeCompare(t.Hash, hash) != 1 {
		return nil, unauthorized
	}
	if !t.Live(now) {
		return nil, &endedError{unauthorized}
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedEvery {
		// The stamp is bookkeeping: a failed write (a busy database) must
		// not refuse a caller whose token is good, and the next request
		// a minute on tries again.
		if _, err := s.db.NewUpdate().Model((*Token)(nil)).Set("last_used_at = ?", now).
			Where("id = ?", t.ID).Exec(ctx); err == nil {
			t.LastUsedAt = &now
		}
	}
	return t, nil
}

// TokenLive reports whether the token with this id still signs in: not
// revoked, not expired. It is how an open event stream notices a revoke;
// a token that does not exist is not live.
func (s *Store) TokenLive(ctx context.Context, id int64) (bool, error) {
	t := new(Token)
	err := s.db.NewSelect().Model(t).Column("revoked_at", "expires_at").Where("id = ?", id).Scan(ctx)
	if err != nil {
		if ErrorCode(translate(err, "token")) == ENOTFOUND {
			return false, nil
		}
		return false, translate(err, "token")
	}
	return t.Live(s.Now().UTC()), nil
}

// RevokeToken ends a token's life; it stays in the table for the audit
// log. A token of another village, or one already revoked or expired, is
// ENOTFOUND. It returns the token as revoked.
func (s *Store) RevokeToken(ctx context.Context, villageID, id int64) (*Token, error) {
	var t *Token
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		t, err = s.revokeToken(ctx, tx, villageID, id)
		return err
	})
	return t, err
}

func (s *Store) revokeToken(ctx context.Context, db bun.IDB, villageID, id int64) (*Token, error) {
	now := s.Now().UTC()
	t, err := getOne[Token](ctx, db, villageID, id, "token")
	if err != nil {
		return nil, err
	}
	if !t.Live(now) {
		return nil, Errorf(ENOTFOUND, "未找到有效令牌 live token %d not found", id)
	}
	if _, err := db.NewUpdate().Model(t).Set("revoked_at = ?", now).WherePK().Exec(ctx); err != nil {
		return nil, translate(err, "token")
	}
	t.RevokedAt = &now
	return t, nil
}

// GetToken returns one of a village's tokens with the names it is known by.
func (s *Store) GetToken(ctx context.Context, villageID, id int64) (*Token, error) {
	t := new(Token)
	err := s.db.NewSelect().Model(t).Relation("Household").Relation("Team").
		Where("?TableAlias.village_id = ?", villageID).Where("?TableAlias.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("token %d", id))
	}
	return t, nil
}

// TokenFilter narrows ListTokens; zero values do not filter.
type TokenFilter struct {
	Role        string
	HouseholdID int64
	TeamID      int64
	Live        bool // only tokens that still sign in: not revoked, not expired
}

// ListTokens returns a page of a village's tokens, oldest first, with the
// household's or team's names loaded. Secrets are never stored; hashes
// stay in the rows, for callers that must not show them.
func (s *Store) ListTokens(ctx context.Context, villageID int64, f TokenFilter, p Page) ([]*Token, int64, error) {
	now := s.Now().UTC()
	return paginate(ctx, s.db, villageID, p, func(t *Token) int64 { return t.ID }, "tokens", func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Relation("Household").Relation("Team")
		if f.Role != "" {
			q = q.Where("?TableAlias.role = ?", f.Role)
		}
		if f.HouseholdID != 0 {
			q = q.Where("?TableAlias.household_id = ?", f.HouseholdID)
		}
		if f.TeamID != 0 {
			q = q.Where("?TableAlias.team_id = ?", f.TeamID)
		}
		if f.Live {
			q = q.Where("?TableAlias.revoked_at IS NULL").
				Where("(?TableAlias.expires_at IS NULL OR ?TableAlias.expires_at > ?)", now)
		}
		return q
	})
}

// ReissueCard mints a new household token — a new sign-in card — and
// revokes every live token of that household in the same transaction, so
// a lost or reprinted card stops working the moment the new one exists.
// It fills t with the new token and returns the card: its secret and its
// short link's code (shown once), and the IDs of the tokens it revoked.
func (s *Store) ReissueCard(ctx context.Context, villageID, householdID int64, t *Token) (*IssuedCard, error) {
	if t == nil {
		t = &Token{}
	}
	issued, err := s.ReissueCards(ctx, villageID, []int64{householdID}, t.Label, t.ExpiresAt)
	if err != nil {
		return nil, err
	}
	*t = *issued[0].Token
	return &issued[0], nil
}

// IssuedCard is one household's new card from ReissueCards.
type IssuedCard struct {
	Token   *Token // with its Household loaded
	Secret  string // shown once
	Code    string // the short link's code, shown once (see FormatCardCode)
	Revoked []int64
}

// ReissueCards reissues the cards of many households in one transaction:
// a sheet of cards is printed whole or not at all, and no household loses
// its old card without a new one. label "" labels each "card <head>";
// expires nil takes the village's default.
func (s *Store) ReissueCards(ctx context.Context, villageID int64, householdIDs []int64, label string, expires *time.Time) ([]IssuedCard, error) {
	out := make([]IssuedCard, len(householdIDs))
	hashes, seals := make([][]byte, len(out)), make([][]byte, len(out))
	for i := range out {
		secret, err := newSecret()
		if err != nil {
			return nil, err
		}
		out[i].Secret = secret
		if out[i].Code, hashes[i], seals[i], err = newCardCode(secret); err != nil {
			return nil, err
		}
	}
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.village(ctx, tx, villageID)
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		for i, hid := range householdIDs {
			h, err := getOne[Household](ctx, tx, villageID, hid, "household")
			if err != nil {
				return err
			}
			var live []*Token
			if err := tx.NewSelect().Model(&live).Where("village_id = ?", villageID).Where("household_id = ?", hid).
				Where("role = ?", RoleHousehold).Where("revoked_at IS NULL").Scan(ctx); err != nil {
				return translate(err, "tokens")
			}
			out[i].Revoked = nil
			for _, old := range live {
				if !old.Live(now) {
					continue
				}
				if _, err := s.revokeToken(ctx, tx, villageID, old.ID); err != nil {
					return err
				}
				out[i].Revoked = append(out[i].Revoked, old.ID)
			}
			t := &Token{VillageID: villageID, Role: RoleHousehold, HouseholdID: &h.ID, Label: label, ExpiresAt: expires,
				ShortHash: hashes[i], ShortSeal: seals[i]}
			if t.Label == "" {
				t.Label = "card " + h.HeadName
			}
			if err := s.insertToken(ctx, tx, v, t, out[i].Secret); err != nil {
				return err
			}
			t.Household = h
			out[i].Token = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
