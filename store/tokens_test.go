package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// tokenEnv is a village with a team and a household, and another village's.
type tokenEnv struct {
	village, other              *store.Village
	team, foreignTeam           *store.Team
	household, foreignHousehold *store.Household
}

func mustTokenEnv(t *testing.T, st *store.Store) tokenEnv {
	t.Helper()
	a, b := MustVillage(t, st, "皇珠村"), MustVillage(t, st, "东山村")
	return tokenEnv{
		village: a, other: b,
		team: MustTeam(t, st, a.ID, "第一互助队"), foreignTeam: MustTeam(t, st, b.ID, "第一互助队"),
		household: MustHousehold(t, st, a.ID, nil), foreignHousehold: MustHousehold(t, st, b.ID, nil),
	}
}

func TestToken_Create(t *testing.T) {
	for _, tc := range []struct {
		name     string
		token    func(e tokenEnv) *store.Token
		wantCode string
	}{
		{name: "cadre", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleCadre}
		}},
		{name: "leader of a team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.team.ID}
		}},
		{name: "household", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID}
		}},
		{name: "cadre bound to a team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleCadre, TeamID: &e.team.ID}
		}, wantCode: store.EINVALID},
		{name: "cadre bound to a household", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleCadre, HouseholdID: &e.household.ID}
		}, wantCode: store.EINVALID},
		{name: "leader without a team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleLeader}
		}, wantCode: store.EINVALID},
		{name: "leader bound to a household too", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.team.ID, HouseholdID: &e.household.ID}
		}, wantCode: store.EINVALID},
		{name: "leader of another village's team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.foreignTeam.ID}
		}, wantCode: store.EINVALID},
		{name: "leader of a missing team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: ptr(int64(9999))}
		}, wantCode: store.EINVALID},
		{name: "household without a household", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold}
		}, wantCode: store.EINVALID},
		{name: "household bound to a team", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, TeamID: &e.team.ID}
		}, wantCode: store.EINVALID},
		{name: "household of another village", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.foreignHousehold.ID}
		}, wantCode: store.EINVALID},
		{name: "unknown role", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.village.ID, Role: "admin"}
		}, wantCode: store.EINVALID},
		{name: "missing village", token: func(e tokenEnv) *store.Token {
			return &store.Token{VillageID: e.other.ID + 100, Role: store.RoleCadre}
		}, wantCode: store.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			e := mustTokenEnv(t, st)
			tok := tc.token(e)
			secret, err := st.CreateToken(t.Context(), tok)
			if tc.wantCode != "" {
				AssertError(t, err, tc.wantCode, "")
				assert.Empty(t, secret)
				assert.Equal(t, 0, CountRows(t, st, "tokens"), "nothing written")
				return
			}
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(secret, store.TokenPrefix), "secret %q", secret)
			assert.NotZero(t, tok.ID)
			AssertSameTime(t, t0, tok.CreatedAt, "created")

			got, err := st.Authenticate(t.Context(), secret)
			require.NoError(t, err)
			assert.Equal(t, tok.ID, got.ID)
			assert.Equal(t, tok.VillageID, got.VillageID)
			assert.Equal(t, tok.Role, got.Role)
			assert.Equal(t, tok.TeamID, got.TeamID)
			assert.Equal(t, tok.HouseholdID, got.HouseholdID)
			assert.Nil(t, got.RevokedAt)
		})
	}
}

func TestToken_SecretsDiffer(t *testing.T) {
	st, _ := MustOpen(t)
	v := MustVillage(t, st, "皇珠村")
	seen := map[string]bool{}
	for range 5 {
		secret, err := st.CreateToken(t.Context(), &store.Token{VillageID: v.ID, Role: store.RoleCadre})
		require.NoError(t, err)
		assert.False(t, seen[secret], "secret %q minted twice", secret)
		seen[secret] = true
	}
}

func TestToken_Authenticate(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	mint := func() (*store.Token, string) {
		tok := &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID}
		secret, err := st.CreateToken(t.Context(), tok)
		require.NoError(t, err)
		return tok, secret
	}
	live, secret := mint()
	revoked, revokedSecret := mint()
	soon := clock.Now().Add(time.Minute)
	expiredSecret, err := st.CreateToken(t.Context(), &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold,
		HouseholdID: &e.household.ID, ExpiresAt: &soon})
	require.NoError(t, err)
	revokedAt := clock.Advance(time.Hour)
	_, err = st.RevokeToken(t.Context(), e.village.ID, revoked.ID)
	require.NoError(t, err)

	body := secret[len(store.TokenPrefix):]
	unknown := store.TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(make([]byte, 32)))
	require.Len(t, unknown, len(secret), "a well-formed secret that was never minted")

	for _, tc := range []struct {
		name    string
		secret  string
		wantID  int64
		wantErr bool
		ended   bool // a real token's secret, revoked or expired: no guess
	}{
		{name: "live", secret: secret, wantID: live.ID},
		{name: "empty", secret: "", wantErr: true},
		{name: "prefix only", secret: store.TokenPrefix, wantErr: true},
		{name: "one character short", secret: secret[:len(secret)-1], wantErr: true},
		{name: "one character long", secret: secret + "a", wantErr: true},
		{name: "wrong prefix", secret: "hx_" + body, wantErr: true},
		{name: "no prefix", secret: body + "aaa", wantErr: true},
		{name: "digit outside base32", secret: store.TokenPrefix + "1" + body[1:], wantErr: true},
		{name: "punctuation", secret: store.TokenPrefix + body[:10] + "!" + body[11:], wantErr: true},
		{name: "padding", secret: store.TokenPrefix + body[:len(body)-1] + "=", wantErr: true},
		{name: "upper case", secret: store.TokenPrefix + strings.ToUpper(body), wantErr: true},
		{name: "with surrounding space", secret: " " + secret[:len(secret)-1], wantErr: true},
		{name: "unknown", secret: unknown, wantErr: true},
		{name: "revoked", secret: revokedSecret, wantErr: true, ended: true},
		{name: "expired", secret: expiredSecret, wantErr: true, ended: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Authenticate(t.Context(), tc.secret)
			if tc.wantErr {
				AssertError(t, err, store.EUNAUTHORIZED, "")
				assert.Nil(t, got)
				assert.Equal(t, tc.ended, errors.Is(err, store.ErrTokenEnded))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantID, got.ID)
		})
	}

	t.Run("revocation is stamped", func(t *testing.T) {
		var at time.Time
		require.NoError(t, st.DB().NewSelect().Model((*store.Token)(nil)).Column("revoked_at").
			Where("id = ?", revoked.ID).Scan(t.Context(), &at))
		AssertSameTime(t, revokedAt, at, "revoked")
	})
}

func TestToken_Revoke(t *testing.T) {
	for _, tc := range []struct {
		name     string
		village  func(e tokenEnv) int64
		id       func(tok *store.Token) int64
		wantCode string
		wantLive bool
	}{
		{name: "own village", village: func(e tokenEnv) int64 { return e.village.ID }, id: tokenID},
		{name: "from another village", village: func(e tokenEnv) int64 { return e.other.ID }, id: tokenID,
			wantCode: store.ENOTFOUND, wantLive: true},
		{name: "missing token", village: func(e tokenEnv) int64 { return e.village.ID }, id: func(tok *store.Token) int64 { return tok.ID + 100 },
			wantCode: store.ENOTFOUND, wantLive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := MustOpen(t)
			e := mustTokenEnv(t, st)
			tok := &store.Token{VillageID: e.village.ID, Role: store.RoleCadre}
			secret, err := st.CreateToken(t.Context(), tok)
			require.NoError(t, err)

			_, err = st.RevokeToken(t.Context(), tc.village(e), tc.id(tok))
			AssertError(t, err, tc.wantCode, "")
			_, err = st.Authenticate(t.Context(), secret)
			if tc.wantLive {
				assert.NoError(t, err)
				return
			}
			AssertError(t, err, store.EUNAUTHORIZED, "")
			_, err = st.RevokeToken(t.Context(), e.village.ID, tok.ID)
			AssertError(t, err, store.ENOTFOUND, "") // revoking twice
		})
	}
}

// TestToken_SecretNotStored reads every column of every token row, and the
// database files themselves, looking for the secret in any form.
// SQLite-only: it reads the database files themselves.
func TestToken_SecretNotStored(t *testing.T) {
	dir := t.TempDir()
	st, _ := MustOpenAt(t, filepath.Join(dir, "x.db"))
	e := mustTokenEnv(t, st)
	tokens := []*store.Token{
		{VillageID: e.village.ID, Role: store.RoleCadre, Label: "村书记"},
		{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.team.ID},
		{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID},
	}
	var secrets []string
	for _, tok := range tokens {
		secret, err := st.CreateToken(t.Context(), tok)
		require.NoError(t, err)
		secrets = append(secrets, secret)
	}
	// Every form of a secret that could have been written down.
	forms := func(secret string) [][]byte {
		body := secret[len(store.TokenPrefix):]
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(body))
		require.NoError(t, err)
		return [][]byte{[]byte(secret), []byte(body), []byte(strings.ToUpper(body)), raw}
	}

	rows, err := st.DB().QueryContext(t.Context(), "SELECT * FROM tokens ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		secret := secrets[n]
		for i, v := range vals {
			var b []byte
			switch v := v.(type) {
			case []byte:
				b = v
			case string:
				b = []byte(v)
			default:
				continue
			}
			if cols[i] == "hash" {
				sum := sha256.Sum256([]byte(secret))
				assert.Len(t, b, 32, "token %d: hash", n)
				assert.Equal(t, sum[:], b, "token %d: the hash is SHA-256 of the secret", n)
			}
			for _, f := range forms(secret) {
				assert.False(t, bytes.Contains(b, f), "token %d: column %s holds the secret", n, cols[i])
			}
		}
		n++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, len(secrets), n)

	require.NoError(t, st.Close())
	files, err := filepath.Glob(filepath.Join(dir, "x.db*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		for i, secret := range secrets {
			for _, f := range forms(secret) {
				assert.False(t, bytes.Contains(data, f), "%s holds secret %d", filepath.Base(name), i)
			}
		}
	}
}

func tokenID(tok *store.Token) int64 { return tok.ID }

func TestToken_Expiry(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	for _, tc := range []struct {
		name string
		tok  *store.Token
		days int
	}{
		{name: "cadre", tok: &store.Token{Role: store.RoleCadre}, days: store.CadreTokenDays},
		{name: "leader", tok: &store.Token{Role: store.RoleLeader, TeamID: &e.team.ID}, days: store.DefaultTokenDays},
		{name: "household", tok: &store.Token{Role: store.RoleHousehold, HouseholdID: &e.household.ID}, days: store.DefaultTokenDays},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := clock.Now()
			defer clock.Set(start)
			tc.tok.VillageID = e.village.ID
			secret, err := st.CreateToken(t.Context(), tc.tok)
			require.NoError(t, err)
			require.NotNil(t, tc.tok.ExpiresAt)
			AssertSameTime(t, start.AddDate(0, 0, tc.days), *tc.tok.ExpiresAt, "expires")

			clock.Set(tc.tok.ExpiresAt.Add(-time.Second))
			_, err = st.Authenticate(t.Context(), secret)
			require.NoError(t, err, "a second before its expiry the token still works")
			clock.Set(*tc.tok.ExpiresAt)
			_, err = st.Authenticate(t.Context(), secret)
			AssertError(t, err, store.EUNAUTHORIZED, "")
			_, err = st.RevokeToken(t.Context(), e.village.ID, tc.tok.ID)
			AssertError(t, err, store.ENOTFOUND, "") // an expired token is no longer live
		})
	}

	t.Run("village lifetime", func(t *testing.T) {
		days := 30
		_, err := st.UpdateVillage(t.Context(), e.village.ID, store.VillageUpdate{TokenDays: &days})
		require.NoError(t, err)
		tok := &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID}
		_, err = st.CreateToken(t.Context(), tok)
		require.NoError(t, err)
		AssertSameTime(t, clock.Now().AddDate(0, 0, 30), *tok.ExpiresAt, "expires")
		for _, bad := range []int{0, -1, store.MaxTokenDays + 1} {
			_, err = st.UpdateVillage(t.Context(), e.village.ID, store.VillageUpdate{TokenDays: &bad})
			AssertError(t, err, store.EINVALID, "body.tokenDays")
		}
	})

	t.Run("given expiry must lie ahead", func(t *testing.T) {
		past := clock.Now().Add(-time.Minute)
		_, err := st.CreateToken(t.Context(), &store.Token{VillageID: e.village.ID, Role: store.RoleCadre, ExpiresAt: &past})
		AssertError(t, err, store.EINVALID, "expiresAt")
	})
}

func TestToken_LastUsed(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	tok := &store.Token{VillageID: e.village.ID, Role: store.RoleCadre}
	secret, err := st.CreateToken(t.Context(), tok)
	require.NoError(t, err)
	lastUsed := func() time.Time {
		got, err := st.GetToken(t.Context(), e.village.ID, tok.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		return *got.LastUsedAt
	}
	first := clock.Advance(time.Second)
	_, err = st.Authenticate(t.Context(), secret)
	require.NoError(t, err)
	AssertSameTime(t, first, lastUsed(), "first use")
	clock.Advance(59 * time.Second)
	_, err = st.Authenticate(t.Context(), secret)
	require.NoError(t, err)
	AssertSameTime(t, first, lastUsed(), "within the minute nothing is written")
	later := clock.Advance(time.Second)
	_, err = st.Authenticate(t.Context(), secret)
	require.NoError(t, err)
	AssertSameTime(t, later, lastUsed(), "a minute on it is written again")
}

func TestToken_ReissueCard(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	old := &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID}
	oldSecret, err := st.CreateToken(t.Context(), old)
	require.NoError(t, err)
	cadre := &store.Token{VillageID: e.village.ID, Role: store.RoleCadre}
	cadreSecret, err := st.CreateToken(t.Context(), cadre)
	require.NoError(t, err)

	clock.Advance(time.Hour)
	tok := &store.Token{}
	card, err := st.ReissueCard(t.Context(), e.village.ID, e.household.ID, tok)
	require.NoError(t, err)
	secret := card.Secret
	assert.Equal(t, []int64{old.ID}, card.Revoked)
	assert.Equal(t, store.RoleHousehold, tok.Role)
	assert.Equal(t, "card "+e.household.HeadName, tok.Label)
	_, err = st.Authenticate(t.Context(), oldSecret)
	AssertError(t, err, store.EUNAUTHORIZED, "")
	got, err := st.Authenticate(t.Context(), secret)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
	_, err = st.Authenticate(t.Context(), cadreSecret)
	assert.NoError(t, err, "only the household's cards are revoked")

	_, err = st.ReissueCard(t.Context(), e.village.ID, e.foreignHousehold.ID, nil)
	AssertError(t, err, store.ENOTFOUND, "")
	_, err = st.Authenticate(t.Context(), secret)
	assert.NoError(t, err, "a refused reissue revokes nothing")
}

func TestToken_List(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	mint := func(tok *store.Token) *store.Token {
		_, err := st.CreateToken(t.Context(), tok)
		require.NoError(t, err)
		return tok
	}
	cadre := mint(&store.Token{VillageID: e.village.ID, Role: store.RoleCadre})
	card := mint(&store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID})
	leader := mint(&store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &e.team.ID})
	gone := mint(&store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &e.household.ID})
	mint(&store.Token{VillageID: e.other.ID, Role: store.RoleCadre})
	clock.Advance(time.Minute)
	_, err := st.RevokeToken(t.Context(), e.village.ID, gone.ID)
	require.NoError(t, err)

	ids := func(f store.TokenFilter) []int64 {
		rows, _, err := st.ListTokens(t.Context(), e.village.ID, f, store.Page{Limit: 50})
		require.NoError(t, err)
		var out []int64
		for _, r := range rows {
			out = append(out, r.ID)
			if r.HouseholdID != nil {
				require.NotNil(t, r.Household)
				assert.Equal(t, e.household.HeadName, r.Household.HeadName)
			}
			if r.TeamID != nil {
				require.NotNil(t, r.Team)
				assert.Equal(t, e.team.Name, r.Team.Name)
			}
		}
		return out
	}
	assert.Equal(t, []int64{cadre.ID, card.ID, leader.ID, gone.ID}, ids(store.TokenFilter{}))
	assert.Equal(t, []int64{cadre.ID, card.ID, leader.ID}, ids(store.TokenFilter{Live: true}))
	assert.Equal(t, []int64{card.ID, gone.ID}, ids(store.TokenFilter{HouseholdID: e.household.ID}))
	assert.Equal(t, []int64{leader.ID}, ids(store.TokenFilter{TeamID: e.team.ID}))
	clock.Set(cadre.ExpiresAt.Add(time.Second))
	assert.Equal(t, []int64{card.ID, leader.ID}, ids(store.TokenFilter{Live: true}), "an expired token is not live")
}

// A card's short code gives back its token's secret, typed in any case,
// with or without dashes, look-alikes read as digits; it dies with the
// token, and nothing else opens.
func TestToken_CardCode(t *testing.T) {
	st, clock := MustOpen(t)
	e := mustTokenEnv(t, st)
	ctx := t.Context()
	card, err := st.ReissueCard(ctx, e.village.ID, e.household.ID, nil)
	require.NoError(t, err)
	require.Len(t, card.Code, store.CardCodeLen)
	assert.NotContains(t, card.Code, "I")
	assert.NotContains(t, card.Code, "O")
	shown := store.FormatCardCode(card.Code)
	assert.Regexp(t, `^[0-9A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{3}$`, shown)

	for _, typed := range []string{card.Code, shown, strings.ToLower(shown), " " + strings.ToLower(card.Code[:5]) + " " + card.Code[5:]} {
		got, err := st.CardSecret(ctx, typed)
		require.NoError(t, err, typed)
		assert.Equal(t, card.Secret, got, typed)
	}
	if i := strings.IndexAny(card.Code, "01"); i >= 0 {
		typo := card.Code[:i] + map[byte]string{'0': "o", '1': "l"}[card.Code[i]] + card.Code[i+1:]
		got, err := st.CardSecret(ctx, typo)
		require.NoError(t, err, typo)
		assert.Equal(t, card.Secret, got)
	}

	other := []byte(card.Code)
	other[0] = map[bool]byte{true: 'X', false: 'Y'}[other[0] != 'X']
	for _, bad := range []string{"", "hg_", card.Code[:9], card.Code + "Z", string(other), card.Secret, "U" + card.Code[1:]} {
		_, err := st.CardSecret(ctx, bad)
		AssertError(t, err, store.EUNAUTHORIZED, "")
		assert.NotErrorIs(t, err, store.ErrTokenEnded, bad)
	}

	// Reissued: the old card's code is dead, the new one's opens.
	again, err := st.ReissueCard(ctx, e.village.ID, e.household.ID, nil)
	require.NoError(t, err)
	_, err = st.CardSecret(ctx, card.Code)
	AssertError(t, err, store.EUNAUTHORIZED, "")
	assert.ErrorIs(t, err, store.ErrTokenEnded)
	got, err := st.CardSecret(ctx, again.Code)
	require.NoError(t, err)
	assert.Equal(t, again.Secret, got)

	// Expired: dead too.
	clock.Advance(time.Duration(store.MaxTokenDays+1) * 24 * time.Hour)
	_, err = st.CardSecret(ctx, again.Code)
	assert.ErrorIs(t, err, store.ErrTokenEnded)
}
